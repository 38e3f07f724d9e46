"""Merchandiser journeys on the product list: filter, sort, list edit, action, autocomplete filter.
The ones that write run on the app as `make run` serves it (``make_run``)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from store.tests.factories import CollectionFactory, ProductFactory

from .pages import product_rows

PRODUCTS = "/admin/store/product/"


@pytest.fixture
def shelf(settings):
    settings.LOW_STOCK_THRESHOLD = 10
    hoodies, mugs = CollectionFactory(title="Hoodies"), CollectionFactory(title="Mugs")
    return {
        "out": ProductFactory(title="Classic Hoodie", sku="HD-1", inventory=0, collection=hoodies),
        "low": ProductFactory(title="Zip Hoodie", sku="HD-2", inventory=4, collection=hoodies),
        "ok": ProductFactory(
            title="Travel Mug", sku="MG-1", inventory=40, collection=mugs, unit_price=Decimal("12.00")
        ),
        "ok2": ProductFactory(title="Enamel Mug", sku="MG-2", inventory=25, collection=mugs),
        "hoodies": hoodies,
        "mugs": mugs,
    }


def titles(page) -> list[str]:
    return page.locator("#result_list tbody th.field-title a").all_inner_texts()


def test_filter_low_inventory_and_sort_by_status(admin_page, live_server, shelf, screenshot):
    page = admin_page
    page.goto(f"{live_server.url}{PRODUCTS}")
    page.wait_for_selector("#result_list")
    screenshot(page, "product_list")

    page.locator("#changelist-filter a", has_text=re.compile(r"^Low$")).click()
    page.wait_for_url(re.compile(r"inventory_status=low"))
    assert titles(page) == ["Zip Hoodie"]
    assert page.locator("#result_list .stock-badge").all_inner_texts() == ["Low"]

    page.goto(f"{live_server.url}{PRODUCTS}")
    page.locator("#result_list thead th.column-inventory_status a", has_text="Stock").click()
    page.wait_for_url(re.compile(r"o=7"))
    assert page.locator("#result_list .stock-badge").all_inner_texts() == ["Out of stock", "Low", "OK", "OK"]
    assert titles(page)[0] == "Classic Hoodie"


def test_edit_a_price_in_the_list_and_save(make_run, merchandiser):
    """On the app as `make run` serves it, as a Merchandiser."""
    make_run.call(
        "create_products",
        collection="Mugs",
        products=[
            {"sku": "LE-1", "title": "List edit travel mug", "unit_price": "12.00"},
            {"sku": "LE-2", "title": "List edit enamel mug"},
        ],
    )
    page = merchandiser
    page.goto(f"{make_run.url}{PRODUCTS}?q=List+edit")
    row = page.locator("#result_list tbody tr", has=page.locator("th.field-title", has_text="List edit travel mug"))
    row.locator("td.field-unit_price input[type=number]").fill("14.50")  # not the hidden initial value
    page.locator("input[name=_save]").click()
    page.wait_for_selector(".messagelist")
    assert "1 product was changed successfully." in page.locator(".messagelist").inner_text()
    assert product_rows(page, make_run.url, "List edit travel")["LE-1"]["unit_price"] == "14.50"
    state = make_run.call("products_state", skus=["LE-1", "LE-2"])
    assert (state["LE-1"]["unit_price"], state["LE-1"]["version"]) == ("14.50", 2)
    assert state["LE-2"]["version"] == 1


def test_run_clear_inventory_and_read_the_message(make_run, merchandiser):
    """On the app as `make run` serves it, as a Merchandiser."""
    ids = make_run.call(
        "create_products",
        collection="Mugs",
        products=[
            {"sku": "CI-1", "title": "Clear travel mug", "inventory": 40},
            {"sku": "CI-2", "title": "Clear zip hoodie", "inventory": 4},
            {"sku": "CI-3", "title": "Clear enamel mug", "inventory": 25},
        ],
    )
    page = merchandiser
    page.goto(f"{make_run.url}{PRODUCTS}?q=Clear")
    for sku in ("CI-1", "CI-2"):
        page.locator(f"input.action-select[value='{ids[sku]}']").check()
    page.select_option("select[name=action]", "clear_inventory")
    page.locator("button[name=index]").click()
    page.wait_for_selector(".messagelist")
    assert "2 products were updated." in page.locator(".messagelist").inner_text()
    rows = product_rows(page, make_run.url, "Clear")
    assert [rows[sku]["inventory"] for sku in ("CI-1", "CI-2", "CI-3")] == ["0", "0", "25"]


def test_pick_a_collection_in_the_autocomplete_filter(admin_page, live_server, shelf):
    page = admin_page
    page.goto(f"{live_server.url}{PRODUCTS}")
    assert len(titles(page)) == 4
    page.locator("#changelist-filter .select2-selection").click()
    page.locator(".select2-search__field").fill("Mug")
    page.locator(".select2-results__option", has_text="Mugs").click()
    page.wait_for_url(re.compile(rf"collection__pk__exact={shelf['mugs'].pk}"))
    assert sorted(titles(page)) == ["Enamel Mug", "Travel Mug"]


def test_follow_a_collection_products_count_link(admin_page, live_server, shelf):
    page = admin_page
    page.goto(f"{live_server.url}/admin/store/collection/")
    row = page.locator("#result_list tbody tr", has=page.locator("th.field-title", has_text="Hoodies"))
    row.locator("td.field-products_count a", has_text="2").click()
    page.wait_for_url(re.compile(rf"collection__pk__exact={shelf['hoodies'].pk}"))
    assert sorted(titles(page)) == ["Classic Hoodie", "Zip Hoodie"]
