"""python manage.py revert_import JOB_ID [--dry-run] [--skip-changed] [--user USERNAME]

Exit codes as import_products: 0 done (or a dry run with nothing in the way), 1 for a
job that cannot be reverted (unknown, not written, already reverted), 2 when products
changed since the import stop the revert (or would, for --dry-run).
"""

from __future__ import annotations

from typing import IO, cast

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from store.importing.cli_user import import_cli_user
from store.importing.revert import RevertRefused, RevertReport, import_revert, import_revert_preview
from store.models import ImportJob

LISTED = 50


class Command(BaseCommand):
    help = "Revert a finished product import: restore what it changed, delete what it created."

    def add_arguments(self, parser) -> None:
        parser.add_argument("job_id", type=int, help="The import's number (Import #N in the import history).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would be reverted; write nothing.")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            default=None,
            help="Who runs the revert (default: settings.IMPORT_CLI_USER); recorded like the import's user.",
        )
        parser.add_argument(
            "--skip-changed",
            action="store_true",
            help="Revert the rest when products changed since the import (default: all or nothing).",
        )

    def handle(self, *args, **options) -> None:
        job = ImportJob.objects.filter(pk=options["job_id"]).first()
        if job is None:
            raise CommandError(f"No import #{options['job_id']}.")
        try:
            user = import_cli_user(username=options["user"])
        except ValidationError as error:
            raise CommandError(error.messages[0]) from error
        # OutputWrapper is a TextIOBase that rich writes to as to any text stream; typeshed's
        # IO[str] is a nominal class it does not derive from.
        console = Console(file=cast("IO[str]", self.stdout), width=None if self.stdout.isatty() else 120)
        try:
            if options["dry_run"]:
                report = import_revert_preview(job=job)
                self._report(console, report, title=f"Revert of import #{job.pk} (dry run): {job.file_name}")
                console.print("Dry run: nothing written. Run again without --dry-run to revert.")
                if report.changed and not options["skip_changed"]:
                    raise CommandError(
                        f"{report.changed} product(s) changed since import #{job.pk}; "
                        "a revert would be refused without --skip-changed.",
                        returncode=2,
                    )
                return
            outcome = import_revert(
                job=job, user=user, skip_changed=options["skip_changed"], source=ImportJob.SOURCE_CLI
            )
        except RevertRefused as refused:
            self._report(console, refused.report, title=f"Revert of import #{job.pk}: refused")
            raise CommandError(refused.messages[0], returncode=2) from refused
        except ValidationError as error:
            raise CommandError(error.messages[0]) from error
        self._report(
            console, outcome.report, title=f"Revert of import #{job.pk}: {job.file_name}", seconds=outcome.job.duration
        )
        console.print(f"Done: {outcome.job.message} Recorded as import #{outcome.job.pk}.")

    def _report(self, console: Console, report: RevertReport, *, title: str, seconds: float | None = None) -> None:
        table = Table(title=title)
        columns = ["history rows", "restored", "deleted", "re-created", "kept", "changed since"]
        values: list[int | str] = [
            report.rows,
            report.restore,
            report.delete,
            report.recreate,
            report.kept,
            report.changed,
        ]
        if seconds is not None:
            columns.append("seconds")
            values.append(f"{seconds:.2f}")
        for column in columns:
            table.add_column(column, justify="right")
        table.add_row(*map(str, values))
        console.print(table)
        for note in report.notes:
            console.print(f"Note: {note}")
        for heading, items, total in (
            ("Changed since the import", report.changed_items, report.changed),
            ("Kept (still referred to)", report.kept_items, report.kept),
        ):
            if not items:
                continue
            listing = Table(title=f"{heading} ({total})")
            for column in ("id", "SKU", "why", "field: now → before the import"):
                listing.add_column(column)
            for item in items[:LISTED]:
                listing.add_row(
                    str(item.product_id),
                    item.sku,
                    item.why,
                    "; ".join(f"{name}: {now} → {before}" for name, now, before in item.fields),
                )
            console.print(listing)
            if total > min(len(items), LISTED):
                console.print(f"… and {total - min(len(items), LISTED)} more.")
