"""Imports as jobs: a file over IMPORT_INLINE_MAX_ROWS rows is previewed and written by a worker.

    job = import_job_submit(path=..., file_name=..., user=..., preset=..., ...)   # queued
    # worker: import_job_preview_run(job_id, attempt)   queued -> running -> preview
    import_job_confirm(job=job, user=...)               # preview -> writing, queued for a worker
    # worker: import_job_write_run(job_id, attempt)     writing -> succeeded | partial | failed

The same service code as the inline flow does the work (``plan_file``, ``_save_plan``,
``_write``). The upload and the plan live in the private storage, so any web process
serves any step and any worker runs it. Every step is a conditional UPDATE on
(state, attempt): a task delivered twice, or an older attempt's task, finds nothing to
claim and stops. The write and its final state change are one transaction: a worker
killed (or a job cancelled) mid-write leaves nothing written, and a write that committed
can no longer be cancelled. The worker's heartbeat (every HEARTBEAT_SECONDS, on its own
connection during the write) lets ``import_jobs_mark_lost`` say "failed: worker lost".
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
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
    import_storage,
    plan_exists,
    release_memory,
)
from store.jobs.models import WORKER_LOST, JobCancelled
from store.jobs.services import format_duration, job_notify_end
from store.models import ImportJob

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
MESSAGE_QUEUED = "Queued; a worker will check the file."
MESSAGE_CANCELLED = "Cancelled by {user}; nothing written."
ERROR_NOT_CANCELLABLE = "Import #{pk} cannot be cancelled: it is {state}."
ERROR_NOT_RETRYABLE = "Import #{pk} cannot be retried: it is {state}."
ACTIVE = (ImportJob.STATUS_QUEUED, ImportJob.STATUS_RUNNING, ImportJob.STATUS_WRITING)


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
    task = import_preview if step == "preview" else import_write
    result = task.enqueue(job.pk, job.attempt)
    ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    job.refresh_from_db()
    return job


def import_job_confirm(*, job: ImportJob, user: Any = None, skip_invalid: bool | None = None) -> ImportJob:
    """preview -> writing (one conditional UPDATE: a double submit confirms once), then queue the write."""
    _check_may_act(job, user)
    confirmer = user if getattr(user, "pk", None) else None
    if skip_invalid is None:
        skip_invalid = bool(job.options.get("skip_invalid"))
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
    cancellable = [*ACTIVE, ImportJob.STATUS_PREVIEW, ImportJob.STATUS_MAPPING]
    cancelled = ImportJob.objects.filter(pk=job.pk, status__in=cancellable).update(
        status=ImportJob.STATUS_CANCELLED, finished_at=timezone.now(), message=message, created_count=0, updated_count=0
    )
    job.refresh_from_db()
    if not cancelled:
        raise ValidationError(
            ERROR_NOT_CANCELLABLE.format(pk=job.pk, state=job.get_status_display().lower()), code="not_cancellable"
        )
    audit_event("import.cancel", user=user, job_id=job.pk)
    drop_job_files(job)


def import_job_can_retry(job: ImportJob) -> bool:
    return (
        job.is_background
        and job.status in (ImportJob.STATUS_FAILED, ImportJob.STATUS_CANCELLED)
        and job.message in (WORKER_LOST_MESSAGE, ERROR_INTERRUPTED)
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
    target = ImportJob.STATUS_WRITING if write else ImportJob.STATUS_QUEUED
    retried = ImportJob.objects.filter(pk=job.pk, status=job.status, attempt=job.attempt).update(
        status=target,
        attempt=F("attempt") + 1,
        started_at=None,
        heartbeat_at=None,
        finished_at=None,
        rows_done=0,
        message=MESSAGE_WRITING if write else MESSAGE_QUEUED,
    )
    if not retried:
        raise _refusal(job)
    job.refresh_from_db()
    audit_event("import.retry", user=user, job_id=job.pk, attempt=job.attempt)
    return enqueue_step(job, "write" if write else "preview")


def import_jobs_mark_lost(*, now: datetime | None = None) -> int:
    """Steps whose worker sent no heartbeat for JOB_HEARTBEAT_TIMEOUT seconds: failed, worker lost.

    Only steps a worker claimed (a heartbeat was set); inline imports never have one.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    lost = list(
        ImportJob.objects.filter(
            status__in=[ImportJob.STATUS_RUNNING, ImportJob.STATUS_WRITING], heartbeat_at__lt=cutoff
        ).select_related("user")
    )
    count = 0
    for job in lost:
        if _transition(
            job,
            source=job.status,
            target=ImportJob.STATUS_FAILED,
            finished_at=now,
            message=WORKER_LOST_MESSAGE,
            created_count=0,
            updated_count=0,
        ):
            count += 1
            import_job_notify(job=job)
    if count:
        logger.warning("Imports: %d job(s) failed: %s", count, WORKER_LOST)
    return count


def drop_job_files(job: ImportJob) -> None:
    _delete_plan(job)
    if job.upload:
        import_storage().delete(job.upload)
        ImportJob.objects.filter(pk=job.pk).update(upload="")
        job.upload = ""


# --- The worker's side ------------------------------------------------------------
class _Pulse:
    """Progress and heartbeat of one step, throttled to one UPDATE every HEARTBEAT_SECONDS.

    Outside a transaction it writes through the ORM. Inside the write's transaction it writes
    through a connection of its own (the main one's rows are invisible until commit); on SQLite,
    which has one writer at a time, it skips the heartbeat during the write. An UPDATE that
    finds the step no longer theirs (cancelled, given up as lost, retried) raises JobCancelled.
    """

    def __init__(self, job: ImportJob, status: str) -> None:
        self.job, self.status = job, status
        self.done = 0
        self.total: int | None = None
        self.last = 0.0
        self.side: BaseDatabaseWrapper | None = None
        self.in_write = False  # inside the write's transaction: heartbeats go through ``side``

    def __call__(self, stage: str, advance: int) -> None:
        if stage == "rows":
            self.total = advance
        elif stage in ("validating", "writing"):
            self.done += advance
        if time.monotonic() - self.last >= HEARTBEAT_SECONDS:
            self.beat()

    def beat(self) -> None:
        self.last = time.monotonic()
        fields: dict[str, Any] = {"heartbeat_at": timezone.now(), "rows_done": self.done}
        if self.total is not None:
            fields["rows_total"] = self.total
        if not self.in_write:
            alive = ImportJob.objects.filter(pk=self.job.pk, status=self.status, attempt=self.job.attempt).update(
                **fields
            )
        elif connection.vendor == "sqlite":
            return
        else:
            alive = self._side_update(fields)
        if not alive:
            raise JobCancelled(self.job.pk)

    def _side_update(self, fields: dict[str, Any]) -> int:
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        table = ImportJob._meta.db_table
        quote = self.side.ops.quote_name
        columns = ", ".join(f"{quote(name)} = %s" for name in fields)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(table)} SET {columns} WHERE {quote('id')} = %s AND {quote('status')} = %s "
                f"AND {quote('attempt')} = %s",
                [*fields.values(), self.job.pk, self.status, self.job.attempt],
            )
            updated: int = cursor.rowcount
            if updated:
                return updated
            # Not updated: cancelled, lost or retried, unless the job's row is not visible from
            # another connection at all (a test's uncommitted transaction): then carry on.
            cursor.execute(f"SELECT 1 FROM {quote(table)} WHERE {quote('id')} = %s", [self.job.pk])
            return 0 if cursor.fetchone() else 1

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


def _claim(job_id: int, attempt: int, *, source: str, target: str) -> ImportJob | None:
    """The step's one start: ``source`` -> ``target`` for this attempt, if nobody started it yet."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=source, attempt=attempt, heartbeat_at__isnull=True).update(
        status=target, started_at=now, heartbeat_at=now, rows_done=0
    )
    if not claimed:
        logger.info("Import #%s attempt %s: nothing to do (cancelled, retried or already run).", job_id, attempt)
        return None
    return ImportJob.objects.select_related("user", "confirmed_by").get(pk=job_id)


def import_job_preview_run(*, job_id: int, attempt: int) -> None:
    """queued -> running -> preview (or failed): plan the stored upload, save the plan."""
    job = _claim(job_id, attempt, source=ImportJob.STATUS_QUEUED, target=ImportJob.STATUS_RUNNING)
    if job is None:
        return
    started = time.monotonic()
    pulse = _Pulse(job, ImportJob.STATUS_RUNNING)
    try:
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
                progress=pulse,
                mapping=ColumnMapping.from_json(job.column_mapping) if job.column_mapping else None,
            )
        if plan is None:
            _end(job, attempt, source=ImportJob.STATUS_RUNNING, started=started)
            return
        pulse.beat()
        _save_plan(job, plan)
        if plan.errors:
            _attach_failed_rows(job, plan)
        job.status = ImportJob.STATUS_PREVIEW
        job.message = ""
        job.rows_done = plan.rows_total
        del plan
        release_memory()
        if not _end(job, attempt, source=ImportJob.STATUS_RUNNING, started=started, notify=False):
            _delete_plan(job)
            return
        audit_event(
            "import.preview",
            user=job.user,
            job_id=job.pk,
            file_name=job.file_name,
            status=job.status,
            new=job.created_count,
            updated=job.updated_count,
            errors=job.error_count,
        )
    except JobCancelled:
        logger.info("Import #%s preview stopped: cancelled.", job_id)
        return
    except Exception:
        logger.exception("Import #%s preview failed", job_id)
        _fail(job, ERROR_INTERRUPTED)
        _end(job, attempt, source=ImportJob.STATUS_RUNNING, started=started)
        return
    if job.options.get("auto_confirm"):
        import_job_confirm(job=job, user=None)


def import_job_write_run(*, job_id: int, attempt: int) -> None:
    """writing -> succeeded | partial | failed: write the stored plan in one transaction,
    whose last statement is the job's own final state (so a cancel either wins before the
    commit, and nothing is written, or finds the job finished)."""
    job = _claim(job_id, attempt, source=ImportJob.STATUS_WRITING, target=ImportJob.STATUS_WRITING)
    if job is None:
        return
    started = time.monotonic()
    pulse = _Pulse(job, ImportJob.STATUS_WRITING)
    try:
        plan = _load_plan(job)
        pulse.total = len(plan.creates) + len(plan.updates)
        pulse.beat()
        skip_invalid = bool(job.options.get("skip_invalid"))
        with transaction.atomic():
            pulse.in_write = True
            _write(job, plan, skip_invalid=skip_invalid, progress=pulse, user=job.confirmed_by)
            if not _end(job, attempt, source=ImportJob.STATUS_WRITING, started=started, notify=False):
                raise JobCancelled(job.pk)  # cancelled meanwhile: roll the write back
        del plan
        release_memory()
    except JobCancelled:
        logger.info("Import #%s write stopped: cancelled; rolled back.", job_id)
        return
    except ValidationError as error:  # the plan is gone
        _fail(job, error.messages[0])
        _end(job, attempt, source=ImportJob.STATUS_WRITING, started=started)
        return
    except Exception:
        logger.exception("Import #%s write failed", job_id)
        _fail(job, ERROR_INTERRUPTED)
        _end(job, attempt, source=ImportJob.STATUS_WRITING, started=started)
        return
    finally:
        pulse.close()
    drop_job_files(job)
    audit_event(
        "import.confirm",
        user=job.confirmed_by,
        job_id=job.pk,
        file_name=job.file_name,
        status=job.status,
        new=job.created_count,
        updated=job.updated_count,
        errors=job.error_count,
    )
    import_job_notify(job=job)


_RESULT_FIELDS = (
    "status",
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


def _end(job: ImportJob, attempt: int, *, source: str, started: float, notify: bool = True) -> bool:
    """Save the step's result if the step is still this attempt's (not cancelled or lost meanwhile)."""
    now = timezone.now()
    fields = {name: getattr(job, name) for name in _RESULT_FIELDS}
    fields["failed_rows"] = job.failed_rows.name or ""
    if job.status in ImportJob.FINAL_STATUSES:
        fields["finished_at"] = now
    saved = ImportJob.objects.filter(pk=job.pk, status=source, attempt=attempt).update(
        duration=F("duration") + round(time.monotonic() - started, 3), heartbeat_at=now, **fields
    )
    if saved and notify and job.status in ImportJob.FINAL_STATUSES:
        if job.status == ImportJob.STATUS_FAILED:
            _drop_upload_only(job)
        import_job_notify(job=job)
    return bool(saved)


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


STATE_LABELS = {
    ImportJob.STATUS_QUEUED: "queued",
    ImportJob.STATUS_RUNNING: "previewing",
    ImportJob.STATUS_PREVIEW: "ready to confirm",
    ImportJob.STATUS_WRITING: "writing",
    ImportJob.STATUS_SUCCEEDED: "done",
    ImportJob.STATUS_PARTIAL: "done (invalid rows skipped)",
    ImportJob.STATUS_FAILED: "failed",
    ImportJob.STATUS_CANCELLED: "cancelled",
    ImportJob.STATUS_EXPIRED: "expired",
}


def import_job_progress(*, job: ImportJob) -> dict[str, Any]:
    """What the job page shows: state, rows done / total, rate, ETA, elapsed."""
    state = STATE_LABELS.get(job.status, job.status)
    if job.status == ImportJob.STATUS_FAILED and job.message:
        state = job.message if job.message.startswith("failed:") else f"failed: {job.message}"
    total = job.rows_total or None
    if job.status == ImportJob.STATUS_WRITING and job.created_count + job.updated_count:
        total = job.created_count + job.updated_count  # the rows to write, not the file's
    elapsed = rate = eta = None
    if job.started_at:
        end = job.finished_at if job.status in ImportJob.FINAL_STATUSES and job.finished_at else timezone.now()
        elapsed = max(0.0, (end - job.started_at).total_seconds())
        if elapsed and job.rows_done:
            rate = job.rows_done / elapsed
            if total and job.status in ACTIVE:
                eta = max(0.0, (total - job.rows_done) / rate)
    percent = min(100, int(job.rows_done * 100 / total)) if total else None
    return {
        "state": state,
        "rows_done": job.rows_done,
        "rows_total": total,
        "percent": percent,
        "rate": f"{rate:,.0f} rows/s" if rate else "-",
        "eta": format_duration(eta),
        "elapsed": format_duration(elapsed),
        "active": job.status in ACTIVE,
    }


@task()
def import_preview(job_id: int, attempt: int) -> None:
    """Check and plan ImportJob ``job_id``'s stored upload (its attempt ``attempt``)."""
    import_job_preview_run(job_id=job_id, attempt=attempt)


@task()
def import_write(job_id: int, attempt: int) -> None:
    """Write ImportJob ``job_id``'s confirmed plan (its attempt ``attempt``) in one transaction."""
    import_job_write_run(job_id=job_id, attempt=attempt)
