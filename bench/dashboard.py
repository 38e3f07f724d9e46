"""Time the admin dashboard's KPI selectors and the index page, cold and cached.

Run against a seeded catalog, e.g. 1M products on MariaDB:

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_ops_bench \\
        .venv/bin/python manage.py seed_catalog --products 1000000 --customers 10000 --orders 50000 --clear
    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_ops_bench .venv/bin/python bench/dashboard.py

Prints each selector's cold time (empty cache; best of --repeat) and the index page
render cold and cached, with the cold/cached ratio from the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.test")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from store import selectors  # noqa: E402
from store.models import Product  # noqa: E402


def best_of(repeat: int, function, *, cold: bool = True) -> float:
    times = []
    for _ in range(repeat):
        if cold:
            cache.clear()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}, products: {Product.objects.count():,}")
    for name in ("dashboard_catalog_kpis", "dashboard_orders", "dashboard_top_collections"):
        seconds = best_of(args.repeat, getattr(selectors, name))
        print(f"{name:28s} cold {seconds * 1000:9.1f} ms")

    user, _ = get_user_model().objects.get_or_create(
        username="bench-dashboard", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)

    def render() -> None:
        assert client.get("/admin/").status_code == 200

    cold = best_of(args.repeat, render)
    cache.clear()
    render()
    with CaptureQueriesContext(connection) as cached_queries:
        cached = best_of(args.repeat, render, cold=False)
    print(
        f"{'admin index':28s} cold {cold * 1000:9.1f} ms, cached {cached * 1000:7.1f} ms, "
        f"ratio cold/cached {cold / cached:5.1f}, queries when cached "
        f"{len(cached_queries) // args.repeat}"
    )
    user.delete()


if __name__ == "__main__":
    main()
