"""Task functions run by the workers (Django's tasks API through django-tasks).

Written once against ``django_tasks.task``; the engine is chosen by TASKS_BACKEND
(database queue, RQ on Redis, or immediate in tests). Tasks take ids, never objects:
their arguments travel as JSON. In Django 6 the import becomes ``django.tasks``.
"""

from __future__ import annotations

from django_tasks import task


@task()
def export_run(job_id: int, attempt: int) -> None:
    """Write ExportJob ``job_id`` (its attempt ``attempt``) to a file in storage."""
    from store.export_jobs import export_job_run

    export_job_run(job_id=job_id, attempt=attempt)


@task()
def import_preview(job_id: int, attempt: int) -> None:
    """Check and plan ImportJob ``job_id``'s stored upload (its attempt ``attempt``)."""
    from store.importing.jobs import import_job_preview_run

    import_job_preview_run(job_id=job_id, attempt=attempt)


@task()
def import_write(job_id: int, attempt: int) -> None:
    """Write ImportJob ``job_id``'s confirmed plan (its attempt ``attempt``) in one transaction."""
    from store.importing.jobs import import_job_write_run

    import_job_write_run(job_id=job_id, attempt=attempt)


@task()
def housekeeping() -> dict[str, int]:
    """Remove expired export files; mark jobs whose worker went silent as failed."""
    from store.export_jobs import housekeeping as run

    return run()


@task()
def product_image_thumbnail(image_id: int) -> bool:
    """Make the thumbnail of ProductImage ``image_id`` (idempotent; a deleted image is skipped)."""
    from store.services import product_image_make_thumbnail

    return product_image_make_thumbnail(image_id=image_id)


@task()
def product_image_fetch(source_id: int, attempt: int) -> str:
    """Fetch the image URL of ProductImageSource ``source_id`` (its attempt ``attempt``)."""
    from store.image_fetch import image_source_fetch

    return image_source_fetch(source_id=source_id, attempt=attempt)


@task()
def ping(value: int) -> int:
    """A task that does nothing: queue health checks and the worker tests use it."""
    return value


@task()
def bulk_edit_run(job_id: int, attempt: int) -> None:
    """Apply BulkEditJob ``job_id`` (its attempt ``attempt``): preflight, then batch by batch."""
    from store.bulk_jobs import bulk_edit_job_run

    bulk_edit_job_run(job_id=job_id, attempt=attempt)
