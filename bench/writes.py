"""Writes against the database's own bulk path (issue 22): each job, ours and MariaDB's, in the same run.

One command (MariaDB only; the database is seeded with --size products if it does not hold
exactly that catalog, so give it its own, named *_bench):

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_writes_bench .venv/bin/python bench/writes.py
    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_writes_bench .venv/bin/python bench/writes.py \\
        --size 1000000 --jobs bulk --runs 1

Options: ``--size`` products (default 100,000), ``--runs`` timed runs of each path (the best
is reported; default 3), ``--jobs`` any of update, new, bulk, export (default all four).
Seeding (``catalog_seed(products=size, seed=1)``, with the search index, then a history
baseline row for every product, as in a store that has been running, so every write below
records exactly one history row a product) takes about 1.5 min at 100k and 22 min at 1M
(seed 1,228 s + baseline 80 s, shared 2-core machine at load 14); a catalog already seeded at
the size is reused.

The jobs, each timed as ours, then the database's own path, ``--runs`` times:

1. update: a CSV ``sku,title,unit_price,inventory`` changing the price and stock of every
   product. Ours: ``product_import`` (the service behind ``manage.py import_products``).
   The database's: ``LOAD DATA LOCAL INFILE`` of the same file into a temporary staging
   table + one ``UPDATE store_product JOIN staging SET unit_price, inventory, version =
   version + 1, last_update``. The catalog (prices, stock, versions) is restored after each
   path and the history rows ours wrote are deleted, so every run starts from the seed.
2. new: a CSV of --size new products (bench/import.py's columns: sku, title, slug,
   description, unit_price, inventory, collection by title). Ours: ``product_import``, then
   the new products are deleted again. The database's: ``LOAD DATA LOCAL INFILE`` into a
   copy of the product table with all its indexes (``CREATE TABLE … LIKE store_product``,
   filled with the current products first, untimed, so both add --size rows to a table of
   --size rows; LIKE copies the CHECK constraints, not the foreign keys).
3. bulk: "raise price 5%" on every product as a job (``bulk_edit_job_create`` as "Select all
   N matching" queues it, run by one ``manage.py run_worker --batch``, database queue).
   Ours is the job's start → end (history included). The database's: ``UPDATE store_product
   SET unit_price = ROUND(unit_price * 1.05, 2)`` in a transaction, rolled back. The job's
   raises stay (each run raises the prices it finds by 5% again).
4. export: ``manage.py export_products --format csv`` (in process) against the ``mariadb``
   client (``--batch --quick``) streaming the same columns into a file: collection title and
   promotion ids joined, no images or tags.

Every path is checked after it ran: the rows it wrote (count, sums and a CRC32 checksum
computed by the database against the values the file or the rule gives), the job's counts,
the history rows, the rows in each exported file. MariaDB's ``local_infile`` must be ON on
the server: the script turns it on (``SET GLOBAL local_infile = 1``) if it is not, and says so.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]
JOBS = ("update", "new", "bulk", "export")
WORKDIR = Path(tempfile.mkdtemp(prefix="bench-writes-"))


def environment() -> dict[str, str]:
    """Production settings and the database queue, as a worker runs in production (bench/bulk_job.py)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("mysql://", "mysql2://", "mariadb://")):
        sys.exit(
            "bench/writes.py compares our writes with MariaDB's own bulk paths (LOAD DATA LOCAL INFILE, "
            "the mariadb client): it runs on MariaDB only, not SQLite. Set "
            "DATABASE_URL=mysql://root@127.0.0.1:3306/<name>_bench."
        )
    name = urlsplit(url).path.lstrip("/")
    if not name.endswith("_bench"):
        sys.exit(f"Refusing to use {name!r}: the benchmark database name must end in _bench.")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "backoffice.settings.prod",
        "TASKS_BACKEND": "db",
        "LOG_LEVEL": "WARNING",
        "AUDIT_LOG_LEVEL": "WARNING",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "MEDIA_ROOT": str(WORKDIR / "media"),
        "PRIVATE_FILES_ROOT": str(WORKDIR / "private"),
    }
    env.pop("REDIS_URL", None)
    return env


def create_database(url: str) -> None:
    import MySQLdb

    parts = urlsplit(url)
    connection = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=parts.username or "root",
        password=parts.password or "",
    )  # fmt: skip
    connection.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{parts.path.lstrip('/')}` CHARACTER SET utf8mb4")
    connection.close()


ENV = environment()
create_database(ENV["DATABASE_URL"])
os.environ.update(ENV)
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import MySQLdb  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from bench.server import database_server  # noqa: E402
from store.bulk.actions import get_bulk_action  # noqa: E402
from store.bulk.jobs import bulk_edit_job_create  # noqa: E402
from store.importing.service import product_import  # noqa: E402
from store.models import BulkEditJob, Collection, Product  # noqa: E402
from store.seeding import catalog_clear, catalog_seed  # noqa: E402
from store.services import product_history_baseline_where  # noqa: E402

NEW_SKU = "WNEW-"  # the new products' SKU prefix (job 2)
LOAD_OPTIONS = "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n'"


@dataclass
class Result:
    job: str
    rows: int
    ours: list[float] = field(default_factory=list)
    database: list[float] = field(default_factory=list)
    ours_label: str = ""
    database_label: str = ""
    notes: list[str] = field(default_factory=list)


def sql(query: str, params: tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall()) if cursor.description else []


def one(query: str, params: tuple = ()) -> tuple:
    return sql(query, params)[0]


def raw_connection() -> MySQLdb.Connection:
    """A connection of our own for the database's path, with LOAD DATA LOCAL allowed on the client side."""
    settings = connection.settings_dict
    return MySQLdb.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 3306),
        user=settings["USER"],
        password=settings["PASSWORD"] or "",
        database=settings["NAME"],
        charset="utf8mb4",
        local_infile=True,
        autocommit=False,
    )


def check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"CHECK FAILED: {message}")


def crc_xor(lines: list[str]) -> int:
    value = 0
    for line in lines:
        value ^= zlib.crc32(line.encode())
    return value


# --- The catalog ---------------------------------------------------------------------------


def seeded(size: int) -> bool:
    """The catalog is exactly what ``catalog_seed(products=size, seed=1)`` writes (bench/changelist.py)."""
    return (
        Product.objects.count() == size
        and Product.objects.filter(sku=f"S1-{size:07d}").exists()
        and not Product.objects.filter(sku__startswith="S2-").exists()
    )


def prepare(size: int) -> None:
    call_command("migrate", verbosity=0)
    new_products_delete()  # a run stopped half-way left its new products
    sql("DROP TABLE IF EXISTS bench_writes_copy")
    sql("DROP TABLE IF EXISTS bench_writes_snapshot")
    if seeded(size):
        print(f"reusing the seeded catalog of {size:,} products")
    else:
        started = time.perf_counter()
        catalog_clear()
        catalog_seed(products=size, seed=1)
        sql("OPTIMIZE TABLE store_product, store_collection, store_product_promotions")
        print(f"seeded {size:,} products in {time.perf_counter() - started:.0f} s")
    # A store that has been running: every product has a history, so every write below records
    # one history row a product (a product without one gets its baseline row first).
    started = time.perf_counter()
    written = history_baseline()
    if written:
        print(f"wrote the history baseline of {written:,} products in {time.perf_counter() - started:.0f} s")


def history_baseline() -> int:
    """Every product without history gets its baseline row (the product as it is, dated at its
    last_update): the service the write paths call, over the whole table in one statement."""
    with transaction.atomic():
        return product_history_baseline_where(where="1 = 1")


def local_infile_on() -> None:
    (value,) = one("SELECT @@GLOBAL.local_infile")
    if not value:
        sql("SET GLOBAL local_infile = 1")
        print("the server had local_infile OFF: turned it on (SET GLOBAL local_infile = 1)")


def history_mark() -> int:
    return int(one("SELECT COALESCE(MAX(history_id), 0) FROM store_historicalproduct")[0])


def history_trim(mark: int) -> None:
    sql("DELETE FROM store_historicalproduct WHERE history_id > %s", (mark,))


# --- 1. price/stock updates ----------------------------------------------------------------


def update_file(path: Path) -> tuple[int, Decimal, int, int]:
    """Every product: its own title, price + 1.00, stock + 1; and the sums and checksum expected after."""
    count, price_sum, stock_sum, lines = 0, Decimal(0), 0, []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sku", "title", "unit_price", "inventory"])
        for sku, title, price, stock in sql("SELECT sku, title, unit_price, inventory FROM store_product ORDER BY id"):
            price, stock = price + 1, stock + 1
            writer.writerow([sku, title, f"{price:.2f}", stock])
            count, price_sum, stock_sum = count + 1, price_sum + price, stock_sum + stock
            lines.append(f"{sku},{price:.2f},{stock}")
    return count, price_sum, stock_sum, crc_xor(lines)


def update_verify(expected: tuple[int, Decimal, int, int], who: str) -> None:
    count, price_sum, stock_sum, crc, bumped = one(
        "SELECT COUNT(*), SUM(p.unit_price), SUM(p.inventory), "
        "BIT_XOR(CRC32(CONCAT_WS(',', p.sku, p.unit_price, p.inventory))), SUM(p.version = s.version + 1) "
        "FROM store_product p JOIN bench_writes_snapshot s ON s.id = p.id"
    )
    check(
        (count, price_sum, int(stock_sum), int(crc)) == expected and int(bumped) == expected[0],
        f"{who}: the catalog after the update is not the file's (count, price sum, stock sum, crc, versions bumped "
        f"{(count, price_sum, stock_sum, crc, bumped)} != {expected})",
    )


def update_restore() -> None:
    sql(
        "UPDATE store_product p JOIN bench_writes_snapshot s ON s.id = p.id "
        "SET p.unit_price = s.unit_price, p.inventory = s.inventory, p.version = s.version, "
        "p.last_update = s.last_update"
    )


UPDATE_SQL = [
    "CREATE TEMPORARY TABLE bench_staging (sku VARCHAR(64) NOT NULL PRIMARY KEY, title VARCHAR(255) NOT NULL, "
    "unit_price DECIMAL(10,2) NOT NULL, inventory INT NOT NULL) ENGINE=InnoDB",
    "LOAD DATA LOCAL INFILE %(file)s INTO TABLE bench_staging " + LOAD_OPTIONS + " IGNORE 1 LINES "
    "(sku, title, unit_price, inventory)",
    "UPDATE store_product p JOIN bench_staging s ON s.sku = p.sku SET p.unit_price = s.unit_price, "
    "p.inventory = s.inventory, p.version = p.version + 1, p.last_update = NOW(6)",
    "COMMIT",
]


def job_update(size: int, runs: int) -> Result:
    result = Result("update", size, ours_label="import_products (product_import)",
                    database_label="LOAD DATA LOCAL INFILE into a temporary staging table + UPDATE … JOIN")  # fmt: skip
    sql(
        "CREATE TABLE bench_writes_snapshot (PRIMARY KEY (id)) AS "
        "SELECT id, unit_price, inventory, version, last_update FROM store_product"
    )
    path = WORKDIR / "updates.csv"
    expected = update_file(path)
    check(expected[0] == size, f"the update file has {expected[0]:,} rows, not {size:,}")
    mark = history_mark()
    for _ in range(runs):
        started = time.perf_counter()
        outcome = product_import(path=path, file_name=path.name)
        result.ours.append(time.perf_counter() - started)
        job = outcome.job
        check(job.updated_count == size and not job.error_count, f"ours: {job.message}")
        update_verify(expected, "ours")
        history = one("SELECT COUNT(*) FROM store_historicalproduct WHERE history_id > %s", (mark,))[0]
        check(history == size, f"ours wrote {history:,} history rows, not {size:,}")
        update_restore()
        history_trim(mark)

        raw = raw_connection()
        cursor = raw.cursor()
        started = time.perf_counter()
        updated = 0
        for statement in UPDATE_SQL:
            cursor.execute(statement, {"file": str(path)} if "%(file)s" in statement else None)
            updated = cursor.rowcount if statement.startswith("UPDATE") else updated
        result.database.append(time.perf_counter() - started)
        raw.close()
        check(updated == size, f"the UPDATE … JOIN changed {updated:,} rows, not {size:,}")
        update_verify(expected, "the database's path")
        update_restore()
    sql("DROP TABLE bench_writes_snapshot")
    result.notes.append("database path: " + "; ".join(UPDATE_SQL).replace("%(file)s", f"'{path.name}'"))
    return result


# --- 2. new products -----------------------------------------------------------------------


def new_file(path: Path, size: int) -> tuple[int, Decimal, int]:
    collections = list(Collection.objects.order_by("pk").values_list("title", flat=True))
    price_sum, stock_sum = Decimal(0), 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sku", "title", "slug", "description", "unit_price", "inventory", "collection"])
        for i in range(size):
            price, stock = Decimal(f"{10 + i % 990}.{i % 100:02d}"), i % 500
            writer.writerow(
                [
                    f"{NEW_SKU}{i:07d}",
                    f"Bench product {i}",
                    f"bench-writes-new-{i}",
                    f"Generated row {i}, for timing.",
                    f"{price:.2f}",
                    stock,
                    collections[i % len(collections)],
                ]
            )
            price_sum, stock_sum = price_sum + price, stock_sum + stock
    return size, price_sum, stock_sum


def new_verify(table: str, expected: tuple[int, Decimal, int], who: str) -> None:
    count, price_sum, stock_sum, with_collection = one(
        f"SELECT COUNT(*), SUM(unit_price), SUM(inventory), COUNT(collection_id) FROM {table} WHERE sku LIKE %s",
        (NEW_SKU + "%",),
    )
    check(
        (count, price_sum, int(stock_sum or 0)) == expected and with_collection == expected[0],
        f"{who}: the new rows are not the file's ({count}, {price_sum}, {stock_sum}, {with_collection} with a "
        f"collection != {expected})",
    )


def new_products_delete() -> None:
    """The new products and every row that points at them (search terms, history, related rows)."""
    ids = "SELECT id FROM store_product WHERE sku LIKE %s"
    like = (NEW_SKU + "%",)
    if not one("SELECT COUNT(*) FROM store_product WHERE sku LIKE %s", like)[0]:
        return
    referencing = sql(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
        "REFERENCED_TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = 'store_product' "
        "AND TABLE_NAME <> 'store_product'"
    )
    for table, column in [*referencing, ("store_productsearchterm", "product_id")]:
        sql(f"DELETE FROM {table} WHERE {column} IN ({ids})", like)
    sql("DELETE FROM store_historicalproduct WHERE sku LIKE %s", like)
    sql("DELETE FROM store_product WHERE sku LIKE %s", like)


def new_load_sql(path: Path) -> list[str]:
    return [
        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE bench_writes_copy {LOAD_OPTIONS} IGNORE 1 LINES "
        "(sku, title, slug, description, unit_price, inventory, @collection) "
        "SET collection_id = (SELECT id FROM store_collection WHERE title = @collection), "
        "last_update = NOW(6), version = 1, status = 'active'",
        "COMMIT",
    ]


def job_new(size: int, runs: int) -> Result:
    result = Result("new", size, ours_label="import_products (product_import)",
                    database_label="LOAD DATA LOCAL INFILE into CREATE TABLE … LIKE store_product")  # fmt: skip
    path = WORKDIR / "new.csv"
    expected = new_file(path, size)
    mark = history_mark()
    statements = new_load_sql(path)
    for _ in range(runs):
        started = time.perf_counter()
        outcome = product_import(path=path, file_name=path.name)
        result.ours.append(time.perf_counter() - started)
        job = outcome.job
        check(job.created_count == size and not job.error_count, f"ours: {job.message}")
        new_verify("store_product", expected, "ours")
        history = one("SELECT COUNT(*) FROM store_historicalproduct WHERE history_id > %s", (mark,))[0]
        check(history == size, f"ours wrote {history:,} history rows, not {size:,}")
        new_products_delete()
        history_trim(mark)

        sql("DROP TABLE IF EXISTS bench_writes_copy")
        sql("CREATE TABLE bench_writes_copy LIKE store_product")
        sql("INSERT INTO bench_writes_copy SELECT * FROM store_product")
        raw = raw_connection()
        cursor = raw.cursor()
        started = time.perf_counter()
        loaded = 0
        for statement in statements:
            cursor.execute(statement)
            loaded = cursor.rowcount if statement.startswith("LOAD") else loaded
        result.database.append(time.perf_counter() - started)
        raw.close()
        check(loaded == size, f"LOAD DATA loaded {loaded} rows, not {size:,}")
        new_verify("bench_writes_copy", expected, "the database's path")
        sql("DROP TABLE bench_writes_copy")
    result.notes.append(
        "database path: CREATE TABLE bench_writes_copy LIKE store_product; INSERT … SELECT * FROM store_product "
        "(untimed); then, timed: " + "; ".join(statements)
    )
    return result


# --- 3. bulk edit "raise price 5%" ----------------------------------------------------------

RAISED = "BIT_XOR(CRC32(CONCAT_WS(',', id, ROUND(unit_price * 1.05, 2)))), SUM(version)"
CURRENT = "BIT_XOR(CRC32(CONCAT_WS(',', id, unit_price))), SUM(version)"
RAW_UPDATE = "UPDATE store_product SET unit_price = ROUND(unit_price * 1.05, 2)"


def run_worker() -> float:
    started = time.perf_counter()
    done = subprocess.run([*MANAGE, "run_worker", "--batch"], env=ENV, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(done.stdout + done.stderr)
    return time.perf_counter() - started


def job_bulk(size: int, runs: int) -> Result:
    result = Result("bulk", size, ours_label='"raise price 5%" job, worker (start → end)',
                    database_label="UPDATE store_product SET unit_price = ROUND(unit_price * 1.05, 2)")  # fmt: skip
    user, _ = get_user_model().objects.get_or_create(
        username="bench-writes", defaults={"is_staff": True, "is_superuser": True}
    )
    idle = run_worker()  # drains anything left over
    action = get_bulk_action("change_price")
    walls = []
    for _ in range(runs):
        expected_crc, versions = one(f"SELECT {RAISED} FROM store_product")
        mark = history_mark()
        job = bulk_edit_job_create(
            user=user,
            action=action,
            parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
            filters="",
            selected_ids=None,
        )
        walls.append(run_worker())
        job = BulkEditJob.objects.select_related("bulk_edit").get(pk=job.pk)
        check(job.state == "done", f"bulk edit job #{job.pk} ended {job.state}: {job.error or job.message}")
        check(job.changed_count == size, f"the job changed {job.changed_count:,} products, not {size:,}")
        result.ours.append(float(job.elapsed_seconds or 0))
        crc, versions_after = one(f"SELECT {CURRENT} FROM store_product")
        check(
            crc == expected_crc and versions_after == versions + size,
            "ours: the prices after the job are not ROUND(old * 1.05, 2), or versions were not bumped",
        )
        history = one(
            "SELECT COUNT(*) FROM store_historicalproduct WHERE history_id > %s AND history_change_reason LIKE %s",
            (mark, f"Bulk edit #{job.bulk_edit_id}:%"),
        )[0]
        check(history == size, f"ours wrote {history:,} history rows, not {size:,}")

        expected_crc, versions = one(f"SELECT {RAISED} FROM store_product")
        raw = raw_connection()
        cursor = raw.cursor()
        started = time.perf_counter()
        cursor.execute(RAW_UPDATE)
        result.database.append(time.perf_counter() - started)
        updated = cursor.rowcount
        cursor.execute(f"SELECT {CURRENT} FROM store_product")
        crc, versions_after = cursor.fetchone()
        raw.rollback()
        raw.close()
        check(updated == size and crc == expected_crc, f"the raw UPDATE changed {updated:,} rows (checksum {crc})")
    result.notes.append(
        f"ours: bulk_edit_job_create(change_price, raise_pct 5, select all) + `manage.py run_worker --batch`; "
        f"worker wall time best {min(walls):.1f} s (an idle worker: {idle:.1f} s); history rows checked"
    )
    result.notes.append(f"database path: {RAW_UPDATE} (in a transaction, checked, rolled back)")
    return result


# --- 4. CSV export -------------------------------------------------------------------------

EXPORT_SELECT = (
    "SELECT p.sku, p.title, p.slug, p.description, p.unit_price, p.inventory, c.title AS collection, "
    "(SELECT GROUP_CONCAT(pp.promotion_id ORDER BY pp.promotion_id SEPARATOR ',') FROM store_product_promotions pp "
    "WHERE pp.product_id = p.id) AS promotions, p.status, p.track_inventory, p.vendor, p.barcode, "
    "p.compare_at_price, p.cost_per_item, p.weight, p.weight_unit, p.seo_title, p.seo_description "
    "FROM store_product p LEFT JOIN store_collection c ON c.id = p.collection_id ORDER BY p.sku, p.id"
)


def client_command(output: Path) -> tuple[list[str], dict[str, str]]:
    settings = connection.settings_dict
    client = "mariadb" if subprocess.run(["which", "mariadb"], capture_output=True).returncode == 0 else "mysql"
    command = [
        client, "--batch", "--quick", f"--host={settings['HOST'] or '127.0.0.1'}",
        f"--port={settings['PORT'] or 3306}", f"--user={settings['USER']}", str(settings["NAME"]),
        "-e", EXPORT_SELECT,
    ]  # fmt: skip
    env = {**os.environ, "MYSQL_PWD": settings["PASSWORD"] or ""}
    return command, env


def csv_rows(path: Path) -> tuple[int, Decimal]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        count, total = 0, Decimal(0)
        for row in reader:
            count, total = count + 1, total + Decimal(row["unit_price"])
    return count, total


def tsv_rows(path: Path) -> tuple[int, Decimal]:
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        column = header.index("unit_price")
        count, total = 0, Decimal(0)
        for line in handle:
            count, total = count + 1, total + Decimal(line.split("\t")[column])
    return count, total


def job_export(size: int, runs: int) -> Result:
    result = Result("export", size, ours_label="export_products --format csv",
                    database_label="mariadb --batch --quick -e 'SELECT …' > file")  # fmt: skip
    expected = (size, one("SELECT SUM(unit_price) FROM store_product")[0])
    ours_path, client_path = WORKDIR / "ours.csv", WORKDIR / "client.tsv"
    command, env = client_command(client_path)
    for _ in range(runs):
        started = time.perf_counter()
        call_command("export_products", file_format="csv", output=ours_path, stdout=io.StringIO())
        result.ours.append(time.perf_counter() - started)
        found = csv_rows(ours_path)
        check(found == expected, f"ours: the file's rows and price sum {found} != {expected}")

        started = time.perf_counter()
        with client_path.open("wb") as output:
            subprocess.run(command, env=env, stdout=output, check=True)
        result.database.append(time.perf_counter() - started)
        found = tsv_rows(client_path)
        check(found == expected, f"the client: the file's rows and price sum {found} != {expected}")
    ours_mb, client_mb = ours_path.stat().st_size / 2**20, client_path.stat().st_size / 2**20
    result.notes.append(f"files: ours {ours_mb:.1f} MB CSV, the client's {client_mb:.1f} MB TSV (no images or tags)")
    result.notes.append("database path: " + shlex.join(command) + " > file")
    return result


# --- Report --------------------------------------------------------------------------------

TITLES = {
    "update": "import price/stock updates",
    "new": "import new products",
    "bulk": 'bulk edit "raise price 5%"',
    "export": "CSV export",
}


def report(results: list[Result], size: int, runs: int) -> None:
    print(f"\n== {size:,} products, {database_server()}, best of {runs} run(s) ==")
    print(f"command: {shlex.join(['.venv/bin/python', 'bench/writes.py', *sys.argv[1:]])}")
    print(f"{'job':<28}{'ours s':>9}{'db s':>9}{'ratio':>8}{'ours rows/s':>13}{'db rows/s':>12}")
    for result in results:
        ours, database = min(result.ours), min(result.database)
        print(
            f"{TITLES[result.job]:<28}{ours:>9.2f}{database:>9.2f}{ours / database:>7.1f}x"
            f"{result.rows / ours:>13,.0f}{result.rows / database:>12,.0f}"
        )
    by_job = {result.job: result for result in results}
    if "update" in by_job and "new" in by_job:
        update, new = min(by_job["update"].ours), min(by_job["new"].ours)
        print(f"ours: updates / new products = {update:.2f} s / {new:.2f} s = {update / new:.2f}x (goal <= 1)")
    for result in results:
        print(f"\n{TITLES[result.job]}: ours = {result.ours_label}; database = {result.database_label}")
        print(f"  ours runs (s): {', '.join(f'{s:.2f}' for s in result.ours)}")
        print(f"  database runs (s): {', '.join(f'{s:.2f}' for s in result.database)}")
        for note in result.notes:
            print(f"  {note}")


RUNNERS: dict[str, Callable[[int, int], Result]] = {
    "update": job_update,
    "new": job_new,
    "bulk": job_bulk,
    "export": job_export,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS))
    args = parser.parse_args()
    prepare(args.size)
    local_infile_on()
    results = []
    for name in JOBS:
        if name in args.jobs:
            started = time.perf_counter()
            results.append(RUNNERS[name](args.size, args.runs))
            print(f"{name}: done in {time.perf_counter() - started:.0f} s", flush=True)
    report(results, args.size, args.runs)


if __name__ == "__main__":
    main()
