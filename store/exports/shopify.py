"""Products in Shopify's product CSV layout: the file Shopify's own export writes and its import reads.

One Handle (the product's slug) per product, its rows one after the other:

- the first row carries the product (Title, Body (HTML), Vendor, Type, Tags, Published, the option
  names, SEO, Status), its first variant and its first image;
- each later row carries only the next variant (option values, SKU, price, stock, barcode...)
  and the next image;
- images beyond the variants have image-only rows (Handle, Image Src, Image Position, Alt Text).

A product without variants is one variant named as Shopify names it: option "Title", value
"Default Title". Weights are written as Shopify keeps them: grams (``Variant Grams``) and the
unit shown (``Variant Weight Unit``). ``store.importing.presets``' Shopify preset reads this layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from store.exports.products import PARENT, ExportItem, ExportRow
from store.fileformat.cells import money
from store.fileformat.columns import ImageUrls, images_column, product_column, product_columns
from store.models import OPTION_COUNT, Product

SHOPIFY_HEADER = (
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Published",
    *(f"Option{n} {part}" for n in range(1, OPTION_COUNT + 1) for part in ("Name", "Value")),
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "SEO Title",
    "SEO Description",
    "Variant Image",
    "Variant Weight Unit",
    "Cost per item",
    "Status",
)
#: Shopify's option of a product without variants, and its one value
DEFAULT_OPTION, DEFAULT_VALUE = "Title", "Default Title"
#: Shopify's inventory tracker of a variant whose stock it counts (blank: not counted)
TRACKER = "shopify"
GRAMS_PER_UNIT = {
    Product.WeightUnit.G: Decimal(1),
    Product.WeightUnit.KG: Decimal(1000),
    Product.WeightUnit.LB: Decimal("453.59237"),
    Product.WeightUnit.OZ: Decimal("28.349523125"),
}
GRAM_PLACES = Decimal("0.001")
#: the registered column whose cells are Shopify's Tags ("a, b"), when an app registers one
TAGS_COLUMN = "tags"


def grams(weight: Decimal | None, unit: str) -> str:
    """A weight in grams, as Shopify keeps it: whole grams when exact ("125"), else to the milligram."""
    if weight is None:
        return ""
    value = (weight * GRAMS_PER_UNIT[Product.WeightUnit(unit)]).quantize(GRAM_PLACES)
    return f"{value.normalize():f}" if value else "0"


def _money(value: Decimal | None) -> str:
    return "" if value is None else money(value)


def shopify_rows(items: Sequence[ExportItem]) -> list[list[Any]]:
    """The Shopify rows of a chunk's ``items``; their images and tags read for the chunk at once."""
    ids = [item.product.id for item in items]
    images = images_column.current(ids) if ids else {}
    variant_ids = [variant.id for item in items for variant in item.variants]
    variant_images = product_column("variant_image").current(variant_ids) if variant_ids else {}
    tags_column = next((column for column in product_columns() if column.name == TAGS_COLUMN), None)
    tags = tags_column.current(ids) if tags_column is not None and ids else {}
    rows: list[list[Any]] = []
    for item in items:
        tag_cell = tags_column.render(tags.get(item.product.id, tags_column.empty())) if tags_column else ""
        rows.extend(_product_rows(item, images.get(item.product.id, ImageUrls()), tag_cell, variant_images))
    return rows


def _product_rows(item: ExportItem, images: ImageUrls, tags: str, variant_images: dict[int, str]) -> list[list[Any]]:
    product = item.product
    if product.structure == PARENT or not item.listed:
        units: Sequence[ExportRow] = item.variants
        names = [getattr(product, f"option{n}_name") for n in range(1, OPTION_COUNT + 1)]
    else:
        units, names = (product,), [DEFAULT_OPTION, *[""] * (OPTION_COUNT - 1)]
    rows = []
    for index in range(max(len(units), len(images), 1)):
        row: dict[str, Any] = dict.fromkeys(SHOPIFY_HEADER, "")
        row["Handle"] = product.slug or ""
        if index == 0:
            row.update(_product_cells(product, names, tags))
        if index < len(units):
            unit = units[index]
            standalone = product.structure != PARENT
            row.update(_variant_cells(unit, standalone=standalone, image=variant_images.get(unit.id, "")))
        if index < len(images):
            url = images[index]
            row.update({"Image Src": url, "Image Position": index + 1, "Image Alt Text": images.alts.get(url, "")})
        rows.append(list(row.values()))
    return rows


def _product_cells(product: ExportRow, names: Sequence[str], tags: str) -> dict[str, Any]:
    cells = {
        "Title": product.title,
        "Body (HTML)": product.description,
        "Vendor": product.vendor,
        "Type": product.collection__title or "",
        "Tags": tags,
        "Published": "TRUE" if product.status == Product.Status.ACTIVE else "FALSE",
        "SEO Title": product.seo_title,
        "SEO Description": product.seo_description,
        "Status": product.status or "",
    }
    cells.update({f"Option{n} Name": name for n, name in enumerate(names, start=1)})
    return cells


def _variant_cells(unit: ExportRow, *, standalone: bool, image: str) -> dict[str, Any]:
    if standalone:
        values = [DEFAULT_VALUE, *[""] * (OPTION_COUNT - 1)]
    else:
        values = [getattr(unit, f"option{n}") for n in range(1, OPTION_COUNT + 1)]
    cells = {
        "Variant SKU": unit.sku,
        "Variant Grams": grams(unit.weight, unit.weight_unit),
        "Variant Inventory Tracker": TRACKER if unit.track_inventory else "",
        "Variant Inventory Qty": unit.inventory,
        "Variant Price": money(unit.unit_price),
        "Variant Compare At Price": _money(unit.compare_at_price),
        "Variant Barcode": unit.barcode,
        "Variant Image": image,
        "Variant Weight Unit": unit.weight_unit,
        "Cost per item": _money(unit.cost_per_item),
    }
    cells.update({f"Option{n} Value": value for n, value in enumerate(values, start=1)})
    return cells
