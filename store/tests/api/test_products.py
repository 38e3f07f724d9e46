"""Contract of /api/products/: fields, lookups, filters, search, ordering, pagination."""

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from store.api.pagination import MAX_CURSOR_LENGTH, SyncCursorPagination
from store.models import Product
from store.tests.api.conftest import drf_datetime, ids, results
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def stamp(product: Product, when: datetime) -> None:
    """Set last_update (auto_now would overwrite it on save)."""
    Product.objects.filter(pk=product.pk).update(last_update=when)


def test_product_detail_exact_json(api):
    collection = CollectionFactory(title="Hoodies")
    product = ProductFactory(
        title="Zip Hoodie",
        slug="zip-hoodie",
        sku="HOO-1",
        description="Warm.",
        unit_price=Decimal("19.99"),
        inventory=3,
        collection=collection,
    )
    stamp(product, T0)

    response = api.get(f"/api/products/{product.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": product.pk,
        "sku": "HOO-1",
        "title": "Zip Hoodie",
        "slug": "zip-hoodie",
        "description": "Warm.",
        "unit_price": "19.99",
        "price_with_tax": "21.99",
        "in_stock": True,
        "inventory": 3,
        "collection": {"id": collection.pk, "title": "Hoodies"},
        "vendor": "",
        "barcode": "",
        "compare_at_price": None,
        "weight": None,
        "weight_unit": "kg",
        "seo_title": "",
        "seo_description": "",
        "images": [],
        "options": [],
        "variants": [],
        "price_range": {"min": "19.99", "max": "19.99"},
        "total_stock": 3,
        "tags": [],
        "last_update": "2026-01-01T12:00:00Z",
    }
    assert list(response.json()) == [
        "id",
        "sku",
        "title",
        "slug",
        "description",
        "unit_price",
        "price_with_tax",
        "in_stock",
        "inventory",
        "collection",
        "vendor",
        "barcode",
        "compare_at_price",
        "weight",
        "weight_unit",
        "seo_title",
        "seo_description",
        "images",
        "options",
        "variants",
        "price_range",
        "total_stock",
        "tags",
        "last_update",
    ]


def test_detail_by_slug_matches_detail_by_id(api):
    product = ProductFactory(slug="blue-mug")
    by_id = api.get(f"/api/products/{product.pk}/")
    by_slug = api.get("/api/products/by-slug/blue-mug/")
    assert by_slug.status_code == 200
    assert by_slug.json() == by_id.json()


@pytest.mark.parametrize("url", ["/api/products/999999/", "/api/products/by-slug/no-such-product/"])
def test_unknown_product_is_404_json(api, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response.json() == {"detail": "No Product matches the given query."}


@pytest.mark.parametrize(
    ("unit_price", "tax_rate", "expected"),
    [
        ("19.99", Decimal("0.1"), "21.99"),  # 21.989 -> 21.99
        ("10.05", Decimal("0.1"), "11.06"),  # 11.055 -> half up
        ("1.00", Decimal("0.2"), "1.20"),
        ("99999999.99", Decimal("0.1"), "109999999.99"),
    ],
)
def test_price_with_tax_is_decimal_and_rounded_half_up(api, settings, unit_price, tax_rate, expected):
    settings.TAX_RATE = tax_rate
    product = ProductFactory(unit_price=Decimal(unit_price))
    assert api.get(f"/api/products/{product.pk}/").json()["price_with_tax"] == expected


def test_in_stock_follows_inventory(api):
    product = ProductFactory(inventory=0)
    assert api.get(f"/api/products/{product.pk}/").json()["in_stock"] is False


class TestFilters:
    def test_collection_id(self, api):
        wanted = CollectionFactory()
        mine = ProductFactory(collection=wanted)
        ProductFactory()
        assert ids(api.get("/api/products/", {"collection_id": wanted.pk})) == [mine.pk]

    def test_unit_price_gt_and_lt_are_strict(self, api):
        cheap = ProductFactory(unit_price=Decimal("5.00"))
        mid = ProductFactory(unit_price=Decimal("10.00"))
        dear = ProductFactory(unit_price=Decimal("20.00"))
        assert set(ids(api.get("/api/products/", {"unit_price__gt": "5.00"}))) == {mid.pk, dear.pk}
        assert set(ids(api.get("/api/products/", {"unit_price__lt": "20"}))) == {cheap.pk, mid.pk}
        assert ids(api.get("/api/products/", {"unit_price__gt": "5", "unit_price__lt": "20"})) == [mid.pk]

    @pytest.mark.parametrize(
        ("value", "expected"), [("true", "stocked"), ("1", "stocked"), ("false", "empty"), ("0", "empty")]
    )
    def test_in_stock(self, api, value, expected):
        products = {"stocked": ProductFactory(inventory=4), "empty": ProductFactory(inventory=0)}
        assert ids(api.get("/api/products/", {"in_stock": value})) == [products[expected].pk]

    def test_updated_since_is_inclusive_and_reads_offsets(self, api):
        old, edge, new = ProductFactory(), ProductFactory(), ProductFactory()
        stamp(old, T0 - timedelta(days=1))
        stamp(edge, T0)
        stamp(new, T0 + timedelta(hours=1))
        assert set(ids(api.get("/api/products/", {"updated_since": "2026-01-01T12:00:00Z"}))) == {edge.pk, new.pk}
        # 13:30+02:00 is 11:30 UTC.
        assert set(ids(api.get("/api/products/", {"updated_since": "2026-01-01T13:30:00+02:00"}))) == {edge.pk, new.pk}
        # No offset: UTC.
        assert ids(api.get("/api/products/", {"updated_since": "2026-01-01T12:30:00"})) == [new.pk]

    @pytest.mark.parametrize(
        ("params", "errors"),
        [
            ({"unit_price__gt": "abc"}, {"unit_price__gt": ["Enter a number."]}),
            ({"unit_price__lt": "NaN"}, {"unit_price__lt": ["Enter a number."]}),
            (
                {"unit_price__gt": "1e400"},
                {
                    "unit_price__gt": [
                        "Ensure that there are no more than 12 digits in total.",
                        "Ensure this value is less than or equal to 1e+50.",
                    ]
                },
            ),
            ({"updated_since": "notadate"}, {"updated_since": ["Enter a valid date/time."]}),
            ({"updated_since": "2026-02-30T00:00:00Z"}, {"updated_since": ["Enter a valid date/time."]}),
            (
                {"updated_since": "0001-01-01T00:00:00+05:00"},
                {"updated_since": ["Enter a date/time between years 0001 and 9999 (UTC)."]},
            ),
            ({"in_stock": "maybe"}, {"in_stock": ["Enter true or false."]}),
            ({"collection_id": "x"}, {"collection_id": ["Enter a whole number."]}),
            (
                {"collection_id": str(2**64)},
                {"collection_id": ["Ensure this value is less than or equal to 9223372036854775807."]},
            ),
        ],
    )
    def test_bad_values_are_400_naming_the_parameter(self, api, params, errors):
        ProductFactory()
        response = api.get("/api/products/", params)
        assert response.status_code == 400
        assert response.json() == errors


def test_search_covers_title_and_sku_as_the_admin_does(api):
    by_title = ProductFactory(title="Kettle Deluxe")
    by_sku = ProductFactory(sku="KET-999")
    ProductFactory(description="Pairs well with a kettle.")  # the description is not searched (store.search)
    ProductFactory(title="Mug", sku="MUG-1", description="Ceramic.")
    assert ids(api.get("/api/products/", {"search": "kettle"})) == [by_title.pk]
    assert ids(api.get("/api/products/", {"search": "ket-999"})) == [by_sku.pk]
    assert ids(api.get("/api/products/", {"search": "999"})) == [by_sku.pk]


@pytest.mark.parametrize("field", ["unit_price", "last_update", "title"])
def test_ordering(api, field):
    a = ProductFactory(title="B", unit_price=Decimal("3.00"))
    b = ProductFactory(title="C", unit_price=Decimal("1.00"))
    c = ProductFactory(title="A", unit_price=Decimal("2.00"))
    for offset, product in enumerate((b, c, a)):
        stamp(product, T0 + timedelta(minutes=offset))
    expected = {"unit_price": [b.pk, c.pk, a.pk], "last_update": [b.pk, c.pk, a.pk], "title": [c.pk, a.pk, b.pk]}[field]
    assert ids(api.get("/api/products/", {"ordering": field})) == expected
    assert ids(api.get("/api/products/", {"ordering": f"-{field}"})) == expected[::-1]


@pytest.mark.parametrize("ordering", ["unit_price", "-unit_price", "title", "-last_update"])
def test_an_ordering_breaks_ties_by_id_so_that_pages_neither_repeat_nor_skip(api, ordering):
    same = [ProductFactory(title="Same", unit_price=Decimal("5.00")) for _ in range(5)]
    for product in same:
        stamp(product, T0)
    pages = [ids(api.get("/api/products/", {"ordering": ordering, "page_size": 2, "page": n})) for n in (1, 2, 3)]
    by_id = [product.pk for product in same]
    assert sum(pages, []) == (by_id[::-1] if ordering.startswith("-") else by_id)


def test_default_order_is_title_then_id_and_unknown_ordering_is_ignored(api):
    first, second = ProductFactory(title="Same"), ProductFactory(title="Same")
    third = ProductFactory(title="Another")
    assert ids(api.get("/api/products/")) == [third.pk, first.pk, second.pk]
    assert ids(api.get("/api/products/", {"ordering": "sku"})) == [third.pk, first.pk, second.pk]


class TestPagePagination:
    def test_default_page_size_is_10_with_links(self, api):
        ProductFactory.create_batch(12)
        body = api.get("/api/products/").json()
        assert body["count"] == 12
        assert len(body["results"]) == 10
        assert body["next"] == "http://testserver/api/products/?page=2"
        assert body["previous"] is None
        second = api.get(body["next"]).json()
        assert len(second["results"]) == 2
        assert second["next"] is None

    def test_page_size_is_capped_at_100(self, api):
        ProductFactory.create_batch(101)
        assert len(results(api.get("/api/products/", {"page_size": 5}))) == 5
        assert len(results(api.get("/api/products/", {"page_size": 1000}))) == 100

    @pytest.mark.parametrize("page", ["0", "-1", "abc", "99"])
    def test_a_page_that_does_not_exist_is_404(self, api, page):
        ProductFactory()
        response = api.get("/api/products/", {"page": page})
        assert response.status_code == 404
        assert response.json() == {"detail": "Invalid page."}


class TestSyncCursor:
    def make_catalog(self):
        products = ProductFactory.create_batch(5)
        # Two share a timestamp: the cursor must split ties by id, losing none.
        for product, minutes in zip(products, [3, 1, 1, 0, 2], strict=True):
            stamp(product, T0 + timedelta(minutes=minutes))
        return sorted(Product.objects.all(), key=lambda p: (p.last_update, p.pk))

    def walk(self, api, url):
        seen, pages = [], 0
        while url:
            body = api.get(url).json()
            seen += [row["id"] for row in body["results"]]
            url, pages = body["next"], pages + 1
        return seen, pages, body["cursor"]

    def test_walks_everything_in_last_update_id_order(self, api, monkeypatch):
        monkeypatch.setattr(SyncCursorPagination, "page_size", 2)
        expected = [p.pk for p in self.make_catalog()]
        seen, pages, _ = self.walk(api, "/api/products/sync/")
        assert seen == expected
        assert pages == 3

    def test_resuming_from_the_cursor_sends_only_what_changed(self, api):
        products = self.make_catalog()
        body = api.get("/api/products/sync/").json()
        assert body["next"] is None
        assert [row["id"] for row in body["results"]] == [p.pk for p in products]
        cursor = body["cursor"]

        assert api.get("/api/products/sync/", {"cursor": cursor}).json() == {
            "next": None,
            "cursor": cursor,
            "results": [],
        }
        changed = products[0]
        changed.title = "Renamed"
        changed.save()
        resumed = api.get("/api/products/sync/", {"cursor": cursor}).json()
        assert [row["title"] for row in resumed["results"]] == ["Renamed"]
        assert resumed["results"][0]["last_update"] == drf_datetime(Product.objects.get(pk=changed.pk).last_update)

    def test_filters_apply_to_the_walk(self, api):
        wanted = CollectionFactory()
        mine = ProductFactory(collection=wanted)
        ProductFactory()
        assert ids(api.get("/api/products/sync/", {"collection_id": wanted.pk})) == [mine.pk]

    def test_the_longest_cursor_we_issue_fits_the_cap(self):
        latest = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
        assert len(SyncCursorPagination.encode_cursor((latest, 2**63 - 1))) < MAX_CURSOR_LENGTH

    @pytest.mark.parametrize(
        "cursor",
        [
            "abc",
            "!!!",
            "W10",
            "WyJ4IiwgMV0",
            "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgMV0",
            # Deeply nested arrays (a RecursionError in the JSON parser), short and long.
            b64(b"[" * 1100),
            b64(b"[" * 100),
            b64(b"[" * 90 + b"]" * 90),
            # Right shape but the wrong types, and a valid cursor padded far past any we issue.
            b64(b'[1, "2026-01-01T00:00:00+00:00"]'),
            b64(b'{"a": 1, "b": 2}'),
            b64(b'"ab"'),
            b64(b'["2026-01-01T00:00:00+00:00", 1' + b" " * 300 + b"]"),
        ],
    )
    def test_a_bad_cursor_is_400(self, api, cursor):
        # W10 = "[]", WyJ4IiwgMV0 = '["x", 1]', the last one is a naive datetime.
        response = api.get("/api/products/sync/", {"cursor": cursor})
        assert response.status_code == 400
        assert response.json() == {"cursor": ["Invalid cursor."]}
