"""The product list fits a 1,366 px screen (issue 20 §4): status and tags visible with no sideways
scrolling, the debug toolbar collapsed to its handle, with the admin's menu (the nav sidebar)
open, as a new user first sees it, and closed; on the app as `make run` serves it (demo data)."""

from __future__ import annotations

import re

import pytest

from .pages import PRODUCTS

WIDTH = 1366


@pytest.mark.parametrize("menu_open", [True, False], ids=["menu-open", "menu-closed"])
def test_the_product_list_fits_a_laptop_screen(make_run, merchandiser, screenshot, menu_open):
    page = merchandiser
    page.set_viewport_size({"width": WIDTH, "height": 768})
    page.goto(f"{make_run.url}/admin/")
    page.evaluate(f"localStorage.setItem('django.admin.navSidebarIsOpen', '{str(menu_open).lower()}')")
    page.goto(f"{make_run.url}{PRODUCTS}")
    page.wait_for_selector("#result_list")
    assert page.locator("#nav-sidebar").is_visible() is menu_open
    assert page.locator("#djDebugToolbarHandle").count() == 1  # the dev settings' toolbar, collapsed
    assert not page.locator("#djDebugToolbar").is_visible()
    screenshot(page, f"product-list-1366-{'menu' if menu_open else 'no-menu'}")

    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH  # no sideways scrolling
    # nor inside the list: the admin scrolls a wide table in its own box, hiding the last columns
    overflow = page.evaluate(
        "(() => { const r = document.querySelector('.results'); return r.scrollWidth - r.clientWidth; })()"
    )
    assert overflow <= 0
    results = page.locator(".results").bounding_box()
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 100
    for row in (rows.first, rows.nth(50), rows.last):
        for selector in ("td.field-status_badge .status-badge", "td.field-tags", "td.field-inventory_status"):
            box = row.locator(selector).bounding_box()
            assert box is not None, selector
            assert box["x"] >= results["x"], selector
            assert box["x"] + box["width"] <= min(WIDTH, results["x"] + results["width"]), (selector, box)
    filters = page.locator("#changelist-filter").bounding_box()
    assert filters["x"] + filters["width"] <= WIDTH
    assert results["x"] + results["width"] <= filters["x"]

    # The count line agrees with the paginator: the whole list has none at the top; the pages say N products.
    assert page.locator("#changelist-search-count").count() == 0
    paginator = page.locator("p.paginator").inner_text()
    total = int(re.search(r"(\d+) products", paginator).group(1))
    assert page.locator(".action-counter").inner_text() == "0 of 100 selected"
    page.fill("#searchbar", "beanie")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#changelist-search-count")
    shown = page.locator("#result_list tbody tr").count()
    assert page.locator("#changelist-search-count").inner_text().startswith(f"{shown} products")
    assert f"{shown} products" in page.locator("p.paginator").inner_text()
    assert shown < total
