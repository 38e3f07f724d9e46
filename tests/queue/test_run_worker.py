"""``run_worker`` is the worker: under DEBUG (development settings) it runs no autoreloader
parent unless asked with --reload, so the PID a supervisor starts and signals is the worker."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .processes import MANAGE, base_env


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux's /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    """``run_worker`` in a session of its own, once its worker loop has started (it logs it)."""
    worker = subprocess.Popen(
        [*MANAGE, "run_worker", "--interval", "0.2", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert worker.stdout is not None
    deadline = time.monotonic() + 60
    for line in worker.stdout:
        if "Starting worker" in line:
            return worker
        assert time.monotonic() < deadline, "the worker never started"
    raise AssertionError(f"run_worker exited ({worker.wait()}) before its worker started")


@pytest.mark.parametrize(("args", "reloader"), [((), False), (("--reload",), True)])
def test_under_debug_the_started_pid_is_the_worker_unless_reload_is_asked(process_database, args, reloader):
    env = base_env(**process_database, TASKS_BACKEND="db")  # development settings: DEBUG on
    worker = start_worker(env, *args)
    try:
        assert bool(children(worker.pid)) is reloader
        if not reloader:
            worker.terminate()  # what a supervisor sends to the PID it started
            assert worker.wait(timeout=30) == 0  # a clean shutdown of the worker loop
            assert not group_alive(worker.pid)  # and no worker left running behind it
    finally:
        if group_alive(worker.pid):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
