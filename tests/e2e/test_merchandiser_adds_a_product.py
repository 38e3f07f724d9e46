"""A Merchandiser adds a product in the browser, on the app as `make run` serves it (issue 20 §4):
the Add button is there, the form saves, and the product starts as a draft, with its tag."""

from __future__ import annotations

import re

from .pages import PRODUCTS, message, product_rows


def test_a_merchandiser_adds_a_product_that_starts_as_a_draft(make_run, merchandiser):
    make_run.call(
        "create_products", collection="Lamps", products=[{"sku": "LAMP-0", "title": "Old lamp"}], tags=["handmade"]
    )
    page = merchandiser
    page.goto(f"{make_run.url}{PRODUCTS}")
    page.locator(".object-tools a.addlink").click()
    page.wait_for_url(re.compile(r"/admin/store/product/add/$"))
    assert page.locator("#id_status").input_value() == "draft"
    page.locator("#id_title").press_sequentially("Brass desk lamp")
    page.fill("#id_sku", "LAMP-1")
    page.locator("#id_collection").locator("xpath=..").locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("Lamps")
    page.locator(".select2-results__option", has_text="Lamps").click()
    page.fill("#id_unit_price", "49.00")
    page.fill("#id_inventory", "12")
    tags_row = page.locator("#tags-taggeditem-content_type-object_id-group tr.form-row").first
    tags_row.locator(".select2-selection").click()
    page.locator(".select2-search__field").fill("hand")
    page.locator(".select2-results__option", has_text="handmade").click()
    page.locator("input[name=_save]").click()

    assert "was added successfully" in message(page)
    row = product_rows(page, make_run.url, "Brass desk")["LAMP-1"]
    assert (row["status"], row["tags"]) == ("Draft", "handmade")
    state = make_run.call("products_state", skus=["LAMP-1"])["LAMP-1"]
    assert (state["status"], state["collection"], state["unit_price"]) == ("draft", "Lamps", "49.00")
