"""Property-based: any catalog, exported by the admin and imported again, leaves the database unchanged.

Titles and descriptions get commas, quotes, newlines, unicode, leading formula
characters and apostrophes; prices run up to 99,999,999.99. Some products have variants (one to
three options, their values as tricky as the titles, each variant with its own price, stock,
codes, weight and maybe one of its product's images). The export is the admin's own download
(CSV, CSV for Excel, XLSX); the import is the real service.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.importing.service import product_import
from store.models import Collection, ImportJob, Product, ProductImage, ProductImageSource, Promotion

pytestmark = pytest.mark.django_db

TRICKY = [
    ",",
    ";",
    '"',
    '""',
    "'",
    "\n",
    "\r\n",
    "\t",
    "=",
    "+",
    "-",
    "@",
    "'=",
    "=SUM(A1)",
    "é",
    "Ω",
    "😀",
    "\u00a0",
    "\ufeff",
    "1,000",
    "12,50",
    " ",
    "[/oops]",
    "<b>",
]
TEXT = st.lists(
    st.one_of(st.sampled_from(TRICKY), st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=8)),
    max_size=6,
).map("".join)
# XLSX is XML, whose parsers turn CR LF and lone CR into LF: carriage returns survive CSV only.
XLSX_TEXT = TEXT.map(lambda text: text.replace("\r\n", "\n").replace("\r", "\n"))


def titles(text):
    return text.map(lambda value: value.strip()[:255]).filter(bool)


KEY = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."), min_size=1, max_size=20)
PRICE = st.one_of(
    st.sampled_from([Decimal("1.00"), Decimal("1000.00"), Decimal("12345678.90"), Decimal("99999999.99")]),
    st.decimals(min_value=Decimal("1.00"), max_value=Decimal("99999999.99"), places=2),
)
INVENTORY = st.one_of(st.sampled_from([0, 1, 1000, 2_147_483_647]), st.integers(0, 2_147_483_647))
AMOUNT = st.one_of(st.none(), st.decimals(min_value=Decimal("0.00"), max_value=Decimal("99999999.99"), places=2))
WEIGHT = st.one_of(
    st.none(),
    st.sampled_from([Decimal("0.000"), Decimal("0.125"), Decimal("9999999.999")]),
    st.decimals(min_value=Decimal("0.000"), max_value=Decimal("9999999.999"), places=3),
)
BARCODE = st.sampled_from(["", "96385074", "036000291452", "4006381333931", "10012345678902"])


def optional_text(text, limit: int):
    return text.map(lambda value: value.strip()[:limit])


def folded(values) -> tuple[str, ...]:
    return tuple(value.casefold() for value in values)


@st.composite
def variant_sets(draw, text, images: int) -> dict:
    """A product's options (1 to 3 names) and its variants (distinct combinations of their values)."""
    option = titles(text).map(lambda value: value[:64].strip()).filter(bool)
    names = draw(st.lists(option, min_size=1, max_size=3, unique_by=str.casefold))
    combinations = draw(st.lists(st.tuples(*[option] * len(names)), min_size=1, max_size=3, unique_by=folded))
    units = [
        {
            "values": values,
            "unit_price": draw(PRICE),
            "inventory": draw(INVENTORY),
            "track_inventory": draw(st.booleans()),
            "barcode": draw(BARCODE),
            "compare_at_extra": draw(AMOUNT),
            "cost_per_item": draw(AMOUNT),
            "weight": draw(WEIGHT),
            "weight_unit": draw(st.sampled_from(Product.WeightUnit.values)),
            "image": draw(st.none() | st.integers(0, images - 1)) if images else None,
        }
        for values in combinations
    ]
    return {"names": names, "units": units}


@st.composite
def catalogs(draw, text=TEXT) -> dict:
    skus = draw(st.lists(KEY, min_size=1, max_size=6, unique_by=str.casefold))
    collections = draw(st.lists(titles(text), min_size=1, max_size=3, unique_by=str.casefold))
    products = [
        {
            "sku": sku,
            "title": draw(titles(text)),
            "description": draw(text),
            "unit_price": draw(PRICE),
            "inventory": draw(INVENTORY),
            "collection": draw(st.integers(0, len(collections) - 1)),
            "promotions": draw(st.sets(st.integers(0, 2), max_size=3)),
            "status": draw(st.sampled_from(Product.Status.values)),
            # the fields stores keep (issue 21): each a column of the table, so they travel too
            "vendor": draw(optional_text(text, 255)),
            "barcode": draw(BARCODE),
            "compare_at_extra": draw(AMOUNT),  # compare-at = price + this (it must exceed the price)
            "cost_per_item": draw(AMOUNT),
            "weight": draw(WEIGHT),
            "weight_unit": draw(st.sampled_from(Product.WeightUnit.values)),
            "seo_title": draw(optional_text(text, 255)),
            "seo_description": draw(optional_text(text, 320)),
            # image source URLs (None: an upload, exported as its absolute storage URL)
            "images": draw(
                st.lists(
                    st.sampled_from([None, "https://cdn.example.com/a.png?v=1,2", "http://img.example.org/x y/b.jpg"]),
                    max_size=3,
                    unique=True,
                )
            ),
        }
        for sku in skus
    ]
    for product in products:
        product["variants"] = draw(st.none() | variant_sets(text, len(product["images"])))
    return {"collections": collections, "products": products}


def snapshot() -> tuple:
    return (
        list(
            Product.objects.order_by("pk").values_list(
                "pk",
                "sku",
                "title",
                "slug",
                "description",
                "unit_price",
                "inventory",
                "collection_id",
                "version",
                "last_update",
                "vendor",
                "barcode",
                "compare_at_price",
                "cost_per_item",
                "weight",
                "weight_unit",
                "seo_title",
                "seo_description",
                "track_inventory",
                "structure",
                "parent_id",
                "option1_name",
                "option2_name",
                "option3_name",
                "option1",
                "option2",
                "option3",
                "variant_image_id",
            )
        ),
        list(Collection.objects.order_by("pk").values_list("pk", "title", "featured_product_id")),
        sorted(Product.promotions.through.objects.values_list("product_id", "promotion_id")),
        list(Product.objects.order_by("pk").values_list("status", flat=True)),
        list(ProductImage.objects.order_by("pk").values_list("product_id", "image", "source_url", "position")),
        ProductImageSource.objects.count(),
        Product.history.count(),
    )


def compare_at(row: dict) -> Decimal | None:
    extra = row["compare_at_extra"]
    if extra is None:
        return None
    return (
        min(row["unit_price"] + max(extra, Decimal("0.01")), Decimal("99999999.99"))
        if row["unit_price"] < Decimal("99999999.99")
        else None
    )


def create(catalog: dict) -> None:
    collections = [Collection.objects.create(title=title) for title in catalog["collections"]]
    promotions = [Promotion.objects.create(description=f"Promotion {i}", discount=Decimal("10")) for i in range(3)]
    for i, row in enumerate(catalog["products"]):
        variants = row["variants"]
        names = [*variants["names"], "", ""][:3] if variants else ["", "", ""]
        product = Product.objects.create(
            structure=Product.Structure.PARENT if variants else Product.Structure.STANDALONE,
            option1_name=names[0],
            option2_name=names[1],
            option3_name=names[2],
            track_inventory=not variants,
            sku=row["sku"],
            title=row["title"],
            slug=f"p-{i}",
            description=row["description"],
            unit_price=row["unit_price"],
            inventory=0 if variants else row["inventory"],
            collection=collections[row["collection"]],
            vendor=row["vendor"],
            # a product with variants holds no code of its own (its variants have theirs)
            barcode="" if variants else row["barcode"],
            compare_at_price=compare_at(row),
            cost_per_item=row["cost_per_item"],
            weight=row["weight"],
            weight_unit=row["weight_unit"],
            seo_title=row["seo_title"],
            seo_description=row["seo_description"],
        )
        product.promotions.set([promotions[index] for index in row["promotions"]])
        Product.objects.filter(pk=product.pk).update(status=row["status"])
        images = [
            ProductImage.objects.create(
                product=product, image=f"products/{product.pk}/{position}.png", source_url=url or "", position=position
            )
            for position, url in enumerate(row["images"])
        ]
        for j, unit in enumerate(variants["units"] if variants else ()):
            values = [*unit["values"], "", ""][:3]
            Product.objects.create(
                structure=Product.Structure.VARIANT,
                parent=product,
                sku=f"{row['sku']}~{j}",
                title=" / ".join(unit["values"]),
                slug=None,
                collection=None,
                status=None,
                option1=values[0],
                option2=values[1],
                option3=values[2],
                unit_price=unit["unit_price"],
                inventory=unit["inventory"],
                track_inventory=unit["track_inventory"],
                barcode=unit["barcode"],
                compare_at_price=compare_at(unit),
                cost_per_item=unit["cost_per_item"],
                weight=unit["weight"],
                weight_unit=unit["weight_unit"],
                variant_image=images[unit["image"]] if unit["image"] is not None else None,
            )


EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("export", ["csv", "csv_for_excel"])
@EXAMPLES
@given(catalog=catalogs())
def test_csv_export_then_import_leaves_the_database_unchanged(admin_client, export, catalog):
    round_trip(admin_client, catalog, "csv", "&bom=1" if export == "csv_for_excel" else "")


@EXAMPLES
@given(catalog=catalogs(text=XLSX_TEXT))
def test_xlsx_export_then_import_leaves_the_database_unchanged(admin_client, catalog):
    round_trip(admin_client, catalog, "xlsx", "")


def round_trip(admin_client, catalog: dict, file_format: str, extra: str) -> None:
    with transaction.atomic():
        create(catalog)
        before = snapshot()
        response = admin_client.get(f"/admin/store/product/export/?format={file_format}{extra}")
        assert response.status_code == 200
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"products.{file_format}"
            path.write_bytes(response.content)
            outcome = product_import(path=path, file_name=path.name)
        assert outcome.plan is not None, outcome.job.message
        assert outcome.plan.errors == []
        assert [update.changes for update in outcome.plan.updates] == []
        rows = sum(1 + len(row["variants"]["units"] if row["variants"] else ()) for row in catalog["products"])
        assert (outcome.job.status, outcome.job.created_count, outcome.job.unchanged_count) == (
            ImportJob.STATUS_SUCCEEDED,
            0,
            rows,
        )
        assert snapshot() == before
        transaction.set_rollback(True)
