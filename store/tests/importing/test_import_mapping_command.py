"""import_products --map / --profile / conventions, and mapped files as background jobs."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from store.importing.mapping import IGNORE, ColumnMapping, import_profile_save
from store.management.commands.import_products import Command
from store.models import ImportJob, ImportProfile, Product

SUPPLIER = Path(__file__).parents[1] / "data" / "supplier_semicolon.csv"
SUPPLIER_HEADER = ("Supplier Code", "Product Name", "Description", "Price", "Qty", "Category", "Colour")
MAP = "Supplier Code=sku,Product Name=title,Price=unit_price,Qty=inventory,Category=collection"


def run(*args) -> str:
    out = StringIO()
    call_command("import_products", *map(str, args), stdout=out)
    return out.getvalue()


def acme() -> ImportProfile:
    return import_profile_save(
        name="Acme",
        mapping=ColumnMapping(
            header=SUPPLIER_HEADER,
            targets=("sku", "title", "description", "unit_price", "inventory", "collection", IGNORE),
            decimal=",",
            thousands=".",
            collection_separator="/",
        ),
    )


@pytest.mark.django_db
def test_map_with_a_decimal_comma_imports_exact_prices():
    output = run(SUPPLIER, "--map", MAP, "--decimal-comma", "--collection-separator", "/")
    assert "Imported: 20 new, 0 updated" in output
    assert "Note: Columns mapped: Supplier Code → sku, Product Name → title, Price → unit_price" in output
    assert Product.objects.get(sku="SUP-1005").unit_price == Decimal("1299.00")
    assert Product.objects.get(sku="SUP-1001").unit_price == Decimal("12.50")
    assert Product.objects.get(sku="SUP-1003").inventory == 1250
    assert Product.objects.get(sku="SUP-1003").collection.title == "Home > Kitchen > Textiles"
    job = ImportJob.objects.get()
    assert (job.preset, job.status) == ("mapped", "succeeded")
    assert job.column_mapping["decimal"] == ","


@pytest.mark.django_db
def test_explicit_decimal_and_thousands_flags():
    run(SUPPLIER, "--map", MAP, "--decimal", ",", "--thousands", ".", "--dry-run")
    assert ImportJob.objects.get().status == ImportJob.STATUS_DRY_RUN


@pytest.mark.django_db
def test_without_the_convention_decimal_commas_are_refused_row_by_row():
    with pytest.raises(CommandError):
        run(SUPPLIER, "--map", MAP, "--collection-separator", "/")
    assert not Product.objects.exists()
    assert ImportJob.objects.get().error_count == 20


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "Code=sku"], "The file has no column 'Code'; its columns are: Supplier Code, Product Name"),
        (["--map", "Supplier Code=sku,Price=cost"], "Unknown product column 'cost' for file column 'Price'"),
        (["--map", "Product Name=title"], "No file column is mapped to sku"),
        (["--map", "Supplier Code=sku,Product Name=sku"], "sku is chosen for more than one file column"),
        (["--profile", "Nobody"], "No import profile named 'Nobody'. Saved profiles: (none)."),
        (["--map", MAP, "--profile", "Acme"], "Use --map or --profile, not both."),
        (["--map", MAP, "--decimal", ",", "--thousands", "comma"], "must differ"),
        (["--map", MAP, "--preset", "native"], "drop --preset"),
    ],
)
def test_mapping_mistakes_stop_before_any_row_is_read(args, message):
    with pytest.raises(CommandError) as refused:
        run(SUPPLIER, *args)
    assert message in str(refused.value)
    assert not ImportJob.objects.exists()  # nothing recorded, nothing read or written
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_conventions_on_a_known_format_are_refused(write_csv):
    path = write_csv([{"sku": "N-1", "title": "x", "unit_price": "5", "inventory": "1", "collection": "C"}])
    with pytest.raises(CommandError, match="apply to mapped files"):
        run(path, "--decimal-comma")
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_named_profile_maps_the_file():
    acme()
    output = run(SUPPLIER, "--profile", "Acme")
    assert "Mapped with the import profile «Acme»." in output
    assert Product.objects.count() == 20
    assert ImportJob.objects.get().profile.name == "Acme"


@pytest.mark.django_db
def test_a_saved_header_uses_its_profile_automatically_and_says_so():
    acme()
    output = run(SUPPLIER)
    assert "The header matches the import profile «Acme»: mapped with it." in output
    assert Product.objects.get(sku="SUP-1018").unit_price == Decimal("1049.00")


@pytest.mark.django_db
def test_an_unknown_header_without_a_profile_suggests_map(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("Code;Label\nA;B\n", encoding="utf-8")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_products", str(path), stdout=out)
    assert "The header matches no known format" in out.getvalue()
    assert "--map" in out.getvalue()


def test_help_documents_the_mapping_flags():
    text = Command().create_parser("manage.py", "import_products").format_help()
    for flag in ("--map", "--profile", "--decimal-comma", "--decimal", "--thousands", "--collection-separator"):
        assert flag in text


# --- Large files: the mapping reaches the worker ------------------------------------------
@pytest.fixture
def limit(settings):
    settings.IMPORT_INLINE_MAX_ROWS = 5
    return settings


@pytest.mark.django_db(transaction=True)
def test_a_large_mapped_file_is_previewed_by_a_worker_with_its_mapping(admin_client, limit):
    with SUPPLIER.open("rb") as handle:
        response = admin_client.post("/admin/store/product/import/", {"file": handle, "preset": "auto", "encoding": ""})
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_MAPPING
    post = {
        f"column_{n}": target
        for n, target in enumerate(("sku", "title", "description", "unit_price", "inventory", "collection", ""))
    }
    # No profile saved: the worker can only know the mapping from the job.
    post.update(decimal=",", thousands="point", collection_separator="/")
    response = admin_client.post(response.url, post)
    job.refresh_from_db()
    assert response.status_code == 302
    assert job.is_background
    # The immediate task backend ran the preview in the worker's code path, with the stored mapping.
    assert job.status == ImportJob.STATUS_PREVIEW, job.message
    assert job.column_mapping["decimal"] == ","
    assert (job.rows_total, job.created_count, job.error_count) == (20, 20, 0)
    assert job.profile is None
    preview = admin_client.get(f"/admin/store/product/import/{job.pk}/")
    assert "Columns mapped: Supplier Code → sku" in preview.content.decode()
    admin_client.post(f"/admin/store/product/import/{job.pk}/", {"_confirm": "1"})
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_SUCCEEDED
    assert Product.objects.get(sku="SUP-1005").unit_price == Decimal("1299.00")
    assert Product.objects.count() == 20


@pytest.mark.django_db(transaction=True)
def test_cli_background_carries_the_mapping(limit):
    output = run(SUPPLIER, "--map", MAP, "--decimal-comma", "--collection-separator", "/", "--background")
    job = ImportJob.objects.get()
    assert f"Import #{job.pk} queued" in output
    assert job.status == ImportJob.STATUS_SUCCEEDED, job.message
    assert Product.objects.get(sku="SUP-1001").unit_price == Decimal("12.50")
