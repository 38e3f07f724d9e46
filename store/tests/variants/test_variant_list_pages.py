"""The product list's page at scale (issue 21): the page's ids are read first, by the narrowest
plan, and the row columns of the page (first image, variants' count, price range and stock,
subqueries) for those ids only; every filter lists the same products, in the same order, as
before (a mixed catalog: products with and without variants, tracked or not)."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store import selectors
from store.admin.paginators import CappedCountPaginator
from store.models import Product
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory
from store.tests.variants.conftest import listed, make_parent, make_variant

pytestmark = pytest.mark.django_db
PRODUCTS = "/admin/store/product/"
PER_PAGE = 4


@pytest.fixture
def mixed_catalog(settings):
    """24 products, half with variants, over two collections, every 3rd in a promotion, in every
    stock status (their own or their variants'), a draft in 5, and a product with no variant left."""
    settings.LOW_STOCK_THRESHOLD = 10
    collections = CollectionFactory.create_batch(2)
    promotion = PromotionFactory()
    # A variant's stock: OK, low, out, not tracked.
    stocks = ((50, True), (3, True), (0, True), (7, False))
    for number in range(24):
        fields = {
            "title": f"Item {23 - number:02}",  # title order is not id order
            "collection": collections[number % 2],
            "status": Product.Status.DRAFT if number % 5 == 0 else Product.Status.ACTIVE,
        }
        if number % 2:
            inventory, tracked = stocks[number % 4]
            product = ProductFactory(sku=f"P{number}", inventory=inventory, track_inventory=tracked, **fields)
        else:
            product = make_parent(sku=f"P{number}", **fields)
            # Variants whose stock statuses vary with the product (none when number is 12).
            for index, size in enumerate(("S", "M", "L")[: 0 if number == 12 else 1 + number % 3]):
                inventory, tracked = stocks[(number // 2 + index) % 4]
                make_variant(product, "Green", size, inventory=inventory, track_inventory=tracked)
        if number % 3 == 0:
            product.promotions.add(promotion)
    return collections, promotion


def expected_products(params: dict[str, str]) -> list[int]:
    """The products a filter lists, by its rule applied in Python, in the list's order (title, id)."""
    products = Product.objects.filter(parent=None).prefetch_related("variants", "promotions")
    kept = []
    for product in products:
        variants = list(product.variants.all())
        if "inventory_status" in params:
            tracked = [variant.inventory for variant in variants if variant.track_inventory]
            if product.is_parent:
                status = selectors.product_stock_status(inventory=min(tracked or [0]), tracked=bool(tracked))
            else:
                status = selectors.product_stock_status(inventory=product.inventory, tracked=product.track_inventory)
            if status != params["inventory_status"]:
                continue
        if "collection__pk__exact" in params and str(product.collection_id) != params["collection__pk__exact"]:
            continue
        if "promotions__id__exact" in params and not any(
            str(promotion.pk) == params["promotions__id__exact"] for promotion in product.promotions.all()
        ):
            continue
        if "status__exact" in params and product.status != params["status__exact"]:
            continue
        kept.append(product)
    return [product.pk for product in sorted(kept, key=lambda product: (product.title, product.pk))]


def filters(collections, promotion) -> list[dict[str, str]]:
    return [
        {},
        *({"inventory_status": status} for status in selectors.STOCK_STATUS_LABELS),
        {"collection__pk__exact": str(collections[0].pk)},
        {"collection__pk__exact": str(collections[1].pk), "inventory_status": selectors.STOCK_LOW},
        {"promotions__id__exact": str(promotion.pk)},
        {"status__exact": Product.Status.DRAFT},
        {"o": "-5"},
    ]


def test_every_filter_lists_its_products_in_order_page_after_page(admin_client, monkeypatch, mixed_catalog):
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    for params in filters(*mixed_catalog):
        got = listed(admin_client, params)
        if params.get("o") == "-5":  # by price, highest first, ties by id
            products = Product.objects.filter(parent=None).order_by("-unit_price", "-pk")
            assert got == list(products.values_list("pk", flat=True)), params
            continue
        assert got == expected_products(params), params
        assert got or params.get("inventory_status"), params  # the catalog fills every other filter


def test_the_stock_filters_partition_the_products(admin_client, monkeypatch, mixed_catalog):
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    by_status = {status: listed(admin_client, {"inventory_status": status}) for status in selectors.STOCK_STATUS_LABELS}
    assert all(by_status.values()), by_status  # the catalog has products in each
    everything = [pk for pks in by_status.values() for pk in pks]
    assert sorted(everything) == sorted(Product.objects.filter(parent=None).values_list("pk", flat=True))


def unit_status(unit: Product) -> str:
    if not unit.track_inventory:
        return selectors.STOCK_UNTRACKED
    if unit.inventory <= 0:
        return selectors.STOCK_OUT
    return selectors.STOCK_LOW if unit.inventory < 10 else selectors.STOCK_OK


def test_the_units_view_stock_filters_list_each_unit_by_its_own_stock_by_sku(admin_client, monkeypatch, mixed_catalog):
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    units = Product.objects.exclude(structure=Product.Structure.PARENT).order_by("sku")
    for status in selectors.STOCK_STATUS_LABELS:
        expected = [unit.pk for unit in units if unit_status(unit) == status]
        assert expected, status  # the catalog has units in each
        assert listed(admin_client, {"rows": "units", "inventory_status": status}) == expected, status
    # Tracked stock is never a product with variants' (the product_parent_not_stocked CHECK): the
    # count is a range of the stock index, with no condition on the structure to read rows for.
    _, queries = page_queries(admin_client, {"rows": "units", "inventory_status": selectors.STOCK_LOW})
    (count,) = [sql for sql in queries if sql.startswith("SELECT COUNT(") and "store_product" in sql]
    assert "structure" not in count
    _, queries = page_queries(admin_client, {"rows": "units", "inventory_status": selectors.STOCK_UNTRACKED})
    (count,) = [sql for sql in queries if sql.startswith("SELECT COUNT(") and "store_product" in sql]
    assert "structure" in count  # a product with variants is not tracked, and not a sellable unit


def page_queries(client, params: dict[str, str]) -> tuple[list[int], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PRODUCTS, params)
    assert response.status_code == 200
    return [product.pk for product in response.context["cl"].result_list], [q["sql"] for q in queries]


def unquoted(sql: str) -> str:
    return sql.replace('"', "").replace("`", "")


@pytest.mark.parametrize("name", ["default", "collection", "promotion", "low", "draft", "price desc"])
def test_the_page_columns_are_read_for_the_page_ids_only(admin_client, monkeypatch, mixed_catalog, name):
    collections, promotion = mixed_catalog
    params = {
        "default": {},
        "collection": {"collection__pk__exact": str(collections[0].pk)},
        "promotion": {"promotions__id__exact": str(promotion.pk)},
        "low": {"inventory_status": selectors.STOCK_LOW},
        "draft": {"status__exact": Product.Status.DRAFT},
        "price desc": {"o": "-5"},
    }[name]
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)
    admin_client.get(PRODUCTS, params)  # per-process caches
    page, queries = page_queries(admin_client, params)
    assert len(page) == 2
    # The page's columns: the first image's and the variants' subqueries, for the page's ids.
    (rows,) = [sql for sql in queries if "store_productimage" in sql]
    ids = re.search(r"store_product\.id IN \(([\d, ]+)\)", unquoted(rows))
    assert ids, rows
    assert sorted(int(pk) for pk in ids.group(1).split(",")) == sorted(page)
    assert "LIMIT" not in rows.rsplit(")", 1)[-1]  # the outer query is not sliced (its subqueries are)
    # The ids: the filter and the order alone (no subquery of a page column), a page of them.
    (page_ids,) = [sql for sql in queries if "ORDER BY" in sql and "LIMIT 2" in sql and "COUNT(" not in sql]
    assert "store_productimage" not in page_ids
    assert "variant" not in page_ids.split(" FROM ")[0]


def test_a_filter_that_matches_nothing_reads_no_page(admin_client):
    ProductFactory(inventory=50)
    parent = make_parent(title="Tee")
    make_variant(parent, "Green", "S", inventory=40)
    page, queries = page_queries(admin_client, {"inventory_status": selectors.STOCK_UNTRACKED})
    assert page == []
    product_reads = [sql for sql in queries if re.search(r"FROM store_product\b", unquoted(sql))]
    assert len(product_reads) == 1  # the count
    assert product_reads[0].startswith("SELECT COUNT(")


def test_a_product_whose_variants_are_gone_is_not_tracked(admin_client):
    make_parent(title="Empty shell")
    page, _queries = page_queries(admin_client, {"inventory_status": selectors.STOCK_UNTRACKED})
    assert [Product.objects.get(pk=pk).title for pk in page] == ["Empty shell"]


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="SQLite's plan is the same for a small table; MariaDB's depends on its statistics (the bench)",
)
class TestPlans:
    """Which index each part reads (SQLite's plans; bench/changelist.py --explain prints MariaDB's)."""

    @pytest.fixture
    def analysed(self, mixed_catalog):
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return mixed_catalog

    def plan(self, sql: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(str(row[-1]) for row in cursor.fetchall())

    def test_a_collections_page_walks_its_products_by_title(self, admin_client, monkeypatch, analysed):
        collections, _promotion = analysed
        monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)
        _page, queries = page_queries(admin_client, {"collection__pk__exact": str(collections[0].pk)})
        (page_ids,) = [sql for sql in queries if "ORDER BY" in sql and "LIMIT 2" in sql and "COUNT(" not in sql]
        plan = self.plan(page_ids)
        assert "USING COVERING INDEX product_collection_title_idx (collection_id=?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan

    def test_a_products_variant_stock_is_read_from_an_index_alone(self, admin_client, monkeypatch, analysed):
        monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)
        _page, queries = page_queries(admin_client, {"inventory_status": selectors.STOCK_LOW})
        count = next(sql for sql in queries if sql.startswith("SELECT COUNT(") and "inventory" in sql)
        plan = self.plan(count)
        subqueries = [line for line in plan.splitlines() if line.startswith("SEARCH U0")]
        assert subqueries, plan
        assert all("USING COVERING INDEX product_parent_stock_idx (parent_id=?" in line for line in subqueries), plan
        (rows,) = [sql for sql in queries if "store_productimage" in sql]
        assert "USING COVERING INDEX product_parent_stock_idx" in self.plan(rows)


def test_the_stock_filter_of_products_counts_up_to_its_own_cap(admin_client, monkeypatch, mixed_catalog):
    """Each product with variants is tested by a subquery: its count stops earlier than a plain
    filter's (CappedCountPaginator.per_row_filter_cap)."""
    monkeypatch.setattr(CappedCountPaginator, "per_row_filter_cap", 1)
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 1)
    assert len(expected_products({"inventory_status": selectors.STOCK_OK})) == 2
    stock = admin_client.get(PRODUCTS, {"inventory_status": selectors.STOCK_OK})
    paginator = stock.context["cl"].paginator
    assert (paginator.count, paginator.count_is_capped, paginator.num_pages) == (1, True, 1)
    assert "more than 1 product" in stock.content.decode()
    # Neither the other filters nor the sellable-units view's stock filter (each row's own stock).
    for params in ({"status__exact": "active"}, {"rows": "units", "inventory_status": selectors.STOCK_OK}):
        paginator = admin_client.get(PRODUCTS, params).context["cl"].paginator
        assert not paginator.count_is_capped
        assert paginator.count > 1
