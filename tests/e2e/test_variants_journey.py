"""Issue 21's journey, on the app as `make run` serves it (dev settings, the debug toolbar, a
worker): a Merchandiser creates a T-shirt with two options and six variants, sets their prices
and stock and a variant image; the shop sells one in an order; the variant it sold cannot be
removed, even by a superuser; the Merchandiser raises the prices of every sellable unit of the collection (a job on
the worker); an Importer adds two variants by file and reverts that import."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Page

from .conftest import make_run_page
from .pages import PRODUCTS, message, open_revert, pick, raise_price_5_percent_as_job, upload_for_preview

GREEN = ["JTEE-GREEN-S", "JTEE-GREEN-M", "JTEE-GREEN-L"]
BLUE = ["JTEE-BLUE-S", "JTEE-BLUE-M", "JTEE-BLUE-L"]


@pytest.fixture
def shop_admin(browser, make_run) -> Iterator[Page]:
    """A page of the make-run app, logged in as `make demo`'s superuser (orders are added by the
    shop, not by a back-office role)."""
    context = browser.new_context()
    make_run.login(context.new_page(), "admin", "admin")
    state = context.storage_state()
    context.close()
    yield from make_run_page(browser, make_run, state)


def variant_row(page: Page, sku: str):
    return page.locator("#variants-group tr.form-row").filter(has=page.locator(f"input[value='{sku}']"))


def test_a_product_with_variants_from_its_creation_to_a_reverted_import(
    make_run, merchandiser, importer, shop_admin, tmp_path
):
    make_run.call(
        "create_products",
        collection="Journey shirts",
        products=[{"sku": "JOLD-1", "title": "Journey plain shirt", "unit_price": "10.00"}],
    )
    make_run.call("create_customer", first_name="Jovita", last_name="Journey")
    picture = tmp_path / "green-tee.png"
    Image.new("RGB", (64, 64), (0, 128, 0)).save(picture)

    # 1. The product, its two options and an image: saving makes the six variants.
    page = merchandiser
    page.goto(f"{make_run.url}{PRODUCTS}add/")
    page.locator("#id_title").press_sequentially("Journey Tee")
    page.fill("#id_sku", "JTEE")
    pick(page, page.locator(".field-collection"), "Journey", "Journey shirts")
    page.fill("#id_unit_price", "20.00")
    page.fill("#id_inventory", "0")
    page.fill("#id_options", "Colour: Green, Blue; Size: S, M, L")
    page.set_input_files("#id_images-0-image", str(picture))
    page.fill("#id_images-0-alt_text", "Green tee")
    page.locator("input[name=_continue]").click()
    assert "was added successfully" in message(page)
    assert page.locator("#variants-group tr.form-row.has_original").count() == 6

    # 2. Prices and stock per variant, and the green ones show the green picture.
    for sku in GREEN + BLUE:
        row = variant_row(page, sku)
        row.locator("input[name$='-unit_price']").fill("20.00" if sku in GREEN else "22.00")
        row.locator("input[name$='-inventory']").fill("10")
        if sku in GREEN:
            row.locator("select[name$='-variant_image']").select_option(label="Green tee")
    page.locator("input[name=_continue]").click()
    assert "was changed successfully" in message(page)
    # Its own price and stock columns sell nothing: the page shows its variants' instead.
    summary = page.locator(".field-variants_price_and_stock").inner_text()
    assert re.search(r"6 variants\D+20\.00\D+22\.00\D+60 in stock", summary), summary
    assert not page.locator("div.form-row.field-inventory").count()  # (the inline's cells are its variants')
    variants = make_run.call("variants_state", product="JTEE")
    assert variants == {
        sku: {
            "options": f"{'Green' if sku in GREEN else 'Blue'} / {sku.rsplit('-', 1)[1]}",
            "unit_price": "20.00" if sku in GREEN else "22.00",
            "inventory": 10,
            "image": "Green tee" if sku in GREEN else "",
        }
        for sku in GREEN + BLUE
    }
    page.goto(f"{make_run.url}{PRODUCTS}?q=Journey+Tee")
    listed = page.locator("#result_list tbody tr", has_text="JTEE").inner_text()
    assert re.search(r"6 variants\D+20\.00\D+22\.00\D+60 in stock", listed), listed  # count, price range, stock

    # 3. The shop sells a blue M: the order line finds the variant by its product's title and option values.
    shop = shop_admin
    shop.goto(f"{make_run.url}/admin/store/order/add/")
    pick(shop, shop.locator(".field-customer"), "Jovita", "Jovita Journey")
    pick(shop, shop.locator("#items-0 .field-product"), "journey tee blue m", "Blue / M")
    shop.fill("#id_items-0-quantity", "1")
    shop.click("input[name=_save]")
    assert "was added successfully" in message(shop)
    assert make_run.call("order_lines", customer="Jovita") == [["JTEE-BLUE-M", 1, "22.00"]]

    # 4. The variant an order refers to cannot be removed (by someone allowed to delete
    #    products: a Merchandiser deletes none); the page says why.
    shop.goto(f"{make_run.url}{PRODUCTS}?q=JTEE")
    shop.locator("#result_list tbody tr th a", has_text="Journey Tee").click()
    variant_row(shop, "JTEE-BLUE-M").locator("input[name$='-DELETE']").check()
    shop.locator("input[name=_continue]").click()
    shop.wait_for_selector(".errornote")
    assert "order" in shop.locator("#variants-group .errorlist").inner_text().lower()
    assert "JTEE-BLUE-M" in make_run.call("variants_state", product="JTEE")

    # 5. Raise the prices of every sellable unit of the collection by 5%: seven units (six
    #    variants and the plain shirt) are more than BULK_INLINE_MAX, so the worker runs it.
    page.goto(f"{make_run.url}{PRODUCTS}?rows=units")
    page.locator("#changelist-filter .select2-selection").first.click()
    page.locator(".select2-search__field").fill("Journey")
    page.locator(".select2-results__option", has_text="Journey shirts").click()
    page.wait_for_url(re.compile(r"collection__pk__exact="))
    assert page.locator("#result_list tbody tr").count() == 7
    page.check("#action-toggle")
    raise_price_5_percent_as_job(page)
    assert "7 / 7" in page.inner_text("#job-rows")
    prices = {sku: state["unit_price"] for sku, state in make_run.call("variants_state", product="JTEE").items()}
    assert prices == {**dict.fromkeys(GREEN, "21.00"), **dict.fromkeys(BLUE, "23.10")}
    assert make_run.call("products_state", skus=["JOLD-1"])["JOLD-1"]["unit_price"] == "10.50"
    assert make_run.call("order_lines", customer="Jovita") == [["JTEE-BLUE-M", 1, "22.00"]]  # the price it was sold at

    # 6. An Importer adds the XL variants by file, then reverts that import.
    path = tmp_path / "journey-xl.csv"
    path.write_text(
        "sku,product,option1,option2,unit_price,inventory\n"
        "JTEE-GREEN-XL,JTEE,Green,XL,25.00,3\n"
        "JTEE-BLUE-XL,JTEE,Blue,XL,25.00,3\n"
    )
    page = importer
    upload_for_preview(page, make_run.url, path)
    page.wait_for_selector("#import-counts")
    assert page.inner_text("td.count-new") == "2"
    page.click("input[name=_confirm]")
    assert "2 new, 0 updated" in message(page)
    variants = make_run.call("variants_state", product="JTEE")
    assert variants["JTEE-BLUE-XL"] == {"options": "Blue / XL", "unit_price": "25.00", "inventory": 3, "image": ""}
    assert len(variants) == 8
    [job] = make_run.call("import_jobs", file_names=[path.name])

    open_revert(page, make_run.url, job["id"])
    assert page.inner_text("td.count-delete") == "2"
    page.click("#revert-confirm")
    assert f"Import #{job['id']} reverted" in message(page)
    variants = make_run.call("variants_state", product="JTEE")
    assert sorted(variants) == sorted(GREEN + BLUE)
    assert {state["unit_price"] for state in variants.values()} == {"21.00", "23.10"}  # the edits before it kept
