"""Contract of /api/collections/."""

import pytest

from store.tests.api.conftest import results
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_collection_exact_json(api):
    collection = CollectionFactory(title="Mugs")
    featured = ProductFactory(collection=collection)
    ProductFactory(collection=collection)
    collection.featured_product = featured
    collection.save()

    response = api.get(f"/api/collections/{collection.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": collection.pk,
        "title": "Mugs",
        "products_count": 2,
        "featured_product": featured.pk,
    }


def test_list_counts_products_and_allows_no_featured_product(api):
    empty = CollectionFactory(title="Empty")
    full = CollectionFactory(title="Full")
    ProductFactory.create_batch(3, collection=full)
    assert results(api.get("/api/collections/")) == [
        {"id": empty.pk, "title": "Empty", "products_count": 0, "featured_product": None},
        {"id": full.pk, "title": "Full", "products_count": 3, "featured_product": None},
    ]


def test_search_and_ordering(api):
    bags = CollectionFactory(title="Bags")
    books = CollectionFactory(title="Books")
    CollectionFactory(title="Toys")
    ProductFactory.create_batch(2, collection=books)
    assert [row["id"] for row in results(api.get("/api/collections/", {"search": "b"}))] == [bags.pk, books.pk]
    by_count = results(api.get("/api/collections/", {"ordering": "-products_count"}))
    assert by_count[0]["id"] == books.pk
    assert [row["title"] for row in results(api.get("/api/collections/", {"ordering": "-title"}))] == [
        "Toys",
        "Books",
        "Bags",
    ]


def test_collections_paginate_like_products(api):
    CollectionFactory.create_batch(11)
    body = api.get("/api/collections/").json()
    assert body["count"] == 11
    assert len(body["results"]) == 10
    assert len(results(api.get("/api/collections/", {"page_size": 100}))) == 11


@pytest.mark.parametrize("micro_cache_seconds", [0, 5])
def test_collection_queries(api, settings, django_assert_num_queries, micro_cache_seconds):
    settings.CATALOG_API_CACHE_SECONDS = micro_cache_seconds
    for _ in range(5):
        ProductFactory.create_batch(2, collection=CollectionFactory())
    # count + page with the annotation (+ the catalog version, the micro-cache's key)
    with django_assert_num_queries(3 if micro_cache_seconds else 2):
        assert len(results(api.get("/api/collections/"))) == 5
