"""The mapping step of an import: a file that matches no preset and no profile waits for its mapping.

    job = import_job_await_mapping(path=..., file_name=..., user=..., header=..., samples=...)  # "mapping"
    job = import_job_map(job=job, mapping=ColumnMapping(...), user=...)  # -> preview, or queued for a worker

The uploaded file is kept in the private storage with the job (``job.upload``) while the user
maps its columns and until the preview is confirmed, cancelled or expires, so it is never uploaded
twice and the preview can go back to its mapping (``import_job_remap``). Once mapped, a file of up to
IMPORT_INLINE_MAX_ROWS rows is previewed in the request; a larger one goes to a worker, which
reads the mapping from ``job.column_mapping``. An abandoned mapping step expires with the
unconfirmed previews (``service.product_import_expire_previews``).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File

from store.audit import audit_event
from store.importing.jobs import drop_job_files, enqueue_step, import_needs_job
from store.importing.mapping import ColumnMapping, check_mapping
from store.importing.modes import NO_CHOICE, ModeChoice, mode_options
from store.importing.presets import PRESET_AUTO
from store.importing.service import (
    UPLOADS_DIR,
    _check_may_act,
    _delete_plan,
    _keep_preview,
    _options,
    _plan_or_fail,
    _refusal,
    _transition,
    import_storage,
)
from store.models import ImportJob

MESSAGE_AWAITING = "Waiting for its columns to be mapped."
MESSAGE_QUEUED_MAPPED = "Mapped; queued, a worker will check the file."
ERROR_NOT_REMAPPABLE = "Import #{pk} cannot go back to its column mapping: it is {state}."


def import_job_await_mapping(
    *,
    path: Path,
    file_name: str,
    user: Any,
    header: Sequence[str],
    samples: Sequence[Sequence[str]],
    preset: str = PRESET_AUTO,
    encoding: str | None = None,
    skip_invalid: bool = False,
    mode: ModeChoice = NO_CHOICE,
) -> ImportJob:
    """Keep the upload in the private storage and record a job waiting for its column mapping."""
    storage = import_storage()
    with path.open("rb") as handle:
        upload = storage.save(f"{UPLOADS_DIR}/{uuid.uuid4().hex}{Path(file_name).suffix[:10]}", File(handle))
    options = {
        **_options(preset=preset, encoding=encoding, skip_invalid=skip_invalid, dry_run=False, mode=mode),
        "header": list(header),
        "samples": [[cell[:200] for cell in row] for row in samples],
    }
    job = ImportJob.objects.create(
        user=user if getattr(user, "pk", None) else None,
        source=ImportJob.SOURCE_ADMIN,
        file_name=file_name[:255],
        status=ImportJob.STATUS_MAPPING,
        options=options,
        upload=upload,
        message=MESSAGE_AWAITING,
    )
    audit_event("import.mapping", user=job.user, job_id=job.pk, file_name=job.file_name)
    return job


@contextmanager
def _local_copy(job: ImportJob) -> Iterator[Path]:
    """The job's stored upload as a local file, for this step only."""
    with tempfile.TemporaryDirectory(prefix="import-mapping-") as folder:
        local = Path(folder) / f"upload{Path(job.upload).suffix}"
        with import_storage().open(job.upload, "rb") as source, local.open("wb") as target:
            while chunk := source.read(1024 * 1024):
                target.write(chunk)
        yield local


def import_job_map(*, job: ImportJob, mapping: ColumnMapping, user: Any, mode: ModeChoice = NO_CHOICE) -> ImportJob:
    """mapping -> preview (planned here) or queued (a worker plans files over IMPORT_INLINE_MAX_ROWS).

    ``mode``: the import mode chosen on the mapping page (it replaces the upload's choice).
    One conditional UPDATE claims the step: a double submit maps once, the other gets a ValidationError.
    """
    _check_may_act(job, user)
    check_mapping(mapping)
    options = {**job.options, **mode_options(mode)}
    with _local_copy(job) as local:
        background = import_needs_job(path=local)
        if background:
            if not _transition(
                job,
                source=ImportJob.STATUS_MAPPING,
                target=ImportJob.STATUS_QUEUED,
                column_mapping=mapping.to_json(),
                options={**options, "background": True, "auto_confirm": False},
                message=MESSAGE_QUEUED_MAPPED,
            ):
                raise _refusal(job)
            audit_event("import.queued", user=job.user, job_id=job.pk, file_name=job.file_name)
            return enqueue_step(job, "preview")
        if not _transition(
            job,
            source=ImportJob.STATUS_MAPPING,
            target=ImportJob.STATUS_RUNNING,
            column_mapping=mapping.to_json(),
            options=options,
            message="",
        ):
            raise _refusal(job)
        started = time.monotonic()
        plan = _plan_or_fail(
            job,
            path=local,
            preset=job.options.get("preset") or PRESET_AUTO,
            encoding=job.options.get("encoding") or None,
            progress=lambda _stage, _count: None,
            mapping=mapping,
        )
    if plan is None:
        drop_job_files(job)  # refused: there is no preview to go back from
    # Otherwise the upload stays until the job is confirmed, cancelled or expires: the preview can go
    # back to its mapping (``import_job_remap``).
    _keep_preview(job, plan, started)
    return job


def import_job_can_remap(job: ImportJob) -> bool:
    """A preview of a file mapped on the mapping step, whose upload is still kept."""
    return (
        job.status == ImportJob.STATUS_PREVIEW
        and bool(job.upload)
        and bool(job.column_mapping)
        and "header" in job.options
    )


def import_job_remap(*, job: ImportJob, user: Any) -> ImportJob:
    """preview -> mapping: back from the preview to the mapping step, which starts from the choices made.

    The plan is dropped; the upload, the header and the mapping stay. One conditional UPDATE, as every
    step: a preview confirmed meanwhile is not taken back.
    """
    _check_may_act(job, user)
    if not import_job_can_remap(job):
        raise ValidationError(
            ERROR_NOT_REMAPPABLE.format(pk=job.pk, state=job.get_status_display().lower()), code="not_remappable"
        )
    if not _transition(
        job,
        source=ImportJob.STATUS_PREVIEW,
        target=ImportJob.STATUS_MAPPING,
        message=MESSAGE_AWAITING,
        created_count=0,
        updated_count=0,
        unchanged_count=0,
        skipped_count=0,
        error_count=0,
        started_at=None,
        heartbeat_at=None,
        rows_done=0,
    ):
        raise _refusal(job)
    _delete_plan(job)
    if job.failed_rows:
        job.failed_rows.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(failed_rows="")
    audit_event("import.remap", user=user, job_id=job.pk, file_name=job.file_name)
    return job


def import_job_mapping_header(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    """The header and first rows recorded when the job started waiting for its mapping."""
    if job.status != ImportJob.STATUS_MAPPING:
        raise ValidationError(f"Import #{job.pk} is not waiting for a column mapping.", code="not_mapping")
    header = [str(name) for name in job.options.get("header", [])]
    samples = [[str(cell) for cell in row] for row in job.options.get("samples", [])]
    return header, samples
