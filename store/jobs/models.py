"""What every background job shares: ``BackgroundJob`` (abstract), its states and its steps.

``BackgroundJob`` holds what the job engine (``store.jobs.services``, ``store.jobs.runner``)
reads and writes on any job: progress, heartbeat, attempt, task and times. Each concrete job
declares its own state machine in ``job_states`` (``JobStates``): which field holds the state,
where a new job waits, which states a worker holds, which are active, cancellable, retryable,
ended. ``PrivateJob`` is the common case (``ExportJob``, ``BulkEditJob``): the five
``JobState`` values, the user who asked, an error. ``ImportJob`` keeps its own eleven states
in ``status`` (see its docstring). The engine moves the state, always with one conditional UPDATE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

WORKER_LOST = "worker lost"
CANCELLED_BY = "cancelled by {user}"
NOT_QUEUED = "the task queue could not be reached, so nothing ran; Retry once it is back"
NEVER_STARTED = "never started: its task was no longer in the queue (it may have restarted); nothing ran"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
ENDED_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class JobCancelled(Exception):
    """Raised by a job's progress when the job was cancelled (or given up as lost) meanwhile."""


class JobRefused(Exception):
    """The job cannot run as asked (its user, permission, filters...): it fails with this message."""


@dataclass(frozen=True)
class JobStates:
    """A job model's state machine, as the engine sees it. Each concrete job declares its own.

    ``field``: the model field holding the state. ``queued``: where a new (or retried) job
    waits for a worker. ``running``: the states a worker holds the job in (it sends heartbeats;
    silent for JOB_HEARTBEAT_TIMEOUT, the job is lost). ``active``: not ended yet (its page
    refreshes). ``cancellable``, ``retryable``, ``ended``: what they say. ``done``, ``failed``,
    ``cancelled``: where the engine moves a job that finished, failed or was cancelled.
    """

    field: str = "state"
    queued: str = JobState.QUEUED
    running: tuple[str, ...] = (JobState.RUNNING,)
    active: tuple[str, ...] = ACTIVE_STATES
    cancellable: tuple[str, ...] = ACTIVE_STATES
    retryable: tuple[str, ...] = (JobState.FAILED, JobState.CANCELLED)
    ended: tuple[str, ...] = ENDED_STATES
    done: str = JobState.DONE
    failed: str = JobState.FAILED
    cancelled: str = JobState.CANCELLED


@dataclass(frozen=True)
class JobStep:
    """One step a worker runs: it claims the job in state ``claim`` and holds it in ``run``.

    A job of one step goes queued -> running; an import has two (queued -> running for its
    preview, writing -> writing for its write, once confirmed). ``heartbeat_every``: at most one
    progress write per that many seconds (0: every call)."""

    claim: str
    run: str
    heartbeat_every: float = 0.0


class BackgroundJob(models.Model):
    """Progress, heartbeat, attempt and times of a job run by a worker (the engine's fields)."""

    #: The job's state machine; a concrete job with other states declares its own.
    job_states: ClassVar[JobStates] = JobStates()
    #: What a worker loads with the job it claims (select_related).
    job_related: ClassVar[tuple[str, ...]] = ()

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    # Each run (the first and every retry) has its own attempt number; a task carries it.
    attempt = models.PositiveSmallIntegerField(default=1)
    task_id = models.CharField(max_length=64, blank=True)
    # When its current step was handed to the queue (a step queued too long never started).
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def default_step(cls) -> JobStep:
        """The step of a job with one: from ``queued`` to the first ``running`` state."""
        return JobStep(claim=cls.job_states.queued, run=cls.job_states.running[0])

    def outcome_fields(self, message: str) -> dict[str, Any]:
        """The fields saying why the job failed or was cancelled (each job kind keeps it in its own field)."""
        raise NotImplementedError

    @property
    def outcome_message(self) -> str:
        """Why the job failed or was cancelled, as ``outcome_fields`` saved it."""
        raise NotImplementedError

    # --- cheap properties for pages and emails --------------------------------
    @property
    def job_state(self) -> str:
        return str(getattr(self, self.job_states.field))

    @property
    def is_active(self) -> bool:
        return self.job_state in self.job_states.active

    @property
    def is_running(self) -> bool:
        return self.job_state in self.job_states.running

    @property
    def progress_total(self) -> int | None:
        """The rows this step goes through (``rows_total``, unless the job knows better)."""
        return self.rows_total

    @property
    def elapsed_seconds(self) -> float | None:
        if not self.started_at:
            return None
        return max(0.0, ((self.finished_at or timezone.now()) - self.started_at).total_seconds())

    @property
    def rate(self) -> float | None:
        """Rows per second so far."""
        elapsed = self.elapsed_seconds
        if not elapsed or not self.rows_done:
            return None
        return self.rows_done / elapsed

    @property
    def percent(self) -> int | None:
        total = self.progress_total
        if not total:
            return 100 if self.job_state == self.job_states.done else None
        return min(100, int(self.rows_done * 100 / total))

    @property
    def eta_seconds(self) -> float | None:
        rate, total = self.rate, self.progress_total
        if not self.is_running or not rate or total is None:
            return None
        return max(0.0, (total - self.rows_done) / rate)


class PrivateJob(BackgroundJob):
    """A job with the five ``JobState`` states, private to the user who asked for it (exports, bulk edits)."""

    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    error = models.TextField(blank=True)
    # When the end of the job was shown to its user in the admin's messages.
    announced_at = models.DateTimeField(null=True, blank=True)

    job_related: ClassVar[tuple[str, ...]] = ("requested_by",)

    class Meta:
        abstract = True

    def outcome_fields(self, message: str) -> dict[str, Any]:
        return {"error": message}

    @property
    def outcome_message(self) -> str:
        return self.error

    @property
    def state_label(self) -> str:
        if self.state == JobState.FAILED and self.error:
            return f"failed: {self.error.splitlines()[0][:200]}"
        return self.get_state_display()

    def may_view(self, user: Any) -> bool:
        """Only the user who asked, or a superuser."""
        if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
            return False
        return user.is_superuser or (self.requested_by_id is not None and self.requested_by_id == user.pk)
