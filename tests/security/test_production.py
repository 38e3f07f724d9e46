"""Production settings: the deploy checklist, static files, and gunicorn serving the admin."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


def prod_env(**overrides: str) -> dict[str, str]:
    """A clean production environment (nothing leaks in from the test run, e.g. the e2e
    tests' DJANGO_ALLOW_ASYNC_UNSAFE or a DATABASE_URL)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings.prod",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.com",
        LOG_LEVEL="WARNING",
    )
    env.update(overrides)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, cwd=settings.BASE_DIR)


def test_check_deploy_finds_no_issues():
    result = run([*MANAGE, "check", "--deploy"], prod_env())

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_check_deploy_does_flag_a_weak_secret_key():
    """The check above can fail: a short key is reported."""
    result = run([*MANAGE, "check", "--deploy"], prod_env(SECRET_KEY="too-short"))

    assert "security.W009" in result.stderr + result.stdout


def test_prod_refuses_to_start_without_a_secret_key():
    env = prod_env()
    del env["SECRET_KEY"]

    result = run([*MANAGE, "check"], env)

    assert result.returncode != 0
    assert "SECRET_KEY must be set in the environment for production" in result.stderr


def test_prod_reads_its_settings_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS, s.DATABASES['default']['NAME'], "
        "s.DATABASES['default']['ENGINE'], s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.X_FRAME_OPTIONS, "
        "s.STORAGES['staticfiles']['BACKEND'], s.AXES_ENABLED)"
    )
    env = prod_env(
        ALLOWED_HOSTS="admin.example.com,.example.org",
        CSRF_TRUSTED_ORIGINS="https://admin.example.com",
        DATABASE_URL="mysql://shop:pw@db.internal:3306/backoffice",
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )

    result = run([sys.executable, "-c", code], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == (
        "['admin.example.com', '.example.org'] ['https://admin.example.com'] backoffice "
        "django.db.backends.mysql ('HTTP_X_FORWARDED_PROTO', 'https') True True True 31536000 DENY "
        "whitenoise.storage.CompressedManifestStaticFilesStorage True"
    )


def test_whitenoise_serves_static_files_without_collectstatic(client):
    response = client.get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert "whitenoise" in type(response).__module__
    assert b"".join(response.streaming_content).startswith(b"/*")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_serves_the_admin_and_hashed_static_files(tmp_path):
    env = prod_env(
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO",
    )
    collect = run([*MANAGE, "collectstatic", "--noinput", "-v0", "--ignore", "drf_spectacular_sidecar"], env)
    assert collect.returncode == 0, collect.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "backoffice.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        page = fetch(f"http://127.0.0.1:{port}/admin/login/", {"X-Forwarded-Proto": "https"})
        assert page.status == 200
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert page.headers["X-Frame-Options"] == "DENY"
        assert "Secure" in page.headers["Set-Cookie"]
        html = page.read().decode()
        css = html.split('href="/static/admin/css/base.')[1].split('"')[0]
        static = fetch(f"http://127.0.0.1:{port}/static/admin/css/base.{css}", {"X-Forwarded-Proto": "https"})
        assert static.status == 200
        assert "immutable" in static.headers["Cache-Control"]
        with pytest.raises(urllib.error.HTTPError) as redirect:  # plain HTTP goes to HTTPS
            fetch(f"http://127.0.0.1:{port}/admin/login/", {}, follow=False)
        assert redirect.value.code == 301
        assert redirect.value.headers["Location"] == f"https://127.0.0.1:{port}/admin/login/"
    finally:
        server.terminate()
        server.wait(timeout=30)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, headers: dict[str, str], follow: bool = True):
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers)
    for _ in range(60):  # the server is starting: retry until it accepts connections
        try:
            return opener.open(request, timeout=10)
        except urllib.error.URLError as error:
            if isinstance(error, urllib.error.HTTPError):
                raise
            time.sleep(0.25)
    raise AssertionError(f"gunicorn did not answer on {url}")


def test_audit_events_go_to_their_own_file_when_configured(tmp_path):
    log_file = tmp_path / "audit.log"
    code = (
        "import django; django.setup(); from store.audit import audit_event; "
        "audit_event('auth.locked_out', username='merch', ip='203.0.113.9')"
    )

    result = run([sys.executable, "-c", code], prod_env(AUDIT_LOG_FILE=str(log_file)))

    assert result.returncode == 0, result.stderr
    assert log_file.read_text().endswith(" AUDIT auth.locked_out user=- ip='203.0.113.9' username='merch'\n")
    assert "auth.locked_out" not in result.stderr
