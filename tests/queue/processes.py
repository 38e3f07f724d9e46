"""Helpers for tests that start real processes (workers, web servers, `make run`'s honcho)
against a database of their own, migrated by a subprocess so every process can reach it.

SQLite: a file in a temporary folder. MariaDB (DATABASE_URL=mysql://...): a database named
after the test database with a suffix (``_procs`` for the queue tests), created and dropped here.
Redis: databases 1-3 of REDIS_TEST_URL (default redis://127.0.0.1:6379). When Redis is not
reachable the test is skipped, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit

import MySQLdb
import pytest
import redis
from django.conf import settings

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**overrides: str) -> dict[str, str]:
    """A clean development environment: nothing leaks in from the test run."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings.dev", PYTHONUNBUFFERED="1", LOG_LEVEL="INFO", TASKS_BACKEND="db"
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*MANAGE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=settings.BASE_DIR
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def shell(code: str, *, env: dict[str, str]) -> str:
    return manage("shell", "-c", code, env=env).stdout.strip().splitlines()[-1]


def mysql_test_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("mysql") else None


@contextmanager
def fresh_database(folder: Path, suffix: str, *, migrate: bool = True) -> Iterator[dict[str, str]]:
    """A database of its own that subprocesses share: {'DATABASE_URL': ...}, migrated (with the
    cache table) unless ``migrate`` is False. SQLite: ``folder``/db.sqlite3. MariaDB: the test
    database's name + ``_<suffix>``, dropped on exit."""
    url = mysql_test_url()
    sqlite = {"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}"}
    with nullcontext(sqlite) if url is None else _mysql_database(url, suffix) as env:
        if migrate:
            manage("migrate", "--noinput", "-v0", env=base_env(**env), timeout=600)  # and the cache table
        yield env


@contextmanager
def _mysql_database(url: str, suffix: str) -> Iterator[dict[str, str]]:
    parts = urlsplit(url)
    name = f"test_{parts.path.lstrip('/')}_{suffix}"
    connect = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }

    def run(sql: str) -> None:
        conn = MySQLdb.connect(**connect)
        conn.cursor().execute(sql)
        conn.close()

    run(f"DROP DATABASE IF EXISTS `{name}`")
    run(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield {"DATABASE_URL": parts._replace(path=f"/{name}").geturl()}
    finally:
        run(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="session")
def process_database(tmp_path_factory):
    """A migrated database (with the cache table) that subprocesses share: {'DATABASE_URL': ...}."""
    with fresh_database(tmp_path_factory.mktemp("procs"), "procs") as env:
        yield env


def redis_url(db: int) -> str:
    """redis://…/<db> for db 1-3, flushed; skips (or fails under CI) when Redis is down."""
    assert db in (1, 2, 3), "this project's tests use Redis databases 1-3 only"

    url = f"{REDIS_TEST_URL}/{db}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is not reachable at {url} under CI: {exc}")
        pytest.skip(f"Redis is not reachable at {url}")
    return url


def wait_for_http(url: str, *, timeout: float = 60, process: subprocess.Popen | None = None) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start_web(env: dict[str, str], request) -> str:
    """A gunicorn (gunicorn.conf.py) on a free port, stopped at the end of the test; its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "backoffice.wsgi"],
        env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    request.addfinalizer(lambda: stop(process))
    base = f"http://127.0.0.1:{port}"
    assert wait_for_http(f"{base}/healthz", process=process) == 200
    return base


def stop(process: subprocess.Popen, *, timeout: float = 20) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def media_root(tmp_path: Path) -> str:
    path = tmp_path / "media"
    path.mkdir(exist_ok=True)
    return str(path)
