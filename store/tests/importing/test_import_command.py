"""python manage.py import_products: exit codes, summary, failed-rows path, ImportJob."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from store.models import ImportJob, Product

pytestmark = pytest.mark.django_db

GOOD = [{"sku": "C-1", "title": "One", "unit_price": "5", "inventory": "1", "collection": "Cli"}]


def run(*args) -> str:
    out = StringIO()
    call_command("import_products", *map(str, args), stdout=out)
    return out.getvalue()


def test_success_prints_a_summary_and_records_a_job(write_csv):
    output = run(write_csv(GOOD))
    assert "Imported: 1 new, 0 updated, 0 unchanged, 0 skipped." in output
    assert "│    1 │   1 │" in output
    job = ImportJob.objects.get()
    assert (job.source, job.status, job.preset, job.user) == ("cli", "succeeded", "native", None)
    assert Product.objects.count() == 1


def test_errors_exit_non_zero_with_the_failed_rows_path(write_csv):
    path = write_csv(GOOD + [{**GOOD[0], "sku": "C-2", "inventory": "-1"}])
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_products", str(path), stdout=out)
    assert raised.value.returncode == 2
    job = ImportJob.objects.get()
    assert f"Failed rows (original columns + error): {job.failed_rows.path}" in out.getvalue()
    assert "│ 3   │ inventory │ -1    │ negative inventory │" in out.getvalue()
    assert not Product.objects.exists()


def test_dry_run_and_skip_invalid(write_csv):
    path = write_csv(GOOD + [{**GOOD[0], "sku": "C-2", "unit_price": "0"}])
    with pytest.raises(CommandError):
        run(path, "--dry-run")
    assert not Product.objects.exists()
    with pytest.raises(CommandError):
        run(path, "--skip-invalid")
    assert list(Product.objects.values_list("sku", flat=True)) == ["C-1"]
    assert ImportJob.objects.first().status == ImportJob.STATUS_PARTIAL


def test_preset_encoding_and_progress_on_bigger_files(write_csv):
    rows = [{**GOOD[0], "sku": f"C-{i}", "title": f"Café {i}"} for i in range(2500)]
    output = run(write_csv(rows, encoding="cp1252"), "--preset", "native", "--encoding", "cp1252")
    assert "2500 new" in output
    assert Product.objects.filter(title="Café 7").exists()


def test_file_level_errors_and_missing_file(write_bytes):
    with pytest.raises(CommandError, match="No such file"):
        run("/nonexistent.csv")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_products", str(write_bytes(b"")), stdout=out)
    assert "The file is empty." in out.getvalue()
