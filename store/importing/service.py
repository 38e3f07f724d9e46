"""The product import service: one code path for the admin and the CLI.

    outcome = product_import(path=..., file_name=..., user=...)  # .job, .plan, .written (the CLI's)

The admin splits the same run in two: ``product_import_preview`` parses,
validates and diffs once and keeps the plan in the private storage
(``STORAGES["private"]``, shared by every web process and worker);
``product_import_confirm`` writes that plan, re-checking versions, so the file
is never parsed twice.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import gc
import hashlib
import hmac
import io
import logging
import pickle
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import DatabaseError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from store.audit import audit_event
from store.exports.formats import escape_formula
from store.fileformat.columns import import_job_id, product_columns
from store.importing.mapping import PRESET_MAPPED, ColumnMapping, mapped_rows, mapping_note
from store.importing.modes import (
    NO_CHOICE,
    ModeChoice,
    check_mode,
    import_mode_resolve,
    mode_from_options,
    mode_options,
)
from store.importing.parsing import parse_file
from store.importing.plan import ImportPlan, ProgressCallback, RowError, no_progress
from store.importing.planning import build_plan
from store.importing.presets import PRESET_AUTO, PRESET_CHOICES
from store.importing.related import RELATED_RECORDED
from store.importing.writing import ImportConflict, WriteResult, apply_plan
from store.models import ImportJob, Product, private_storage
from store.services import User

logger = logging.getLogger(__name__)

ERROR_PREVIEW_GONE = "This preview has expired or was already used; upload the file again."
ERROR_NOT_A_PREVIEW = "Import #{pk} is not awaiting confirmation: it is {state}."
ERROR_EXPIRED = (
    "Import #{pk} has expired: its preview was not confirmed within {hours} hours, so nothing "
    "was written. Upload the file again."
)
ERROR_ROWS_INVALID = "{rows} row(s) have errors; nothing was written."
# A Confirm that would write nothing (all or nothing, with rows in error): refused, the preview kept.
ERROR_CONFIRM_ROWS_INVALID = (
    "Not imported: {rows} and “skip the invalid rows” is not ticked, so nothing was written. The "
    "preview is kept: tick it to import the {valid} and skip the invalid rows, then confirm again; "
    "or fix the file and upload it again."
)
ERROR_CONFIRM_ALL_ROWS_INVALID = (
    "Not imported: {rows} and no row would change anything without them, so nothing was written. "
    "Fix the file and upload it again."
)
ERROR_DATABASE = "The database refused the import ({error}); nothing was written."
ERROR_INTERRUPTED = "Interrupted by an unexpected error; nothing was written."
ERROR_DIED = "Interrupted: the process running it stopped before the import was written; nothing was written."
MESSAGE_RECOVERED = (
    "{created} new, {updated} updated (from the change history: the process stopped after writing, "
    "before recording the end)."
)
MESSAGE_DONE = "{created} new, {updated} updated, {unchanged} unchanged, {skipped} skipped."
MESSAGE_WRITING = "Confirmed; writing."
MESSAGE_CANCELLED = "Cancelled after preview; nothing written."
MESSAGE_EXPIRED = "The preview was not confirmed within {hours} hours; nothing written."
# Lets a user see, confirm and cancel imports someone else uploaded (superusers have it).
MANAGE_OTHERS_PERMISSION = "store.manage_others_imports"


@dataclass
class ImportOutcome:
    job: ImportJob
    plan: ImportPlan | None
    written: bool


PREVIEW_TTL_SECONDS = 24 * 3600
PLAN_CHUNK = 5000


# --- Who may act on a job -------------------------------------------------------
def import_job_can_act(*, job: ImportJob, user: User) -> bool:
    """The uploader, a superuser, or a holder of ``store.manage_others_imports``."""
    if user is None or not user.is_authenticated:
        return False
    return job.user_id == user.pk or _may_manage_others(user)


def _may_manage_others(user: User) -> bool:
    return isinstance(user, PermissionsMixin) and user.has_perm(MANAGE_OTHERS_PERMISSION)


def import_jobs_visible_to(*, user: User) -> QuerySet[ImportJob]:
    """The jobs ``user`` may see: their own, or every job with the permission (the admin's queryset)."""
    jobs = ImportJob.objects.all()
    if user is None or not user.is_authenticated:
        return jobs.none()
    if _may_manage_others(user):
        return jobs
    return jobs.filter(user_id=user.pk)


# --- State transitions ------------------------------------------------------------
def _transition(job: ImportJob, *, source: str, target: str, **fields: Any) -> bool:
    """Move ``job`` from ``source`` to ``target`` unless someone else moved it first.

    One conditional UPDATE: of two requests taking the same step, the database lets one win.
    """
    claimed = ImportJob.objects.filter(pk=job.pk, status=source).update(status=target, **fields)
    if claimed:
        job.status = target
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(claimed)


def _refusal(job: ImportJob) -> ValidationError:
    """Why ``job`` cannot be confirmed or cancelled any more, from its state now."""
    job.refresh_from_db(fields=["status", "message"])
    if job.status == ImportJob.STATUS_EXPIRED:
        return ValidationError(ERROR_EXPIRED.format(pk=job.pk, hours=PREVIEW_TTL_SECONDS // 3600), code="expired")
    state = job.get_status_display().lower()
    return ValidationError(ERROR_NOT_A_PREVIEW.format(pk=job.pk, state=state), code="not_preview")


def _expire(job: ImportJob, *, source: str, now: datetime | None = None) -> bool:
    expired = _transition(
        job,
        source=source,
        target=ImportJob.STATUS_EXPIRED,
        finished_at=now or timezone.now(),
        message=MESSAGE_EXPIRED.format(hours=PREVIEW_TTL_SECONDS // 3600),
        created_count=0,
        updated_count=0,
    )
    if expired:  # never the plan of a job another request has just claimed
        _delete_plan(job)
        upload = ImportJob.objects.filter(pk=job.pk).values_list("upload", flat=True).first()
        if upload:  # an import job's stored file
            import_storage().delete(upload)
            ImportJob.objects.filter(pk=job.pk).update(upload="")
    return expired


def product_import_expire_previews(*, now: datetime | None = None) -> int:
    """Previews nobody confirmed within PREVIEW_TTL_SECONDS become "expired"; their plans are dropped.

    Cheap when there is nothing to expire (one indexed SELECT), so pages call it before
    showing or acting on jobs.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=PREVIEW_TTL_SECONDS)
    waiting = [ImportJob.STATUS_PREVIEW, ImportJob.STATUS_MAPPING]  # a file left on the mapping step too
    stale = ImportJob.objects.filter(status__in=waiting, created_at__lt=cutoff).only("pk", "status")
    expired = sum(_expire(job, source=job.status, now=now) for job in stale[:1000])
    if expired:
        logger.info("Expired %d unconfirmed import preview(s).", expired)
    return expired


# --- Imports found dead ---------------------------------------------------------------
def import_history_counts(*, job: ImportJob) -> tuple[int, int]:
    """(new, updated) products whose history rows say ``job`` wrote them ("Import #N (file)")."""
    rows = Product.history.filter(
        history_change_reason__startswith=f"Import #{job.pk} (", history_date__gte=job.created_at
    )
    counts = dict(rows.order_by().values_list("history_type").annotate(n=Count("history_id")))
    return counts.get("+", 0), counts.get("~", 0)


def import_job_reconcile(*, job: ImportJob, now: datetime | None = None) -> bool:
    """Record the end of an import whose process died before it did, from what the database holds.

    Its history rows mean its write committed (the end is part of that transaction now, so only
    an older version's import gets here): it is done, with the history's counts. Without any, an
    inline step older than INLINE_STEP_TIMEOUT died with its web process: failed, nothing written.
    A command-line import may run longer than any timeout, so only its history can end it.
    Returns whether the job was changed."""
    if job.status not in (ImportJob.STATUS_RUNNING, ImportJob.STATUS_WRITING):
        return False
    now = now or timezone.now()
    created, updated = import_history_counts(job=job)
    if created or updated:
        return _transition(
            job,
            source=job.status,
            target=ImportJob.STATUS_PARTIAL if job.error_count else ImportJob.STATUS_SUCCEEDED,
            created_count=created,
            updated_count=updated,
            message=MESSAGE_RECOVERED.format(created=created, updated=updated),
            finished_at=now,
        )
    since = job.started_at or job.created_at
    dead = since < now - timedelta(seconds=settings.INLINE_STEP_TIMEOUT)
    if job.is_background or job.heartbeat_at is not None or job.source == ImportJob.SOURCE_CLI or not dead:
        return False  # a worker's step (its heartbeat says), or possibly still running
    return _transition(
        job, source=job.status, target=ImportJob.STATUS_FAILED, finished_at=now, **job.outcome_fields(ERROR_DIED)
    )


def import_jobs_recover(*, now: datetime | None = None) -> int:
    """Inline imports left "running" or "writing" by a process that died: reconciled (above)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.INLINE_STEP_TIMEOUT)
    stale = ImportJob.objects.filter(
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, created_at__lt=cutoff),
        status__in=[ImportJob.STATUS_RUNNING, ImportJob.STATUS_WRITING],
        heartbeat_at__isnull=True,
    )
    recovered = sum(import_job_reconcile(job=job, now=now) for job in stale[:1000])
    if recovered:
        logger.warning("Imports: %d left running by a process that stopped, recovered.", recovered)
    return recovered


PLANS_DIR = "imports/plans"
UPLOADS_DIR = "imports/uploads"


def import_storage() -> Storage:
    """Uploaded files and saved plans: the private storage, which every web process and
    worker shares (a folder on a shared volume, or an S3 bucket), never one server's disk."""
    return private_storage()


def _drop_stale_plans() -> None:
    """Expire unconfirmed previews, then delete plan files left behind by jobs no longer waiting."""
    product_import_expire_previews()
    storage = import_storage()
    cutoff = timezone.now() - timedelta(seconds=PREVIEW_TTL_SECONDS)
    try:
        _folders, names = storage.listdir(PLANS_DIR)
    except FileNotFoundError:
        return
    old = {}
    for name in names:
        stem, _, suffix = name.partition(".")
        if stem.isdigit() and suffix == "plan" and storage.get_modified_time(f"{PLANS_DIR}/{name}") < cutoff:
            old[int(stem)] = f"{PLANS_DIR}/{name}"
    waiting = set(
        ImportJob.objects.filter(
            pk__in=list(old), status__in=[ImportJob.STATUS_PREVIEW, ImportJob.STATUS_WRITING]
        ).values_list("pk", flat=True)
    )
    for pk, name in old.items():
        if pk not in waiting:
            storage.delete(name)


def _plan_name(job: ImportJob) -> str:
    return f"{PLANS_DIR}/{job.pk}.plan"


def plan_exists(job: ImportJob) -> bool:
    return import_storage().exists(_plan_name(job))


def _delete_plan(job: ImportJob) -> None:
    import_storage().delete(_plan_name(job))


def _drop_upload(job: ImportJob) -> None:
    """A mapped file's stored upload, kept while its preview could go back to the mapping step."""
    if job.upload:
        import_storage().delete(job.upload)
        ImportJob.objects.filter(pk=job.pk).update(upload="")
        job.upload = ""


def _mac() -> hmac.HMAC:
    return hmac.new(settings.SECRET_KEY.encode(), digestmod=hashlib.sha256)


def _save_plan(job: ImportJob, plan: ImportPlan) -> None:
    """Pickle the plan in chunks of ``PLAN_CHUNK`` rows, signed with an HMAC, into the storage.

    One pickle of a 500k-row plan would hold the whole byte string and a memo of
    every object in memory at once (several hundred MB); chunks keep both small.
    The pickle goes to a local temporary file first (the storage API wants a whole
    file), then to the storage; the HMAC makes sure we only ever load what we wrote.
    """
    mac = _mac()
    creates, updates = plan.creates, plan.updates
    with tempfile.TemporaryFile(prefix="import-plan-") as handle:
        handle.write(bytes(mac.digest_size))  # the signature, written last

        def dump(value: object) -> None:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            mac.update(data)
            handle.write(data)

        plan.creates, plan.updates = [], []
        try:
            dump((len(creates), len(updates), plan))
        finally:
            plan.creates, plan.updates = creates, updates
        for rows in (creates, updates):
            for start in range(0, len(rows), PLAN_CHUNK):
                dump(rows[start : start + PLAN_CHUNK])
        handle.seek(0)
        handle.write(mac.digest())
        handle.seek(0)
        storage = import_storage()
        name = _plan_name(job)
        storage.delete(name)  # a retried preview replaces its plan, never beside it
        storage.save(name, File(handle, name=name))


def _load_plan(job: ImportJob) -> ImportPlan:
    """Copy the plan from the storage to a local temporary file, check its HMAC, unpickle it."""
    try:
        source = import_storage().open(_plan_name(job), "rb")
    except FileNotFoundError:
        raise ValidationError(ERROR_PREVIEW_GONE, code="gone") from None
    with source, tempfile.TemporaryFile(prefix="import-plan-") as handle:
        mac = _mac()
        signature = source.read(mac.digest_size)
        while chunk := source.read(1024 * 1024):
            mac.update(chunk)
            handle.write(chunk)
        if not hmac.compare_digest(signature, mac.digest()):
            raise ValidationError(ERROR_PREVIEW_GONE, code="gone")
        handle.seek(0)
        header: tuple[int, int, ImportPlan] = pickle.load(handle)
        creates, updates, plan = header
        for rows, count in ((plan.creates, creates), (plan.updates, updates)):
            while len(rows) < count:
                rows.extend(pickle.load(handle))
    return plan


def release_memory() -> None:
    """Give the memory of a large import back to the OS once its plan is dropped.

    The objects are freed when the last reference goes, but glibc keeps the freed
    heap pages: a web worker would stay at its peak. ``malloc_trim`` returns them.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def plan_file(
    *,
    path: Path,
    file_name: str,
    preset: str = PRESET_AUTO,
    encoding: str | None = None,
    progress: ProgressCallback = no_progress,
    mapping: ColumnMapping | None = None,
    mode: ModeChoice = NO_CHOICE,
) -> ImportPlan:
    """Parse, map, validate and diff a file. Reads only; raises ValidationError for file-level problems.

    ``mapping``: a supplier file's column mapping; without one, a preset or the saved profile of the header.
    ``mode``: the import mode as chosen (``store.importing.modes``); else the profile's, else the default.
    """
    if mode.mode:
        check_mode(mode.mode)  # an unknown mode is refused before the file is read
    parsed = parse_file(path, encoding=encoding)
    progress("rows", len(parsed.rows))
    mapped = mapped_rows(parsed, preset=preset, mapping=mapping)
    import_mode = import_mode_resolve(
        mode, profile_mode=mapped.profile_mode, profile_keep_blank=mapped.profile_keep_blank
    )
    plan = build_plan(mapped, file_name=file_name, header=parsed.header, progress=progress, mode=import_mode)
    if mapped.name == PRESET_MAPPED:
        plan.profile_id, plan.profile_name = mapped.profile_id, mapped.profile_name
        plan.notes.insert(0, mapping_note(mapped))
    if parsed.format == "csv" and parsed.encoding not in ("utf-8", "utf-8-sig"):
        plan.notes.append(f"Read as {parsed.encoding}.")
    return plan


def failed_rows_csv(plan: ImportPlan, extra: Sequence[RowError] = ()) -> str:
    """The failed rows: original columns plus ``row`` and ``error``, ready to fix and re-upload."""
    reasons: dict[int, list[str]] = {}
    for error in [*plan.errors, *extra]:
        column = f"{error.column}: " if error.column else ""
        reasons.setdefault(error.row, []).append(f"{column}{error.reason}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*plan.header, "error"])
    width = len(plan.header)
    for row in sorted(reasons):
        cells = list(plan.failed_cells.get(row) or [])[:width]
        cells += [""] * (width - len(cells))
        writer.writerow([escape_formula(cell) for cell in cells] + [f"row {row}: " + "; ".join(reasons[row])])
    return buffer.getvalue()


def _options(
    *,
    preset: str,
    encoding: str | None,
    skip_invalid: bool,
    dry_run: bool,
    mode: ModeChoice = NO_CHOICE,
) -> dict[str, Any]:
    return {
        "preset": preset,
        "encoding": encoding or "",
        "skip_invalid": skip_invalid,
        "dry_run": dry_run,
        **mode_options(mode),
        RELATED_RECORDED: True,  # its tags and promotions changes are recorded for a revert
    }


def import_options_describe(*, job: ImportJob) -> list[str]:
    """A job's options (the JSON record its steps read back) as the job page says them, one a line."""
    options = job.options
    if options.get("reverts"):
        lines = [f"Reverts import #{options['reverts']}"]
        if options.get("skip_changed"):
            lines.append("Products changed since that import were left as they are")
        return lines
    mapping = ColumnMapping.from_json(job.column_mapping) if job.column_mapping else None
    mode = import_mode_resolve(
        mode_from_options(options),
        profile_mode=mapping.mode if mapping else None,
        profile_keep_blank=mapping.keep_blank if mapping else None,
    )
    lines = [mode.describe(profile_name=mapping.profile_name if mapping else "").removesuffix(".")]
    lines.append(
        "Invalid rows skipped, the valid ones written"
        if options.get("skip_invalid")
        else "Any invalid row stops the import (nothing written)"
    )
    if options.get("encoding"):
        lines.append(f"File encoding: {options['encoding']}")
    if options.get("dry_run"):
        lines.append("Dry run: checked, nothing written")
    if options.get("background"):
        lines.append("Run by a background worker")
    return lines


def import_preset_label(preset: str) -> str:
    """The file's format as the upload form names it ("WooCommerce product export"), not its key."""
    labels = {**dict(PRESET_CHOICES), PRESET_MAPPED: "Supplier file, mapped column by column"}
    return labels.get(preset, preset)


def import_mapping_describe(*, job: ImportJob) -> list[tuple[str, str]]:
    """(file column, product column) of a mapped supplier file; ignored columns are left out."""
    if not job.column_mapping:
        return []
    mapping = ColumnMapping.from_json(job.column_mapping)
    labels = {column.name: column.label or column.name for column in product_columns()}
    return [
        (name, labels.get(target, target))
        for name, target in zip(mapping.header, mapping.targets, strict=False)
        if target
    ]


def _record_counts(job: ImportJob, plan: ImportPlan) -> None:
    job.preset = plan.preset
    job.rows_total = plan.rows_total
    job.created_count = len(plan.creates)
    job.updated_count = len(plan.updates)
    job.unchanged_count = plan.unchanged
    job.skipped_count = len(plan.skipped)
    job.error_count = plan.error_rows
    job.profile_id = plan.profile_id


def _attach_failed_rows(job: ImportJob, plan: ImportPlan, extra: Sequence[RowError] = ()) -> None:
    if plan.errors or extra:
        content = failed_rows_csv(plan, list(extra))
        job.failed_rows.save(f"import-{job.pk}-failed-rows.csv", ContentFile(content.encode("utf-8-sig")), save=False)


def _fail(job: ImportJob, message: str) -> None:
    """Nothing was written: the counts say so (0 new, 0 updated), never the plan's."""
    job.status = ImportJob.STATUS_FAILED
    job.message = message
    job.created_count = job.updated_count = 0


def _write(
    job: ImportJob,
    plan: ImportPlan,
    *,
    skip_invalid: bool,
    progress: ProgressCallback,
    user: User = None,
    record: Callable[[], None] | None = None,
) -> bool:
    """Apply the plan unless errors forbid it; fill the job's status, counts and message.

    The write is one transaction: when it fails, nothing was written, and the job reports 0
    new and 0 updated. ``record()`` saves the job's end as that transaction's last statement,
    so a process that dies after the commit leaves the import recorded as written (a step
    that ends the job in its own transaction, a worker's, passes none).
    """
    if plan.errors and not skip_invalid:
        _fail(job, ERROR_ROWS_INVALID.format(rows=plan.error_rows))
        _attach_failed_rows(job, plan)
        return False
    try:
        token = import_job_id.set(job.pk)  # the image URLs it lists point back to the job
        try:
            with transaction.atomic():
                result = apply_plan(
                    plan,
                    skip_invalid=skip_invalid,
                    progress=progress,
                    user=user or job.user,
                    reason=f"Import #{job.pk} ({job.file_name})"[:100],
                )
                _written(job, plan, result)
                if record is not None:
                    record()
        finally:
            import_job_id.reset(token)
    except ImportConflict as conflict:
        _fail(job, conflict.messages[0])
        job.error_count = plan.error_rows + len({error.row for error in conflict.conflicts})
        _attach_failed_rows(job, plan, conflict.conflicts)
        return False
    except ValidationError as error:
        _fail(job, error.messages[0])
        return False
    except DatabaseError as error:
        # A lock wait that ran out, a deadlock, a full disk: the transaction was rolled back.
        logger.warning("Import #%s rolled back: %s", job.pk, error)
        _fail(job, ERROR_DATABASE.format(error=error))
        return False
    return True


def _written(job: ImportJob, plan: ImportPlan, result: WriteResult) -> None:
    job.created_count, job.updated_count = result.created, result.updated
    failed = plan.error_rows + len({error.row for error in result.conflicts})
    job.error_count = failed
    job.status = ImportJob.STATUS_PARTIAL if failed else ImportJob.STATUS_SUCCEEDED
    job.message = MESSAGE_DONE.format(
        created=result.created, updated=result.updated, unchanged=plan.unchanged, skipped=len(plan.skipped)
    )
    _attach_failed_rows(job, plan, result.conflicts)


def _save_end(job: ImportJob, started: float) -> None:
    job.duration = round(time.monotonic() - started, 3) + job.duration
    job.finished_at = timezone.now()
    job.save()


def _finish(job: ImportJob, started: float, event: str, *, user: User = None, saved: bool = False) -> None:
    """Save the job's end (unless ``saved``: the write's transaction did) and audit it."""
    if not saved:
        _save_end(job, started)
    audit_event(
        event,
        user=user or job.user,
        job_id=job.pk,
        file_name=job.file_name,
        status=job.status,
        new=job.created_count,
        updated=job.updated_count,
        errors=job.error_count,
    )


def _start(*, user: User, source: str, file_name: str, options: dict[str, Any]) -> ImportJob:
    return ImportJob.objects.create(
        user=user if isinstance(user, get_user_model()) and user.pk else None,
        source=source,
        file_name=file_name[:255],
        status=ImportJob.STATUS_RUNNING,
        options=options,
    )


def _plan_or_fail(
    job: ImportJob,
    *,
    path: Path,
    preset: str,
    encoding: str | None,
    progress: ProgressCallback,
    mapping: ColumnMapping | None = None,
) -> ImportPlan | None:
    try:
        plan = plan_file(
            path=path,
            file_name=job.file_name,
            preset=preset,
            encoding=encoding,
            progress=progress,
            mapping=mapping,
            mode=mode_from_options(job.options),  # as chosen on upload or the command line
        )
    except ValidationError as error:
        _fail(job, error.messages[0])
        return None
    _record_counts(job, plan)
    return plan


def product_import(
    *,
    path: Path,
    file_name: str,
    user: User = None,
    preset: str = PRESET_AUTO,
    encoding: str | None = None,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: ProgressCallback = no_progress,
    mapping: ColumnMapping | None = None,
    mode: ModeChoice = NO_CHOICE,
) -> ImportOutcome:
    """Import a file in one go: the command line's import (its job's source), and the benchmarks'.
    Always records an ImportJob."""
    started = time.monotonic()
    job = _start(
        user=user,
        source=ImportJob.SOURCE_CLI,
        file_name=file_name,
        options=_options(preset=preset, encoding=encoding, skip_invalid=skip_invalid, dry_run=dry_run, mode=mode),
    )
    if mapping is not None:
        job.column_mapping = mapping.to_json()
    plan = _plan_or_fail(job, path=path, preset=preset, encoding=encoding, progress=progress, mapping=mapping)
    written = False
    if plan is not None:
        if dry_run:
            job.status = ImportJob.STATUS_DRY_RUN
            job.message = "Run again without --dry-run to write these changes."
            _attach_failed_rows(job, plan)
        else:
            written = _write(
                job, plan, skip_invalid=skip_invalid, progress=progress, record=lambda: _save_end(job, started)
            )
    _finish(job, started, "import.dry_run" if dry_run else "import.run", saved=written)
    return ImportOutcome(job=job, plan=plan, written=written)


def product_import_preview(
    *,
    path: Path,
    file_name: str,
    user: User = None,
    preset: str = PRESET_AUTO,
    encoding: str | None = None,
    skip_invalid: bool = False,
    mode: ModeChoice = NO_CHOICE,
) -> ImportOutcome:
    """Plan a file and keep the plan for ``product_import_confirm`` (the admin's first step).

    The job is "running" while the file is checked, then "preview" (awaiting confirmation)
    once its plan is saved, or "failed" when the file is refused.
    """
    started = time.monotonic()
    job = _start(
        user=user,
        source=ImportJob.SOURCE_ADMIN,
        file_name=file_name,
        options=_options(preset=preset, encoding=encoding, skip_invalid=skip_invalid, dry_run=False, mode=mode),
    )
    plan = _plan_or_fail(job, path=path, preset=preset, encoding=encoding, progress=no_progress)
    _keep_preview(job, plan, started)
    return ImportOutcome(job=job, plan=plan, written=False)


def _keep_preview(job: ImportJob, plan: ImportPlan | None, started: float) -> None:
    """Save the plan for ``product_import_confirm`` (job -> preview), or record the refusal (job failed)."""
    _drop_stale_plans()
    if plan is not None:
        _save_plan(job, plan)
        job.status = ImportJob.STATUS_PREVIEW
        if plan.errors:
            _attach_failed_rows(job, plan)
    _finish(job, started, "import.preview")


def product_import_load_preview(*, job: ImportJob) -> ImportPlan:
    """The saved plan of a job awaiting confirmation; a preview whose plan is gone expires."""
    if job.status == ImportJob.STATUS_PREVIEW and job.created_at < timezone.now() - timedelta(
        seconds=PREVIEW_TTL_SECONDS
    ):
        _expire(job, source=ImportJob.STATUS_PREVIEW)
    if job.status != ImportJob.STATUS_PREVIEW:
        raise _refusal(job)
    try:
        return _load_plan(job)
    except ValidationError:
        _expire(job, source=ImportJob.STATUS_PREVIEW)
        raise


def check_confirmable(job: ImportJob, *, skip_invalid: bool) -> None:
    """Refuse the Confirm of a preview with rows in error unless they are to be skipped.

    All or nothing would write nothing and burn the preview (the file would have to be uploaded
    again), so the job is left as it is: still awaiting confirmation, its plan kept. A job that is
    no longer a preview gets the usual refusal (confirmed elsewhere, cancelled, expired).
    """
    if skip_invalid or not job.error_count:
        return
    job.refresh_from_db(fields=["status", "message", "error_count", "created_count", "updated_count"])
    if job.status != ImportJob.STATUS_PREVIEW:
        raise _refusal(job)
    if not job.error_count:
        return
    valid = job.created_count + job.updated_count
    rows = ngettext("%(n)d row has an error", "%(n)d rows have errors", job.error_count) % {"n": job.error_count}
    if not valid:
        raise ValidationError(ERROR_CONFIRM_ALL_ROWS_INVALID.format(rows=rows), code="rows_invalid")
    changes = ngettext("%(n)d valid change", "%(n)d valid changes", valid) % {"n": valid}
    raise ValidationError(ERROR_CONFIRM_ROWS_INVALID.format(rows=rows, valid=changes), code="rows_invalid")


def _check_may_act(job: ImportJob, user: User) -> None:
    if user is not None and not import_job_can_act(job=job, user=user):
        raise PermissionDenied(f"Import #{job.pk} belongs to another user.")


def product_import_confirm(*, job: ImportJob, user: User = None, skip_invalid: bool | None = None) -> ImportOutcome:
    """Write a previewed plan. Concurrent edits since the preview are detected, never overwritten.

    ``user`` (the confirmer; None for a background worker) must be allowed to act on the job.
    A plan with rows in error is refused unless ``skip_invalid`` (``check_confirmable``): the
    job stays a preview. The job goes preview -> writing in one conditional UPDATE before
    anything is read, so of several simultaneous confirms exactly one writes and the others get
    a ValidationError.
    The uploader stays in ``job.user``; the confirmer is recorded in ``job.confirmed_by``.
    """
    started = time.monotonic()
    _check_may_act(job, user)
    product_import_expire_previews()
    if skip_invalid is None:
        skip_invalid = bool(job.options.get("skip_invalid"))
    check_confirmable(job, skip_invalid=skip_invalid)
    confirmer = user if getattr(user, "pk", None) else None
    if not _transition(
        job,
        source=ImportJob.STATUS_PREVIEW,
        target=ImportJob.STATUS_WRITING,
        confirmed_by=confirmer,
        message=MESSAGE_WRITING,
        started_at=timezone.now(),  # no heartbeat in a request: housekeeping goes by this
    ):
        raise _refusal(job)
    try:
        plan = _load_plan(job)
    except ValidationError:
        _expire(job, source=ImportJob.STATUS_WRITING)
        raise
    job.options = {**job.options, "skip_invalid": skip_invalid}
    try:
        written = _write(
            job,
            plan,
            skip_invalid=skip_invalid,
            progress=no_progress,
            user=confirmer,
            record=lambda: _save_end(job, started),
        )
    except Exception:
        # A bug, not a refusal: the write was rolled back; do not leave the job "writing".
        _fail(job, ERROR_INTERRUPTED)
        _finish(job, started, "import.confirm", user=confirmer)
        raise
    _delete_plan(job)
    _drop_upload(job)
    _finish(job, started, "import.confirm", user=confirmer, saved=written)
    return ImportOutcome(job=job, plan=plan, written=written)


def product_import_cancel(*, job: ImportJob, user: User = None) -> None:
    """Drop a preview (preview -> cancelled); refused once it was confirmed, cancelled or expired."""
    _check_may_act(job, user)
    if not _transition(
        job,
        source=ImportJob.STATUS_PREVIEW,
        target=ImportJob.STATUS_CANCELLED,
        message=MESSAGE_CANCELLED,
        finished_at=timezone.now(),
    ):
        raise _refusal(job)
    _delete_plan(job)
    _drop_upload(job)
    audit_event("import.cancel", user=user, job_id=job.pk)
