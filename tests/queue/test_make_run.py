"""`make run`'s last command (honcho with Procfile.dev) starts the dev server and a worker
together, the worker runs queued tasks, and one Ctrl-C stops both."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from .processes import base_env, free_port, media_root, shell, wait_for_http


def make_run_command(addr: str) -> str:
    """The line `make run` ends with, as make itself prints it (make -n)."""
    result = subprocess.run(
        ["make", "-n", "run", f"ADDR={addr}"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env=base_env(),
    )
    [line] = [line for line in result.stdout.splitlines() if "honcho" in line]
    return line


def start(command: str, env: dict[str, str]) -> subprocess.Popen:
    """`make run`'s honcho line in a process group of its own (Ctrl-C reaches the whole group)."""
    return subprocess.Popen(
        command,
        shell=True,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_make_run_serves_runs_a_worker_and_stops_on_ctrl_c(process_database, tmp_path):
    addr = f"127.0.0.1:{free_port()}"
    command = make_run_command(addr)
    assert command.endswith("honcho --procfile Procfile.dev start")
    env = base_env(**process_database, MEDIA_ROOT=media_root(tmp_path))
    process = start(command, env)
    try:
        assert wait_for_http(f"http://{addr}/healthz", process=process, timeout=90) == 200
        # The worker beside it picks up a queued export.
        job_id = shell("from tests.queue.scenario import enqueue_export; enqueue_export(products=12)", env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            report = json.loads(shell(f"from tests.queue.scenario import job_report; job_report({job_id})", env=env))
            if report["state"] not in ("queued", "running"):
                break
            time.sleep(1)
        assert report["state"] == "done", report
        assert report["rows_done"] == report["rows_total"] > 0, report
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole group
        output, _ = process.communicate(timeout=60)
    assert process.returncode is not None
    assert "web.1" in output
    assert "worker.1" in output
    assert "Worker: database queue" in output
    assert "stopped (rc=" in output or "exited with code" in output
    # Nothing keeps listening after Ctrl-C.
    assert subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True).stdout == b""


def test_production_procfile_starts_web_worker_and_scheduler(process_database, tmp_path):
    """The Procfile's three processes start with the production settings and stop together."""
    port = free_port()
    env = base_env(
        **process_database,
        DJANGO_SETTINGS_MODULE="backoffice.settings.prod",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        MEDIA_ROOT=media_root(tmp_path),
    )
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # `python` and `gunicorn` of this venv
    honcho = str(Path(sys.executable).parent / "honcho")
    process = subprocess.Popen(
        [honcho, "--procfile", "Procfile", "start"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process, timeout=90) == 200
        assert wait_for_http(f"http://127.0.0.1:{port}/readyz", process=process) == 200
        time.sleep(3)  # let the worker and the scheduler print their first lines
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert "Worker: database queue" in output
    assert "expired export file(s) removed" in output
    assert "scheduler.1" in output
    assert '"GET /healthz HTTP/1.1" 200' in output  # gunicorn's access log on stdout
    assert subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True).stdout == b""


def test_make_run_starts_a_failed_worker_again_and_keeps_serving(process_database, tmp_path):
    """A worker that stops with an error (here: a queue that has no worker; in development, a
    code change that does not import) is started again, and the dev server keeps serving."""
    addr = f"127.0.0.1:{free_port()}"
    env = base_env(
        **process_database, MEDIA_ROOT=media_root(tmp_path), TASKS_BACKEND="immediate", WORKER_RESTART_SECONDS="1"
    )
    process = start(make_run_command(addr), env)
    try:
        assert wait_for_http(f"http://{addr}/healthz", process=process, timeout=90) == 200
        time.sleep(8)  # the worker fails within a few seconds of each start
        assert process.poll() is None, "honcho stopped: the failed worker took the server down"
        assert wait_for_http(f"http://{addr}/healthz", process=process) == 200
    finally:
        with contextlib.suppress(ProcessLookupError):  # honcho may have stopped already
            os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert output.count("The worker stopped with an error; starting it again in 1 s.") >= 2, output
    assert "there is no worker to start" in output
    assert subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True).stdout == b""
