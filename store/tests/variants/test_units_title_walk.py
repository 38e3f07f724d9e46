"""The sellable-units view in title order, filtered or searched (issue 21): its pages are walked,
the products in title order and each unit tested against the filter, not sorted; every page
holds exactly the rows, in exactly the order, that sorting the matches gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from store import selectors
from store.admin import paginators
from store.admin.paginators import CappedCountPaginator
from store.models import Product, ProductSearchTerm
from store.search import selectors as search_selectors
from store.search.selectors import search_units_capped_count, search_units_products, search_units_terms
from store.tests.factories import CollectionFactory, ProductFactory
from store.tests.variants.conftest import make_parent, make_variant
from store.variants import selectors as variant_selectors
from store.variants.selectors import WalkedProducts, units_by_title_ids_of, units_in_title_order

pytestmark = pytest.mark.django_db
PRODUCTS = "/admin/store/product/"
UNITS = {"rows": "units"}
PER_PAGE = 3
#: the walk's chunk in these tests: a few products, so that a page takes several chunks
CHUNK = 3


@pytest.fixture
def units_catalog(settings):
    """30 products over two collections, titles out of id order (some the same, in both cases),
    two thirds with variants (1 to 3, in every stock status, one product with none left), the
    others without, in every stock status; a third updated a month ago; "Lamp" in a third of
    the titles, "Blue" an option value of some variants."""
    settings.LOW_STOCK_THRESHOLD = 10
    collections = CollectionFactory.create_batch(2)
    stocks = ((50, True), (3, True), (0, True), (7, False))
    titles = ["Anchor", "anchor", "Brass Lamp", "Cedar", "Desk Lamp", "Elm", "Fig Lamp", "Glass", "Hook", "Iris"]
    for number in range(30):
        title = titles[(number * 7) % len(titles)]
        if number % 4 == 0:
            title = "Anchor"  # the same title: by id, then
        fields = {"title": f"{title} {number % 3}", "collection": collections[number % 2]}
        if number % 3 == 0:
            inventory, tracked = stocks[number % 4]
            ProductFactory(sku=f"U{number:02}", inventory=inventory, track_inventory=tracked, **fields)
            continue
        product = make_parent(sku=f"U{number:02}", **fields)
        sizes = ("S", "M", "L")[: 0 if number == 10 else 1 + number % 3]
        for index, size in enumerate(sizes):
            inventory, tracked = stocks[(number + index) % 4]
            colour = "Blue" if (number + index) % 2 else "Green"
            make_variant(product, colour, size, inventory=inventory, track_inventory=tracked)
    month_ago = timezone.now() - timedelta(days=30)
    Product.objects.filter(pk__in=[pk for pk in Product.objects.values_list("pk", flat=True) if pk % 3 == 0]).update(
        last_update=month_ago
    )
    return collections


def views(collections) -> list[dict[str, str]]:
    """Every filter of the units view (and a search) that the title header combines with."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        *({"inventory_status": status} for status in selectors.STOCK_STATUS_LABELS),
        {"collection__pk__exact": str(collections[0].pk)},
        {"collection__pk__exact": str(collections[1].pk), "inventory_status": selectors.STOCK_OK},
        {"collection__pk__exact": str(collections[0].pk), "inventory_status": selectors.STOCK_LOW},
        {"collection__pk__exact": str(collections[1].pk), "inventory_status": selectors.STOCK_OUT},
        {"last_update__gte": str(today - timedelta(days=7)), "last_update__lt": str(today + timedelta(days=1))},
        {"q": "lamp"},
        {"q": "blue"},
        {"q": "b"},  # a product found by two of its terms ("brass", "blue"): walked once
        {"q": "anchor"},  # products of the same title: by id
        {"q": "l"},  # a word that starts a few terms: their rows walked together
        {"q": "blue l"},  # two words: the rarer's products walked, each unit tested for both
        {"q": "lamp", "inventory_status": selectors.STOCK_OUT},
        {"q": "anchor", "collection__pk__exact": str(collections[0].pk)},
    ]


def pages(client, params: dict[str, str]) -> list[list[int]]:
    """The ids of each page of the units view with ``params``."""
    found = []
    for page in range(1, 100):
        response = client.get(PRODUCTS, UNITS | params | {"p": str(page)})
        assert response.status_code == 200
        cl = response.context["cl"]
        found.append([unit.pk for unit in cl.result_list])
        if page >= cl.paginator.num_pages:
            return found
    raise AssertionError("too many pages")


class Walks(list):
    """Whether each walk of a page returned it (True) or gave up (False); ``budget``: each walk's
    budget (products) when set, instead of the paginator's."""

    budget: int | None = None


@pytest.fixture
def walks(monkeypatch) -> Walks:
    """Small chunks (and a search's window), any count walked, every walk recorded."""
    monkeypatch.setattr(variant_selectors, "UNITS_WALK_CHUNK", CHUNK)
    monkeypatch.setattr(variant_selectors, "FOUND_WINDOW", 2)
    monkeypatch.setattr(paginators, "UNITS_WALK_CHUNK", 1)
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    walked = Walks()
    walk = variant_selectors.units_by_title_ids_of

    def recorded(**kwargs):
        ids = walk(**kwargs | ({"budget": walked.budget} if walked.budget else {}))
        walked.append(ids is not None)
        return ids

    monkeypatch.setattr(paginators, "units_by_title_ids_of", recorded)
    return walked


@pytest.mark.parametrize("order", ["2", "-2"])
def test_every_filtered_page_by_title_is_walked_and_equals_the_sort(admin_client, units_catalog, walks, order):
    walks.budget = 1_000  # every product: every page walked
    for params in views(units_catalog):
        params = params | {"o": order}
        walks.clear()
        got = pages(admin_client, params)
        assert walks, params
        assert all(walks), params  # every page walked
        # The same view sorted: its rows by the ORDER BY of the title order.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(CappedCountPaginator, "_units_walked_ids", lambda self, **kwargs: None)
            sorted_pages = pages(admin_client, params)
        assert got == sorted_pages, params
        assert any(got), params  # the catalog fills each view


def test_the_walk_and_the_sort_agree_on_every_slice(units_catalog, monkeypatch):
    """Any start and stop, across chunk boundaries, both directions, with the collection's own walk."""
    monkeypatch.setattr(variant_selectors, "UNITS_WALK_CHUNK", CHUNK)
    collection = units_catalog[0]
    units = selectors.product_list_sellable_units()
    filtered = {
        "ok": (selectors.product_list_by_stock_status(status=selectors.STOCK_OK, queryset=units), None),
        "collection": (
            selectors.product_list_units_in_collection(collection_id=collection.pk, queryset=units),
            WalkedProducts(collection_id=collection.pk),
        ),
    }
    for status in selectors.STOCK_STATUS_LABELS:  # a collection and a stock filter, as the paginator walks it
        in_collection = selectors.product_list_units_in_collection(
            collection_id=collection.pk,
            queryset=selectors.product_list_by_stock_status(status=status, queryset=units),
        )
        filtered[f"collection {status}"] = (in_collection, WalkedProducts(collection_id=collection.pk))
    for name, (queryset, products) in filtered.items():
        walked = selectors.product_list_without_units_collection(queryset=queryset) if products else queryset
        for descending in (False, True):
            everything = list(
                units_in_title_order(queryset=queryset, descending=descending).values_list("pk", flat=True)
            )
            assert everything, name
            assert len(everything) > 2 * CHUNK or name.startswith("collection "), name
            for start, stop in ((0, 1), (0, 5), (2, 9), (5, 6), (len(everything) - 2, len(everything) + 3)):
                ids = units_by_title_ids_of(
                    units=walked, start=start, stop=stop, budget=1_000, descending=descending, products=products
                )
                assert ids == everything[start:stop], (name, descending, start, stop)


def test_a_walk_past_its_budget_gives_up_and_the_page_is_sorted(admin_client, units_catalog, walks):
    """A walk that would read more products than its budget gives up (past a quarter of it, from
    the rate of matches so far): its matches are sorted instead, the page the same."""
    units = selectors.product_list_sellable_units()
    low = list(selectors.product_list_by_stock_status(status=selectors.STOCK_LOW, queryset=units))
    total = Product.objects.filter(parent=None).count()
    assert units_by_title_ids_of(units=units.filter(pk__in=[u.pk for u in low]), start=0, stop=len(low), budget=total)
    # The last match needs (about) every product: a budget of a third of them gives up.
    last = {"start": len(low) - 1, "stop": len(low)}
    assert units_by_title_ids_of(units=units.filter(pk__in=[u.pk for u in low]), budget=total // 3, **last) is None
    params = UNITS | {"o": "2", "inventory_status": "low", "p": "3"}
    walks.budget = total
    walked = admin_client.get(PRODUCTS, params).context["cl"].result_list
    walks.budget = CHUNK
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(PRODUCTS, params)
    assert walks == [True, False]
    assert [unit.pk for unit in response.context["cl"].result_list] == [unit.pk for unit in walked]
    page_ids = [q["sql"] for q in queries if "COALESCE" in q["sql"].split("ORDER BY")[-1] and "LIMIT" in q["sql"]]
    assert page_ids  # sorted: the page's ids by the title order's ORDER BY


def test_a_filter_of_few_matches_is_sorted_without_a_walk(admin_client, units_catalog, monkeypatch):
    """Fewer matches than a chunk of products: sorting them reads less than any walk."""
    monkeypatch.setattr(admin.site.get_model_admin(Product), "list_per_page", PER_PAGE)
    walked = []
    monkeypatch.setattr(paginators, "units_by_title_ids_of", lambda **kwargs: walked.append(kwargs))
    response = admin_client.get(PRODUCTS, UNITS | {"o": "2", "inventory_status": "low"})
    assert response.context["cl"].result_count < paginators.UNITS_WALK_CHUNK
    assert len(response.context["cl"].result_list) == PER_PAGE
    assert walked == []


def test_the_whole_view_walk_leaves_out_a_product_whose_variants_are_gone(admin_client, units_catalog, walks):
    """No filter: every unit, a product with variants never on a row, even with none left."""
    emptied = Product.objects.get(sku="U10")
    assert emptied.is_parent
    assert not emptied.variants.exists()
    everything = [pk for page in pages(admin_client, {"o": "2"}) for pk in page]
    expected = units_in_title_order(queryset=selectors.product_list_sellable_units())
    assert everything == list(expected.values_list("pk", flat=True))
    assert emptied.pk not in everything
    assert walks == []  # the whole view: the walk of every unit (units_by_title_ids)


def test_the_capped_count_of_a_walked_view_is_the_filters(admin_client, units_catalog, walks, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    response = admin_client.get(PRODUCTS, UNITS | {"o": "2", "inventory_status": "ok"})
    cl = response.context["cl"]
    assert cl.paginator.count_is_capped
    assert cl.result_count == 5
    exact = selectors.product_list_by_stock_status(status=selectors.STOCK_OK, queryset=Product.objects.all()).count()
    monkeypatch.setattr(CappedCountPaginator, "cap", 10_000)
    walks.budget = 1_000
    response = admin_client.get(PRODUCTS, UNITS | {"o": "-2", "inventory_status": "ok", "p": "2"})
    assert response.context["cl"].result_count == exact
    assert walks == [True, True]


def test_the_count_of_a_collection_and_another_filter_is_exact(admin_client, units_catalog):
    """The collection's units tested for the other filter (``_units_in_collection_count``): its
    variants, then its products without variants, stated as products (``parent`` NULL, for the
    filter's ``(parent, …)`` index). Every cap, below, within and above each half, counts what
    the plain queryset holds, up to the cap; in a collection of products without variants only,
    and in one of a product with variants only, too."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    alone, with_variants = CollectionFactory.create_batch(2)
    for number, (inventory, tracked) in enumerate(((50, True), (3, True), (4, True), (0, True), (7, False))):
        ProductFactory(sku=f"A{number}", inventory=inventory, track_inventory=tracked, collection=alone)
    shirt = make_parent(sku="W1", title="Shirt", collection=with_variants)
    for size, inventory in (("S", 3), ("M", 0), ("L", 50), ("XL", 2)):
        make_variant(shirt, "Red", size, inventory=inventory, track_inventory=True)
    for collection in (*units_catalog, alone, with_variants):
        for other in (
            *({"inventory_status": status} for status in selectors.STOCK_STATUS_LABELS),
            {"last_update__gte": str(today - timedelta(days=7)), "last_update__lt": str(today + timedelta(days=1))},
        ):
            params = UNITS | other | {"collection__pk__exact": str(collection.pk), "o": "2"}
            with CaptureQueriesContext(connection) as queries:
                cl = admin_client.get(PRODUCTS, params).context["cl"]
            counts = [
                q["sql"].replace("`", "").replace('"', "") for q in queries if q["sql"].startswith("SELECT COUNT(")
            ]
            assert any("INNER JOIN" in sql for sql in counts), params  # the variants of its products
            exact = cl.queryset.count()
            assert cl.result_count == exact, params
            variants = cl.queryset.filter(parent__isnull=False).count()
            if variants <= CappedCountPaginator.cap:  # the products without variants counted too
                assert any("store_product.parent_id IS NULL" in sql for sql in counts), params
            for cap in range(1, exact + 3):
                assert selectors.product_list_capped_count(queryset=cl.queryset, cap=cap) == min(cap, exact), (
                    params,
                    cap,
                )


def test_a_product_saved_into_a_chunk_after_it_was_read_is_not_walked(units_catalog):
    """A chunk's variants are read by its range of titles: a product with variants that entered
    the range after the chunk's products were read is left out of that chunk, not an error."""
    walk = variant_selectors._UnitsWalk(descending=False)
    products = list(Product.objects.filter(parent=None).order_by("title", "pk").values_list("title", "pk")[:6])
    late = make_parent(title="0 Early", sku="LATE")  # digits sort first: within the chunk's range
    variant = make_variant(late, "Red", "S")
    assert Product.objects.filter(walk._span(after=None, last=products[-1]), pk=late.pk).exists()
    units = walk._chunk_units(products=[pk for _title, pk in products], after=None, last=products[-1])
    assert units
    assert variant.pk not in units


@pytest.fixture
def read_terms(monkeypatch) -> list[tuple[str, ...]]:
    """The terms of every read of a search's products from the term index (``_read_terms``)."""
    calls: list[tuple[str, ...]] = []
    read = variant_selectors._UnitsWalk._read_terms

    def recorded(self, terms, **kwargs):
        calls.append(terms)
        return read(self, terms, **kwargs)

    monkeypatch.setattr(variant_selectors._UnitsWalk, "_read_terms", recorded)
    return calls


@pytest.mark.parametrize("order", ["2", "-2"])
def test_a_search_walks_its_words_term_rows_in_title_order(admin_client, units_catalog, walks, read_terms, order):
    """A search's products come from its word's own term rows in title order (the ``(term, title,
    product)`` index): one term, several (``l``: the size and ``lamp``, whose rows interleave),
    an option value (a variant's own rows of it never stand for a product), a filter beside it."""
    walks.budget = 1_000
    for params, terms in (
        ({"q": "lamp"}, ("lamp",)),
        ({"q": "l"}, ("l", "lamp")),  # a size (its variants' products) and a word of titles
        ({"q": "bl"}, ("bl", "blue")),  # a SKU segment and an option value: the same products
        ({"q": "blue"}, ("blue",)),
        ({"q": "anchor", "inventory_status": selectors.STOCK_OK}, ("anchor",)),
    ):
        params = params | {"o": order}
        read_terms.clear()
        got = pages(admin_client, params)
        assert set(read_terms) == {terms}, params
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(CappedCountPaginator, "_units_walked_ids", lambda self, **kwargs: None)
            assert got == pages(admin_client, params), params
    assert ProductSearchTerm.objects.filter(term="blue", is_variant=True).exists()
    read_terms.clear()
    pages(admin_client, {"q": "b", "o": order})  # more terms than a few: the products' own walk
    pages(admin_client, {"q": "lamp", "collection__pk__exact": str(units_catalog[0].pk), "o": order})
    assert read_terms == []


@pytest.mark.parametrize("rows_per_product", [1, 1_000])
@pytest.mark.parametrize("word", ["lamp", "l", "bl", "blue", "anchor", "zzz"])
def test_the_walk_of_a_searchs_term_rows_agrees_with_the_sort_on_every_slice(
    units_catalog, monkeypatch, word, rows_per_product
):
    """Any start and stop, chunks of one to three products (a chunk of several terms ends at the
    first of their last rows), both directions; a chunk whose term rows are mostly variants' (a
    term row looked at per product: any variant's row among them) read from the products."""
    monkeypatch.setattr(variant_selectors, "TERM_ROWS_PER_PRODUCT", rows_per_product)
    from_products: list[int] = []
    read = variant_selectors._UnitsWalk._read
    monkeypatch.setattr(
        variant_selectors._UnitsWalk, "_read", lambda self, *a, **kw: from_products.append(1) or read(self, *a, **kw)
    )
    units = selectors.product_search_sellable_units(term=word, walk_common=True)
    products = WalkedProducts(found=search_units_products(queryset=units), terms=search_units_terms(queryset=units))
    assert products.terms is not None
    for chunk in (1, 2, 3):
        monkeypatch.setattr(variant_selectors, "UNITS_WALK_CHUNK", chunk)
        for descending in (False, True):
            everything = list(units_in_title_order(queryset=units, descending=descending).values_list("pk", flat=True))
            assert bool(everything) == (word != "zzz")
            for start, stop in (
                (0, 1),
                (0, 5),
                (2, 9),
                (0, len(everything) + 1),
                (len(everything) - 1, len(everything)),
            ):
                ids = units_by_title_ids_of(
                    units=units, start=start, stop=stop, budget=1_000, descending=descending, products=products
                )
                assert ids == everything[max(start, 0) : stop], (chunk, descending, start, stop)
    # The variants' own rows of an option value ("Blue / S") send a chunk to the products.
    assert bool(from_products) == (word in ("blue", "bl", "l") and rows_per_product == 1)


@pytest.mark.parametrize("rows_per_unit", [1, 1_000])
@pytest.mark.parametrize("word", ["anchor", "lamp", "blue", "l", "zebra"])
def test_a_one_word_units_search_counts_to_the_cap_from_the_products_it_finds(
    units_catalog, monkeypatch, word, rows_per_unit
):
    """Its count stops at the cap when as many products that have a unit are found by their own
    terms (each has a unit the word finds, no two the same); a product with variants but none
    left is no unit ("zebra": two products, one unit). Below that, or when the term rows looked
    at (``rows_per_unit`` per unit) hold fewer, the units are counted."""
    monkeypatch.setattr(search_selectors, "DRIVER_ROWS", 1)  # every word walked: the count of search_units_capped_count
    monkeypatch.setattr(search_selectors, "COUNT_ROWS_PER_UNIT", rows_per_unit)
    ProductFactory(title="Zebra", sku="Z1")
    make_parent(title="Zebra", sku="Z2")
    units = selectors.product_search_sellable_units(term=word, walk_common=True)
    exact = units.count()
    found = ProductSearchTerm.objects.filter(term__startswith=word, is_variant=False).values("product_id")
    with_a_unit = (
        Product.objects.filter(pk__in=found)
        .filter(~Q(structure=Product.Structure.PARENT) | Q(variants__isnull=False))
        .distinct()
        .count()
    )
    assert 0 < with_a_unit <= exact
    for cap in range(1, exact + 3):
        with CaptureQueriesContext(connection) as queries:
            assert search_units_capped_count(queryset=units, cap=cap) == min(cap, exact), cap
        plain = [q["sql"].replace("`", "").replace('"', "") for q in queries]
        units_counted = any(sql.startswith("SELECT COUNT(*) FROM (SELECT store_product.id") for sql in plain)
        if cap > with_a_unit:
            assert units_counted, cap
        elif rows_per_unit > 1:  # every term row looked at
            assert not units_counted, cap


def test_a_filtered_units_search_counts_its_units(admin_client, units_catalog, monkeypatch):
    """Another filter beside the search: the products a word finds say nothing of it."""
    monkeypatch.setattr(search_selectors, "DRIVER_ROWS", 1)
    params = UNITS | {"q": "anchor", "inventory_status": selectors.STOCK_OUT}
    exact = admin_client.get(PRODUCTS, params).context["cl"].result_count
    assert exact < ProductSearchTerm.objects.filter(term="anchor", is_variant=False).count()
    monkeypatch.setattr(CappedCountPaginator, "search_cap", exact)
    cl = admin_client.get(PRODUCTS, params).context["cl"]
    assert (cl.result_count, cl.paginator.count_is_capped) == (exact, False)
    assert exact == cl.queryset.count()


def test_the_count_looks_at_the_other_end_of_a_words_rows_past_its_variants_own(db, monkeypatch):
    """The variants' own rows of an option value come together under their title ("Aqua / S"),
    here before their product's ("Zebra Tee"): the first rows hold no product, the last do."""
    monkeypatch.setattr(search_selectors, "DRIVER_ROWS", 1)
    monkeypatch.setattr(search_selectors, "COUNT_ROWS_PER_UNIT", 1)
    tee = make_parent(title="Zebra Tee", sku="ZT")
    for size in ("S", "M", "L"):
        make_variant(tee, "Aqua", size)
    units = selectors.product_search_sellable_units(term="aqua", walk_common=True)
    first = ProductSearchTerm.objects.filter(term="aqua").order_by("title", "product_id").first()
    assert first is not None
    assert first.is_variant
    with CaptureQueriesContext(connection) as queries:
        assert search_units_capped_count(queryset=units, cap=1) == 1
    plain = [q["sql"].replace("`", "").replace('"', "") for q in queries]
    assert not any(sql.startswith("SELECT COUNT(*) FROM (SELECT store_product.id") for sql in plain)
    assert search_units_capped_count(queryset=units, cap=4) == 3
