"""Reads: querysets with their joins and annotations already in place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.expressions import Col
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.lookups import Exact, IsNull
from django.db.models.sql.where import AND, OR, WhereNode
from django.utils import timezone

from backoffice.cache import fail_safe_cache
from store.models import (
    SELLABLE_STRUCTURES,
    Collection,
    Customer,
    Order,
    OrderItem,
    Product,
    ProductImage,
    Promotion,
)
from store.search.selectors import (
    is_products_only,
    is_sellable_units_only,
    search_units,
    search_units_capped_count,
    search_units_products,
    search_words,
)
from store.search.selectors import product_search as product_search  # the one product search, re-exported
from store.variants import selectors as variant_selectors

MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
LINE_TOTAL = ExpressionWrapper(F("quantity") * F("unit_price"), output_field=MONEY)
T = TypeVar("T")


def product_list_inventory_below(*, below: int) -> QuerySet[Product]:
    """Products whose stock is tracked with fewer than ``below`` left, out-of-stock ones included.

    The admin's Low / Out of stock / OK statuses are ``product_list_by_stock_status``.
    """
    return Product.objects.filter(inventory__lt=below, track_inventory=True)


def order_list_with_totals() -> QuerySet[Order]:
    """Orders with ``items_count`` and ``order_total`` (Σ quantity × unit price): one join."""
    line_total = ExpressionWrapper(F("items__quantity") * F("items__unit_price"), output_field=MONEY)
    return Order.objects.annotate(items_count=Count("items"), order_total=Sum(line_total))


def customer_list_with_orders_count() -> QuerySet[Customer]:
    return Customer.objects.annotate(orders_count=Count("orders"))


def collection_list_with_products_count(*, active_only: bool = False) -> QuerySet[Collection]:
    """Collections with ``products_count`` (only active products' when ``active_only``: the API).

    A COUNT per collection row, not a join + GROUP BY over every product: a page of
    collections counts its own products only, each an index-only range of
    ``product_collection_status_idx``, and the list's own COUNT(*) (pagination) reads the
    collection table alone. At 200k products on MariaDB the API's page went from 230-280 ms
    of SQL to 15 ms.
    """
    products = Product.objects.filter(collection=OuterRef("pk"))
    if active_only:
        products = products.filter(status=Product.Status.ACTIVE)
    count = products.order_by().values("collection").annotate(count=Count("pk")).values("count")
    return Collection.objects.annotate(products_count=Coalesce(Subquery(count), 0))


# --- Dashboard ----------------------------------------------------------------
# A handful of aggregate queries, each cached briefly: the index page is the most
# visited admin page, and at a million products a full aggregate costs ~seconds.
DASHBOARD_CACHE_SECONDS = 60
DASHBOARD_WINDOW_DAYS = 30


def _cached(key: str, compute: Callable[[], T]) -> T:
    # The cached value or compute()'s: a T either way. With the cache down, compute() on
    # every render (backoffice.cache), never a 500.
    return cast(T, fail_safe_cache.get_or_set(f"dashboard:v1:{key}", compute, DASHBOARD_CACHE_SECONDS))


def dashboard_catalog_kpis() -> dict[str, Any]:
    """Product count, out-of-stock and low-stock counts, stock value: one table pass."""
    threshold = settings.LOW_STOCK_THRESHOLD

    def compute() -> dict[str, Any]:
        # Products whose stock is not tracked are never out of stock or low, and their count is not stock.
        tracked = Q(track_inventory=True)
        return Product.objects.aggregate(
            product_count=Count("id"),
            out_of_stock=Count("id", filter=tracked & Q(inventory=0)),
            low_stock=Count("id", filter=tracked & Q(inventory__gt=0, inventory__lt=threshold)),
            stock_value=Coalesce(
                Sum(F("unit_price") * F("inventory"), filter=tracked, output_field=MONEY),
                Value(Decimal("0.00")),
                output_field=MONEY,
            ),
        )

    return _cached(f"catalog:{threshold}", compute)


def dashboard_product_status_counts() -> dict[str, int]:
    """{status: products} for every status, zeros included.

    One GROUP BY read off the (status, title) index alone; a separate query so the stock
    aggregate above keeps its covering (inventory, unit_price) index.
    """

    def compute() -> dict[str, int]:
        counts = dict.fromkeys(Product.Status.values, 0)
        rows = Product.objects.order_by().values("status").annotate(n=Count("pk"))
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    return _cached("product_status", compute)


def dashboard_window_start(*, days: int = DASHBOARD_WINDOW_DAYS) -> datetime:
    """Midnight (current time zone) at the start of a window of ``days`` days ending today."""
    first_day = timezone.localdate() - timedelta(days=days - 1)
    return timezone.make_aware(datetime.combine(first_day, time()))


def dashboard_orders(*, days: int = DASHBOARD_WINDOW_DAYS) -> dict[str, Any]:
    """Orders placed in the last ``days`` days, by payment status and by day: one query."""

    def compute() -> dict[str, Any]:
        since = dashboard_window_start(days=days)
        first_day = timezone.localdate(since)
        rows = (
            Order.objects.filter(placed_at__gte=since)
            .annotate(day=TruncDate("placed_at"))
            .values("day", "payment_status")
            .annotate(n=Count("id"))
            .order_by()
        )
        statuses = [code for code, _ in Order.PAYMENT_STATUS_CHOICES]
        per_day = {first_day + timedelta(days=i): dict.fromkeys(statuses, 0) for i in range(days)}
        for row in rows:
            if row["day"] in per_day:
                per_day[row["day"]][row["payment_status"]] += row["n"]
        by_status = {code: sum(day[code] for day in per_day.values()) for code in statuses}
        return {
            "since": since,
            "total": sum(by_status.values()),
            "by_status": by_status,
            "per_day": [{"day": day, **counts} for day, counts in per_day.items()],
        }

    return _cached(f"orders:{days}:{timezone.localdate().isoformat()}", compute)


def dashboard_top_collections(*, limit: int = 5, days: int = DASHBOARD_WINDOW_DAYS) -> list[dict[str, Any]]:
    """Collections ranked by sales value (Σ quantity × unit price) over the last ``days`` days.

    Two queries on purpose: grouping by the collection id alone lets MariaDB drive the
    join from the orders' ``placed_at`` range (≈0.1 s at 1M products); adding the
    collection title to the GROUP BY made it walk every product of every collection
    (≈2 s). The top ``limit`` titles are then fetched by primary key.
    """

    def compute() -> list[dict[str, Any]]:
        since = dashboard_window_start(days=days)
        rows = list(
            OrderItem.objects.filter(order__placed_at__gte=since)
            .values("product__collection_id")
            .annotate(sales_value=Sum(LINE_TOTAL), units=Sum("quantity"))
            .order_by("-sales_value", "product__collection_id")[:limit]
        )
        titles = Collection.objects.only("title").in_bulk([row["product__collection_id"] for row in rows])
        return [
            {
                "id": row["product__collection_id"],
                "title": titles[row["product__collection_id"]].title,
                "sales_value": row["sales_value"],
                "units": row["units"],
            }
            for row in rows
        ]

    return _cached(f"collections:{limit}:{days}:{timezone.localdate().isoformat()}", compute)


# --- Catalog admin: stock status and search ---------------------------------
STOCK_LOW = "low"
STOCK_OUT = "out"
STOCK_OK = "ok"
STOCK_UNTRACKED = "untracked"
STOCK_STATUS_LABELS = {STOCK_LOW: "Low", STOCK_OUT: "Out of stock", STOCK_OK: "OK", STOCK_UNTRACKED: "Not tracked"}


def product_stock_status(*, inventory: int, tracked: bool = True) -> str:
    """Out of stock at 0, Low below LOW_STOCK_THRESHOLD, OK from the threshold up; Not tracked
    when the product's stock is not counted (``Product.track_inventory`` off)."""
    if not tracked:
        return STOCK_UNTRACKED
    if inventory <= 0:
        return STOCK_OUT
    return STOCK_LOW if inventory < settings.LOW_STOCK_THRESHOLD else STOCK_OK


def _stock_condition(status: str) -> Q:
    """A row's own stock in one status (``product_stock_status``)."""
    threshold = settings.LOW_STOCK_THRESHOLD
    if status == STOCK_UNTRACKED:
        return Q(track_inventory=False)
    if status == STOCK_OUT:
        return Q(inventory__lte=0, track_inventory=True)
    if status == STOCK_LOW:
        return Q(inventory__gt=0, inventory__lt=threshold, track_inventory=True)
    if status == STOCK_OK:
        return Q(inventory__gte=threshold, track_inventory=True)
    raise ValueError(f"Unknown stock status {status!r}")


def product_list_by_stock_status(*, status: str, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Rows in one stock status by their own stock; each is one range on the indexed inventory column."""
    products = Product.objects.all() if queryset is None else queryset
    return products.filter(_stock_condition(status))


def product_list_products_by_stock_status(*, status: str, queryset: QuerySet[Product]) -> QuerySet[Product]:
    """Products (the product list's rows) in one stock status, as their stock badge shows it
    (``product_variant_stock_status``): a product without variants by its own stock; a product
    with variants by its lowest tracked variant's (Out of stock when any variant is, Low when any
    is low and none is out, OK when all its tracked variants are, Not tracked when none is).

    ``(standalone AND <its own range>) OR (parent AND <its variants' MIN(inventory)> in range)``,
    the minimum a correlated subquery on the ``parent`` index, run for the product-with-variants
    rows the page walks only: at 1M products on MariaDB a page and the capped count cost about
    what the own-range filter does (docs/performance.md). Parents of the variants in a range
    (``id IN (…)``) made MariaDB materialise a scan of the whole table (2-3 s a page).

    Not tracked reads the product's own ``has_tracked_variant`` (``store.variants.rollup``)
    instead: two ranges of the (structure, track_inventory, has_tracked_variant) index, where the
    subquery tested every product with variants to find the few, or none, that match."""
    threshold = settings.LOW_STOCK_THRESHOLD
    if status == STOCK_UNTRACKED:
        untracked = Q(structure=Product.Structure.STANDALONE) | Q(
            structure=Product.Structure.PARENT, has_tracked_variant=False
        )
        return queryset.filter(untracked, track_inventory=False)
    lowest = (
        Product.objects.filter(parent=OuterRef("pk"), track_inventory=True)
        .order_by()
        .values("parent")
        .annotate(lowest=Min("inventory"))
        .values("lowest")[:1]
    )
    by_variants = {
        STOCK_OUT: Q(variants_lowest__lte=0),
        STOCK_LOW: Q(variants_lowest__gt=0, variants_lowest__lt=threshold),
        STOCK_OK: Q(variants_lowest__gte=threshold),
    }
    if status not in by_variants:
        raise ValueError(f"Unknown stock status {status!r}")
    own = Q(structure=Product.Structure.STANDALONE) & _stock_condition(status)
    parent = Q(structure=Product.Structure.PARENT) & by_variants[status]
    return queryset.alias(variants_lowest=Subquery(lowest)).filter(own | parent)


def product_list_in_stock(*, in_stock: bool, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Sellable products (stock not tracked, or some left; ``Product.in_stock``), or the others; a
    product with variants is sellable when any of its variants is. ``queryset``: products (none a
    variant; every product by default)."""
    products = product_list_products() if queryset is None else queryset
    return variant_selectors.product_list_in_stock(in_stock=in_stock, queryset=products)


# --- Products with variants (docs/decisions/0017-variants-as-parent-child-rows.md) -------
def product_list_sellable_units(*, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """The sellable units: products without variants, and variants (never a product with variants)."""
    products = Product.objects.all() if queryset is None else queryset
    return products.filter(structure__in=SELLABLE_STRUCTURES)


def product_list_products(*, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """The products: those without variants and those with (never a variant on its own).

    Read as "no parent" (the same rows: the ``product_structure_fields`` CHECK gives a parent
    to every variant and to nothing else): one value of ``parent``, which the list's
    ``(parent, <column>)`` indexes lead with, so every header sort walks an index of products
    alone and stops after a page (``structure IN (…)`` is two ranges, merged by a sort of every
    product: at 1M sellable units the default page read the 167k variants titled "Black / …"
    before its first product).
    """
    products = Product.objects.all() if queryset is None else queryset
    return products.filter(parent__isnull=True)


#: the collection a ``product_list_units_in_collection`` chose (an alias, never selected)
_UNITS_COLLECTION = "_units_collection"


def product_list_units_in_collection(*, collection_id: int, queryset: QuerySet[Product]) -> QuerySet[Product]:
    """``queryset``'s rows in a collection: their own (a product) or their product's (a variant,
    whose own collection is NULL).

    A variant's product is any product of the collection (only a variant has a parent: the
    ``product_structure_fields`` CHECK), so the collection's products are read from the
    (collection, status) index alone: with "products with variants" each was read from the
    table to check it (10,000 lookups for a page at 1M sellable units). Its capped count is
    read by ``product_list_capped_count``."""
    products = Product.objects.filter(collection_id=collection_id).values("pk")
    return queryset.alias(**{_UNITS_COLLECTION: Value(collection_id)}).filter(
        Q(collection_id=collection_id) | Q(parent_id__in=products)
    )


def product_list_units_collection(*, queryset: QuerySet[Product]) -> int | None:
    """The collection ``queryset``'s rows are narrowed to by ``product_list_units_in_collection``,
    or None."""
    collection = queryset.query.annotations.get(_UNITS_COLLECTION)
    return collection.value if isinstance(collection, Value) else None


def _units_in_collection_count(*, collection_id: int, cap: int, units: QuerySet[Product] | None = None) -> int:
    """The sellable units of a collection (of ``units``, those of the collection that another
    filter keeps), counted up to ``cap``: its products' variants (a join of the collection's
    index and the ``parent`` index), then, if they are fewer, its products without variants.
    The ``OR`` of the two, counted row by row, read the table in primary-key order testing each
    unit (200k rows for a collection of 1M sellable units, 110-150 ms with the rows in memory,
    1.4 s without); with another filter, that filter's rows, each tested for the collection
    (the 100k Low units at 1M: 0.35-0.6 s; the collection's 50k, tested for Low: 80 ms).

    With another filter, the collection's own rows are stated as products too (``parent`` NULL:
    the same rows, only a product has a collection), so that MariaDB may read them from the
    filter's ``(parent, …)`` index instead, e.g. the products without variants that are low on
    stock (``product_parent_stock_idx``), when they are fewer than the collection's products:
    it read each of the collection's 10k products (all with variants, never in stock) to find
    none (37 ms at 1M sellable units)."""
    variants: QuerySet[Product]
    own: QuerySet[Product]
    if units is None:
        variants = Product.objects.filter(parent__collection_id=collection_id)
        own = Product.objects.filter(collection_id=collection_id, structure__in=SELLABLE_STRUCTURES)
    else:  # sellable units already: the collection's own rows are products without variants
        units = product_list_without_units_collection(queryset=units)
        variants = units.filter(parent__collection_id=collection_id)
        own = units.filter(collection_id=collection_id, parent__isnull=True)
    count = variants.order_by().values("pk")[:cap].count()
    if count < cap:
        count += own.order_by().values("pk")[: cap - count].count()
    return count


def product_list_without_units_collection(*, queryset: QuerySet[Product]) -> QuerySet[Product]:
    """``queryset`` without ``product_list_units_in_collection``'s condition, for a read that
    states the collection otherwise (its ``OR``'s set of the collection's products, built again
    for each query: 10-20 ms at 1M sellable units): the capped count, a walk of the collection's
    products (``units_by_title_ids_of``)."""
    unfiltered = queryset.all()
    where = unfiltered.query.where
    where.children = [
        child
        for child in where.children
        if not (
            isinstance(child, WhereNode)
            and child.connector == OR
            and len(child.children) == 2
            and isinstance(child.children[0], Exact)
            and isinstance(child.children[0].lhs, Col)
            and child.children[0].lhs.target == Product._meta.get_field("collection")
        )
    ]
    return unfiltered


#: A promotion of this many products or more has its first page read by walking the list's order
#: (``InPromotions``): the walk reads about (products / promotion's products) index entries a row
#: (at most 500 a row in a catalog of 1M products), the promotion's rows read by primary key and
#: sorted cost about 20 walked entries each (MariaDB, 1M sellable units): about even at 2,000.
PROMOTION_WALK_FROM = 2_000


class InPromotions(Exists):
    """The outer product is in one of ``promotion_ids``: a lookup of the through table's unique
    (product, promotion) index. A join on the through table (the admin's own filter) spawns a
    row per promotion, which the admin removes by ``DISTINCT``.

    ``walk``: tested as a scalar subquery (``(SELECT 1 …) IS NOT NULL``), which MariaDB does not
    turn into a semi-join, so the page walks the list's order, ``(parent, title)``, testing each
    product, and stops after the page. As ``EXISTS``, MariaDB drives from the promotion's rows
    and reads each of its products by primary key to sort them: right for a few, 55 ms for the
    10,000 products of a promotion at 1M sellable units (the walk: 3 ms)."""

    def __init__(self, promotion_ids: list[str] | tuple[str, ...], *, walk: bool = False) -> None:
        self.promotion_ids = tuple(promotion_ids)
        super().__init__(_promotion_links(self.promotion_ids).filter(product_id=OuterRef("pk")))
        if walk:
            self.template = "(%(subquery)s) IS NOT NULL"


def _promotion_links(promotion_ids: tuple[str, ...]) -> QuerySet[Any]:
    """The through table's rows of these promotions (ids as the admin's URL gives them: Django's
    own lookups convert them, and refuse junk with a ValueError or a ValidationError)."""
    links = Q.create([("promotion__id", value) for value in promotion_ids], connector=Q.OR)
    return Product.promotions.through.objects.filter(links)


def _promotion_products(promotion_ids: tuple[str, ...]) -> QuerySet[Any]:
    """One row per product of these promotions: of one, its through rows read from the
    ``promotion_id`` index alone; of several, their products once each."""
    links = _promotion_links(promotion_ids).order_by()
    return links.values("pk") if len(promotion_ids) == 1 else links.values("product_id").distinct()


def product_list_in_promotions(
    *, promotion_ids: list[str], queryset: QuerySet[Product], first_page: bool = True
) -> QuerySet[Product]:
    """``queryset``'s products in any of ``promotion_ids`` (each product once, no join). The first
    page of a promotion of many products is walked in the list's order (``InPromotions``: one
    index-only count of its rows, up to ``PROMOTION_WALK_FROM``, says so); a later page walks
    further before it starts (page 20 of a promotion of 2,000 products would walk the whole
    list), so it sorts the promotion's rows, as the first page of a small promotion does."""
    walk = first_page and _promotion_products(tuple(promotion_ids))[:PROMOTION_WALK_FROM].count() >= PROMOTION_WALK_FROM
    return queryset.filter(InPromotions(promotion_ids, walk=walk))


def product_list_capped_count(*, queryset: QuerySet[Product], cap: int) -> int | None:
    """How many rows ``queryset`` holds, counting at most ``cap``, when a read narrower than its
    own rows says so; None otherwise (the caller counts the rows).

    The products of a promotion (``product_list_products`` narrowed by ``InPromotions`` and
    nothing else) are its rows in the through table: a promotion holds products only (the admin
    edits a variant's promotions on its product, imports refuse them on a variant's row, bulk
    edits apply them to a selected variant's product), so no product row is read. The sellable
    units of a collection (``product_list_sellable_units`` narrowed by
    ``product_list_units_in_collection``, and by any other filter but a search):
    ``_units_in_collection_count``. The sellable-units view's search of a common word:
    ``search_units_capped_count``."""
    count = search_units_capped_count(queryset=queryset, cap=cap)
    if count is not None:
        return count
    where = queryset.query.where
    collection_id = product_list_units_collection(queryset=queryset)
    if collection_id is not None and search_units_products(queryset=queryset) is None:
        # The sellable units of a collection, and of other filters (not a search: its own units
        # are fewer than the collection's)
        alone = where.connector == AND and len(where.children) == 2 and is_sellable_units_only(where.children[0])
        return _units_in_collection_count(collection_id=collection_id, cap=cap, units=None if alone else queryset)
    if where.connector != AND or where.negated or len(where.children) != 2:
        return None
    root, condition = where.children  # the list's rows, then the one filter
    # filter(InPromotions(…)) adds "InPromotions(…) = True"
    promotions = condition.lhs if isinstance(condition, Exact) and condition.rhs is True else None
    if is_products_only(root) and isinstance(promotions, InPromotions):
        return _promotion_products(promotions.promotion_ids)[:cap].count()
    return None


def product_list_with_variant_summary(*, queryset: QuerySet[Product]) -> QuerySet[Product]:
    """``queryset`` with its variants' ``variant_count``, ``variant_price_min`` / ``_max``,
    ``variant_stock`` (their tracked inventory, summed) and ``variant_stock_min`` (the lowest
    tracked inventory: the product is low when any variant is).

    Correlated subqueries on the ``parent`` index, evaluated for the page's rows only: the list
    stays one query however many rows and variants it shows; a product without variants
    finds none (NULL, and a count of 0).
    """
    variants = Product.objects.filter(parent=OuterRef("pk")).order_by().values("parent")
    tracked = variants.filter(track_inventory=True)

    def first(rows: QuerySet[Product, Any], aggregate: Any) -> Subquery:
        return Subquery(rows.annotate(value=aggregate).values("value")[:1])

    return queryset.annotate(
        variant_count=Coalesce(first(variants, Count("pk")), 0),
        variant_price_min=first(variants, Min("unit_price")),
        variant_price_max=first(variants, Max("unit_price")),
        variant_stock=first(tracked, Sum("inventory")),
        variant_stock_min=first(tracked, Min("inventory")),
    )


def product_variant_stock_status(*, product: Product) -> str:
    """A product's stock badge: its own; for a product with variants, its lowest variant's
    (``variant_stock_min`` of ``product_list_with_variant_summary``): low when any variant is low,
    out of stock when any is out; not tracked when none of its variants is."""
    if product.structure != Product.Structure.PARENT:
        return product_stock_status(inventory=product.inventory, tracked=product.track_inventory)
    lowest = getattr(product, "variant_stock_min", None)
    return product_stock_status(inventory=lowest or 0, tracked=lowest is not None)


def product_search_sellable_units(
    *, term: str, queryset: QuerySet[Product] | None = None, walk_common: bool = False
) -> QuerySet[Product]:
    """Sellable units the product search finds (the sellable-units view, the order-line picker):
    a variant by its product's title, its option values or its SKU. Every word must find the unit
    itself (its SKU, or its option label "Green / S" for a variant) or its product; a word that
    finds its product only through another variant ("Blue" for the green one) does not find this
    one. ``walk_common``: see ``search_units``."""
    units = product_list_sellable_units(queryset=queryset)
    if not term.strip():
        return units
    found = search_words(term)
    if not found:
        return units.none()
    return search_units(units=units, found=found, walk_common=walk_common)


def product_pick_units(*, term: str, queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """The order-line picker's choices: the sellable units ``term`` finds, in the catalog's order
    (primary key: a product's variants together), each with its product. A common word's page is
    read by walking that order (``walk_common``): a picker asks for a page and whether more follow."""
    units = product_search_sellable_units(term=term, queryset=queryset, walk_common=True)
    return units.select_related("parent").order_by("pk")


def product_list_with_first_image(*, queryset: QuerySet[Product]) -> QuerySet[Product]:
    """``queryset`` with ``first_image_path``: the storage name of the first image's
    thumbnail (the original while the thumbnail is not made yet), or None.

    A correlated subquery per row of the page, served by the (product, position, id)
    index: the product list stays one query however many rows it shows.
    """
    first = (
        ProductImage.objects.filter(product=OuterRef("pk"))
        .order_by("position", "id")
        .annotate(path=Case(When(thumbnail="", then=F("image")), default=F("thumbnail")))
        .values("path")[:1]
    )
    return queryset.annotate(first_image_path=Subquery(first))


def promotion_list_with_products_count() -> QuerySet[Promotion]:
    return Promotion.objects.annotate(products_count=Count("products"))


# --- Catalog API --------------------------------------------------------------
# Querysets behind store/api/. A product's collection title comes from a correlated
# subquery rather than a join: on a 100k-row MariaDB table the join made the
# optimiser drive from store_collection and sort every product (≈550 ms a page);
# with the subquery the page is read straight off the title/price/last_update
# index (≈1 ms) and the collection costs no extra query.
PRODUCT_API_FIELDS = (
    "id",
    "sku",
    "title",
    "slug",
    "description",
    "unit_price",
    "inventory",
    "track_inventory",  # in_stock reads it
    "structure",  # a product with variants sells its variants (variant_selectors.product_offer)
    "parent",  # the sync feed walks variants too, and sends their products
    "option1_name",
    "option2_name",
    "option3_name",
    "last_update",
    "collection_id",
    "vendor",
    "barcode",
    "compare_at_price",
    "weight",
    "weight_unit",
    "seo_title",
    "seo_description",
)


PRODUCT_API_IMAGES = Prefetch(
    "images",
    queryset=ProductImage.objects.only("id", "product_id", "image", "thumbnail", "alt_text", "width", "height"),
)


def product_list_for_api() -> QuerySet[Product]:
    """Active products with `collection_title` annotated and their images prefetched in
    position order (one query per page).

    Products only, never a variant on its own: a variant's status is NULL (it has its
    product's, by the structure CHECK constraint), so ``status = active`` selects standalone
    products and products with variants (``product_list_products``' rows) and keeps the (status, title)
    index's walk and its index-only count."""
    collection_title = Collection.objects.filter(pk=OuterRef("collection_id")).order_by().values("title")[:1]
    return (
        Product.objects.filter(status=Product.Status.ACTIVE)
        .only(*PRODUCT_API_FIELDS, "status")
        .annotate(collection_title=Subquery(collection_title))
        .prefetch_related(PRODUCT_API_IMAGES)
    )


# --- Catalog API: the sync feed's tombstones -----------------------------------
# A tombstone tells sync consumers that a product they were given is gone from the
# storefront. Only products that were once public get one: the change history says which.
# Every write that bypasses save() (imports, bulk edits, status actions) first records a
# baseline of the products that had no history, so a product written as active by a
# seed or an import and archived later has an "active" history row like any other.
HistoricalProduct = Product.history.model


def _last_public(field: str) -> Subquery:
    """``field`` of the product as its latest history row with status active recorded it."""
    rows = HistoricalProduct.objects.filter(id=OuterRef("pk"), status=Product.Status.ACTIVE)
    return Subquery(rows.order_by("-history_date", "-history_id").values(field)[:1])


def product_sync_list(*, active: QuerySet[Product], updated_since: datetime | None = None) -> QuerySet[Product]:
    """The sync feed's walk: ``active`` (``product_list_for_api()``, filtered by the client),
    every product that was once active and no longer is, whatever the filters, and the
    variants of the ``active`` products (a variant added or saved sends its product again:
    ``product_sync_entries`` turns the walk's rows into the page's products).

    Filters choose among active products only: applied to products that are not public,
    they would answer questions about them (bisecting ``unit_price__gt`` finds a draft's
    price). ``updated_since`` is a position in the walk, not a question about the product,
    so it applies to every row walked. Tombstones carry ``public_sku`` and ``public_slug``,
    the values they had when they were last active (those edited since are not public).

    One query for any page: the history lookups are correlated subqueries on the history's
    ``id`` index, run for the rows the walk meets that are not active; a variant's product is
    looked up by primary key. "Has an active history row" is a scalar subquery tested for
    NULL, not EXISTS: MariaDB turns that EXISTS into a materialised scan of the whole history
    table on every page (≈400 ms at 1M products and 200k history rows, growing with the
    history; bench/sync_feed.py). Images are not prefetched here: the page's products are
    known only once its variants are turned into them.
    """
    active_row = HistoricalProduct.objects.filter(id=OuterRef("pk"), status=Product.Status.ACTIVE)
    was_active = IsNull(Subquery(active_row.values("history_id")[:1]), False)
    # Not active and not a variant (whose status is NULL: it has its product's).
    not_public = Q(status__in=[Product.Status.DRAFT, Product.Status.ARCHIVED])
    gone = Product.objects.filter(not_public).filter(was_active)
    variants = Product.objects.filter(structure=Product.Structure.VARIANT, parent__in=active.values("pk"))
    walk = active | gone | variants
    if updated_since is not None:
        walk = walk.filter(last_update__gte=updated_since)
    return walk.prefetch_related(None).annotate(
        public_sku=Case(When(not_public, then=_last_public("sku")), default=F("sku")),
        public_slug=Case(When(not_public, then=_last_public("slug")), default=F("slug")),
    )


def product_sync_entries(*, rows: list[Product]) -> list[Product]:
    """The products a page of the sync walk sends, in walk order: each row as it is, a variant
    as its product (once however many of its rows the page holds), images prefetched. Two
    queries at most: the products of variants whose product is not on the page, their images."""
    # Only a variant has a parent (the structure CHECK constraint).
    products = {row.pk: row for row in rows if row.parent_id is None}
    missing = {row.parent_id for row in rows if row.parent_id is not None} - products.keys()
    if missing:
        products |= product_list_for_api().prefetch_related(None).in_bulk(sorted(missing))
    entries: dict[int, Product] = {}
    for row in rows:
        product = products.get(row.parent_id or row.pk)
        # None: a variant whose product left the active state since the walk read it.
        if product is not None and product.pk not in entries:
            entries[product.pk] = product
    public = [product for product in entries.values() if product.is_active]
    prefetch_related_objects(public, PRODUCT_API_IMAGES)
    return list(entries.values())


def product_latest_update() -> datetime | None:
    """When any product was last saved or added: one index lookup (MIN/MAX optimisation)."""
    latest: datetime | None = Product.objects.aggregate(latest=Max("last_update"))["latest"]
    return latest


def collection_list_for_api() -> QuerySet[Collection]:
    """Collections counting only their active products (the API shows no others);
    ``featured_active_product_id`` is the featured product's id only while it is active."""
    featured = Product.objects.filter(pk=OuterRef("featured_product_id"), status=Product.Status.ACTIVE).values("pk")[:1]
    return (
        collection_list_with_products_count(active_only=True)
        .only("id", "title", "featured_product_id")
        .annotate(featured_active_product_id=Subquery(featured))
    )
