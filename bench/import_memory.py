"""Peak memory of a max-size product import: the CLI (dry run and real) and a gunicorn web worker.

    .venv/bin/python bench/import_memory.py                  # 490,000 rows, ~48 MB, SQLite in a temp dir
    .venv/bin/python bench/import_memory.py --rows 100000 --skip-cli

The CLI runs under ``/usr/bin/time -v`` (maximum resident set size). The admin path
runs in one gunicorn sync worker on 127.0.0.1:8110: log in, upload (preview),
open the preview page, confirm; the worker's VmHWM (peak) and VmRSS (after the
requests) come from /proc. Target: <= 400 MB peak, and memory released after
the request.
"""

from __future__ import annotations

import argparse
import csv
import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PORT = 8110
COLLECTIONS = [f"Bench collection {i:02d}" for i in range(20)]


def generate(path: Path, rows: int) -> None:
    """Native CSV, ~98 bytes a row: 490,000 rows are 48 MB, under the 50 MB upload limit."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "title", "slug", "description", "unit_price", "inventory", "collection"])
        for i in range(rows):
            writer.writerow(
                [
                    f"BENCH-{i:07d}",
                    f"Bench product {i}",
                    f"bench-product-{i}",
                    f"Row {i}",
                    f"{10 + i % 990}.{i % 100:02d}",
                    i % 500,
                    COLLECTIONS[i % len(COLLECTIONS)],
                ]
            )


def cli_peak_mb(env: dict, csv_path: Path, *extra: str) -> tuple[float, str]:
    manage = [PYTHON, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    run = subprocess.run(
        ["/usr/bin/time", "-v", *manage, "import_products", str(csv_path), *extra],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1)) / 1024
    last = [line for line in run.stdout.splitlines() if line.strip()][-1]
    return peak, last


def proc_mb(pid: int, field: str) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) / 1024


def multipart(fields: dict[str, str], file_field: str, file_path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{file_path.name}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
    )
    parts.append(file_path.read_bytes())
    parts.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def admin_memory(env: dict, csv_path: Path) -> dict[str, float]:
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    subprocess.run(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            "User.objects.filter(username='bench').exists() or "
            "User.objects.create_superuser('bench', 'b@example.com', 'bench-pw-1')",
        ],
        env=env,
        cwd=ROOT,
        check=True,
    )
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "backoffice.wsgi", "-w", "1", "--timeout", "1800", "-b", f"127.0.0.1:{PORT}"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{PORT}"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        for _ in range(100):
            try:
                opener.open(f"{base}/admin/login/")
                break
            except OSError:
                time.sleep(0.2)
        worker = int(subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()[0])

        def csrf() -> str:
            return next(cookie.value for cookie in jar if cookie.name == "csrftoken")

        def post(url: str, data: bytes, content_type: str):
            request = urllib.request.Request(
                base + url,
                data=data,
                headers={"Content-Type": content_type, "X-CSRFToken": csrf(), "Referer": base + url},
            )
            return opener.open(request)

        login = urllib.parse.urlencode(
            {"username": "bench", "password": "bench-pw-1", "next": "/admin/", "csrfmiddlewaretoken": csrf()}
        ).encode()
        post("/admin/login/", login, "application/x-www-form-urlencoded")
        opener.open(f"{base}/admin/store/product/import/")
        idle = proc_mb(worker, "VmRSS")
        body, content_type = multipart({"preset": "auto", "csrfmiddlewaretoken": csrf()}, "file", csv_path)
        response = post("/admin/store/product/import/", body, content_type)
        preview_url = urllib.parse.urlparse(response.geturl()).path
        assert re.search(r"/import/\d+/$", preview_url), preview_url
        after_preview = proc_mb(worker, "VmRSS")
        opener.open(base + preview_url + "?page=2").read()
        after_page = proc_mb(worker, "VmRSS")
        confirm = urllib.parse.urlencode({"_confirm": "1", "csrfmiddlewaretoken": csrf()}).encode()
        post(preview_url, confirm, "application/x-www-form-urlencoded").read()
        return {
            "idle": idle,
            "after_preview": after_preview,
            "after_page": after_page,
            "after_confirm": proc_mb(worker, "VmRSS"),
            "peak": proc_mb(worker, "VmHWM"),
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=490_000)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-admin", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-memory-"))
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, workdir: Path) -> None:
    csv_path = workdir / "products.csv"
    generate(csv_path, args.rows)
    print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB")

    def env_for(name: str) -> dict:
        database = workdir / f"{name}.sqlite3"
        database.unlink(missing_ok=True)
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "backoffice.settings.test",
            "DATABASE_URL": f"sqlite:///{database}",
            "PRIVATE_FILES_ROOT": str(workdir / "files"),
        }

    if not args.skip_cli:
        peak, last = cli_peak_mb(env_for("dry"), csv_path, "--dry-run")
        print(f"CLI --dry-run: peak RSS {peak:.0f} MB  ({last})")
        peak, last = cli_peak_mb(env_for("real"), csv_path)
        print(f"CLI import:    peak RSS {peak:.0f} MB  ({last})")
    if not args.skip_admin:
        admin = admin_memory(env_for("admin"), csv_path)
        print("admin (gunicorn worker): " + ", ".join(f"{key} {value:.0f} MB" for key, value in admin.items()))


if __name__ == "__main__":
    main()
