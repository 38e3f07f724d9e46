"""A real worker process runs an export job end to end, on each queue engine:
the database queue (SQLite, or MariaDB with DATABASE_URL) and RQ on Redis."""

from __future__ import annotations

import json
import subprocess

import pytest

from .processes import MANAGE, base_env, manage, media_root, redis_url, shell


def run_export_through_a_worker(env: dict[str, str], *, products: int = 30) -> dict:
    job_id = shell(f"from tests.queue.scenario import enqueue_export; enqueue_export(products={products})", env=env)
    queued = json.loads(shell(f"from tests.queue.scenario import job_report; job_report({job_id})", env=env))
    assert queued["state"] == "queued"
    assert queued["task_id"]
    worker = manage("run_worker", "--batch", env=env, timeout=300)
    report = json.loads(shell(f"from tests.queue.scenario import job_report; job_report({job_id})", env=env))
    return {**report, "worker_output": worker.stdout + worker.stderr}


def test_database_worker_runs_an_export_job(process_database, tmp_path):
    env = base_env(**process_database, TASKS_BACKEND="db", MEDIA_ROOT=media_root(tmp_path))
    report = run_export_through_a_worker(env)
    assert "Worker: database queue" in report["worker_output"]
    # the changelist as filtered (inventory >= 10), in its default order (title)
    assert (report["state"], report["rows_done"], report["rows_total"]) == ("done", 20, 20), report
    assert report["lines"] == 21
    assert report["first"].startswith("W-00010,")


def test_rq_worker_runs_an_export_job(process_database, tmp_path):
    env = base_env(**process_database, TASKS_BACKEND="rq", REDIS_URL=redis_url(2), MEDIA_ROOT=media_root(tmp_path))
    report = run_export_through_a_worker(env)
    assert "Worker: RQ on Redis" in report["worker_output"]
    assert (report["state"], report["rows_done"], report["rows_total"]) == ("done", 20, 20), report
    assert report["lines"] == 21


@pytest.mark.parametrize("backend", ["db", "rq"])
def test_each_job_runs_once_with_two_workers(process_database, tmp_path, backend):
    extra = {"REDIS_URL": redis_url(3)} if backend == "rq" else {}
    env = base_env(**process_database, TASKS_BACKEND=backend, MEDIA_ROOT=media_root(tmp_path), **extra)
    job_ids = [
        shell("from tests.queue.scenario import enqueue_export; enqueue_export(products=30)", env=env) for _ in range(3)
    ]
    workers = [
        subprocess.Popen(
            [*MANAGE, "run_worker", "--batch"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    output = "".join(worker.communicate(timeout=300)[0] for worker in workers)
    for job_id in job_ids:
        report = json.loads(shell(f"from tests.queue.scenario import job_report; job_report({job_id})", env=env))
        assert (report["state"], report["rows_done"]) == ("done", 20), report
        # Written once: one "export" audit line (rows=…) per job across both workers.
        assert output.count(f"job_id={job_id} model='store.product' rows=20") == 1, output


def test_database_worker_runs_a_bulk_edit_job(process_database, tmp_path):
    """ "Select all N matching" + raise price 5%, queued by the web side, written by a real worker."""
    env = base_env(**process_database, TASKS_BACKEND="db", MEDIA_ROOT=media_root(tmp_path))
    job_id = shell("from tests.queue.scenario import enqueue_bulk_edit; enqueue_bulk_edit(products=30)", env=env)
    queued = json.loads(
        shell(f"from tests.queue.scenario import bulk_edit_report; bulk_edit_report({job_id})", env=env)
    )
    assert queued["state"] == "queued"
    assert queued["task_id"]
    assert queued["changed"] == 0

    manage("run_worker", "--batch", env=env, timeout=300)

    report = json.loads(
        shell(f"from tests.queue.scenario import bulk_edit_report; bulk_edit_report({job_id})", env=env)
    )
    assert (report["state"], report["rows_done"], report["rows_total"], report["changed"]) == ("done", 20, 20, 20)
    assert (report["history"], report["prices"], report["untouched"]) == (20, ["5.25"], ["5.00"]), report
