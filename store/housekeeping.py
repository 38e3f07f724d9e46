"""The hourly sweep: each feature's own upkeep, in one place.

``manage.py housekeeping`` (the Procfile's ``scheduler``) and the ``housekeeping_task`` run
``housekeeping()``. Each feature owns its upkeep function; this module only calls them, so
no feature imports another to keep the house clean.
"""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from store.alerts import low_stock_digest_send
from store.bulk.apply import bulk_edits_recover
from store.bulk.jobs import bulk_edit_jobs_fail_unstarted, bulk_edit_jobs_mark_lost
from store.exports.jobs import export_files_purge, export_jobs_fail_unstarted, export_jobs_mark_lost
from store.images.fetch import image_fetches_requeue_stale
from store.importing.jobs import import_jobs_fail_unstarted, import_jobs_mark_lost
from store.importing.service import import_jobs_recover, product_import_expire_previews


def housekeeping(*, now: datetime | None = None) -> dict[str, int]:
    """Expired export files removed, jobs whose worker went silent marked failed, stale import
    previews expired (their plans deleted) even when nobody opens the import pages, and the
    daily low-stock digest sent to the subscribers due one (at most once a day each)."""
    return {
        "expired_exports": export_files_purge(now=now),
        "lost_jobs": export_jobs_mark_lost(now=now) + bulk_edit_jobs_mark_lost(now=now),
        "lost_import_jobs": import_jobs_mark_lost(now=now),
        "unstarted_jobs": export_jobs_fail_unstarted(now=now)
        + bulk_edit_jobs_fail_unstarted(now=now)
        + import_jobs_fail_unstarted(now=now),
        "recovered_bulk_edits": bulk_edits_recover(now=now),
        "recovered_imports": import_jobs_recover(now=now),
        "expired_import_previews": product_import_expire_previews(now=now),
        "low_stock_digests": low_stock_digest_send(now=now, due_only=True),
        "stale_image_fetches": image_fetches_requeue_stale(now=now),
    }


@task()
def housekeeping_task() -> dict[str, int]:
    """``housekeeping()`` on a worker."""
    return housekeeping()
