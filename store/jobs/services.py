"""Background jobs: the state every long-running job shares, and the services that move it.

A concrete job (``ExportJob`` today, ``ImportJob`` next) subclasses ``BackgroundJob`` and
adds its own fields (``store.jobs.models``). Its task function calls, in order:

    if not job_start(job=job, attempt=attempt): return      # cancelled, or already run
    job_progress(job=job, rows_done=n, rows_total=total)     # each chunk; raises JobCancelled
    job_finish(job=job)  /  job_fail(job=job, error="...")
    job_notify_end(job=job, subject=..., lines=[...], link=...)

``job_progress`` is also the heartbeat: ``jobs_mark_lost`` (run by ``manage.py housekeeping``
and whenever a job page is opened) turns a running job silent for ``JOB_HEARTBEAT_TIMEOUT``
seconds into "failed: worker lost", and ``job_retry`` runs a failed or cancelled job again.
Every transition is one conditional ``UPDATE``, so a job never runs twice: a stale task
(an older attempt, or one already started elsewhere) finds nothing to update and stops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone

from store.jobs.models import (
    ACTIVE_STATES,
    CANCELLED_BY,
    ENDED_STATES,
    WORKER_LOST,
    BackgroundJob,
    JobCancelled,
    JobState,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# --- Services ------------------------------------------------------------------
# They work on any concrete job model, through its default manager (an abstract model has none).
_JobT = TypeVar("_JobT", bound=BackgroundJob)


def job_enqueue(*, job: _JobT, task: Any) -> _JobT:
    """Queue ``task(job.pk, job.attempt)``. Call it outside any open transaction:
    a worker on another connection must find the committed job row."""
    result = task.enqueue(job.pk, job.attempt)
    type(job)._default_manager.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    job.task_id = str(result.id)[:64]
    job.refresh_from_db(fields=["state", "rows_done", "rows_total", "started_at", "finished_at", "error"])
    return job


def job_start(*, job: BackgroundJob, attempt: int) -> bool:
    """Queued -> running, for this attempt only. False: cancelled, retried since, or already run."""
    now = timezone.now()
    started = (
        type(job)
        ._default_manager.filter(pk=job.pk, state=JobState.QUEUED, attempt=attempt)
        .update(state=JobState.RUNNING, started_at=now, heartbeat_at=now)
    )
    if started:
        job.state, job.started_at, job.heartbeat_at = JobState.RUNNING, now, now
    return bool(started)


def job_progress(*, job: BackgroundJob, rows_done: int, rows_total: int | None = None) -> None:
    """Record progress (and the heartbeat). Raises JobCancelled when the job is no longer running."""
    now = timezone.now()
    changes: dict[str, Any] = {"rows_done": rows_done, "heartbeat_at": now}
    if rows_total is not None:
        changes["rows_total"] = rows_total
    updated = (
        type(job)._default_manager.filter(pk=job.pk, state=JobState.RUNNING, attempt=job.attempt).update(**changes)
    )
    if not updated:
        raise JobCancelled(job.pk)
    job.rows_done, job.heartbeat_at = rows_done, now
    if rows_total is not None:
        job.rows_total = rows_total


def job_finish(*, job: BackgroundJob, **fields: Any) -> bool:
    """Running -> done, saving the job's own result fields with it. False if cancelled meanwhile."""
    now = timezone.now()
    updated = (
        type(job)
        ._default_manager.filter(pk=job.pk, state=JobState.RUNNING, attempt=job.attempt)
        .update(state=JobState.DONE, finished_at=now, heartbeat_at=now, **fields)
    )
    if updated:
        job.state, job.finished_at = JobState.DONE, now
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(updated)


def job_fail(*, job: BackgroundJob, error: str) -> bool:
    now = timezone.now()
    updated = (
        type(job)
        ._default_manager.filter(pk=job.pk, state__in=ACTIVE_STATES, attempt=job.attempt)
        .update(state=JobState.FAILED, finished_at=now, error=error)
    )
    if updated:
        job.state, job.finished_at, job.error = JobState.FAILED, now, error
    return bool(updated)


def job_cancel(*, job: BackgroundJob, user: Any) -> bool:
    """Cancel a queued or running job; a running one stops at its next progress call."""
    now = timezone.now()
    updated = (
        type(job)
        ._default_manager.filter(pk=job.pk, state__in=ACTIVE_STATES)
        .update(state=JobState.CANCELLED, finished_at=now, error=CANCELLED_BY.format(user=user.get_username()))
    )
    job.refresh_from_db()
    return bool(updated)


def job_retry(*, job: BackgroundJob, task: Any, **reset: Any) -> bool:
    """Run a failed or cancelled job again, as a new attempt (older tasks then do nothing)."""
    updated = (
        type(job)
        ._default_manager.filter(pk=job.pk, state__in=(JobState.FAILED, JobState.CANCELLED))
        .update(
            state=JobState.QUEUED,
            attempt=F("attempt") + 1,
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            rows_done=0,
            error="",
            **reset,
        )
    )
    if not updated:
        return False
    job.refresh_from_db()
    job_enqueue(job=job, task=task)
    return True


def jobs_mark_lost(*, model: type[BackgroundJob], now: datetime | None = None) -> int:
    """Running jobs whose heartbeat is older than JOB_HEARTBEAT_TIMEOUT: failed, worker lost."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    lost = model._default_manager.filter(state=JobState.RUNNING, heartbeat_at__lt=cutoff)
    count = lost.update(state=JobState.FAILED, finished_at=now, error=WORKER_LOST)
    if count:
        logger.warning("%s: %d job(s) failed: %s", model._meta.label, count, WORKER_LOST)
    return count


def jobs_to_announce(*, model: type[_JobT], user: Any) -> list[_JobT]:
    """The user's ended jobs not yet shown in the admin's messages; marks them shown."""
    if not getattr(user, "is_authenticated", False):
        return []
    jobs = list(
        model._default_manager.filter(requested_by=user, state__in=ENDED_STATES, announced_at__isnull=True)
        .exclude(state=JobState.CANCELLED)
        .order_by("pk")[:10]
    )
    if jobs:
        model._default_manager.filter(pk__in=[job.pk for job in jobs]).update(announced_at=timezone.now())
    return jobs


class NotifiedJob(Protocol):
    """What ``job_notify_end`` reads of a job: a BackgroundJob, or an ImportJob (not one)."""

    @property
    def requested_by(self) -> User | None: ...


def job_notify_end(*, job: NotifiedJob, subject: str, lines: Iterable[str], link: str | None) -> bool:
    """Email the user who started the job that it ended (done or failed), with counts and a link.

    ``link`` is a site path (``/admin/...``); it is made absolute with SITE_URL. Returns
    False when there is nobody to tell (no user, or no email address).
    """
    user = job.requested_by
    if user is None or not user.email:
        return False
    body = [f"Hello {user.get_short_name() or user.get_username()},", "", *lines]
    if link:
        body += ["", f"{settings.SITE_URL}{link}"]
    try:
        send_mail(subject, "\n".join(body) + "\n", None, [user.email])
    except Exception:  # an unreachable mail server must not turn a finished job into a failed one
        logger.exception("Could not email %s about %s", user.email, job)
        return False
    return True


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
