"""A real database-queue worker previews and writes an import job; killed with SIGKILL in the
middle of the write, it leaves nothing half-written; the job then shows "failed: worker lost"
(housekeeping, after the heartbeat timeout) and Retry writes it exactly once.

SQLite by default; MariaDB with DATABASE_URL=mysql://... (see processes.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import MySQLdb

from .processes import MANAGE, base_env, manage, shell

ROWS = 30_000
PREFIX = "KILL-"


def _csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("sku,title,unit_price,inventory,collection\n")
        for n in range(1, ROWS + 1):
            handle.write(f"{PREFIX}{n:06d},Killed worker {n},{n % 900 + 1}.99,{n % 50},Kill\n")
    return path


def _report(job_id: int, env: dict[str, str]) -> dict:
    return json.loads(
        shell(
            "import json; from store.models import ImportJob, Product; "
            f"j = ImportJob.objects.get(pk={job_id}); "
            "print(json.dumps({'status': j.status, 'message': j.message, 'attempt': j.attempt, "
            "'created': j.created_count, 'heartbeat': bool(j.heartbeat_at), "
            f"'products': Product.objects.filter(sku__startswith='{PREFIX}').count()}}))",
            env=env,
        )
    )


def _writing(env: dict[str, str], job_id: int) -> bool:
    """Is a write transaction with rows in it open right now (not yet committed)?"""
    url = env["DATABASE_URL"]
    if url.startswith("sqlite"):
        # Claimed by the worker, and the write lock held on two probes 0.2 s apart (the write
        # of 30k rows holds it for seconds; the queue's own claims hold it for milliseconds).
        probe = sqlite3.connect(urlsplit(url).path, timeout=0)
        try:
            row = probe.execute("SELECT status, heartbeat_at FROM store_importjob WHERE id = ?", [job_id]).fetchone()
            if not row or row[0] != "writing" or row[1] is None:
                return False
            for attempt in range(2):
                try:
                    probe.execute("BEGIN IMMEDIATE")
                    probe.execute("ROLLBACK")
                    return False
                except sqlite3.OperationalError:  # locked: someone holds the write lock
                    time.sleep(0.2 * (1 - attempt))
            return True
        except sqlite3.OperationalError:  # the status read itself met the lock
            return False
        finally:
            probe.close()

    parts = urlsplit(url)
    conn = MySQLdb.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root", password=parts.password or ""
    )
    try:
        cursor = conn.cursor()
        # Rows inserted by the write and not committed yet (a dirty read), while the job is writing.
        name = parts.path.lstrip("/")
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        cursor.execute(f"SELECT COUNT(*) FROM `{name}`.store_product WHERE sku LIKE %s", [f"{PREFIX}%"])
        uncommitted = cursor.fetchone()[0]
        cursor.execute(f"SELECT status FROM `{name}`.store_importjob WHERE id = %s", [job_id])
        return uncommitted > 0 and cursor.fetchone()[0] == "writing"
    finally:
        conn.close()


def test_a_worker_killed_mid_write_writes_nothing_and_retry_writes_once(process_database, tmp_path):
    private = tmp_path / "private"
    env = base_env(
        **process_database,
        TASKS_BACKEND="db",
        PRIVATE_FILES_ROOT=str(private),
        IMPORT_INLINE_MAX_ROWS="5000",
        LOG_LEVEL="WARNING",
    )
    path = _csv(tmp_path / "kill.csv")
    job_id = int(
        shell(
            "from store.models import Collection, Product; from store.importing.jobs import import_job_submit; "
            f"Product.objects.filter(sku__startswith='{PREFIX}').delete(); "
            "Collection.objects.get_or_create(title='Kill'); "
            f"print(import_job_submit(path=__import__('pathlib').Path('{path}'), file_name='kill.csv', user=None).pk)",
            env=env,
        )
    )
    assert _report(job_id, env)["status"] == "queued"  # nothing ran in the submitting process
    manage("run_worker", "--batch", env=env, timeout=600)  # the preview
    assert _report(job_id, env)["status"] == "preview"
    shell(
        f"from store.models import ImportJob; from store.importing.jobs import import_job_confirm; "
        f"import_job_confirm(job=ImportJob.objects.get(pk={job_id})); print('ok')",
        env=env,
    )

    # Its own process group: in development (DEBUG) the worker runs under an autoreloader parent.
    worker = subprocess.Popen(
        [*MANAGE, "run_worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 300
        while not _writing(env, job_id):
            assert worker.poll() is None, "the worker exited before the write started"
            assert time.monotonic() < deadline, "the write never started"
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)  # every process of the worker, mid-transaction
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()

    killed = _report(job_id, env)
    assert killed["status"] == "writing"
    assert killed["heartbeat"]
    assert killed["products"] == 0  # the transaction rolled back: nothing half-written

    output = manage("housekeeping", env={**env, "JOB_HEARTBEAT_TIMEOUT": "0"}).stdout
    assert "1 import job(s)" in output
    lost = _report(job_id, env)
    assert lost["status"] == "failed"
    assert lost["message"].startswith("failed: worker lost")

    shell(
        f"from store.models import ImportJob; from store.importing.jobs import import_job_retry; "
        f"import_job_retry(job=ImportJob.objects.get(pk={job_id}), user=None); print('ok')",
        env=env,
    )
    manage("run_worker", "--batch", env=env, timeout=600)
    done = _report(job_id, env)
    assert (done["status"], done["attempt"], done["created"], done["products"]) == ("succeeded", 2, ROWS, ROWS)
