"""The state every background job shares: ``BackgroundJob`` (abstract) and its states.

A concrete job (``ExportJob``, ``BulkEditJob``) subclasses ``BackgroundJob`` and adds its own
fields; ``store.jobs.services`` moves the state, always with one conditional UPDATE.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

WORKER_LOST = "worker lost"
CANCELLED_BY = "cancelled by {user}"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
ENDED_STATES = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class JobCancelled(Exception):
    """Raised by ``job_progress`` when the job was cancelled (or given up as lost) meanwhile."""


class BackgroundJob(models.Model):
    """State, progress, heartbeat and owner of a job run by a worker."""

    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    # Each run (the first and every retry) has its own attempt number; a task carries it.
    attempt = models.PositiveSmallIntegerField(default=1)
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    # When the end of the job was shown to its user in the admin's messages.
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    # --- cheap properties for pages and emails --------------------------------
    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def state_label(self) -> str:
        if self.state == JobState.FAILED and self.error:
            return f"failed: {self.error.splitlines()[0][:200]}"
        return self.get_state_display()

    @property
    def elapsed_seconds(self) -> float | None:
        if not self.started_at:
            return None
        return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()

    @property
    def rate(self) -> float | None:
        """Rows per second so far."""
        elapsed = self.elapsed_seconds
        if not elapsed or not self.rows_done:
            return None
        return self.rows_done / elapsed

    @property
    def percent(self) -> int | None:
        if not self.rows_total:
            return 100 if self.state == JobState.DONE else None
        return min(100, int(self.rows_done * 100 / self.rows_total))

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        if self.state != JobState.RUNNING or not rate or self.rows_total is None:
            return None
        return max(0.0, (self.rows_total - self.rows_done) / rate)

    def may_view(self, user: Any) -> bool:
        """Only the user who asked, or a superuser."""
        if not getattr(user, "is_active", False) or not getattr(user, "is_staff", False):
            return False
        return user.is_superuser or (self.requested_by_id is not None and self.requested_by_id == user.pk)
