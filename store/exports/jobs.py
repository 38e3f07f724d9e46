"""Exports as jobs: a large changelist export written by a worker to a file in storage.

The admin (``store.admin.exports.ExportMixin``) answers exports of up to
EXPORT_INLINE_MAX_ROWS rows in the request; larger ones become an ``ExportJob``, run by
the ``export_run`` task below on a worker. The worker rebuilds the changelist queryset from
the saved query string through the same ModelAdmin, as the user who asked
(``store.jobs.changelists``: their permissions and the admin's own filters apply), and
streams it into a temporary file that is then saved to the private storage.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from store.audit import audit_event
from store.exports.formats import FORMATS, write_stream
from store.exports.products import VariantsAppeared
from store.exports.resources import ChunkedExportResource
from store.jobs.changelists import BAD_FILTERS, NO_PERMISSION, NO_USER, ChangelistRefused, changelist_rebuild
from store.jobs.models import JobRefused, JobState
from store.jobs.runner import JobRun, run_job
from store.jobs.services import (
    format_duration,
    job_enqueue,
    job_notify_end,
    job_retry,
    jobs_fail_unstarted,
    jobs_mark_lost,
)
from store.models import ExportJob

ERROR_NO_USER = "the user who asked for this export no longer exists or is inactive"
ERROR_NO_PERMISSION = "the user who asked for this export may no longer export these rows"
ERROR_BAD_FILTERS = "the changelist filters are no longer valid"


class ExportRefused(JobRefused):
    """The export cannot run as asked (its user, permission or filters); the message says why."""


def export_storage() -> Storage:
    """Where export files go: the private storage, never the public media one."""
    return ExportJob._meta.get_field("file").storage


def export_needs_job(*, queryset: QuerySet, resource: ChunkedExportResource) -> bool:
    """Would ``resource`` write more than EXPORT_INLINE_MAX_ROWS rows of ``queryset`` (a product's
    variants are rows too)? Counts at most one row past the limit."""
    limit = settings.EXPORT_INLINE_MAX_ROWS
    return resource.export_row_count(queryset, limit=limit + 1) > limit


def export_job_create(
    *, user: Any, model_label: str, file_format: str, filters: str, excel_bom: bool = False, scope: str = "changelist"
) -> ExportJob:
    """Record an export job and queue it (call outside a transaction)."""
    if file_format not in FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    job = ExportJob.objects.create(
        requested_by=user,
        model_label=model_label,
        file_format=file_format,
        filters=filters,
        excel_bom=excel_bom,
        scope=scope,
    )
    audit_event("export.queued", user=user, job_id=job.pk, model=model_label, file_format=file_format, scope=scope)
    return job_enqueue(job=job, task=export_run)


def export_job_retry(*, job: ExportJob) -> bool:
    export_leftovers_drop(job=job)
    return job_retry(job=job, task=export_run, rows_total=None)


def export_leftovers_drop(*, job: ExportJob) -> int:
    """Delete what an earlier attempt left in the job's folder: a worker that died between saving
    the file and recording it leaves a file no job points to. Returns how many files."""
    storage, folder = export_storage(), f"exports/{job.pk}"
    try:
        _folders, names = storage.listdir(folder)
    except FileNotFoundError:
        return 0
    leftovers = [f"{folder}/{name}" for name in names if f"{folder}/{name}" != job.file.name]
    for name in leftovers:
        storage.delete(name)
    return len(leftovers)


REFUSALS = {NO_USER: ERROR_NO_USER, NO_PERMISSION: ERROR_NO_PERMISSION, BAD_FILTERS: ERROR_BAD_FILTERS}


def export_source(*, job: ExportJob) -> tuple[Any, QuerySet]:
    """The ModelAdmin and the changelist queryset the job exports, as its user sees them."""
    try:
        return changelist_rebuild(
            model=apps.get_model(job.model_label), user=job.requested_by, filters=job.filters, permission="export"
        )
    except ChangelistRefused as refused:
        raise ExportRefused(REFUSALS[refused.reason]) from refused


def export_file_name(*, job: ExportJob) -> str:
    model = job.model_label.split(".")[-1]
    stamp = timezone.localtime(job.created_at).strftime("%Y%m%d-%H%M%S")
    return f"{model}s{export_name_suffix(job.file_format)}-{stamp}-{job.pk}.{FORMATS[job.file_format].extension}"


def export_name_suffix(file_format: str) -> str:
    """What a file name adds for a layout of its own ("-shopify"); nothing for a plain format."""
    spec = FORMATS[file_format]
    return "" if spec.writer == spec.key else f"-{spec.key}"


def export_job_run(*, job_id: int, attempt: int) -> None:
    """The worker's side: stream the rows to storage, then mark the job done (or failed) and tell the user."""
    run_job(ExportJob, job_id, attempt, work=_export, on_end=_export_ended, refused=(VariantsAppeared,))


def _export(run: JobRun[ExportJob]) -> None:
    job = run.job
    model_admin, queryset = export_source(job=job)
    resource = model_admin.export_resource_class.for_format(job.file_format)
    run.progress(rows_done=0, rows_total=resource.export_row_count(queryset))
    with tempfile.TemporaryFile(prefix="export-") as tmp:
        rows = write_stream(
            tmp,
            file_format=job.file_format,
            headers=resource.export_headers(queryset),
            chunks=resource.iter_export_chunks(queryset, force_native_type=job.file_format == "xlsx"),
            excel_bom=job.excel_bom,
            on_chunk=lambda done: run.progress(rows_done=done),
        )
        size = tmp.tell()
        tmp.seek(0)
        name = export_storage().save(f"exports/{job.pk}/{export_file_name(job=job)}", File(tmp))
    expires = timezone.now() + timedelta(days=settings.EXPORT_RETENTION_DAYS)
    if not run.finish(rows_done=rows, file=name, file_size=size, expires_at=expires):
        export_storage().delete(name)  # cancelled at the last moment: keep nothing


def _export_ended(job: ExportJob) -> None:
    if job.state == JobState.DONE:
        audit_event(
            "export",
            user=job.requested_by,
            model=job.model_label,
            rows=job.rows_done,
            file_format=job.file_format,
            scope=job.scope,
            job_id=job.pk,
        )
    export_job_notify(job=job)


def export_job_notify(*, job: ExportJob) -> bool:
    link = reverse("admin:store_exportjob_change", args=[job.pk])
    if job.state == JobState.DONE:
        subject = f"Your export #{job.pk} is ready ({job.rows_done:,} rows)"
        lines = [
            f"Export #{job.pk} of {job.model_label} as {FORMATS[job.file_format].label} is ready:",
            f"{job.rows_done:,} rows in {format_duration(job.elapsed_seconds)}.",
            f"Download it from its page until {timezone.localtime(job.expires_at):%Y-%m-%d %H:%M} UTC:",
        ]
    else:
        subject = f"Your export #{job.pk} failed"
        lines = [
            f"Export #{job.pk} of {job.model_label} as {FORMATS[job.file_format].label} failed after "
            f"{job.rows_done:,} of {job.rows_total or 0:,} rows: {job.error}",
            "Its page has a Retry button:",
        ]
    return job_notify_end(job=job, subject=subject, lines=lines, link=link)


def export_files_purge(*, now: datetime | None = None) -> int:
    """Delete the files of exports past their expiry date; returns how many."""
    now = now or timezone.now()
    count = 0
    for job in ExportJob.objects.filter(expires_at__lt=now).exclude(file="").only("pk", "file"):
        job.file.storage.delete(job.file.name)
        ExportJob.objects.filter(pk=job.pk).update(file="", file_size=None)
        count += 1
    return count


def export_jobs_fail_unstarted(*, now: datetime | None = None) -> int:
    """Exports queued too long that the queue lost: failed, never started (their page offers Retry)."""
    return jobs_fail_unstarted(model=ExportJob, now=now)


def export_jobs_mark_lost(*, now: datetime | None = None) -> int:
    """Export jobs whose worker went silent: failed, worker lost (their page offers Retry); a file
    the worker saved but did not record is deleted (nobody could download it)."""
    return jobs_mark_lost(model=ExportJob, now=now, on_lost=lambda job: export_leftovers_drop(job=job))


@task()
def export_run(job_id: int, attempt: int) -> None:
    """Write ExportJob ``job_id`` (its attempt ``attempt``) to a file in storage."""
    export_job_run(job_id=job_id, attempt=attempt)
