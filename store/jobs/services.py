"""Background jobs: the services that move any job's state (``store.jobs.models.BackgroundJob``).

Each works on any concrete job model through its declared states (``Model.job_states``) and
its default manager. A worker's side goes through ``store.jobs.runner.run_job``, which calls,
in order:

    job_claim(model=..., job_id=..., attempt=..., step=...)   # the step's one start, or None
    job_progress(job=job, rows_done=n, rows_total=total)       # each chunk; raises JobCancelled
    job_end(job=job, state=..., step=..., **result)            # done (or the job's own end state)
    job_fail(job=job, error="...")

``job_progress`` is also the heartbeat: ``jobs_mark_lost`` (run by ``manage.py housekeeping``
and whenever a job page is opened) turns a job silent for ``JOB_HEARTBEAT_TIMEOUT`` seconds in
one of its running states into "failed: worker lost", and ``job_retry`` runs a failed or
cancelled job again. Every transition is one conditional ``UPDATE``, so a job never runs twice:
a stale task (an older attempt, or one already started elsewhere) finds nothing to update and stops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import TaskResultStatus, default_task_backend

from store.jobs.models import (
    CANCELLED_BY,
    ENDED_STATES,
    NEVER_STARTED,
    NOT_QUEUED,
    WORKER_LOST,
    BackgroundJob,
    JobCancelled,
    JobState,
    JobStep,
    PrivateJob,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

_JobT = TypeVar("_JobT", bound=BackgroundJob)
_PrivateJobT = TypeVar("_PrivateJobT", bound=PrivateJob)


def _set(job: BackgroundJob, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(job, name, value)


def _state(job: BackgroundJob | type[BackgroundJob], value: Any) -> dict[str, Any]:
    """``{<the job's state field>: value}``, for filters and updates."""
    return {job.job_states.field: value}


def _states_in(job: BackgroundJob | type[BackgroundJob], values: Iterable[str]) -> dict[str, Any]:
    return {f"{job.job_states.field}__in": list(values)}


# --- Queueing -----------------------------------------------------------------------
def job_enqueue(*, job: _JobT, task: Any) -> _JobT:
    """Queue ``task(job.pk, job.attempt)``. Call it outside any open transaction:
    a worker on another connection must find the committed job row.

    A queue that cannot be reached (Redis down) fails the job right here, saying so, rather
    than leaving it "queued" for good; its page offers Retry. The caller tells the user."""
    queued_at = timezone.now()
    try:
        result = task.enqueue(job.pk, job.attempt)
    except Exception:
        logger.exception("%s #%s could not be queued", type(job).__name__, job.pk)
        job_fail(job=job, error=NOT_QUEUED)
    else:
        type(job)._default_manager.filter(pk=job.pk).update(task_id=str(result.id)[:64], queued_at=queued_at)
    job.refresh_from_db()
    return job


def job_not_queued(job: BackgroundJob) -> bool:
    """Did ``job_enqueue`` fail the job because the queue could not be reached?"""
    return job.job_state == job.job_states.failed and NOT_QUEUED in job.outcome_message


# --- A worker's step --------------------------------------------------------------------
def _claim(model: type[BackgroundJob], job_id: int, attempt: int, step: JobStep) -> dict[str, Any] | None:
    now = timezone.now()
    changes = {"started_at": now, "heartbeat_at": now, "rows_done": 0, **_state(model, step.run)}
    claimed = model._default_manager.filter(
        pk=job_id, attempt=attempt, heartbeat_at__isnull=True, **_state(model, step.claim)
    ).update(**changes)
    if not claimed:
        logger.info(
            "%s #%s attempt %s: nothing to do (cancelled, retried or already run).", model.__name__, job_id, attempt
        )
        return None
    return changes


def job_claim(
    *, model: type[_JobT], job_id: int, attempt: int, step: JobStep | None = None, related: Iterable[str] = ()
) -> _JobT | None:
    """The step's one start: ``step.claim`` -> ``step.run`` for this attempt, if nobody started it yet.

    Returns the claimed job, or None when it was cancelled, retried since, or already run (a
    task delivered twice)."""
    if _claim(model, job_id, attempt, step or model.default_step()) is None:
        return None
    return model._default_manager.select_related(*related).get(pk=job_id)


def job_start(*, job: BackgroundJob, attempt: int, step: JobStep | None = None) -> bool:
    """Claim ``job`` (already loaded) for this attempt; False: cancelled, retried since, or already run."""
    changes = _claim(type(job), job.pk, attempt, step or job.default_step())
    if changes is None:
        return False
    _set(job, changes)
    return True


def job_progress(*, job: BackgroundJob, rows_done: int, rows_total: int | None = None) -> None:
    """Record progress (and the heartbeat). Raises JobCancelled when a worker no longer holds the job."""
    now = timezone.now()
    changes: dict[str, Any] = {"rows_done": rows_done, "heartbeat_at": now}
    if rows_total is not None:
        changes["rows_total"] = rows_total
    updated = (
        type(job)
        ._default_manager.filter(pk=job.pk, attempt=job.attempt, **_states_in(job, job.job_states.running))
        .update(**changes)
    )
    if not updated:
        raise JobCancelled(job.pk)
    _set(job, changes)


def job_end(*, job: BackgroundJob, state: str, step: JobStep | None = None, **fields: Any) -> bool:
    """The step's end: ``step.run`` -> ``state``, with the job's own result fields, for this attempt.

    False if the job was cancelled, given up as lost or retried meanwhile (nothing saved)."""
    step = step or job.default_step()
    now = timezone.now()
    changes = {**fields, **_state(job, state), "heartbeat_at": now}
    if state in job.job_states.ended:
        changes["finished_at"] = now
    updated = (
        type(job)._default_manager.filter(pk=job.pk, attempt=job.attempt, **_state(job, step.run)).update(**changes)
    )
    if updated:
        # Expressions (``F("duration") + …``) stay in the database; the instance keeps its value.
        _set(job, {name: value for name, value in changes.items() if not hasattr(value, "resolve_expression")})
    return bool(updated)


def job_finish(*, job: BackgroundJob, **fields: Any) -> bool:
    """Running -> done, saving the job's own result fields with it. False if cancelled meanwhile."""
    return job_end(job=job, state=job.job_states.done, **fields)


def job_fail(*, job: BackgroundJob, error: str, step: JobStep | None = None) -> bool:
    """An active job (of this attempt) -> failed, saying why."""
    now = timezone.now()
    fields = job.outcome_fields(error)
    sources = [step.run] if step is not None else job.job_states.active
    updated = (
        type(job)
        ._default_manager.filter(pk=job.pk, attempt=job.attempt, **_states_in(job, sources))
        .update(finished_at=now, **fields, **_state(job, job.job_states.failed))
    )
    if updated:
        _set(job, {"finished_at": now, **fields, **_state(job, job.job_states.failed)})
    return bool(updated)


# --- Cancel, retry, lost ------------------------------------------------------------------
def job_cancel(*, job: BackgroundJob, user: Any, message: str | None = None) -> bool:
    """Cancel a job in a cancellable state; a running one stops at its next progress call."""
    if message is None:
        message = CANCELLED_BY.format(user=user.get_username() if user is not None else "a worker")
    updated = (
        type(job)
        ._default_manager.filter(pk=job.pk, **_states_in(job, job.job_states.cancellable))
        .update(finished_at=timezone.now(), **job.outcome_fields(message), **_state(job, job.job_states.cancelled))
    )
    job.refresh_from_db()
    return bool(updated)


def job_retry(*, job: BackgroundJob, task: Any, state: str | None = None, **reset: Any) -> bool:
    """Run a failed or cancelled job again, as a new attempt (older tasks then do nothing).

    ``state``: where the new attempt starts (the job's ``queued`` state unless given); ``reset``:
    the job's own fields to clear."""
    states = job.job_states
    updated = (
        type(job)
        ._default_manager.filter(pk=job.pk, attempt=job.attempt, **_states_in(job, states.retryable))
        .update(
            attempt=F("attempt") + 1,
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
            rows_done=0,
            **{**job.outcome_fields(""), **reset},
            **_state(job, state or states.queued),
        )
    )
    if not updated:
        return False
    job.refresh_from_db()
    job_enqueue(job=job, task=task)
    return True


def jobs_mark_lost(
    *,
    model: type[_JobT],
    now: datetime | None = None,
    error: str = WORKER_LOST,
    on_lost: Callable[[_JobT], Any] | None = None,
) -> int:
    """Jobs in a running state whose heartbeat is older than JOB_HEARTBEAT_TIMEOUT: failed, ``error``.

    ``on_lost(job)`` runs for each (an email, the job's own records); the job then holds its new state."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)
    states = model.job_states
    candidates = list(model._default_manager.filter(heartbeat_at__lt=cutoff, **_states_in(model, states.running)))
    count = 0
    for job in candidates:
        changes = {"finished_at": now, **job.outcome_fields(error), **_state(job, states.failed)}
        lost = model._default_manager.filter(
            pk=job.pk, attempt=job.attempt, heartbeat_at__lt=cutoff, **_state(job, job.job_state)
        ).update(**changes)
        if lost:
            count += 1
            _set(job, changes)
            if on_lost is not None:
                on_lost(job)
    if count:
        logger.warning("%s: %d job(s) failed: %s", model._meta.label, count, error)
    return count


def jobs_fail_unstarted(
    *,
    model: type[_JobT],
    steps: Iterable[JobStep] = (),
    now: datetime | None = None,
    error: str = NEVER_STARTED,
    keep: Callable[[_JobT], bool] | None = None,
) -> int:
    """Steps queued longer than JOB_QUEUED_TIMEOUT that no worker started: failed (Retry queues them again).

    Unless the queue still holds the step's task, waiting its turn (a busy queue): a queue that
    lost it (Redis restarted) or cannot say (it is down) will not run it. ``keep(job)``: jobs
    that only look queued (an import's inline step)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_QUEUED_TIMEOUT)
    states = model.job_states
    claims = [step.claim for step in steps] or [states.queued]
    waiting = model._default_manager.filter(
        Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True, created_at__lt=cutoff),
        heartbeat_at__isnull=True,
        **_states_in(model, claims),
    )
    count = 0
    for job in waiting[:1000]:
        if (keep is not None and keep(job)) or _task_waiting(job.task_id):
            continue
        changes = {"finished_at": now, **job.outcome_fields(error), **_state(job, states.failed)}
        count += model._default_manager.filter(
            pk=job.pk, attempt=job.attempt, heartbeat_at__isnull=True, **_state(job, job.job_state)
        ).update(**changes)
    if count:
        logger.warning("%s: %d job(s) failed: %s", model._meta.label, count, error)
    return count


def _task_waiting(task_id: str) -> bool:
    """Does the queue still hold this task, not started yet? False when it lost it or cannot say."""
    backend = default_task_backend
    if not task_id or not backend.supports_get_result:
        return False
    try:
        return backend.get_result(task_id).status == TaskResultStatus.READY
    except Exception:  # no such task (the queue lost it), or the queue is unreachable
        return False


def jobs_to_announce(*, model: type[_PrivateJobT], user: Any) -> list[_PrivateJobT]:
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


# --- Telling the user -----------------------------------------------------------------------
class NotifiedJob(Protocol):
    """What ``job_notify_end`` reads of a job."""

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
