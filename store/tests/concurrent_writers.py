"""Concurrent writers in one process, each thread with its own database connection.

Run by store/tests/test_importing_concurrency.py in a subprocess, so that SQLite is a real
file (the test database is in memory, where locking works differently) with the settings a
deployment gets; on MariaDB it runs against the test database itself.

    DATABASE_URL=... python -m store.tests.concurrent_writers SCENARIO FILES_ROOT JOB_ID [PRODUCT_ID ...]

Prints one JSON object: what each thread ended with.

Scenarios:
- ``confirm_and_saves``: one thread confirms the import job and, once its write transaction
  holds the database, stays in it for HOLD_SECONDS; meanwhile one thread per product saves
  that product through ``product_update`` (as the change form does).
- ``triple_confirm``: three threads confirm the same job at the same moment; each one's
  write transaction lingers HOLD_SECONDS in its read phase.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from decimal import Decimal

HOLD_SECONDS = 1.0


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.test")
    import django

    django.setup()


def _in_thread(results: dict, key: str, work) -> threading.Thread:
    from django.db import connection

    def run() -> None:
        try:
            results[key] = work()
        except Exception as error:  # reported to the test, which fails on it
            results[key] = f"error: {type(error).__name__}: {error}"
        finally:
            connection.close()

    return threading.Thread(target=run, name=key)


def _confirm(job_id: int):
    from django.core.exceptions import ValidationError

    from store.importing.service import product_import_confirm
    from store.models import ImportJob

    def work() -> str:
        try:
            outcome = product_import_confirm(job=ImportJob.objects.get(pk=job_id))
        except ValidationError as refusal:
            return f"refused: {refusal.messages[0]}"
        return "written" if outcome.written else f"failed: {outcome.job.message}"

    return work


def confirm_and_saves(job_id: int, product_ids: list[int]) -> dict:
    from store import services
    from store.importing import writing
    from store.models import Product

    writing_started = threading.Event()
    original = writing.write_related_columns

    def hold_the_write(*args, **kwargs):
        # Rows are inserted: this transaction holds SQLite's write lock until it commits.
        writing_started.set()
        time.sleep(HOLD_SECONDS)
        return original(*args, **kwargs)

    writing.write_related_columns = hold_the_write

    def save(pk: int):
        def work() -> str:
            product = Product.objects.get(pk=pk)
            product.unit_price = Decimal("77.00")
            services.product_update(product=product, expected_version=product.version)
            return "saved"

        return work

    results: dict[str, str] = {}
    confirm = _in_thread(results, "confirm", _confirm(job_id))
    confirm.start()
    writing_started.wait(timeout=60)
    savers = [_in_thread(results, f"save-{pk}", save(pk)) for pk in product_ids]
    for thread in savers:
        thread.start()
    for thread in [confirm, *savers]:
        thread.join()
    return results


def triple_confirm(job_id: int) -> dict:
    from store.importing import writing

    original = writing._find_conflicts
    barrier = threading.Barrier(3)

    def slow_checks(plan, **options):
        found = original(plan, **options)
        time.sleep(HOLD_SECONDS)  # the read phase of the write transaction
        return found

    writing._find_conflicts = slow_checks
    work = _confirm(job_id)

    def together() -> str:
        barrier.wait(timeout=60)
        return work()

    results: dict[str, str] = {}
    threads = [_in_thread(results, f"confirm-{n}", together) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main(argv: list[str]) -> None:
    scenario, files_root, job_id, *product_ids = argv
    os.environ["PRIVATE_FILES_ROOT"] = files_root  # the parent's private storage (saved plans)
    _setup()
    if scenario == "confirm_and_saves":
        results = confirm_and_saves(int(job_id), [int(pk) for pk in product_ids])
    elif scenario == "triple_confirm":
        results = triple_confirm(int(job_id))
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
