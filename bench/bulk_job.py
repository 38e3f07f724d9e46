""""Raise price 5%" on every product as a bulk edit job, against a raw SQL UPDATE of the same table.

Run against a seeded catalog (its database name must end in _bench), e.g. 1M products:
    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_bulkjobs_bench .venv/bin/python manage.py migrate
    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_bulkjobs_bench \\
        .venv/bin/python manage.py seed_catalog --products 1000000 --customers 1000 --orders 5000 --seed 1 --clear
    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_bulkjobs_bench .venv/bin/python bench/bulk_job.py

In one run: queues a BulkEditJob "raise price 5%" over the whole product list (as "Select
all N matching" does: the changelist query string, no ids), runs one worker
(`manage.py run_worker --batch`, database queue, production settings) under
`/usr/bin/time -v`, and reads back the job (preflight + per-batch writes), the history
rows it wrote and the worker's peak RSS. Then times `UPDATE store_product SET unit_price
= ROUND(unit_price * 1.05, 2)` on the same table (in a transaction, rolled back: the
catalog stays as the job left it) and prints the ratio job / raw UPDATE.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]


def shell(code: str, env: dict[str, str]) -> str:
    result = subprocess.run([*MANAGE, "shell", "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    return result.stdout.strip().splitlines()[-1]


def worker(env: dict[str, str]) -> tuple[float, int]:
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-v", *MANAGE, "run_worker", "--batch"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return seconds, peak_kb


RAW_UPDATE = """
import time
from django.db import connection, transaction
with transaction.atomic():
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("UPDATE store_product SET unit_price = ROUND(unit_price * 1.05, 2)")
        seconds = time.perf_counter() - started
        rows = cursor.rowcount
    transaction.set_rollback(True)
print(seconds, rows)
"""


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.rstrip("/").endswith("_bench"):
        sys.exit("Set DATABASE_URL to a seeded database whose name ends in _bench.")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
        "TASKS_BACKEND": "db",
        "LOG_LEVEL": "WARNING",
        "AUDIT_LOG_LEVEL": "WARNING",
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    env.pop("REDIS_URL", None)
    products = int(shell("from store.models import Product; print(Product.objects.count())", env))
    idle_seconds, idle_kb = worker(env)  # drains anything left over, and gives the baseline
    print(f"{products:,} products; idle worker: peak RSS {idle_kb / 1024:.0f} MB")

    job_id = shell(
        "from django.contrib.auth.models import User; from store.bulk.actions import get_bulk_action; "
        "from store.bulk.jobs import bulk_edit_job_create; "
        "u, _ = User.objects.get_or_create(username='bench-bulk', defaults={'is_staff': True, "
        "'is_superuser': True}); "
        "print(bulk_edit_job_create(user=u, action=get_bulk_action('change_price'), "
        "parameters={'mode': 'raise_pct', 'amount': '5', 'ending': ''}, filters='', selected_ids=None).pk)",
        env,
    )
    seconds, peak_kb = worker(env)
    state, changed, edit_id, run_seconds = shell(
        f"from store.models import BulkEditJob; j = BulkEditJob.objects.get(pk={job_id}); "
        "print(j.state, j.changed_count, j.bulk_edit_id, j.elapsed_seconds, repr(j.error).replace(' ', '_'))",
        env,
    ).split()[:4]
    if state != "done":
        sys.exit(f"bulk edit job {job_id} ended {state}")
    history = int(
        shell(
            "from store.models import Product; "
            f"print(Product.history.filter(history_change_reason__startswith='Bulk edit #{edit_id}:').count())",
            env,
        )
    )
    raw_seconds, raw_rows = shell(RAW_UPDATE, env).split()
    raw_seconds = float(raw_seconds)

    print(
        f"bulk edit job #{job_id} (Bulk edit #{edit_id}, raise price 5%): {int(changed):,} products changed, "
        f"{history:,} history rows"
    )
    print(
        f"  worker wall time {seconds:.1f} s (job start → end {float(run_seconds):.1f} s: preflight + writes), "
        f"{int(changed) / float(run_seconds):,.0f} products/s"
    )
    print(f"  worker peak RSS {peak_kb / 1024:.0f} MB ({peak_kb / idle_kb:.2f}x the idle worker)")
    print(f"raw UPDATE … ROUND(unit_price * 1.05, 2): {int(raw_rows):,} rows in {raw_seconds:.1f} s (rolled back)")
    print(f"ratio job / raw UPDATE: {float(run_seconds) / raw_seconds:.1f}x")


if __name__ == "__main__":
    main()
