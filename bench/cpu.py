"""CPU per request of the load test's mix (bench/locustfile.py), independent of machine load.

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_load_bench .venv/bin/python bench/cpu.py
    ... bench/cpu.py --runs 30 --profile "changelist: page"   # + the top of a cProfile

Wall time on a shared machine says little; CPU time does not depend on what else runs.
Each request of the mix is sent through the full stack (every middleware, the session,
axes, the admin, templates) by Django's test client, with production settings
(backoffice.settings.prod: DEBUG off, the cached template loader, the Redis cache on db 7,
RQ on db 6) on the catalog of DATABASE_URL (seeded with 100k products by bench/load.py or
``manage.py seed_catalog --products 100000 ...``). Per request type it prints the median of
``--runs`` runs (after warm-ups) of:

- ``py CPU``: this process's CPU (``time.process_time()``): Django, templates, the client;
- ``SQL wall``: time spent waiting for MariaDB (its own CPU is part of it);
- ``db CPU``: mariadbd's CPU over the request (/proc; includes other clients' queries on a
  shared server, so it is an upper bound);
- the number of queries and the response size.

``--compare`` measures every request twice, alternating, with this branch's optimisations
switched off (``baseline()``: template-rendered inputs and error lists, every list-edit row
validated, deep pages by OFFSET, collections uncached, row and column links reversed per
row) and on, so both columns come from the same run and the same machine load.
``--compare urls`` switches off only the named groups of ``SAVINGS``.

The client part (building the request, parsing cookies) is a few hundred microseconds; a
real browser also costs gunicorn's parsing and the socket, measured by the /healthz row.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import random
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for name, value in {
    "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
    "DATABASE_URL": "mysql://root@127.0.0.1:3306/bo_load_bench",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "testserver,127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_HSTS_SECONDS": "0",
    "REDIS_URL": "redis://127.0.0.1:6379/6",
    "REDIS_CACHE_URL": "redis://127.0.0.1:6379/7",
    "TASKS_BACKEND": "rq",
    "CATALOG_API_ANON_RATE": "1000000/minute",
    "LOG_LEVEL": "WARNING",
    "STATIC_ROOT": "/tmp/bench-cpu-static",
}.items():
    os.environ.setdefault(name, value)

import django  # noqa: E402

django.setup()

from unittest import mock  # noqa: E402

from django import forms  # noqa: E402
from django.contrib.admin.templatetags import admin_list  # noqa: E402
from django.contrib.admin.views.main import ChangeList  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.paginator import Paginator  # noqa: E402
from django.db import connection  # noqa: E402
from django.forms.utils import ErrorList  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.changelist import SqlTimer  # noqa: E402
from store.admin import catalog, rendering  # noqa: E402
from store.admin.paginators import CappedCountPaginator  # noqa: E402
from store.api.views import CatalogViewSet, CollectionViewSet  # noqa: E402
from store.models import Collection, Product  # noqa: E402

CHANGELIST = "/admin/store/product/"
USER, PASSWORD = "load", "load-pass-123"
TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
INPUT_RE = re.compile(r'<input[^>]*?name="((?:initial-)?form-[^"]+)"[^>]*?>')
VALUE_RE = re.compile(r'value="([^"]*)"')
WORDS = ["shirt", "blue", "steel", "organic", "lamp", "wood", "classic", "mini", "pro", "set"]


def mariadb_ticks() -> int:
    """mariadbd's user + system CPU in clock ticks (0 when it is not visible from here)."""
    try:
        pid = subprocess.run(["pgrep", "-o", "mariadbd"], capture_output=True, text=True).stdout.split()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (IndexError, OSError, ValueError):
        return 0


TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    py_cpu: float
    wall: float
    sql: float
    db_cpu: float
    queries: int
    size: int


class CountingSqlTimer(SqlTimer):
    """bench/changelist.py's timer of the time spent in the database, counting the queries too."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return super().__call__(execute, sql, params, many, context)


def measure(request: Callable[[], object]) -> Sample:
    timer = CountingSqlTimer()
    ticks = mariadb_ticks()
    cpu, wall = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(timer):
        response = request()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    db = (mariadb_ticks() - ticks) / TICK
    status = getattr(response, "status_code", 0)
    if status >= 400:
        raise SystemExit(f"unexpected status {status}")
    size = len(getattr(response, "content", b"") or b"")
    return Sample(cpu, wall, timer.seconds, db, timer.count, size)


def _reverse_per_row(viewname: str, pk: object) -> str:
    return reverse(viewname, args=[pk])


# This branch's CPU savings, by group, as (object, attribute, the value before the saving).
SAVINGS: dict[str, list[tuple[object, str, object]]] = {
    "inputs": [
        (rendering, "STOCK_INPUT_TEMPLATES", frozenset()),
        (catalog, "RowErrorList", ErrorList),
        (catalog, "FastCheckboxInput", forms.CheckboxInput),
    ],
    "rows": [(catalog.ProductListEditForm, "full_clean", forms.BaseForm.full_clean)],
    "table": [(rendering, "result_list", admin_list.result_list)],
    "pages": [(CappedCountPaginator, "page", Paginator.page)],
    "collections": [
        (CollectionViewSet, "list_cache_key", CatalogViewSet.list_cache_key),
        (CollectionViewSet, "catalog_version", CatalogViewSet.catalog_version),
    ],
    "urls": [
        (catalog, "object_url", _reverse_per_row),
        (catalog.ProductChangeList, "url_for_result", ChangeList.url_for_result),
    ],
}


@contextlib.contextmanager
def baseline(groups: list[str]) -> Iterator[None]:
    """This branch's CPU savings of ``groups`` switched off (the code as it was before them)."""
    with contextlib.ExitStack() as stack:
        for group in groups:
            for target, attribute, before in SAVINGS[group]:
                stack.enter_context(mock.patch.object(target, attribute, before))
        yield


def login(client: Client) -> object:
    page = client.get("/admin/login/")
    token = TOKEN_RE.search(page.content.decode()).group(1)  # type: ignore[union-attr]  # the page has a form
    return client.post(
        "/admin/login/",
        {"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/admin/"},
    )


def list_edit_data(html: str) -> dict[str, str]:
    """What the locust user posts: every input of the page's formset, one inventory changed."""
    data = {"csrfmiddlewaretoken": TOKEN_RE.search(html).group(1), "_save": "Save"}  # type: ignore[union-attr]  # the page has a form
    for match in INPUT_RE.finditer(html):
        tag, name = match.group(0), match.group(1)
        value = VALUE_RE.search(tag)
        if 'type="checkbox"' in tag and "checked" not in tag:
            continue
        data[name] = value.group(1) if value else ""
    inventory = sorted(name for name in data if name.endswith("-inventory"))
    data[random.choice(inventory)] = str(random.randint(0, 500))
    return data


def scenarios(admin: Client, anon: Client) -> dict[str, Callable[[], object]]:
    collections = list(Collection.objects.order_by("pk").values_list("pk", flat=True)[:10])
    product_ids = list(Product.objects.order_by("title", "pk").values_list("pk", flat=True)[:5000])
    etags: dict[str, str] = {}

    def api(path: str, *, conditional: bool) -> Callable[[], object]:
        def request() -> object:
            # The baseline's ETags differ (no catalog version for collections): one set per mode.
            key = f"{path} {CollectionViewSet.catalog_version is CatalogViewSet.catalog_version}"
            headers = {"If-None-Match": etags[key]} if conditional and key in etags else {}
            response = anon.get(path, headers=headers)
            if response.has_header("ETag"):
                etags[key] = response["ETag"]
            return response

        return request

    def list_edit() -> object:
        query = f"p={random.randint(51, 100)}"
        page = admin.get(f"{CHANGELIST}?{query}")
        # Urlencoded, as a browser and locust post this form (the test client's default is multipart).
        response = admin.post(
            f"{CHANGELIST}?{query}",
            urlencode(list_edit_data(page.content.decode())),
            content_type="application/x-www-form-urlencoded",
        )
        if response.status_code != 302:
            raise SystemExit(f"list edit not saved: {response.status_code}")
        return response

    def fresh_client() -> Client:
        """A new browser (no cookies) served by the same handler: a new Client would load the
        middleware again, and WhiteNoise would rescan every static file (once a process in gunicorn)."""
        client = Client()
        client.handler = anon.handler
        return client

    def login_get() -> object:
        return fresh_client().get("/admin/login/")

    def login_post() -> object:
        client = fresh_client()
        response = login(client)
        if response.status_code != 302:  # type: ignore[attr-defined]  # a test client response
            raise SystemExit("login failed")
        return response

    return {
        "healthz": lambda: anon.get("/healthz"),
        "login: GET form": login_get,
        "login: GET + POST (no redirect)": login_post,
        "admin index (after login)": lambda: admin.get("/admin/"),
        "changelist: page": lambda: admin.get(f"{CHANGELIST}?p={random.randint(1, 50)}"),
        "changelist: default": lambda: admin.get(CHANGELIST),
        "changelist: filter": lambda: admin.get(f"{CHANGELIST}?collection__pk__exact={random.choice(collections)}"),
        "changelist: search": lambda: admin.get(f"{CHANGELIST}?q={random.choice(WORDS)}"),
        "changelist: list edit (GET + POST)": list_edit,
        "product page": lambda: admin.get(f"{CHANGELIST}{random.choice(product_ids)}/change/"),
        "api products (200)": api("/api/products/", conditional=False),
        "api products (If-None-Match)": api("/api/products/", conditional=True),
        "api products p2 (200)": api("/api/products/?page=2", conditional=False),
        "api collections (200)": api("/api/collections/", conditional=False),
        "api collections (If-None-Match)": api("/api/collections/", conditional=True),
    }


def report(name: str, samples: list[Sample]) -> None:
    def median(attribute: str) -> float:
        return statistics.median(getattr(sample, attribute) for sample in samples) * 1000

    print(
        f"{name:44} {median('py_cpu'):6.1f}ms {median('wall'):6.1f}ms {median('sql'):6.1f}ms "
        f"{median('db_cpu'):6.1f}ms {median('py_cpu') + median('db_cpu'):6.1f}ms {median('queries') / 1000:5.0f} "
        f"{median('size') / 1024 / 1000:8.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=[], help="request types whose name starts with one of these")
    parser.add_argument(
        "--compare",
        nargs="*",
        choices=sorted(SAVINGS),
        help="also measure with these optimisations off (all of them if none is named)",
    )
    parser.add_argument("--profile", default="", help="cProfile this request type (name prefix) and print the top")
    args = parser.parse_args()
    random.seed(1)
    # The manifest storage of the production settings serves nothing before collectstatic.
    call_command("collectstatic", "--noinput", verbosity=0)
    if args.compare == []:
        args.compare = sorted(SAVINGS)

    User = get_user_model()
    user = User.objects.filter(username=USER).first() or User(username=USER, email="load@example.com")
    user.is_staff = user.is_superuser = True
    user.set_password(PASSWORD)
    user.save()
    admin, anon = Client(), Client()
    if login(admin).status_code != 302:  # type: ignore[attr-defined]  # a test client response
        raise SystemExit("login failed")

    products = Product.objects.count()
    print(f"{products:,} products; {args.runs} runs each (median); database {connection.settings_dict['NAME']}")
    print(f"{'request':44} {'py CPU':>8} {'wall':>8} {'SQL wall':>8} {'db CPU':>8} {'total':>8} {'qs':>5} {'KB':>8}")
    for name, request in scenarios(admin, anon).items():
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        before: list[Sample] = []
        after: list[Sample] = []
        for run in range(args.warmup + args.runs):
            if args.compare:
                with baseline(args.compare):
                    sample = measure(request)
                if run >= args.warmup:
                    before.append(sample)
            sample = measure(request)
            if run >= args.warmup:
                after.append(sample)
        if args.compare:
            report(f"{name} (before)", before)
        report(f"{name} (after)" if args.compare else name, after)
        if args.profile and name.startswith(args.profile):
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.runs):
                request()
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
            stats.print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
            print(out.getvalue())


if __name__ == "__main__":
    main()
