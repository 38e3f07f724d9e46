"""The product list shows products (with their variants' count, price range and stock), never a
variant on its own row; searching a variant's SKU finds its product; order lines sell variants."""

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from store import selectors, services
from store.models import OrderItem, Product
from store.tests.admin_helpers import changelist_data, changelist_query_counts, row_prefix
from store.tests.factories import CollectionFactory, OrderFactory, ProductFactory
from store.tests.variants.conftest import make_parent, make_variant

pytestmark = pytest.mark.django_db
PRODUCTS = "/admin/store/product/"


def rows(response) -> list[str]:
    return [product.title for product in response.context["cl"].result_list]


def test_the_list_shows_products_with_their_variants_summary(admin_client, tshirt):
    ProductFactory(title="Mug")
    response = admin_client.get(PRODUCTS)
    assert rows(response) == ["Example T-Shirt", "Mug"]
    html = response.content.decode()
    assert "6 variants · 18.00–24.00 · 300 in stock" in html


def test_the_stock_badge_of_a_product_is_low_when_a_variant_is(admin_client, tshirt, settings):
    settings.LOW_STOCK_THRESHOLD = 10
    Product.objects.filter(sku="TS-GM").update(inventory=2)
    response = admin_client.get(PRODUCTS)
    assert rows(response) == ["Example T-Shirt"]
    assert '<span class="stock-badge stock-low">Low</span>' in response.content.decode()


def test_searching_a_variants_sku_finds_its_product(admin_client, tshirt):
    ProductFactory(title="Tsar mug", sku="MUG-1")
    assert rows(admin_client.get(PRODUCTS, {"q": "TS-BM"})) == ["Example T-Shirt"]
    assert rows(admin_client.get(PRODUCTS, {"q": "Tsar"})) == ["Tsar mug"]
    assert rows(admin_client.get(PRODUCTS, {"q": "MUG"})) == ["Tsar mug"]


def test_the_list_costs_no_query_per_row_or_variant(admin_client, monkeypatch):
    collection = CollectionFactory()
    for number in range(60):
        parent = make_parent(title=f"Shirt {number:03}", collection=collection)
        for size in ("XS", "S", "M", "L", "XL"):
            make_variant(parent, "Green", size)
    # 101 products: a page of 100 is one of several too (a list that fits on one page reads its
    # rows at once, without the page's ids first: a query fewer).
    ProductFactory.create_batch(41, collection=collection)
    counts = changelist_query_counts(admin_client, monkeypatch, Product, PRODUCTS)
    assert counts[10] == counts[100]


def test_order_lines_autocomplete_variants_named_with_their_product(admin_client, tshirt):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "Example", "app_label": "store", "model_name": "orderitem", "field_name": "product"},
    )
    assert response.status_code == 200
    texts = [result["text"] for result in response.json()["results"]]
    assert "Example T-Shirt — Green / S" in texts
    assert len(texts) == 6  # the variants, not the product with variants
    by_option = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "blue", "app_label": "store", "model_name": "orderitem", "field_name": "product"},
    )
    assert len(by_option.json()["results"]) == 3


def test_a_product_with_variants_cannot_be_sold_itself(tshirt):
    order = OrderFactory()
    with pytest.raises(ValidationError) as caught:
        services.order_item_save(item=OrderItem(order=order, product=tshirt, quantity=1))
    assert caught.value.message_dict["product"] == [services.ERROR_SELL_PARENT]
    variant = tshirt.variants.get(sku="TS-BL")
    item = services.order_item_save(item=OrderItem(order=order, product=variant, quantity=2))
    assert item.unit_price == variant.unit_price


def test_a_product_with_variants_shows_its_price_range_and_stock_read_only_in_the_list(admin_client, tshirt):
    mug = ProductFactory(title="Mug", unit_price="9.00", inventory=4)
    response = admin_client.get(PRODUCTS)
    html = response.content.decode()
    tshirt_prefix, mug_prefix = row_prefix(response, tshirt.pk), row_prefix(response, mug.pk)
    # The product without variants keeps its inputs; the one with variants shows their figures.
    assert f'name="{mug_prefix}-unit_price"' in html
    assert f'name="{mug_prefix}-inventory"' in html
    assert f'name="{tshirt_prefix}-unit_price"' not in html
    assert f'name="{tshirt_prefix}-inventory"' not in html
    assert '<span class="variant-range">18.00–24.00</span>' in html
    assert '<span class="variant-range">300</span>' in html

    # A forged post of the parent's price and stock changes nothing and is no row error.
    data = changelist_data(response, **{f"{tshirt_prefix}-unit_price": "99.00", f"{tshirt_prefix}-inventory": "7"}) | {
        f"{mug_prefix}-unit_price": "11.00"
    }
    saved = admin_client.post(PRODUCTS, data)
    assert saved.status_code == 302
    tshirt.refresh_from_db()
    mug.refresh_from_db()
    assert (tshirt.unit_price, tshirt.inventory) != (Decimal("99.00"), 7)
    assert tshirt.inventory == 0
    assert mug.unit_price == Decimal("11.00")


UNITS = {"rows": "units"}


def test_the_sellable_units_view_lists_each_variant_with_its_product_and_edits_its_price_and_stock(
    admin_client, tshirt
):
    mug = ProductFactory(title="Mug", sku="MUG-1", unit_price="9.00", inventory=4)
    response = admin_client.get(PRODUCTS, UNITS)
    assert response.status_code == 200
    listed = {row.sku for row in response.context["cl"].result_list}
    assert listed == {"MUG-1", "TS-GS", "TS-GM", "TS-GL", "TS-BS", "TS-BM", "TS-BL"}  # never the product
    html = response.content.decode()
    assert "Example T-Shirt — Green / S" in html
    assert f'href="/admin/store/collection/{tshirt.collection_id}/change/"' in html  # the product's collection

    variant = Product.objects.get(sku="TS-BM")
    prefix = row_prefix(response, variant.pk)
    data = changelist_data(response, **{f"{prefix}-unit_price": "26.00", f"{prefix}-inventory": "7"})
    saved = admin_client.post(f"{PRODUCTS}?rows=units", data)
    assert saved.status_code == 302
    assert saved["Location"].endswith("?rows=units")
    variant.refresh_from_db()
    assert (variant.unit_price, variant.inventory, variant.version) == (Decimal("26.00"), 7, 2)
    assert variant.history.first().history_type == "~"
    mug.refresh_from_db()
    assert mug.version == 1


def test_the_sellable_units_view_lists_by_sku_a_products_variants_together(admin_client, tshirt):
    # By title, the T-shirt's variants sorted by their option labels ("Blue / L") among the others.
    ProductFactory(title="Zebra mug", sku="AA-1")
    ProductFactory(title="Aardvark mug", sku="ZZ-1")
    response = admin_client.get(PRODUCTS, UNITS)
    listed = [row.sku for row in response.context["cl"].result_list]
    assert listed == ["AA-1", "TS-BL", "TS-BM", "TS-BS", "TS-GL", "TS-GM", "TS-GS", "ZZ-1"]
    assert '<th scope="col" class="sortable column-sku sorted ascending">' in response.content.decode()
    by_title = admin_client.get(PRODUCTS, UNITS | {"o": "2"}).context["cl"].result_list  # the title header
    assert [row.sku for row in by_title][0] == "ZZ-1"
    products = admin_client.get(PRODUCTS).context["cl"].result_list  # the products view: by title, as before
    assert [row.sku for row in products] == ["ZZ-1", tshirt.sku, "AA-1"]


def test_the_sellable_units_view_searches_and_filters_units(admin_client, tshirt):
    ProductFactory(title="Mug", sku="MUG-1")

    def skus(params):
        return sorted(row.sku for row in admin_client.get(PRODUCTS, UNITS | params).context["cl"].result_list)

    assert skus({"q": "TS-BM"}) == ["TS-BM"]
    assert skus({"q": "blue"}) == ["TS-BL", "TS-BM", "TS-BS"]
    assert skus({"q": "example green s"}) == ["TS-GS"]
    assert skus({"collection__pk__exact": tshirt.collection_id}) == sorted(
        tshirt.variants.values_list("sku", flat=True)
    )
    Product.objects.filter(sku="TS-GM").update(inventory=0)
    assert skus({"inventory_status": "out"}) == ["TS-GM"]


def test_the_sellable_units_view_counts_sellable_units(admin_client, tshirt, monkeypatch):
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)
    html = admin_client.get(PRODUCTS, UNITS | {"q": "blue"}).content.decode()
    count_line = re.search(r'id="changelist-search-count">([^<(]*)', html).group(1).strip()
    assert count_line == "3 sellable units"
    assert "Select all 3 sellable units" in html
    products = admin_client.get(PRODUCTS, {"q": "blue"}).content.decode()
    assert re.search(r'id="changelist-search-count">([^<(]*)', products).group(1).strip() == "1 product"


def test_the_sellable_units_view_costs_no_query_per_row(admin_client, monkeypatch):
    collection = CollectionFactory()
    for number in range(20):
        parent = make_parent(title=f"Shirt {number:03}", collection=collection)
        for size in ("XS", "S", "M", "L", "XL"):
            make_variant(parent, "Green", size)
    ProductFactory.create_batch(10, collection=collection)
    counts = changelist_query_counts(admin_client, monkeypatch, Product, f"{PRODUCTS}?rows=units")
    assert counts[10] == counts[100]


def test_the_inventory_filter_counts_a_product_with_variants_as_its_stock_badge(admin_client, tshirt, settings):
    settings.LOW_STOCK_THRESHOLD = 10
    hoodie = make_parent(title="Hoodie", sku="HD")
    make_variant(hoodie, "Black", "M", inventory=50, track_inventory=False)  # nothing tracked
    ProductFactory(title="Mug", inventory=3)
    ProductFactory(title="Poster", inventory=0)
    ProductFactory(title="Ebook", inventory=0, track_inventory=False)

    def listed(status):
        response = admin_client.get(PRODUCTS, {"inventory_status": status})
        badges = {
            row.title: selectors.product_variant_stock_status(product=row) for row in response.context["cl"].result_list
        }
        assert set(badges.values()) <= {status}  # the filter agrees with the badge
        return sorted(badges)

    assert listed("ok") == ["Example T-Shirt"]
    assert listed("untracked") == ["Ebook", "Hoodie"]
    Product.objects.filter(sku="TS-GM").update(inventory=2)
    assert listed("low") == ["Example T-Shirt", "Mug"]
    assert listed("ok") == []
    Product.objects.filter(sku="TS-BL").update(inventory=0)
    assert listed("out") == ["Example T-Shirt", "Poster"]
    assert listed("low") == ["Mug"]
    # The sellable-units view: each unit by its own stock.
    units = admin_client.get(PRODUCTS, {"inventory_status": "low", "rows": "units"}).context["cl"].result_list
    assert sorted(row.sku for row in units) == sorted(["TS-GM", Product.objects.get(title="Mug").sku])


@pytest.fixture
def mixed_units(tshirt):
    """Products with and without variants whose titles interleave with the T-shirt's option labels."""
    ProductFactory(title="Blue mug", sku="MUG-B")
    ProductFactory(title="Green lamp", sku="LAMP-G")
    ProductFactory(title="Example T-Shirt", sku="TWIN")  # the same title as the T-shirt: by id then
    hoodie = make_parent(title="Anorak", sku="AN")
    for colour, size in (("Red", "M"), ("Black", "L"), ("Red", "S")):
        make_variant(hoodie, colour, size)
    return tshirt


@pytest.mark.parametrize("order", ["2", "-2"])
@pytest.mark.parametrize("per_page", [2, 5, 100])
def test_the_units_view_by_title_lists_each_product_with_its_variants_by_their_labels(
    admin_client, mixed_units, monkeypatch, order, per_page
):
    """A variant sorts under its product's title, then by its option label: the walk of the whole
    view, page by page, and the sort of a filtered view give that order."""
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", per_page)
    expected = ["AN-BL", "AN-RM", "AN-RS", "MUG-B", "TS-BL", "TS-BM", "TS-BS", "TS-GL", "TS-GM", "TS-GS"]
    expected += ["TWIN", "LAMP-G"]  # the same title as the T-shirt, a later id
    if order == "-2":
        expected.reverse()
    listed = []
    for page in range(1, (len(expected) + per_page - 1) // per_page + 1):
        response = admin_client.get(PRODUCTS, UNITS | {"o": order, "p": page})
        listed += [row.sku for row in response.context["cl"].result_list]
    assert listed == expected
    marker = "sorted descending" if order == "-2" else "sorted ascending"
    assert f'<th scope="col" class="sortable column-unit_title {marker}">' in response.content.decode()
    Product.objects.filter(sku__in=["MUG-B", "TS-GM"]).update(inventory=0)
    out = admin_client.get(PRODUCTS, UNITS | {"o": order, "inventory_status": "out"}).context["cl"].result_list
    assert [row.sku for row in out] == [sku for sku in expected if sku in {"MUG-B", "TS-GM"}]


def test_the_whole_units_view_by_title_is_walked_product_by_product_not_sorted(admin_client, mixed_units, monkeypatch):
    """Sorting every unit by its product's title joins each variant to its product and sorts them
    all (0.5 s at 1M sellable units); the whole view walks the products' title index instead (the
    page's rows, read by their ids, are then put in that order)."""
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 5)  # pages: read by ids

    def sorted_by_product_title(params) -> bool:
        with CaptureQueriesContext(connection) as queries:
            admin_client.get(PRODUCTS, UNITS | params)
        final_orders = [q["sql"].split("ORDER BY")[-1] for q in queries if "ORDER BY" in q["sql"]]
        return any("COALESCE" in order and "LIMIT" in order for order in final_orders)  # a page's ids

    assert not sorted_by_product_title({"o": "2"})
    assert not sorted_by_product_title({"o": "-2", "p": "1"})
    # A filtered view of fewer matches than a walk's chunk of products: its rows sorted (a walk of
    # a filtered view: store/tests/variants/test_units_title_walk.py).
    assert sorted_by_product_title({"o": "2", "inventory_status": "ok"})
