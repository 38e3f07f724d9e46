"""Nothing unpublished leaves through the API, not even through the sync feed's filters.

The sync feed sends every active product that matches the filters, and a tombstone for
every product that was once active and no longer is, whatever the filters (only
``updated_since``, a position in the walk, applies to both). A product that was never
active (a draft being prepared) is not in the feed at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from store import services
from store.api.pagination import SyncCursorPagination
from store.models import Product
from store.tests.factories import CollectionFactory, ProductFactory

from .conftest import results

pytestmark = pytest.mark.django_db

DRAFT, ACTIVE, ARCHIVED = Product.Status.DRAFT, Product.Status.ACTIVE, Product.Status.ARCHIVED
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def set_status(product: Product, status: str) -> None:
    services.product_set_status(products=Product.objects.filter(pk=product.pk), status=status)


def sync_rows(api, **params) -> dict[int, dict]:
    return {row["id"]: row for row in results(api.get("/api/products/sync/", params))}


@pytest.fixture
def unreleased():
    """A draft that was never published, and an archived product that never was active either."""
    secret = CollectionFactory(title="Secret launch")
    return {
        "draft": ProductFactory(
            title="Prototype",
            slug="prototype-x",
            sku="PROTO-X",
            unit_price=Decimal("37.40"),
            inventory=0,
            collection=secret,
            status=DRAFT,
        ),
        "archived": ProductFactory(slug="never-sold", sku="NEVER-SOLD", collection=secret, status=ARCHIVED),
        "collection": secret,
    }


@pytest.fixture
def retired():
    """Was active, then archived."""
    product = ProductFactory(slug="old-mug", sku="OLD-MUG", unit_price=Decimal("12.00"), inventory=3)
    set_status(product, ARCHIVED)
    return product


class TestNeverPublished:
    def test_not_in_the_sync_feed_at_all(self, api, unreleased):
        active = ProductFactory()
        response = api.get("/api/products/sync/")
        assert [row["id"] for row in results(response)] == [active.pk]
        for secret in (b"PROTO-X", b"prototype-x", b"NEVER-SOLD", b"never-sold"):
            assert secret not in response.content

    @pytest.mark.parametrize(
        "params",
        [
            {"unit_price__gt": "37.39"},
            {"unit_price__lt": "37.41"},
            {"unit_price__gt": "37.39", "unit_price__lt": "37.41"},
            {"in_stock": "false"},
            {"in_stock": "true"},
            {"collection_id": "<secret>"},
            {"updated_since": "2000-01-01T00:00:00Z"},
        ],
    )
    def test_no_filter_brings_it_out(self, api, unreleased, params):
        """An anonymous client cannot bisect a draft's price, stock or collection."""
        params = {k: str(unreleased["collection"].pk) if v == "<secret>" else v for k, v in params.items()}
        assert sync_rows(api, **params) == {}

    def test_publishing_then_unpublishing_makes_it_a_tombstone(self, api, unreleased):
        draft = unreleased["draft"]
        set_status(draft, ACTIVE)
        assert sync_rows(api)[draft.pk]["removed"] is False
        set_status(draft, DRAFT)
        assert sync_rows(api)[draft.pk] == {
            "id": draft.pk,
            "sku": "PROTO-X",
            "slug": "prototype-x",
            "status": "draft",
            "removed": True,
            "last_update": sync_rows(api)[draft.pk]["last_update"],
        }


class TestTombstones:
    @pytest.mark.parametrize(
        "params",
        [
            {},
            {"unit_price__gt": "11.99"},
            {"unit_price__gt": "12.00"},
            {"unit_price__lt": "12.00"},
            {"unit_price__lt": "12.01"},
            {"in_stock": "true"},
            {"in_stock": "false"},
            {"collection_id": "<other>"},
            {"collection_id": "<own>"},
        ],
    )
    def test_a_tombstone_goes_out_whatever_the_filters(self, api, retired, params):
        """So its presence tells nothing about its price, stock or collection."""
        other = ProductFactory(unit_price=Decimal("500.00"))
        own = str(retired.collection_id)
        params = {k: {"<other>": str(other.collection_id), "<own>": own}.get(v, v) for k, v in params.items()}
        row = sync_rows(api, **params)[retired.pk]
        assert (row["removed"], row["status"], row["sku"]) == (True, "archived", "OLD-MUG")
        assert "unit_price" not in row

    def test_filters_still_choose_among_active_products(self, api, retired):
        cheap = ProductFactory(unit_price=Decimal("5.00"))
        dear = ProductFactory(unit_price=Decimal("50.00"))
        assert set(sync_rows(api, unit_price__gt="10")) == {dear.pk, retired.pk}
        assert set(sync_rows(api, unit_price__lt="10")) == {cheap.pk, retired.pk}

    def test_a_bad_filter_is_a_400_naming_it(self, api, retired):
        response = api.get("/api/products/sync/", {"unit_price__gt": "abc", "in_stock": "maybe"})
        assert response.status_code == 400
        assert response.json() == {"unit_price__gt": ["Enter a number."], "in_stock": ["Enter true or false."]}

    def test_updated_since_is_a_position_and_applies_to_tombstones_too(self, api, retired):
        later = ProductFactory()
        since = Product.objects.get(pk=later.pk).last_update
        Product.objects.filter(pk=retired.pk).update(last_update=since.replace(year=since.year - 1))
        assert set(sync_rows(api, updated_since=since.isoformat())) == {later.pk}

    def test_a_tombstone_names_the_product_as_it_was_last_published(self, api, retired):
        """Renamed while unpublished: the new SKU and slug are the draft's, not public."""
        set_status(retired, DRAFT)
        product = Product.objects.get(pk=retired.pk)
        product.sku, product.slug, product.title = "NEXT-GEN-MUG", "next-gen-mug", "Next-gen mug"
        services.product_update(product=product, expected_version=product.version)
        response = api.get("/api/products/sync/")
        row = sync_rows(api)[retired.pk]
        assert (row["sku"], row["slug"], row["status"]) == ("OLD-MUG", "old-mug", "draft")
        assert b"NEXT-GEN" not in response.content
        assert b"next-gen" not in response.content

    def test_a_product_with_no_history_before_it_was_archived(self, api):
        """Seeded and imported rows have no history until their first tracked change, whose
        baseline records the state they were in: active."""
        product = ProductFactory(sku="SEEDED-1")
        Product.history.filter(id=product.pk).delete()
        set_status(product, ARCHIVED)
        assert sync_rows(api)[product.pk]["sku"] == "SEEDED-1"

    @pytest.mark.parametrize("page_size", [10, 100])
    def test_query_count_does_not_grow_with_the_page(self, api, monkeypatch, django_assert_max_num_queries, page_size):
        monkeypatch.setattr(SyncCursorPagination, "page_size", page_size)
        collection = CollectionFactory()
        products = [ProductFactory(collection=collection, status=DRAFT if i % 5 == 4 else ACTIVE) for i in range(140)]
        services.product_set_status(
            products=Product.objects.filter(pk__in=[p.pk for p in products[::3]]).exclude(status=DRAFT),
            status=ARCHIVED,
        )
        Product.objects.update(last_update=T0)  # one timestamp: pages mix all three, in id order
        # page, its images, its tags
        with django_assert_max_num_queries(3):
            rows = results(api.get("/api/products/sync/", {"unit_price__gt": "1"}))
        assert len(rows) == page_size
        assert any(row["removed"] for row in rows)
        assert not any(row.get("status") == "draft" for row in rows)


class TestConditionalGet:
    @pytest.mark.parametrize("micro_cache_seconds", [0, 60])
    @pytest.mark.parametrize(
        "url", ["/api/products/", "/api/products/sync/", "/api/collections/", "/api/tags/", "/api/products/?page=1"]
    )
    def test_saving_a_product_that_is_not_public_changes_no_etag(
        self, api, settings, unreleased, retired, url, micro_cache_seconds
    ):
        """An ETag that moved with every save anywhere told anonymous clients when drafts were
        edited (and, as an unkeyed hash of a known body and the latest last_update, exactly when)."""
        settings.CATALOG_API_CACHE_SECONDS = micro_cache_seconds
        ProductFactory(collection=unreleased["collection"])
        etag = api.get(url)["ETag"]
        hidden_products = [unreleased["draft"], unreleased["archived"]]
        if "sync" not in url:  # there a once-public product's tombstone is sent again when saved
            hidden_products.append(retired)
        for hidden in Product.objects.filter(pk__in=[product.pk for product in hidden_products]):
            hidden.unit_price += 1
            hidden.save()
            assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304, hidden
