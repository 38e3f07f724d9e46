"""The sync feed's page cost on a large catalog with drafts and archived products.

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_api_1m .venv/bin/python bench/sync_feed.py

Needs a seeded catalog (``seed_catalog --products 1000000``) in which some products are
drafts that were never active (no history) and some were archived after being active
(``product_set_status``, which records their history); see docs of the sync feed. Walks
PAGES pages from a few starting points, with and without filters, through the Django test
client (in process, no throttle), and prints the median and worst request and SQL time per
page, and the query count (constant: page, images, tags).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.dev")
os.environ.setdefault("CATALOG_API_ANON_RATE", "100000000/minute")
django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from store.api.pagination import SyncCursorPagination  # noqa: E402
from store.models import Product  # noqa: E402

PAGES = int(os.environ.get("PAGES", "30"))


def walk(client: Client, params: dict[str, str]) -> tuple[list[float], list[float], set[int], int, int]:
    wall, sql, counts = [], [], set()
    rows = tombstones = 0
    url = "/api/products/sync/"
    query = dict(params)
    for _ in range(PAGES):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, query, HTTP_HOST="localhost")
            wall.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:300]
        # The feed's own queries (not the throttle's cache entries, sessions...).
        feed = [q for q in queries.captured_queries if "store_" in q["sql"] or "tags_" in q["sql"]]
        sql.append(sum(float(q["time"]) for q in feed) * 1000)
        counts.add(len(feed))
        body = response.json()
        rows += len(body["results"])
        tombstones += sum(1 for row in body["results"] if row["removed"])
        if not body["next"]:
            break
        url, query = body["next"].replace("http://localhost", ""), {}
    return wall, sql, counts, rows, tombstones


def main() -> None:
    client = Client()
    total = Product.objects.count()
    by_status = dict(Product.objects.order_by().values_list("status").annotate(n=Count("pk")))
    history = Product.history.count()
    page = SyncCursorPagination.page_size
    print(f"{total:,} products {by_status}, {history:,} history rows; {PAGES} pages of {page}")
    middle = Product.objects.order_by("last_update", "pk").values_list("last_update", "pk")[total // 2]
    cursor = SyncCursorPagination.encode_cursor(middle)
    cases = {
        "from the start": {},
        "from the middle (cursor)": {"cursor": cursor},
        "unit_price__gt=900 (few active match)": {"unit_price__gt": "900"},
        "collection_id=1": {"collection_id": "1"},
        "in_stock=false": {"in_stock": "false"},
    }
    client.get("/api/products/sync/", HTTP_HOST="localhost")  # warm up
    for name, params in cases.items():
        wall, sql, counts, rows, tombstones = walk(client, params)
        print(
            f"{name:40} {len(wall):3} pages, {rows:5} rows ({tombstones:4} tombstones): "
            f"request median {statistics.median(wall):6.1f} ms, worst {max(wall):6.1f} ms; "
            f"SQL median {statistics.median(sql):6.1f} ms, worst {max(sql):6.1f} ms; queries/page {sorted(counts)}"
        )


if __name__ == "__main__":
    main()
