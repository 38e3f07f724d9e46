"""Bulk edits as jobs: selections above BULK_INLINE_MAX products, run by a worker.

    job = bulk_edit_job_create(user=..., action=..., parameters=..., filters=request.GET.urlencode(),
                               selected_ids=None)           # "Select all N matching"
    # the worker: the bulk_edit_run task below -> bulk_edit_job_run(job_id=..., attempt=...)

The worker rebuilds the selection from the changelist's query string through the product
ModelAdmin, as the user who asked (``store.jobs.changelists``, as exports do), then:

1. **Preflight** (reads only): every selected product is evaluated, in batches; the counts
   and the first refusals are kept, never the rows. A refused product (unless "change the
   others" was ticked) fails the job here, with nothing written.
2. **Writes**, one transaction per batch of 1,000 (``bulk_edit_apply_in_batches``): row
   locks are held for one batch, not for the minutes a 1M-product edit takes. The
   all-or-nothing promise of the preflight is kept by a guard per batch: a product written
   by anyone since the preflight began (or refused by now) stops the job before that
   batch; the job and its "Bulk edit #N" then say exactly what was written (every selected
   product with id up to X). Cancel stops after the batch in progress, with the same record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from store.audit import audit_event
from store.bulk.actions import BulkAction, get_bulk_action
from store.bulk.apply import (
    ERROR_REFUSED,
    BulkEditStopped,
    Seen,
    bulk_edit_apply_in_batches,
    bulk_edit_create,
    bulk_edit_preview,
    bulk_edit_reconcile,
    bulk_edit_written_message,
)
from store.jobs.changelists import BAD_FILTERS, NO_PERMISSION, NO_USER, ChangelistRefused, changelist_rebuild
from store.jobs.models import WORKER_LOST, JobRefused, JobState
from store.jobs.runner import JobRun, run_job
from store.jobs.services import (
    format_duration,
    job_enqueue,
    job_notify_end,
    job_retry,
    jobs_fail_unstarted,
    jobs_mark_lost,
)
from store.models import BulkEdit, BulkEditJob, Product

ERROR_NO_USER = "the user who asked for this bulk edit no longer exists or is inactive"
ERROR_NO_PERMISSION = "the user who asked for this bulk edit may no longer make it"
ERROR_BAD_FILTERS = "the product list's filters are no longer valid"
ERROR_UNKNOWN_ACTION = "the bulk edit action {name!r} no longer exists"
STEP_CHECKING = "Step 1 of 2: checking every selected product (nothing written yet)."
STEP_WRITING = "Step 2 of 2: writing, one batch of {batch:,} products at a time."
REFUSALS_LISTED = 20


class BulkJobRefused(JobRefused):
    """The job cannot run as asked (its user, permission, action or filters)."""


def bulk_edit_job_create(
    *,
    user: Any,
    action: BulkAction,
    parameters: dict[str, Any],
    filters: str,
    selected_ids: list[int] | None,
    skip_refused: bool = False,
    seen: Seen | None = None,
) -> BulkEditJob:
    """Record a bulk edit job and queue it (call outside a transaction).

    ``seen``: what the user's preview showed; the worker refuses (or skips) products written since."""
    job = BulkEditJob.objects.create(
        requested_by=user,
        action=action.name,
        description=action.describe(parameters)[:200],
        parameters=parameters,
        skip_refused=skip_refused,
        filters=filters,
        selected_ids=[int(pk) for pk in selected_ids] if selected_ids is not None else None,
        preview_at=seen.moment if seen is not None else None,
        preview_versions={str(pk): version for pk, version in seen.versions.items()} if seen is not None else {},
    )
    audit_event(
        "product.bulk_edit.queued",
        user=user,
        job_id=job.pk,
        action=job.action,
        description=job.description,
        select_across=selected_ids is None,
    )
    return job_enqueue(job=job, task=bulk_edit_run)


def bulk_edit_job_retry(*, job: BulkEditJob) -> bool:
    """Run again a job that wrote nothing (a partly written one would apply twice to its first products)."""
    if job.bulk_edit is not None:
        bulk_edit_reconcile(edit=job.bulk_edit)  # what the database holds, not what was counted
    if job.changed_count:
        return False
    return job_retry(job=job, task=bulk_edit_run, rows_total=None, bulk_edit=None, checked={})


REFUSALS = {NO_USER: ERROR_NO_USER, NO_PERMISSION: ERROR_NO_PERMISSION, BAD_FILTERS: ERROR_BAD_FILTERS}


def bulk_edit_job_selection(*, job: BulkEditJob) -> tuple[BulkAction, QuerySet[Product]]:
    """The action and the products the job edits, as its user sees them on the product list now."""
    user = job.requested_by
    if user is None or not user.is_active or not user.is_staff:
        raise BulkJobRefused(ERROR_NO_USER)
    try:
        action = get_bulk_action(job.action)
    except KeyError:
        raise BulkJobRefused(ERROR_UNKNOWN_ACTION.format(name=job.action)) from None
    try:
        _model_admin, queryset = changelist_rebuild(
            model=Product, user=user, filters=job.filters, permission="bulk_edit", action=action
        )
    except ChangelistRefused as refused:
        raise BulkJobRefused(REFUSALS[refused.reason]) from refused
    if job.selected_ids is not None:  # as Django's response_action: the ticked rows of that list
        queryset = queryset.filter(pk__in=job.selected_ids)
    return action, queryset


def bulk_edit_job_run(*, job_id: int, attempt: int) -> None:
    """The worker's side: preflight, then the writes batch by batch; then tell the user."""
    run_job(
        BulkEditJob,
        job_id,
        attempt,
        work=_bulk_edit,
        refused=(BulkEditStopped,),
        on_end=_bulk_edit_ended,
    )


def bulk_edit_job_seen(job: BulkEditJob) -> Seen | None:
    """What the user's preview showed (None for a job queued without one)."""
    if job.preview_at is None:
        return None
    return Seen(moment=job.preview_at, versions={int(pk): int(v) for pk, v in job.preview_versions.items()})


def _bulk_edit(run: JobRun[BulkEditJob]) -> None:
    job = run.job
    action, products = bulk_edit_job_selection(job=job)
    since = timezone.now()
    seen = bulk_edit_job_seen(job)
    run.progress(rows_done=0, rows_total=products.order_by().count())
    preflight = bulk_edit_preview(
        action=action,
        products=products,
        parameters=job.parameters,
        on_batch=lambda report: run.progress(rows_done=report.selected),
        seen=seen,
    )
    # What the check counted; the page shows it until the bulk edit's own counts take over.
    job.checked = {"changed": preflight.changed, "unchanged": preflight.unchanged, "refused": preflight.refused}
    BulkEditJob.objects.filter(pk=job.pk).update(checked=job.checked)
    if preflight.refused and not job.skip_refused:
        reasons = [f"{o.product.sku}: {o.reason}" for o in preflight.refusals[:REFUSALS_LISTED]]
        error = ERROR_REFUSED.format(count=preflight.refused) + " " + "; ".join(reasons)
        if len(preflight.refusals) < preflight.refused or len(reasons) < len(preflight.refusals):
            error += f"; … ({preflight.refused - len(reasons):,} more)"
        raise BulkJobRefused(error)
    edit = bulk_edit_create(
        action=action, parameters=job.parameters, user=job.requested_by, skip_refused=job.skip_refused
    )
    BulkEditJob.objects.filter(pk=job.pk).update(bulk_edit=edit)
    job.bulk_edit = edit
    run.progress(rows_done=0, rows_total=preflight.selected)
    bulk_edit_apply_in_batches(
        action=action,
        products=products,
        parameters=job.parameters,
        since=since,
        edit=edit,
        user=job.requested_by,
        skip_refused=job.skip_refused,
        on_batch=lambda report: run.progress(rows_done=report.selected),
        seen=seen,
    )


def _bulk_edit_ended(job: BulkEditJob) -> None:
    bulk_edit_job_notify(job=job)


def bulk_edit_job_notify(*, job: BulkEditJob) -> bool:
    link = reverse("admin:store_bulkeditjob_change", args=[job.pk])
    name = str(job.bulk_edit) if job.bulk_edit_id else f"Bulk edit job #{job.pk} ({job.description})"
    if job.state == JobState.DONE:
        subject = f"{name} is done ({job.changed_count:,} products changed)"
        lines = [
            f"{name} is done in {format_duration(job.elapsed_seconds)}: {job.changed_count:,} changed, "
            f"{job.unchanged_count:,} already in that state, {job.refused_count:,} refused and left as they were."
        ]
    else:
        subject = f"{name} failed"
        lines = [f"{name} failed: {job.error}"]
        if not job.changed_count:
            lines.append("Nothing was written.")
    return job_notify_end(job=job, subject=subject, lines=[*lines, "Its page:"], link=link)


def bulk_edit_jobs_fail_unstarted(*, now: datetime | None = None) -> int:
    """Bulk edit jobs queued too long that the queue lost: failed, never started (nothing written: Retry)."""
    return jobs_fail_unstarted(model=BulkEditJob, now=now)


def bulk_edit_jobs_mark_lost(*, now: datetime | None = None) -> int:
    """Jobs whose worker went silent fail as any job does, and their bulk edit (the history's
    "Bulk edit #N") stops saying "running": it stopped part-way, after the committed batches,
    which its record (and, to be sure, its history rows) says."""
    now = now or timezone.now()
    count = jobs_mark_lost(model=BulkEditJob, now=now)
    lost = BulkEditJob.objects.filter(
        state=JobState.FAILED, error=WORKER_LOST, bulk_edit__state=BulkEdit.STATE_RUNNING
    ).select_related("bulk_edit")
    for job in lost:
        edit = job.bulk_edit
        if edit is None:  # excluded by the filter; narrows the type
            continue
        bulk_edit_reconcile(edit=edit)
        message = f"The worker was lost. {bulk_edit_written_message(edit)}"
        BulkEdit.objects.filter(pk=edit.pk, state=BulkEdit.STATE_RUNNING).update(
            state=BulkEdit.STATE_STOPPED, finished_at=now, message=message
        )
    return count


@task()
def bulk_edit_run(job_id: int, attempt: int) -> None:
    """Apply BulkEditJob ``job_id`` (its attempt ``attempt``): preflight, then batch by batch."""
    bulk_edit_job_run(job_id=job_id, attempt=attempt)
