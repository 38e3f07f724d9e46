"""Write an import plan: batched INSERTs and version-checked UPDATEs in one transaction.

No read-modify-write: each update is ``UPDATE ... WHERE id = %s AND version = %s``
with the version read when the plan was made, and bumps the version. Rows that
someone changed since (their version moved, their SKU or slug got taken) are
conflicts: by default the whole import is rolled back and they are reported;
with "skip invalid" they are reported and the rest is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from store.models import Collection, Product
from store.services import product_history_baseline, product_history_created, product_history_record

from .hooks import extra_columns
from .planning import CHUNK, ImportPlan, NewProduct, ProductUpdate, RowError, _chunks, _fold, select_in

BATCH = 2000

ERROR_CONFLICT_VERSION = "changed by someone else since this file was checked; re-import to see the new values"
ERROR_CONFLICT_SKU = "a product with this SKU was created by someone else since this file was checked"
ERROR_CONFLICT_SLUG = "this slug was taken by another product since this file was checked"
ERROR_CONFLICT_GONE = "deleted by someone else since this file was checked"
ERROR_CONFLICTS = "{count} row(s) changed in the catalog since the file was checked; nothing was written."
ERROR_INTEGRITY = "The database refused the import ({error}); nothing was written."


class ImportConflict(ValidationError):
    def __init__(self, message: str, conflicts: list[RowError]):
        super().__init__(message, code="conflict")
        self.conflicts = conflicts


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    conflicts: list[RowError] = field(default_factory=list)


ProgressCallback = Callable[[str, int], None]


def _no_progress(_stage: str, _advance: int) -> None:
    return None


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _find_conflicts(plan: ImportPlan) -> list[RowError]:
    """Rows the catalog moved under since planning; updated rows are locked on MySQL."""
    conflicts: list[RowError] = []
    planned = {update.product_id: update for update in plan.updates}
    seen: set[int] = set()
    ids = sorted(planned)
    for pk, version in select_in(Product, ("id", "version"), "id", ids, lock=True):
        seen.add(pk)
        if version != planned[pk].version:
            conflicts.append(RowError(planned[pk].row, "sku", planned[pk].sku, ERROR_CONFLICT_VERSION))
    for pk in set(ids) - seen:
        conflicts.append(RowError(planned[pk].row, "sku", planned[pk].sku, ERROR_CONFLICT_GONE))
    # New products, a chunk at a time: two dicts over every create would cost ~100 MB at 500k rows.
    for chunk in _chunks(plan.creates):
        by_sku = {_fold(create.sku): create for create in chunk}
        for (sku,) in select_in(Product, ("sku",), "sku", [create.sku for create in chunk]):
            if create := by_sku.get(sku.casefold()):
                conflicts.append(RowError(create.row, "sku", create.sku, ERROR_CONFLICT_SKU))
        by_slug = {_fold(create.slug): create for create in chunk}
        for (slug,) in select_in(Product, ("slug",), "slug", [create.slug for create in chunk]):
            if create := by_slug.get(slug.casefold()):
                conflicts.append(RowError(create.row, "slug", create.slug, ERROR_CONFLICT_SLUG))
    moved_slugs = {update.slug.casefold(): update for update in plan.updates if "slug" in update.changes}
    for pk, slug in select_in(Product, ("id", "slug"), "slug", [update.slug for update in moved_slugs.values()]):
        update = moved_slugs.get(slug.casefold())
        if update is not None and update.product_id != pk:
            conflicts.append(RowError(update.row, "slug", update.slug, ERROR_CONFLICT_SLUG))
    return sorted(set(conflicts), key=lambda error: error.row)


def _collection_ids(plan: ImportPlan, creates: list[NewProduct], updates: list[ProductUpdate]) -> dict[str, int]:
    titles = sorted({row.collection for row in creates} | {row.collection for row in updates if row.collection})
    ids: dict[str, int] = {}
    for chunk in _chunks(titles):
        for pk, title in Collection.objects.filter(title__in=chunk).values_list("id", "title"):
            ids[title.casefold()] = pk
    # Only collections the written rows use: a row skipped as invalid or conflicting
    # must not leave an empty collection behind.
    wanted = {title.casefold() for title in titles}
    missing: dict[str, str] = {}
    for title in [*plan.new_collections, *titles]:  # the preview's spelling first
        if title.casefold() in wanted and title.casefold() not in ids:
            missing.setdefault(title.casefold(), title)
    if missing:
        Collection.objects.bulk_create([Collection(title=title) for title in missing.values()], batch_size=CHUNK)
        for chunk in _chunks(list(missing.values())):
            for pk, title in Collection.objects.filter(title__in=chunk).values_list("id", "title"):
                ids[title.casefold()] = pk
    return ids


def apply_plan(
    plan: ImportPlan,
    *,
    skip_invalid: bool = False,
    progress: ProgressCallback = _no_progress,
    user=None,
    reason: str = "Import",
) -> WriteResult:
    """Write the plan's creates and updates atomically; raise ImportConflict when rows moved.

    Created and updated products get a change-history row (``reason``, ``user``), like admin edits.
    """
    try:
        with transaction.atomic():
            return _apply(plan, skip_invalid=skip_invalid, progress=progress, user=user, reason=reason)
    except IntegrityError as error:
        # A race the pre-checks could not see (a SKU inserted between check and write).
        raise ValidationError(ERROR_INTEGRITY.format(error=error), code="integrity")


def _apply(plan: ImportPlan, *, skip_invalid: bool, progress: ProgressCallback, user, reason: str) -> WriteResult:
    conflicts = _find_conflicts(plan)
    creates, updates = plan.creates, plan.updates
    if conflicts:
        if not skip_invalid:
            raise ImportConflict(ERROR_CONFLICTS.format(count=len(conflicts)), conflicts)
        bad_rows = {conflict.row for conflict in conflicts}
        creates = [row for row in creates if row.row not in bad_rows]
        updates = [row for row in updates if row.row not in bad_rows]
    collections = _collection_ids(plan, creates, updates)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = _quote(Product._meta.db_table)

    insert_columns = [
        "title",
        "slug",
        "sku",
        "description",
        "unit_price",
        "inventory",
        "last_update",
        "collection_id",
        "version",
    ]
    insert_sql = (
        f"INSERT INTO {table} ({', '.join(map(_quote, insert_columns))}) "
        f"VALUES ({', '.join(['%s'] * len(insert_columns))})"
    )
    update_sql = (
        f"UPDATE {table} SET {_quote('title')} = %s, {_quote('slug')} = %s, {_quote('description')} = %s, "
        f"{_quote('unit_price')} = %s, {_quote('inventory')} = %s, {_quote('collection_id')} = %s, "
        f"{_quote('last_update')} = %s, {_quote('version')} = {_quote('version')} + 1 "
        f"WHERE {_quote('id')} = %s AND {_quote('version')} = %s"
    )
    updated_ids = [row.product_id for row in updates]
    product_history_baseline(product_ids=updated_ids)
    with connection.cursor() as cursor:
        for start in range(0, len(creates), BATCH):
            batch = creates[start : start + BATCH]
            cursor.executemany(
                insert_sql,
                [
                    (
                        row.title,
                        row.slug,
                        row.sku,
                        row.description,
                        row.unit_price,
                        row.inventory,
                        now,
                        collections[row.collection.casefold()],
                        1,
                    )
                    for row in batch
                ],
            )
            progress("writing", len(batch))
        for start in range(0, len(updates), BATCH):
            batch = updates[start : start + BATCH]
            cursor.executemany(
                update_sql,
                [
                    (
                        row.title,
                        row.slug,
                        row.description,
                        row.unit_price,
                        row.inventory,
                        collections[row.collection.casefold()],
                        now,
                        row.product_id,
                        row.version,
                    )
                    for row in batch
                ],
            )
            if cursor.rowcount != len(batch):
                # Someone wrote between our locked check and the update (SQLite has no row locks).
                raise ImportConflict(
                    ERROR_CONFLICTS.format(count=len(batch) - max(cursor.rowcount, 0)),
                    [RowError(row.row, "sku", row.sku, ERROR_CONFLICT_VERSION) for row in batch],
                )
            progress("writing", len(batch))

    # Creations are recorded too, so that a revert of this import finds the products it added;
    # a chunk at a time (model instances for 500k rows would not fit the import's memory budget).
    for chunk in _chunks(creates):
        chunk_ids = {_fold(sku): pk for pk, sku in select_in(Product, ("id", "sku"), "sku", [row.sku for row in chunk])}
        product_history_created(
            products=[
                Product(
                    pk=chunk_ids[_fold(row.sku)],
                    title=row.title,
                    slug=row.slug,
                    sku=row.sku,
                    description=row.description,
                    unit_price=row.unit_price,
                    inventory=row.inventory,
                    collection_id=collections[row.collection.casefold()],
                    status=row.extras.get("status") or Product.Status.ACTIVE,
                )
                for row in chunk
            ],
            user=user,
            reason=reason,
        )
    handlers = {handler.column: handler for handler in extra_columns()}
    # The new products' ids, only when promotions or extra columns need them (a dict of 500k SKUs is ~100 MB).
    needs_ids = any(row.promotions or row.extras for row in creates)
    new_ids = (
        {_fold(sku): pk for pk, sku in select_in(Product, ("id", "sku"), "sku", [row.sku for row in creates])}
        if needs_ids
        else {}
    )
    _write_promotions(creates, updates, new_ids)
    for column, handler in handlers.items():
        values = {new_ids[row.sku.casefold()]: row.extras[column] for row in creates if column in row.extras}
        values.update({row.product_id: row.extras[column] for row in updates if column in row.extras})
        if values:
            handler.write(values)
    # After the extra columns: the history rows then show the status the import set.
    product_history_record(product_ids=updated_ids, user=user, reason=reason)
    return WriteResult(created=len(creates), updated=len(updates), conflicts=conflicts)


def _write_promotions(creates: list[NewProduct], updates: list[ProductUpdate], new_ids: dict[str, int]) -> None:
    through = Product.promotions.through
    wanted: dict[int, tuple[int, ...]] = {
        new_ids[row.sku.casefold()]: row.promotions for row in creates if row.promotions
    }
    replaced = [row.product_id for row in updates if row.promotions is not None]
    wanted.update({row.product_id: row.promotions for row in updates if row.promotions is not None})
    for chunk in _chunks(replaced):
        through.objects.filter(product_id__in=chunk).delete()
    links = [through(product_id=pid, promotion_id=promo) for pid, promos in wanted.items() for promo in promos]
    through.objects.bulk_create(links, batch_size=CHUNK)
