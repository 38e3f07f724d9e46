"""The catalog API's list pages walked with the count kept between requests, and without.

One command, on a catalog ``bench/changelist.py`` seeded (it is seeded here when it is not):

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_var1m_bench .venv/bin/python bench/api_pages.py \\
        --size 1000000 --variants 5

For each of the changelist bench's API views (the default title order and every ``api …`` view), a
client asks for pages 1 to ``--pages`` in turn (fewer when the list ends before), first with
``CATALOG_API_CACHE_SECONDS = 0`` (every page counts its rows), then with it on
(``CountKeptPaginator``: the first page counts, the others read the count from the cache;
docs/decisions/0019-exact-api-counts.md). The list micro-cache is keyed on the query string, so
no page of a walk is served from it. The cache is cleared before each walk; the best of
``--runs`` walks is kept for each. Printed: the first page, the mean of the others, and their
ratio kept ÷ counted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.conf import settings
from django.core.cache import cache
from django.test import Client

# Sets up Django (test settings) on DATABASE_URL, as its own bench does.
from bench.changelist import API_PRODUCTS, prepare, request_of, setup_test_environment, units_views


def walk(client: Client, params: dict, *, pages: int, kept_seconds: int) -> list[float]:
    """Seconds for each of pages 1…``pages`` of one list, the count kept for ``kept_seconds``."""
    settings.CATALOG_API_CACHE_SECONDS = kept_seconds
    cache.clear()
    url, query = request_of(params)
    timings = []
    for page in range(1, pages + 1):
        started = time.perf_counter()
        response = client.get(url, query | {"page": page})
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url}?{query} page {page} answered {response.status_code}")
        if response.json()["next"] is None:  # the list's last page
            break
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="sellable units")
    parser.add_argument("--variants", type=int, default=5)
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    setup_test_environment()  # allows the test client's host
    client = prepare(args.size, variants=args.variants, images=True)
    views = {"api": API_PRODUCTS} | {name: params for name, params in units_views().items() if name.startswith("api")}
    print(f"\n{args.size:,} units, pages 1-{args.pages}, best of {args.runs} walks (ms)")
    print(
        f"{'view':<24}{'counted: page 1':>17}{'others':>9}{'kept: page 1':>14}{'others':>9}{'others kept/counted':>21}"
    )
    for name, params in views.items():
        if len(walk(client, params, pages=args.pages, kept_seconds=0)) < 2:  # warm-up
            print(f"{name:<24}one page only: nothing to walk")
            continue
        counted: list[list[float]] = []
        kept: list[list[float]] = []
        for _ in range(args.runs):  # alternately, so that a busy moment hits both
            counted.append(walk(client, params, pages=args.pages, kept_seconds=0))
            kept.append(walk(client, params, pages=args.pages, kept_seconds=60))
        first_counted, first_kept = min(t[0] for t in counted), min(t[0] for t in kept)
        others_counted = min(sum(t[1:]) / len(t[1:]) for t in counted)
        others_kept = min(sum(t[1:]) / len(t[1:]) for t in kept)
        print(
            f"{name:<24}{first_counted * 1000:>17.1f}{others_counted * 1000:>9.1f}"
            f"{first_kept * 1000:>14.1f}{others_kept * 1000:>9.1f}{others_kept / others_counted:>21.2f}"
        )


if __name__ == "__main__":
    main()
