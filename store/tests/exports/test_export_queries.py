"""An export's queries grow with its chunks, never with its rows (issue 22): each chunk of products is
read as rows by id, with its variants, promotions, images and other columns' rows, set-wise."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store.exports import resources
from store.exports.formats import write_stream
from store.exports.resources import ProductResource
from store.models import Product, ProductImage
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory
from store.tests.variants.conftest import make_parent, make_variant

pytestmark = pytest.mark.django_db

CHUNK = 10
#: the export's own reads: whether the catalog and the export have variants, the ids in one pass,
#: and (the native format) whether any product has promotions, images, tags
#: (``ProductColumn.export_any``, one each here)
FIXED = 6
#: a chunk's reads: its product rows, their variants, promotions, images (stored, then pending),
#: the variants' images (their ids, then their sources), other apps' columns (store_custom's tags)
PER_CHUNK = 8


def catalog(products: int) -> None:
    """``products`` products, every fifth with three variants, each with promotions and images."""
    collection, promotions = CollectionFactory.create(), PromotionFactory.create_batch(2)
    for number in range(products):
        if number % 5 == 0:
            product = make_parent(sku=f"P{number:04d}", collection=collection)
            for size in ("S", "M", "L"):
                make_variant(product, "Red", size, unit_price=Decimal("9.00"))
        else:
            product = ProductFactory.create(sku=f"P{number:04d}", collection=collection)
        product.promotions.add(*promotions)
        ProductImage.objects.create(product=product, image=f"p/{number}.png", source_url="", position=0)


def export(file_format: str) -> int:
    queryset = Product.objects.filter(parent=None).order_by("sku", "pk")
    resource = ProductResource.for_format(file_format)
    return write_stream(
        io.BytesIO(),
        file_format=file_format,
        headers=resource.export_headers(queryset),
        chunks=resource.iter_export_chunks(queryset, force_native_type=file_format == "xlsx"),
    )


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "shopify"])
@pytest.mark.parametrize("chunks", [1, 3])
def test_the_queries_of_an_export_grow_with_its_chunks_not_its_rows(
    monkeypatch, django_assert_max_num_queries, file_format, chunks
):
    monkeypatch.setattr(resources, "EXPORT_CHUNK_SIZE", CHUNK)
    catalog(CHUNK * chunks)
    with django_assert_max_num_queries(FIXED + PER_CHUNK * chunks):
        rows = export(file_format)
    parents = CHUNK * chunks // 5
    # native: each product's row and its variants'; Shopify: a row per variant (a product without: one)
    assert rows == CHUNK * chunks + 3 * parents - (parents if file_format == "shopify" else 0)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_a_chunk_reads_no_rows_of_columns_no_product_has(monkeypatch, file_format):
    """Without promotions, images or tags in the catalog (asked once, at the export's first chunk), a
    chunk is one query: its product rows."""
    monkeypatch.setattr(resources, "EXPORT_CHUNK_SIZE", CHUNK)
    ProductFactory.create_batch(CHUNK * 3, collection=CollectionFactory.create())
    queries = []
    for products in (CHUNK, CHUNK * 3):
        queryset = Product.objects.order_by("sku", "pk")[:products]
        resource = ProductResource()
        with CaptureQueriesContext(connection) as context:
            write_stream(
                io.BytesIO(),
                file_format=file_format,
                headers=resource.export_headers(queryset),
                chunks=resource.iter_export_chunks(queryset, force_native_type=file_format == "xlsx"),
            )
        queries.append(len(context.captured_queries))
    assert queries[1] - queries[0] == 2  # two chunks more, a query each
