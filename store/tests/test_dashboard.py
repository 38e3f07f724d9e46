"""The admin index dashboard: KPI numbers on known data, permissions, query budget, cache."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.cache import fail_safe_cache
from store import selectors
from store.models import Order, Product
from store.tests.factories import (
    CollectionFactory,
    CustomerFactory,
    OrderFactory,
    OrderItemFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def store(settings):
    settings.LOW_STOCK_THRESHOLD = 10
    hoodies = CollectionFactory(title="Hoodies")
    mugs = CollectionFactory(title="Mugs")
    CollectionFactory(title="Unsold")
    hoodie = ProductFactory(collection=hoodies, unit_price=Decimal("40.00"), inventory=100)  # 4000
    ProductFactory(collection=hoodies, unit_price=Decimal("25.00"), inventory=9)  # low, 225
    ProductFactory(collection=hoodies, unit_price=Decimal("30.00"), inventory=10)  # ok, 300
    mug = ProductFactory(collection=mugs, unit_price=Decimal("8.00"), inventory=1)  # low, 8
    ProductFactory(collection=mugs, unit_price=Decimal("9.50"), inventory=0)  # out
    customer = CustomerFactory()
    statuses = [Order.PAYMENT_STATUS_COMPLETE] * 3 + [Order.PAYMENT_STATUS_PENDING] * 2 + [Order.PAYMENT_STATUS_FAILED]
    for status in statuses:
        order = OrderFactory(customer=customer, payment_status=status)
        OrderItemFactory(order=order, product=mug, quantity=2, unit_price=Decimal("8.00"))  # 16 each
    big = OrderFactory(customer=customer, payment_status=Order.PAYMENT_STATUS_COMPLETE)
    OrderItemFactory(order=big, product=hoodie, quantity=1, unit_price=Decimal("40.00"))
    old = OrderFactory(customer=customer, payment_status=Order.PAYMENT_STATUS_COMPLETE)
    OrderItemFactory(order=old, product=hoodie, quantity=50, unit_price=Decimal("40.00"))
    Order.objects.filter(pk=old.pk).update(placed_at=timezone.now() - timedelta(days=45))
    return {"hoodies": hoodies, "mugs": mugs}


def test_catalog_kpis(store):
    assert selectors.dashboard_catalog_kpis() == {
        "product_count": 5,
        "out_of_stock": 1,
        "low_stock": 2,
        "stock_value": Decimal("4533.00"),
    }


def test_catalog_kpis_on_an_empty_catalog():
    assert selectors.dashboard_catalog_kpis() == {
        "product_count": 0,
        "out_of_stock": 0,
        "low_stock": 0,
        "stock_value": Decimal("0.00"),
    }


def test_orders_of_the_last_30_days_by_status_and_day(store):
    orders = selectors.dashboard_orders()
    assert orders["total"] == 7
    assert orders["by_status"] == {"P": 2, "C": 4, "F": 1}
    assert len(orders["per_day"]) == 30
    today = orders["per_day"][-1]
    assert today["day"] == timezone.localdate()
    assert (today["C"], today["P"], today["F"]) == (4, 2, 1)


def test_top_collections_rank_by_sales_value_in_the_window(store):
    # The 45-day-old order (50 hoodies, 2000.00) falls outside the window.
    assert selectors.dashboard_top_collections() == [
        {"id": store["mugs"].pk, "title": "Mugs", "sales_value": Decimal("96.00"), "units": 12},
        {"id": store["hoodies"].pk, "title": "Hoodies", "sales_value": Decimal("40.00"), "units": 1},
    ]


def test_dashboard_renders_the_numbers_links_and_charts(admin_client, store):
    response = admin_client.get(INDEX)
    assert response.status_code == 200
    html = response.text
    products = reverse("admin:store_product_changelist")
    assert f'<a class="kpi-card kpi-warning" id="kpi-low-stock" href="{products}?inventory_status=low">' in html
    assert f'id="kpi-out-of-stock" href="{products}?inventory_status=out"' in html
    assert '<span class="kpi-value">4,533.00</span>' in html
    assert '<span class="kpi-value">7</span>' in html  # orders in the window
    dashboard = response.context["dashboard"]
    assert [(s["label"], s["count"]) for s in dashboard["orders"]["statuses"]] == [
        ("Complete", 4),
        ("Pending", 2),
        ("Failed", 1),
    ]
    assert '<svg class="dashboard-chart" id="orders-chart"' in html
    assert html.count('<g class="bar">') == 30
    assert '<svg class="dashboard-chart" id="collections-chart"' in html
    assert f'href="{products}?collection__pk__exact={store["mugs"].pk}"' in html
    # The stock app list is still there, below the dashboard.
    assert 'href="/admin/store/order/"' in html
    assert "Recent actions" in html


def test_status_links_open_the_matching_orders(admin_client, store):
    dashboard = admin_client.get(INDEX).context["dashboard"]
    failed = next(s for s in dashboard["orders"]["statuses"] if s["code"] == "F")
    response = admin_client.get(failed["url"])
    assert response.status_code == 200
    assert [o.payment_status for o in response.context["cl"].result_list] == ["F"]


def test_dashboard_query_budget_and_cached_second_render(admin_client, store, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as first:
        admin_client.get(INDEX)
    kpi_queries = [q for q in first.captured_queries if "store_" in q["sql"]]
    # catalog aggregate, products by status, orders by day and status, top collection ids, their titles
    assert len(kpi_queries) == 5
    with django_assert_max_num_queries(len(first) - 5):
        response = admin_client.get(INDEX)
    assert '<span class="kpi-value">4,533.00</span>' in response.text


def test_products_by_status_with_links(admin_client, store):
    ProductFactory(status=Product.Status.DRAFT)
    ProductFactory(status=Product.Status.DRAFT)
    assert selectors.dashboard_product_status_counts() == {"draft": 2, "active": 5, "archived": 0}
    html = admin_client.get(INDEX).text
    products = reverse("admin:store_product_changelist")
    assert (
        f'<a class="status-count" id="kpi-status-draft" href="{products}?status__exact=draft">'
        "<strong>2</strong> draft</a>"
    ) in html
    assert "<strong>5</strong> active</a>" in html
    assert "<strong>0</strong> archived</a>" in html


def test_cached_numbers_expire(admin_client, store, settings):
    admin_client.get(INDEX)
    ProductFactory(inventory=0)
    assert selectors.dashboard_catalog_kpis()["out_of_stock"] == 1  # still cached
    cache.clear()
    assert selectors.dashboard_catalog_kpis()["out_of_stock"] == 2


def test_with_the_cache_down_the_dashboard_is_computed_on_every_render(admin_client, store, settings, caplog):
    """Redis down (the default cache pointed at a closed port): the numbers come from the
    database on each render instead of a 500 (issue 19, item 5)."""
    fail_safe_cache.reset()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/1"}
    }
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(INDEX)
        assert response.status_code == 200
        assert '<span class="kpi-value">4,533.00</span>' in response.text
        assert len([q for q in queries.captured_queries if "store_" in q["sql"]]) == 5
    assert [r.getMessage()[:29] for r in caplog.records if r.name == "backoffice.cache"] == [
        "Cache 'default' unreachable ("
    ]
    fail_safe_cache.reset()


def staff(django_user_model, *codenames):
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_only_permitted_sections_are_shown_and_queried(client, django_user_model, store):
    client.force_login(staff(django_user_model, "view_order"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(INDEX)
    assert response.status_code == 200
    assert 'id="kpi-orders"' in response.text
    assert 'id="kpi-products"' not in response.text
    assert 'id="collections-chart"' not in response.text
    assert not [q for q in queries.captured_queries if "store_product" in q["sql"]]


def test_collection_bars_link_to_products_only_for_who_may_view_them(client, django_user_model, store):
    client.force_login(staff(django_user_model, "view_order", "view_collection"))
    response = client.get(INDEX)
    assert 'id="collections-chart"' in response.text
    assert "collection__pk__exact" not in response.text


def test_staff_without_store_permissions_see_no_dashboard(client, django_user_model, store):
    client.force_login(staff(django_user_model))
    response = client.get(INDEX)
    assert response.status_code == 200
    assert "store-dashboard" not in response.text


def test_branding(admin_client):
    response = admin_client.get(INDEX)
    assert "<title>Dashboard | Storefront back-office</title>" in response.text
    assert 'class="storefront-brand"' in response.text
    assert "Storefront back-office" in response.text


def test_every_admin_page_names_its_icon(client, admin_client):
    """Browsers ask for /favicon.ico (a 404 on every first visit) unless the page names an icon."""
    icon = '<link rel="icon" type="image/svg+xml" href="/static/store/favicon.svg">'
    assert icon in admin_client.get(INDEX).text
    assert icon in client.get("/admin/login/").text
    assert finders.find("store/favicon.svg")
    # pages that name none (the API's JSON) ask for /favicon.ico: the same icon
    response = client.get("/favicon.ico")
    assert (response.status_code, response["Location"]) == (301, "/static/store/favicon.svg")
