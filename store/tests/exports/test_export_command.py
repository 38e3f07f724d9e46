"""manage.py export_products: the admin export's bytes, streamed to a file."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from store.exports.formats import render
from store.exports.resources import ProductResource
from store.models import Product
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    hoodies = CollectionFactory(title="Hoodies")
    ProductFactory(sku="B-1", collection=hoodies, inventory=4)
    ProductFactory(sku="A-1", collection=hoodies, title="=1+1")
    ProductFactory(sku="C-1")
    return hoodies


def test_csv_of_the_catalog_equals_the_admin_export(products, tmp_path):
    out = io.StringIO()
    call_command("export_products", "--format", "csv", "--output", str(tmp_path / "p.csv"), stdout=out)
    expected = render(ProductResource().export(queryset=Product.objects.order_by("sku")), file_format="csv")
    assert (tmp_path / "p.csv").read_bytes() == expected
    assert f"3 products written to {tmp_path / 'p.csv'} in" in out.getvalue()
    assert not list(tmp_path.glob("*.part"))


def test_one_collection_as_json_and_xlsx(products, tmp_path):
    call_command(
        "export_products",
        "--format",
        "json",
        "--collection",
        str(products.pk),
        "--output",
        str(tmp_path / "p.json"),
        stdout=io.StringIO(),
    )
    assert [row["sku"] for row in json.loads((tmp_path / "p.json").read_text())] == ["A-1", "B-1"]
    call_command(
        "export_products",
        "--format",
        "xlsx",
        "--collection",
        str(products.pk),
        "--output",
        str(tmp_path / "p.xlsx"),
        stdout=io.StringIO(),
    )
    sheet = load_workbook(tmp_path / "p.xlsx").active
    assert [c.value for c in sheet[2]][:2] == ["A-1", "'=1+1"]
    assert sheet.max_row == 3


def test_unknown_collection_is_refused(products, tmp_path):
    with pytest.raises(CommandError, match="No collection with id 999999"):
        call_command("export_products", "--collection", "999999", "--output", str(tmp_path / "x.csv"))
    assert not (tmp_path / "x.csv").exists()
