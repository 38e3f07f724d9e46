"""The job engine: ``run_job``'s claim and its one except-ladder, the states a job model
declares, and the one job page every kind shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from store.jobs.models import JobCancelled, JobRefused, JobState
from store.jobs.runner import run_job
from store.jobs.services import job_cancel, job_claim, jobs_mark_lost
from store.models import ExportJob, ImportJob

pytestmark = pytest.mark.django_db


def export_job(user, **fields) -> ExportJob:
    return ExportJob.objects.create(requested_by=user, model_label="store.product", file_format="csv", **fields)


class Recorder:
    """A job's work and end, recording what ran."""

    def __init__(self, raise_: BaseException | None = None, rows: int = 3) -> None:
        self.raise_, self.rows = raise_, rows
        self.worked: list[int] = []
        self.ended: list[str] = []

    def work(self, run) -> None:
        self.worked.append(run.job.pk)
        run.progress(rows_done=0, rows_total=self.rows)
        run.progress(rows_done=self.rows)
        if self.raise_ is not None:
            raise self.raise_

    def on_end(self, job) -> None:
        self.ended.append(job.state)


def test_work_that_returns_ends_the_job_done_once(admin_user):
    job = export_job(admin_user)
    recorder = Recorder()

    run_job(ExportJob, job.pk, 1, work=recorder.work, on_end=recorder.on_end)
    run_job(ExportJob, job.pk, 1, work=recorder.work, on_end=recorder.on_end)  # delivered twice
    run_job(ExportJob, job.pk, 2, work=recorder.work, on_end=recorder.on_end)  # no such attempt

    job.refresh_from_db()
    assert (job.state, job.rows_done, job.rows_total) == (JobState.DONE, 3, 3)
    assert job.finished_at is not None
    assert recorder.worked == [job.pk]
    assert recorder.ended == [JobState.DONE]


def test_a_refusal_fails_the_job_with_its_message(admin_user):
    job = export_job(admin_user)
    recorder = Recorder(JobRefused("the user may no longer export these rows"))

    run_job(ExportJob, job.pk, 1, work=recorder.work, on_end=recorder.on_end)

    job.refresh_from_db()
    assert (job.state, job.error) == (JobState.FAILED, "the user may no longer export these rows")
    assert recorder.ended == [JobState.FAILED]


def test_refused_kinds_say_their_first_message(admin_user):
    job = export_job(admin_user)
    recorder = Recorder(ValidationError("the plan is gone"))

    run_job(ExportJob, job.pk, 1, work=recorder.work, refused=(ValidationError,))

    job.refresh_from_db()
    assert (job.state, job.error) == (JobState.FAILED, "the plan is gone")


def test_an_unexpected_error_is_logged_with_its_traceback_and_fails_the_job(admin_user, caplog):
    job = export_job(admin_user)
    recorder = Recorder(RuntimeError("disk full"))

    run_job(ExportJob, job.pk, 1, work=recorder.work, on_end=recorder.on_end)

    job.refresh_from_db()
    assert (job.state, job.error) == (JobState.FAILED, "RuntimeError: disk full")
    assert recorder.ended == [JobState.FAILED]
    [record] = [r for r in caplog.records if r.name == "store.jobs.runner" and r.levelname == "ERROR"]
    assert record.exc_info is not None


def test_a_cancel_stops_the_work_quietly(admin_user):
    job = export_job(admin_user)

    def cancelled_midway(run) -> None:
        run.progress(rows_done=1, rows_total=3)
        job_cancel(job=ExportJob.objects.get(pk=job.pk), user=admin_user)
        run.progress(rows_done=2)  # the heartbeat notices
        raise AssertionError("not reached")

    ended = []
    run_job(ExportJob, job.pk, 1, work=cancelled_midway, on_end=ended.append)

    job.refresh_from_db()
    assert (job.state, job.error, job.rows_done) == (JobState.CANCELLED, "cancelled by admin", 1)
    assert ended == []


def test_a_step_that_ends_the_job_itself_is_not_finished_again(admin_user):
    job = export_job(admin_user)

    def ends_in_its_transaction(run) -> None:
        with run.atomic():
            assert run.end(state=JobState.DONE, rows_done=7)

    run_job(ExportJob, job.pk, 1, work=ends_in_its_transaction)

    job.refresh_from_db()
    assert (job.state, job.rows_done) == (JobState.DONE, 7)


def test_a_cancelled_or_running_job_is_not_claimed(admin_user):
    cancelled = export_job(admin_user, state=JobState.CANCELLED)
    running = export_job(admin_user, state=JobState.RUNNING, heartbeat_at=timezone.now())
    assert job_claim(model=ExportJob, job_id=cancelled.pk, attempt=1) is None
    assert job_claim(model=ExportJob, job_id=running.pk, attempt=1) is None


def test_an_import_declares_its_own_states_to_the_engine(admin_user, settings):
    """The engine moves ImportJob.status through the values the import history shows."""
    assert ImportJob.job_states.field == "status"
    assert set(ImportJob.job_states.running) == {ImportJob.STATUS_RUNNING, ImportJob.STATUS_WRITING}
    preview = ImportJob.objects.create(source="admin", file_name="a.csv", status=ImportJob.STATUS_PREVIEW)
    writing = ImportJob.objects.create(
        source="admin", file_name="b.csv", status=ImportJob.STATUS_WRITING, heartbeat_at=timezone.now()
    )
    ImportJob.objects.filter(pk=writing.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT + 1)
    )

    assert jobs_mark_lost(model=ImportJob, error="failed: worker lost; nothing written.") == 1

    writing.refresh_from_db()
    preview.refresh_from_db()
    assert (writing.status, writing.message) == (ImportJob.STATUS_FAILED, "failed: worker lost; nothing written.")
    assert preview.status == ImportJob.STATUS_PREVIEW  # waits for a person, not a worker
    assert job_cancel(job=preview, user=admin_user, message="Cancelled.")
    assert (preview.status, preview.message) == (ImportJob.STATUS_CANCELLED, "Cancelled.")


def test_every_job_kind_shows_the_one_job_page(admin_client, admin_user):
    export = export_job(admin_user, state=JobState.FAILED, error="worker lost")
    upload = ImportJob.objects.create(
        user=admin_user, source="admin", file_name="big.csv", status=ImportJob.STATUS_QUEUED, options={"background": 1}
    )
    pages = [
        admin_client.get(reverse("admin:store_exportjob_change", args=[export.pk])),
        admin_client.get(reverse("admin:store_product_import_preview", args=[upload.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        assert [t.name for t in page.templates][0] == "admin/jobs/job_page.html"
    assert 'data-state="failed"' in pages[0].content.decode()
    assert 'data-state="queued"' in pages[1].content.decode()


def test_progress_after_the_end_raises_job_cancelled(admin_user):
    job = export_job(admin_user)
    stale = []

    def keep_a_handle(run) -> None:
        stale.append(run)

    run_job(ExportJob, job.pk, 1, work=keep_a_handle)
    with pytest.raises(JobCancelled):
        stale[0].progress(rows_done=5)
