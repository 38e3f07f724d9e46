"""Periodic upkeep: delete expired export files, mark jobs whose worker went silent as failed,
expire import previews nobody confirmed, send the daily low-stock digest (once a day, after
LOW_STOCK_DIGEST_HOUR).

Schedule it (cron, a systemd timer) hourly, or run the Procfile's `scheduler` process,
which is this command with ``--every 3600``.
"""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand

from store.housekeeping import housekeeping

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Delete expired export files and mark jobs whose worker stopped as 'failed: worker lost'."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Run again every SECONDS until stopped (a scheduler process).",
        )

    def handle(self, *args, every: int = 0, **options) -> None:
        while True:
            result = housekeeping()
            self.stdout.write(
                f"{result['expired_exports']} expired export file(s) removed, "
                f"{result['lost_jobs']} export or bulk edit job(s) and {result['lost_import_jobs']} import "
                "job(s) marked failed: worker lost, "
                f"{result['unstarted_jobs']} job(s) the queue lost marked failed: never started, "
                f"{result['expired_import_previews']} import preview(s) expired, "
                f"{result['recovered_imports']} import(s) and {result['recovered_bulk_edits']} bulk edit(s) "
                "left running by a stopped process recorded from their history, "
                f"{result['stale_image_fetches']} image fetch(es) whose worker died queued again or failed, "
                f"{result['low_stock_digests']} low-stock digest(s) sent."
            )
            if not every:
                return
            time.sleep(every)
