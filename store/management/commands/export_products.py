"""Export the catalog (or one collection) to CSV, XLSX, JSON or Shopify's CSV, streamed in flat memory.

    manage.py export_products --format csv --output products.csv
    manage.py export_products --format xlsx --collection 3 --output hoodies.xlsx
    manage.py export_products --format shopify --output shopify.csv

The file has the admin export's columns and bytes (it re-imports with 0 changes): the products
by SKU, each product with variants followed by its variants. A progress bar goes to stderr in a
terminal; the summary line to stdout.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from store.audit import audit_event
from store.exports.formats import FORMATS, write_stream
from store.exports.resources import ProductResource
from store.models import Collection
from store.selectors import product_list_products


class Command(BaseCommand):
    help = "Export products (all, or one collection) to a CSV, XLSX, JSON or Shopify CSV file."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--format",
            dest="file_format",
            choices=sorted(ProductResource.export_formats),
            default="csv",
            help="shopify: Shopify's product CSV layout.",
        )
        parser.add_argument("--collection", type=int, metavar="ID", help="Only the products of this collection.")
        parser.add_argument(
            "--output",
            type=Path,
            metavar="FILE",
            help="Where to write (default: products-<date>-<time>.<format> here).",
        )
        parser.add_argument("--excel-bom", action="store_true", help="CSV with a UTF-8 BOM, for Excel.")

    def handle(
        self, *args, file_format: str, collection: int | None, output: Path | None, excel_bom: bool, **options
    ) -> None:
        # The products; each one with variants brings its variants (they follow its row).
        queryset = product_list_products().order_by("sku", "pk")
        if collection is not None:
            if not Collection.objects.filter(pk=collection).exists():
                raise CommandError(f"No collection with id {collection}.")
            queryset = queryset.filter(collection_id=collection)
        output = output or Path(f"products-{timezone.now():%Y%m%d-%H%M%S}.{FORMATS[file_format].extension}")
        if output.parent and not output.parent.is_dir():
            raise CommandError(f"No such folder: {output.parent}")
        resource = ProductResource.for_format(file_format)
        started = time.monotonic()
        console = Console(file=sys.stderr)
        # the count feeds only the progress bar, which shows in a terminal (a second at 1M)
        total = resource.export_row_count(queryset) if console.is_terminal else None
        with Progress(
            TextColumn("Exporting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task("export", total=total)
            partial = output.with_name(output.name + ".part")
            try:
                with open(partial, "wb") as fileobj:
                    rows = write_stream(
                        fileobj,
                        file_format=file_format,
                        headers=resource.export_headers(queryset),
                        chunks=resource.iter_export_chunks(queryset, force_native_type=file_format == "xlsx"),
                        excel_bom=excel_bom,
                        on_chunk=lambda done: bar.update(task, completed=done),
                    )
                partial.replace(output)  # never a half-written file under the real name
            finally:
                partial.unlink(missing_ok=True)
        seconds = time.monotonic() - started
        # without variants, every row is a product: no count
        products = queryset.count() if resource.catalog_has_variants() else rows
        audit_event(
            "export", model="store.product", rows=rows, file_format=file_format, scope="cli", output=str(output)
        )
        written = f"{products:,} products" + ("" if rows == products else f" ({rows:,} rows)")
        self.stdout.write(f"{written} written to {output} in {seconds:.1f} s.")
