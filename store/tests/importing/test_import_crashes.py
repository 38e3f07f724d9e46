"""Imports tell the truth when their process dies: the end is part of the write's transaction, and
an import found dead is reconciled from its history rows ("Import #N (file)") before anything
says it wrote nothing or offers Retry (issue 19 item 2)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from store.housekeeping import housekeeping
from store.importing import jobs, writing
from store.importing import revert as reverting
from store.importing.service import product_import, product_import_confirm, product_import_preview
from store.models import Collection, ImportJob, Product
from store.services import product_history_insert
from store.tests.crash import ProcessKilled, die_after_commit

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "sku,title,unit_price,inventory,collection\r\n"


def csv_file(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "crash.csv"
    path.write_text(
        HEADER + "".join(f"CRASH-{n},Crash product {n},{n}.25,{n % 7},Crashes\r\n" for n in range(1, rows + 1)),
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def collection():
    Collection.objects.get_or_create(title="Crashes")


@pytest.fixture
def held(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def written() -> int:
    return Product.objects.filter(sku__startswith="CRASH-").count()


def new_product(n: int) -> Product:
    return Product.objects.create(
        sku=f"CRASH-{n}", title="x", slug=f"crash-{n}", unit_price=5, inventory=1, collection=Collection.objects.get()
    )


def long_ago(job: ImportJob, **fields: bool) -> None:
    past = timezone.now() - timedelta(
        seconds=max(settings.JOB_HEARTBEAT_TIMEOUT, getattr(settings, "INLINE_STEP_TIMEOUT", 0)) + 1
    )
    ImportJob.objects.filter(pk=job.pk).update(**dict.fromkeys(fields, past))


def test_an_inline_confirm_killed_after_its_commit_is_recorded_and_revertible(
    admin_client, admin_user, tmp_path, monkeypatch
):
    preview = product_import_preview(path=csv_file(tmp_path, 4), file_name="crash.csv", user=admin_user)
    die_after_commit(monkeypatch, writing, "product_history_record_where")

    with pytest.raises(ProcessKilled):
        product_import_confirm(job=preview.job, user=admin_user)

    job = ImportJob.objects.get(pk=preview.job.pk)
    assert (job.status, job.created_count, written()) == (ImportJob.STATUS_SUCCEEDED, 4, 4)
    assert job.finished_at is not None
    page = admin_client.get(reverse("admin:store_importjob_change", args=[job.pk])).content.decode()
    assert "Imported" in page
    outcome = reverting.import_revert(job=job, user=admin_user)
    assert outcome.report.delete == 4
    assert written() == 0


def test_a_command_line_import_killed_after_its_commit_is_recorded(tmp_path, monkeypatch):
    die_after_commit(monkeypatch, writing, "product_history_record_where")

    with pytest.raises(ProcessKilled):
        product_import(path=csv_file(tmp_path, 3), file_name="crash.csv")

    job = ImportJob.objects.get()
    assert (job.status, job.created_count, written()) == (ImportJob.STATUS_SUCCEEDED, 3, 3)


def test_a_background_write_killed_after_its_commit_is_recorded_and_not_retried(
    admin_user, held, tmp_path, monkeypatch, settings
):
    settings.IMPORT_INLINE_MAX_ROWS = 2
    job = jobs.import_job_submit(path=csv_file(tmp_path, 5), file_name="crash.csv", user=admin_user)
    jobs.import_job_preview_run(job_id=job.pk, attempt=job.attempt)
    job.refresh_from_db()
    jobs.import_job_confirm(job=job, user=admin_user)
    die_after_commit(monkeypatch, writing, "product_history_record_where")

    with pytest.raises(ProcessKilled):
        jobs.import_job_write_run(job_id=job.pk, attempt=job.attempt)

    long_ago(job, heartbeat_at=True)
    housekeeping()
    job.refresh_from_db()
    assert (job.status, job.created_count, written()) == (ImportJob.STATUS_SUCCEEDED, 5, 5)
    assert not jobs.import_job_can_retry(job)
    assert reverting.import_revert(job=job, user=admin_user).report.delete == 5


def test_a_lost_background_write_whose_rows_exist_is_recorded_from_its_history(admin_client, admin_user):
    """A write an older version left "writing" after its commit: housekeeping and the page read its history."""
    job = ImportJob.objects.create(
        user=admin_user,
        source=ImportJob.SOURCE_ADMIN,
        file_name="crash.csv",
        status=ImportJob.STATUS_WRITING,
        options={"background": True, "confirmed": True},
        heartbeat_at=timezone.now(),
        rows_total=2,
    )
    products = [new_product(n) for n in (1, 2)]
    product_history_insert(products=products, user=admin_user, reason=f"Import #{job.pk} (crash.csv)", history_type="+")
    long_ago(job, heartbeat_at=True)

    page = admin_client.get(reverse("admin:store_product_import_preview", args=[job.pk])).content.decode()

    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.STATUS_SUCCEEDED, 2)
    assert "worker lost" not in page
    assert 'name="_retry"' not in page
    assert not jobs.import_job_can_retry(job)


def test_inline_imports_left_writing_are_reconciled_before_revert_says_nothing_was_written(admin_user):
    """Import #36 of the issue: 4,000 products and their history exist, the job says "writing"."""
    stuck = ImportJob.objects.create(
        user=admin_user, source=ImportJob.SOURCE_ADMIN, file_name="crash.csv", status=ImportJob.STATUS_WRITING
    )
    products = [new_product(n) for n in (1, 2, 3)]
    product_history_insert(
        products=products, user=admin_user, reason=f"Import #{stuck.pk} (crash.csv)", history_type="+"
    )
    died = ImportJob.objects.create(
        user=admin_user, source=ImportJob.SOURCE_ADMIN, file_name="other.csv", status=ImportJob.STATUS_WRITING
    )
    long_ago(died, started_at=True)
    running = ImportJob.objects.create(
        user=admin_user, source=ImportJob.SOURCE_ADMIN, file_name="now.csv", status=ImportJob.STATUS_WRITING
    )
    ImportJob.objects.filter(pk=running.pk).update(started_at=timezone.now())

    outcome = reverting.import_revert(job=stuck, user=admin_user)  # no "wrote nothing"

    assert outcome.report.delete == 3
    stuck.refresh_from_db()
    assert (stuck.status, stuck.created_count) == (ImportJob.STATUS_SUCCEEDED, 3)
    assert stuck.message.startswith("3 new, 0 updated (from the change history")
    assert housekeeping()["recovered_imports"] == 1
    died.refresh_from_db()
    running.refresh_from_db()
    assert (died.status, died.created_count) == (ImportJob.STATUS_FAILED, 0)
    assert died.message.endswith("nothing was written.")
    assert running.status == ImportJob.STATUS_WRITING  # its request may still be writing
