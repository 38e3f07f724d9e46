"""Concurrent writers during an import confirm, on a real database file (issue 9, item 9).

SQLite allows one writer at a time. Without immediate transactions and a busy timeout,
product saves during a confirm failed with "database is locked", and parallel confirms of
one job left it "failed" with the plan's counts although nothing was written. The writers
run in a subprocess (store/tests/concurrent_writers.py): on SQLite against a file copy of
the test database, on MariaDB against the test database itself.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.urls import reverse

from store.importing import service, writing
from store.importing.service import product_import_confirm, product_import_preview
from store.models import ImportJob, Product
from store.tests.factories import CollectionFactory, ProductFactory

ROWS = 600
HEADER = ["sku", "title", "unit_price", "inventory", "collection"]


def _database_url(tmp_path: Path) -> str:
    """Where the subprocess finds this test's (committed) data."""
    if connection.vendor == "sqlite":
        copy = tmp_path / "db.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(copy)
        connection.connection.backup(target)
        target.close()
        return f"sqlite:///{copy}"
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"mysql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


def run_writers(tmp_path: Path, scenario: str, job: ImportJob, *product_ids: int) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": _database_url(tmp_path), "DJANGO_SETTINGS_MODULE": "backoffice.settings.test"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "store.tests.concurrent_writers",
            scenario,
            str(settings.STORAGES["private"]["OPTIONS"]["location"]),
            str(job.pk),
            *map(str, product_ids),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def read_back(tmp_path: Path, sql: str, *params) -> list[tuple]:
    """Read what the subprocess wrote (the SQLite copy, or the shared MariaDB test database)."""
    if connection.vendor == "sqlite":
        with sqlite3.connect(tmp_path / "db.sqlite3") as db:
            return db.execute(sql.replace("%s", "?"), params).fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


@pytest.fixture
def preview(write_csv):
    """A previewed (not yet confirmed) import of ROWS new products."""
    CollectionFactory(title="Bulk")
    rows = [[f"BULK-{n:05d}", f"Bulk item {n}", "9.50", "3", "Bulk"] for n in range(ROWS)]
    outcome = product_import_preview(path=write_csv(rows, header=HEADER), file_name="bulk.csv")
    assert outcome.job.status == ImportJob.STATUS_PREVIEW
    return outcome.job


@pytest.mark.django_db(transaction=True)
def test_product_saves_during_a_confirm_wait_instead_of_failing(preview, tmp_path):
    products = ProductFactory.create_batch(8, unit_price=Decimal("10.00"))

    results = run_writers(tmp_path, "confirm_and_saves", preview, *(p.pk for p in products))

    assert results == {"confirm": "written", **{f"save-{p.pk}": "saved" for p in products}}
    ids = ",".join(str(p.pk) for p in products)
    assert read_back(tmp_path, f"SELECT DISTINCT unit_price FROM store_product WHERE id IN ({ids})") in (
        [(77,)],
        [(Decimal("77.00"),)],
        [("77.00",)],
        [(77.0,)],
    )
    assert read_back(tmp_path, "SELECT COUNT(*) FROM store_product WHERE sku LIKE %s", "BULK-%") == [(ROWS,)]
    assert read_back(tmp_path, "SELECT status, created_count FROM store_importjob WHERE id = %s", preview.pk) == [
        (ImportJob.STATUS_SUCCEEDED, ROWS)
    ]


@pytest.mark.django_db(transaction=True)
def test_three_parallel_confirms_write_once_and_two_are_refused(preview, tmp_path):
    results = run_writers(tmp_path, "triple_confirm", preview)

    outcomes = sorted(results.values())
    assert outcomes.count("written") == 1, results
    # "… it is confirmed, writing." or "… it is imported.", depending on when the refusal looked.
    refusal = "refused: " + service.ERROR_NOT_A_PREVIEW.format(pk=preview.pk, state="")[:-1]
    assert all(outcome.startswith(refusal) for outcome in outcomes if outcome != "written"), results
    assert read_back(tmp_path, "SELECT COUNT(*) FROM store_product WHERE sku LIKE %s", "BULK-%") == [(ROWS,)]
    assert read_back(tmp_path, "SELECT status, created_count FROM store_importjob WHERE id = %s", preview.pk) == [
        (ImportJob.STATUS_SUCCEEDED, ROWS)
    ]


def test_sqlite_settings_wait_for_the_write_lock():
    """Only meaningful for SQLite URLs; MySQL keeps its own options."""
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if connection.vendor == "sqlite":
        assert options["transaction_mode"] == "IMMEDIATE"
        assert options["timeout"] >= 20
    else:
        assert "transaction_mode" not in options


# --- a failed write reports what was written: nothing ---------------------------------
@pytest.mark.django_db
def test_a_database_error_while_writing_fails_the_job_with_zero_counts(preview, monkeypatch):
    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(writing, "write_related_columns", locked)
    outcome = product_import_confirm(job=preview)

    job = ImportJob.objects.get(pk=preview.pk)
    assert not outcome.written
    assert (job.status, job.created_count, job.updated_count) == (ImportJob.STATUS_FAILED, 0, 0)
    assert job.message == service.ERROR_DATABASE.format(error="database is locked")
    assert not Product.objects.filter(sku__startswith="BULK-").exists()


@pytest.mark.django_db
def test_the_admin_shows_a_database_error_as_a_message_not_a_500(admin_client, monkeypatch):
    csv = b"sku,title,unit_price,inventory,collection\r\nA,T,5,1,C\r\n"
    response = admin_client.post(
        reverse("admin:store_product_import"), {"preset": "auto", "file": SimpleUploadedFile("p.csv", csv)}
    )
    monkeypatch.setattr(
        writing, "write_related_columns", lambda *a, **k: (_ for _ in ()).throw(OperationalError("database is locked"))
    )
    response = admin_client.post(response.url, {"_confirm": "1"}, follow=True)
    assert response.status_code == 200
    assert "nothing was written" in response.content.decode()
    job = ImportJob.objects.get()
    assert (job.status, job.created_count) == (ImportJob.STATUS_FAILED, 0)
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_a_conflict_reports_zero_written_not_the_plan(preview):
    Product.objects.create(
        title="Taken",
        slug="taken",
        sku="BULK-00007",
        unit_price=Decimal("5.00"),
        inventory=1,
        collection=CollectionFactory(),
    )
    outcome = product_import_confirm(job=preview)
    assert not outcome.written
    job = ImportJob.objects.get(pk=preview.pk)
    assert (job.status, job.created_count, job.updated_count, job.error_count) == (ImportJob.STATUS_FAILED, 0, 0, 1)
