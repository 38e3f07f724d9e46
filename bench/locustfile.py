"""Load test: a day in the back-office (locust). `make bench-load` runs it (bench/load.py).

- Merchandisers (most users): browse, filter, search and list-edit the product changelist,
  open product pages.
- One ops user: uploads a 100k-row CSV (LOAD_IMPORT_FILE) as an import job, watches its
  page, confirms the preview, watches it to the end, then stays idle.
- API clients: poll /api/products/ with If-None-Match (a 304 is a success).

Logs in as LOAD_USER / LOAD_PASSWORD. Runs against a production-settings gunicorn over
plain HTTP on 127.0.0.1, so the Secure flag of the session cookies is dropped client-side.

With LOAD_REQUEST_LOG set, every request is also appended to that CSV file (start time,
type, name, response time in ms, failed), and the import job's whole life as one row of
type JOB: bench/load.py reads it to report the requests served while the import ran.
"""

from __future__ import annotations

import csv
import os
import random
import re
import time

from locust import HttpUser, between, events, task

USER = os.environ.get("LOAD_USER", "load")
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-pass-123")
IMPORT_FILE = os.environ.get("LOAD_IMPORT_FILE", "")
COLLECTIONS = int(os.environ.get("LOAD_COLLECTIONS", "10"))
CHANGELIST = "/admin/store/product/"
TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
INPUT_RE = re.compile(r'<input[^>]*?name="((?:initial-)?form-[^"]+)"[^>]*?>')
VALUE_RE = re.compile(r'value="([^"]*)"')
PRODUCT_LINK_RE = re.compile(r'href="(/admin/store/product/(\d+)/change/)[^"]*"')
WORDS = ["shirt", "blue", "steel", "organic", "lamp", "wood", "classic", "mini", "pro", "set"]
REQUEST_LOG = os.environ.get("LOAD_REQUEST_LOG", "")

if REQUEST_LOG:
    _request_log = csv.writer(open(REQUEST_LOG, "a", newline="", buffering=1))  # noqa: SIM115 (open for the run)

    @events.request.add_listener
    def _log_request(request_type, name, response_time, exception=None, start_time=None, **kwargs) -> None:
        started = start_time if start_time is not None else time.time() - response_time / 1000
        _request_log.writerow(
            [f"{started:.3f}", request_type, name, f"{response_time:.1f}", int(exception is not None)]
        )


def _insecure_cookies(client) -> None:
    """Send the session's Secure cookies over the plain-HTTP loopback (TLS ends at a proxy in
    production): clear the flag of every cookie after every request."""
    send = client.request

    def request(*args, **kwargs):
        response = send(*args, **kwargs)
        for cookie in client.cookies:
            cookie.secure = False
        return response

    client.request = request


def _login(user: HttpUser) -> None:
    _insecure_cookies(user.client)
    page = user.client.get("/admin/login/", name="login")
    token = TOKEN_RE.search(page.text).group(1)
    user.client.post(
        "/admin/login/",
        name="login",
        data={"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/admin/"},
    )


class Merchandiser(HttpUser):
    weight = 8
    wait_time = between(1, 3)

    def on_start(self) -> None:
        _login(self)
        self.product_ids: list[str] = []

    def _changelist(self, query: str, name: str):
        response = self.client.get(f"{CHANGELIST}?{query}" if query else CHANGELIST, name=name)
        ids = [match.group(2) for match in PRODUCT_LINK_RE.finditer(response.text)]
        if ids:
            self.product_ids = ids
        return response

    @task(4)
    def browse(self) -> None:
        self._changelist(f"p={random.randint(1, 50)}", "changelist: page")

    @task(3)
    def filter(self) -> None:
        self._changelist(f"collection__pk__exact={random.randint(1, COLLECTIONS)}", "changelist: filter")

    @task(3)
    def search(self) -> None:
        self._changelist(f"q={random.choice(WORDS)}", "changelist: search")

    @task(3)
    def product_page(self) -> None:
        if not self.product_ids:
            self.browse()
        if self.product_ids:
            self.client.get(f"{CHANGELIST}{random.choice(self.product_ids)}/change/", name="product page")

    @task(1)
    def list_edit(self) -> None:
        """Change one row's inventory in the changelist and save (list_editable)."""
        page = self._changelist(f"p={random.randint(51, 100)}", "changelist: page")
        token = TOKEN_RE.search(page.text)
        if not token:
            return
        data = {"csrfmiddlewaretoken": token.group(1), "_save": "Save"}
        for match in INPUT_RE.finditer(page.text):
            tag, name = match.group(0), match.group(1)
            value = VALUE_RE.search(tag)
            if 'type="checkbox"' in tag and "checked" not in tag:
                continue
            data[name] = value.group(1) if value else ""
        inventory = [name for name in data if name.endswith("-inventory")]
        if not inventory:
            return
        data[random.choice(inventory)] = str(random.randint(0, 500))
        with self.client.post(
            f"{CHANGELIST}?{page.url.split('?', 1)[1]}",
            data=data,
            name="changelist: list edit",
            catch_response=True,
            allow_redirects=False,
        ) as response:
            if response.status_code != 302:
                response.failure(f"list edit not saved: {response.status_code}")


class ApiClient(HttpUser):
    weight = 2
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.etags: dict[str, str] = {}

    @task
    def poll(self) -> None:
        path = random.choice(["/api/products/", "/api/products/?page=2", "/api/collections/"])
        headers = {"If-None-Match": self.etags[path]} if path in self.etags else {}
        with self.client.get(path, headers=headers, name=f"api {path.split('?')[0]}", catch_response=True) as response:
            if response.status_code in (200, 304):
                if response.headers.get("ETag"):
                    self.etags[path] = response.headers["ETag"]
                response.success()
            else:
                response.failure(f"status {response.status_code}")


class Ops(HttpUser):
    """One user: a 100k-row import job, uploaded, watched, confirmed, watched to the end."""

    fixed_count = 1
    wait_time = between(2, 2)

    def on_start(self) -> None:
        _login(self)
        self.job_url = ""
        self.finished = not IMPORT_FILE
        self.started = 0.0

    @task
    def import_job(self) -> None:
        if self.finished:
            return
        if not self.job_url:
            form = self.client.get("/admin/store/product/import/", name="import: form")
            self.started = time.time()
            with open(IMPORT_FILE, "rb") as handle:
                response = self.client.post(
                    "/admin/store/product/import/",
                    name="import: upload",
                    allow_redirects=False,
                    data={"csrfmiddlewaretoken": TOKEN_RE.search(form.text).group(1), "preset": "auto", "encoding": ""},
                    files={"file": (os.path.basename(IMPORT_FILE), handle, "text/csv")},
                )
            self.job_url = response.headers.get("Location", "")
            if not self.job_url:
                self.finished = True
            return
        page = self.client.get(self.job_url, name="import: job page")
        state = re.search(r'data-state="([a-z_]+)"', page.text)
        if 'id="import-decide"' in page.text:  # the preview is ready
            token = TOKEN_RE.search(page.text).group(1)
            self.client.post(
                self.job_url,
                name="import: confirm",
                allow_redirects=False,
                data={"csrfmiddlewaretoken": token, "_confirm": "Confirm import"},
            )
        elif state and state.group(1) in ("succeeded", "partial", "failed", "cancelled", "expired"):
            self.finished = True
            events.request.fire(
                request_type="JOB",
                name=f"import job {state.group(1)} (upload to end)",
                response_time=(time.time() - self.started) * 1000,
                response_length=0,
                exception=None if state.group(1) == "succeeded" else Exception(state.group(1)),
                context={},
                start_time=self.started,
            )


class Trivial(HttpUser):
    """Not in the mix: bench/load.py runs it alone to measure the stack's ceiling (/healthz)."""

    wait_time = between(0, 0)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="trivial /healthz")
