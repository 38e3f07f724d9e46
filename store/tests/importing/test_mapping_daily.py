"""Mapping supplier files every day (issue 20 §3): the preview links back to its mapping, guesses know
common supplier headers, the decimal comma is read from the sample prices, and --map compares names
ignoring case, spaces and punctuation."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from store.importing.mapping import IGNORE, guess_convention, guess_mapping, parse_map_option
from store.importing.service import import_storage, plan_exists
from store.models import ImportJob, Product

pytestmark = pytest.mark.django_db

SUPPLIER = Path(__file__).parents[1] / "data" / "supplier_semicolon.csv"
SUPPLIER_HEADER = ["Supplier Code", "Product Name", "Description", "Price", "Qty", "Category", "Colour"]
IMPORT = "/admin/store/product/import/"


def upload(client, path: Path = SUPPLIER):
    with path.open("rb") as handle:
        payload = {"preset": "auto", "encoding": "", "file": SimpleUploadedFile(path.name, handle.read())}
    return client.post(IMPORT, payload)


def mapping_post(targets, **data) -> dict[str, str]:
    post = {f"column_{position}": target for position, target in enumerate(targets)}
    post.update({"decimal": ",", "thousands": "point", "collection_separator": "/", "_map": "1"})
    post.update(data)
    return post


# --- The preview links back to its mapping ------------------------------------------------------
def test_the_preview_of_a_mapped_file_goes_back_to_its_mapping(admin_client):
    mapping_url = upload(admin_client).url
    wrong = ("sku", "title", "description", "unit_price", IGNORE, "collection", IGNORE)  # Qty forgotten
    preview_url = admin_client.post(mapping_url, mapping_post(wrong)).url
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_PREVIEW
    assert job.upload  # kept: the preview can go back
    preview = admin_client.get(preview_url).content.decode()
    assert 'name="_remap" value="Change the mapping"' in preview
    assert job.error_count == 20  # inventory: required for a new product

    back = admin_client.post(preview_url, {"_remap": "1"})
    assert back.status_code == 302
    assert back.url == mapping_url
    job.refresh_from_db()
    assert (job.status, job.error_count) == (ImportJob.STATUS_MAPPING, 0)
    assert not plan_exists(job)
    page = admin_client.get(mapping_url)
    form = page.context["form"]
    assert [field.value() for field in form.column_fields()] == list(wrong)  # the choices made, not guesses
    assert (form["decimal"].value(), form["thousands"].value(), form["collection_separator"].value()) == (
        ",",
        "point",
        "/",
    )

    fixed = ("sku", "title", "description", "unit_price", "inventory", "collection", IGNORE)
    preview_url = admin_client.post(mapping_url, mapping_post(fixed)).url
    job.refresh_from_db()
    assert (job.status, job.error_count, job.created_count) == (ImportJob.STATUS_PREVIEW, 0, 20)
    upload_name = job.upload
    assert admin_client.post(preview_url, {"_confirm": "1"}).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_SUCCEEDED
    assert Product.objects.get(sku="SUP-1016").inventory == 2400
    assert not job.upload
    assert not import_storage().exists(upload_name)


def test_cancelling_a_mapped_preview_drops_its_upload(admin_client):
    mapping_url = upload(admin_client).url
    targets = ("sku", "title", "description", "unit_price", "inventory", "collection", IGNORE)
    preview_url = admin_client.post(mapping_url, mapping_post(targets)).url
    job = ImportJob.objects.get()
    upload_name = job.upload
    assert import_storage().exists(upload_name)
    admin_client.post(preview_url, {"_cancel": "1"})
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_CANCELLED
    assert not job.upload
    assert not import_storage().exists(upload_name)


def test_a_confirmed_preview_cannot_go_back(admin_client):
    mapping_url = upload(admin_client).url
    targets = ("sku", "title", "description", "unit_price", "inventory", "collection", IGNORE)
    preview_url = admin_client.post(mapping_url, mapping_post(targets)).url
    admin_client.post(preview_url, {"_confirm": "1"})
    response = admin_client.post(preview_url, {"_remap": "1"}, follow=True)
    assert "cannot go back to its column mapping: it is imported" in response.content.decode()
    assert ImportJob.objects.get().status == ImportJob.STATUS_SUCCEEDED


# --- Guesses know common supplier headers -------------------------------------------------------
def test_the_guesser_knows_supplier_headers():
    header = ["Article No.", "Designation", "Retail price", "Product group", "EAN", "Stock on hand"]
    assert guess_mapping(header) == ["sku", "title", "unit_price", "collection", "barcode", "inventory"]
    # A barcode is the product key only when no other column is: wherever it stands. Else it is the barcode.
    assert guess_mapping(["EAN", "Designation", "RRP", "Art.-Nr."]) == ["barcode", "title", "unit_price", "sku"]
    assert guess_mapping(["EAN", "Designation", "RRP"]) == ["sku", "title", "unit_price"]
    assert guess_mapping(["Barcode", "Name", "Price"]) == ["sku", "title", "unit_price"]
    assert guess_mapping(["Barcode", "SKU", "Brand"]) == ["barcode", "sku", "vendor"]
    assert guess_mapping(["ItemCode", "UnitPrice", "QTY", "ProductGroup"]) == [
        "sku",
        "unit_price",
        "inventory",
        "collection",
    ]


def test_the_mapping_page_guesses_supplier_headers(admin_client, write_csv):
    path = write_csv(
        [["A-1", "Mug", "12,50", "Kitchen", "4006381333931", "3"]],
        header=["Article No.", "Designation", "Retail price", "Product group", "EAN", "Stock on hand"],
        delimiter=";",
    )
    page = admin_client.get(upload(admin_client, path).url)
    form = page.context["form"]
    assert [field.value() for field in form.column_fields()] == [
        "sku",
        "title",
        "unit_price",
        "collection",
        "barcode",
        "inventory",
    ]


# --- The decimal comma is read from the sample prices --------------------------------------------
def test_the_convention_is_read_from_the_sample_prices():
    targets = ["sku", "unit_price"]
    assert guess_convention(targets, [["A", "12,50"], ["B", "1.299,00"]]) == (",", ".")
    assert guess_convention(targets, [["A", "12,50"], ["B", "1 299,00"]]) == (",", " ")
    assert guess_convention(targets, [["A", "12,50"]]) == (",", ".")
    assert guess_convention(targets, [["A", "12.50"], ["B", "1,299.00"]]) == (".", ",")
    assert guess_convention(targets, [["A", "12,50"], ["B", "12.50"]]) == (".", ",")  # they disagree: no guess
    assert guess_convention(targets, [["A", "1,250"]]) == (".", ",")  # thousands or decimals? no guess
    assert guess_convention(["sku", IGNORE], [["A", "12,50"]]) == (".", ",")  # no price column


def test_the_mapping_page_proposes_the_decimal_comma_of_the_samples(admin_client):
    page = admin_client.get(upload(admin_client).url)
    form = page.context["form"]
    assert (form["decimal"].value(), form["thousands"].value()) == (",", "point")
    assert "Read from the first prices: 12,50, 49,90, 8,95." in page.content.decode()


# --- --map ignores case, spaces and punctuation, as its help says ---------------------------------
def test_map_matches_file_columns_ignoring_case_spaces_and_punctuation():
    spec = "SUPPLIERCODE=sku, productname=title, price = Unit Price, Q.T.Y=inventory, category=collection"
    assert parse_map_option(spec, SUPPLIER_HEADER) == [
        "sku",
        "title",
        IGNORE,
        "unit_price",
        "inventory",
        "collection",
        IGNORE,
    ]


def test_the_cli_imports_with_a_compact_map(tmp_path):
    out = StringIO()
    call_command(
        "import_products",
        str(SUPPLIER),
        "--map",
        "suppliercode=sku,PRODUCTNAME=title,Price=unit_price,qty=inventory,Category=collection",
        "--decimal-comma",
        "--collection-separator",
        "/",
        stdout=out,
    )
    assert Product.objects.count() == 20
    assert Product.objects.get(sku="SUP-1005").unit_price == Decimal("1299.00")
