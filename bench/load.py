"""`make bench-load`: locust, headless, against gunicorn + MariaDB + Redis with 100k products.

    .venv/bin/python bench/load.py                       # 10, 25, 50 users, 90 s each
    .venv/bin/python bench/load.py --users 25 --seconds 60

Uses the MariaDB database of LOAD_DATABASE_URL (default bo_load_bench; seeded with 100k
products if it has fewer), Redis databases 6 (queue) and 7 (cache), port 8200 (web).
Production settings: gunicorn as gunicorn.conf.py sizes it, one RQ worker at nice 10 (as
the Procfile runs it). First /healthz alone (the stack's ceiling: a trivial view's
requests/s), then for each user count the mix of bench/locustfile.py: the
merchandisers, the API clients and one ops user whose 100k-row import job (upload, preview
by the worker, confirm, write by the worker) runs during the measurement: 100k new products
in the first run (the catalog then has 200k), 100k price updates in each later one. The
products of an earlier invocation's imports are deleted first, so every invocation starts
from the same 100k-product catalog.

Prints per run: requests/s, p50/p95/p99/max per endpoint, errors, the import job's
end-to-end time, and the machine's load average before and after (a shared machine's
other work slows every number here; bench/cpu.py measures CPU per request instead).
Then the same table for the requests sent while the import job ran (from its upload to
the job page showing it ended): the load test's target is about those, and the import
ends before the run does. Its percentiles are exact (locust's own are rounded to two
significant figures).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]
DATABASE_URL = os.environ.get("LOAD_DATABASE_URL", "mysql://root@127.0.0.1:3306/bo_load_bench")
PORT = 8200
PRODUCTS = 100_000
IMPORT_ROWS = 100_000


def run(args: list[str], env: dict[str, str], **kwargs) -> str:
    result = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def shell(code: str, env: dict[str, str]) -> str:
    return run([*MANAGE, "shell", "-c", code], env).strip().splitlines()[-1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5)
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{url} did not answer")


def prepare(env: dict[str, str], workdir: Path) -> Path:
    import MySQLdb
    import redis

    conn = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
    name = DATABASE_URL.rsplit("/", 1)[1]
    conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    for db in (6, 7):
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()
    run([*MANAGE, "migrate", "--noinput", "-v0"], env)
    run([*MANAGE, "createcachetable"], env)
    # The products an earlier invocation imported (no orders, images, promotions or tags point
    # at them): plain SQL, as the ORM would write a history row for each of the 100k.
    shell(
        "from django.db import connection; from store.models import Product; "
        "cursor = connection.cursor(); "
        "cursor.execute(f\"DELETE FROM {Product._meta.db_table} WHERE sku LIKE 'LOAD-%%'\"); "
        "print(cursor.rowcount)",
        env,
    )
    count = int(
        shell("from store.models import Product; print(Product.objects.exclude(sku__startswith='LOAD-').count())", env)
    )
    if count < PRODUCTS:
        print(f"Seeding {PRODUCTS:,} products ...", flush=True)
        run(
            [
                *MANAGE,
                "seed_catalog",
                "--products",
                str(PRODUCTS),
                "--customers",
                "1000",
                "--orders",
                "5000",
                "--seed",
                "1",
                "--clear",
            ],
            env,
        )
    run([*MANAGE, "collectstatic", "--noinput", "-v0"], env)
    shell(
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        "u = U.objects.filter(username='load').first() or U(username='load', email='load@example.com'); "
        "u.is_staff = u.is_superuser = True; u.set_password('load-pass-123'); u.save(); print('ok')",
        env,
    )
    return workdir


def import_file(workdir: Path, run: int) -> Path:
    """The ops user's 100k rows: new products in the first run, every row's price changed in the next."""
    collections = [f"Load collection {n}" for n in range(10)]
    path = workdir / f"load-import-{run}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "description", "unit_price", "inventory", "collection"])
        for n in range(IMPORT_ROWS):
            writer.writerow(
                [
                    f"LOAD-{n:07d}",
                    f"Load product {n}",
                    f"Imported during the load test, row {n}.",
                    f"{10 + n % 990 + run}.{n % 100:02d}",
                    n % 500,
                    collections[n % len(collections)],
                ]
            )
    return path


def locust(env: dict[str, str], *, users: int, seconds: int, classes: list[str], prefix: Path) -> list[dict]:
    env = {**env, "LOAD_REQUEST_LOG": f"{prefix}_requests.csv"}
    run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 2)),
            "--run-time",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--host",
            f"http://127.0.0.1:{PORT}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            *classes,
        ],
        env,
        timeout=seconds + 300,
    )
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def job_report(env: dict[str, str]) -> str:
    return shell(
        "from store.models import ImportJob; j = ImportJob.objects.order_by('-pk').first(); "
        "print(f'#{j.pk} {j.status} rows={j.rows_total} new={j.created_count} '"
        "f'time={(j.finished_at - j.created_at).total_seconds() if j.finished_at else None}s' if j else '-')",
        env,
    )


def wait_job_end(env: dict[str, str], timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = job_report(env)
        if any(state in report for state in (" succeeded ", " failed ", " partial ", " cancelled ", " preview ")):
            return report
        time.sleep(3)
    return job_report(env)


def cpu_seconds(pid: int) -> float:
    """CPU (user + system) used so far by ``pid`` and its children, dead (reaped) or alive:
    gunicorn's master and workers, or the RQ worker and its job processes."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    total = sum(int(value) for value in fields[11:15]) / tick  # utime, stime, cutime, cstime
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return total + sum(cpu_seconds(int(child)) for child in children)


def mariadb_cpu_seconds() -> float:
    pids = subprocess.run(["pgrep", "-o", "mariadbd"], capture_output=True, text=True).stdout.split()
    return cpu_seconds(int(pids[0])) if pids else 0.0


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    return values[max(0, min(len(values) - 1, math.ceil(share * len(values)) - 1))]


def during_import(prefix: Path) -> tuple[float, list[dict]] | None:
    """Rows like locust's stats, for the requests that started while the import job ran.

    The job runs from its upload to the ops user's job page showing it ended (the JOB row of
    the request log), or to the end of the run if it had not ended by then.
    """
    with open(f"{prefix}_requests.csv", newline="") as handle:
        requests = [
            (float(start), kind, name, float(ms), failed == "1") for start, kind, name, ms, failed in csv.reader(handle)
        ]
    uploads = [start for start, kind, name, _, _ in requests if name == "import: upload"]
    if not uploads:
        return None
    begin = uploads[0]
    ends = [start + ms / 1000 for start, kind, _, ms, _ in requests if kind == "JOB"]
    end = ends[0] if ends else max(start + ms / 1000 for start, _, _, ms, _ in requests)
    by_name: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for start, kind, name, ms, failed in requests:
        if kind != "JOB" and begin <= start <= end:
            by_name.setdefault((kind, name), []).append((ms, failed))
    rows = []
    everything = [sample for samples in by_name.values() for sample in samples]
    for (kind, name), samples in [*sorted(by_name.items()), (("", "Aggregated"), everything)]:
        times = sorted(ms for ms, _ in samples)
        if not times:
            continue
        rows.append(
            {
                "Type": kind,
                "Name": name,
                "Request Count": str(len(times)),
                "Failure Count": str(sum(failed for _, failed in samples)),
                "Requests/s": str(len(times) / max(end - begin, 0.001)),
                "50%": f"{percentile(times, 0.50):.0f}",
                "95%": f"{percentile(times, 0.95):.0f}",
                "99%": f"{percentile(times, 0.99):.0f}",
                "Max Response Time": str(times[-1]),
            }
        )
    return end - begin, rows


def table(rows: list[dict], title: str) -> None:
    print(f"\n== {title} ==")
    print(f"{'endpoint':38} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7}")
    for row in rows:
        name = "TOTAL" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
        print(
            f"{name[:38]:38} {row['Request Count']:>8} {row['Failure Count']:>6} "
            f"{float(row['Requests/s']):7.1f} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6} "
            f"{float(row['Max Response Time']):7.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--seconds", type=int, default=90)
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="run the RQ worker at this niceness (default 10, as the Procfile does: web requests first)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "REDIS_URL": "redis://127.0.0.1:6379/6",
        "REDIS_CACHE_URL": "redis://127.0.0.1:6379/7",
        "TASKS_BACKEND": "rq",
        "PRIVATE_FILES_ROOT": str(workdir / "private"),
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "CATALOG_API_ANON_RATE": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "GUNICORN_BIND": f"127.0.0.1:{PORT}",
        "PYTHONUNBUFFERED": "1",
    }
    prepare(env, workdir)
    with open(workdir / "web.log", "w") as web_log, open(workdir / "worker.log", "w") as worker_log:
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "backoffice.wsgi"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=web_log,
        )
        worker = subprocess.Popen(
            ["nice", "-n", str(args.worker_nice), *MANAGE, "run_worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=worker_log,
        )
        measure(env, workdir, args, web, worker)


def measure(env: dict[str, str], workdir: Path, args: argparse.Namespace, *processes: subprocess.Popen) -> None:
    try:
        wait_http(f"http://127.0.0.1:{PORT}/healthz")
        trivial = locust(env, users=10, seconds=20, classes=["Trivial"], prefix=workdir / "trivial")
        print(
            f"Trivial view (/healthz, 10 users, no wait): {float(trivial[-1]['Requests/s']):.0f} requests/s, "
            f"p50 {trivial[-1]['50%']} ms, {trivial[-1]['Failure Count']} errors",
            flush=True,
        )
        for run, users in enumerate(args.users):
            env["LOAD_IMPORT_FILE"] = str(import_file(workdir, run))
            print(f"load average before the {users}-user run: {load_average()}", flush=True)
            web_cpu, worker_cpu, db_cpu = (
                cpu_seconds(processes[0].pid),
                cpu_seconds(processes[1].pid),
                mariadb_cpu_seconds(),
            )
            locust_cpu = os.times().children_user + os.times().children_system
            rows = locust(
                env,
                users=users,
                seconds=args.seconds,
                classes=["Merchandiser", "ApiClient", "Ops"],
                prefix=workdir / f"mix{users}",
            )
            print(f"load average after it: {load_average()}", flush=True)
            web_cpu = cpu_seconds(processes[0].pid) - web_cpu
            worker_cpu = cpu_seconds(processes[1].pid) - worker_cpu
            db_cpu = mariadb_cpu_seconds() - db_cpu
            locust_cpu = os.times().children_user + os.times().children_system - locust_cpu
            served = int(rows[-1]["Request Count"]) if rows else 0
            print(
                f"CPU used during the run ({args.seconds} s): gunicorn {web_cpu:.1f} s "
                f"({1000 * web_cpu / max(served, 1):.0f} ms a request over {served} requests), "
                f"RQ worker {worker_cpu:.1f} s, mariadbd {db_cpu:.1f} s (all its clients), locust {locust_cpu:.1f} s",
                flush=True,
            )
            table(rows, f"{users} users")
            window = during_import(workdir / f"mix{users}")
            if window:
                seconds, import_rows = window
                table(import_rows, f"{users} users, the requests sent while the import job ran ({seconds:.0f} s)")
            print(f"import job at the end of the run: {job_report(env)}")
            print(f"import job at its end: {wait_job_end(env)}", flush=True)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        print(f"(logs and locust CSVs in {workdir})")


if __name__ == "__main__":
    main()
