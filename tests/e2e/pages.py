"""What a journey reads off the admin's pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Locator, Page

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


def pick(page: Page, container: Locator, term: str, choice: str) -> None:
    """Open the select2 widget in ``container``, type ``term`` and click the result ``choice``."""
    container.locator(".select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(term)
    page.locator(".select2-results__option", has_text=choice).click()
    container.locator(".select2-selection__rendered", has_text=choice).wait_for()


def upload_for_preview(page: Page, base_url: str, path: Path) -> None:
    """The product import page: choose ``path`` and ask for its preview (or its mapping)."""
    page.goto(f"{base_url}{PRODUCTS}import/")
    page.set_input_files("input[name=file]", str(path))
    page.click("input[name=_preview]")


def open_revert(page: Page, base_url: str, job_id: int) -> None:
    """The revert page of import ``job_id``, through its link in the import history."""
    page.goto(f"{base_url}/admin/store/importjob/")
    page.click(f"a.revert-link[href$='/{job_id}/revert/']")
    page.wait_for_selector("#revert-counts")


def raise_price_5_percent_as_job(page: Page) -> None:
    """On a product list whose rows are selected (more than BULK_INLINE_MAX): "Change price",
    raise 5%, preview, confirm; waits for the worker to finish the job."""
    page.select_option("select[name=action]", "bulk_change_price")
    page.click("button[name=index]")
    page.wait_for_selector("#bulk-as-job")
    page.select_option("#id_bulk-mode", "raise_pct")
    page.fill("#id_bulk-amount", "5")
    page.click("#bulk-preview")
    page.wait_for_selector("#bulk-sampled")
    page.click("#bulk-confirm")
    # The job's page refreshes itself until the worker is done.
    page.wait_for_selector("#job-state[data-state=done]", timeout=90_000)
