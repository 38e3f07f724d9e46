"""Fixtures of the export tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from store.models import Product, ProductImage
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory
from store.tests.variants.conftest import make_parent, make_variant


@pytest.fixture
def variants_catalog(db) -> Product:
    """A mug without variants, and a T-shirt with six variants (Green/Blue × S/M/L), an image each colour."""
    tees = CollectionFactory(title="Tees")
    ProductFactory(sku="MUG", title="Mug", slug="mug", collection=CollectionFactory(title="Kitchen"), inventory=7)
    parent = make_parent(
        title="Example T-Shirt", sku="TS", slug="example-t-shirt", collection=tees, vendor="Acme", seo_title="Tee"
    )
    parent.promotions.add(PromotionFactory.create())
    green = ProductImage.objects.create(
        product=parent, image="products/ts/green.png", source_url="https://cdn.example.com/green.png", position=0
    )
    ProductImage.objects.create(
        product=parent, image="products/ts/blue.png", source_url="https://cdn.example.com/blue.png", position=1
    )
    for colour, price in (("Green", Decimal("18.00")), ("Blue", Decimal("24.00"))):
        for size in ("S", "M", "L"):
            make_variant(
                parent,
                colour,
                size,
                unit_price=price,
                barcode="4006381333931" if (colour, size) == ("Green", "S") else "",
                variant_image=green if colour == "Green" else None,
                weight=Decimal("0.200"),
            )
    return parent


def catalog_snapshot() -> list[tuple]:
    """Every product field, image and promotion, and the history's length: an import that changes nothing keeps it."""
    fields = [field.attname for field in Product._meta.concrete_fields]
    return [
        *Product.objects.order_by("pk").values_list(*fields),
        *ProductImage.objects.order_by("pk").values_list("product_id", "image", "source_url", "position"),
        *Product.promotions.through.objects.order_by("pk").values_list("product_id", "promotion_id"),
        (Product.history.count(),),
    ]
