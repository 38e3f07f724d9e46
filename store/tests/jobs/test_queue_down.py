"""The task queue down or restarted (issue 19 item 5, the job half): a job that cannot be queued
fails in the same request, saying so, with Retry; one the queue lost fails at housekeeping."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from store.exports.jobs import export_run
from store.housekeeping import housekeeping
from store.importing import jobs as import_jobs
from store.jobs.models import NEVER_STARTED, NOT_QUEUED, JobState
from store.jobs.services import job_enqueue
from store.models import BulkEditJob, Collection, ExportJob, ImportJob, Product
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def queue_down(settings):
    """RQ pointed at a port nobody listens on: Redis is down."""
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "DEFAULT_TIMEOUT": 60}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}


@pytest.fixture
def products(settings):
    settings.EXPORT_INLINE_MAX_ROWS = 2
    settings.BULK_INLINE_MAX = 2
    return [ProductFactory(sku=f"Q-{n}", unit_price=Decimal("10.00")) for n in range(4)]


def big_csv(tmp_path, rows=6):
    Collection.objects.get_or_create(title="Queue")
    path = tmp_path / "big.csv"
    path.write_text(
        "sku,title,unit_price,inventory,collection\r\n"
        + "".join(f"QI-{n},Queued {n},{n + 1}.50,1,Queue\r\n" for n in range(rows)),
        encoding="utf-8",
    )
    return path


def test_an_export_the_queue_cannot_take_fails_at_once_and_retries_later(admin_client, products, queue_down, settings):
    response = admin_client.get(reverse("admin:store_product_export"), {"format": "csv"}, follow=True)

    job = ExportJob.objects.get()
    assert response.status_code == 200  # not a 500
    assert (job.state, job.error) == (JobState.FAILED, NOT_QUEUED)
    page = response.content.decode()
    assert f"Export #{job.pk} could not be queued: the task queue could not be reached" in page
    assert 'value="Retry"' in page

    settings.TASKS = IMMEDIATE  # the queue is back
    admin_client.post(reverse("admin:store_exportjob_retry", args=[job.pk]))
    job.refresh_from_db()
    assert (job.state, job.rows_done, job.attempt) == (JobState.DONE, 4, 2)


def test_a_bulk_edit_the_queue_cannot_take_fails_at_once_with_nothing_written(
    admin_client, products, queue_down, settings
):
    response = admin_client.post(
        reverse("admin:store_product_changelist"),
        {
            "action": "bulk_change_price",
            ACTION_CHECKBOX_NAME: [p.pk for p in products],
            "_bulk_step": "apply",
            "bulk-mode": "raise_pct",
            "bulk-amount": "5",
            "bulk-ending": "",
        },
        follow=True,
    )

    job = BulkEditJob.objects.get()
    assert response.status_code == 200
    assert (job.state, job.error) == (JobState.FAILED, NOT_QUEUED)
    assert "could not be queued" in response.content.decode()
    assert 'value="Retry"' in response.content.decode()

    settings.TASKS = IMMEDIATE
    admin_client.post(reverse("admin:store_bulkeditjob_retry", args=[job.pk]))
    job.refresh_from_db()
    assert (job.state, job.changed_count) == (JobState.DONE, 4)
    assert {p.unit_price for p in Product.objects.all()} == {Decimal("10.50")}


def test_an_import_the_queue_cannot_take_fails_at_once_and_retries(admin_client, queue_down, tmp_path, settings):
    settings.IMPORT_INLINE_MAX_ROWS = 2
    with big_csv(tmp_path).open("rb") as handle:
        response = admin_client.post(
            reverse("admin:store_product_import"), {"file": handle, "preset": "auto", "encoding": ""}, follow=True
        )

    job = ImportJob.objects.get()
    assert response.status_code == 200
    assert (job.status, job.message) == (ImportJob.STATUS_FAILED, NOT_QUEUED)
    page = response.content.decode()
    assert f"Import #{job.pk} could not be queued" in page
    assert 'name="_retry"' in page

    settings.TASKS = IMMEDIATE
    admin_client.post(reverse("admin:store_product_import_preview", args=[job.pk]), {"_retry": "Retry"})
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.STATUS_PREVIEW, 6)

    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}  # down again
    admin_client.post(reverse("admin:store_product_import_preview", args=[job.pk]), {"_confirm": "Confirm import"})
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.STATUS_FAILED, NOT_QUEUED)
    settings.TASKS = IMMEDIATE
    admin_client.post(reverse("admin:store_product_import_preview", args=[job.pk]), {"_retry": "Retry"})
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.STATUS_SUCCEEDED, 6)  # the write, from its kept plan


def long_queued(model, pk):
    past = timezone.now() - timedelta(seconds=django_settings.JOB_QUEUED_TIMEOUT + 1)
    model.objects.filter(pk=pk).update(queued_at=past)


def test_jobs_the_queue_lost_fail_at_housekeeping_and_retry(admin_user, products, tmp_path, settings):
    """A Redis restart loses the queued tasks: the jobs say "never started" and Retry queues them again.
    A task still waiting its turn in a busy queue is left alone."""
    settings.TASKS = DATABASE_QUEUE
    settings.IMPORT_INLINE_MAX_ROWS = 2
    export = ExportJob.objects.create(requested_by=admin_user, model_label="store.product", file_format="csv")
    job_enqueue(job=export, task=export_run)
    upload = import_jobs.import_job_submit(path=big_csv(tmp_path), file_name="big.csv", user=admin_user)
    long_queued(ExportJob, export.pk)
    long_queued(ImportJob, upload.pk)

    assert housekeeping()["unstarted_jobs"] == 0  # both tasks are still in the queue, waiting
    DBTaskResult.objects.all().delete()  # the queue lost them
    assert housekeeping()["unstarted_jobs"] == 2

    export.refresh_from_db()
    upload.refresh_from_db()
    assert (export.state, export.error) == (JobState.FAILED, NEVER_STARTED)
    assert (upload.status, upload.message) == (ImportJob.STATUS_FAILED, NEVER_STARTED)
    assert import_jobs.import_job_can_retry(upload)

    settings.TASKS = IMMEDIATE
    import_jobs.import_job_retry(job=upload, user=admin_user)
    upload.refresh_from_db()
    assert upload.status == ImportJob.STATUS_PREVIEW


def test_a_confirmed_import_write_the_queue_lost_fails_with_retry(admin_user, tmp_path, settings):
    settings.IMPORT_INLINE_MAX_ROWS = 2
    job = import_jobs.import_job_submit(path=big_csv(tmp_path), file_name="big.csv", user=admin_user)  # immediate
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    job.refresh_from_db()
    import_jobs.import_job_confirm(job=job, user=admin_user)
    long_queued(ImportJob, job.pk)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # restarted: empty

    assert housekeeping()["unstarted_jobs"] == 1

    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.STATUS_FAILED, NEVER_STARTED)
    settings.TASKS = IMMEDIATE
    import_jobs.import_job_retry(job=job, user=admin_user)
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.STATUS_SUCCEEDED, 6)
