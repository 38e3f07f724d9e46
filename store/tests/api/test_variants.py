"""Products with variants in /api/products/: their options, variants, price range and stock; lists,
filters and orderings by product; the sync feed sends a product when a variant of it changes;
nothing of a product that is not active leaves (docs/decisions/0017, docs/guide/api.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from store import selectors, services
from store.api.pagination import SyncCursorPagination
from store.models import Product
from store.tests.api.conftest import drf_datetime, ids, results
from store.tests.factories import CollectionFactory, ProductFactory, product_image
from store.tests.variants.conftest import make_parent, make_variant
from store.variants import selectors as variant_selectors
from store.variants import services as variant_services

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)


def stamp(*products: Product, when: datetime = T0) -> None:
    """Set last_update (auto_now would overwrite it on save)."""
    Product.objects.filter(pk__in=[product.pk for product in products]).update(last_update=when)


@pytest.fixture
def tshirt() -> Product:
    """Green (18.00) and Blue (24.00) × S, M: four variants, 50 each; Blue/S has 30.00 compare-at."""
    parent = make_parent(
        title="Example T-Shirt", sku="TS", slug="example-t-shirt", collection=CollectionFactory(title="Shirts")
    )
    for colour, price in (("Green", Decimal("18.00")), ("Blue", Decimal("24.00"))):
        for size in ("S", "M"):
            make_variant(parent, colour, size, unit_price=price)
    return parent


def variant(parent: Product, title: str) -> Product:
    return Product.objects.get(parent=parent, title=title)


def test_a_product_with_variants_exact_json(api):
    parent = make_parent(
        title="Example T-Shirt",
        sku="TS",
        slug="example-t-shirt",
        description="Soft.",
        unit_price=Decimal("99.00"),  # the parent's own price is not sold
        collection=CollectionFactory(title="Shirts"),
    )
    green = product_image(parent, position=1, alt_text="Green")
    green_s = make_variant(
        parent,
        "Green",
        "S",
        unit_price=Decimal("18.00"),
        compare_at_price=Decimal("25.00"),
        inventory=3,
        barcode="4006381333931",
        variant_image=green,
        cost_per_item=Decimal("7.77"),
    )
    blue_m = make_variant(parent, "Blue", "M", unit_price=Decimal("24.00"), inventory=0, track_inventory=False)
    stamp(parent, green_s, blue_m)

    response = api.get(f"/api/products/{parent.pk}/")

    assert response.status_code == 200
    body = response.json()
    image_url = f"http://testserver{green.image.url}"
    assert body == {
        "id": parent.pk,
        "sku": "TS",
        "title": "Example T-Shirt",
        "slug": "example-t-shirt",
        "description": "Soft.",
        "unit_price": "18.00",
        "price_with_tax": "19.80",
        "in_stock": True,
        "inventory": 3,
        "collection": {"id": parent.collection_id, "title": "Shirts"},
        "vendor": "",
        "barcode": "",
        "compare_at_price": "25.00",
        "weight": None,
        "weight_unit": "kg",
        "seo_title": "",
        "seo_description": "",
        "images": [
            {
                "url": image_url,
                "alt": "Green",
                "width": 64,
                "height": 48,
                "thumbnail_url": f"http://testserver{green.thumbnail.url}",
            }
        ],
        "options": [{"name": "Colour", "values": ["Green", "Blue"]}, {"name": "Size", "values": ["S", "M"]}],
        "variants": [
            {
                "id": green_s.pk,
                "sku": "TS-GS",
                "title": "Green / S",
                "option_values": ["Green", "S"],
                "unit_price": "18.00",
                "price_with_tax": "19.80",
                "compare_at_price": "25.00",
                "in_stock": True,
                "inventory": 3,
                "barcode": "4006381333931",
                "weight": None,
                "weight_unit": "kg",
                "image": image_url,
                "last_update": drf_datetime(T0),
            },
            {
                "id": blue_m.pk,
                "sku": "TS-BM",
                "title": "Blue / M",
                "option_values": ["Blue", "M"],
                "unit_price": "24.00",
                "price_with_tax": "26.40",
                "compare_at_price": None,
                "in_stock": True,
                "inventory": 0,
                "barcode": "",
                "weight": None,
                "weight_unit": "kg",
                "image": None,
                "last_update": drf_datetime(T0),
            },
        ],
        "price_range": {"min": "18.00", "max": "24.00"},
        "total_stock": 3,
        "tags": [],
        "last_update": drf_datetime(T0),
    }
    assert b"7.77" not in response.content
    assert b"cost" not in response.content


def test_the_list_pages_over_products_never_variants(api, tshirt):
    mug = ProductFactory(title="Mug")
    body = api.get("/api/products/", {"page_size": 100}).json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [tshirt.pk, mug.pk]
    assert [row["sku"] for row in body["results"][0]["variants"]] == ["TS-GS", "TS-GM", "TS-BS", "TS-BM"]
    assert body["results"][1]["variants"] == []
    assert body["results"][1]["options"] == []


def test_stock_of_a_product_with_variants(api, tshirt):
    Product.objects.filter(parent=tshirt).update(inventory=0)
    body = api.get(f"/api/products/{tshirt.pk}/").json()
    assert (body["in_stock"], body["inventory"], body["total_stock"]) == (False, 0, 0)
    Product.objects.filter(pk=variant(tshirt, "Blue / M").pk).update(inventory=4)
    body = api.get(f"/api/products/{tshirt.pk}/").json()
    assert (body["in_stock"], body["inventory"], body["total_stock"]) == (True, 4, 4)
    Product.objects.filter(parent=tshirt).update(track_inventory=False, inventory=0)
    body = api.get(f"/api/products/{tshirt.pk}/").json()
    assert (body["in_stock"], body["inventory"], body["total_stock"]) == (True, 0, None)


def test_a_product_whose_variants_were_all_removed_sells_nothing(api):
    parent = make_parent(unit_price=Decimal("10.00"))
    body = api.get(f"/api/products/{parent.pk}/").json()
    assert (body["in_stock"], body["variants"], body["total_stock"]) == (False, [], None)
    assert body["options"] == [{"name": "Colour", "values": []}, {"name": "Size", "values": []}]
    assert body["price_range"] == {"min": "10.00", "max": "10.00"}


class TestNothingUnpublished:
    @pytest.mark.parametrize("status", [Product.Status.DRAFT, Product.Status.ARCHIVED])
    def test_variants_of_a_product_that_is_not_active_are_never_served(self, api, tshirt, status):
        Product.objects.filter(pk=tshirt.pk).update(status=status)
        green_s = variant(tshirt, "Green / S")
        for url in (
            "/api/products/",
            "/api/products/?search=TS-GS",
            f"/api/products/{tshirt.pk}/",
            f"/api/products/{green_s.pk}/",
            "/api/products/by-slug/example-t-shirt/",
            "/api/products/sync/",
        ):
            response = api.get(url)
            assert response.status_code in (200, 404), url
            assert b"TS-GS" not in response.content, url
            assert b"Green" not in response.content, url
        assert api.get(f"/api/products/{green_s.pk}/").status_code == 404

    def test_a_variant_has_no_page_of_its_own_in_lists(self, api, tshirt):
        assert ids(api.get("/api/products/", {"search": "TS-GS"})) == [tshirt.pk]


class TestVariantId:
    def test_a_variants_id_redirects_to_its_product(self, api, tshirt):
        green_s = variant(tshirt, "Green / S")
        response = api.get(f"/api/products/{green_s.pk}/", {"format": "json"})
        assert response.status_code == 302
        assert response["Location"] == f"http://testserver/api/products/{tshirt.pk}/?format=json"
        assert api.get(response["Location"]).json()["id"] == tshirt.pk

    def test_no_such_id_is_still_a_404(self, api, tshirt):
        assert api.get("/api/products/999999/").status_code == 404
        assert api.get("/api/products/99999999999999999999999/").status_code == 404


class TestFilters:
    @pytest.fixture
    def mug(self):
        return ProductFactory(title="Mug", unit_price=Decimal("20.00"), inventory=5)

    @pytest.mark.parametrize(
        ("params", "found"),
        [
            ({"unit_price__gt": "20"}, {"tshirt"}),  # Blue is 24.00
            ({"unit_price__lt": "20"}, {"tshirt"}),  # Green is 18.00
            ({"unit_price__gt": "19", "unit_price__lt": "23"}, {"mug"}),  # no variant within both
            ({"unit_price__gt": "17", "unit_price__lt": "19"}, {"tshirt"}),
            ({"unit_price__gt": "19", "unit_price__lt": "21"}, {"mug"}),
            ({"unit_price__gt": "24"}, set()),
        ],
    )
    def test_a_price_matches_a_product_when_one_variant_is_within_the_bounds(self, api, tshirt, mug, params, found):
        names = {tshirt.pk: "tshirt", mug.pk: "mug"}
        assert {names[pk] for pk in ids(api.get("/api/products/", params))} == found

    def test_in_stock_when_any_variant_is(self, api, tshirt, mug):
        assert ids(api.get("/api/products/", {"in_stock": "true"})) == [tshirt.pk, mug.pk]
        assert ids(api.get("/api/products/", {"in_stock": "false"})) == []
        Product.objects.filter(parent=tshirt).exclude(title="Blue / M").update(inventory=0)
        assert ids(api.get("/api/products/", {"in_stock": "false"})) == []
        Product.objects.filter(parent=tshirt).update(inventory=0)
        assert ids(api.get("/api/products/", {"in_stock": "false"})) == [tshirt.pk]
        assert ids(api.get("/api/products/", {"in_stock": "true"})) == [mug.pk]

    def test_updated_since_finds_a_product_whose_variant_changed(self, api, tshirt, mug):
        stamp(tshirt, mug, *tshirt.variants.all())
        since = {"updated_since": T1.isoformat()}
        assert ids(api.get("/api/products/", since)) == []
        stamp(variant(tshirt, "Blue / M"), when=T1)
        assert ids(api.get("/api/products/", since)) == [tshirt.pk]
        assert api.get(f"/api/products/{tshirt.pk}/").json()["last_update"] == drf_datetime(T1)

    def test_collection_and_counts_see_the_product_once(self, api, tshirt):
        assert ids(api.get("/api/products/", {"collection_id": tshirt.collection_id})) == [tshirt.pk]
        collection = api.get(f"/api/collections/{tshirt.collection_id}/").json()
        assert collection["products_count"] == 1


def every_page(api, params: dict[str, str]) -> tuple[int, list[int]]:
    """The list's count and the ids of every row of every page, in order."""
    first = api.get("/api/products/", {**params, "page_size": "3"})
    count, pks, page = first.json()["count"], ids(first), 1
    while len(pks) < count and page < 50:
        page += 1
        pks += ids(api.get("/api/products/", {**params, "page_size": "3", "page": str(page)}))
    return count, pks


#: a page read from 3 ids (``ProductPages``; a walk reads a page of 2, by ids in price order)
LISTED = re.compile(r"""[`"]id[`"] IN \(\d+, \d+, \d+\)""")


class TestFiltersAgainstPython:
    """The stock and price filters, their pages and their exact count (each counted otherwise than
    its page is read: ``ProductQuerySet.counted_by``) are those of a plain computation over every
    product, with and without variants, drafts, archived, untracked stock; each page walked and
    read from the matches' ids (``ProductQuerySet.found_among``: few matches)."""

    @pytest.fixture(autouse=True, params=["walked", "from ids"])
    def read(self, request, monkeypatch) -> str:
        if request.param == "walked":
            monkeypatch.setattr(variant_selectors, "FEW_MATCHES", 0)
        else:  # however many of the products the filter keeps
            monkeypatch.setattr(variant_selectors, "FEW_MATCHES_SHARE", 0)
        return request.param

    @pytest.fixture
    def catalog(self) -> None:
        def standalone(title: str, price: str, inventory: int, **fields) -> None:
            ProductFactory(title=title, unit_price=Decimal(price), inventory=inventory, **fields)

        standalone("A in stock", "10.00", 5)
        standalone("B sold out", "150.00", 0)
        standalone("C untracked at 0", "50.00", 0, track_inventory=False)
        standalone("D draft", "150.00", 5, status=Product.Status.DRAFT)
        standalone("E archived", "150.00", 0, status=Product.Status.ARCHIVED)
        families = {
            "F sold out": [("Red", "S", "120.00", 0, True), ("Red", "M", "250.00", 0, True)],
            "G one left": [("Red", "S", "90.00", 0, True), ("Blue", "S", "210.00", 3, True)],
            "H untracked at 0": [("Red", "S", "99.00", 0, False), ("Red", "M", "101.00", 0, True)],
            "I without variants": [],
            "J draft": [("Red", "S", "150.00", 5, True)],
            "K archived": [("Red", "S", "150.00", 0, True)],
            "L wide": [("Red", "S", "5.00", 2, True), ("Red", "M", "500.00", 0, True)],
        }
        for title, variants in families.items():
            status = {"J": Product.Status.DRAFT, "K": Product.Status.ARCHIVED}.get(title[0], Product.Status.ACTIVE)
            parent = make_parent(title=title, sku=f"P{title[0]}", status=status)
            for colour, size, price, inventory, tracked in variants:
                make_variant(
                    parent, colour, size, unit_price=Decimal(price), inventory=inventory, track_inventory=tracked
                )

    @staticmethod
    def expected(params: dict[str, str]) -> list[int]:
        """The active products that ``params`` keep, in title order, computed in Python."""

        def sellable(unit: Product) -> bool:
            return not unit.track_inventory or unit.inventory > 0

        def priced(unit: Product) -> bool:
            above, below = params.get("unit_price__gt"), params.get("unit_price__lt")
            return (above is None or unit.unit_price > Decimal(above)) and (
                below is None or unit.unit_price < Decimal(below)
            )

        kept = []
        for product in Product.objects.filter(status=Product.Status.ACTIVE).order_by("title", "pk"):
            units = list(product.variants.all()) if product.structure == Product.Structure.PARENT else [product]
            if "in_stock" in params and any(map(sellable, units)) != (params["in_stock"] == "true"):
                continue
            if ("unit_price__gt" in params or "unit_price__lt" in params) and not any(map(priced, units)):
                continue
            kept.append(product.pk)
        return kept

    @pytest.mark.parametrize(
        "params",
        [
            {"in_stock": "true"},
            {"in_stock": "false"},
            {"unit_price__gt": "100"},
            {"unit_price__lt": "100"},
            {"unit_price__gt": "100", "unit_price__lt": "200"},
            {"unit_price__gt": "200", "unit_price__lt": "300"},
            {"in_stock": "false", "unit_price__gt": "100", "unit_price__lt": "200"},
            {"in_stock": "true", "unit_price__lt": "100", "ordering": "-unit_price"},
            {"in_stock": "false", "ordering": "last_update"},
        ],
    )
    def test_pages_and_count_are_those_of_python(self, api, catalog, params):
        expected = self.expected(params)
        count, pks = every_page(api, params)
        assert count == len(expected)
        assert sorted(pks) == sorted(expected)
        if "ordering" not in params:
            assert pks == expected

    @pytest.mark.parametrize("ordering", ["unit_price", "-unit_price"])
    @pytest.mark.parametrize(
        "bounds",
        [{"unit_price__lt": "200"}, {"unit_price__gt": "100", "unit_price__lt": "200"}, {"unit_price__lt": "100"}],
    )
    def test_a_price_range_in_price_order_is_the_sort_of_python(self, api, catalog, bounds, ordering):
        params = {**bounds, "ordering": ordering}
        kept = set(self.expected(bounds))
        served = Product.objects.filter(pk__in=kept).values_list("unit_price", "pk")  # the cheapest variant's
        expected = [pk for _, pk in sorted(served, reverse=ordering.startswith("-"))]
        count, pks = every_page(api, params)
        assert (count, pks) == (len(expected), expected)

    def test_the_price_walk_starts_below_the_upper_bound(self, api, catalog, monkeypatch):
        """Descending, a walk of the price index starts at the bound instead of passing every
        product priced above it (2.4 s at 1M sellable units for ``__lt=200``)."""
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES", 0)
        with CaptureQueriesContext(connection) as queries:
            api.get("/api/products/", {"unit_price__lt": "200", "ordering": "-unit_price"})
        walks = [query["sql"] for query in queries.captured_queries if "EXISTS" in query["sql"]]
        outer = [sql.split("EXISTS")[0] for sql in walks if "ORDER BY" in sql.split("EXISTS")[-1]]
        assert outer, walks
        assert all("unit_price" in where.split("WHERE")[-1] for where in outer), walks

    @staticmethod
    def page_sql(api, params: dict[str, str]) -> str:
        """The SQL of the query that read the rows of the page (their collection's title)."""
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/products/", {**params, "page_size": "2"}).status_code == 200
        (sql,) = [query["sql"] for query in queries.captured_queries if "collection_title" in query["sql"]]
        return sql

    @pytest.mark.parametrize("ordering", ["title", "unit_price", "-unit_price", "last_update", "-last_update"])
    def test_few_matches_are_read_from_their_ids_in_every_order(self, api, catalog, monkeypatch, ordering):
        """3 of the 8 active products are not in stock, 5 are: up to ``FEW_MATCHES`` the page is
        the sorted rows of the ids its filter reads (a walk of the order tested every product
        before the last match: 190k at 1M sellable units), above it a walk of the order."""
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES", 3)
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES_SHARE", 2)
        few = self.page_sql(api, {"in_stock": "false", "ordering": ordering})
        many = self.page_sql(api, {"in_stock": "true", "ordering": ordering})
        assert LISTED.search(few), few
        assert not LISTED.search(many), many

    def test_a_filter_that_keeps_a_large_share_walks(self, api, catalog, monkeypatch):
        """3 of 8 products: more than one in 3 of those the filter chose from, few as they are (a
        walk finds a page within 3 × its size rows)."""
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES", 3)
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES_SHARE", 3)
        assert not LISTED.search(self.page_sql(api, {"in_stock": "false"}))
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES_SHARE", 2)
        assert LISTED.search(self.page_sql(api, {"in_stock": "false"}))

    def test_a_searchs_rank_order_sorts_what_it_finds(self, api, catalog, monkeypatch):
        """Ranked, a search sorts every product it finds (no walk to spare): not read from the
        filter's ids; in a walked order, it is."""
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES", 3)
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES_SHARE", 2)
        assert not LISTED.search(self.page_sql(api, {"in_stock": "false", "search": "sold"}))
        assert LISTED.search(self.page_sql(api, {"in_stock": "false", "search": "sold", "ordering": "title"}))
        assert every_page(api, {"in_stock": "false", "search": "sold"})[0] == 2

    def test_a_kept_count_still_reads_few_matches_from_their_ids(self, api, catalog, settings, monkeypatch):
        """Pages after the first read their count from the cache (``CountKeptPaginator``): the
        count it kept says the matches are few."""
        settings.CATALOG_API_CACHE_SECONDS = 60
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES", 3)
        monkeypatch.setattr(variant_selectors, "FEW_MATCHES_SHARE", 2)
        expected = self.expected({"in_stock": "false"})
        pages = []
        for page in (1, 2, 3):
            with CaptureQueriesContext(connection) as queries:
                pages += ids(api.get("/api/products/", {"in_stock": "false", "page_size": 1, "page": page}))
            sqls = [query["sql"] for query in queries.captured_queries]
            assert sum("COUNT(" in sql for sql in sqls) == (3 if page == 1 else 0), sqls  # the list's 3
            assert any(LISTED.search(sql) for sql in sqls), sqls
        assert pages == expected

    def test_ids_are_known_while_the_filter_is_only_narrowed(self, catalog):
        active = selectors.product_list_for_api()
        products = selectors.product_list_in_stock(in_stock=False, queryset=active)
        expected = sorted(self.expected({"in_stock": "false"}))
        found = products.found()
        assert found is not None
        ids, within = found
        assert (sorted(ids(3) or []), ids(2), within) == (expected, None, active)  # None: more than 2
        assert products.filter(title__startswith="F").order_by("-pk").found() is not None
        assert (products | Product.objects.filter(title__startswith="A")).found() is None  # widened
        assert active.found() is None  # no filter said

    def test_the_catalog_has_every_case(self, api, catalog):
        assert self.expected({"in_stock": "false"})
        assert self.expected({"in_stock": "true"})
        assert every_page(api, {})[0] == 8  # A, B, C; F, G, H, I, L

    def test_a_further_filter_counts_its_own_rows(self, catalog):
        products = selectors.product_list_in_stock(in_stock=False, queryset=selectors.product_list_for_api())
        assert products.count() == len(self.expected({"in_stock": "false"}))
        assert products.filter(title__startswith="F").count() == 1
        assert products.filter(title__startswith="A").count() == 0

    def test_a_grouped_count_or_a_distinct_one_counts_its_own_rows(self, catalog):
        products = selectors.product_list_in_stock(in_stock=True, queryset=selectors.product_list_for_api())
        rows = products.order_by().values_list("collection_id", "structure")
        assert products.values("structure").annotate(n=Count("pk")).count() == len({structure for _, structure in rows})
        assert products.values("structure").distinct().count() == len({structure for _, structure in rows})
        assert products[:2].count() == 2

    @pytest.mark.parametrize(
        ("params", "budget"),
        [
            # the active products less those not in stock (3 counts), then the page, its images,
            # tags and variants; read from ids, the ids of the sellable ones first (2 queries)
            # (whether the filter chose from more than 20 × as many products: one more)
            ({"in_stock": "true"}, {"walked": 8, "from ids": 11}),
            ({"in_stock": "false"}, {"walked": 7, "from ids": 11}),
            # those without variants, then the parents of the variants within
            ({"unit_price__gt": "100", "unit_price__lt": "200"}, {"walked": 6, "from ids": 9}),
        ],
    )
    def test_the_count_costs_a_few_queries(self, api, catalog, django_assert_max_num_queries, params, budget, read):
        with django_assert_max_num_queries(budget[read]):
            assert api.get("/api/products/", params).status_code == 200


class TestOrdering:
    def test_by_price_a_product_with_variants_sorts_by_its_cheapest(self, api, tshirt):
        cheap = ProductFactory(title="Cheap", unit_price=Decimal("17.00"))
        dear = ProductFactory(title="Dear", unit_price=Decimal("19.00"))
        assert ids(api.get("/api/products/", {"ordering": "unit_price"})) == [cheap.pk, tshirt.pk, dear.pk]
        assert ids(api.get("/api/products/", {"ordering": "-unit_price"})) == [dear.pk, tshirt.pk, cheap.pk]

    def test_by_last_update_a_product_with_variants_sorts_by_its_latest_variant(self, api, tshirt):
        other = ProductFactory(title="Other")
        stamp(tshirt, *tshirt.variants.all(), when=T0)
        stamp(other, when=T0 + timedelta(hours=1))
        assert ids(api.get("/api/products/", {"ordering": "-last_update"})) == [other.pk, tshirt.pk]
        stamp(variant(tshirt, "Green / M"), when=T1)
        assert ids(api.get("/api/products/", {"ordering": "-last_update"})) == [tshirt.pk, other.pk]


def catalog_with_variants(count: int) -> None:
    """``count`` products with four variants and ``count`` without, alternating in every order
    the API offers (title, price, last update)."""
    collection = CollectionFactory()
    for index in range(count):
        price = Decimal("20.00") + index
        parent = make_parent(title=f"Item {index:03} shirt", sku=f"SH{index:03}", collection=collection)
        image = product_image(parent, thumbnail=False)
        for colour, colour_price in (("Green", price), ("Blue", price + 1)):
            for size in ("S", "M"):
                make_variant(
                    parent, colour, size, unit_price=colour_price, variant_image=image if colour == "Green" else None
                )
        ProductFactory(title=f"Item {index:03} mug", collection=collection, unit_price=price + Decimal("0.50"))


def queries_of(api, url: str, params: dict) -> tuple[int, list[dict]]:
    with CaptureQueriesContext(connection) as captured:
        rows = results(api.get(url, params))
    return len(captured), rows


class TestQueryBudget:
    def test_a_list_page_costs_the_same_queries_at_5_and_50_products(self, api, django_assert_max_num_queries):
        catalog_with_variants(30)
        small, rows = queries_of(api, "/api/products/", {"page_size": 5})
        assert len(rows) == 5
        # count, page, its images, its tags, its variants (with their images): one query each
        with django_assert_max_num_queries(5):
            rows = results(api.get("/api/products/", {"page_size": 50}))
        assert len(rows) == 50
        assert sum(len(row["variants"]) for row in rows) == 100
        large, _rows = queries_of(api, "/api/products/", {"page_size": 50})
        assert small == large == 5

    def test_a_page_without_products_with_variants_costs_what_it_did(self, api, django_assert_max_num_queries):
        ProductFactory.create_batch(12)
        with django_assert_max_num_queries(4):  # count, page, images, tags: no query for variants
            assert len(results(api.get("/api/products/"))) == 10

    def test_price_and_last_update_orderings_cost_the_same(self, api):
        catalog_with_variants(30)
        # unit_price: the column, which holds a product with variants' cheapest price: count, the
        # page's ids (a walk of the price index), its rows, images, tags, variants (6 queries);
        # last_update: whether the catalog has variants (an index lookup), count, the products'
        # walk by their own last update, the page's rows (candidates sorted), images, tags,
        # variants (7); descending, the variants' walk as well (8).
        for ordering, expected in (("unit_price", 6), ("-unit_price", 6), ("last_update", 7), ("-last_update", 8)):
            small, _rows = queries_of(api, "/api/products/", {"page_size": 5, "ordering": ordering})
            large, _rows = queries_of(api, "/api/products/", {"page_size": 50, "ordering": ordering})
            assert small == large == expected, ordering

    def test_without_variants_the_orderings_are_the_plain_columns(self, api):
        """The sort key of products with variants' last_update is computed (for a page's
        candidates: store.variants.selectors.product_page_by_latest_update): a catalog without
        variants keeps the index walk of its last_update column. The price is always the column
        (a product with variants holds its cheapest variant's, store.variants.rollup)."""
        ProductFactory.create_batch(3)

        def page_sql(ordering: str) -> str:
            with CaptureQueriesContext(connection) as captured:
                results(api.get("/api/products/", {"ordering": ordering}))
            return "\n".join(
                query["sql"] for query in captured if "ORDER BY" in query["sql"] and "store_product" in query["sql"]
            )

        for ordering in ("unit_price", "-last_update", "last_update"):
            assert "CASE" not in page_sql(ordering), ordering
        make_variant(make_parent(), "Green", "S")
        assert "CASE" not in page_sql("unit_price")
        assert "CASE" in page_sql("-last_update")
        assert "CASE" in page_sql("last_update")

    def test_a_sync_page_costs_the_same_queries_at_any_page_size(self, api, monkeypatch):
        catalog_with_variants(30)
        # The variants first in the walk, their products later: each page loads its variants' products.
        Product.objects.filter(structure=Product.Structure.VARIANT).update(last_update=T0)
        counts = []
        for page_size in (10, 100):
            monkeypatch.setattr(SyncCursorPagination, "page_size", page_size)
            count, rows = queries_of(api, "/api/products/sync/", {})
            assert any(row["variants"] for row in rows)
            counts.append(count)
        # walk, products of the walked variants, images, tags, variants
        assert counts == [5, 5]

    def test_the_variants_are_read_in_one_query(self, api):
        catalog_with_variants(12)
        with CaptureQueriesContext(connection) as captured:
            results(api.get("/api/products/", {"page_size": 24}))
        variant_reads = [query["sql"] for query in captured if "'variant'" in query["sql"] or "variant" in query["sql"]]
        assert len([sql for sql in variant_reads if "parent_id" in sql and " IN (" in sql]) == 1


def sync(api, **params) -> dict:
    response = api.get("/api/products/sync/", params)
    assert response.status_code == 200, response.content
    return response.json()


def walk(api, **params) -> tuple[list[dict], str]:
    """Every entry from ``params`` on, following next; and the last cursor."""
    body = sync(api, **params)
    entries = list(body["results"])
    while body["next"]:
        body = api.get(body["next"]).json()
        entries += body["results"]
    return entries, body["cursor"]


class TestSyncFeed:
    def test_a_product_with_variants_is_sent_once_with_its_variants(self, api, tshirt):
        entries, _cursor = walk(api)
        assert [entry["id"] for entry in entries] == [tshirt.pk]
        assert len(entries[0]["variants"]) == 4
        assert entries[0]["removed"] is False

    def test_a_changed_variant_sends_its_product_again(self, api, tshirt):
        mug = ProductFactory(title="Mug")
        _entries, cursor = walk(api)
        assert sync(api, cursor=cursor)["results"] == []
        blue_m = variant(tshirt, "Blue / M")
        blue_m.unit_price = Decimal("26.00")
        services.product_update(product=blue_m, expected_version=blue_m.version)

        entries, cursor = walk(api, cursor=cursor)

        assert [entry["id"] for entry in entries] == [tshirt.pk]
        sent = {row["sku"]: row["unit_price"] for row in entries[0]["variants"]}
        assert sent["TS-BM"] == "26.00"
        assert entries[0]["price_range"] == {"min": "18.00", "max": "26.00"}
        blue_m.refresh_from_db()
        assert entries[0]["last_update"] == drf_datetime(blue_m.last_update)
        assert sync(api, cursor=cursor)["results"] == []
        assert mug.pk not in [entry["id"] for entry in entries]

    def test_an_added_variant_sends_its_product_again(self, api, tshirt):
        _entries, cursor = walk(api)
        make_variant(tshirt, "Red", "S")
        entries, _cursor = walk(api, cursor=cursor)
        assert [entry["id"] for entry in entries] == [tshirt.pk]
        assert entries[0]["options"][0] == {"name": "Colour", "values": ["Green", "Blue", "Red"]}

    def test_a_removed_variant_sends_its_product_again_without_it(self, api, tshirt):
        _entries, cursor = walk(api)
        variant_services.variant_delete(variant=variant(tshirt, "Green / S"))

        entries, _cursor = walk(api, cursor=cursor)

        assert [entry["id"] for entry in entries] == [tshirt.pk]
        assert [row["sku"] for row in entries[0]["variants"]] == ["TS-GM", "TS-BS", "TS-BM"]

    def test_a_bulk_write_to_variants_is_seen(self, api, tshirt):
        """Every write path moves the written row's last_update, and the walk reads variants' rows:
        no write path has to remember to touch the product."""
        _entries, cursor = walk(api)
        services.product_clear_inventory(products=Product.objects.filter(parent=tshirt, option1="Green"))
        entries, _cursor = walk(api, cursor=cursor)
        assert [entry["id"] for entry in entries] == [tshirt.pk]
        assert [row["inventory"] for row in entries[0]["variants"]] == [0, 0, 50, 50]
        assert entries[0]["total_stock"] == 100

    def test_a_page_holding_a_product_and_its_variants_sends_it_once(self, api, tshirt):
        stamp(tshirt, *tshirt.variants.all(), when=T0)
        rows = list(selectors.product_sync_list(active=selectors.product_list_for_api()).order_by("last_update", "pk"))
        assert len(rows) == 5  # the product and its four variants walked
        assert [entry["id"] for entry in sync(api)["results"]] == [tshirt.pk]

    def test_filters_choose_products_and_the_walk_their_variants(self, api, tshirt):
        cheap = ProductFactory(title="Cheap", unit_price=Decimal("5.00"))
        _entries, cursor = walk(api)
        for changed in (variant(tshirt, "Green / S"), cheap):
            services.product_update(product=changed, expected_version=changed.version)
        assert [entry["id"] for entry in walk(api, cursor=cursor, unit_price__gt="20")[0]] == [tshirt.pk]
        assert [entry["id"] for entry in walk(api, cursor=cursor, unit_price__lt="10")[0]] == [cheap.pk]

    def test_updated_since_is_a_position_in_the_walk(self, api, tshirt):
        stamp(tshirt, *tshirt.variants.all(), when=T0)
        assert sync(api, updated_since=T1.isoformat())["results"] == []
        stamp(variant(tshirt, "Blue / S"), when=T1)
        assert [entry["id"] for entry in sync(api, updated_since=T1.isoformat())["results"]] == [tshirt.pk]

    def test_an_archived_product_is_a_tombstone_without_variants(self, api, tshirt):
        _entries, cursor = walk(api)
        services.product_set_status(products=Product.objects.filter(pk=tshirt.pk), status=Product.Status.ARCHIVED)
        entries, cursor = walk(api, cursor=cursor)
        assert entries == [
            {
                "id": tshirt.pk,
                "sku": "TS",
                "slug": "example-t-shirt",
                "status": "archived",
                "removed": True,
                "last_update": entries[0]["last_update"],
            }
        ]
        # A variant of it saved later: nothing is sent (its product is not public).
        green_s = variant(tshirt, "Green / S")
        services.product_update(product=green_s, expected_version=green_s.version)
        assert sync(api, cursor=cursor)["results"] == []
