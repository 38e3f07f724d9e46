"""A whole-catalog export as a background job: the worker's time and peak memory.

Run against a seeded catalog (its database name must end in _bench), e.g. 1M products:

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_queue_bench \\
        .venv/bin/python manage.py seed_catalog --products 1000000 --customers 1000 --orders 5000 --clear
    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_queue_bench .venv/bin/python bench/export.py --formats csv

For each format it queues an ExportJob of the whole product changelist (the database
queue), then runs one worker (`manage.py run_worker --batch`) under `/usr/bin/time -v`
and prints wall time, rows/s, file size and the worker's peak RSS, next to the peak RSS
of the same worker with nothing to do (measured in the same run; the ratio is the cost
of the export itself).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]


def worker(env: dict[str, str]) -> tuple[float, int, str]:
    started = time.monotonic()
    result = subprocess.run(
        ["/usr/bin/time", "-v", *MANAGE, "run_worker", "--batch"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return seconds, peak_kb, result.stderr


def shell(code: str, env: dict[str, str]) -> str:
    result = subprocess.run([*MANAGE, "shell", "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--formats", nargs="+", default=["csv", "json", "xlsx"])
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.rstrip("/").endswith("_bench"):
        sys.exit("Set DATABASE_URL to a seeded database whose name ends in _bench.")
    media = tempfile.mkdtemp(prefix="bench-export-")
    # The production settings, as a worker runs in production.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
        "TASKS_BACKEND": "db",
        "MEDIA_ROOT": media,
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": secrets.token_urlsafe(50),
    }
    env.pop("REDIS_URL", None)
    products = int(shell("from store.models import Product; print(Product.objects.count())", env))
    idle_seconds, idle_kb, _ = worker(env)  # drains anything left over, and gives the baseline
    print(f"{products:,} products; idle worker: peak RSS {idle_kb / 1024:.0f} MB")
    print(f"{'format':<6} {'rows':>10} {'seconds':>8} {'rows/s':>8} {'file MB':>8} {'peak RSS MB':>12} {'x idle':>7}")
    for file_format in args.formats:
        job_id = shell(
            "from django.contrib.auth.models import User; from store.exports.jobs import export_job_create; "
            "u, _ = User.objects.get_or_create(username='bench-export', defaults={'is_staff': True, "
            "'is_superuser': True}); "
            f"print(export_job_create(user=u, model_label='store.product', file_format='{file_format}', "
            "filters='').pk)",
            env,
        )
        seconds, peak_kb, _ = worker(env)
        state, rows, size = shell(
            f"from store.models import ExportJob; j = ExportJob.objects.get(pk={job_id}); "
            "print(j.state, j.rows_done, j.file_size or 0, j.error.replace(' ', '_') or '-')",
            env,
        ).split()[:3]
        if state != "done":
            sys.exit(f"export job {job_id} ended {state}")
        rows = int(rows)
        print(
            f"{file_format:<6} {rows:>10,} {seconds:>8.1f} {rows / seconds:>8,.0f} {int(size) / 2**20:>8.1f} "
            f"{peak_kb / 1024:>12.0f} {peak_kb / idle_kb:>7.2f}"
        )


if __name__ == "__main__":
    main()
