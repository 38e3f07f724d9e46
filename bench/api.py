"""Catalog API throughput against a trivial DRF view, served by the same gunicorn.

    .venv/bin/python bench/api.py            # MariaDB db bo_api_bench, 100k products
    BENCH_DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --products 10000 --parents 3000   # 3,000 of them with 5 variants each

Seeds 100k products with seed_catalog when the database does not hold them yet (and
tags a fifth of them), starts gunicorn (2 sync workers, 127.0.0.1 only), drives each
endpoint for a fixed time with a few client processes, stops gunicorn and prints
requests/s and the ratio ours/trivial. The trivial view is measured before and after
the catalog endpoints; the ratio uses the mean of the two.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PRODUCTS = 100_000
TAGGED_EVERY = 5
VARIANTS_PER_PARENT = 5


def bench_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.api_settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        # Persistent connections, as production should run; throttling stays on
        # (its cache round trip is part of every request) at a rate we never reach.
        "CONN_MAX_AGE": "60",
        "CATALOG_API_ANON_RATE": "100000000/minute",
        "PYTHONPATH": str(ROOT),
    }


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


SETUP = f"""
import django; django.setup()
from django.contrib.contenttypes.models import ContentType
from store.models import Product
from tags.models import Tag, TaggedItem
ct = ContentType.objects.get_for_model(Product)
if not TaggedItem.objects.filter(content_type=ct).exists():
    tags = [Tag.objects.get_or_create(label=label)[0] for label in ("sale", "new", "eco", "gift", "clearance")]
    ids = Product.objects.exclude(structure="variant").order_by("id").values_list("id", flat=True)[::{TAGGED_EVERY}]
    TaggedItem.objects.bulk_create(
        [TaggedItem(tag=tags[i % len(tags)], content_type=ct, object_id=pk) for i, pk in enumerate(ids)],
        batch_size=5000,
    )
products = Product.objects.exclude(structure="variant")
print(products.count(), products.order_by("id").values_list("id", flat=True).first(),
      products.order_by("-id").values_list("id", flat=True).first(),
      products.values_list("collection_id", flat=True).first())
"""


# Turn every n-th product into a product with variants (Size: XS..XL), spread over the title
# order like the rest: the parent keeps its title, slug, collection and status; its variants
# take prices around its own and stock of their own.
VARIANTS = f"""
import sys, django; django.setup()
from decimal import Decimal
from django.db import transaction
from store.models import Product
parents = int(sys.argv[1])
sizes = ["XS", "S", "M", "L", "XL"][:{VARIANTS_PER_PARENT}]
products = list(Product.objects.exclude(structure="variant").order_by("id").values_list("id", "sku", "unit_price"))
step = max(1, len(products) // parents) if parents else 0
chosen = products[::step][:parents] if parents else []
with transaction.atomic():
    Product.objects.filter(structure="variant").delete()
    Product.objects.filter(structure="parent").update(structure="standalone", option1_name="", inventory=10,
                                                     track_inventory=True)
    ids = [pk for pk, _sku, _price in chosen]
    for start in range(0, len(ids), 2000):
        Product.objects.filter(pk__in=ids[start:start + 2000]).update(
            structure="parent", option1_name="Size", inventory=0, track_inventory=False)
    Product.objects.bulk_create([
        Product(structure="variant", parent_id=pk, title=size, sku=f"{{sku}}-{{size}}", slug=None, collection=None,
                status=None, option1=size, unit_price=price + index, inventory=(index * 7) % 40)
        for pk, sku, price in chosen for index, size in enumerate(sizes)
    ], batch_size=2000)
print(Product.objects.filter(structure="parent").count(), Product.objects.filter(structure="variant").count())
"""


def prepare_database(env: dict[str, str], *, products: int = PRODUCTS, parents: int = 0) -> tuple[int, int, int]:
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "createcachetable")  # the default cache without REDIS_URL
    count = subprocess.run(
        [
            PYTHON,
            "-c",
            "import django; django.setup(); from store.models import Product; "
            "print(Product.objects.exclude(structure='variant').count(), "
            "Product.objects.filter(structure='parent').count())",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    if int(count[-2]) != products:
        manage(env, "seed_catalog", "--products", str(products), "--clear", "-v0")
    if int(count[-1]) != parents or int(count[-2]) != products:
        subprocess.run([PYTHON, "-c", VARIANTS, str(parents)], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [PYTHON, "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    _count, first_id, last_id, collection_id = map(int, out[-4:])
    return first_id, last_id, collection_id


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/constant/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def drive(port: int, paths: list[str], seconds: float, seed: int) -> tuple[int, int]:
    """One client: sequential requests over fresh connections for `seconds`. (ok, errors)."""
    rng = random.Random(seed)
    ok = errors = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", rng.choice(paths), headers={"Accept": "application/json"})
            response = conn.getresponse()
            response.read()
            ok += response.status == 200
            errors += response.status != 200
        except OSError:
            errors += 1
        finally:
            conn.close()
    return ok, errors


def measure(pool: ProcessPoolExecutor, port: int, paths: list[str], seconds: float, clients: int) -> float:
    futures = [pool.submit(drive, port, paths, seconds, seed) for seed in range(clients)]
    results = [future.result() for future in futures]
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    if errors:
        raise SystemExit(f"{errors} failed requests on {paths[0]}")
    return ok / seconds


@contextmanager
def gunicorn(env: dict[str, str], port: int):
    server = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "backoffice.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_until_up(port)
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def run_scenarios(pool, port: int, scenarios: dict[str, list[str]], args) -> dict[str, float]:
    # Warm both workers (imports, connections) before measuring.
    measure(pool, port, ["/bench/constant/", *scenarios["product list"]], 1.0, args.clients)
    rates = {"trivial (before)": measure(pool, port, ["/bench/constant/"], args.seconds, args.clients)}
    for name, paths in scenarios.items():
        rates[name] = measure(pool, port, paths, args.seconds, args.clients)
    rates["trivial (after)"] = measure(pool, port, ["/bench/constant/"], args.seconds, args.clients)
    return rates


def report(title: str, rates: dict[str, float]) -> None:
    trivial = (rates["trivial (before)"] + rates["trivial (after)"]) / 2
    print(title)
    for name, rate in rates.items():
        print(f"  {name:<18} {rate:8.1f} req/s")
    for name in rates:
        if not name.startswith("trivial"):
            print(f"  ratio {name:<14} / trivial = {rate_ratio(rates[name], trivial):.2f}")


def rate_ratio(ours: float, trivial: float) -> float:
    return ours / trivial if trivial else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--seconds", type=float, default=8.0, help="per endpoint")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--products", type=int, default=PRODUCTS, help="products (variants not counted)")
    parser.add_argument(
        "--parents", type=int, default=0, help=f"of them, products with {VARIANTS_PER_PARENT} variants each"
    )
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", "mysql://root@127.0.0.1:3306/bo_api_bench")
    env = bench_env(database_url)
    first_id, last_id, collection_id = prepare_database(env, products=args.products, parents=args.parents)

    rng = random.Random(1)
    detail_ids = [rng.randint(first_id, last_id) for _ in range(200)]
    lists = {
        "product list": ["/api/products/"],
        "filtered list": [
            f"/api/products/?collection_id={collection_id}&unit_price__gt=50&in_stock=true",
            "/api/products/?tag=sale&ordering=-unit_price",
        ],
    }
    fresh = {**lists, "product detail": [f"/api/products/{pk}/" for pk in detail_ids]}
    engine = database_url.split(":", 1)[0]
    header = (
        f"gunicorn 2 sync workers on 127.0.0.1:{args.port}, {engine}, {args.products} products "
        f"({args.parents} with {VARIANTS_PER_PARENT} variants; 1 in {TAGGED_EVERY} tagged), "
        f"{args.clients} client processes x {args.seconds:.0f}s per endpoint"
    )
    with ProcessPoolExecutor(args.clients) as pool:
        with gunicorn({**env, "CATALOG_API_CACHE_SECONDS": "0"}, args.port):
            uncached = run_scenarios(pool, args.port, fresh, args)
        with gunicorn({**env, "CATALOG_API_CACHE_SECONDS": "5"}, args.port):
            cached = run_scenarios(pool, args.port, lists, args)
    print(header)
    report("Every request fresh (CATALOG_API_CACHE_SECONDS=0):", uncached)
    report("List micro-cache on (CATALOG_API_CACHE_SECONDS=5, the default):", cached)


if __name__ == "__main__":
    main()
