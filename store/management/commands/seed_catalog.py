"""python manage.py seed_catalog --products N [--variants V] --customers M --orders K --seed S"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from store.seeding import OPTION_COMBINATIONS, catalog_clear, catalog_is_empty, catalog_seed


class Command(BaseCommand):
    help = "Write a deterministic synthetic catalog (for benchmarks and load tests)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=10_000)
        parser.add_argument(
            "--variants",
            type=int,
            default=0,
            help="Variants per product (Colour × Size; up to 24): N products with V variants each. "
            "Default 0: products without variants.",
        )
        parser.add_argument("--customers", type=int, default=0)
        parser.add_argument("--orders", type=int, default=0)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--anchor",
            type=datetime.fromisoformat,
            default=None,
            help="ISO date that generated dates count back from (default: today, UTC).",
        )
        parser.add_argument(
            "--clear",
            action="store_true",
            help="Delete every store row first. Without it the catalog must be empty.",
        )

    def handle(
        self,
        *args: Any,
        products: int,
        variants: int,
        customers: int,
        orders: int,
        seed: int,
        anchor: datetime | None,
        clear: bool,
        verbosity: int,
        **options: Any,
    ) -> None:
        if min(products, customers, orders) < 0:
            raise CommandError("Counts must be zero or more.")
        if not 0 <= variants <= len(OPTION_COMBINATIONS):
            raise CommandError(f"--variants must be from 0 to {len(OPTION_COMBINATIONS)}.")
        if orders and not (customers and products):
            raise CommandError("Orders need at least one customer and one product.")
        if clear:
            catalog_clear()
        elif not catalog_is_empty():
            raise CommandError("The catalog is not empty; pass --clear to replace it.")
        if anchor is not None and anchor.tzinfo is None:
            anchor = anchor.replace(tzinfo=UTC)

        started = time.perf_counter()
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=verbosity < 1,
            console=None,
        ) as bar:
            rows = products * (variants + 1)
            totals = {"products": rows, "search index": rows, "customers": customers, "orders": orders}
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, advance: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=totals.get(stage))
                bar.advance(tasks[stage], advance)

            result = catalog_seed(
                products=products,
                variants=variants,
                customers=customers,
                orders=orders,
                seed=seed,
                anchor=anchor,
                progress=progress,
            )
        elapsed = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {result.products} products with {result.variants} variants "
                f"in {result.collections} collections, "
                f"{result.customers} customers, {result.orders} orders with {result.order_items} items "
                f"in {elapsed:.1f}s."
            )
        )
