"""On MariaDB outside a transaction (the CLI, a worker's job) an export streams its product rows
from a server-side cursor of a connection of its own (``product_row_chunks``): it writes exactly
the bytes of the path by id that it replaces (used inside a transaction and on SQLite), in the
queryset's order, with its variants, filters and every format (issue 22)."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.db import connection, transaction

from store.exports import products, resources
from store.exports.formats import write_stream
from store.exports.resources import ProductResource
from store.models import Product, ProductImage
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory
from store.tests.variants.conftest import make_parent, make_variant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "mysql", reason="a MariaDB server-side cursor"),
]


@pytest.fixture
def catalog() -> None:
    """Products made out of SKU order, a formula-like title, blanks, booleans, promotions, images,
    and a product with variants (their blank slugs and collections)."""
    kitchen, bath, promotion = (
        CollectionFactory(title="Kitchen"),
        CollectionFactory(title="Bath"),
        PromotionFactory.create(),
    )
    for number in (7, 3, 11, 1, 9, 5):
        product = ProductFactory.create(
            sku=f"P{number:02d}",
            title=f"=Mug {number}" if number == 3 else f"Mug {number}",
            collection=kitchen if number % 3 else bath,
            compare_at_price=Decimal("99.00") if number == 9 else None,
            track_inventory=number != 5,
            slug=f"mug-{number}",
            vendor="" if number == 11 else "Acme",
        )
        if number % 2:
            product.promotions.add(promotion)
        ProductImage.objects.create(product=product, image=f"p/{number}.png", source_url="", position=0)
    parent = make_parent(sku="P06", title="Tee", collection=kitchen)
    for colour in ("Green", "Blue"):
        make_variant(parent, colour, "M", unit_price=Decimal("18.00"), weight=Decimal("0.200"))


def export(queryset, file_format: str) -> bytes:
    resource, output = ProductResource.for_format(file_format), io.BytesIO()
    chunks = resource.iter_export_chunks(queryset, force_native_type=file_format == "xlsx")
    write_stream(output, file_format=file_format, headers=resource.export_headers(queryset), chunks=chunks)
    return output.getvalue()


@pytest.mark.parametrize("file_format", ["csv", "json", "shopify"])
@pytest.mark.parametrize(
    "query",
    [
        {"filter": {"parent": None}, "order": ("sku", "pk")},
        {"filter": {"title__contains": "M"}, "order": ("-title", "pk")},  # the variants "… / M" alone
    ],
)
def test_a_streamed_export_writes_the_bytes_of_the_export_by_id(catalog, monkeypatch, file_format, query):
    monkeypatch.setattr(resources, "EXPORT_CHUNK_SIZE", 3)
    streamed: list[int] = []
    stream = products._streamed_rows

    def spy(*args, **kwargs):
        for chunk in stream(*args, **kwargs):
            streamed.append(len(chunk))
            yield chunk

    monkeypatch.setattr(products, "_streamed_rows", spy)
    queryset = Product.objects.filter(**query["filter"]).order_by(*query["order"])
    with transaction.atomic():  # another connection would not see this transaction's writes: by id
        by_id = export(queryset, file_format)
    assert streamed == []
    assert export(queryset, file_format) == by_id
    assert sum(streamed) == queryset.count()
    assert max(streamed) == 3
