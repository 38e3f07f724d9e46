"""Run one background worker for the configured queue (TASKS_BACKEND).

The same command on every machine and in every Procfile: ``db`` runs django-tasks-db's
``db_worker`` (the queue is a database table), ``rq`` runs django-rq's ``rqworker`` with
django-tasks-rq's job class (the queue is in Redis at REDIS_URL). Start as many as you
like, on as many machines as you like: each task is claimed by exactly one worker. The
process started is the worker (no autoreloader parent, even under DEBUG) unless ``--reload``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run a background worker for TASKS_BACKEND (db or rq)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", action="store_true", help="Run the tasks waiting now, then exit.")
        parser.add_argument("--reload", action="store_true", help="Restart on code changes (db queue; development).")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls of the database queue (default 1)."
        )

    def handle(self, *args, batch: bool, reload: bool, interval: float, **options) -> None:
        backend = settings.TASKS_BACKEND
        verbosity = options.get("verbosity", 1)
        if backend == "db":
            # db_worker reloads by default under DEBUG: its reloader would be the process we were
            # started as, with the worker a child that outlives a signal sent to us.
            argv = ["--queue-name", "default", "--interval", str(interval)]
            argv.append("--reload" if reload and not batch else "--no-reload")
            if batch:
                argv.append("--batch")
            self.stdout.write(f"Worker: database queue ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}).")
            call_command("db_worker", *argv, verbosity=verbosity)
        elif backend == "rq":
            argv = ["default", "--job-class", "django_tasks_rq.Job"]
            if batch:
                argv.append("--burst")
            self.stdout.write("Worker: RQ on Redis.")
            call_command("rqworker", *argv, verbosity=verbosity)
        else:
            raise CommandError(f"TASKS_BACKEND={backend!r} runs tasks in the web process: there is no worker to start.")
