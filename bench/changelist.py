"""Product changelist at 10k and 1M products: times each view and prints the ratio 1M/10k.

One command (MariaDB; the database is wiped and re-seeded, so give it its own):

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_catalog_bench .venv/bin/python bench/changelist.py

SQLite (default when DATABASE_URL is unset: a file under the system temp dir):

    .venv/bin/python bench/changelist.py --sizes 10000 100000

Products with variants (issue 21): ``--variants 5`` seeds each size as products with 5 variants
each, the size counting sellable units (10k units: 2k products × 5 variants; 1M: 200k × 5), and
``--small-database NAME`` keeps the small catalog in a second database on the same server, so
neither is re-seeded on the next run:

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_variants1m_bench .venv/bin/python bench/changelist.py \
        --variants 5 --small-database bo_variants10k_bench

A catalog already seeded at one of the sizes is reused. Options: ``--sizes`` (default 10000
1000000), ``--runs`` timed runs per view (the best is reported, after one warm-up),
``--explain`` to print the database's plan for each page query (and a search's capped count),
``--search`` for the default list and the searches only (a dense word, a rare word, two words
twice, a SKU segment), ``--only PREFIX…`` for the views whose names start so (``--only
filtered units``). Seeding 1M products (with the search index) takes about five minutes.
The goal is a ratio ≤ 2. Views: the default list, the filters, the searches, every sort a
header click reaches (each sortable column both ways, alone and after the default title order,
e.g. ?o=6.1 for Status) and, with ``--variants``, the sellable-units view (``?rows=units``) with
its filters and searches, the order-line picker (the admin's autocomplete of sellable units,
``/admin/autocomplete/``) and the catalog API's product list in price and last-update orders
(its pages count every match: 200k active products at 1M). Each view is reported twice: the
whole page, and the time its SQL took (most of a page is Python, which a busy shared machine
slows at random; the SQL is what grows with the table). Each view is rendered through the full
stack (middleware, session, admin view, template) by Django's test client, logged in as a
superuser. A changelist view whose small page shows fewer rows than its large one (two words
that fill a page at 1M, 9 rows at 10k) is printed again after the table, its large page against
the small catalog's default list of as many rows (docs/decisions/0020-equal-rows.md).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.test")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(tempfile.gettempdir()) / 'backoffice_bench.sqlite3'}")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.server import database_server  # noqa: E402
from store.models import Product, ProductImage  # noqa: E402
from store.seeding import catalog_clear, catalog_seed  # noqa: E402

URL = "/admin/store/product/"
# list_display: 1 image, 2 title, 3 sku, 4 collection, 5 unit_price, 6 inventory, 7 stock, 8 status.
SORTABLE_COLUMNS = {"title": 2, "sku": 3, "price": 5, "inventory": 6, "stock": 7}
TITLE = SORTABLE_COLUMNS["title"]


def header_clicks() -> dict[str, dict[str, str]]:
    """Every sort a user reaches by clicking column headers from the default list.

    The default list is sorted by title, so the first click on another header links to
    ?o=<N>.<title> (that column, then title), a second click on it to ?o=-<N>.<title>; the
    bare ?o=<N> / ?o=-<N> are the same sorts from a link without the default.
    """
    views = {"title desc": {"o": f"-{TITLE}"}}
    for name, column in SORTABLE_COLUMNS.items():
        if column == TITLE:
            continue
        views |= {
            f"{name}": {"o": f"{column}"},
            f"{name} desc": {"o": f"-{column}"},
            f"{name} click": {"o": f"{column}.{TITLE}"},
            f"{name} click desc": {"o": f"-{column}.{TITLE}"},
        }
    return views


# The searches of issue 20 (store.search): a word in 1 of 15 titles (not their start), a word in
# 3 titles (seed_rare_word), two words (1 in 225; twice), a SKU segment (one product).
RARE_WORD = "zanzibar"
# Ordinals of the products that get RARE_WORD: the same three at every size (the small catalog
# with variants has 2,000 products).
RARE_PRODUCTS = (17, 4_321, 9_999)
RARE_PRODUCTS_WITH_VARIANTS = (17, 432, 1_999)


def search_views(*, variants: int) -> dict[str, dict[str, str]]:
    return {
        "search dense word": {"q": "bottle"},
        "search rare word": {"q": RARE_WORD},
        "search two words": {"q": "classic bottle"},
        # Two common words whose products sort last in both words' title orders (Wireless is the
        # last adjective, Water Bottle the last noun): no bounded walk fills the page.
        "search two words late": {"q": "wireless bottle"},
        # A product's SKU (with variants: a product of the 2,000 of the small catalog, found by
        # its own SKU and its variants').
        "search SKU segment": {"q": "0001234" if variants else "0004321"},
    } | (
        # With variants, two words whose page is full at both sizes (a title word in 1 of 15
        # products, a size four in five products have): the small catalog's 2,000 products give
        # "classic bottle" 9 rows against the large one's 100, and a page's rows cost more than
        # its query.
        {"search two words full": {"q": "bottle s"}} if variants else {}
    )


def views_of(*, variants: int, search_only: bool) -> dict[str, dict[str, str]]:
    if search_only:
        return {"default": {}, **search_views(variants=variants)}
    return {
        "default": {},
        "filtered Low": {"inventory_status": "low"},
        "filtered Out of stock": {"inventory_status": "out"},
        "filtered OK": {"inventory_status": "ok"},
        "filtered Not tracked": {"inventory_status": "untracked"},
        # About 1 in 15 titles start with "Classic": a full page at both sizes.
        "searched": {"q": "Classic"},
        # 1 in 20 products is a draft (seed_statuses): a full page at both sizes.
        "filtered Draft": {"status__exact": "draft"},
        "filtered Active": {"status__exact": "active"},
        # One collection of 10 (small) or 20 (large): a full page at both sizes.
        "filtered collection": {"collection__pk__exact": "1"},
        # 1 in 100 products (seeding promotes every 20th, in 5 promotions).
        "filtered promotion": {"promotions__id__exact": "1"},
        # Seeded products were updated over the 51 days before the seeding: about 1 in 7.
        "filtered past 7 days": past_7_days(),
        **search_views(variants=variants),
        **header_clicks(),
        **(units_views() if variants else {}),
    }


def past_7_days() -> dict[str, str]:
    """The parameters of the admin's "Past 7 days" link of the last-updated filter."""
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return {"last_update__gte": str(today - timedelta(days=7)), "last_update__lt": str(today + timedelta(days=1))}


def units_views() -> dict[str, dict[str, str]]:
    """The sellable-units view (``?rows=units``: each variant on a row of its own), its filters
    and header clicks (its title: a product's variants under its title)."""
    units = {"rows": "units"}
    return {
        "units": units,
        "units Low": units | {"inventory_status": "low"},
        "units Not tracked": units | {"inventory_status": "untracked"},
        "units collection": units | {"collection__pk__exact": "1"},
        "units price click": units | {"o": "5.2"},
        "units title": units | {"o": "2"},
        "units title desc": units | {"o": "-2"},
        "units title page 50": units | {"o": "2", "p": "50"},
        "units Low by title": units | {"o": "2", "inventory_status": "low"},
        # Each filter (and a search) the units view offers, in its title order, both ways and on
        # a later page: about 1 in 10 units is low, 1 in 20 out of stock, 17 in 20 OK, 1 in 20
        # in collection 1, 1 in 7 updated in the past 7 days, 2 in 25 found by "bottle".
        "units Low by title desc": units | {"o": "-2", "inventory_status": "low"},
        "units Low by title page 5": units | {"o": "2", "inventory_status": "low", "p": "5"},
        "units Out of stock by title": units | {"o": "2", "inventory_status": "out"},
        "units OK by title desc": units | {"o": "-2", "inventory_status": "ok"},
        "units Not tracked by title": units | {"o": "2", "inventory_status": "untracked"},
        "units collection by title": units | {"o": "2", "collection__pk__exact": "1"},
        "units collection by title desc": units | {"o": "-2", "collection__pk__exact": "1"},
        "units past 7 days by title": units | {"o": "2", **past_7_days()},
        "units Low collection by title": units | {"o": "2", "inventory_status": "low", "collection__pk__exact": "1"},
        "units search by title": units | {"o": "2", "q": "bottle"},
        "units search by title desc": units | {"o": "-2", "q": "bottle"},
        # An option value: its variants' own term rows come together under "Black / S" (the walk
        # of the word's term rows steps over them through the products).
        "units option value by title": units | {"o": "2", "q": "black"},
        "units search by title page 5": units | {"o": "2", "q": "bottle", "p": "5"},
        "units search dense": units | {"q": "bottle"},
        "units search option": units | {"q": "bottle s"},
        "units search rare": units | {"q": RARE_WORD},
        # The order-line picker (an autocomplete of sellable units, 20 a page).
        "picker dense word": ORDER_LINE_PICKER | {"term": "bottle"},
        "picker title and option": ORDER_LINE_PICKER | {"term": "bottle s"},
        # An option value of a fifth of the variants.
        "picker option value": ORDER_LINE_PICKER | {"term": "black"},
        "picker rare word": ORDER_LINE_PICKER | {"term": RARE_WORD},
        "picker SKU": ORDER_LINE_PICKER | {"term": "0001234"},
        # The catalog API's product list: its default title order, then in a price order (another
        # system's view of the catalog).
        "api": API_PRODUCTS,
        "api price": API_PRODUCTS | {"ordering": "unit_price"},
        "api price desc": API_PRODUCTS | {"ordering": "-unit_price"},
        # By the latest save of a product or of its variants (store.variants.selectors).
        "api last update desc": API_PRODUCTS | {"ordering": "-last_update"},
        "api last update": API_PRODUCTS | {"ordering": "last_update"},
        # Its filters by the variants of a product with variants (store.variants.selectors), each
        # counted exactly: about 19 in 20 active products are in stock (all but those whose every
        # unit is out), and a price of 100 to 200 is about 1 in 10 products' (seeded prices are
        # 1.00 to 999.99, a product's variants 5 apart).
        "api in stock": API_PRODUCTS | {"in_stock": "true"},
        "api not in stock": API_PRODUCTS | {"in_stock": "false"},
        "api price range": API_PRODUCTS | {"unit_price__gt": "100", "unit_price__lt": "200"},
        # Sparse filters: a price range few products fall in (about 1 in 190 active products: a
        # variant priced 999 to 1000), and, once a few products are sold out (every variant at
        # inventory 0: not seeded, see docs/performance.md), not in stock; in each API order.
        "api rare price": API_PRODUCTS | RARE_PRICE,
        "api rare price asc": API_PRODUCTS | RARE_PRICE | {"ordering": "unit_price"},
        "api rare price desc": API_PRODUCTS | RARE_PRICE | {"ordering": "-unit_price"},
        "api rare price newest": API_PRODUCTS | RARE_PRICE | {"ordering": "-last_update"},
        "api not in stock price": API_PRODUCTS | {"in_stock": "false", "ordering": "unit_price"},
        "api not in stock oldest": API_PRODUCTS | {"in_stock": "false", "ordering": "last_update"},
        "api not in stock search": API_PRODUCTS | {"in_stock": "false", "search": "bottle"},
    }


#: A price range of about 1 in 190 active products (``api rare price``).
RARE_PRICE = {"unit_price__gt": "999", "unit_price__lt": "1000"}


#: The admin's autocomplete of an order line's product: a view of its own (``request_of``).
ORDER_LINE_PICKER = {"app_label": "store", "model_name": "orderitem", "field_name": "product"}
AUTOCOMPLETE_URL = "/admin/autocomplete/"


#: The catalog API's product list (``api`` marks it; not sent).
API_PRODUCTS = {"api": "products"}


def request_of(params: dict) -> tuple[str, dict]:
    """The URL of a view and the query it sends."""
    if "api" in params:
        return "/api/products/", {key: value for key, value in params.items() if key != "api"}
    return (AUTOCOMPLETE_URL if "field_name" in params else URL), params


def guard_database() -> None:
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" and not name.endswith("_bench"):
        sys.exit(f"Refusing to wipe {name!r}: the benchmark database name must end in _bench.")


def products_of(units: int, variants: int) -> int:
    """Products of a catalog of ``units`` sellable units (each product with ``variants`` variants)."""
    return units // variants if variants else units


def already_seeded(products: int, variants: int) -> bool:
    """The catalog is exactly what ``catalog_seed(products=…, variants=…, seed=1)`` writes."""
    structure = Product.Structure.PARENT if variants else Product.Structure.STANDALONE
    return (
        Product.objects.count() == products * (variants + 1)
        and Product.objects.filter(sku=f"S1-{products:07d}", structure=structure).exists()
        and not Product.objects.filter(sku__startswith="S2-").exists()
    )


def seed(products: int, variants: int) -> None:
    catalog_clear()
    catalog_seed(products=products, variants=variants, seed=1)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":
            # Rebuild after the wipe: a table that just lost a million rows to DELETE is
            # full of delete-marked records InnoDB has not purged yet, and a 10k catalog
            # measured on it looks slower than the 1M one. OPTIMIZE also refreshes statistics.
            cursor.execute("OPTIMIZE TABLE store_product, store_collection, store_product_promotions")
            cursor.fetchall()
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")


def seed_rare_word(variants: int) -> None:
    """Three products (the same three at every size) get the word RARE_WORD in their title,
    through the write path of a title change (save(): the search index follows)."""
    if Product.objects.filter(title__contains=RARE_WORD.title()).exists():
        return
    for ordinal in RARE_PRODUCTS_WITH_VARIANTS if variants else RARE_PRODUCTS:
        # Seeding writes product n at row 1 + (n - 1) × (variants + 1), its variants after it.
        product = Product.objects.get(pk=1 + (ordinal - 1) * (variants + 1))
        product.title = f"{product.title} {RARE_WORD.title()}"
        product.save()


IMAGE_BATCH = 5_000


def seed_statuses(variants: int) -> None:
    """Every 20th product becomes a draft (seeding makes them all active; a variant has its
    product's status)."""
    if not Product.objects.exclude(status=Product.Status.ACTIVE).exclude(status=None).exists():
        # Product n is row 1 + (n - 1) × (variants + 1): with variants, products 1, 21, 41…
        step, first = 20 * (variants + 1), 1 if variants else 0
        updated = (
            Product.objects.filter(parent=None)
            .annotate(every_20th=F("id") % step)
            .filter(every_20th=first)
            .update(status=Product.Status.DRAFT)
        )
        print(f"made {updated:,} products drafts")


def seed_images() -> None:
    """An image row for every other product (never a variant: its product's images are its
    own), so the list's first-image subquery finds rows.

    Names only (no files): the product list never opens an image, it builds the URL from
    the stored name.
    """
    if ProductImage.objects.exists():
        return
    started = time.perf_counter()
    batch: list[ProductImage] = []
    products = Product.objects.filter(parent=None).order_by("pk")
    product_ids = products.values_list("pk", flat=True).iterator(chunk_size=IMAGE_BATCH)
    for index, product_id in enumerate(product_ids):
        if index % 2:
            continue
        stem = f"bench{product_id}"
        batch.append(
            ProductImage(
                product_id=product_id,
                image=f"products/{product_id}/{stem}.jpg",
                thumbnail=f"products/{product_id}/thumbnails/{stem}.webp",
                width=1200,
                height=900,
            )
        )
        if len(batch) == IMAGE_BATCH:
            ProductImage.objects.bulk_create(batch)
            batch = []
    ProductImage.objects.bulk_create(batch)
    print(f"added {ProductImage.objects.count():,} image rows in {time.perf_counter() - started:.1f}s")


def explain(client: Client, params: dict) -> str:
    with CaptureQueriesContext(connection) as queries:
        client.get(*request_of(params))
    plans = [_plan(_page_query(queries))]
    counts = [q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(") and "store_product" in q["sql"]]
    if "q" in params and counts:
        plans.append("  capped count:\n" + _plan(counts[0]))
    return "\n".join(plans)


def _plan(sql: str) -> str:
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        return "\n".join("    " + " | ".join(str(c) for c in row) for row in cursor.fetchall())


def _page_query(queries: CaptureQueriesContext) -> str:
    return next(
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT")
        and "ORDER BY" in q["sql"]
        # Not the capped count (the page's own variant counts are subqueries of it).
        and not q["sql"].startswith("SELECT COUNT(")
        # FROM the product table itself (the image subquery and the search's read others).
        and re.search(r"FROM store_product\b", q["sql"].replace("`", "").replace('"', ""))
    )


class SqlTimer:
    """Database execute wrapper summing the time spent in the database (Django's own
    query log rounds each query to a millisecond)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def rows_shown(response: Any) -> int:
    """The rows a page showed: the changelist's, or the autocomplete's results. A page of 100
    rows takes longer to render than one of 9, whatever the table's size: the ratio of a view
    whose small catalog fills less than a page compares unequal pages (its SQL ratio does not)."""
    context = response.context
    if context is not None and "cl" in context:
        return len(context["cl"].result_list)
    return len(response.json()["results"])


def measure(client: Client, params: dict, runs: int) -> tuple[float, float, int, int]:
    """Best whole-page time, best SQL time (the page's queries alone), the query count and the
    rows shown."""
    url, params = request_of(params)
    client.get(url, params)  # warm-up: caches, buffer pool
    timings, sql_timings = [], []
    for _ in range(runs):
        sql = SqlTimer()
        with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(sql):
            started = time.perf_counter()
            response = client.get(url, params)
            timings.append(time.perf_counter() - started)
        sql_timings.append(sql.seconds)
        if response.status_code != 200:
            sys.exit(f"{url}?{params} answered {response.status_code}")
    # The best run: these machines are shared, and the minimum is the least noisy
    # estimate of what the page itself costs. Most of a page is Python (rendering 100
    # list-edit rows), which a busy machine slows at random; the SQL column is what
    # grows with the table.
    return min(timings), min(sql_timings), len(queries), rows_shown(response)


def use_database(name: str) -> None:
    """Point the default connection at another database of the same server (the small
    catalog's, with ``--small-database``): each catalog stays seeded between runs."""
    connection.close()
    connection.settings_dict["NAME"] = name
    cache.clear()  # the bench's own in-memory cache: nothing read from the other catalog


#: How long a bench waits for another one seeding the same database (seconds).
SEEDING_WAIT = 3600


@contextmanager
def seeding_lock() -> Iterator[None]:
    """One seeder per MariaDB database at a time (a named lock of the server, held while migrating
    and seeding): a second bench of the same database waits for the first to finish seeding,
    then finds the catalog seeded.
    Without it, a bench started meanwhile saw the catalog half written (in the seeder's open
    transaction), wiped it and seeded it again beside the first."""
    if connection.vendor != "mysql":
        yield
        return
    name = f"bench-seed:{connection.settings_dict['NAME']}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT GET_LOCK(%s, %s)", [name, SEEDING_WAIT])
        (locked,) = cursor.fetchone()
    if locked != 1:
        sys.exit(f"Another bench has been seeding {connection.settings_dict['NAME']!r} for {SEEDING_WAIT} s.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT RELEASE_LOCK(%s)", [name])


def prepare(size: int, *, variants: int, images: bool) -> Client:
    """The catalog of ``size`` sellable units in the current database (seeded unless it is
    there already), and a client logged in as a superuser of that database."""
    guard_database()
    products = products_of(size, variants)
    with seeding_lock():
        call_command("migrate", verbosity=0)
        if already_seeded(products, variants):
            print(f"{connection.settings_dict['NAME']}: reusing the {size:,} units already seeded")
        else:
            started = time.perf_counter()
            seed(products, variants)
            print(
                f"{connection.settings_dict['NAME']}: seeded {products:,} products "
                f"({Product.objects.count():,} rows) in {time.perf_counter() - started:.1f}s"
            )
        seed_statuses(variants)
        seed_rare_word(variants)
        if images:
            seed_images()
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 1_000_000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--search", action="store_true", help="only the search views (and the default list)")
    parser.add_argument(
        "--variants",
        type=int,
        default=0,
        help="products with this many variants each; the sizes count sellable units (default 0: no variants)",
    )
    parser.add_argument(
        "--small-database",
        metavar="NAME",
        help="seed and measure the small size in this database of the same server (its name ending in _bench)",
    )
    parser.add_argument(
        "--no-images",
        action="store_true",
        help="do not give every other product an image row (the thumbnail column then finds none)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="PREFIX", help="only the views whose names start with one of these (and default)"
    )
    args = parser.parse_args()
    views = views_of(variants=args.variants, search_only=args.search)
    if args.only:
        views = {
            name: params for name, params in views.items() if name == "default" or name.startswith(tuple(args.only))
        }
    setup_test_environment()  # allows the test client's host

    large_database = str(connection.settings_dict["NAME"])
    results: dict[int, dict[str, tuple[float, float, int, int]]] = {}
    # Small first: measuring right after deleting a million rows would time InnoDB's purge.
    for size, database in zip(args.sizes, (args.small_database or large_database, large_database), strict=True):
        use_database(database)
        client = prepare(size, variants=args.variants, images=not args.no_images)
        print(f"measuring {size:,} units on {connection.vendor} {database}")
        results[size] = {name: measure(client, params, args.runs) for name, params in views.items()}
        if args.explain:
            for name, params in views.items():
                print(f"  plan at {size:,}, {name}:\n{explain(client, params)}")

    small, large = args.sizes
    units = f", products with {args.variants} variants (sizes in sellable units)" if args.variants else ""
    print(f"\nbest of {args.runs} runs per view{units}: whole page, then its SQL alone ({database_server()})")
    print(
        f"{'view':<24}{'url':<44}{small:>10,}{large:>12,}{'ratio':>7}"
        f"{'SQL ' + format(small, ','):>14}{large:>12,}{'ratio':>7}{'queries':>10}{'rows':>10}"
    )
    for name in views:
        (t_small, s_small, q_small, r_small), (t_large, s_large, q_large, r_large) = (
            results[small][name],
            results[large][name],
        )
        query = "&".join(f"{key}={value}" for key, value in views[name].items()) or "-"
        print(
            f"{name:<24}{query:<44}{t_small * 1000:>8.1f}ms{t_large * 1000:>10.1f}ms{t_large / t_small:>7.2f}"
            f"{s_small * 1000:>12.1f}ms{s_large * 1000:>10.1f}ms{s_large / s_small:>7.2f}"
            f"{q_small:>6} /{q_large:>3}{r_small:>6} /{r_large:>3}"
        )
    changelist = [name for name, params in views.items() if request_of(params)[0] == URL]
    print_equal_rows(
        {name: results[small][name] for name in changelist},
        {name: results[large][name] for name in changelist},
        sizes=(small, large),
    )


def print_equal_rows(
    small: dict[str, tuple[float, float, int, int]],
    large: dict[str, tuple[float, float, int, int]],
    *,
    sizes: tuple[int, int],
) -> None:
    """Each changelist view whose small page shows fewer rows than its large one: its large page
    against the small catalog's default list showing as many rows (decision 0020), the cheapest
    changelist page of those rows at the small size, measured in the same run."""
    t_default, s_default, _, r_default = small["default"]
    unequal = [name for name, (*_, rows) in small.items() if rows < large[name][3] <= r_default]
    if not unequal:
        return
    print(
        f"\npages of unequal rows (decision 0020): the {sizes[1]:,} page against the {sizes[0]:,} default list "
        f"({r_default} rows: {t_default * 1000:.1f} ms, SQL {s_default * 1000:.1f} ms)"
    )
    print(f"{'view':<24}{'rows':>10}{format(sizes[1], ','):>12}{'ratio':>7}{'SQL':>12}{'ratio':>7}")
    for name in unequal:
        t_large, s_large, _, r_large = large[name]
        print(
            f"{name:<24}{small[name][3]:>5} /{r_large:>3}{t_large * 1000:>10.1f}ms{t_large / t_default:>7.2f}"
            f"{s_large * 1000:>10.1f}ms{s_large / s_default:>7.2f}"
        )


if __name__ == "__main__":
    main()
