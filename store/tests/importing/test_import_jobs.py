"""Imports as jobs: files over IMPORT_INLINE_MAX_ROWS rows are previewed and written by a worker.

Task code runs on the immediate backend (or the dummy one, to hold a job in the queue);
tests/queue/test_import_workers.py kills a real worker mid-write. These tests commit
(transaction=True): a running write's heartbeat goes through a second connection.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from store.importing import jobs
from store.importing.service import plan_exists
from store.jobs.services import job_claim
from store.models import Collection, ImportJob, Product

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "sku,title,unit_price,inventory,collection\r\n"


def csv_file(tmp_path: Path, rows: int, *, name: str = "big.csv", start: int = 1) -> Path:
    path = tmp_path / name
    path.write_text(
        HEADER + "".join(f"JOB-{n},Job product {n},{n}.25,{n % 7},Jobs\r\n" for n in range(start, start + rows)),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def limit(settings):
    settings.IMPORT_INLINE_MAX_ROWS = 5
    Collection.objects.get_or_create(title="Jobs")
    return settings


@pytest.fixture
def held(settings):
    """Tasks wait in the queue until the test runs them."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # resets the backends


def upload(client, path: Path):
    with path.open("rb") as handle:
        return client.post("/admin/store/product/import/", {"file": handle, "preset": "auto", "encoding": ""})


def test_rows_are_counted_cheaply_up_to_the_limit(tmp_path):
    assert jobs.import_count_rows(path=csv_file(tmp_path, 3), limit=5) == 3
    assert jobs.import_count_rows(path=csv_file(tmp_path, 5), limit=5) == 5
    assert jobs.import_count_rows(path=csv_file(tmp_path, 500), limit=5) > 5
    no_newline = tmp_path / "n.csv"
    no_newline.write_text(HEADER + "A,a,1,1,Jobs\r\nB,b,1,1,Jobs", encoding="utf-8")
    assert jobs.import_count_rows(path=no_newline, limit=5) == 2


def test_a_small_file_stays_inline(admin_client, limit, tmp_path):
    response = upload(admin_client, csv_file(tmp_path, 5))
    job = ImportJob.objects.get()
    assert not job.is_background
    assert job.status == ImportJob.STATUS_PREVIEW
    assert not job.upload
    assert response.status_code == 302


def test_a_large_file_is_previewed_by_a_worker_and_written_once(admin_client, admin_user, limit, tmp_path):
    admin_user.email = "ops@example.com"
    admin_user.save()
    response = upload(admin_client, csv_file(tmp_path, 12))
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"/admin/store/product/import/{job.pk}/"
    assert job.is_background
    assert job.status == ImportJob.STATUS_PREVIEW
    assert (job.rows_total, job.created_count, job.rows_done) == (12, 12, 12)
    assert plan_exists(job)
    assert job.upload

    page = admin_client.get(response.url)  # the same preview screen, from the stored plan
    assert page.status_code == 200
    assert b'id="import-counts"' in page.content
    assert b"JOB-12" in page.content

    confirmed = admin_client.post(response.url, {"_confirm": "Confirm import"})
    assert confirmed.status_code == 302
    assert confirmed.url == response.url
    job.refresh_from_db()
    assert (job.status, job.created_count, job.confirmed_by_id) == (ImportJob.STATUS_SUCCEEDED, 12, admin_user.pk)
    assert Product.objects.filter(sku__startswith="JOB-").count() == 12
    assert not plan_exists(job)
    assert not job.upload
    assert [m.subject for m in mail.outbox] == [f"Your import #{job.pk} is done (12 new, 0 updated)"]

    # Submitted again (double click, back button, another tab): refused, nothing applied twice.
    again = admin_client.post(response.url, {"_confirm": "Confirm import"}, follow=True)
    assert b"not awaiting confirmation" in again.content
    assert Product.objects.filter(sku__startswith="JOB-").count() == 12
    page = admin_client.get(response.url)
    assert b'data-state="succeeded"' in page.content
    assert b"12 new" in page.content


def test_the_job_page_shows_progress_and_refreshes_while_queued(admin_client, admin_user, limit, held, tmp_path):
    response = upload(admin_client, csv_file(tmp_path, 12))
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_QUEUED
    page = admin_client.get(response.url)
    assert page.status_code == 200
    assert b'<meta http-equiv="refresh" content="2">' in page.content
    assert b'data-state="queued"' in page.content
    assert b"Cancel import" in page.content
    assert admin_user.username.encode() in page.content


def test_cancel_a_queued_job_and_it_never_runs(admin_client, admin_user, limit, held, tmp_path):
    response = upload(admin_client, csv_file(tmp_path, 12))
    job = ImportJob.objects.get()
    admin_client.post(response.url, {"_cancel": "Cancel import"})
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_CANCELLED
    assert not job.upload
    jobs.import_job_preview_run(job_id=job.pk, attempt=job.attempt)  # the queued task arrives anyway
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_CANCELLED
    assert not plan_exists(job)


def test_a_cancel_during_the_write_rolls_it_back(admin_user, limit, held, tmp_path, monkeypatch):
    """The job's own end is the write transaction's last statement: a cancel that won
    (committed) before it makes the whole write roll back."""
    job = jobs.import_job_submit(path=csv_file(tmp_path, 12), file_name="big.csv", user=admin_user)
    jobs.import_job_preview_run(job_id=job.pk, attempt=job.attempt)
    job.refresh_from_db()
    jobs.import_job_confirm(job=job, user=admin_user)
    real_end = jobs._end

    def cancelled_first(run):
        if run.step == jobs.WRITE_STEP and run.job.status == ImportJob.STATUS_SUCCEEDED:
            assert Product.objects.filter(sku__startswith="JOB-").count() == 12  # written, not committed
            ImportJob.objects.filter(pk=run.job.pk).update(status=ImportJob.STATUS_CANCELLED)
        return real_end(run)

    monkeypatch.setattr(jobs, "_end", cancelled_first)
    jobs.import_job_write_run(job_id=job.pk, attempt=job.attempt)
    assert not Product.objects.filter(sku__startswith="JOB-").exists()


def test_worker_lost_then_retry_writes_once(admin_client, admin_user, limit, held, tmp_path, settings):
    admin_client.force_login(admin_user)
    job = jobs.import_job_submit(path=csv_file(tmp_path, 12), file_name="big.csv", user=admin_user)
    jobs.import_job_preview_run(job_id=job.pk, attempt=job.attempt)
    job.refresh_from_db()
    jobs.import_job_confirm(job=job, user=admin_user)
    # A worker claimed the write, then died (SIGKILL: its transaction rolled back, no heartbeat since).
    assert job_claim(model=ImportJob, job_id=job.pk, attempt=1, step=jobs.WRITE_STEP)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=301))
    page = admin_client.get(f"/admin/store/product/import/{job.pk}/")  # opening the page checks
    assert b"failed: worker lost" in page.content
    assert b'name="_retry"' in page.content
    assert mail.outbox
    assert "failed" in mail.outbox[-1].subject

    admin_client.post(f"/admin/store/product/import/{job.pk}/", {"_retry": "Retry"})
    job.refresh_from_db()
    assert (job.status, job.attempt) == (ImportJob.STATUS_WRITING, 2)
    jobs.import_job_write_run(job_id=job.pk, attempt=1)  # the lost attempt's task, redelivered: nothing
    assert not Product.objects.filter(sku__startswith="JOB-").exists()
    jobs.import_job_write_run(job_id=job.pk, attempt=2)
    jobs.import_job_write_run(job_id=job.pk, attempt=2)  # delivered twice: runs once
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.STATUS_SUCCEEDED, 12)
    assert Product.objects.filter(sku__startswith="JOB-").count() == 12


def test_housekeeping_marks_lost_import_jobs(admin_user, limit, held, tmp_path):
    job = jobs.import_job_submit(path=csv_file(tmp_path, 12), file_name="big.csv", user=admin_user)
    assert job_claim(model=ImportJob, job_id=job.pk, attempt=1, step=jobs.PREVIEW_STEP)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=301))
    call_command("housekeeping")
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_FAILED
    assert job.message == jobs.WORKER_LOST_MESSAGE
    assert jobs.import_job_can_retry(job)
    jobs.import_job_retry(job=job, user=admin_user)
    job.refresh_from_db()
    assert (job.status, job.attempt) == (ImportJob.STATUS_QUEUED, 2)  # no plan yet: preview again


def test_someone_else_cannot_see_or_cancel_the_job(client, django_user_model, admin_user, limit, held, tmp_path):
    job = jobs.import_job_submit(path=csv_file(tmp_path, 12), file_name="big.csv", user=admin_user)
    other = django_user_model.objects.create_user("other", password="x", is_staff=True)
    other.user_permissions.add(Permission.objects.get(codename="import_product"))
    client.force_login(other)
    assert client.get(f"/admin/store/product/import/{job.pk}/").status_code == 404
    assert client.post(f"/admin/store/product/import/{job.pk}/", {"_cancel": "1"}).status_code == 404
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.STATUS_QUEUED


def test_a_file_with_errors_fails_in_the_worker_and_says_why(admin_client, limit, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "".join(f"BAD-{n},Bad {n},not-a-price,1,Jobs\r\n" for n in range(12)), encoding="utf-8")
    response = upload(admin_client, path)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_PREVIEW
    assert job.error_count == 12
    assert job.failed_rows
    page = admin_client.get(response.url)
    assert b"not-a-price" in page.content  # the preview lists every error


def test_confirm_with_errors_unticked_is_refused_and_the_job_stays_confirmable(admin_client, limit, tmp_path):
    """Issue 20 §3, the job half: the worker's preview has rows in error; a Confirm without "skip the
    invalid rows" is refused in the request (no write queued, the job not failed), then a Confirm
    with it is written by the worker."""
    path = tmp_path / "some-bad.csv"
    path.write_text(
        HEADER
        + "BAD-1,Bad,not-a-price,1,Jobs\r\n"
        + "".join(f"OK-{n},Ok {n},{n + 2}.50,1,Jobs\r\n" for n in range(11)),
        encoding="utf-8",
    )
    response = upload(admin_client, path)
    job = ImportJob.objects.get()
    assert (job.status, job.error_count, job.is_background) == (ImportJob.STATUS_PREVIEW, 1, True)

    refused = admin_client.post(response.url, {"_confirm": "1"})
    assert refused.status_code == 200
    assert "Not imported: 1 row has an error and “skip the invalid rows” is not ticked" in refused.content.decode()
    job.refresh_from_db()
    assert (job.status, job.attempt, job.confirmed_by) == (ImportJob.STATUS_PREVIEW, 1, None)
    assert plan_exists(job)
    assert job.upload
    assert not Product.objects.exists()

    admin_client.post(response.url, {"_confirm": "1", "skip_invalid": "1"})
    job.refresh_from_db()
    assert (job.status, job.created_count, job.error_count) == (ImportJob.STATUS_PARTIAL, 11, 1)
    assert Product.objects.count() == 11


def test_cli_background_of_a_file_with_errors_fails_as_before(admin_user, limit, held, tmp_path):
    """The command line's --background (no one looks at the preview): all or nothing, so the job
    fails in the write, nothing written, as an inline import of the file does."""
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "".join(f"BAD-{n},Bad {n},not-a-price,1,Jobs\r\n" for n in range(12)), encoding="utf-8")
    call_command("import_products", str(path), "--background")
    job = ImportJob.objects.get()
    jobs.import_job_preview_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_WRITING
    jobs.import_job_write_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.STATUS_FAILED, "12 row(s) have errors; nothing was written.")
    assert not Product.objects.exists()


def test_cli_background_queues_and_a_worker_writes(admin_user, limit, held, tmp_path, capsys):
    path = csv_file(tmp_path, 12)
    call_command("import_products", str(path), "--background")
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_QUEUED
    assert job.source == ImportJob.SOURCE_CLI
    assert f"Import #{job.pk} queued" in capsys.readouterr().out
    jobs.import_job_preview_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_WRITING  # confirmed by itself once checked
    jobs.import_job_write_run(job_id=job.pk, attempt=1)
    job.refresh_from_db()
    assert job.status == ImportJob.STATUS_SUCCEEDED
    assert Product.objects.filter(sku__startswith="JOB-").count() == 12


def test_cli_stays_inline_by_default(limit, tmp_path):
    call_command("import_products", str(csv_file(tmp_path, 12)))
    job = ImportJob.objects.get()
    assert not job.is_background
    assert job.status == ImportJob.STATUS_SUCCEEDED


def test_a_written_job_shows_every_row_done(admin_client, admin_user, limit, held, tmp_path):
    """The write's heartbeat is throttled (and skipped inside its transaction on SQLite): its end
    still records the rows it wrote, so the page of a finished import does not say 0 of 12."""
    job = jobs.import_job_submit(path=csv_file(tmp_path, 12), file_name="big.csv", user=admin_user)
    jobs.import_job_preview_run(job_id=job.pk, attempt=job.attempt)
    job.refresh_from_db()
    jobs.import_job_confirm(job=job, user=admin_user)
    jobs.import_job_write_run(job_id=job.pk, attempt=job.attempt)

    job.refresh_from_db()
    assert (job.status, job.rows_done) == (ImportJob.STATUS_SUCCEEDED, 12)
    page = admin_client.get(f"/admin/store/product/import/{job.pk}/").content.decode()
    assert "12 / 12 (100%)" in page
