"""Write an import plan: batched INSERTs and set-based, version-checked UPDATEs in one transaction.

No read-modify-write: the updates are staged (id, the version read when the plan was made,
the new values) in a temporary table and written by one ``UPDATE … JOIN`` on id AND version,
which bumps the version. Rows that someone changed since (their version moved, their SKU or
slug got taken) are conflicts: by default the whole import is rolled back and they are
reported; with "skip invalid" they are reported and the rest is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Field
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone

from store.fileformat.cells import fold
from store.fileformat.columns import ProductColumn, import_job_id, product_columns
from store.importing.plan import ImportPlan, NewProduct, ProductUpdate, ProgressCallback, RowError, no_progress
from store.importing.related import related_changes_record
from store.models import Collection, Product
from store.search.services import INDEXED, search_index_add, search_index_refresh
from store.services import product_history_baseline_where, product_history_record_where
from store.sql import CHUNK, chunks, execute_many, quote, select_in
from store.variants.rollup import variant_parents_sync

BATCH = 2000
#: the changes that change a product's search terms
SEARCHED = frozenset({"title", "option1", "option2", "option3"})
VARIANT, STANDALONE = Product.Structure.VARIANT.value, Product.Structure.STANDALONE.value
PARENT = Product.Structure.PARENT.value

ERROR_CONFLICT_VERSION = "changed by someone else since this file was checked; re-import to see the new values"
ERROR_CONFLICT_SKU = "a product with this SKU was created by someone else since this file was checked"
ERROR_CONFLICT_SLUG = "this slug was taken by another product since this file was checked"
ERROR_CONFLICT_GONE = "deleted by someone else since this file was checked"
ERROR_CONFLICT_PARENT = "its product is not written: see its row's conflict"
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


def _find_conflicts(plan: ImportPlan, *, creates: bool = True) -> list[RowError]:
    """Rows the catalog moved under since planning; updated rows are locked on MySQL.

    Without ``creates``, the updates only: the new products' SKUs and slugs are then left to
    the unique indexes, which refuse exactly the rows this check would name (``_apply``).
    """
    conflicts: list[RowError] = []
    planned = {update.product_id: update for update in plan.updates}
    seen: set[int] = set()
    ids = sorted(planned)
    for found in select_in(Product, ("id", "version"), "id", ids, lock=True):
        seen.add(found.id)
        if found.version != planned[found.id].version:
            update = planned[found.id]
            conflicts.append(RowError(update.row, "sku", update.sku, ERROR_CONFLICT_VERSION))
    for pk in set(ids) - seen:
        conflicts.append(RowError(planned[pk].row, "sku", planned[pk].sku, ERROR_CONFLICT_GONE))
    # New products, a chunk at a time: two dicts over every create would cost ~100 MB at 500k rows.
    slug_at = plan.position("slug")
    for chunk in chunks(plan.creates if creates else []):
        by_sku = {fold(create.sku): create for create in chunk}
        for found in select_in(Product, ("sku",), "sku", [create.sku for create in chunk]):
            if create := by_sku.get(found.sku.casefold()):
                conflicts.append(RowError(create.row, "sku", create.sku, ERROR_CONFLICT_SKU))
        by_slug = {fold(create.values[slug_at]): create for create in chunk if create.values[slug_at]}
        for found in select_in(Product, ("slug",), "slug", [create.values[slug_at] for create in by_slug.values()]):
            if create := by_slug.get(found.slug.casefold()):
                conflicts.append(RowError(create.row, "slug", create.values[slug_at], ERROR_CONFLICT_SLUG))
    moved_slugs = {update.values[slug_at].casefold(): update for update in plan.updates if "slug" in update.changes}
    for found in select_in(
        Product, ("id", "slug"), "slug", [update.values[slug_at] for update in moved_slugs.values()]
    ):
        moved = moved_slugs.get(found.slug.casefold())
        if moved is not None and moved.product_id != found.id:
            conflicts.append(RowError(moved.row, "slug", moved.values[slug_at], ERROR_CONFLICT_SLUG))
    return sorted(set(conflicts), key=lambda error: error.row)


def _collection_ids(plan: ImportPlan, creates: list[NewProduct], updates: list[ProductUpdate]) -> dict[str, int]:
    at = plan.position("collection")
    titles = sorted({row.values[at] for row in (*creates, *updates) if row.values[at]})
    ids: dict[str, int] = {}
    for chunk in chunks(titles):
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
        for chunk in chunks(list(missing.values())):
            for pk, title in Collection.objects.filter(title__in=chunk).values_list("id", "title"):
                ids[title.casefold()] = pk
    return ids


def _field_default(name: str) -> Any:
    """The default of a Product field (written for a new product without a value)."""
    model_field = Product._meta.get_field(name)
    return model_field.get_default() if isinstance(model_field, Field) else None


def _has_db_default(name: str) -> bool:
    model_field = Product._meta.get_field(name)
    return isinstance(model_field, Field) and model_field.db_default is not NOT_PROVIDED


class _ProductRows:
    """The product-row columns of a plan: INSERT/UPDATE parameters by column name, defaults filled.

    With ``creates``, a field that every new product leaves blank and that the database
    fills itself (``db_default``, e.g. status) is left out of the INSERT. With ``only``, just
    these fields (those an update changes).
    """

    def __init__(
        self,
        plan: ImportPlan,
        columns: dict[str, ProductColumn],
        collections: dict[str, int],
        *,
        creates: list[NewProduct] | None = None,
        parents: dict[str, int] | None = None,
        only: list[str] | None = None,
    ) -> None:
        stored = [(index, columns[name].field or "") for index, name in enumerate(plan.fields) if columns[name].field]
        if creates is not None:
            stored = [
                (index, name)
                for index, name in stored
                if not _has_db_default(name)
                or any(row.values[index] is not None or row.structure == VARIANT for row in creates)
            ]
        if only is not None:
            stored = [(index, name) for index, name in stored if name in only]
        self.fields = [name for _index, name in stored]
        positions = [index for index, _name in stored]
        # A tuple even for one field (itemgetter of one index returns the bare value).
        self._get: Callable[[tuple[Any, ...]], tuple[Any, ...]] = (
            (lambda values: tuple(values[at] for at in positions)) if len(positions) < 2 else itemgetter(*positions)
        )
        # The field's default for a value left blank (a new product's status, description).
        self._defaults = tuple(_field_default(name) for name in self.fields)
        self._collection_at = self._at("collection_id")
        self._collections = collections
        # A variant has no slug, collection or status of its own (its product's); its parent is an id.
        self._variant_nulls = [self.fields.index(name) for name in ("slug", "status") if name in self.fields]
        self._parent_at = self._at("parent_id")
        self._parents = parents if parents is not None else {}

    def _at(self, name: str) -> int | None:
        return self.fields.index(name) if name in self.fields else None

    def params(self, product: NewProduct | ProductUpdate) -> list[Any]:
        values = list(self._get(product.values))
        if None in values:
            values = [
                default if value is None else value for value, default in zip(values, self._defaults, strict=True)
            ]
        if self._collection_at is not None:
            collection = values[self._collection_at]
            values[self._collection_at] = self._collections[collection.casefold()] if collection else None
        if self._parent_at is not None:
            parent = values[self._parent_at]
            values[self._parent_at] = self._parents[fold(parent)] if parent else None
        if product.structure == VARIANT:
            for at in self._variant_nulls:
                values[at] = None
        return values


def apply_plan(
    plan: ImportPlan,
    *,
    skip_invalid: bool = False,
    progress: ProgressCallback = no_progress,
    user: Any = None,
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
        raise ValidationError(ERROR_INTEGRITY.format(error=error), code="integrity") from error


def _apply(plan: ImportPlan, *, skip_invalid: bool, progress: ProgressCallback, user: Any, reason: str) -> WriteResult:
    progress = _OnceProgress(progress)
    if plan.creates and not _find_conflicts(plan, creates=False):
        # The new products' SKUs and slugs are not probed again (planning just did): the unique
        # indexes refuse a row that someone else's product took since, and only then are the
        # rows found and reported as before. A conflict names a product that is equal in the
        # column's collation, which its unique index refuses, so no refusal means no conflict.
        try:
            with transaction.atomic():
                return _write(plan, plan.creates, plan.updates, [], progress=progress, user=user, reason=reason)
        except IntegrityError:
            progress.again()  # rolled back to before the writes: find the rows that conflict, as below
    conflicts = _find_conflicts(plan)
    creates, updates = plan.creates, plan.updates
    if conflicts:
        if not skip_invalid:
            raise ImportConflict(ERROR_CONFLICTS.format(count=len(conflicts)), conflicts)
        bad_rows = {conflict.row for conflict in conflicts}
        # A new variant whose new product is not written is not either.
        dropped = {fold(row.sku) for row in creates if row.row in bad_rows and row.structure != VARIANT}
        at = plan.position("product")
        for row in creates:
            if row.structure == VARIANT and fold(row.values[at]) in dropped and row.row not in bad_rows:
                conflicts.append(RowError(row.row, "product", row.values[at], ERROR_CONFLICT_PARENT))
                bad_rows.add(row.row)
        creates = [row for row in creates if row.row not in bad_rows]
        updates = [row for row in updates if row.row not in bad_rows]
    return _write(plan, creates, updates, conflicts, progress=progress, user=user, reason=reason)


class _OnceProgress:
    """A write's progress callback for a write that may be rolled back and done again: each row
    written is reported once (the second attempt reports only beyond what the first did)."""

    def __init__(self, progress: ProgressCallback) -> None:
        self.progress = progress
        self.reported: dict[str, int] = {}
        self.done: dict[str, int] = {}

    def __call__(self, stage: str, advance: int) -> None:
        done = self.done[stage] = self.done.get(stage, 0) + advance
        beyond = done - self.reported.get(stage, 0)
        if beyond > 0:
            self.reported[stage] = done
            self.progress(stage, beyond)

    def again(self) -> None:
        self.done.clear()


def _write(
    plan: ImportPlan,
    creates: list[NewProduct],
    updates: list[ProductUpdate],
    conflicts: list[RowError],
    *,
    progress: ProgressCallback,
    user: Any,
    reason: str,
) -> WriteResult:
    """Write these creates and updates (the plan's, but the conflicting rows); ``conflicts`` are reported."""
    collections = _collection_ids(plan, creates, updates)
    columns = {column.name: column for column in product_columns()}
    # Products with variants first: their variants' rows point to them.
    creates = sorted(creates, key=lambda row: row.structure == VARIANT)
    first_variant = next((index for index, row in enumerate(creates) if row.structure == VARIANT), len(creates))
    parents: dict[str, int] = {}
    products = _ProductRows(plan, columns, collections, creates=creates, parents=parents)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    structure = ["structure"] if plan.variants else []  # a file without variant columns leaves it alone

    insert_columns = [*products.fields, "sku", "last_update", "version", *structure]
    insert_sql = (
        f"INSERT INTO {quote(Product._meta.db_table)} ({', '.join(map(quote, insert_columns))}) "
        f"VALUES ({', '.join(['%s'] * len(insert_columns))})"
    )
    for group in (creates[:first_variant], creates[first_variant:]):
        if group and group[0].structure == VARIANT:
            parents.update(_parent_ids(plan, creates, updates))
        for start in range(0, len(group), BATCH):
            batch = group[start : start + BATCH]
            # One statement per batch: the MySQL driver sends an executemany INSERT as multi-row INSERTs.
            execute_many(
                insert_sql, [[*products.params(row), row.sku, now, 1, *_structure(row, plan)] for row in batch]
            )
            progress("writing", len(batch))
    if not parents and any(row.structure == VARIANT for row in updates):
        parents.update(_parent_ids(plan, creates, updates))
    fields = _updated_fields(plan, updates, columns)
    with _Staging([*fields, *structure], needed=bool(updates)) as staging:
        if updates:
            changed = _ProductRows(plan, columns, collections, parents=parents, only=fields)
            _write_updates(plan, updates, staging, changed, now=now, progress=progress)

        # Creations are recorded too ("+"), so that a revert of this import finds the products it added.
        # New products with variants are written first, and their terms then read their variants: the
        # variants' chunks need not rewrite them again.
        # A product with variants is priced as its cheapest variant (store.variants.rollup): the
        # products of the variants written (``parents``: every variant row names its product, an
        # existing variant its own) and those given variants; before the history rows show them.
        variant_parents_sync(
            parent_ids=[*parents.values(), *(row.product_id for row in updates if row.structure == PARENT)]
        )

        new_parents: set[int] = set()
        for chunk in chunks(creates):
            # One read of the rows just written: their ids, and what their search terms are made of.
            written = {
                fold(found.sku): found for found in select_in(Product, INDEXED, "sku", [row.sku for row in chunk])
            }
            search_index_add(products=list(written.values()), refreshed=new_parents)
            new_parents.update(written[fold(row.sku)].id for row in chunk if row.structure == PARENT)
            ids = [found.id for found in written.values()]
            product_history_record_where(
                where=f"p.{quote('id')} IN ({', '.join(['%s'] * len(ids))})",
                params=ids,
                user=user,
                reason=reason,
                history_type="+",
            )
        # Updates match on the SKU: only a new title changes their terms (a stock feed changes none).
        # A variant's option values are terms of its product too.
        search_index_refresh(product_ids=[row.product_id for row in updates if SEARCHED.intersection(row.changes)])
        write_related_columns(plan, creates, updates, columns)
        if updates:
            # After the related columns: the history rows then show what the import set.
            product_history_record_where(where=staging.holds("p"), user=user, reason=reason)
    return WriteResult(created=len(creates), updated=len(updates), conflicts=conflicts)


def _updated_fields(plan: ImportPlan, updates: list[ProductUpdate], columns: dict[str, ProductColumn]) -> list[str]:
    """The product fields the updates change: those of the columns in their changes.

    A file with variant columns may reshape rows (a product that gets variants, a variant's
    label): every field of the file is written then, as each row's merged values.
    """
    stored = [columns[name].field or "" for name in plan.fields if columns[name].field]
    if plan.variants or any(row.structure for row in updates):
        return stored
    changed = {columns[name].field for row in updates for name in row.changes if name in columns}
    return [name for name in stored if name in changed]


class _Staging:
    """A temporary table of the updates: (id, the version read when planning, the new values).

    Filled with multi-row INSERTs, then written by ONE ``UPDATE … JOIN`` (SQLite: ``UPDATE …
    FROM``) that only touches rows still at the planned version, and read back by the history
    (``p.id IN (SELECT id FROM staging)``). Temporary: private to this connection.
    """

    NAME = "import_staging"

    def __init__(self, fields: list[str], *, needed: bool) -> None:
        self.fields = fields
        self.needed = needed  # an import of new products only stages nothing

    def __enter__(self) -> _Staging:
        if not self.needed:
            return self
        table, name = quote(Product._meta.db_table), quote(self.NAME)
        selected = ", ".join(map(quote, ["id", "version", *self.fields]))
        with connection.cursor() as cursor:
            cursor.execute(self._drop_sql())  # left by an import that failed on this connection
            if connection.vendor == "mysql":
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {name} (PRIMARY KEY ({quote('id')})) "
                    f"AS SELECT {selected} FROM {table} LIMIT 0"
                )
            else:
                cursor.execute(f"CREATE TEMP TABLE {name} AS SELECT {selected} FROM {table} LIMIT 0")
                cursor.execute(f"CREATE UNIQUE INDEX temp.{quote(self.NAME + '_id')} ON {name} ({quote('id')})")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None and self.needed:
            with connection.cursor() as cursor:
                cursor.execute(self._drop_sql())

    def _drop_sql(self) -> str:
        temporary = "TEMPORARY " if connection.vendor == "mysql" else ""
        return f"DROP {temporary}TABLE IF EXISTS {quote(self.NAME)}"

    def holds(self, alias: str) -> str:
        """SQL: the product ``alias`` is one of the staged rows."""
        return f"{alias}.{quote('id')} IN (SELECT {quote('id')} FROM {quote(self.NAME)})"

    def insert(self, rows: list[list[Any]]) -> None:
        columns = ["id", "version", *self.fields]
        execute_many(
            f"INSERT INTO {quote(self.NAME)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            rows,
        )

    def update(self, *, now: Any) -> int:
        """Write the staged values to the rows still at their staged version; bump version and last_update.

        Returns how many rows it wrote (MySQL counts the rows matched: Django connects with FOUND_ROWS).
        """
        table, name = quote(Product._meta.db_table), quote(self.NAME)
        pk, version, moment = quote("id"), quote("version"), quote("last_update")
        if connection.vendor == "mysql":
            assignments = [f"p.{quote(field)} = s.{quote(field)}" for field in self.fields]
            sql = (
                f"UPDATE {table} p JOIN {name} s ON p.{pk} = s.{pk} AND p.{version} = s.{version} "
                f"SET {', '.join([*assignments, f'p.{moment} = %s', f'p.{version} = p.{version} + 1'])}"
            )
        else:
            assignments = [f"{quote(field)} = s.{quote(field)}" for field in self.fields]
            assignments += [f"{moment} = %s", f"{version} = p.{version} + 1"]
            sql = (
                f"UPDATE {table} AS p SET {', '.join(assignments)} "
                f"FROM {name} AS s WHERE p.{pk} = s.{pk} AND p.{version} = s.{version}"
            )
        with connection.cursor() as cursor:
            cursor.execute(sql, [now])
            written: int = cursor.rowcount
        return written

    def moved(self, *, now: Any) -> list[int]:
        """After ``update``: the staged ids it did not write (their version moved in between)."""
        table, name = quote(Product._meta.db_table), quote(self.NAME)
        pk, version, moment = quote("id"), quote("version"), quote("last_update")
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.{pk} FROM {name} s LEFT JOIN {table} p ON p.{pk} = s.{pk} "
                f"WHERE p.{pk} IS NULL OR p.{version} <> s.{version} + 1 OR p.{moment} <> %s",
                [now],
            )
            return [product_id for (product_id,) in cursor.fetchall()]


def _write_updates(
    plan: ImportPlan,
    updates: list[ProductUpdate],
    staging: _Staging,
    changed: _ProductRows,
    *,
    now: Any,
    progress: ProgressCallback,
) -> None:
    """Stage the updates a batch at a time, baseline their history, then write them in one statement.

    The conflicts were checked (and, on MySQL, the rows locked) before: a row that still moved
    in between (SQLite has no row locks) refuses the whole import, naming the rows that moved.
    """
    for start in range(0, len(updates), BATCH):
        batch = updates[start : start + BATCH]
        staging.insert([[row.product_id, row.version, *changed.params(row), *_structure(row, plan)] for row in batch])
        progress("writing", len(batch))
    product_history_baseline_where(where=staging.holds("p"))
    written = staging.update(now=now)
    if written != len(updates):
        moved = set(staging.moved(now=now))
        raise ImportConflict(
            ERROR_CONFLICTS.format(count=len(moved)),
            [RowError(row.row, "sku", row.sku, ERROR_CONFLICT_VERSION) for row in updates if row.product_id in moved],
        )


def _structure(row: NewProduct | ProductUpdate, plan: ImportPlan) -> list[str]:
    """The row's structure, as a parameter of its INSERT or UPDATE, in a file with variant columns."""
    return [row.structure or STANDALONE] if plan.variants else []


def _parent_ids(plan: ImportPlan, creates: list[NewProduct], updates: list[ProductUpdate]) -> dict[str, int]:
    """The ids of the variants' products (folded SKU -> id), once the new ones are written."""
    at = plan.position("product")
    rows: list[NewProduct | ProductUpdate] = [*creates, *updates]
    skus = sorted({row.values[at] for row in rows if row.structure == VARIANT and row.values[at]})
    return {fold(found.sku): found.id for found in select_in(Product, ("id", "sku"), "sku", skus)}


def write_related_columns(
    plan: ImportPlan, creates: list[NewProduct], updates: list[ProductUpdate], columns: dict[str, ProductColumn]
) -> None:
    """Write the columns with rows of their own (promotions, images, other apps' columns such as tags).

    The values an update replaces are recorded first (``related.related_changes_record``) under the
    ImportJob being written (``columns.import_job_id``), so that reverting the import restores them.
    """
    related = [
        (index, columns[name], columns[name].empty())
        for index, name in enumerate(plan.fields)
        if not columns[name].field
    ]
    # The new products' ids, only when a related column has values for them (a dict of 500k SKUs is ~100 MB).
    needs_ids = any(
        row.values[index] is not None and row.values[index] != empty
        for row in creates
        for index, _column, empty in related
    )
    new_ids = (
        {fold(found.sku): found.id for found in select_in(Product, ("id", "sku"), "sku", [row.sku for row in creates])}
        if needs_ids
        else {}
    )
    job_id = import_job_id.get()
    for index, column, empty in related:
        values = {
            new_ids[fold(row.sku)]: row.values[index]
            for row in creates
            if row.values[index] is not None and row.values[index] != empty
        }
        updated = {row.product_id: row.values[index] for row in updates if row.values[index] is not None}
        if job_id is not None and updated:
            # What the import replaces, for a revert (new products go whole: nothing to keep).
            related_changes_record(job_id=job_id, column=column, values=updated)
        values.update(updated)
        if values:
            column.write(values)
