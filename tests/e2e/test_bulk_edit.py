"""Merchandiser journeys on the app as `make run` serves it (the debug toolbar on, a worker
beside the dev server): every bulk edit through its intermediate page, Publish, a selection
above the inline limit run as a job by the worker."""

from __future__ import annotations

import re

import pytest

from .pages import PRODUCTS, message, product_rows, raise_price_5_percent_as_job


def open_bulk_edit(page, make_run, query: str, ids: list[int], action: str) -> None:
    page.goto(f"{make_run.url}{PRODUCTS}?q={query}")
    for pk in ids:
        page.check(f"input.action-select[value='{pk}']")
    page.select_option("select[name=action]", f"bulk_{action}")
    page.click("button[name=index]")
    page.wait_for_selector("#bulk-form")


def pick_collection(page, title: str) -> None:
    page.click(".field-collection .select2-selection")
    page.fill(".select2-search__field", title.split()[0])
    page.click(f".select2-results__option:has-text('{title}')")


def test_raise_price_5_percent_on_selected_products(make_run, merchandiser, screenshot):
    ids = make_run.call(
        "create_products",
        collection="Hoodies",
        products=[
            {"sku": "BP-A", "title": "Bulk hoodie A", "unit_price": "10.00"},
            {"sku": "BP-B", "title": "Bulk hoodie B", "unit_price": "19.99"},
            {"sku": "BP-C", "title": "Bulk hoodie C", "unit_price": "30.00"},
        ],
    )
    page = merchandiser
    open_bulk_edit(page, make_run, "Bulk hoodie", [ids["BP-A"], ids["BP-B"]], "change_price")
    assert "2 products selected" in page.inner_text("#bulk-selected")
    page.select_option("#id_bulk-mode", "raise_pct")
    page.fill("#id_bulk-amount", "5")
    page.click("#bulk-preview")
    page.wait_for_selector("#bulk-counts")
    assert page.inner_text("td.count-changed") == "2"
    assert "10.00 → 10.50" in page.inner_text("#bulk-sample")
    assert "19.99 → 20.99" in page.inner_text("#bulk-sample")
    screenshot(page, "bulk-edit-preview")
    assert make_run.call("products_state", skus=["BP-A"])["BP-A"]["unit_price"] == "10.00"
    page.click("#bulk-confirm")

    assert re.search(r"Bulk edit #\d+ \(raise price 5%\): 2 products were changed\.", message(page))
    rows = product_rows(page, make_run.url, "Bulk hoodie")
    assert [rows[sku]["unit_price"] for sku in ("BP-A", "BP-B", "BP-C")] == ["10.50", "20.99", "30.00"]


# Each kind of bulk edit on two of three products: (action, products' extra fields and tags,
# how to fill the form, a change the preview shows, the message's words, the list's column and
# its values for the two selected products and the third, untouched one).
KINDS = {
    "adjust_inventory": (
        {"inventory": 7},
        lambda page, make_run: page.fill("#id_bulk-delta", "-3"),
        "7 → 4",
        "adjust inventory by -3",
        ("inventory", "4", "7"),
    ),
    "add_tags": (
        {"tags": ["cotton"]},
        lambda page, make_run: page.fill("#id_bulk-labels", "summer, eco"),
        "cotton → cotton, eco, summer",
        "add tags eco, summer",
        ("tags", "cotton, eco, summer", "cotton"),
    ),
    "remove_tags": (
        {"tags": ["cotton", "sale"]},
        lambda page, make_run: page.fill("#id_bulk-labels", "sale"),
        "cotton, sale → cotton",
        "remove tags sale",
        ("tags", "cotton", "cotton, sale"),
    ),
    "move_to_collection": (
        {},
        lambda page, make_run: pick_collection(page, "Winter sale"),
        "Scarves → Winter sale",
        "move to collection Winter sale",
        ("collection", "Winter sale", "Scarves"),
    ),
    "set_status": (
        {},
        lambda page, make_run: page.select_option("#id_bulk-value", "draft"),
        "Active → Draft",
        "set status to Draft",
        ("status", "Draft", "Active"),
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_bulk_edit(make_run, merchandiser, kind):
    extra, fill, change, words, (column, after, untouched) = KINDS[kind]
    prefix = f"K-{kind.upper().replace('_', '-')}"
    title = f"Kind {kind} scarf"
    fields = {key: value for key, value in extra.items() if key != "tags"}
    ids = make_run.call(
        "create_products",
        collection="Scarves",
        products=[{"sku": f"{prefix}-{n}", "title": f"{title} {n}", **fields} for n in range(3)],
        tags=extra.get("tags", []),
        other_collections=["Winter sale"],
    )
    page = merchandiser
    open_bulk_edit(page, make_run, title, [ids[f"{prefix}-0"], ids[f"{prefix}-1"]], kind)
    fill(page, make_run)
    page.click("#bulk-preview")
    page.wait_for_selector("#bulk-counts")
    assert page.inner_text("td.count-changed") == "2"
    assert change in page.inner_text("#bulk-sample")
    page.click("#bulk-confirm")

    assert f"({words}): 2 products were changed." in message(page)
    rows = product_rows(page, make_run.url, title)
    assert [rows[f"{prefix}-{n}"][column] for n in range(3)] == [after, after, untouched]


@pytest.mark.parametrize("add", [True, False], ids=["add_promotion", "remove_promotion"])
def test_add_and_remove_a_promotion(make_run, merchandiser, add):
    prefix = "PROMO-ADD" if add else "PROMO-DEL"
    title = f"Promo {'add' if add else 'remove'} mug"
    ids = make_run.call(
        "create_products",
        collection="Mugs",
        products=[{"sku": f"{prefix}-{n}", "title": f"{title} {n}"} for n in range(3)],
    )
    description = f"Spring {'add' if add else 'remove'}"
    promotion = make_run.call(
        "create_promotion", description=description, products=[] if add else [f"{prefix}-{n}" for n in range(3)]
    )
    page = merchandiser
    open_bulk_edit(
        page, make_run, title, [ids[f"{prefix}-0"], ids[f"{prefix}-1"]], f"{'add' if add else 'remove'}_promotion"
    )
    page.select_option("#id_bulk-promotion", str(promotion))
    page.click("#bulk-preview")
    page.wait_for_selector("#bulk-counts")
    assert page.inner_text("td.count-changed") == "2"
    assert (f"— → {description}" if add else f"{description} → —") in page.inner_text("#bulk-sample")
    page.click("#bulk-confirm")

    assert "2 products were changed." in message(page)
    # The list's promotion filter shows who has it now.
    page.goto(f"{make_run.url}{PRODUCTS}?q={title}&promotions__id__exact={promotion}")
    on_promotion = page.locator("#result_list tbody td.field-sku").all_inner_texts()
    assert sorted(on_promotion) == ([f"{prefix}-0", f"{prefix}-1"] if add else [f"{prefix}-2"])


def test_publish_drafts_with_the_action(make_run, merchandiser, screenshot):
    ids = make_run.call(
        "create_products",
        collection="Shirts",
        products=[
            {"sku": "PUB-1", "title": "Publish linen shirt", "status": "draft"},
            {"sku": "PUB-2", "title": "Publish travel mug"},
        ],
    )
    page = merchandiser
    page.goto(f"{make_run.url}{PRODUCTS}?q=Publish&status__exact=draft")
    assert page.locator("#result_list .status-badge").all_inner_texts() == ["Draft"]
    page.locator(f"input.action-select[value='{ids['PUB-1']}']").check()
    page.select_option("select[name=action]", "publish")
    page.locator("button[name=index]").click()
    page.wait_for_selector(".messagelist")
    assert "1 product was updated." in page.locator(".messagelist").inner_text()
    rows = product_rows(page, make_run.url, "Publish")
    assert [rows[sku]["status"] for sku in ("PUB-1", "PUB-2")] == ["Active", "Active"]
    assert make_run.call("products_state", skus=["PUB-1"])["PUB-1"]["status"] == "active"


def test_a_selection_above_the_inline_limit_runs_as_a_job_on_the_worker(make_run, merchandiser):
    # BULK_INLINE_MAX is 5 for this app (conftest.MAKE_RUN_SETTINGS): six products are a job.
    make_run.call(
        "create_products",
        collection="Mugs",
        products=[{"sku": f"JOB-{n}", "title": f"Job mug {n}", "unit_price": "10.00"} for n in range(6)],
    )
    page = merchandiser
    page.goto(f"{make_run.url}{PRODUCTS}?q=Job+mug")
    page.check("#action-toggle")
    raise_price_5_percent_as_job(page)
    assert "6 / 6" in page.inner_text("#job-rows")
    rows = product_rows(page, make_run.url, "Job mug")
    assert {row["unit_price"] for row in rows.values()} == {"10.50"}
    assert len(rows) == 6
