"""Two machines, simulated: 2 web processes (gunicorn on two ports) and 2 workers (RQ) on one
MariaDB and one Redis, sharing the private storage folder (an S3 bucket or NFS in production).

    .venv/bin/python bench/two_machines.py            # 20,000 rows

A 20k-row import is uploaded through web A (a job: over IMPORT_INLINE_MAX_ROWS), watched on A
until its preview is ready, confirmed through web B, watched to the end on A. Checks: each
step ran exactly once across both workers (their audit lines), the products are there, and
the cached dashboard (Redis cache) shows the same numbers on A and on B. Prints the timings
and the longest single HTTP request.

Database bo_importjobs_bench (any content; the imported SKUs TWO-* are removed first),
Redis databases 8 (queue) and 9 (cache), ports 8210-8211.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]
DATABASE_URL = "mysql://root@127.0.0.1:3306/bo_importjobs_bench"
PORTS = (8210, 8211)
TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STATE_RE = re.compile(r'data-state="([a-z_]+)"')
KPI_RE = re.compile(r'class="kpi-value">([^<]+)<')


class Browser:
    """One admin user's session; records each request's duration."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.timings: list[tuple[float, str]] = []

    def _secure_off(self) -> None:
        for cookie in self.session.cookies:
            cookie.secure = False

    def call(self, method: str, url: str, **kwargs) -> requests.Response:
        started = time.monotonic()
        response = self.session.request(method, url, timeout=600, **kwargs)
        self.timings.append(((time.monotonic() - started) * 1000, f"{method} {url}"))
        self._secure_off()
        response.raise_for_status()
        return response

    def login(self, base: str) -> None:
        page = self.call("GET", f"{base}/admin/login/")
        self.call(
            "POST",
            f"{base}/admin/login/",
            data={
                "username": "load",
                "password": "load-pass-123",
                "csrfmiddlewaretoken": TOKEN_RE.search(page.text).group(1),
                "next": "/admin/",
            },
        )


def shell(code: str, env: dict[str, str]) -> str:
    result = subprocess.run([*MANAGE, "shell", "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--prefix", default="TWO-")
    args = parser.parse_args()
    import MySQLdb
    import redis

    conn = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
    conn.cursor().execute(
        "CREATE DATABASE IF NOT EXISTS bo_importjobs_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    conn.close()
    for db in (8, 9):
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="bench-two-"))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
        "DATABASE_URL": DATABASE_URL,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "REDIS_URL": "redis://127.0.0.1:6379/8",
        "REDIS_CACHE_URL": "redis://127.0.0.1:6379/9",
        "TASKS_BACKEND": "rq",
        "PRIVATE_FILES_ROOT": str(workdir / "private"),
        "STATIC_ROOT": str(workdir / "static"),
        "LOG_LEVEL": "INFO",
        "WEB_CONCURRENCY": "2",
        "PYTHONUNBUFFERED": "1",
    }
    for command in (["migrate", "--noinput", "-v0"], ["createcachetable"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([*MANAGE, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    collection = shell(
        "from django.contrib.auth import get_user_model; from store.models import Collection, Product; "
        f"Product.objects.filter(sku__startswith='{args.prefix}').delete(); "
        "U = get_user_model(); u = U.objects.filter(username='load').first() or U(username='load'); "
        "u.is_staff = u.is_superuser = True; u.set_password('load-pass-123'); u.save(); "
        "print(Collection.objects.get_or_create(title='Two machines')[0].title)",
        env,
    )
    path = workdir / "two.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "unit_price", "inventory", "collection"])
        for n in range(args.rows):
            writer.writerow([f"{args.prefix}{n:07d}", f"Two machines {n}", f"{5 + n % 300}.50", n % 40, collection])

    processes, logs = [], []
    for port in PORTS:
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "backoffice.wsgi"],
                env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    for n in range(2):
        log = workdir / f"worker{n}.log"
        logs.append(log)
        processes.append(
            subprocess.Popen([*MANAGE, "run_worker"], env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
        )
    a, b = (f"http://127.0.0.1:{port}" for port in PORTS)
    try:
        for base in (a, b):
            for _ in range(120):
                try:
                    requests.get(f"{base}/healthz", timeout=2)
                    break
                except OSError:
                    time.sleep(0.5)
        browser = Browser()
        browser.login(a)
        started = time.monotonic()
        form = browser.call("GET", f"{a}/admin/store/product/import/")
        with path.open("rb") as handle:
            upload = browser.call(
                "POST",
                f"{a}/admin/store/product/import/",
                allow_redirects=False,
                data={"csrfmiddlewaretoken": TOKEN_RE.search(form.text).group(1), "preset": "auto", "encoding": ""},
                files={"file": (path.name, handle, "text/csv")},
            )
        job_path = upload.headers["Location"]
        while True:  # watch on A until the preview is ready
            page = browser.call("GET", f"{a}{job_path}")
            if 'id="import-decide"' in page.text:
                break
            state = STATE_RE.search(page.text)
            if state and state.group(1) in ("failed", "cancelled"):
                sys.exit(f"preview failed: {page.text[-2000:]}")
            time.sleep(1)
        previewed = time.monotonic()
        browser.call(
            "POST",
            f"{b}{job_path}",
            allow_redirects=False,  # confirmed through B
            data={"csrfmiddlewaretoken": TOKEN_RE.search(page.text).group(1), "_confirm": "Confirm import"},
        )
        while True:  # watched to the end on A
            page = browser.call("GET", f"{a}{job_path}")
            state = STATE_RE.search(page.text).group(1)
            if state in ("succeeded", "partial", "failed", "cancelled"):
                break
            time.sleep(1)
        done = time.monotonic()
        time.sleep(2)  # let the workers flush their logs
        output = "".join(log.read_text() for log in logs)
        job_id = job_path.rstrip("/").rsplit("/", 1)[-1]
        previews = len(re.findall(rf"import\.preview .*job_id={job_id}\b", output))
        writes = len(re.findall(rf"import\.confirm .*job_id={job_id}\b", output))
        products = shell(
            f"from store.models import Product; print(Product.objects.filter(sku__startswith='{args.prefix}').count())",
            env,
        )
        dash_a = KPI_RE.findall(browser.call("GET", f"{a}/admin/").text)
        browser_b = Browser()
        browser_b.login(b)
        dash_b = KPI_RE.findall(browser_b.call("GET", f"{b}/admin/").text)
        longest = max(browser.timings)
        print(f"{args.rows:,}-row import: uploaded on A ({a}), confirmed on B ({b}), watched on A")
        print(f"  final state: {state}; products written: {products}")
        print(
            f"  upload -> preview ready: {previewed - started:.1f} s; confirm -> done: {done - previewed:.1f} s; "
            f"upload to done: {done - started:.1f} s"
        )
        print(f"  preview steps run by the 2 workers: {previews}; write steps: {writes} (each must be 1)")
        print(f"  dashboard KPIs on A: {dash_a}; on B: {dash_b}; agree: {dash_a == dash_b}")
        print(f"  HTTP requests: {len(browser.timings)}; longest: {longest[0]:.0f} ms ({longest[1]})")
        ok = state == "succeeded" and int(products) == args.rows and previews == 1 and writes == 1 and dash_a == dash_b
        print("RESULT:", "OK" if ok else "FAILED")
        if not ok:
            sys.exit(1)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
