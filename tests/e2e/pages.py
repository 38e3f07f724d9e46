"""What a journey reads off the admin's pages."""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import Page

PRODUCTS = "/admin/store/product/"


def product_rows(page: Page, base_url: str, query: str) -> dict[str, dict[str, str]]:
    """The product list searched for ``query`` as the user sees it: {sku: {column: text}}
    (price and inventory from their inputs)."""
    page.goto(f"{base_url}{PRODUCTS}?{urlencode({'q': query})}")
    page.wait_for_selector("#result_list")
    rows = {}
    for row in page.locator("#result_list tbody tr").all():
        rows[row.locator("td.field-sku").inner_text()] = {
            "title": row.locator("th.field-title").inner_text(),
            "unit_price": row.locator("td.field-unit_price input[type=number]").input_value(),
            "inventory": row.locator("td.field-inventory input[type=number]").input_value(),
            "collection": row.locator("td.field-collection_link").inner_text(),
            "status": row.locator("td.field-status_badge").inner_text(),
            "tags": row.locator("td.field-tags").inner_text(),
        }
    return rows


def message(page: Page) -> str:
    """The success message the page shows (waits for it)."""
    page.wait_for_selector(".messagelist .success")
    return page.inner_text(".messagelist")
