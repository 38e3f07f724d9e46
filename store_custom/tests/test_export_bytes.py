"""Exports write the same bytes as before they read rows as tuples (issue 22), on a varied catalog.

The expected files in ``data/`` were written by the export of main at 996026d (products read as
model instances through django-import-export's resource), from ``varied_catalog`` below: products
with and without variants, a variant listed without its product, tags, promotions, stored and
pending images, formula-like cells, unicode, blanks, every number column. Promotions have fixed
ids so that the files hold the same ids on SQLite and MariaDB.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import QuerySet
from openpyxl import load_workbook

from store.exports.formats import render, write_stream
from store.exports.resources import ProductResource
from store.models import Product, ProductImage, ProductImageSource
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory
from store.tests.variants.conftest import make_parent, make_variant
from tags.models import TaggedItem
from tags.tests.factories import TagFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def tag(product: Product, *labels: str) -> None:
    for label in labels:
        TaggedItem.objects.create(tag=TagFactory.create(label=label), content_object=product)


@pytest.fixture
def varied_catalog(settings) -> None:
    settings.SITE_URL = "https://shop.example.com"
    kitchen, formula = (
        CollectionFactory.create(title="Küche & Café ☕"),
        CollectionFactory.create(title="=HYPERLINK(1)"),
    )
    summer = PromotionFactory.create(pk=9101, description="Summer", discount=Decimal("15.00"))
    winter = PromotionFactory.create(pk=9102, description="Winter", discount=Decimal("5.50"))
    mug = ProductFactory.create(
        sku="MUG-1",
        title='Mug, "big"\nline two',
        slug="mug-1",
        description="Line one\r\nLine two, with commas; and 'quotes'",
        unit_price=Decimal("1234567.50"),
        inventory=3,
        collection=kitchen,
        vendor="@vendor",
        barcode="4006381333931",
        compare_at_price=Decimal("1300000.00"),
        cost_per_item=Decimal("0.05"),
        weight=Decimal("0.125"),
        weight_unit=Product.WeightUnit.G,
        seo_title="+plus",
        seo_description="-minus",
    )
    mug.promotions.add(summer, winter)
    tag(mug, "Eco", "=SUM(A1)", "ünïcode")
    ProductImage.objects.create(product=mug, image="products/mug/a.png", source_url="", alt_text="A mug", position=0)
    ProductImage.objects.create(
        product=mug, image="products/mug/b.png", source_url="https://cdn.example.com/b.png", position=1
    )
    ProductImageSource.objects.create(
        product=mug, url="https://cdn.example.com/c.png", url_hash="c", position=2, alt_text="pending"
    )
    ProductFactory.create(
        sku="=FORMULA",
        title="'=already quoted",
        slug="formula",
        description="",
        unit_price=Decimal("1.00"),
        inventory=0,
        collection=formula,
        status=Product.Status.DRAFT,
        track_inventory=False,
        vendor="",
        weight=Decimal("12.000"),
        weight_unit=Product.WeightUnit.LB,
    )
    ProductFactory.create(
        sku="-5",
        title="\tTabbed",
        slug="minus-five",
        description="日本語の説明",
        unit_price=Decimal("7.10"),
        inventory=1000000,
        collection=kitchen,
        status=Product.Status.ARCHIVED,
    ).promotions.add(winter)
    tees = CollectionFactory.create(title="Tees")
    parent = make_parent(
        title="T-Shirt",
        sku="TS",
        slug="t-shirt",
        description="Soft <b>cotton</b>",
        collection=tees,
        vendor="Acme",
        seo_title="Tee",
    )
    parent.promotions.add(summer)
    tag(parent, "cotton")
    green = ProductImage.objects.create(
        product=parent, image="products/ts/green.png", source_url="https://cdn.example.com/green.png", position=0
    )
    for colour, price in (("Green", Decimal("18.00")), ("Blue", Decimal("24.50"))):
        for size in ("S", "M"):
            make_variant(
                parent,
                colour,
                size,
                unit_price=price,
                compare_at_price=price + 10 if size == "M" else None,
                barcode="4006381333931" if (colour, size) == ("Green", "S") else "",
                variant_image=green if colour == "Green" else None,
                weight=Decimal("0.200"),
            )
    hoodie = make_parent(title="Hoodie", sku="HD", slug="hoodie", description="", collection=formula)
    make_variant(hoodie, "Grey", "XL", sku="HD-GREY", unit_price=Decimal("45.00"), inventory=2)


def streamed(queryset: QuerySet[Product], file_format: str) -> bytes:
    resource = ProductResource.for_format(file_format)
    out = io.BytesIO()
    write_stream(
        out,
        file_format=file_format,
        headers=resource.export_headers(queryset),
        chunks=resource.iter_export_chunks(queryset, force_native_type=file_format == "xlsx"),
    )
    return out.getvalue()


def expected(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "file_format"),
    [("export_catalog.csv", "csv"), ("export_catalog_shopify.csv", "shopify"), ("export_catalog.json", "json")],
)
def test_the_streamed_export_writes_the_same_bytes(varied_catalog, name, file_format):
    assert streamed(Product.objects.filter(parent=None).order_by("sku", "pk"), file_format) == expected(name)


def test_a_list_of_variants_writes_the_same_bytes(varied_catalog):
    variants = Product.objects.filter(structure=Product.Structure.VARIANT).exclude(sku="TS-GS").order_by("-sku")
    assert streamed(variants, "csv") == expected("export_variants.csv")
    assert streamed(variants, "shopify") == expected("export_variants_shopify.csv")


def test_the_admin_export_and_the_command_write_the_same_bytes(varied_catalog, tmp_path):
    queryset = Product.objects.filter(parent=None).order_by("sku", "pk")
    assert render(ProductResource().export(queryset=queryset), file_format="csv") == expected("export_catalog.csv")
    call_command("export_products", "--format", "csv", "--output", str(tmp_path / "p.csv"), stdout=io.StringIO())
    assert (tmp_path / "p.csv").read_bytes() == expected("export_catalog.csv")


def test_the_xlsx_holds_the_csv_rows(varied_catalog):
    queryset = Product.objects.filter(parent=None).order_by("sku", "pk")
    sheet = load_workbook(io.BytesIO(streamed(queryset, "xlsx")), read_only=True).active
    cells = [["" if value is None else str(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    text_rows = list(csv.reader(io.StringIO(expected("export_catalog.csv").decode("utf-8"))))
    assert len(cells) == len(text_rows) == 11
    for sheet_row, text_row in zip(cells, text_rows, strict=True):
        # numbers are numbers in XLSX: "1234567.50" is 1234567.5 there
        assert [_number(cell) for cell in sheet_row] == [_number(cell) for cell in text_row]


def _number(cell: str) -> object:
    """A cell as both files mean it: a number, or its text (XML reads CR LF as LF)."""
    try:
        return Decimal(cell)
    except ArithmeticError:
        return cell.replace("\r\n", "\n")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "mysql", reason="a MariaDB server-side cursor")
def test_the_export_streamed_from_a_server_side_cursor_writes_the_same_bytes(varied_catalog, tmp_path):
    """Outside a transaction, on MariaDB, the product rows come from a server-side cursor of a
    connection of their own (``store.exports.products.product_row_chunks``), not by id."""
    assert not connection.in_atomic_block
    queryset = Product.objects.filter(parent=None).order_by("sku", "pk")
    assert streamed(queryset, "csv") == expected("export_catalog.csv")
    assert streamed(queryset, "shopify") == expected("export_catalog_shopify.csv")
    variants = Product.objects.filter(structure=Product.Structure.VARIANT).exclude(sku="TS-GS").order_by("-sku")
    assert streamed(variants, "csv") == expected("export_variants.csv")
    call_command("export_products", "--format", "csv", "--output", str(tmp_path / "p.csv"), stdout=io.StringIO())
    assert (tmp_path / "p.csv").read_bytes() == expected("export_catalog.csv")
