"""The worker's side of every job: ``run_job``, the one skeleton imports, exports and bulk edits use.

    @task()
    def export_run(job_id: int, attempt: int) -> None:
        run_job(ExportJob, job_id, attempt, work=_export, on_end=_export_ended)

``run_job`` claims the step (one conditional UPDATE on state and attempt: a task delivered twice,
or an older attempt's task, finds nothing to claim and stops), hands ``work`` a ``JobRun`` (its
progress is the heartbeat and notices a cancel), and ends the job in one place:

- ``work`` returned: the job is done (unless ``work`` ended it itself, e.g. inside its transaction);
- ``JobCancelled`` (cancelled, given up as lost, retried meanwhile): stop quietly;
- a refusal (``JobRefused``, or the kinds listed in ``refused``): the job fails with its message;
- anything else: the traceback goes to the log and the job fails.

``on_end(job)`` then runs once for a job this run ended (the email to its user).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.utils import timezone

from store.jobs.models import BackgroundJob, JobCancelled, JobRefused, JobStep
from store.jobs.services import job_claim, job_end, job_fail, job_progress

logger = logging.getLogger(__name__)

_JobT = TypeVar("_JobT", bound=BackgroundJob)


def describe_error(error: BaseException) -> str:
    """An unexpected error as a job shows it: its type and message (the traceback is in the log)."""
    return f"{type(error).__name__}: {error}"


def refusal_message(refusal: BaseException) -> str:
    """A refusal's message; a ValidationError's first message rather than its list."""
    messages = getattr(refusal, "messages", None)
    return str(messages[0]) if messages else str(refusal)


def _column(model: type[BackgroundJob], name: str) -> str:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field.column


class JobRun(Generic[_JobT]):
    """One claimed run of a job's step: its progress (the heartbeat) and its end.

    ``progress`` writes at most every ``step.heartbeat_every`` seconds (every call when 0). Inside
    ``atomic()`` the step's own rows are invisible to others until the commit, so the heartbeat
    goes through a connection of its own; on SQLite, which has one writer at a time, it is
    skipped there. A heartbeat that finds the step no longer held (cancelled, lost, retried)
    raises ``JobCancelled``.
    """

    def __init__(self, job: _JobT, *, step: JobStep) -> None:
        self.job, self.step = job, step
        self.started = time.monotonic()
        self.end_tried = False
        self.ended = False
        self._last_beat = 0.0
        self._side: BaseDatabaseWrapper | None = None
        self._in_transaction = False

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def progress(self, *, rows_done: int, rows_total: int | None = None, force: bool = False) -> None:
        """Rows done so far (and the heartbeat); raises JobCancelled when the job is no longer ours.

        The job keeps the latest count even when this call writes nothing (throttled, or inside the
        step's transaction on SQLite), so the step's end records it."""
        self.job.rows_done = rows_done
        if rows_total is not None:
            self.job.rows_total = rows_total
        every = self.step.heartbeat_every
        if not force and every and time.monotonic() - self._last_beat < every:
            return
        self._last_beat = time.monotonic()
        if not self._in_transaction:
            job_progress(job=self.job, rows_done=rows_done, rows_total=rows_total)
            return
        if connection.vendor == "sqlite":
            return
        fields: dict[str, Any] = {"heartbeat_at": timezone.now(), "rows_done": rows_done}
        if rows_total is not None:
            fields["rows_total"] = rows_total
        if not self._side_update(fields):
            raise JobCancelled(self.job.pk)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """A transaction for the step's writes; heartbeats inside it go through a side connection."""
        with transaction.atomic():
            self._in_transaction = True
            try:
                yield
            finally:
                self._in_transaction = False

    def _side_update(self, fields: dict[str, Any]) -> int:
        if self._side is None:
            self._side = connections.create_connection(DEFAULT_DB_ALIAS)
        model = type(self.job)
        table = model._meta.db_table
        quote = self._side.ops.quote_name
        columns = ", ".join(f"{quote(_column(model, name))} = %s" for name in fields)
        state_column = _column(model, model.job_states.field)
        with self._side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(table)} SET {columns} WHERE {quote('id')} = %s AND {quote(state_column)} = %s "
                f"AND {quote('attempt')} = %s",
                [*fields.values(), self.job.pk, self.step.run, self.job.attempt],
            )
            updated: int = cursor.rowcount
            if updated:
                return updated
            # Not updated: cancelled, lost or retried, unless the job's row is not visible from
            # another connection at all (a test's uncommitted transaction): then carry on.
            cursor.execute(f"SELECT 1 FROM {quote(table)} WHERE {quote('id')} = %s", [self.job.pk])
            return 0 if cursor.fetchone() else 1

    def end(self, *, state: str, **fields: Any) -> bool:
        """The step's end (``state`` and the job's result fields), unless the job was taken from it meanwhile."""
        self.end_tried = True
        self.ended = job_end(job=self.job, state=state, step=self.step, **fields)
        return self.ended

    def finish(self, **fields: Any) -> bool:
        return self.end(state=self.job.job_states.done, **fields)

    def fail(self, message: str) -> bool:
        self.end_tried = True
        self.ended = job_fail(job=self.job, error=message, step=self.step)
        return self.ended

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def run_job(
    model: type[_JobT],
    job_id: int,
    attempt: int,
    *,
    work: Callable[[JobRun[_JobT]], None],
    step: JobStep | None = None,
    refused: tuple[type[Exception], ...] = (),
    on_failure: Callable[[JobRun[_JobT], str], bool] | None = None,
    error_message: Callable[[BaseException], str] = describe_error,
    on_end: Callable[[_JobT], None] | None = None,
) -> _JobT | None:
    """Claim the step, run ``work(run)``, end the job: the skeleton of every worker's step.

    ``step``: the model's default (queued -> running) unless given. ``refused``: exceptions that
    end the job "failed" with their message, besides ``JobRefused``. ``on_failure(run, message)``
    records a failure (default ``run.fail``); ``error_message(exc)`` says what an unexpected
    error shows. Returns the job (None when there was nothing to claim).
    """
    job = job_claim(model=model, job_id=job_id, attempt=attempt, step=step, related=model.job_related)
    if job is None:
        return None
    run = JobRun(job, step=step or model.default_step())
    fail = on_failure or JobRun.fail
    name = f"{model._meta.verbose_name} #{job_id}"
    try:
        work(run)
        if not run.end_tried:
            run.finish()
    except JobCancelled:
        logger.info("%s stopped: cancelled (or lost, or retried).", name)
        return job
    except (JobRefused, *refused) as refusal:  # type: ignore[misc]  # a tuple of exception classes
        logger.warning("%s refused: %s", name, refusal_message(refusal))
        fail(run, refusal_message(refusal))
    except Exception as error:  # the job must end "failed" whatever broke; the traceback goes to the log
        logger.exception("%s failed", name)
        fail(run, error_message(error))
    finally:
        run.close()
    if run.ended and on_end is not None:
        on_end(job)
    return job
