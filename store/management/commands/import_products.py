"""python manage.py import_products FILE [--dry-run] [--preset ...] [--skip-invalid] [--encoding ...] [--background]
[--mode create-update|update-only|create-only] [--keep-blank] [--user USERNAME]
[--map "Supplier Code=sku,Name=title,..." | --profile NAME] [--decimal-comma | --decimal , --thousands .]
[--collection-separator /]"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path
from typing import TextIO, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from store.importing.cli_user import NOTE_NO_USER, import_cli_user
from store.importing.jobs import import_job_submit
from store.importing.mapping import (
    ColumnMapping,
    mapping_from_profile,
    parse_map_option,
    profile_for_header,
    profile_get,
)
from store.importing.modes import MODE_FLAGS, ModeChoice
from store.importing.parsing import check_encoding, read_header
from store.importing.presets import PRESET_AUTO, PRESET_CHOICES, detect_preset
from store.importing.service import product_import
from store.jobs.models import NOT_QUEUED
from store.jobs.services import job_not_queued
from store.models import ImportJob

PROGRESS_FROM_ROWS = 2000
ERRORS_SHOWN = 50
# ANSI/VT escape sequences (CSI, OSC, other ESC sequences), then any remaining C0/C1 control character.
TERMINAL_ESCAPES_RE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]"
)
CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
THOUSANDS = {"comma": ",", ",": ",", "point": ".", ".": ".", "space": " ", "none": ""}
MAPPING_FLAGS = ("decimal", "thousands", "collection_separator")
HINT_UNDETECTED = (
    'Map its columns with --map "File column=sku,Other column=title,..." (product columns: sku, title, '
    "slug, description, unit_price, inventory, collection, promotions and the extra columns), or with a "
    "saved profile: --profile NAME."
)


def terminal_safe(value) -> str:
    """A file value as plain text for the terminal: no escape sequences, no control characters.

    The console runs with markup off, so "[/oops]" prints as written instead of raising
    a MarkupError (after the import has written).
    """
    return CONTROL_CHARS_RE.sub("", TERMINAL_ESCAPES_RE.sub("", str(value)))


class Command(BaseCommand):
    help = "Import products from a CSV or XLSX file (native, WooCommerce or Shopify export)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument("--preset", default=PRESET_AUTO, choices=[key for key, _ in PRESET_CHOICES])
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows and skip invalid ones (default: all or nothing).",
        )
        parser.add_argument("--encoding", default=None, help="Force the CSV encoding (default: detect).")
        parser.add_argument(
            "--mode",
            choices=sorted(MODE_FLAGS),
            default=None,
            help="create-update (the default): a new SKU creates a product, a known one updates it; update-only: "
            "a SKU not in the catalog is an error; create-only: a SKU already in the catalog is skipped and "
            "listed. Default: the saved profile's mode for a mapped file, else create-update.",
        )
        parser.add_argument(
            "--keep-blank",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="A blank cell keeps the product's current value (--no-keep-blank: a blank description, tags or "
            "promotions cell clears it, the default unless the saved profile says otherwise).",
        )
        mapping = parser.add_argument_group(
            "supplier files",
            "A file whose header matches no format is read through a column mapping. A file whose header matches "
            "a saved import profile (admin: Import profiles) is mapped with it automatically.",
        )
        mapping.add_argument(
            "--map",
            metavar="MAPPING",
            help='File column=product column pairs separated by commas, e.g. "Supplier Code=sku,Name=title,'
            'Price=unit_price,Qty=inventory,Category=collection"; unlisted columns are ignored ("Column=ignore" '
            "says so explicitly). File columns are matched ignoring case, spaces and punctuation.",
        )
        mapping.add_argument("--profile", metavar="NAME", help="Map the file with the saved import profile NAME.")
        mapping.add_argument(
            "--decimal",
            choices=[".", ","],
            help='The decimal mark of prices: "." (12.50, the default) or "," (12,50).',
        )
        mapping.add_argument(
            "--thousands",
            choices=sorted(THOUSANDS),
            help="The thousands separator of prices and inventory: comma (1,234; the default), point (1.234), "
            "space (1 234) or none.",
        )
        mapping.add_argument(
            "--decimal-comma",
            action="store_true",
            help='Shorthand for --decimal , --thousands . ("1.234,50" is 1234.50).',
        )
        mapping.add_argument(
            "--collection-separator",
            metavar="SEP",
            help='The separator of category paths, e.g. / or ">": "Home/Kitchen" becomes the collection '
            '"Home > Kitchen".',
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            default=None,
            help="Who runs the import (default: settings.IMPORT_CLI_USER): it shows in their import history, "
            "and they may revert it. An active user with the import permission.",
        )
        parser.add_argument(
            "--background",
            action="store_true",
            help="Queue the import as a job (a worker previews and writes it) and return; follow it on its admin page.",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["encoding"]:
            try:
                options["encoding"] = check_encoding(options["encoding"])
            except ValidationError as error:
                raise CommandError(error.messages[0]) from error
        try:
            user = import_cli_user(username=options["user"])
        except ValidationError as error:
            raise CommandError(error.messages[0]) from error
        mapping = self._mapping(path, options)
        mode = ModeChoice(MODE_FLAGS[options["mode"]] if options["mode"] else None, options["keep_blank"])
        if options["background"]:
            if options["dry_run"]:
                raise CommandError(
                    "--background writes once the worker has checked the file; use --dry-run without it."
                )
            job = import_job_submit(
                path=path,
                file_name=path.name,
                user=user,
                source=ImportJob.SOURCE_CLI,
                preset=options["preset"],
                encoding=options["encoding"],
                skip_invalid=options["skip_invalid"],
                confirm=True,
                mapping=mapping,
                mode=mode,
            )
            link = reverse("admin:store_product_import_preview", args=[job.pk])
            if job_not_queued(job):
                raise CommandError(f"Import #{job.pk} could not be queued: {NOT_QUEUED}. {settings.SITE_URL}{link}")
            self.stdout.write(
                f"Import #{job.pk} queued ({job.get_status_display().lower()}); follow it at {settings.SITE_URL}{link}"
            )
            return
        # A live progress bar in a terminal; plain, 120-column output when piped or logged.
        # No markup, emoji codes or highlighting: file values print exactly as written.
        tty = self.stdout.isatty()
        # The stream itself: OutputWrapper.write would end each of rich's writes with a newline.
        console = Console(
            file=cast(TextIO, self.stdout._out), width=None if tty else 120, markup=False, emoji=False, highlight=False
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def report(stage: str, count: int) -> None:
                if stage == "rows":
                    if count >= PROGRESS_FROM_ROWS:
                        tasks["validating"] = progress.add_task("Checking rows", total=count)
                        tasks["writing"] = progress.add_task("Writing", total=None)
                    return
                if stage in tasks:
                    progress.advance(tasks[stage], count)

            outcome = product_import(
                path=path,
                file_name=path.name,
                user=user,
                preset=options["preset"],
                encoding=options["encoding"],
                skip_invalid=options["skip_invalid"],
                dry_run=options["dry_run"],
                progress=report,
                mapping=mapping,
                mode=mode,
            )
        job = outcome.job
        self._summary(console, job)
        if outcome.plan is not None:
            self._details(console, outcome.plan)
        console.print(terminal_safe(f"{job.get_status_display()}: {job.message}"))
        if user is None:
            console.print(NOTE_NO_USER)
        if outcome.plan is None and job.message.startswith("The header matches no known format"):
            console.print(HINT_UNDETECTED)
        if job.failed_rows:
            console.print(f"Failed rows (original columns + error): {job.failed_rows.path}")
        if job.status not in (ImportJob.STATUS_SUCCEEDED, ImportJob.STATUS_DRY_RUN) or job.error_count:
            raise CommandError(f"Import #{job.pk} finished with errors.", returncode=2)

    def _mapping(self, path: Path, options: dict) -> ColumnMapping | None:
        """The column mapping to read the file with, from --map, --profile or the profile saved for its
        header; None for a file a preset reads. Only the header is read: a wrong column or profile name
        stops here, before any row is read or written."""
        if options["decimal_comma"]:
            if options["decimal"] == "." or options["thousands"] in (",", "comma"):
                raise CommandError("--decimal-comma means --decimal , --thousands .; do not combine them.")
            options["decimal"], options["thousands"] = ",", "point"
        conventions = any(options[name] is not None for name in MAPPING_FLAGS)
        if options["map"] and options["profile"]:
            raise CommandError("Use --map or --profile, not both.")
        explicit = bool(options["map"] or options["profile"])
        if options["preset"] != PRESET_AUTO and (explicit or conventions):
            raise CommandError("--map, --profile and the value conventions read a mapped file: drop --preset.")
        try:
            header, _rows = read_header(path, encoding=options["encoding"])
        except ValidationError as error:
            if explicit or conventions:
                raise CommandError(error.messages[0]) from None
            return None  # the import itself reports why the file cannot be read
        try:
            if options["map"]:
                mapping = ColumnMapping(header=tuple(header), targets=tuple(parse_map_option(options["map"], header)))
            elif options["profile"]:
                mapping = mapping_from_profile(profile_get(name=options["profile"]), header)
            elif options["preset"] == PRESET_AUTO and detect_preset(header) is None:
                profile = profile_for_header(header)
                if profile is None:
                    if conventions:
                        raise CommandError("The header matches no known format and no profile. " + HINT_UNDETECTED)
                    return None
                self.stdout.write(f"The header matches the import profile «{profile.name}»: mapped with it.")
                mapping = mapping_from_profile(profile, header)
            elif conventions:
                raise CommandError(
                    "--decimal, --thousands, --decimal-comma and --collection-separator apply to mapped files "
                    "(--map or --profile); this file's header is a known format."
                )
            else:
                return None
        except ValidationError as error:
            raise CommandError("\n".join(error.messages)) from None
        if conventions:
            mapping = replace(
                mapping,
                decimal=options["decimal"] or mapping.decimal,
                thousands=THOUSANDS[options["thousands"]] if options["thousands"] else mapping.thousands,
                collection_separator=options["collection_separator"]
                if options["collection_separator"] is not None
                else mapping.collection_separator,
            )
        errors = mapping.errors()
        if errors:
            raise CommandError("\n".join(errors))
        if mapping.profile_name and options["profile"]:
            self.stdout.write(f"Mapped with the import profile «{mapping.profile_name}».")
        return mapping

    def _summary(self, console: Console, job: ImportJob) -> None:
        table = Table(title=terminal_safe(f"Import #{job.pk}: {job.file_name} ({job.preset or 'unknown format'})"))
        for column in ("rows", "new", "updated", "unchanged", "skipped", "errors", "seconds"):
            table.add_column(column, justify="right")
        table.add_row(
            *map(
                str,
                (
                    job.rows_total,
                    job.created_count,
                    job.updated_count,
                    job.unchanged_count,
                    job.skipped_count,
                    job.error_count,
                    f"{job.duration:.2f}",
                ),
            )
        )
        console.print(table)

    def _details(self, console: Console, plan) -> None:
        console.print(terminal_safe(plan.mode_text))
        for note in plan.notes:
            console.print(terminal_safe(f"Note: {note}"))
        if plan.new_collections:
            console.print(terminal_safe("New collections: " + ", ".join(plan.new_collections)))
        if plan.errors:
            table = Table(title=f"Errors ({len(plan.errors)})")
            for column in ("row", "column", "value", "reason"):
                table.add_column(column)
            for error in plan.errors[:ERRORS_SHOWN]:
                table.add_row(*map(terminal_safe, (error.row, error.column, error.value, error.reason)))
            console.print(table)
            if len(plan.errors) > ERRORS_SHOWN:
                console.print(f"… and {len(plan.errors) - ERRORS_SHOWN} more in the failed-rows file.")
