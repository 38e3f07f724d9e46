"""Merchandiser journeys on the product list: filter, sort, list edit, action, autocomplete filter."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from store.models import Product
from store.tests.factories import CollectionFactory, ProductFactory

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


def test_edit_a_price_in_the_list_and_save(admin_page, live_server, shelf):
    page = admin_page
    page.goto(f"{live_server.url}{PRODUCTS}")
    row = page.locator("#result_list tbody tr", has=page.locator("th.field-title", has_text="Travel Mug"))
    row.locator("td.field-unit_price input[type=number]").fill("14.50")  # not the hidden initial value
    page.locator("input[name=_save]").click()
    page.wait_for_selector(".messagelist")
    assert "1 product was changed successfully." in page.locator(".messagelist").inner_text()
    product = Product.objects.get(pk=shelf["ok"].pk)
    assert (product.unit_price, product.version) == (Decimal("14.50"), 2)


def test_run_clear_inventory_and_read_the_message(admin_page, live_server, shelf):
    page = admin_page
    page.goto(f"{live_server.url}{PRODUCTS}")
    for key in ("ok", "low"):
        page.locator(f"input.action-select[value='{shelf[key].pk}']").check()
    page.select_option("select[name=action]", "clear_inventory")
    page.locator("button[name=index]").click()
    page.wait_for_selector(".messagelist")
    assert "2 products were updated." in page.locator(".messagelist").inner_text()
    assert set(
        Product.objects.filter(pk__in=[shelf["ok"].pk, shelf["low"].pk]).values_list("inventory", flat=True)
    ) == {0}


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
