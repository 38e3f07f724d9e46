"""The import history fits a 1,366 px screen with status, counts and Revert visible (issue 20 §3)."""

from django.utils import timezone

from store.models import ImportJob

WIDTH = 1366


def test_the_import_history_fits_a_laptop_screen(admin_page, live_server, admin_user, screenshot):
    now = timezone.now()
    for number in range(3):
        ImportJob.objects.create(
            user=admin_user,
            confirmed_by=admin_user,
            source=ImportJob.SOURCE_ADMIN,
            file_name=f"supplier-acme-homeware-weekly-stock-and-price-feed-2026-w{number:02d}-final-v2.csv",
            preset="woocommerce",
            status=ImportJob.STATUS_PARTIAL,
            rows_total=123_456,
            created_count=12_345,
            updated_count=98_765,
            unchanged_count=10_000,
            skipped_count=1_234,
            error_count=1_112,
            duration=1234.5,
            finished_at=now,
        )
    page = admin_page
    page.set_viewport_size({"width": WIDTH, "height": 768})
    page.goto(f"{live_server.url}/admin/store/importjob/")
    page.wait_for_selector("#result_list")
    screenshot(page, "import-history-1366")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH  # no sideways scrolling
    # nor inside the list: the admin scrolls a wide table in its own box, hiding the last columns
    assert (
        page.evaluate(
            "(() => { const r = document.querySelector('.results'); return r.scrollWidth - r.clientWidth; })()"
        )
        <= 0
    )
    results = page.locator(".results").bounding_box()
    row = page.locator("#result_list tbody tr").first
    for selector in ("td.field-status_label", "td.field-counts", "td.field-revert_link a.revert-link"):
        box = row.locator(selector).bounding_box()
        assert box is not None, selector
        assert box["x"] >= results["x"]
        assert box["x"] + box["width"] <= min(WIDTH, results["x"] + results["width"]), (selector, box)
    counts = row.locator("td.field-counts").inner_text()
    assert "12,345 new" in counts
    assert "98,765 updated" in counts
    assert "1,112 errors" in counts
    assert "Imported valid rows" in row.locator("td.field-status_label").inner_text()
