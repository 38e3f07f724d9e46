"""Shopify exports: a Handle is one product; its Option1-3 make variants; its images are stored once,
on the product; the store fields (vendor, barcode, compare-at, cost, weight, SEO) are kept."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from store.importing import presets
from store.importing.service import product_import
from store.models import Product, ProductImageSource
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

TEMPLATE = Path(__file__).parents[1] / "data" / "shopify_template.csv"
IMG = "https://cdn.shopify.com/s/files/1/example/{}.jpg"


def test_a_shopify_template_imports_products_with_variants_and_their_images_once():
    outcome = product_import(path=TEMPLATE, file_name=TEMPLATE.name)
    assert outcome.plan.errors == []
    assert outcome.job.rows_total == 12  # the file's rows, not the products with variants the preset adds
    tee = Product.objects.get(slug="example-t-shirt")
    assert (tee.sku, tee.structure, tee.title, tee.option_names) == (
        "example-t-shirt",
        "parent",
        "Example T-Shirt",
        ["Color", "Size"],
    )
    assert (tee.vendor, tee.seo_title, tee.seo_description, tee.collection.title) == (
        "Acme",
        "Example tee",
        "Our softest tee",
        "Shirts",
    )
    assert tee.variants.count() == 6
    # its 4 images, once, in Image Position order (the variants' images are among them)
    urls = list(ProductImageSource.objects.filter(product=tee).order_by("position").values_list("url", flat=True))
    assert urls == [IMG.format(name) for name in ("tee-front", "tee-back", "tee-green", "tee-blue")]
    assert ProductImageSource.objects.count() == 4 + 1 + 6  # the T-shirt's, the mug's, and 6 variant image links
    assert not ProductImageSource.objects.filter(product__structure="variant", state="pending").exists()
    gs = Product.objects.get(sku="EX-TEE-GS")
    assert (gs.title, gs.option_values, gs.unit_price, gs.inventory, gs.barcode, gs.compare_at_price) == (
        "Green / S",
        ["Green", "S"],
        Decimal("25.00"),
        1,
        "4006381333931",
        Decimal("30.00"),
    )
    assert (gs.cost_per_item, gs.weight, gs.weight_unit) == (Decimal("7.50"), Decimal("0.200"), "kg")
    assert ProductImageSource.objects.get(product=gs).url == IMG.format("tee-green")
    # an internal code is not a barcode, a compare-at price not above the price no reduction: listed
    gm = Product.objects.get(sku="EX-TEE-GM")
    assert (gm.barcode, gm.compare_at_price) == ("", None)
    assert f"Variant Barcode not imported on 1 row(s) (3): {presets.WHY_BARCODE}" in outcome.plan.notes
    assert f"Variant Compare At Price not imported on 1 row(s) (3): {presets.WHY_COMPARE_AT}" in outcome.plan.notes
    # "Title: Default Title" is a product without variants; its grams in the unit the shop shows
    mug = Product.objects.get(sku="EX-MUG")
    assert (mug.structure, mug.title, mug.weight, mug.weight_unit) == (
        "standalone",
        "Example Mug",
        Decimal("1.001"),
        "lb",
    )
    gift = Product.objects.get(sku="gift-card")
    assert sorted(gift.variants.values_list("option1", flat=True)) == ["$10", "$25"]
    for column in (
        "Vendor",
        "Variant Barcode",
        "Variant Compare At Price",
        "Cost per item",
        "SEO Title",
        "Variant Grams",
    ):
        assert column not in next(note for note in outcome.plan.notes if note.startswith("Ignored columns"))
    # importing the same file again changes nothing: the product is found by its Handle (its slug)
    again = product_import(path=TEMPLATE, file_name=TEMPLATE.name)
    assert (again.plan.errors, again.job.created_count, again.job.updated_count) == ([], 0, 0)


def test_a_new_products_sku_is_its_handle_unless_taken(write_csv):
    ProductFactory(sku="tee", title="Someone else's tee")
    header = [
        "Handle",
        "Title",
        "Type",
        "Option1 Name",
        "Option1 Value",
        "Variant SKU",
        "Variant Price",
        "Variant Inventory Qty",
    ]
    rows = [["tee", "Tee", "Shirts", "Size", "S", "TEE-S", "9.00", "1"], ["tee", "", "", "", "M", "TEE-M", "9.00", "1"]]
    outcome = product_import(path=write_csv(rows, header=header), file_name="f.csv")
    assert outcome.plan.errors == []
    tee = Product.objects.get(slug="tee", structure="parent")
    assert tee.sku == "tee-P2"
    assert sorted(tee.variants.values_list("sku", flat=True)) == ["TEE-M", "TEE-S"]
