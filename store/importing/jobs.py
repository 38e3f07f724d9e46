"""Imports as jobs: a file over IMPORT_INLINE_MAX_ROWS rows is previewed and written by a worker.

    job = import_job_submit(path=..., file_name=..., user=..., preset=..., ...)   # queued
    # worker: import_job_preview_run(job_id, attempt)   queued -> running -> preview
    import_job_confirm(job=job, user=...)               # preview -> writing, queued for a worker
    # worker: import_job_write_run(job_id, attempt)     writing -> succeeded | partial | failed

The same service code as the inline flow does the work (``plan_file``, ``_save_plan``,
``_write``). The upload and the plan live in the private storage, so any web process
serves any step and any worker runs it. Each step runs through the job engine's
``run_job`` (``store.jobs.runner``), as exports and bulk edits do: the step is claimed with
a conditional UPDATE on (status, attempt), so a task delivered twice, or an older attempt's
task, finds nothing to claim and stops. The write and its final state change are one
transaction: a worker killed (or a job cancelled) mid-write leaves nothing written, and a
write that committed can no longer be cancelled. The worker's heartbeat (every
HEARTBEAT_SECONDS, on its own connection during the write) lets ``import_jobs_mark_lost``
say "failed: worker lost".
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from store.audit import audit_event
from store.importing.mapping import ColumnMapping
from store.importing.modes import NO_CHOICE, ModeChoice
from store.importing.parsing import xlsx_records
from store.importing.presets import PRESET_AUTO
from store.importing.service import (
    ERROR_INTERRUPTED,
    MESSAGE_WRITING,
    UPLOADS_DIR,
    _attach_failed_rows,
    _check_may_act,
    _delete_plan,
    _fail,
    _load_plan,
    _options,
    _plan_or_fail,
    _refusal,
    _save_plan,
    _transition,
    _write,
    check_confirmable,
    import_job_reconcile,
    import_storage,
    plan_exists,
    release_memory,
)
from store.jobs.models import NEVER_STARTED, NOT_QUEUED, WORKER_LOST, JobCancelled, JobStep
from store.jobs.runner import JobRun, run_job
from store.jobs.services import (
    format_duration,
    job_cancel,
    job_enqueue,
    job_notify_end,
    job_retry,
    jobs_fail_unstarted,
    jobs_mark_lost,
)
from store.models import ImportJob

HEARTBEAT_SECONDS = 2.0
MESSAGE_QUEUED = "Queued; a worker will check the file."
MESSAGE_CANCELLED = "Cancelled by {user}; nothing written."
ERROR_NOT_CANCELLABLE = "Import #{pk} cannot be cancelled: it is {state}."
ERROR_NOT_RETRYABLE = "Import #{pk} cannot be retried: it is {state}."
ACTIVE = ImportJob.job_states.active
# The two steps a worker runs: the preview (queued -> running) and, once confirmed, the write.
PREVIEW_STEP = JobStep(claim=ImportJob.STATUS_QUEUED, run=ImportJob.STATUS_RUNNING, heartbeat_every=HEARTBEAT_SECONDS)
WRITE_STEP = JobStep(claim=ImportJob.STATUS_WRITING, run=ImportJob.STATUS_WRITING, heartbeat_every=HEARTBEAT_SECONDS)


# --- Counting rows cheaply ---------------------------------------------------------
def import_count_rows(*, path: Path, limit: int) -> int:
    """Data rows of a file, counted up to ``limit + 1`` (enough to choose inline or job).

    CSV: line ends in binary chunks, minus the header (a cell with line breaks counts more:
    such a file goes to a job a little early, never the reverse). XLSX: the first ``limit + 1``
    rows of the sheet, read in openpyxl's read-only mode.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(b"PK\x03\x04"):
            return _count_xlsx_rows(path, limit)
        handle.seek(0)
        lines, last = 0, b"\n"
        while chunk := handle.read(1024 * 1024):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            if lines > limit + 1:
                break
    if last not in (b"\n", b""):
        lines += 1  # no line end after the last row
    return max(0, lines - 1)


def _count_xlsx_rows(path: Path, limit: int) -> int:
    count = -1  # the header
    try:
        for count, _row in enumerate(xlsx_records(path)):
            if count > limit:
                break
    except Exception:  # a broken file: let the inline flow give the parser's clear error
        return 0
    return max(0, count)


def import_needs_job(*, path: Path) -> bool:
    limit = settings.IMPORT_INLINE_MAX_ROWS
    return import_count_rows(path=path, limit=limit) > limit


# --- Submitting, confirming, cancelling, retrying (web side) -------------------------
def import_job_submit(
    *,
    path: Path,
    file_name: str,
    user: Any,
    preset: str = PRESET_AUTO,
    encoding: str | None = None,
    skip_invalid: bool = False,
    source: str = ImportJob.SOURCE_ADMIN,
    confirm: bool = False,
    mapping: ColumnMapping | None = None,
    mode: ModeChoice = NO_CHOICE,
) -> ImportJob:
    """Copy the file into the private storage, record a queued job and queue its preview.

    ``confirm``: write as soon as the preview is ready (the CLI's ``--background``).
    ``mode``: the import mode as chosen (``store.importing.modes``), kept in the job's options.
    Call outside a transaction: the worker must find the committed job.
    """
    storage = import_storage()
    with path.open("rb") as handle:
        upload = storage.save(f"{UPLOADS_DIR}/{uuid.uuid4().hex}{Path(file_name).suffix[:10]}", File(handle))
    options = {
        **_options(preset=preset, encoding=encoding, skip_invalid=skip_invalid, dry_run=False, mode=mode),
        "background": True,
        "auto_confirm": confirm,
    }
    job = ImportJob.objects.create(
        user=user if getattr(user, "pk", None) else None,
        source=source,
        file_name=file_name[:255],
        status=ImportJob.STATUS_QUEUED,
        options=options,
        upload=upload,
        message=MESSAGE_QUEUED,
        column_mapping=mapping.to_json() if mapping is not None else {},
    )
    audit_event("import.queued", user=job.user, job_id=job.pk, file_name=job.file_name)
    return enqueue_step(job, "preview")


def enqueue_step(job: ImportJob, step: str) -> ImportJob:
    return job_enqueue(job=job, task=import_preview if step == "preview" else import_write)


def import_job_confirm(
    *, job: ImportJob, user: Any = None, skip_invalid: bool | None = None, refuse_invalid: bool = True
) -> ImportJob:
    """preview -> writing (one conditional UPDATE: a double submit confirms once), then queue the write.

    A plan with rows in error is refused, the job left a preview, unless ``skip_invalid``
    (``check_confirmable``); ``refuse_invalid=False`` queues it anyway, to fail in the write as an
    inline import does (the command line's ``--background``, confirmed without anyone looking).
    """
    _check_may_act(job, user)
    confirmer = user if getattr(user, "pk", None) else None
    if skip_invalid is None:
        skip_invalid = bool(job.options.get("skip_invalid"))
    if refuse_invalid:
        check_confirmable(job, skip_invalid=skip_invalid)
    options = {**job.options, "skip_invalid": skip_invalid, "confirmed": True}
    if not _transition(
        job,
        source=ImportJob.STATUS_PREVIEW,
        target=ImportJob.STATUS_WRITING,
        confirmed_by=confirmer,
        message=MESSAGE_WRITING,
        options=options,
        rows_done=0,
        started_at=None,
        heartbeat_at=None,
    ):
        raise _refusal(job)
    audit_event("import.confirm_queued", user=confirmer, job_id=job.pk)
    return enqueue_step(job, "write")


def import_job_cancel(*, job: ImportJob, user: Any) -> None:
    """Cancel a queued, previewing, previewed or writing job; a running write rolls back at its
    next heartbeat (or, at the latest, when it tries to record its end: that is in its transaction)."""
    _check_may_act(job, user)
    message = MESSAGE_CANCELLED.format(user=user.get_username() if user else "a worker")
    if not job_cancel(job=job, user=user, message=message):
        raise ValidationError(
            ERROR_NOT_CANCELLABLE.format(pk=job.pk, state=job.get_status_display().lower()), code="not_cancellable"
        )
    audit_event("import.cancel", user=user, job_id=job.pk)
    drop_job_files(job)


def import_job_can_retry(job: ImportJob) -> bool:
    return (
        job.is_background
        and job.status in (ImportJob.STATUS_FAILED, ImportJob.STATUS_CANCELLED)
        and job.message in (WORKER_LOST_MESSAGE, ERROR_INTERRUPTED, NOT_QUEUED, NEVER_STARTED)
        and (bool(job.upload) or bool(job.options.get("confirmed")))
    )


WORKER_LOST_MESSAGE = f"failed: {WORKER_LOST}; nothing written."


def import_job_retry(*, job: ImportJob, user: Any) -> ImportJob:
    """Run a job whose worker was lost again, as a new attempt: the write if it had been
    confirmed (its plan is kept), else the preview. Older tasks of the job then do nothing."""
    _check_may_act(job, user)
    if not import_job_can_retry(job):
        raise ValidationError(
            ERROR_NOT_RETRYABLE.format(pk=job.pk, state=job.get_status_display().lower()), code="not_retryable"
        )
    write = bool(job.options.get("confirmed")) and plan_exists(job)
    if not job_retry(
        job=job,
        task=import_write if write else import_preview,
        state=ImportJob.STATUS_WRITING if write else ImportJob.STATUS_QUEUED,
        message=MESSAGE_WRITING if write else MESSAGE_QUEUED,
    ):
        raise _refusal(job)
    audit_event("import.retry", user=user, job_id=job.pk, attempt=job.attempt)
    return job


def import_jobs_mark_lost(*, now: datetime | None = None) -> int:
    """Steps whose worker sent no heartbeat for JOB_HEARTBEAT_TIMEOUT seconds: failed, worker lost.

    Only steps a worker claimed (a heartbeat was set); inline imports never have one. A write
    whose history rows exist committed: it is recorded from them, never as "nothing written".
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    for job in ImportJob.objects.filter(status=ImportJob.STATUS_WRITING, heartbeat_at__lt=cutoff):
        import_job_reconcile(job=job, now=now)
    return jobs_mark_lost(
        model=ImportJob, now=now, error=WORKER_LOST_MESSAGE, on_lost=lambda job: import_job_notify(job=job)
    )


def import_jobs_fail_unstarted(*, now: datetime | None = None) -> int:
    """Steps queued too long that the queue lost (a preview, or a confirmed write): failed, never
    started; Retry queues them again (the write keeps its plan)."""
    return jobs_fail_unstarted(
        model=ImportJob, steps=(PREVIEW_STEP, WRITE_STEP), now=now, keep=lambda job: not job.is_background
    )


def drop_job_files(job: ImportJob) -> None:
    _delete_plan(job)
    if job.upload:
        import_storage().delete(job.upload)
        ImportJob.objects.filter(pk=job.pk).update(upload="")
        job.upload = ""


# --- The worker's side ------------------------------------------------------------
class _Progress:
    """The import pipeline's progress callback ``(stage, count)`` as the run's rows done and total.

    The run writes it at most every HEARTBEAT_SECONDS (its heartbeat; inside the write's
    transaction through a connection of its own, see ``JobRun``)."""

    def __init__(self, run: JobRun[ImportJob], total: int | None = None) -> None:
        self.run = run
        self.done = 0
        self.total = total

    def __call__(self, stage: str, advance: int) -> None:
        if stage == "rows":
            self.total = advance
        elif stage in ("validating", "writing"):
            self.done += advance
        self.run.progress(rows_done=self.done, rows_total=self.total)

    def beat(self) -> None:
        self.run.progress(rows_done=self.done, rows_total=self.total, force=True)


def import_job_preview_run(*, job_id: int, attempt: int) -> None:
    """queued -> running -> preview (or failed): plan the stored upload, save the plan."""
    run_job(
        ImportJob,
        job_id,
        attempt,
        step=PREVIEW_STEP,
        work=_preview,
        refused=(),
        on_failure=_failed,
        error_message=lambda _error: ERROR_INTERRUPTED,
        on_end=_preview_ended,
    )


def _preview(run: JobRun[ImportJob]) -> None:
    job = run.job
    progress = _Progress(run)
    with tempfile.TemporaryDirectory(prefix="import-job-") as folder:
        local = Path(folder) / f"upload{Path(job.upload).suffix}"
        with import_storage().open(job.upload, "rb") as source, local.open("wb") as target:
            while chunk := source.read(1024 * 1024):
                target.write(chunk)
        options = job.options
        plan = _plan_or_fail(
            job,
            path=local,
            preset=options.get("preset") or PRESET_AUTO,
            encoding=options.get("encoding") or None,
            progress=progress,
            mapping=ColumnMapping.from_json(job.column_mapping) if job.column_mapping else None,
        )
    if plan is None:
        _end(run)  # refused: the file is unreadable or lacks a column (the message says which)
        return
    progress.beat()
    _save_plan(job, plan)
    if plan.errors:
        _attach_failed_rows(job, plan)
    job.status = ImportJob.STATUS_PREVIEW
    job.message = ""
    job.rows_done = plan.rows_total
    del plan
    release_memory()
    if not _end(run):
        _delete_plan(job)
        return
    _audit("import.preview", job=job, user=job.user)


def _audit(event: str, *, job: ImportJob, user: Any) -> None:
    audit_event(
        event,
        user=user,
        job_id=job.pk,
        file_name=job.file_name,
        status=job.status,
        new=job.created_count,
        updated=job.updated_count,
        errors=job.error_count,
    )


def _preview_ended(job: ImportJob) -> None:
    if job.status == ImportJob.STATUS_FAILED:
        _drop_upload_only(job)
        import_job_notify(job=job)
    elif job.options.get("auto_confirm"):
        # The command line's --background: all or nothing as asked, a file with errors fails.
        import_job_confirm(job=job, user=None, refuse_invalid=False)


def import_job_write_run(*, job_id: int, attempt: int) -> None:
    """writing -> succeeded | partial | failed: write the stored plan in one transaction,
    whose last statement is the job's own final state (so a cancel either wins before the
    commit, and nothing is written, or finds the job finished)."""
    run_job(
        ImportJob,
        job_id,
        attempt,
        step=WRITE_STEP,
        work=_write_plan,
        refused=(ValidationError,),  # the plan is gone
        on_failure=_failed,
        error_message=lambda _error: ERROR_INTERRUPTED,
        on_end=_write_ended,
    )


def _write_plan(run: JobRun[ImportJob]) -> None:
    job = run.job
    plan = _load_plan(job)
    progress = _Progress(run, total=len(plan.creates) + len(plan.updates))
    progress.beat()
    skip_invalid = bool(job.options.get("skip_invalid"))
    with run.atomic():
        _write(job, plan, skip_invalid=skip_invalid, progress=progress, user=job.confirmed_by)
        if not _end(run):
            raise JobCancelled(job.pk)  # cancelled meanwhile: roll the write back
    del plan
    release_memory()
    drop_job_files(job)
    _audit("import.confirm", job=job, user=job.confirmed_by)


def _write_ended(job: ImportJob) -> None:
    if job.status == ImportJob.STATUS_FAILED:
        _drop_upload_only(job)
    import_job_notify(job=job)


_RESULT_FIELDS = (
    "message",
    "preset",
    "rows_total",
    "rows_done",
    "created_count",
    "updated_count",
    "unchanged_count",
    "skipped_count",
    "error_count",
    "failed_rows",
    "options",
    "profile_id",
)


def _end(run: JobRun[ImportJob]) -> bool:
    """Save the step's result (``job.status`` and the counts) if the step is still this run's
    (not cancelled, lost or retried meanwhile)."""
    job = run.job
    fields = {name: getattr(job, name) for name in _RESULT_FIELDS}
    fields["failed_rows"] = job.failed_rows.name or ""
    return run.end(state=job.status, duration=F("duration") + round(run.elapsed, 3), **fields)


def _failed(run: JobRun[ImportJob], message: str) -> bool:
    """A step that broke (or whose plan is gone) ends failed, with nothing written."""
    _fail(run.job, message)
    return _end(run)


def _drop_upload_only(job: ImportJob) -> None:
    """A failed preview keeps nothing but its message; a failed write keeps its plan for Retry."""
    if not job.options.get("confirmed") and job.message != ERROR_INTERRUPTED and job.upload:
        import_storage().delete(job.upload)
        ImportJob.objects.filter(pk=job.pk).update(upload="")


def import_job_notify(*, job: ImportJob) -> bool:
    link = reverse("admin:store_product_import_preview", args=[job.pk])
    if job.status in (ImportJob.STATUS_SUCCEEDED, ImportJob.STATUS_PARTIAL):
        subject = f"Your import #{job.pk} is done ({job.created_count:,} new, {job.updated_count:,} updated)"
    else:
        subject = f"Your import #{job.pk} of {job.file_name} failed"
    lines = [
        f"Import #{job.pk} of {job.file_name}: {job.get_status_display()}.",
        job.message,
        f"{job.rows_total:,} rows, {job.error_count:,} with errors, in {format_duration(job.duration)}.",
    ]
    return job_notify_end(job=job, subject=subject, lines=lines, link=link)


@task()
def import_preview(job_id: int, attempt: int) -> None:
    """Check and plan ImportJob ``job_id``'s stored upload (its attempt ``attempt``)."""
    import_job_preview_run(job_id=job_id, attempt=attempt)


@task()
def import_write(job_id: int, attempt: int) -> None:
    """Write ImportJob ``job_id``'s confirmed plan (its attempt ``attempt``) in one transaction."""
    import_job_write_run(job_id=job_id, attempt=attempt)
