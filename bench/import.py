"""Product import benchmark: our service vs raw bulk_create vs django-import-export's default resource.

    .venv/bin/python bench/import.py                 # SQLite and MariaDB, 100k rows
    .venv/bin/python bench/import.py --db sqlite --rows 20000
    .venv/bin/python bench/import.py --variants --db mariadb   # products with variants vs without

``--variants`` imports, in the same run, a 100k-row Shopify-style file of 20k products × 5
variants and a 100k-row Shopify-style file of products without variants (``Title`` /
``Default Title``), each into an empty catalog, and prints both times and their ratio (goal:
at most 1.5x). ``DATABASE_URL=mysql://…/name`` picks the MariaDB database (default
``bo_import_bench``).

Each database runs in its own process (settings read DATABASE_URL at start-up):
SQLite in a temporary file, MariaDB in ``bo_import_bench`` on 127.0.0.1:3306
(created if missing, emptied before each path). All paths read the same
generated native CSV (sku, title, slug, description, unit_price, inventory,
collection) into an empty catalog whose collections exist. The anchor (the
default ModelResource, ~561 rows/s on MariaDB) runs on a prefix of the file
(--anchor-rows, default 10,000) and its rate is compared per row.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARIADB_URL = os.environ.get("DATABASE_URL", "")
if not MARIADB_URL.startswith("mysql://"):
    MARIADB_URL = "mysql://root@127.0.0.1:3306/bo_import_bench"
SHOPIFY_HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Type",
    "Option1 Name",
    "Option1 Value",
    "Variant SKU",
    "Variant Price",
    "Variant Inventory Qty",
    "Variant Inventory Tracker",
]
SIZES = ["XS", "S", "M", "L", "XL"]
COLLECTIONS = [f"Bench collection {i:02d}" for i in range(20)]
HEADER = ["sku", "title", "slug", "description", "unit_price", "inventory", "collection"]


def generate(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(
                [
                    f"BENCH-{i:07d}",
                    f"Bench product {i}",
                    f"bench-product-{i}",
                    f"Generated row {i}, for timing.",
                    f"{10 + i % 990}.{i % 100:02d}",
                    i % 500,
                    COLLECTIONS[i % len(COLLECTIONS)],
                ]
            )


def generate_shopify(path: Path, rows: int, *, per_product: int) -> None:
    """A Shopify-style file of ``rows`` variant rows: ``per_product`` variants per Handle (Size), or
    products without variants (``Title`` / ``Default Title``) when ``per_product`` is 1."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SHOPIFY_HEADER)
        for i in range(rows):
            product, n = divmod(i, per_product)
            first = n == 0
            option = ("Title", "Default Title") if per_product == 1 else ("Size" if first else "", SIZES[n])
            writer.writerow(
                [
                    f"bench-{product:07d}",
                    f"Bench product {product}" if first else "",
                    f"Generated product {product}, for timing." if first else "",
                    COLLECTIONS[product % len(COLLECTIONS)] if first else "",
                    *option,
                    f"BENCH-{i:07d}",
                    f"{10 + i % 990}.{i % 100:02d}",
                    i % 500,
                    "shopify",
                ]
            )


def _database(db: str, workdir: Path) -> None:
    if db == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    import MySQLdb

    name = MARIADB_URL.rsplit("/", 1)[-1]
    connection = MySQLdb.connect(host="127.0.0.1", user="root", port=3306)
    connection.cursor().execute(f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4")
    connection.close()
    os.environ["DATABASE_URL"] = MARIADB_URL


def _setup(db: str, *, prefix: str) -> Path:
    """A work directory, the database chosen, Django set up and migrated."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    _database(db, workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.test")
    os.environ["PRIVATE_FILES_ROOT"] = str(workdir / "files")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.getLogger("backoffice.audit").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return workdir


def reset() -> None:
    """An empty catalog with the bench's collections."""
    from django.db import connection

    from store.models import Collection, ImportJob

    with connection.cursor() as cursor:
        for table in ("store_orderitem", "store_cartitem", "store_product_promotions", "store_productsearchterm"):
            cursor.execute(f"DELETE FROM {table}")
        cursor.execute("UPDATE store_collection SET featured_product_id = NULL")
        cursor.execute("DELETE FROM store_product WHERE parent_id IS NOT NULL")  # variants before their products
        cursor.execute("DELETE FROM store_product")
        cursor.execute("DELETE FROM store_collection")
    Collection.objects.bulk_create([Collection(title=title) for title in COLLECTIONS])
    ImportJob.objects.all().delete()


def variants_worker(db: str, rows: int) -> None:
    """The same number of rows with and without variants, same run: the time ratio."""
    workdir = _setup(db, prefix="bench-import-variants-")
    from django.db import connection

    from store.importing.service import product_import
    from store.models import Product

    flat, grouped = workdir / "flat.csv", workdir / "variants.csv"
    generate_shopify(flat, rows, per_product=1)
    generate_shopify(grouped, rows, per_product=len(SIZES))

    times: dict[str, float] = {}
    for name, path, expected in (("without", flat, rows), ("with", grouped, rows + rows // len(SIZES))):
        reset()
        start = time.perf_counter()
        outcome = product_import(path=path, file_name=path.name, preset="shopify")
        times[name] = time.perf_counter() - start
        assert outcome.job.created_count == expected, (outcome.job.message, outcome.plan and outcome.plan.errors[:3])
        assert Product.objects.count() == expected
    print(f"\n== {db} ({connection.vendor}): {rows:,} Shopify rows with and without variants ==")
    print(f"{'file':<52}{'seconds':>10}{'rows/s':>12}")
    print(
        f"{'without variants (' + f'{rows:,} products)':<52}{times['without']:>10.2f}{rows / times['without']:>12,.0f}"
    )
    label = f"with variants ({rows // len(SIZES):,} products x {len(SIZES)} variants)"
    print(f"{label:<52}{times['with']:>10.2f}{rows / times['with']:>12,.0f}")
    print(f"with / without variants:    {times['with'] / times['without']:.2f}x  (goal <= 1.5x)")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(db: str, rows: int, anchor_rows: int) -> None:
    workdir = _setup(db, prefix="bench-import-")
    import tablib
    from django.conf import settings
    from django.db import connection, transaction
    from import_export import fields, resources, widgets

    from store.importing.service import product_import
    from store.models import Collection, Product

    csv_path = workdir / "products.csv"
    generate(csv_path, rows)
    anchor_path = workdir / "anchor.csv"
    generate(anchor_path, anchor_rows)

    results: dict[str, float] = {}

    # 1. our service (the CLI path): first, so the peak RSS is ours
    reset()
    start = time.perf_counter()
    outcome = product_import(path=csv_path, file_name=csv_path.name)
    results["ours"] = time.perf_counter() - start
    assert outcome.job.created_count == rows, outcome.job.message
    ours_rss = peak_rss_mb()
    start = time.perf_counter()
    again = product_import(path=csv_path, file_name=csv_path.name)
    results["ours_unchanged"] = time.perf_counter() - start
    assert again.job.unchanged_count == rows

    # 2. the limit: parse, resolve the FK, bulk_create in 1000-row batches
    reset()
    start = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as handle, transaction.atomic():
        ids = dict(Collection.objects.values_list("title", "id"))
        Product.objects.bulk_create(
            (
                Product(
                    sku=row["sku"],
                    title=row["title"],
                    slug=row["slug"],
                    description=row["description"],
                    unit_price=row["unit_price"],
                    inventory=int(row["inventory"]),
                    collection_id=ids[row["collection"]],
                )
                for row in csv.DictReader(handle)
            ),
            batch_size=1000,
        )
    results["raw"] = time.perf_counter() - start
    assert Product.objects.count() == rows

    # 3. the anchor: django-import-export's default ModelResource (no bulk), on a prefix
    class DefaultProductResource(resources.ModelResource):
        collection = fields.Field(
            attribute="collection", column_name="collection", widget=widgets.ForeignKeyWidget(Collection, "title")
        )

        class Meta:
            model = Product
            fields = ("sku", "title", "slug", "description", "unit_price", "inventory", "collection")
            import_id_fields = ("sku",)

    reset()
    dataset = tablib.Dataset().load(anchor_path.read_text(encoding="utf-8"), format="csv")
    start = time.perf_counter()
    result = DefaultProductResource().import_data(dataset, dry_run=False, use_transactions=True, raise_errors=True)
    results["anchor"] = time.perf_counter() - start
    assert not result.has_errors()
    assert Product.objects.count() == anchor_rows

    # 4. admin end to end: upload + preview page + confirm through the test client
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    reset()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser("bench", "b@x.io", "pw")
    client = Client()
    client.force_login(user)
    start = time.perf_counter()
    response = client.post(
        "/admin/store/product/import/",
        {
            "preset": "auto",
            "file": SimpleUploadedFile("products.csv", csv_path.read_bytes()),
        },
    )
    assert response.status_code == 302, response.content[:500]
    preview = client.get(response.url)
    results["admin_preview"] = time.perf_counter() - start
    confirm = client.post(response.url, {"_confirm": "1"})
    results["admin_e2e"] = time.perf_counter() - start
    assert confirm.status_code == 302
    assert Product.objects.count() == rows
    preview_kb = len(preview.content) / 1024

    rate = {key: (anchor_rows if key == "anchor" else rows) / seconds for key, seconds in results.items()}
    print(f"\n== {db} ({connection.vendor}), {rows:,} rows; anchor on {anchor_rows:,} rows ==")
    print(f"{'path':<34}{'seconds':>10}{'rows/s':>12}")
    labels = {
        "raw": "raw bulk_create (the limit)",
        "ours": "our service (CLI path)",
        "ours_unchanged": "our service, re-import (0 changes)",
        "anchor": "import-export default resource",
        "admin_preview": "admin upload + preview page",
        "admin_e2e": "admin preview + confirm (e2e)",
    }
    for key in ("raw", "ours", "ours_unchanged", "anchor", "admin_preview", "admin_e2e"):
        print(f"{labels[key]:<34}{results[key]:>10.2f}{rate[key]:>12,.0f}")
    print(f"ours / raw throughput:      {rate['ours'] / rate['raw']:.0%}   (target >= 50%)")
    print(f"ours / default resource:    {rate['ours'] / rate['anchor']:.1f}x  (target >= 15x)")
    print(f"admin e2e time / raw time:  {results['admin_e2e'] / results['raw']:.2f}x  (target <= 3x)")
    print(f"our peak RSS:               {ours_rss:.0f} MB (target <= 400 MB)")
    print(f"preview page:               {preview_kb:.0f} KB of HTML")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "mariadb", "both"], default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--anchor-rows", type=int, default=10_000)
    parser.add_argument("--variants", action="store_true", help="products with variants vs without")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        if args.variants:
            variants_worker(args.db, args.rows)
        else:
            worker(args.db, args.rows, args.anchor_rows)
        return
    for db in ["sqlite", "mariadb"] if args.db == "both" else [args.db]:
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                "--db",
                db,
                "--rows",
                str(args.rows),
                "--anchor-rows",
                str(args.anchor_rows),
                *(["--variants"] if args.variants else []),
            ],
            check=True,
            cwd=ROOT,
        )


if __name__ == "__main__":
    main()
