"""Deterministic synthetic catalogs for benchmarks and load tests.

Rows are written with batched ``executemany`` (``store.sql.execute_many``) inside one transaction: at a
million products Django's ``bulk_create`` spends most of its time building
model instances, and we need neither signals nor per-row validation here
(every value is generated valid).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from itertools import islice, product

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from store import extensions
from store.models import Address, Collection, Customer, Order, OrderItem, Product, Promotion
from store.search.services import search_index_build, search_index_clear
from store.sql import execute_many

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000

ADJECTIVES = (
    "Classic",
    "Organic",
    "Vintage",
    "Slim",
    "Heavy-duty",
    "Compact",
    "Deluxe",
    "Eco",
    "Waterproof",
    "Wireless",
    "Handmade",
    "Ultralight",
    "Premium",
    "Everyday",
    "Travel",
)
NOUNS = (
    "Hoodie",
    "T-Shirt",
    "Beanie",
    "Backpack",
    "Mug",
    "Notebook",
    "Lamp",
    "Kettle",
    "Sneakers",
    "Jacket",
    "Blender",
    "Headphones",
    "Water Bottle",
    "Desk Chair",
    "Scarf",
)
DEPARTMENTS = (
    "Apparel",
    "Accessories",
    "Audio",
    "Bags",
    "Books",
    "Camping",
    "Footwear",
    "Garden",
    "Home",
    "Kitchen",
    "Lighting",
    "Office",
    "Outdoor",
    "Sports",
    "Toys",
)
FIRST_NAMES = ("Ada", "Ben", "Chloé", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon")
LAST_NAMES = ("Smith", "Okafor", "Müller", "Rossi", "Nguyen", "García", "Kowalski", "Lee")
CITIES = ("Lisbon", "Leeds", "Lyon", "Leipzig", "Lagos", "Lima", "Lund", "Lille")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
#: A seeded product with variants has these two options; its variants are some of their combinations.
OPTION_NAMES = ("Colour", "Size")
COLOURS = ("Black", "White", "Grey", "Navy", "Red", "Green")
SIZES = ("S", "M", "L", "XL")
OPTION_COMBINATIONS = list(product(COLOURS, SIZES))
PAYMENT_STATUSES = [code for code, _ in Order.PAYMENT_STATUS_CHOICES]
MEMBERSHIPS = [code for code, _ in Customer.MEMBERSHIP_CHOICES]


@dataclass(frozen=True)
class SeedResult:
    collections: int
    promotions: int
    products: int
    #: variants in all (0 when every product is standalone)
    variants: int
    customers: int
    orders: int
    order_items: int


ProgressCallback = Callable[[str, int], None]


def _noop_progress(_stage: str, _advance: int) -> None:
    return None


def _batched(rows: Iterable[Sequence], size: int) -> Iterator[list[Sequence]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _insert(
    model: type[Model], columns: Sequence[str], rows: Iterable[Sequence], *, stage: str, progress: ProgressCallback
) -> int:
    table = connection.ops.quote_name(model._meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(c) for c in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({column_sql}) VALUES ({placeholders})"
    written = 0
    for batch in _batched(rows, BATCH_SIZE):
        execute_many(sql, batch)
        written += len(batch)
        progress(stage, len(batch))
    return written


def _next_id(model: type[Model]) -> int:
    last = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def catalog_is_empty() -> bool:
    return not (Product.objects.exists() or Customer.objects.exists() or Collection.objects.exists())


@transaction.atomic
def catalog_clear() -> None:
    """Delete every store row, children first, without loading rows into Python."""
    tables = ["store_orderitem", "store_order", "store_cartitem", "store_cart", "store_product_promotions"]
    # Rows only: files of uploaded images stay in storage (seeded catalogs have none).
    image_tables = ["store_productimagesource", "store_productimage"]
    search_index_clear()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
        # Variants before their products and the images they show: the database checks each
        # row's references as a DELETE goes, not at its end.
        cursor.execute("DELETE FROM store_product WHERE parent_id IS NOT NULL")
        for table in image_tables:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")
        cursor.execute("UPDATE store_collection SET featured_product_id = NULL")
        # Product ids restart at 1 after a clear: old history must not attach to new rows.
        for model in (Product.history.model, Product, Collection, Promotion, Address, Customer):
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
    # Apps holding generic references to products (tags) drop theirs (store.extensions).
    extensions.catalog_cleared()


@transaction.atomic
def catalog_seed(
    *,
    products: int,
    variants: int = 0,
    customers: int = 0,
    orders: int = 0,
    seed: int = 1,
    anchor: datetime | None = None,
    progress: ProgressCallback = _noop_progress,
) -> SeedResult:
    """Write a synthetic catalog. The same arguments always give the same rows.

    ``variants``: each product has that many variants (options Colour and Size, some of their
    combinations; the sellable units), written right after it; 0 (the default) makes products
    without variants.

    ``anchor`` is the "now" that dates are spread back from (default: today,
    midnight UTC), so a seeded store has recent orders for the dashboard.
    """
    if not 0 <= variants <= len(OPTION_COMBINATIONS):
        raise ValueError(f"variants must be from 0 to {len(OPTION_COMBINATIONS)}, not {variants}")
    rng = random.Random(seed)
    if anchor is None:
        anchor = datetime.combine(timezone.now().date(), time(), tzinfo=UTC)
    adapt_dt = connection.ops.adapt_datetimefield_value
    # A pool of timestamps keeps adaptation out of the per-row loop.
    recent_times = [adapt_dt(anchor - timedelta(minutes=37 * i)) for i in range(2_000)]
    order_times = [adapt_dt(anchor - timedelta(hours=5 * i + 1)) for i in range(2_000)]

    collection_count = max(10, products // 10_000)
    first_collection = _next_id(Collection)
    collection_ids = list(range(first_collection, first_collection + collection_count))
    _insert(
        Collection,
        ["id", "title"],
        (
            (cid, f"{DEPARTMENTS[i % len(DEPARTMENTS)]} {i // len(DEPARTMENTS) + 1:03d} (seed {seed})")
            for i, cid in enumerate(collection_ids)
        ),
        stage="collections",
        progress=progress,
    )

    first_promotion = _next_id(Promotion)
    promotion_rows = [(first_promotion + i, f"Seeded promotion {i + 1}", Decimal(5 * (i + 1))) for i in range(5)]
    _insert(Promotion, ["id", "description", "discount"], promotion_rows, stage="promotions", progress=progress)

    first_product = _next_id(Product)
    # The sellable units (standalone products, or variants) and their prices: what orders sell.
    units: list[tuple[int, Decimal]] = []
    # With variants, a product's variants follow it: product i is row first + i × (variants + 1).
    product_ids = [first_product + i * (variants + 1) for i in range(products)]

    def stock() -> int:
        # Roughly 5% out of stock and 10% low, like a real shop floor.
        roll = rng.random()
        return 0 if roll < 0.05 else rng.randint(1, 9) if roll < 0.15 else rng.randint(10, 500)

    def product_rows() -> Iterator[tuple]:
        for i, pid in enumerate(product_ids):
            title = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {i + 1}"
            price = Decimal(rng.randint(100, 99_999)) / 100
            inventory = stock()
            sku = f"S{seed}-{i + 1:07d}"
            updated = recent_times[i % len(recent_times)]
            shared = (title, f"seed{seed}-product-{i + 1}", sku, "", updated, rng.choice(collection_ids), "active")
            if not variants:
                units.append((pid, price))
                yield (pid, *shared, price, inventory, True, False, "standalone", None, "", "", "", "")
                continue
            combinations = sorted(rng.sample(range(len(OPTION_COMBINATIONS)), variants))
            prices = [price + Decimal(5 * n) for n in range(variants)]
            # A parent is not sold itself: no stock, the price of its cheapest variant, and its
            # variants' stock tracked (store.variants.rollup).
            yield (pid, *shared, prices[0], 0, False, True, "parent", None, *OPTION_NAMES, "", "")
            for n, combination in enumerate(combinations):
                colour, size = OPTION_COMBINATIONS[combination]
                units.append((pid + n + 1, prices[n]))
                yield (
                    pid + n + 1,
                    f"{colour} / {size}",
                    None,
                    f"{sku}-{colour.upper()}-{size}",
                    "",
                    updated,
                    None,
                    None,
                    prices[n],
                    stock(),
                    True,
                    False,
                    "variant",
                    pid,
                    "",
                    "",
                    colour,
                    size,
                )

    _insert(
        Product,
        [
            "id",
            "title",
            "slug",
            "sku",
            "description",
            "last_update",
            "collection_id",
            "status",
            "unit_price",
            "inventory",
            "track_inventory",
            "has_tracked_variant",
            "structure",
            "parent_id",
            "option1_name",
            "option2_name",
            "option1",
            "option2",
            "version",
        ],
        (row + (1,) for row in product_rows()),
        stage="products",
        progress=progress,
    )

    search_index_build(first_id=first_product, progress=lambda done: progress("search index", done))

    promoted = ((product_ids[i], first_promotion + i % 5) for i in range(0, products, 20))
    _insert(
        Product.promotions.through,
        ["product_id", "promotion_id"],
        promoted,
        stage="product promotions",
        progress=progress,
    )

    first_customer = _next_id(Customer)
    customer_ids = list(range(first_customer, first_customer + customers))

    def customer_rows() -> Iterator[tuple]:
        for i, cid in enumerate(customer_ids):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            yield (
                cid,
                first,
                last,
                f"{first.lower()}.{last.lower()}.{seed}.{i + 1}@{rng.choice(EMAIL_DOMAINS)}",
                f"+1-555-{rng.randint(0, 9999):04d}",
                None,
                rng.choice(MEMBERSHIPS),
            )

    _insert(
        Customer,
        ["id", "first_name", "last_name", "email", "phone", "birth_date", "membership"],
        customer_rows(),
        stage="customers",
        progress=progress,
    )
    _insert(
        Address,
        ["street", "city", "zip", "customer_id"],
        (
            (f"{rng.randint(1, 300)} Market Street", rng.choice(CITIES), f"{rng.randint(10000, 99999)}", cid)
            for cid in customer_ids
        ),
        stage="addresses",
        progress=progress,
    )

    item_count = 0
    if orders and customer_ids and units:
        first_order = _next_id(Order)
        order_rows = [
            (first_order + i, order_times[i % len(order_times)], rng.choice(PAYMENT_STATUSES), rng.choice(customer_ids))
            for i in range(orders)
        ]
        _insert(
            Order, ["id", "placed_at", "payment_status", "customer_id"], order_rows, stage="orders", progress=progress
        )

        def item_rows() -> Iterator[tuple]:
            for oid, *_ in order_rows:
                for index in rng.sample(range(len(units)), k=min(len(units), rng.randint(1, 4))):
                    unit, price = units[index]
                    yield (oid, unit, rng.randint(1, 5), price)

        item_count = _insert(
            OrderItem,
            ["order_id", "product_id", "quantity", "unit_price"],
            item_rows(),
            stage="order items",
            progress=progress,
        )

    logger.info(
        "Seeded %s products (%s variants), %s customers, %s orders (seed %s)",
        products,
        products * variants,
        customers,
        orders,
        seed,
    )
    return SeedResult(
        collections=collection_count,
        promotions=len(promotion_rows),
        products=products,
        variants=products * variants,
        customers=customers,
        orders=orders,
        order_items=item_count,
    )
