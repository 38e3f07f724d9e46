"""`make bench-load`: locust, headless, against gunicorn + MariaDB + Redis with 100k products.

    .venv/bin/python bench/load.py                       # 10, 25, 50 users, 90 s each, an import job
    .venv/bin/python bench/load.py --users 25 --seconds 60 --during import bulk export

Uses the MariaDB database of LOAD_DATABASE_URL (default bo_load_bench; seeded with 100k
products if it has fewer, every 20th a draft), Redis databases 6 (queue) and 7 (cache) and
port 8200 (web) unless --redis-dbs and --port say otherwise. Production settings: gunicorn
as gunicorn.conf.py sizes it, one RQ worker at nice 10 (as the Procfile runs it). First
/healthz alone (the stack's ceiling: a trivial view's requests/s), then for each job of
--during and each user count the mix of bench/locustfile.py: the merchandisers, the API
clients and one ops user who runs that write job through the admin during the measurement:

- ``import``: a 100k-row import job (upload, preview by the worker, confirm, write by the
  worker): 100k new products in the first import run (the catalog then has 200k), 100k
  price updates in each later one;
- ``bulk``: "raise price 5%" on every active product (95k) as a bulk edit job ("Select all
  N matching", parameters, preview, Confirm); the merchandisers' list edits go to the drafts
  meanwhile, as the job stops at the first batch holding a product written since its check;
- ``export``: the whole product list's "Export CSV", an export job.

The products of the import runs are deleted at the start and before each bulk or export run,
so those cover the same 100k-product catalog every time.

Prints per run: requests/s, p50/p95/p99/max per endpoint, errors, the job's end-to-end time
(its own created and finished timestamps), and the machine's load average before and after
(a shared machine's other work slows every number here; bench/cpu.py measures CPU per
request instead). Then the same table for the requests sent while the job ran (its window:
from the request that created it, the upload, Confirm or the export link, to its page showing
it ended, or to the end of the run): the load test's target is about those. Its percentiles
are exact (locust's own are rounded to two significant figures).
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
PRODUCTS = 100_000
IMPORT_ROWS = 100_000
# Every DRAFT_EVERY-th seeded product is a draft: the merchandisers' list edits go to those while
# the bulk edit job changes every active product (a job stops at the first batch holding a product
# someone else wrote since its check: the edits would end it within seconds).
DRAFT_EVERY = 20
ACTIVE_PRODUCTS, DRAFT_PRODUCTS = "status__exact=active", "status__exact=draft"
# The ops user's job in each run (bench/locustfile.py, Ops): its model and the list filters it
# covers; the bulk edit's list edits go elsewhere (LOAD_LIST_EDIT_FILTERS).
JOBS = {
    "import": {"model": "ImportJob", "env": {}},
    "bulk": {
        "model": "BulkEditJob",
        "env": {"LOAD_JOB_FILTERS": ACTIVE_PRODUCTS, "LOAD_LIST_EDIT_FILTERS": DRAFT_PRODUCTS},
    },
    "export": {"model": "ExportJob", "env": {}},
}
# What a job's report (job_report) says once it stopped: ended, or an import left at its preview.
STOPPED_STATES = ("succeeded", "failed", "partial", "cancelled", "expired", "preview", "done")


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


def prepare(env: dict[str, str], workdir: Path, redis_dbs: list[int]) -> Path:
    import MySQLdb
    import redis

    conn = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
    name = DATABASE_URL.rsplit("/", 1)[1]
    conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    for db in redis_dbs:
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()
    run([*MANAGE, "migrate", "--noinput", "-v0"], env)
    run([*MANAGE, "createcachetable"], env)
    delete_imported(env)
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
    # The drafts (plain SQL: a setting of the catalog, not an edit to record in its history).
    shell(
        "from django.db import connection; from store.models import Product; "
        "cursor = connection.cursor(); "
        f'cursor.execute(f"UPDATE {{Product._meta.db_table}} SET status = CASE WHEN id % {DRAFT_EVERY} = 0 '
        "THEN 'draft' ELSE 'active' END WHERE sku NOT LIKE 'LOAD-%%'\"); print(cursor.rowcount)",
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


def delete_imported(env: dict[str, str]) -> int:
    """Delete the products the import runs created (no orders, images, promotions or tags point
    at them): plain SQL, as the ORM would write a history row for each of the 100k."""
    return int(
        shell(
            "from django.db import connection; from store.models import Product; "
            "cursor = connection.cursor(); "
            "cursor.execute(f\"DELETE FROM {Product._meta.db_table} WHERE sku LIKE 'LOAD-%%'\"); "
            "print(cursor.rowcount)",
            env,
        )
    )


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
            f"http://{env['GUNICORN_BIND']}",
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


def job_report(env: dict[str, str], job: str) -> str:
    """The latest job of that kind, from its own timestamps (queued to finished)."""
    model = JOBS[job]["model"]
    return shell(
        f"from store.models import {model} as Job; j = Job.objects.order_by('-pk').first(); "
        "print(f'#{j.pk} {j.job_state} rows={j.rows_done}/{j.rows_total} '"
        "+ (f'new={j.created_count} ' if hasattr(j, 'created_count') else '') + "
        "f'time={(j.finished_at - j.created_at).total_seconds() if j.finished_at else None}s' if j else '-')",
        env,
    )


def wait_job_end(env: dict[str, str], job: str, timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = job_report(env, job)
        if any(f" {state} " in report for state in STOPPED_STATES):
            return report
        time.sleep(3)
    return job_report(env, job)


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


def during_job(prefix: Path) -> tuple[str, float, list[dict]] | None:
    """Rows like locust's stats, for the requests that started while the ops user's job ran.

    The job's window is the JOB row of the request log (bench/locustfile.py, Ops): from the
    request that created the job (the import's upload, the bulk edit's Confirm, the export
    link) to its page showing it ended, or to the end of the run if it had not ended by then.
    """
    with open(f"{prefix}_requests.csv", newline="") as handle:
        requests = [
            (float(start), kind, name, float(ms), failed == "1") for start, kind, name, ms, failed in csv.reader(handle)
        ]
    windows = [(start, start + ms / 1000, name) for start, kind, name, ms, _ in requests if kind == "JOB"]
    if not windows:
        return None
    begin, end, window = windows[0]
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
    return window, end - begin, rows


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
        "--during",
        nargs="+",
        choices=list(JOBS),
        default=["import"],
        help="the ops user's job in each run: a run per job and user count (default: import)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=10,
        help="run the RQ worker at this niceness (default 10, as the Procfile does: web requests first)",
    )
    parser.add_argument("--port", type=int, default=8200, help="gunicorn's port on 127.0.0.1 (default 8200)")
    parser.add_argument(
        "--redis-dbs",
        type=int,
        nargs=2,
        default=[6, 7],
        metavar=("QUEUE", "CACHE"),
        help="the Redis databases of the task queue and the cache, flushed first (default 6 7)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    queue_db, cache_db = args.redis_dbs
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "REDIS_URL": f"redis://127.0.0.1:6379/{queue_db}",
        "REDIS_CACHE_URL": f"redis://127.0.0.1:6379/{cache_db}",
        "TASKS_BACKEND": "rq",
        "PRIVATE_FILES_ROOT": str(workdir / "private"),
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "CATALOG_API_ANON_RATE": "1000000/minute",
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "GUNICORN_BIND": f"127.0.0.1:{args.port}",
        "PYTHONUNBUFFERED": "1",
    }
    prepare(env, workdir, args.redis_dbs)
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
        wait_http(f"http://{env['GUNICORN_BIND']}/healthz")
        trivial = locust(env, users=10, seconds=20, classes=["Trivial"], prefix=workdir / "trivial")
        print(
            f"Trivial view (/healthz, 10 users, no wait): {float(trivial[-1]['Requests/s']):.0f} requests/s, "
            f"p50 {trivial[-1]['50%']} ms, {trivial[-1]['Failure Count']} errors",
            flush=True,
        )
        imports = 0
        for number, (job, users) in enumerate((job, users) for job in args.during for users in args.users):
            run_env = {**env, "LOAD_JOB": job, **JOBS[job]["env"]}
            if job == "import":
                run_env["LOAD_IMPORT_FILE"] = str(import_file(workdir, imports))
                imports += 1
            elif delete_imported(env):
                # The bulk edit and the export cover the seeded catalog, as every run of them does.
                print("(the products of the earlier import runs deleted first)", flush=True)
            measure_run(run_env, workdir / f"mix{number}-{job}-{users}", args, job, users, *processes)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        print(f"(logs and locust CSVs in {workdir})")


def measure_run(
    env: dict[str, str], prefix: Path, args: argparse.Namespace, job: str, users: int, *processes: subprocess.Popen
) -> None:
    """One locust run of the mix with ``users`` users while the ops user runs ``job`` (its CSVs
    and request log: ``prefix``_*, one per run, as the request log is appended to)."""
    print(f"\n### {job} job, {users} users", flush=True)
    print(f"load average before the run: {load_average()}", flush=True)
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
        prefix=prefix,
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
    table(rows, f"{users} users, {job} job")
    window = during_job(prefix)
    if window:
        name, seconds, job_rows = window
        table(job_rows, f"{users} users, the requests sent while the {job} job ran ({seconds:.0f} s: {name})")
    print(f"{job} job at the end of the run: {job_report(env, job)}")
    print(f"{job} job at its end: {wait_job_end(env, job)}", flush=True)


if __name__ == "__main__":
    main()
