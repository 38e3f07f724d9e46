"""Writes. Admin, API and CLI call these; they hold the business rules."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from store.audit import audit_event
from store.models import OrderItem, Product
from store.sql import execute_many, quote

logger = logging.getLogger(__name__)

# --- Catalog: products (optimistic locking + change history) -----------------

PRODUCT_VERSION_CONFLICT = (
    "Someone else saved “%(title)s” while you were editing it, so your changes were not saved. "
    "It now has price %(unit_price)s and inventory %(inventory)s. "
    "Reload the page to edit the current values."
)
# The short form shown next to one field of a list-edit row.
PRODUCT_FIELD_CONFLICT = "Changed by someone else meanwhile: now %(value)s. Reload to edit it."
PRODUCT_GONE = "This product no longer exists; it was deleted while you were editing it."
HISTORY_BASELINE_REASON = "State before the first recorded change"
CLEAR_INVENTORY_REASON = "Clear inventory (bulk action)"
ERROR_SELL_PARENT = "a product with variants is sold by its variants: choose one (its size, colour…)"
UPDATE_BATCH_SIZE = 1_000

User = AbstractBaseUser | AnonymousUser | None


class ProductVersionConflict(ValidationError):
    """The product changed (its version moved on) since the editor loaded it."""


def product_version_conflict(*, product_id: int) -> ProductVersionConflict:
    """The error to show an editor whose copy is stale, with the values now in the database."""
    current = Product.objects.filter(pk=product_id).values("title", "unit_price", "inventory").first()
    if current is None:
        return ProductVersionConflict(PRODUCT_GONE, code="gone")
    return ProductVersionConflict(PRODUCT_VERSION_CONFLICT, code="stale", params=dict(current))


def _history_user(user: User) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _history_baseline(*, products: Sequence[Product]) -> None:
    """Record the current state of products that have no history yet.

    Rows written without ``save()`` (seed_catalog, bulk imports, fixtures) have no
    history, so their first tracked change would have nothing to diff against.
    The baseline is dated at the row's ``last_update``, the moment that state was
    written, so the history page reads old → new from the first change on.
    ``products`` must hold the values as they are in the database.
    """
    ids = [product.pk for product in products]
    # No ordering: the history's default one (newest first) would make DISTINCT run over
    # (id, history_date, history_id), a sorted row per history entry instead of one per id.
    recorded = set(Product.history.filter(id__in=ids).order_by().values_list("id", flat=True).distinct())
    baselines = []
    for product in products:
        if product.pk not in recorded:
            baseline = copy.copy(product)
            baseline._history_date = product.last_update
            baselines.append(baseline)
    Product.history.bulk_history_create(
        baselines,
        update=True,
        default_change_reason=HISTORY_BASELINE_REASON,
        batch_size=UPDATE_BATCH_SIZE,
    )


def product_history_record_where(
    *,
    where: str,
    params: Sequence[Any] = (),
    user: User,
    reason: str,
    history_type: str = "~",
    date: datetime | None = None,
) -> int:
    """One history row per product matching ``where``, copied by the database (``INSERT … SELECT``).

    ``where`` is SQL over the product table (``p``), e.g. ``p.id BETWEEN %s AND %s AND
    p.last_update = %s``: the rows just written by a set-based write, read back by the
    statement itself, so no product crosses into Python. Same columns, reason, type and
    user as ``product_history_insert``; returns the number of history rows written.
    """
    user_id = getattr(_history_user(user), "pk", None)
    moment = connection.ops.adapt_datetimefield_value(date or timezone.now())
    return _history_insert_select(
        where=where, params=params, extra=["%s", "%s", "%s", "%s"], extra_params=[moment, reason, history_type, user_id]
    )


def product_history_baseline_where(
    *, where: str, params: Sequence[Any] = (), ids_between: tuple[int, int] | None = None
) -> int:
    """``_history_baseline`` for the products matching ``where``, in one ``INSERT … SELECT``.

    Only products without any history row get one, dated at their ``last_update``.
    ``ids_between`` (lowest, highest): every product ``where`` matches has its id in that range.
    The check then reads the history's ids in the range once (``NOT IN``, a range of the
    history's ``id`` index) instead of one ``NOT EXISTS`` lookup per product: at 1,000 products
    a batch that had all their baselines, 8 s of a 100k bulk edit under load went to that check.
    """
    history_table = quote(Product.history.model._meta.db_table)
    h_id = f"h.{quote('id')}"
    extra_params: list[Any] = []
    if ids_between is None:
        recorded = f"NOT EXISTS (SELECT 1 FROM {history_table} h WHERE {h_id} = {_product_id()})"
    else:
        # history.id is NOT NULL: NOT IN is the plain anti-join, never the NULL trap.
        recorded = f"{_product_id()} NOT IN (SELECT {h_id} FROM {history_table} h WHERE {h_id} BETWEEN %s AND %s)"
        extra_params = list(ids_between)
    return _history_insert_select(
        where=f"({where}) AND {recorded}",
        params=[*params, *extra_params],
        extra=[f"p.{quote('last_update')}", "%s", "'~'", "NULL"],
        extra_params=[HISTORY_BASELINE_REASON],
    )


def _product_id() -> str:
    return f"p.{quote('id')}"


def _history_insert_select(*, where: str, params: Sequence[Any], extra: list[str], extra_params: list[Any]) -> int:
    """``INSERT INTO history (tracked…, date, reason, type, user) SELECT p.tracked…, <extra> FROM product p``."""
    history = Product.history.model
    tracked = list(history.tracked_fields)
    # simple-history copies each tracked field under the product's own column name.
    tracked_columns = [field.column for field in tracked]
    columns = [*tracked_columns, "history_date", "history_change_reason", "history_type", "history_user_id"]
    selected = [f"p.{quote(column)}" for column in tracked_columns]
    sql = (
        f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(map(quote, columns))}) "
        f"SELECT {', '.join([*selected, *extra])} FROM {quote(Product._meta.db_table)} p WHERE {where}"
    )
    # The extra values come first in the statement's text (the SELECT list), then the WHERE's.
    with connection.cursor() as cursor:
        cursor.execute(sql, [*extra_params, *params])
        written: int = cursor.rowcount
    return written


def product_history_insert(
    *, products: Sequence[Product], user: User, reason: str, history_type: str, date: datetime | None = None
) -> None:
    """One history row per product of ``products`` (their tracked fields as given), all dated ``date``.

    ``history_type``: "+" created, "~" changed, "-" about to be deleted (a revert re-creates
    from it). One ``execute_many`` per 2,000 rows, as the import's own INSERTs: simple-history's
    ``bulk_history_create`` builds model instances and, on SQLite (999 parameters at most),
    splits them into statements of ~70 rows.
    """
    history = Product.history.model
    tracked = [field.attname for field in history.tracked_fields]
    columns = [*tracked, "history_date", "history_change_reason", "history_type", "history_user_id"]
    table = connection.ops.quote_name(history._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(map(connection.ops.quote_name, columns))}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    now = connection.ops.adapt_datetimefield_value(date or timezone.now())
    user_id = getattr(_history_user(user), "pk", None)
    step = UPDATE_BATCH_SIZE * 2
    for start in range(0, len(products), step):
        execute_many(
            sql,
            [
                # Plain values, as the import's INSERTs pass them (the backends adapt Decimal).
                (*(getattr(product, name) for name in tracked), now, reason, history_type, user_id)
                for product in products[start : start + step]
            ],
        )


@transaction.atomic
def product_create(*, product: Product, user: User = None) -> Product:
    """Save a new product (the history records its creation)."""
    product.full_clean()
    product._history_user = _history_user(user)
    product.save()
    return product


@transaction.atomic
def product_update(*, product: Product, expected_version: int | None, user: User = None) -> Product:
    """Save the edited ``product`` unless someone saved it since ``expected_version`` was loaded.

    The claim is one ``UPDATE … SET version = version + 1 WHERE id = … AND version = …``:
    the database decides who wins, and the row stays locked until commit. A stale
    editor gets ``ProductVersionConflict`` with the current values and nothing is written.
    """
    product.full_clean()
    if expected_version is None:  # an editor that did not say which version it loaded
        raise product_version_conflict(product_id=product.pk)
    if not Product.history.filter(id=product.pk).exists():
        stored = Product.objects.filter(pk=product.pk).first()
        if stored is not None:
            _history_baseline(products=[stored])
    claimed = Product.objects.filter(pk=product.pk, version=expected_version).update(version=F("version") + 1)
    if not claimed:
        raise product_version_conflict(product_id=product.pk)
    product.version = expected_version + 1
    product._history_user = _history_user(user)
    product.save()
    return product


def _product_bulk_update(*, rows: list[Product], user: User, reason: str, **values: Any) -> int:
    """UPDATE ``rows`` (locked, in pk order) to ``values``, bump version and last_update, record history.

    The statements carry only ``values`` and ``version = version + 1``, never a value
    computed in Python from the rows. Baselines first, so every history page reads old → new.
    """
    now = timezone.now()
    updated = 0
    for start in range(0, len(rows), UPDATE_BATCH_SIZE):
        batch = rows[start : start + UPDATE_BATCH_SIZE]
        updated += Product.objects.filter(pk__in=[row.pk for row in batch]).update(
            **values, version=F("version") + 1, last_update=now
        )
    _history_baseline(products=rows)
    for row in rows:
        for name, value in values.items():
            setattr(row, name, value)
        row.version, row.last_update = row.version + 1, now
    Product.history.bulk_history_create(
        rows,
        update=True,
        default_user=_history_user(user),
        default_change_reason=reason,
        default_date=now,
        batch_size=UPDATE_BATCH_SIZE,
    )
    return updated


@dataclass(frozen=True)
class ClearInventoryResult:
    updated: int
    # Selected products that changed since the list was loaded: left alone, as the user last
    # saw them only in an older state. Each holds its current values (title, inventory).
    stale: list[Product] = field(default_factory=list)


def _changed_since_loaded(product: Product, *, loaded_versions: Mapping[int, int], loaded_at: datetime | None) -> bool:
    if product.pk in loaded_versions:
        return product.version != loaded_versions[product.pk]
    # Not on the page the user saw (select all across pages): compare with when it was loaded.
    return loaded_at is None or product.last_update > loaded_at


@transaction.atomic
def product_clear_inventory(
    *,
    products: QuerySet[Product],
    user: User = None,
    loaded_versions: Mapping[int, int] | None = None,
    loaded_at: datetime | None = None,
) -> ClearInventoryResult:
    """Set the inventory of ``products`` to 0, except those changed since the list was loaded.

    ``loaded_versions`` ({pk: version}, the rows of the page the user saw) and ``loaded_at``
    (when that page was rendered) say what the user acted on. A product whose version moved
    on since, or, when not on that page, that was written after ``loaded_at``, is not cleared
    but returned in ``stale``: like a stale list edit, it is refused rather than overwriting a
    colleague's change the user never saw. ``loaded_versions=None`` clears without checking
    (scripts). Products already at 0 are left alone.

    The rows are locked (SELECT … FOR UPDATE) so the history can record exact old
    values, then written by UPDATE statements that never carry a value computed in
    Python: inventory = 0, version = version + 1.
    """
    rows = list(
        Product.objects.select_for_update().filter(pk__in=products.values("pk"), inventory__gt=0).order_by("pk")
    )
    stale: list[Product] = []
    if loaded_versions is not None:
        stale = [
            row for row in rows if _changed_since_loaded(row, loaded_versions=loaded_versions, loaded_at=loaded_at)
        ]
        stale_ids = {row.pk for row in stale}
        rows = [row for row in rows if row.pk not in stale_ids]
    if not rows:
        return ClearInventoryResult(updated=0, stale=stale)
    updated = _product_bulk_update(rows=rows, user=user, reason=CLEAR_INVENTORY_REASON, inventory=0)
    audit_event("product.inventory_cleared", user=user, count=updated, refused_stale=len(stale))
    return ClearInventoryResult(updated=updated, stale=stale)


# --- Catalog: product status (draft / active / archived) ---------------------

STATUS_CHANGE_REASONS: dict[str, str] = {
    Product.Status.ACTIVE: "Publish (bulk action)",
    Product.Status.DRAFT: "Unpublish (bulk action)",
    Product.Status.ARCHIVED: "Archive (bulk action)",
}


@transaction.atomic
def product_set_status(*, products: QuerySet[Product], status: str, user: User = None) -> int:
    """Move ``products`` to ``status``; return how many changed (those already there are left alone).

    Like Clear inventory: locked rows, version bumped, one history row each. last_update
    moves too, so the API's sync cursor hands the change to consumers (a product that
    left the active state appears there with ``removed: true``).
    """
    if status not in Product.Status.values:
        raise ValueError(f"Unknown product status {status!r}")
    rows = list(
        Product.objects.select_for_update().filter(pk__in=products.values("pk")).exclude(status=status).order_by("pk")
    )
    if not rows:
        return 0
    updated = _product_bulk_update(rows=rows, user=user, reason=STATUS_CHANGE_REASONS[status], status=status)
    audit_event("product.status_changed", user=user, status=status, count=updated)
    return updated


# --- Orders -------------------------------------------------------------------


def order_item_save(*, item: OrderItem) -> OrderItem:
    """Save one order line, snapshotting the product's current price.

    ``OrderItem.unit_price`` is the price at the time of the order. A new line,
    or a line whose product was swapped, takes the product's price now; an
    untouched line keeps its historical price even if the catalog price moved.
    """
    product_changed = (
        item.pk is not None and not OrderItem.objects.filter(pk=item.pk, product_id=item.product_id).exists()
    )
    if item.product.structure == Product.Structure.PARENT:
        raise ValidationError({"product": ERROR_SELL_PARENT})
    if item.unit_price is None or product_changed:
        item.unit_price = item.product.unit_price
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def order_items_save(*, items: Iterable[OrderItem], deleted: Iterable[OrderItem] = ()) -> list[OrderItem]:
    """Apply one edit of an order's lines: delete the removed ones, save the rest."""
    for item in deleted:
        item.delete()
    return [order_item_save(item=item) for item in items]
