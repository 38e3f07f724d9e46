"""The API serves active products only, with their images; sync tells consumers what left."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store import services
from store.models import Product
from store.tests.api.conftest import ids, results
from store.tests.factories import CollectionFactory, ProductFactory, product_image

pytestmark = pytest.mark.django_db

DRAFT, ACTIVE, ARCHIVED = Product.Status.DRAFT, Product.Status.ACTIVE, Product.Status.ARCHIVED


class TestImages:
    def test_images_in_position_order_with_absolute_urls(self, api):
        product = ProductFactory()
        back = product_image(product, position=2, alt_text="Back")
        front = product_image(product, position=1, alt_text="Front")
        pending = product_image(product, position=3, thumbnail=False)
        body = api.get(f"/api/products/{product.pk}/").json()
        assert body["images"] == [
            {
                "url": f"http://testserver{front.image.url}",
                "alt": "Front",
                "width": 64,
                "height": 48,
                "thumbnail_url": f"http://testserver{front.thumbnail.url}",
            },
            {
                "url": f"http://testserver{back.image.url}",
                "alt": "Back",
                "width": 64,
                "height": 48,
                "thumbnail_url": f"http://testserver{back.thumbnail.url}",
            },
            {
                "url": f"http://testserver{pending.image.url}",
                "alt": "",
                "width": 64,
                "height": 48,
                "thumbnail_url": None,
            },
        ]
        assert front.image.url.startswith("/media/products/")
        listed = next(row for row in results(api.get("/api/products/")) if row["id"] == product.pk)
        assert listed["images"] == body["images"]

    @pytest.mark.parametrize("page_size", [10, 100])
    def test_one_query_for_the_images_of_a_page(self, api, page_size):
        collection = CollectionFactory()
        for i in range(110):
            product = ProductFactory(collection=collection)
            if i % 3 == 0:
                product_image(product, thumbnail=False)
                product_image(product, thumbnail=False, position=1)
        with CaptureQueriesContext(connection) as queries:
            rows = results(api.get("/api/products/", {"page_size": page_size}))
        assert len(rows) == page_size
        assert any(row["images"] for row in rows)
        image_queries = [q for q in queries if "store_productimage" in q["sql"]]
        assert len(image_queries) == 1
        # count, page, images, tags (the micro-cache, off here, adds the catalog version)
        assert len(queries) == 4


@pytest.fixture
def shelf():
    mugs = CollectionFactory(title="Mugs")
    return {
        "active": ProductFactory(title="Active Mug", slug="active-mug", collection=mugs),
        "draft": ProductFactory(title="Draft Mug", slug="draft-mug", collection=mugs, status=DRAFT),
        "archived": ProductFactory(title="Old Mug", slug="old-mug", collection=mugs, status=ARCHIVED),
        "mugs": mugs,
    }


class TestOnlyActive:
    def test_lists_and_counts_show_active_products_only(self, api, shelf):
        body = api.get("/api/products/").json()
        assert body["count"] == 1
        assert ids(api.get("/api/products/")) == [shelf["active"].pk]
        assert ids(api.get("/api/products/", {"search": "Mug", "collection_id": shelf["mugs"].pk})) == [
            shelf["active"].pk
        ]

    @pytest.mark.parametrize("name", ["draft", "archived"])
    def test_detail_of_a_non_active_product_is_404(self, api, shelf, name):
        product = shelf[name]
        assert api.get(f"/api/products/{product.pk}/").status_code == 404
        assert api.get(f"/api/products/by-slug/{product.slug}/").status_code == 404
        assert api.get(f"/api/products/{shelf['active'].pk}/").status_code == 200

    def test_collection_counts_only_active_products_and_hides_a_draft_featured_product(self, api, shelf):
        mugs = shelf["mugs"]
        mugs.featured_product = shelf["draft"]
        mugs.save()
        body = api.get(f"/api/collections/{mugs.pk}/").json()
        assert (body["products_count"], body["featured_product"]) == (1, None)
        mugs.featured_product = shelf["active"]
        mugs.save()
        assert api.get(f"/api/collections/{mugs.pk}/").json()["featured_product"] == shelf["active"].pk

    def test_publishing_brings_a_product_into_the_api(self, api, shelf):
        services.product_set_status(products=Product.objects.filter(pk=shelf["draft"].pk), status=ACTIVE)
        assert api.get(f"/api/products/{shelf['draft'].pk}/").status_code == 200
        assert api.get("/api/products/").json()["count"] == 2


class TestSync:
    def test_products_that_left_the_active_state_come_as_tombstones(self, api, shelf):
        # The shelf's draft and archived products were never active: nothing to remove.
        assert ids(api.get("/api/products/sync/")) == [shelf["active"].pk]
        unpublished = ProductFactory(title="Unpublished Mug", slug="draft-mug-2", collection=shelf["mugs"])
        retired = ProductFactory(title="Retired Mug", slug="old-mug-2", collection=shelf["mugs"])
        services.product_set_status(products=Product.objects.filter(pk=unpublished.pk), status=DRAFT)
        services.product_set_status(products=Product.objects.filter(pk=retired.pk), status=ARCHIVED)
        rows = {row["id"]: row for row in results(api.get("/api/products/sync/"))}
        assert set(rows) == {shelf["active"].pk, unpublished.pk, retired.pk}
        active = rows[shelf["active"].pk]
        assert (active["status"], active["removed"], active["title"]) == ("active", False, "Active Mug")
        draft = rows[unpublished.pk]
        assert draft == {
            "id": unpublished.pk,
            "sku": unpublished.sku,
            "slug": "draft-mug-2",
            "status": "draft",
            "removed": True,
            "last_update": draft["last_update"],
        }

    def test_unpublishing_moves_the_product_past_a_saved_cursor(self, api, shelf):
        body = api.get("/api/products/sync/").json()
        while body["next"]:
            body = api.get(body["next"]).json()
        cursor = body["cursor"]
        assert results(api.get("/api/products/sync/", {"cursor": cursor})) == []
        services.product_set_status(products=Product.objects.filter(pk=shelf["active"].pk), status=ARCHIVED)
        (row,) = results(api.get("/api/products/sync/", {"cursor": cursor}))
        assert (row["id"], row["status"], row["removed"]) == (shelf["active"].pk, "archived", True)
        assert "title" not in row
