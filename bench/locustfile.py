"""Load test: a day in the back-office (locust). `make bench-load` runs it (bench/load.py).

- Merchandisers (most users): browse, filter, search and list-edit the product changelist,
  open product pages.
- One ops user: runs one write job (LOAD_JOB: import, bulk or export; default import)
  through the admin and watches its page to the end, then stays idle (``Ops``).
- API clients: poll /api/products/ with If-None-Match (a 304 is a success).

Logs in as LOAD_USER / LOAD_PASSWORD. Runs against a production-settings gunicorn over
plain HTTP on 127.0.0.1, so the Secure flag of the session cookies is dropped client-side.

With LOAD_REQUEST_LOG set, every request is also appended to that CSV file (start time,
type, name, response time in ms, failed), and the job's window as one row of type JOB
(from the request that created the job to its page showing it ended, or to the end of the
run): bench/load.py reads it to report the requests served while the job ran.

LOAD_LIST_EDIT_FILTERS: the list the merchandisers' list edits page through (default: pages
51-100 of the whole list). bench/load.py points them at products a bulk edit job leaves out,
as such a job stops at the first batch holding a product written by someone else meanwhile.
"""

from __future__ import annotations

import csv
import html
import os
import random
import re
import time
from urllib.parse import urlencode

from locust import HttpUser, between, events, task

USER = os.environ.get("LOAD_USER", "load")
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-pass-123")
JOB = os.environ.get("LOAD_JOB", "import")
IMPORT_FILE = os.environ.get("LOAD_IMPORT_FILE", "")
JOB_FILTERS = os.environ.get("LOAD_JOB_FILTERS", "")
LIST_EDIT_FILTERS = os.environ.get("LOAD_LIST_EDIT_FILTERS", "")
COLLECTIONS = int(os.environ.get("LOAD_COLLECTIONS", "10"))
CHANGELIST = "/admin/store/product/"
TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
INPUT_RE = re.compile(r'<input[^>]*?name="((?:initial-)?form-[^"]+)"[^>]*?>')
VALUE_RE = re.compile(r'value="([^"]*)"')
PRODUCT_LINK_RE = re.compile(r'href="(/admin/store/product/(\d+)/change/)[^"]*"')
SELECTED_RE = re.compile(r'name="_selected_action" value="(\d+)"')
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
# A job page's data-state once the job ended: import jobs' own states, then the other jobs'.
ENDED_STATES = ("succeeded", "partial", "failed", "cancelled", "expired", "done")
SUCCEEDED_STATES = ("succeeded", "done")
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


def _hidden_fields(page: str) -> dict[str, list[str]]:
    """A form's hidden inputs, as the browser posts them back (a name may repeat)."""
    fields: dict[str, list[str]] = {}
    for name, value in HIDDEN_RE.findall(page):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


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
        query = (
            f"{LIST_EDIT_FILTERS}&p={random.randint(1, 50)}" if LIST_EDIT_FILTERS else f"p={random.randint(51, 100)}"
        )
        page = self._changelist(query, "changelist: page")
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
    """One user running one write job (LOAD_JOB) through the admin, as ops would, and watching
    its page until it ends, then idle:

    - ``import``: uploads LOAD_IMPORT_FILE, confirms the preview the worker made;
    - ``bulk``: "raise price 5%" on every product of the list filtered by LOAD_JOB_FILTERS (the
      action with "Select all N matching", its parameters, the preview, Confirm: a job);
    - ``export``: the list's "Export CSV" link, filtered by LOAD_JOB_FILTERS (a job).

    The job's window runs from the request that creates it to its page showing it ended (or to
    the end of the run): one request row of type JOB (see the module's docstring).
    """

    fixed_count = 1
    wait_time = between(2, 2)

    def on_start(self) -> None:
        _login(self)
        self.job_url = ""
        self.finished = JOB not in JOBS or (JOB == "import" and not IMPORT_FILE)
        self.started = 0.0

    def on_stop(self) -> None:
        if self.started and not self.finished:
            self._job_window("still running at the end of the run", failed=False)

    def _job_window(self, outcome: str, *, failed: bool) -> None:
        self.finished = True
        events.request.fire(
            request_type="JOB",
            name=f"{JOB} job {outcome}",
            response_time=(time.time() - self.started) * 1000,
            response_length=0,
            exception=Exception(outcome) if failed else None,
            context={},
            start_time=self.started,
        )

    @task
    def job(self) -> None:
        if self.finished:
            return
        if not self.job_url:
            self.job_url = JOBS[JOB](self)
            if not self.job_url:
                self.finished = True
            return
        page = self.client.get(self.job_url, name=f"{JOB}: job page")
        state = re.search(r'data-state="([a-z_]+)"', page.text)
        if 'id="import-decide"' in page.text:  # the import's preview is ready
            token = TOKEN_RE.search(page.text).group(1)
            self.client.post(
                self.job_url,
                name="import: confirm",
                allow_redirects=False,
                data={"csrfmiddlewaretoken": token, "_confirm": "Confirm import"},
            )
        elif state and state.group(1) in ENDED_STATES:
            self._job_window(f"{state.group(1)} (start to end)", failed=state.group(1) not in SUCCEEDED_STATES)

    def start_import(self) -> str:
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
        return response.headers.get("Location", "")

    def start_bulk_edit(self) -> str:
        changelist = f"{CHANGELIST}?{JOB_FILTERS}"
        page = self.client.get(changelist, name="bulk: changelist")
        # "Select all N matching": the page's boxes ticked and select_across set, as actions.js does.
        data = {
            "csrfmiddlewaretoken": TOKEN_RE.search(page.text).group(1),
            "action": "bulk_change_price",
            "select_across": "1",
            "index": "0",
            "_selected_action": SELECTED_RE.findall(page.text),
        }
        form = self.client.post(changelist, name="bulk: action", data=data)
        data = {**_hidden_fields(form.text), "bulk-mode": "raise_pct", "bulk-amount": "5", "bulk-ending": ""}
        preview = self.client.post(changelist, name="bulk: preview", data={**data, "_bulk_step": "preview"})
        if 'id="bulk-confirm"' not in preview.text:
            return ""
        data = _hidden_fields(preview.text)
        refused = re.search(r'class="count-refused">(\d+)<', preview.text)
        if refused and refused.group(1) != "0":
            data["skip_refused"] = "1"  # change the others: the job's writes are what is measured
        self.started = time.time()
        response = self.client.post(
            changelist, name="bulk: confirm", allow_redirects=False, data={**data, "_bulk_step": "apply"}
        )
        return response.headers.get("Location", "")

    def start_export(self) -> str:
        self.client.get(f"{CHANGELIST}?{JOB_FILTERS}", name="export: changelist")
        self.started = time.time()
        query = urlencode({"format": "csv", **({"filters": JOB_FILTERS} if JOB_FILTERS else {})})
        response = self.client.get(f"{CHANGELIST}export/?{query}", name="export: start", allow_redirects=False)
        return response.headers.get("Location", "")


JOBS = {"import": Ops.start_import, "bulk": Ops.start_bulk_edit, "export": Ops.start_export}


class Trivial(HttpUser):
    """Not in the mix: bench/load.py runs it alone to measure the stack's ceiling (/healthz)."""

    wait_time = between(0, 0)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="trivial /healthz")
