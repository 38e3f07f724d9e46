"""Browser journey: the dashboard shows its KPI cards and charts on the demo store."""

from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db.models import F, Max
from django.utils import timezone

from store import selectors
from store.models import Order


def load_demo_store() -> None:
    call_command("loaddata", settings.BASE_DIR / "fixtures" / "demo.json", verbosity=0)
    newest = Order.objects.aggregate(newest=Max("placed_at"))["newest"]
    Order.objects.update(placed_at=F("placed_at") + (timezone.now() - newest))
    cache.clear()


def test_dashboard_shows_kpis_and_charts(admin_page, live_server, screenshot):
    load_demo_store()
    page = admin_page
    page.goto(f"{live_server.url}/admin/")
    page.locator(".store-dashboard").wait_for()

    kpis = selectors.dashboard_catalog_kpis()
    assert page.locator("#kpi-products .kpi-value").inner_text() == f"{kpis['product_count']:,}"
    assert page.locator("#kpi-low-stock .kpi-value").inner_text() == f"{kpis['low_stock']:,}"
    assert page.locator("#kpi-out-of-stock .kpi-value").inner_text() == f"{kpis['out_of_stock']:,}"
    assert page.locator("#kpi-stock-value .kpi-value").inner_text() == f"{kpis['stock_value']:,.2f}"
    assert page.locator("#orders-chart").is_visible()
    assert page.locator("#orders-chart g.bar").count() == 30
    assert page.locator("#collections-chart a").count() == 5
    assert page.locator("#content-main .app-store").is_visible()  # the app list is still there
    screenshot(page, "dashboard")

    # The catalog's InventoryFilter answers these parameters.
    assert page.locator("#kpi-out-of-stock").get_attribute("href") == ("/admin/store/product/?inventory_status=out")
    assert page.locator("#kpi-low-stock").get_attribute("href") == ("/admin/store/product/?inventory_status=low")
