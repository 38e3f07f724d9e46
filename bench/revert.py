"""Revert benchmark: reverting a 100k-row import vs the import's own time, plus a bulk edit.

    .venv/bin/python bench/revert.py                      # SQLite and MariaDB, 100k rows
    .venv/bin/python bench/revert.py --db sqlite --rows 20000

Each database runs in its own process: SQLite in a temporary file, MariaDB in
``bo_bulk_bench`` on 127.0.0.1:3306 (created if missing, emptied first). In one run:

1. import a generated 100k-row native CSV into an empty catalog (100k products created),
   then revert it (100k products deleted);
2. import it again, then import a second file changing every product's price and
   inventory (100k updates), then revert that import (100k products restored);
3. "raise price 5%" through store.bulk.bulk_edit_apply on all the products (the
   service a queued job will run for selections above BULK_INLINE_MAX), in a fresh
   process so that the peak RSS shown is the bulk edit's own.

Prints each time, the revert / import ratios, history rows written and peak RSS.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARIADB_URL = "mysql://root@127.0.0.1:3306/bo_bulk_bench"
COLLECTIONS = [f"Bench collection {i:02d}" for i in range(20)]
HEADER = ["sku", "title", "slug", "description", "unit_price", "inventory", "collection"]


def generate(path: Path, rows: int, *, bump: int = 0) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(
                [
                    f"BENCH-{i:07d}",
                    f"Bench product {i}",
                    f"bench-product-{i}",
                    f"Generated row {i}, for timing.",
                    f"{10 + bump + i % 990}.{i % 100:02d}",
                    i % 500 + bump,
                    COLLECTIONS[i % len(COLLECTIONS)],
                ]
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_peak_rss_mb() -> float:
    """This process image's peak RSS: ru_maxrss would include the parent's (it survives fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mb()


def bulk_only(rows: int) -> None:
    """ "Raise price 5%" on every product of the database the parent worker filled."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.getLogger("backoffice.audit").setLevel(logging.WARNING)
    from store.bulk import actions as bulk_actions
    from store.bulk import apply as bulk_apply
    from store.models import BulkEdit, Product

    start = time.perf_counter()
    edit = bulk_apply.bulk_edit_apply(
        action=bulk_actions.get_bulk_action("change_price"),
        products=Product.objects.all(),
        parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
    )
    seconds = time.perf_counter() - start
    assert edit.changed_count == rows, edit.message
    assert edit.state == BulkEdit.STATE_DONE, edit.message
    print(seconds, own_peak_rss_mb())


def worker(db: str, rows: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-revert-"))
    if db == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        import MySQLdb

        connection = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
        connection.cursor().execute("CREATE DATABASE IF NOT EXISTS bo_bulk_bench CHARACTER SET utf8mb4")
        connection.close()
        os.environ["DATABASE_URL"] = MARIADB_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.test")
    os.environ["PRIVATE_FILES_ROOT"] = str(workdir / "files")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.getLogger("backoffice.audit").setLevel(logging.WARNING)
    from django.core.management import call_command
    from django.db import connection

    from store.importing.revert import import_revert
    from store.importing.service import product_import
    from store.models import Collection, ImportJob, ImportRevert, Product

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        for table in (
            "store_orderitem",
            "store_cartitem",
            "store_product_promotions",
            "store_importrevert",
            "store_bulkedit",
            "store_historicalproduct",
        ):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("UPDATE store_collection SET featured_product_id = NULL")
        cursor.execute("DELETE FROM store_product")
        cursor.execute("DELETE FROM store_collection")
        cursor.execute("DELETE FROM store_importjob")
    Collection.objects.bulk_create([Collection(title=title) for title in COLLECTIONS])
    first, second = workdir / "products.csv", workdir / "changed.csv"
    generate(first, rows)
    generate(second, rows, bump=1)
    history = Product.history.model.objects
    results: dict[str, float] = {}
    rss: dict[str, float] = {}

    def timed(key, function):
        start = time.perf_counter()
        value = function()
        results[key] = time.perf_counter() - start
        rss[key] = peak_rss_mb()
        return value

    created = timed("import_create", lambda: product_import(path=first, file_name=first.name))
    assert created.job.created_count == rows, created.job.message
    reverted = timed("revert_create", lambda: import_revert(job=created.job))
    assert reverted.report.delete == rows
    assert not Product.objects.exists()

    again = product_import(path=first, file_name=first.name)
    assert again.job.created_count == rows
    updated = timed("import_update", lambda: product_import(path=second, file_name=second.name))
    assert updated.job.updated_count == rows, updated.job.message
    before = history.count()
    restored = timed("revert_update", lambda: import_revert(job=updated.job))
    assert restored.report.restore == rows
    revert_history = history.count() - before

    assert ImportRevert.objects.count() == 2
    assert ImportJob.objects.count() == 5
    # The bulk edit in a fresh process, so that its peak RSS is its own (not the import's).
    before = history.count()
    bulk_run = subprocess.run(
        [sys.executable, __file__, "--worker", "--db", db, "--rows", str(rows), "--bulk-only"],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    seconds, bulk_rss = map(float, bulk_run.stdout.split())
    results["bulk_raise_5"], rss["bulk_raise_5"] = seconds, bulk_rss
    bulk_history = history.count() - before

    print(f"\n== {db} ({connection.vendor}), {rows:,} products ==")
    print(f"{'step':<44}{'seconds':>9}{'rows/s':>10}{'peak RSS MB':>13}")
    labels = {
        "import_create": "import: create (empty catalog)",
        "revert_create": "revert it: delete the created",
        "import_update": "import: update every product",
        "revert_update": "revert it: restore every product",
        "bulk_raise_5": "bulk edit: raise price 5% on all",
    }
    for key, label in labels.items():
        print(f"{label:<44}{results[key]:>9.2f}{rows / results[key]:>10,.0f}{rss[key]:>13.0f}")
    print(f"revert / import time, creates:  {results['revert_create'] / results['import_create']:.2f}x")
    print(f"revert / import time, updates:  {results['revert_update'] / results['import_update']:.2f}x")
    print(
        f"history rows written: revert of the update {revert_history:,}, bulk edit {bulk_history:,}"
        f" (+ baselines for products without history)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "mariadb", "both"], default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bulk-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bulk_only:
        bulk_only(args.rows)
        return
    if args.worker:
        worker(args.db, args.rows)
        return
    for db in ["sqlite", "mariadb"] if args.db == "both" else [args.db]:
        subprocess.run(
            [sys.executable, __file__, "--worker", "--db", db, "--rows", str(args.rows)], check=True, cwd=ROOT
        )


if __name__ == "__main__":
    main()
