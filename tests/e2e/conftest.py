"""Browser journeys: Playwright driving Debian's Chromium, against the app as `make run` serves
it (``make_run``) or against Django's live server with the test settings (``live_server``).

`playwright install` cannot download browsers here, so we launch /usr/bin/chromium
(`make test` installs the `chromium` package when it is missing).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, sync_playwright

from tests.queue.processes import base_env, free_port, fresh_database, shell, wait_for_http

# Playwright's sync API runs an event loop; the live-server tests still touch the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/system-deps browser installs it.")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def admin_page(page, live_server, admin_user):
    """A browser page logged in to the admin as a superuser (pytest-django's admin_user)."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
    return page


@pytest.fixture
def screenshot(tmp_path):
    """Save a PNG: under docs/screenshots/ (the README shows them) when UPDATE_SCREENSHOTS=1,
    else in the test's temporary folder, so a plain test run leaves the work tree clean."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path

    def take(page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        # The make-run app's debug toolbar handle is no part of the pictures.
        page.evaluate("document.getElementById('djDebugRoot')?.style.setProperty('display', 'none')")
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


# --- The app as `make run` serves it -----------------------------------------------------

PASSWORD = "journeys-password"  # the role users' (tests/e2e/scenario.py); the demo admin's is "admin"
# Small enough that the journeys' exports and bulk edits of a few rows cross them.
MAKE_RUN_SETTINGS = {"EXPORT_INLINE_MAX_ROWS": "100", "BULK_INLINE_MAX": "5"}


@dataclass(frozen=True)
class MakeRunApp:
    url: str
    env: dict[str, str]
    log: Path

    def call(self, function: str, **kwargs: Any) -> Any:
        """``tests.e2e.scenario.<function>(**kwargs)`` in `manage.py shell` on the app's database;
        the JSON it prints."""
        code = f"import json; from tests.e2e import scenario; scenario.{function}(**json.loads({json.dumps(kwargs)!r}))"
        return json.loads(shell(code, env=self.env))

    def login(self, page: Page, username: str, password: str = PASSWORD) -> Page:
        page.goto(f"{self.url}/admin/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_selector("#user-tools")
        return page


def make_run_lines(addr: str) -> tuple[list[str], str]:
    """What `make run` runs, as make itself prints it (make -n), less the installation steps:
    the manage.py commands of `make demo`, and the honcho line that serves and runs the worker."""
    result = subprocess.run(
        ["make", "-n", "run", f"ADDR={addr}"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env=base_env(),
        check=True,
    )
    lines = result.stdout.splitlines()
    [honcho] = [line for line in lines if "honcho" in line]
    return [line for line in lines if " manage.py " in line], honcho


@pytest.fixture(scope="session")
def make_run(tmp_path_factory) -> Iterator[MakeRunApp]:
    """The app as `make run` serves it, shared by the session's journeys: the dev settings (DEBUG,
    the debug toolbar shown to 127.0.0.1), `make demo`'s commands on a fresh database (a SQLite
    file, as `make run`; on the MariaDB pass, a MariaDB database of its own), then honcho with
    Procfile.dev: runserver and a real worker on the database queue."""
    folder = tmp_path_factory.mktemp("make-run")
    addr = f"127.0.0.1:{free_port()}"
    commands, honcho = make_run_lines(addr)
    with fresh_database(folder, "makerun", migrate=False) as database:
        env = base_env(
            **database,
            **MAKE_RUN_SETTINGS,
            MEDIA_ROOT=str(folder / "media"),
            PRIVATE_FILES_ROOT=str(folder / "private"),
        )
        for command in commands:
            done = subprocess.run(
                command, shell=True, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=600
            )
            assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
        app = MakeRunApp(url=f"http://{addr}", env=env, log=folder / "make-run.log")
        assert app.call("setup_users") == {"toolbar": True}, (
            "the debug toolbar is not installed (requirements-test.txt)"
        )
        with app.log.open("w") as log:
            process = subprocess.Popen(
                honcho,
                shell=True,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            assert wait_for_http(f"{app.url}/healthz", process=process, timeout=90) == 200
            yield app
        finally:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as in the terminal
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def make_run_logins(make_run, browser) -> Callable[[str], Any]:
    """``logged_in(username)``: the browser state (cookies) of a session of that user on the
    make-run app; each user logs in once per test session (a login hashes a password: ~0.5 s)."""
    states: dict[str, Any] = {}

    def logged_in(username: str) -> Any:
        if username not in states:
            context = browser.new_context()
            make_run.login(context.new_page(), username)
            states[username] = context.storage_state()
            context.close()
        return states[username]

    return logged_in


def make_run_page(browser, make_run: MakeRunApp, storage_state: Any) -> Iterator[Page]:
    """A fresh browser context on the make-run app (no toolbar cookie: the toolbar starts in its
    default state). The test fails if any response the browser got was a server error."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, storage_state=storage_state)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on(
        "response",
        lambda response: errors.append(f"{response.status} {response.url}") if response.status >= 500 else None,
    )
    yield page
    context.close()
    assert not errors, f"server errors (the dev server's log: {make_run.log}): {errors}"


@pytest.fixture
def merchandiser(browser, make_run, make_run_logins) -> Iterator[Page]:
    """A page of the make-run app, logged in as a user of the Merchandiser role."""
    yield from make_run_page(browser, make_run, make_run_logins("merchandiser"))


@pytest.fixture
def importer(browser, make_run, make_run_logins) -> Iterator[Page]:
    """A page of the make-run app, logged in as a user of the Importer role."""
    yield from make_run_page(browser, make_run, make_run_logins("importer"))
