"""Native exports of products with variants: a product's row, then its variants' rows (decision 0017).

The admin's export of a list (as filtered, or selected), export jobs and the CLI write each
product with variants followed by its variants; a catalog without variants exports as before.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.storage import storages
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from store.exports import resources
from store.exports.formats import write_stream
from store.exports.jobs import export_needs_job
from store.exports.products import VARIANT_COLUMNS, VariantsAppeared, native_header
from store.exports.resources import ProductResource
from store.importing.service import product_import
from store.models import ExportJob, ImportJob, Product
from store.tests.exports.conftest import catalog_snapshot
from store.tests.factories import CollectionFactory, ProductFactory
from store.tests.variants.conftest import make_parent, make_variant
from store.variants.services import options_parse, product_options_save

pytestmark = pytest.mark.django_db

EXPORT = "admin:store_product_export"
CHANGELIST = "admin:store_product_changelist"


def read_csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_a_product_with_variants_is_its_row_then_its_variants_rows(admin_client, variants_catalog):
    response = admin_client.get(reverse(EXPORT), {"format": "csv", "filters": "o=3"})  # by SKU
    rows = read_csv(response.content)
    assert list(rows[0]) == native_header()
    assert [(row["sku"], row["product"]) for row in rows] == [
        ("MUG", ""),
        ("TS", ""),
        *((f"TS-{c}{s}", "TS") for c in "GB" for s in "SML"),
    ]
    mug, parent, green_s = rows[0], rows[1], rows[2]
    assert all(mug[name] == "" for name in VARIANT_COLUMNS)
    assert (mug["unit_price"], mug["inventory"], mug["collection"]) == ("19.99", "7", "Kitchen")
    # the product's row: what its variants share, and its option names; no price or stock of its own
    assert {name: parent[name] for name in ("title", "slug", "collection", "status", "vendor", "seo_title")} == {
        "title": "Example T-Shirt",
        "slug": "example-t-shirt",
        "collection": "Tees",
        "status": "active",
        "vendor": "Acme",
        "seo_title": "Tee",
    }
    assert (parent["option1_name"], parent["option2_name"], parent["option3_name"]) == ("Colour", "Size", "")
    assert parent["images"] == "https://cdn.example.com/green.png|https://cdn.example.com/blue.png"
    assert parent["promotions"] != ""
    blank_on_parent = ("unit_price", "inventory", "track_inventory", "barcode", "weight", "weight_unit", "option1")
    assert [parent[name] for name in blank_on_parent] == [""] * len(blank_on_parent)
    # a variant's row: what it sells, its option values and image; nothing of its product's
    assert {
        name: green_s[name]
        for name in ("title", "option1", "option2", "unit_price", "inventory", "track_inventory", "barcode", "weight")
    } == {
        "title": "Green / S",
        "option1": "Green",
        "option2": "S",
        "unit_price": "18.00",
        "inventory": "50",
        "track_inventory": "yes",
        "barcode": "4006381333931",
        "weight": "0.200",
    }
    assert green_s["variant_image"] == "https://cdn.example.com/green.png"
    assert rows[5]["variant_image"] == ""  # blue
    shared = ("slug", "description", "collection", "status", "promotions", "images", "vendor", "tags", "option1_name")
    assert [green_s[name] for name in shared] == [""] * len(shared)


def test_a_catalog_without_variants_exports_without_the_variant_columns(admin_client):
    ProductFactory(sku="A-1")
    rows = read_csv(admin_client.get(reverse(EXPORT), {"format": "csv"}).content)
    assert list(rows[0]) == native_header(with_variants=False)
    assert not set(VARIANT_COLUMNS) & set(rows[0])


def test_a_filtered_list_exports_its_products_variants(admin_client, variants_catalog):
    # the list searched, then filtered on a collection: the T-shirt, and its variants with it
    for filters in ("q=shirt", f"collection__pk__exact={variants_catalog.collection_id}"):
        rows = read_csv(admin_client.get(reverse(EXPORT), {"format": "csv", "filters": filters}).content)
        assert [row["sku"] for row in rows] == ["TS", *(f"TS-{c}{s}" for c in "GB" for s in "SML")], filters
    rows = read_csv(admin_client.get(reverse(EXPORT), {"format": "csv", "filters": "q=mug"}).content)
    assert [row["sku"] for row in rows] == ["MUG"]
    assert "product" not in rows[0]  # a list without products with variants: the file as before


def test_selected_products_export_their_variants(admin_client, variants_catalog):
    response = admin_client.post(
        reverse(CHANGELIST), {"action": "export_selected_xlsx", "_selected_action": [variants_catalog.pk]}
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    rows = [dict(zip(header, (cell.value for cell in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert [row["sku"] for row in rows] == ["TS", *(f"TS-{c}{s}" for c in "GB" for s in "SML")]
    assert (rows[1]["unit_price"], rows[1]["inventory"]) == (18, 50)
    assert not isinstance(rows[1]["unit_price"], str)  # numbers stay numbers in XLSX
    assert rows[0]["unit_price"] in ("", None)


def test_variants_listed_on_their_own_name_their_product_and_are_never_written_twice(variants_catalog):
    variants = Product.objects.filter(structure=Product.Structure.VARIANT, option1="Blue").order_by("pk")
    dataset = ProductResource().export(queryset=variants)
    assert [(row["sku"], row["product"], row["title"]) for row in dataset.dict] == [
        (f"TS-B{s}", "TS", f"Blue / {s}") for s in "SML"
    ]
    # the whole table (products and variants): each variant once, under its product
    everything = ProductResource().export(queryset=Product.objects.order_by("-pk"))
    skus = [row["sku"] for row in everything.dict]
    assert sorted(skus) == sorted(Product.objects.values_list("sku", flat=True))
    assert skus[skus.index("TS") + 1 : skus.index("TS") + 7] == [f"TS-{c}{s}" for c in "GB" for s in "SML"]


def test_the_inline_limit_and_a_jobs_progress_count_variant_rows(admin_client, variants_catalog, settings):
    settings.EXPORT_INLINE_MAX_ROWS = 7  # 2 products, but 8 rows
    queryset = Product.objects.filter(structure__in=("standalone", "parent"))
    resource = ProductResource()
    assert resource.export_row_count(queryset) == 8
    assert export_needs_job(queryset=queryset, resource=resource)
    response = admin_client.get(reverse(EXPORT), {"format": "csv"})
    job = ExportJob.objects.get()
    assert response.url == reverse("admin:store_exportjob_change", args=[job.pk])
    job.refresh_from_db()
    assert (job.state, job.rows_done, job.rows_total) == ("done", 8, 8)
    with storages["private"].open(job.file.name, "rb") as stored:
        rows = read_csv(stored.read())
    assert [row["product"] for row in rows] == ["", *["TS"] * 6, ""]  # by title: the T-shirt, then the mug


def test_the_cli_exports_each_products_variants_after_it(variants_catalog, tmp_path):
    out = io.StringIO()
    call_command("export_products", "--output", str(tmp_path / "p.csv"), stdout=out)
    rows = read_csv((tmp_path / "p.csv").read_bytes())
    assert [row["sku"] for row in rows] == ["MUG", "TS", *(f"TS-{c}{s}" for c in "GB" for s in "SML")]
    assert f"2 products (8 rows) written to {tmp_path / 'p.csv'}" in out.getvalue()


@pytest.mark.parametrize(
    ("file_format", "budget", "rows"),
    [
        # once: has variants (2), ids; per chunk: rows, collections, promotions, images (2), tags; and a
        # chunk with variants: their rows, their images (3)
        ("csv", 3 + 6 * 2 + 4, (15, 210)),
        # ids; per chunk: rows, collections, images (2), tags; and a chunk with variants: as above
        ("shopify", 1 + 5 * 2 + 4, (10, 205)),
    ],
)
def test_queries_stay_constant_whatever_the_variants(
    monkeypatch, django_assert_max_num_queries, file_format, budget, rows
):
    monkeypatch.setattr(resources, "EXPORT_CHUNK_SIZE", 5)
    collection = CollectionFactory()

    def stream() -> int:
        resource = ProductResource.for_format(file_format)
        queryset = Product.objects.filter(structure__in=("standalone", "parent")).order_by("sku")
        return write_stream(
            io.BytesIO(),
            file_format=file_format,
            headers=resource.export_headers(queryset),
            chunks=resource.iter_export_chunks(queryset),
        )

    for variants, expected in zip((1, 40), rows, strict=True):
        Product.objects.all().delete()
        for n in range(5):  # 2 chunks: 5 products with variants, then 5 without
            parent = make_parent(sku=f"P-{n}", slug=f"p-{n}", collection=collection)
            for v in range(variants):
                make_variant(parent, f"C{v}", "S", sku=f"P-{n}-{v}")
            ProductFactory(sku=f"S-{n}", collection=collection)
        with django_assert_max_num_queries(budget):
            assert stream() == expected


def test_variant_rows_under_a_header_without_the_variant_columns_are_refused(variants_catalog):
    resource = ProductResource()
    resource.export_headers()  # told nothing of the export: the header of a catalog without variants
    with pytest.raises(VariantsAppeared):
        list(resource.iter_export_chunks(Product.objects.all()))


# --- round trips: the export imports back with no change -------------------------------
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_with_variants_imports_back_unchanged(admin_client, variants_catalog, tmp_path, file_format):
    before = catalog_snapshot()
    content = admin_client.get(reverse(EXPORT), {"format": file_format}).content
    path = tmp_path / f"products.{file_format}"
    path.write_bytes(content)
    outcome = product_import(path=path, file_name=path.name)
    assert outcome.plan is not None, outcome.job.message
    assert outcome.plan.errors == []
    assert [update.changes for update in outcome.plan.updates] == []
    assert (outcome.job.status, outcome.job.created_count, outcome.job.unchanged_count) == (
        ImportJob.STATUS_SUCCEEDED,
        0,
        8,
    )
    assert catalog_snapshot() == before


def test_a_product_that_got_variants_keeps_its_barcode_through_a_round_trip(admin_client, tmp_path):
    mug = ProductFactory(sku="MUG", barcode="4006381333931")
    product_options_save(product=mug, options=options_parse("Colour: Red, Blue"), expected_version=mug.version)
    before = catalog_snapshot()
    path = tmp_path / "products.csv"
    path.write_bytes(admin_client.get(reverse(EXPORT), {"format": "csv"}).content)
    outcome = product_import(path=path, file_name=path.name)
    assert [update.changes for update in outcome.plan.updates] == []
    assert catalog_snapshot() == before
