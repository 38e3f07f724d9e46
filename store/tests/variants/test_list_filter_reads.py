"""The product list's promotion, "last updated" and sellable-units collection filters, and the
sellable-units view's search, read at 1M sellable units (issue 21): the same rows in the same
order as their rule, page after page, whichever plan reads them, and their capped counts read
without the product rows where another table says how many (a promotion's through rows, a
collection's products and their variants)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from store import selectors
from store.admin.paginators import CappedCountPaginator
from store.models import Product
from store.search import selectors as search_selectors
from store.search.selectors import search_words
from store.tests.admin_helpers import action_data
from store.tests.admin_queries import changelist_query_count
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory
from store.tests.variants.conftest import listed, make_parent, make_variant

pytestmark = pytest.mark.django_db
PRODUCTS = "/admin/store/product/"
PER_PAGE = 3


@pytest.fixture
def catalog():
    """16 products, half with variants (SKUs not in title or id order), over two collections, in
    two promotions (some in both), updated over 16 days; "Bottle" in every 3rd title."""
    collections = CollectionFactory.create_batch(2)
    promotions = PromotionFactory.create_batch(2)
    now = timezone.now()
    for number in range(16):
        title = f"{'Bottle' if number % 3 == 0 else 'Cup'} {15 - number:02}"  # title order is not id order
        sku = f"K{(number * 7) % 16:02}"  # nor is SKU order
        fields = {"title": title, "collection": collections[(number // 2) % 2]}
        if number % 2:
            product = ProductFactory(sku=sku, **fields)
        else:
            product = make_parent(sku=sku, **fields)
            for size in ("S", "M", "L")[: 1 + number % 3]:
                make_variant(product, "Blue" if number % 4 else "Red", size)
        if number % 2 == 0:
            product.promotions.add(promotions[0])
        if number % 3 == 0:
            product.promotions.add(promotions[1])
        # Every row of the product (its variants too) last updated `number` days ago.
        Product.objects.filter(pk=product.pk).update(last_update=now - timedelta(days=number))
        Product.objects.filter(parent=product).update(last_update=now - timedelta(days=number))
    return collections, promotions


def by_title(products) -> list[int]:
    return [product.pk for product in sorted(products, key=lambda product: (product.title, product.pk))]


def by_sku(units) -> list[int]:
    return [unit.pk for unit in sorted(units, key=lambda unit: unit.sku)]


def queries_of(client, params) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PRODUCTS, params)
    assert response.status_code == 200
    return response.context["cl"], [unquoted(q["sql"]) for q in queries]


def unquoted(sql: str) -> str:
    return sql.replace('"', "").replace("`", "")


def product_count_query(sqls: list[str]) -> str:
    (count,) = [sql for sql in sqls if sql.startswith("SELECT COUNT(") and "LIMIT 10001" in sql]
    return count


# --- Promotions ---------------------------------------------------------------------------------
@pytest.fixture(params=["as a set", "walked"])
def promotion_plan(request, monkeypatch):
    """A promotion's products read from its rows (few), or by walking the list's order (many)."""
    monkeypatch.setattr(selectors, "PROMOTION_WALK_FROM", 1 if request.param == "walked" else 10_000)
    return request.param


def test_a_promotions_products_are_listed_once_in_title_order(admin_client, monkeypatch, catalog, promotion_plan):
    _collections, promotions = catalog
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    products = list(Product.objects.filter(parent=None).prefetch_related("promotions"))
    for chosen in ([promotions[0]], [promotions[1]], promotions):
        ids = {promotion.pk for promotion in chosen}
        expected = by_title(p for p in products if ids & {promotion.pk for promotion in p.promotions.all()})
        params = {"promotions__id__exact": [str(pk) for pk in ids]}
        assert listed(admin_client, params) == expected, chosen
        cl, sqls = queries_of(admin_client, params)
        assert cl.result_count == len(expected)  # a product in both promotions: once
    # An id past the column's range lists nothing, as Django's filter (no error); junk is a bad lookup.
    assert listed(admin_client, {"promotions__id__exact": "9" * 30}) == []
    assert admin_client.get(PRODUCTS, {"promotions__id__exact": "x"}).url.endswith("?e=1")
    # Django's "(None)" choice (a join) as before: the products in no promotion.
    expected = by_title(p for p in products if not p.promotions.all())
    assert listed(admin_client, {"promotions__isnull": "True"}) == expected


def test_a_promotion_joins_nothing_and_counts_its_through_rows(admin_client, monkeypatch, catalog, promotion_plan):
    _collections, promotions = catalog
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    cl, sqls = queries_of(admin_client, {"promotions__id__exact": str(promotions[0].pk)})
    assert cl.result_count == 8
    count = product_count_query(sqls)
    # Its rows in the through table, no product row read.
    assert re.search(r"FROM store_product_promotions WHERE", count), count
    assert not re.search(r"store_product\b", count.replace("store_product_promotions", "")), count
    (page_ids,) = [sql for sql in sqls if "ORDER BY" in sql and f"LIMIT {PER_PAGE}" in sql]
    assert "JOIN" not in page_ids
    assert "DISTINCT" not in page_ids
    walked = promotion_plan == "walked"
    assert ("IS NOT NULL" in page_ids) == walked, page_ids
    assert ("EXISTS(" in page_ids) != walked, page_ids
    # A later page would walk further before it starts: the promotion's rows, sorted.
    _cl, sqls = queries_of(admin_client, {"promotions__id__exact": str(promotions[0].pk), "p": "2"})
    (page_ids,) = [sql for sql in sqls if "ORDER BY" in sql and f"LIMIT {PER_PAGE} OFFSET {PER_PAGE}" in sql]
    assert "EXISTS(" in page_ids, page_ids
    # With another filter the rows are counted as any filter's, the same products.
    cl, sqls = queries_of(admin_client, {"promotions__id__exact": str(promotions[0].pk), "status__exact": "active"})
    assert "store_product_promotions" in product_count_query(sqls)
    assert cl.result_count == 8


def test_an_action_across_every_page_of_a_promotion_acts_on_its_products(
    admin_client, monkeypatch, catalog, promotion_plan
):
    _collections, promotions = catalog
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    url = f"{PRODUCTS}?promotions__id__exact={promotions[1].pk}"
    products = list(promotions[1].products.all())
    response = admin_client.post(
        url, action_data(admin_client.get(url), "unpublish", [products[0].pk], select_across="1")
    )
    assert response.status_code == 302
    drafts = set(Product.objects.filter(status=Product.Status.DRAFT).values_list("pk", flat=True))
    assert drafts == {product.pk for product in products}


def test_a_promotions_count_stops_at_the_cap(admin_client, monkeypatch, catalog):
    _collections, promotions = catalog
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)
    paginator = admin_client.get(PRODUCTS, {"promotions__id__exact": str(promotions[0].pk)}).context["cl"].paginator
    assert (paginator.count, paginator.count_is_capped) == (3, True)


#: Each view's queries at 100 rows: session, user, the page's other apps' reads, the count(s), the
#: page's ids, its rows and their collections (a promotion: one index-only count says whether to walk;
#: a collection's units: its variants counted, then its products without; a units search: each word's
#: term rows counted, to choose the walk).
BUDGETS = {"promotion": 11, "units collection": 12, "units search": 11}


@pytest.mark.parametrize("view", BUDGETS)
def test_each_view_costs_the_same_queries_at_10_and_100_rows(
    admin_client, monkeypatch, django_assert_max_num_queries, view
):
    collection, promotion = CollectionFactory(), PromotionFactory()
    for number in range(60):
        product = ProductFactory(title=f"Bottle {number}", collection=collection)
        product.promotions.add(promotion)
        parent = make_parent(title=f"Bottle shirt {number}", collection=collection)
        make_variant(parent, "Blue", "S")
        parent.promotions.add(promotion)
    params = {
        "promotion": f"promotions__id__exact={promotion.pk}",
        "units collection": f"rows=units&collection__pk__exact={collection.pk}",
        "units search": "rows=units&q=bottle",
    }[view]
    url = f"{PRODUCTS}?{params}"
    counts = {
        rows: changelist_query_count(admin_client, url, Product, per_page=rows, monkeypatch=monkeypatch)
        for rows in (10, 100)
    }
    assert counts[10] == counts[100]
    with django_assert_max_num_queries(BUDGETS[view]):
        assert admin_client.get(url).status_code == 200


# --- Last updated ---------------------------------------------------------------------------------
def test_the_last_updated_filter_lists_its_products_in_title_order(admin_client, monkeypatch, catalog):
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    since = timezone.now() - timedelta(days=7, hours=12)
    expected = by_title(Product.objects.filter(parent=None, last_update__gte=since))
    assert len(expected) == 8
    assert listed(admin_client, {"last_update__gte": since.isoformat()}) == expected


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="SQLite's plan is the same for a small table; MariaDB's depends on its statistics (the bench)",
)
def test_the_last_updated_filter_counts_products_from_an_index_alone(admin_client, catalog):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    since = timezone.now() - timedelta(days=7)
    _cl, sqls = queries_of(admin_client, {"last_update__gte": since.isoformat()})
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {product_count_query(sqls)}")
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert "USING COVERING INDEX product_parent_update_idx (parent_id=? AND last_update>?)" in plan, plan


@pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="SQLite's plan is the same for a small table; MariaDB's depends on its statistics (the bench)",
)
def test_the_units_not_tracked_filter_counts_from_an_index_alone(admin_client, catalog):
    Product.objects.filter(sku__in=["K07", "K00-RS"]).update(track_inventory=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    params = {"rows": "units", "inventory_status": selectors.STOCK_UNTRACKED}
    assert [Product.objects.get(pk=pk).sku for pk in listed(admin_client, params)] == ["K00-RS", "K07"]
    _cl, sqls = queries_of(admin_client, params)
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {product_count_query(sqls)}")
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert "USING COVERING INDEX product_structure_tracked_idx" in plan, plan  # no product row read


# --- The sellable-units view: a collection ---------------------------------------------------------
def units_of(collection) -> list[Product]:
    units = Product.objects.exclude(structure=Product.Structure.PARENT).select_related("parent")
    return [unit for unit in units if (unit.parent or unit).collection_id == collection.pk]


def test_a_collections_units_are_listed_by_sku_and_counted(admin_client, monkeypatch, catalog):
    collections, _promotions = catalog
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    for collection in collections:
        expected = by_sku(units_of(collection))
        params = {"rows": "units", "collection__pk__exact": str(collection.pk)}
        assert listed(admin_client, params) == expected
        cl, sqls = queries_of(admin_client, params)
        assert cl.result_count == len(expected)
        # The count: the collection's products' variants (a join), then its products without
        # variants; never the OR of the two row by row.
        counts = [sql for sql in sqls if sql.startswith("SELECT COUNT(") and "store_product" in sql]
        assert "INNER JOIN store_product T2" in counts[0], counts
        assert " OR " not in "".join(counts), counts


@pytest.mark.parametrize(("cap", "capped"), [(3, True), (9, True), (100, False)])
def test_a_collections_units_count_stops_at_the_cap(admin_client, monkeypatch, catalog, cap, capped):
    """Collection 0 holds 4 products with variants (7 variants) and 4 without: the cap falls in
    the variants, in the products without variants, or after both."""
    collections, _promotions = catalog
    monkeypatch.setattr(CappedCountPaginator, "cap", cap)
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)
    params = {"rows": "units", "collection__pk__exact": str(collections[0].pk)}
    paginator = admin_client.get(PRODUCTS, params).context["cl"].paginator
    assert len(units_of(collections[0])) == 11
    assert (paginator.count, paginator.count_is_capped) == ((cap, True) if capped else (11, False))


# --- The sellable-units view: search --------------------------------------------------------------
@pytest.mark.parametrize("common_from", [search_selectors.DRIVER_ROWS, 1], ids=["set", "walked"])
def test_the_units_search_lists_units_by_sku_read_as_a_set_or_walked(admin_client, monkeypatch, catalog, common_from):
    monkeypatch.setattr(search_selectors, "DRIVER_ROWS", common_from)
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    for term in ("bottle", "bottle s", "blue", "cup m", "k0"):
        expected = [
            unit.pk
            for unit in selectors.product_search_sellable_units(term=term).order_by("sku")
            if set(search_words(term))  # (the rule itself is tested in test_variant_selectors)
        ]
        assert expected, term
        assert listed(admin_client, {"rows": "units", "q": term}) == expected, term
        _cl, sqls = queries_of(admin_client, {"rows": "units", "q": term})
        pages = [sql for sql in sqls if "ORDER BY store_product.sku" in sql]
        assert pages, term
        walked = common_from == 1  # each unit tested in SKU order, or the word's units read as one set
        assert all(("UNION" not in sql) == walked for sql in pages), term
        # Counted with the same rule (walked: each word's tests as EXISTS, not per unit)
        assert _cl.result_count == len(expected), term
        counts = [sql for sql in sqls if sql.startswith("SELECT COUNT(") and "FROM store_product " in sql]
        assert counts, term
        if walked:
            assert all("IS NOT NULL" not in sql for sql in counts), term


@pytest.mark.parametrize("common_from", [search_selectors.DRIVER_ROWS, 1], ids=["set", "walked"])
def test_the_units_search_counts_up_to_the_search_cap(admin_client, monkeypatch, catalog, common_from):
    monkeypatch.setattr(search_selectors, "DRIVER_ROWS", common_from)
    monkeypatch.setattr(CappedCountPaginator, "search_cap", 2)
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", 2)
    response = admin_client.get(PRODUCTS, {"rows": "units", "q": "blue"})
    paginator = response.context["cl"].paginator
    assert (paginator.count, paginator.count_is_capped) == (2, True)
    # The products view's search, as before; the units view without a search counts to the cap.
    assert admin_client.get(PRODUCTS, {"q": "cup"}).context["cl"].paginator.count_is_capped
    unsearched = admin_client.get(PRODUCTS, {"rows": "units"}).context["cl"].paginator
    assert not unsearched.count_is_capped
    assert unsearched.count > 2
