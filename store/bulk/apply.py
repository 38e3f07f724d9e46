"""Bulk edits of products: the preview and one apply engine, the same for every action.

    report = bulk_edit_preview(action=get_bulk_action("change_price"), products=qs, parameters=p)
    edit = bulk_edit_apply(action=..., products=qs, parameters=p, user=request.user)  # BulkEdit

The actions (``store.bulk.actions``) say what happens to each product; this module does the
rest: walks the selection in pk order, ``BATCH`` (5,000) products at a time (bounded memory at any
size), locks each batch, claims the rows with ``version = version + 1 WHERE id = … AND
version = …`` (an open change form on the product is then refused on save), writes, and
records one history row per changed product ("Bulk edit #N: raise price 5%") and one audit
line. All or nothing: the whole run is one transaction, so one refused product (or a product
someone saved meanwhile) rolls everything back, unless ``skip_refused`` is set.

Selections above ``BULK_INLINE_MAX`` run as a job (``store.bulk.jobs``): a read-only
preflight (``bulk_edit_preview``: every refusal counted, nothing written), then
``bulk_edit_apply_in_batches``, which commits batch by batch and stops at the first batch
holding a product written since the preflight began (or a product refused by then), so
what was written is always "every selected product with id up to X" and the message says so.

Set-based batches (issue 22): when the action has a SQL form (``BulkAction.sql``) and a batch
holds only products without variants, none written since the job's preflight or the user's
preview, the batch is counted by one aggregate query (locked), written by one ``UPDATE … SET
col = <expression>, version = version + 1 WHERE <the batch's ids> AND NOT <refused> AND NOT
<unchanged>`` and recorded by one history ``INSERT … SELECT``; only the report's first changes
and refusals are read into Python (``evaluate`` gives their old → new and reasons). Any other
batch, and every batch a job stops at, takes the row-by-row path, so what is refused, stopped
and reported is the same either way.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from store.audit import audit_event
from store.bulk.actions import (
    CHANGE,
    ERROR_CONFLICT,
    REFUSED,
    UNITS,
    BulkAction,
    BulkEditConflict,
    Outcome,
    Sql,
    SqlForm,
    product_field,
)
from store.jobs.models import JobCancelled
from store.models import BulkEdit, Product
from store.search.services import search_index_refresh
from store.services import (
    UPDATE_BATCH_SIZE,
    User,
    _history_baseline,
    product_history_baseline_where,
    product_history_record_where,
)
from store.sql import execute_many, quote
from store.variants.rollup import ROLLED_UP_FIELDS, variant_parents_sync

logger = logging.getLogger(__name__)

#: products a batch of a job (and of an inline edit's walk) holds. At 1,000, a 100k-product job's 200
#: batches (check, then writes) spent about 1.5 s of 17 s under load on what every batch costs
#: whatever its size (the walk's two queries, the count, the commit, the progress).
BATCH = 5 * UPDATE_BATCH_SIZE
#: products the preview of a job evaluates (``bulk_edit_preview_sample``), in the request
PREVIEW_SAMPLE = UPDATE_BATCH_SIZE
SAMPLE_SIZE = 20
REFUSALS_SHOWN = 100

ERROR_REFUSED = "{count} product(s) would be refused, so nothing was changed."
CHANGED_SINCE_PREVIEW = "changed by someone else since the preview"
REFUSED_CHANGED_SINCE_PREVIEW = CHANGED_SINCE_PREVIEW + " (now {now})"
NAMED_SHOWN = 10
CHANGED_SINCE_NOTE = " Changed by someone else since the preview, left as they were: "
ERROR_CHANGED_SINCE = (
    "{count} product(s) were changed by someone else since the check before writing (first: {skus}); "
    "this batch was not written."
)
ERROR_REFUSED_SINCE = "{count} product(s) would now be refused (first: {skus}: {reason}); this batch was not written."
STOPPED_WRITTEN = (
    "Stopped after {changed:,} product(s) were changed (the selected products with id up to {last_id}); "
    'the others were not touched. The history rows "Bulk edit #{edit_id}" list every change.'
)
STOPPED_NOTHING = "Stopped before anything was written."
ERROR_INTERRUPTED = "Interrupted by an unexpected error; nothing was written."
ERROR_STOPPED_BY_ERROR = "Interrupted by an unexpected error."
RECOVERED_DONE = (
    "The web process stopped before recording the end; the change history (its rows are the ones counted) "
    "shows the edit was written."
)
RECOVERED_NOTHING = "The web process stopped before the edit was written; nothing was changed."
STOPPED_LOST = (
    "Stopped after at least {changed:,} product(s) were changed; the others were not touched. "
    'The history rows "Bulk edit #{edit_id}" list every change.'
)


def bulk_inline_max() -> int:
    return int(getattr(settings, "BULK_INLINE_MAX", 1000))


# --- Preview and apply ---------------------------------------------------------------


class BulkEditRefused(ValidationError):
    def __init__(self, message: str, report: BulkReport):
        super().__init__(message, code="refused")
        self.report = report


class BulkEditStopped(ValidationError):
    """A batch of a job found a product changed since the preflight (or now refused).

    The batches before it are committed; ``edit`` (its message) says exactly what was written."""

    def __init__(self, message: str, edit: BulkEdit):
        super().__init__(message, code="stopped")
        self.edit = edit


@dataclass
class BulkReport:
    """Counts, the first changes (old → new) and why products are refused."""

    changed: int = 0
    unchanged: int = 0
    refused: int = 0
    sample: list[Outcome] = field(default_factory=list)
    refusals: list[Outcome] = field(default_factory=list)
    #: set when only the first products were evaluated (a job's preview): the whole selection's size
    total: int | None = None

    @property
    def selected(self) -> int:
        return self.changed + self.unchanged + self.refused

    def add(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.kind == CHANGE:
                self.changed += 1
                if len(self.sample) < SAMPLE_SIZE:
                    self.sample.append(outcome)
            elif outcome.kind == REFUSED:
                self.refused += 1
                if len(self.refusals) < REFUSALS_SHOWN:
                    self.refusals.append(outcome)
            else:
                self.unchanged += 1

    def add_counted(self, shown: Sequence[Outcome], *, changed: int, unchanged: int, refused: int) -> None:
        """A batch counted by SQL: its totals, and the outcomes evaluated for the sample and refusals."""
        self.add(shown)
        self.changed += changed - sum(1 for outcome in shown if outcome.kind == CHANGE)
        self.refused += refused - sum(1 for outcome in shown if outcome.kind == REFUSED)
        self.unchanged += unchanged - sum(1 for outcome in shown if outcome.kind not in (CHANGE, REFUSED))


@dataclass(frozen=True)
class Seen:
    """What the user confirmed: the preview's moment and the versions of the products it showed.

    A product written since (its version moved, or, not shown, ``last_update`` after the moment:
    every write bumps both) is refused, or skipped with "change the others", and named, as
    Clear inventory does: the edit never overwrites a colleague's save the user did not see."""

    moment: datetime
    versions: Mapping[int, int] = field(default_factory=dict)

    def changed(self, product: Product) -> bool:
        moved = product.pk in self.versions and product.version != self.versions[product.pk]
        return moved or product.last_update > self.moment


def _evaluate(action: BulkAction, rows: list[Product], parameters: dict[str, Any], seen: Seen | None) -> list[Outcome]:
    """The action's outcomes, with the changes to products written since the preview refused."""
    outcomes = action.evaluate(rows, parameters)
    if seen is None:
        return list(outcomes)
    return [
        Outcome(
            product=outcome.product,
            kind=REFUSED,
            old=outcome.old,
            reason=REFUSED_CHANGED_SINCE_PREVIEW.format(now=outcome.old),
        )
        if outcome.kind == CHANGE and seen.changed(outcome.product)
        else outcome
        for outcome in outcomes
    ]


def bulk_selection_count(*, products: QuerySet[Product], limit: int) -> int:
    """How many products are selected, counting at most ``limit`` + 1 (no full COUNT on 1M rows)."""
    return len(products.order_by().values_list("pk", flat=True)[: limit + 1])


def _batches_of_ids(products: QuerySet[Product]) -> Iterator[list[int]]:
    """The selection's ids in pk order, BATCH at a time (keyset: bounded memory at any size).

    Each batch is looked for in a window of primary keys (``pk > last AND pk <= end``, ``end``
    the ``window``-th product after ``last``), widened while the selection is sparse there. A
    range bounded on both sides keeps MariaDB on the primary key: ``parent_id IS NULL AND id > N
    ORDER BY id LIMIT 1000`` alone was read through a (parent_id, …) index and sorted, 0.7 s a
    batch at 100k products."""
    selection = products.order_by().prefetch_related(None).values_list("pk", flat=True)
    table = Product.objects.order_by("pk").values_list("pk", flat=True)
    last, window = 0, BATCH
    while True:
        ids: list[int] = []
        while len(ids) < BATCH:
            ends = list(table.filter(pk__gt=last)[window - 1 : window])
            within = selection.filter(pk__gt=last, pk__lte=ends[0]) if ends else selection.filter(pk__gt=last)
            ids += within.order_by("pk")[: BATCH - len(ids)]
            if len(ids) == BATCH or not ends:
                break
            last, window = ends[0], window * 2
        if not ids:
            return
        yield ids
        if len(ids) < BATCH:
            return
        last = ids[-1]


def _batch_rows(
    action: BulkAction, products: QuerySet[Product], ids: list[int], *, lock: bool = False
) -> list[Product]:
    """The rows one batch of the selection (``ids``, in pk order) stands for, in pk order; locked with ``lock``.

    Products with variants (docs/decisions/0017): an action on sellable units (price, stock) edits
    a selected product with variants' variants, and never the product itself; an action on
    products (collection, status, promotions, tags) edits a selected variant's product. Each row
    comes once over the whole walk: a variant whose product is selected too comes with its
    product; a product comes with the first of its selected variants (lowest id), unless it is
    selected itself. A batch of products without variants costs no query more than before."""
    base = Product.objects.select_for_update() if lock else Product.objects.all()
    rows = list(base.filter(pk__in=ids).order_by("pk"))
    if all(row.structure == Product.Structure.STANDALONE for row in rows):
        return rows
    selection = products.order_by().prefetch_related(None)
    variants_of = {row.parent_id for row in rows if row.structure == Product.Structure.VARIANT}
    selected_products = set(selection.filter(pk__in=variants_of).values_list("pk", flat=True)) if variants_of else set()
    if action.applies_to == UNITS:
        kept = [
            row
            for row in rows
            if row.structure == Product.Structure.STANDALONE
            or (row.structure == Product.Structure.VARIANT and row.parent_id not in selected_products)
        ]
        parents = [row.pk for row in rows if row.structure == Product.Structure.PARENT]
        added = list(base.filter(parent_id__in=parents)) if parents else []
    else:
        kept = [row for row in rows if row.structure != Product.Structure.VARIANT]
        wanted = variants_of - selected_products - {row.pk for row in kept}
        if wanted:
            # Products a variant of an earlier batch stood for already.
            wanted -= set(selection.filter(parent_id__in=wanted, pk__lt=ids[0]).values_list("parent_id", flat=True))
        added = list(base.filter(pk__in=wanted)) if wanted else []
    return sorted([*kept, *added], key=lambda row: row.pk)


def bulk_edit_preview(
    *,
    action: BulkAction,
    products: QuerySet[Product],
    parameters: dict[str, Any],
    on_batch=None,
    seen: Seen | None = None,
) -> BulkReport:
    """What ``bulk_edit_apply`` would do now. Reads only; bounded memory (counts, the first
    changes and refusals). ``on_batch(report)`` is called after each batch (a job's progress);
    ``seen``: products written since the user's preview count as refused (a job's preflight)."""
    report = BulkReport()
    for ids in _batches_of_ids(products):
        batch = _sql_batch(action, parameters, ids, lock=False, seen=seen)
        if batch is None:
            report.add(_evaluate(action, _batch_rows(action, products, ids), parameters, seen))
        else:
            _add_sql_batch(report, action, parameters, batch)
        if on_batch is not None:
            on_batch(report)
    return report


def bulk_edit_preview_sample(
    *, action: BulkAction, products: QuerySet[Product], parameters: dict[str, Any]
) -> BulkReport:
    """A job's preview, bounded at any size: one COUNT, and the first PREVIEW_SAMPLE products
    (pk order; fewer when a batch is smaller) evaluated for the counts and the old → new sample.
    Refusals over the whole selection are counted by the job's preflight, before anything is written."""
    report = BulkReport()
    first = next(_batches_of_ids(products), [])[:PREVIEW_SAMPLE]
    report.add(action.evaluate(_batch_rows(action, products, first), parameters))
    report.total = products.order_by().count()
    return report


# --- Set-based batches ---------------------------------------------------------------


def _true(condition: str) -> str:
    """1 where ``condition`` holds, else 0 (NULL too: NOT of a NULL comparison would drop the row)."""
    return f"(CASE WHEN {condition} THEN 1 ELSE 0 END)"


#: a batch with at most this many ids missing from its range is written as the range less those
GAPS_SHOWN = 50


def ids_condition(ids: Sequence[int]) -> Sql:
    """``ids`` as a condition on ``p.id``: ``BETWEEN first AND last`` when they fill their
    range (less a few ``NOT IN``), else ``IN (…)``. MariaDB reads a range of the primary key: an
    ``UPDATE`` of 1,000 rows by ``IN`` list took about 1.7× as long as by range (it turns lists of
    1,000 values or more into a derived table, ``in_predicate_conversion_threshold``)."""
    column = f"p.{quote('id')}"
    first, last = min(ids), max(ids)
    gaps = last - first + 1 - len(set(ids))
    if gaps > GAPS_SHOWN:
        return f"{column} IN ({', '.join(['%s'] * len(ids))})", tuple(ids)
    if not gaps:
        return f"{column} BETWEEN %s AND %s", (first, last)
    missing = sorted(set(range(first, last + 1)) - set(ids))
    return (
        f"{column} BETWEEN %s AND %s AND {column} NOT IN ({', '.join(['%s'] * len(missing))})",
        (first, last, *missing),
    )


@dataclass
class SqlBatch:
    """One batch of products without variants, counted by SQL (``_sql_batch``)."""

    ids: list[int]
    form: SqlForm
    total: int
    refused: int
    unchanged: int
    #: when it was read: a row written after that is not overwritten (``_claim_where``)
    read_at: datetime

    @property
    def changed(self) -> int:
        return self.total - self.refused - self.unchanged

    @property
    def selection(self) -> Sql:
        return ids_condition(self.ids)

    def where(self, *, changes: bool = False, refused: bool = False) -> Sql:
        """The batch's rows; ``changes``: those the action changes; ``refused``: those it refuses."""
        sql, params = self.selection
        refusal, refusal_params = self.form.refused
        if refused:
            return f"{sql} AND {_true(refusal)} = 1", (*params, *refusal_params)
        if changes:
            same, same_params = self.form.unchanged
            return (
                f"{sql} AND {_true(refusal)} = 0 AND {_true(same)} = 0",
                (*params, *refusal_params, *same_params),
            )
        return sql, params


def _sql_batch(
    action: BulkAction,
    parameters: dict[str, Any],
    ids: list[int],
    *,
    lock: bool,
    since: datetime | None = None,
    seen: Seen | None = None,
) -> SqlBatch | None:
    """The batch's counts by one aggregate query (its rows locked with ``lock``), or None when
    it takes the row-by-row path: the action has no SQL form, or the batch holds a product with
    variants or a variant, or a product written since ``since`` (a job's preflight: the job
    stops there) or since the user's preview (``seen``: refused and named)."""
    form = action.sql(parameters)
    if form is None or not ids:
        return None
    read_at = timezone.now()
    batch = SqlBatch(ids=ids, form=form, total=0, refused=0, unchanged=0, read_at=read_at)
    moved, moved_params = _moved_condition(ids, since=since, seen=seen)
    refused, refused_params = form.refused
    unchanged, unchanged_params = form.unchanged
    selection, selection_params = batch.selection
    structure = quote("structure")
    lock_sql = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    sql = (
        f"SELECT COUNT(*), SUM({_true(f'p.{structure} <> %s')}), SUM({_true(moved)}), "
        f"SUM({_true(refused)}), SUM({_true(f'{_true(refused)} = 0 AND {unchanged}')}) "
        f"FROM {quote(Product._meta.db_table)} p WHERE {selection}{lock_sql}"
    )
    params = [
        Product.Structure.STANDALONE,
        *moved_params,
        *refused_params,
        *refused_params,
        *unchanged_params,
        *selection_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, structured, moved_count, refused_count, unchanged_count = cursor.fetchone()
    if structured or moved_count:
        return None
    batch.total, batch.refused, batch.unchanged = int(total), int(refused_count or 0), int(unchanged_count or 0)
    return batch


def _moved_condition(ids: list[int], *, since: datetime | None, seen: Seen | None) -> Sql:
    """The rows written since ``since`` or since the user's preview (``Seen.changed``), as SQL."""
    conditions: list[str] = []
    params: list[Any] = []
    last_update, version, id_column = (f"p.{quote(name)}" for name in ("last_update", "version", "id"))
    moments = [moment for moment in (since, seen.moment if seen is not None else None) if moment is not None]
    if moments:
        conditions.append(f"{last_update} > %s")
        params.append(connection.ops.adapt_datetimefield_value(min(moments)))
    if seen is not None:
        for pk in sorted(set(ids) & set(seen.versions)):
            conditions.append(f"({id_column} = %s AND {version} <> %s)")
            params += [pk, seen.versions[pk]]
    return (" OR ".join(conditions) or "1 = 0"), tuple(params)


def _sql_shown(action: BulkAction, parameters: dict[str, Any], batch: SqlBatch, report: BulkReport) -> list[Outcome]:
    """The batch's first changes and refusals, evaluated in Python, while the report still shows fewer
    than it lists (its old → new sample and the refusals' reasons): at most a few dozen rows."""
    shown: list[Outcome] = []
    wanted = [
        (CHANGE, batch.changed, SAMPLE_SIZE - len(report.sample), batch.where(changes=True)),
        (REFUSED, batch.refused, REFUSALS_SHOWN - len(report.refusals), batch.where(refused=True)),
    ]
    table = quote(Product._meta.db_table)
    for kind, count, room, (where, params) in wanted:
        if not count or room <= 0:
            continue
        rows = list(
            Product.objects.raw(
                f"SELECT p.* FROM {table} p WHERE {where} ORDER BY p.{quote('id')} LIMIT %s", [*params, room]
            )
        )
        outcomes = action.evaluate(rows, parameters)
        if any(outcome.kind != kind for outcome in outcomes):
            raise RuntimeError(f"The SQL form of {action.name} disagrees with its evaluate() on {kind} rows.")
        shown += outcomes
    return sorted(shown, key=lambda outcome: outcome.product.pk)


def _add_sql_batch(
    report: BulkReport, action: BulkAction, parameters: dict[str, Any], batch: SqlBatch
) -> list[Outcome]:
    shown = _sql_shown(action, parameters, batch, report)
    report.add_counted(shown, changed=batch.changed, unchanged=batch.unchanged, refused=batch.refused)
    return shown


#: how many batches' worth of product ids one look at the history covers (``HistoryCovered``)
HISTORY_SPAN_BATCHES = 10


class HistoryCovered:
    """Which products of a job's batches are known to have a history row, so that their batch
    skips the history baseline's ``INSERT … SELECT`` (which would write nothing).

    One look covers ``HISTORY_SPAN_BATCHES`` × ``BATCH`` ids from a batch's first id: ``COUNT(DISTINCT id)`` of the
    history over that range equal to the range's length means every id in it has a history row,
    so every product there has one. MariaDB counts it by a loose scan of the history's ``id``
    index, one step per id; the baseline's bounded ``NOT IN`` reads every history row of the
    batch's ids (each product has one per change), about 4× longer per batch under load. A range
    with an id without history (a product written without ``save()``, or an id that never was a
    product) is not looked at again: its batches check their baselines one by one, as before.
    History rows are never deleted, so what a look found stays true for the rest of the job."""

    def __init__(self) -> None:
        self.covered = (0, -1)
        self.not_covered_to = -1
        self.highest: int | None = None

    def covers(self, ids: Sequence[int]) -> bool:
        first, last = ids[0], ids[-1]
        low, high = self.covered
        if low <= first and last <= high:
            return True
        if last <= self.not_covered_to or (last - first + 1) > 2 * len(ids):
            return False  # known to hold an id without history, or too sparse to be worth a look
        if self.highest is None:
            self.highest = Product.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        end = min(first + HISTORY_SPAN_BATCHES * BATCH - 1, self.highest)
        if last > end:
            return False
        history = quote(Product.history.model._meta.db_table)
        column = quote("id")
        with connection.cursor() as cursor:
            sql = f"SELECT COUNT(DISTINCT {column}) FROM {history} WHERE {column} BETWEEN %s AND %s"
            cursor.execute(sql, [first, end])
            (count,) = cursor.fetchone()
        if count == end - first + 1:
            self.covered = (first, end)
            return True
        self.not_covered_to = end
        return False


def _sql_write(batch: SqlBatch, *, user: User, reason: str, history: HistoryCovered | None = None) -> None:
    """The batch's changes: history baseline (unless ``history`` covers the batch), one UPDATE (version
    guard), one history INSERT … SELECT."""
    if not batch.changed:
        return
    now = timezone.now()
    where, params = batch.where(changes=True)
    if history is None or not history.covers(batch.ids):
        product_history_baseline_where(where=where, params=params, ids_between=(batch.ids[0], batch.ids[-1]))
    _claim_where(batch, now)
    selection, selection_params = batch.selection
    moment = connection.ops.adapt_datetimefield_value(now)
    _record_history(
        where=f"{selection} AND p.{quote('last_update')} = %s",
        params=(*selection_params, moment),
        user=user,
        reason=reason,
        now=now,
    )


def _claim_where(batch: SqlBatch, now: datetime) -> None:
    """``UPDATE … SET col = <expression>, version = version + 1, last_update = now`` on the batch's
    changes not written since it was read; any other count than the batch's changes is a conflict
    (the transaction rolls back)."""
    where, params = batch.where(changes=True)
    sets: list[str] = []
    set_params: list[Any] = []
    for name, (expression, expression_params) in batch.form.sets:
        sets.append(f"{quote(product_field(name).column)} = {expression}")
        set_params += expression_params
    last_update, version = quote("last_update"), quote("version")
    sql = (
        f"UPDATE {quote(Product._meta.db_table)} AS p SET {', '.join(sets)}, {version} = {version} + 1, "
        f"{last_update} = %s WHERE {where} AND p.{last_update} <= %s"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [*set_params, adapt(now), *params, adapt(batch.read_at)])
        claimed = cursor.rowcount
    if claimed != batch.changed:
        raise BulkEditConflict(ERROR_CONFLICT.format(count=abs(batch.changed - claimed)), code="conflict")
    # No variant here (a batch holding one goes row by row, _sql_batch): no product's price follows.
    if {"title", "sku"} & {name for name, _ in batch.form.sets}:
        search_index_refresh(product_ids=list(batch.ids))


# --- Row by row -----------------------------------------------------------------------


def _claim(changes: Sequence[Outcome], now) -> None:
    """version = version + 1 (and the per-row values) where the version is still the one read."""
    table = Product._meta.db_table
    columns = list(changes[0].values)
    sets = [f"{quote(product_field(name).column)} = %s" for name in columns]
    sets.append(f"{quote('last_update')} = %s")
    sql = (
        f"UPDATE {quote(table)} SET {', '.join(sets)}, {quote('version')} = {quote('version')} + 1 "
        f"WHERE {quote('id')} = %s AND {quote('version')} = %s"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    params = []
    for change in changes:
        values = [product_field(name).get_db_prep_save(change.values[name], connection) for name in columns]
        params.append((*values, moment, change.product.pk, change.product.version))
    claimed = execute_many(sql, params)
    if claimed != len(changes):
        raise BulkEditConflict(ERROR_CONFLICT.format(count=len(changes) - max(claimed, 0)), code="conflict")
    if {"title", "sku"} & set(columns):  # none of today's actions: the terms follow if one does
        search_index_refresh(product_ids=[change.product.pk for change in changes])
    if ROLLED_UP_FIELDS.intersection(columns):  # a product with variants follows its variants
        variant_parents_sync(parent_ids=[change.product.parent_id for change in changes])


def _record_history(*, where: str, params: Sequence[Any], user: User, reason: str, now: datetime) -> None:
    """One history row per product just written (``where`` over ``p``), copied by the database."""
    product_history_record_where(where=where, params=params, user=user, reason=reason[:100], date=now)


def _apply_batch(
    action: BulkAction,
    products: QuerySet[Product],
    ids: list[int],
    parameters: dict[str, Any],
    *,
    report: BulkReport,
    write: bool,
    user: User,
    reason: str,
    seen: Seen | None = None,
) -> None:
    batch = _sql_batch(action, parameters, ids, lock=True, seen=seen)
    if batch is not None:
        _add_sql_batch(report, action, parameters, batch)
        if write:
            _sql_write(batch, user=user, reason=reason)
        return
    rows = _batch_rows(action, products, ids, lock=True)
    outcomes = _evaluate(action, rows, parameters, seen)
    report.add(outcomes)
    if write:
        _write(action, outcomes, parameters, user=user, reason=reason)


def _write(
    action: BulkAction, outcomes: Sequence[Outcome], parameters: dict[str, Any], *, user: User, reason: str
) -> None:
    """Claim (version guard), write and record history for the changes of one locked batch."""
    changes = [outcome for outcome in outcomes if outcome.kind == CHANGE]
    if not changes:
        return
    now = timezone.now()
    _history_baseline(products=[copy.copy(change.product) for change in changes])
    _claim(changes, now)
    action.write(changes, parameters)
    ids = [change.product.pk for change in changes]
    _record_history(
        where=f"p.{quote('id')} IN ({', '.join(['%s'] * len(ids))})", params=ids, user=user, reason=reason, now=now
    )


def bulk_edit_apply(
    *,
    action: BulkAction,
    products: QuerySet[Product],
    parameters: dict[str, Any],
    user: User = None,
    skip_refused: bool = False,
    seen: Seen | None = None,
) -> BulkEdit:
    """Apply ``action`` to every product of ``products``, in batches, in one transaction.

    Returns the finished BulkEdit. Raises ``BulkEditRefused`` (with the report) when a
    product would be refused and ``skip_refused`` is off, ``BulkEditConflict`` when a
    product was saved by someone else meanwhile: in both cases nothing is written
    (the BulkEdit stays, marked refused or failed). ``seen``: what the user's preview showed;
    a product written since is refused (or skipped), and named.
    """
    edit = bulk_edit_create(action=action, parameters=parameters, user=user, skip_refused=skip_refused)
    reason = str(edit)
    report = BulkReport()
    try:
        with transaction.atomic():
            for ids in _batches_of_ids(products):
                # After the first refusal, keep reading (to list every refusal) but stop writing.
                write = skip_refused or not report.refused
                _apply_batch(
                    action, products, ids, parameters, report=report, write=write, user=user, reason=reason, seen=seen
                )
            if report.refused and not skip_refused:
                raise BulkEditRefused(ERROR_REFUSED.format(count=report.refused), report)
            # The end is recorded by the writes' own transaction: a web process that dies after
            # the commit leaves a finished "Bulk edit #N", never a "running" one.
            _record_end(edit, report, BulkEdit.STATE_DONE, _done_message(report))
    except BulkEditRefused as refused:
        _finish(edit, report, BulkEdit.STATE_REFUSED, refused.messages[0], user)
        raise
    except BulkEditConflict as conflict:
        _finish(edit, report, BulkEdit.STATE_FAILED, conflict.messages[0], user)
        raise
    except Exception:
        # A bug or a database error: the transaction rolled back, so nothing was written.
        _finish_after_error(edit, BulkReport(), BulkEdit.STATE_FAILED, ERROR_INTERRUPTED, user)
        raise
    _audit(edit, user)
    return edit


def bulk_edit_create(
    *, action: BulkAction, parameters: dict[str, Any], user: User = None, skip_refused: bool = False
) -> BulkEdit:
    """The running "Bulk edit #N" record; its ``str`` is the history rows' reason."""
    return BulkEdit.objects.create(
        user=user if isinstance(user, get_user_model()) and user.pk else None,
        action=action.name,
        description=action.describe(parameters)[:200],
        parameters={**parameters, "skip_refused": skip_refused},
    )


def bulk_edit_apply_in_batches(
    *,
    action: BulkAction,
    products: QuerySet[Product],
    parameters: dict[str, Any],
    since,
    edit: BulkEdit,
    user: User = None,
    skip_refused: bool = False,
    on_batch=None,
    seen: Seen | None = None,
) -> BulkEdit:
    """A job's writes: one transaction per batch, after a preflight that found nothing refused.

    ``since`` is when the preflight began. Each batch is locked, then checked: a product
    written since (``last_update > since``: every write bumps ``version`` and ``last_update``
    together) or refused by now stops the edit before that batch is written, with
    ``BulkEditStopped``. ``on_batch(report)`` runs after each commit; a ``JobCancelled`` it
    raises stops the edit there. Either way ``edit`` ends saying exactly what was written:
    every selected product with id up to the last committed batch's last id, nothing after.
    """
    reason = str(edit)
    report = BulkReport()
    last_id = None
    job = _JobWrites(since=since, seen=seen, skip_refused=skip_refused, user=user, reason=reason)
    try:
        for ids in _batches_of_ids(products):
            with transaction.atomic():
                counted = _job_batch(action, products, ids, parameters, report=report, job=job)
                # What the batch wrote is recorded by the batch's own transaction: a worker that
                # dies after the commit leaves a record that says so (and no Retry to apply it twice).
                _record_counts(edit, counted, last_id=ids[-1])
            report, last_id = counted, ids[-1]
            if on_batch is not None:
                on_batch(report)
    except (BulkEditConflict, BulkEditRefused, JobCancelled) as exc:
        written = _written(edit, report, last_id)
        if isinstance(exc, JobCancelled):
            _finish(edit, report, BulkEdit.STATE_CANCELLED, f"Cancelled. {written}", user)
            raise
        _finish(edit, report, BulkEdit.STATE_STOPPED, f"{exc.messages[0]} {written}", user)
        raise BulkEditStopped(edit.message, edit) from exc
    except Exception:
        # A bug or a database error in a batch: that batch rolled back, the ones before it stay.
        message = f"{ERROR_STOPPED_BY_ERROR} {_written(edit, report, last_id)}"
        _finish_after_error(edit, report, BulkEdit.STATE_STOPPED, message, user)
        raise
    return _finish_done(edit, report, user)


@dataclass
class _JobWrites:
    """What every batch of a job's writes shares (``bulk_edit_apply_in_batches``)."""

    since: datetime
    seen: Seen | None
    skip_refused: bool
    user: User
    reason: str
    history: HistoryCovered = field(default_factory=HistoryCovered)


def _job_batch(
    action: BulkAction,
    products: QuerySet[Product],
    ids: list[int],
    parameters: dict[str, Any],
    *,
    report: BulkReport,
    job: _JobWrites,
) -> BulkReport:
    """One batch of a job, in its transaction: checked, written, and ``report`` plus its counts (a copy)."""
    since, seen, skip_refused, user, reason = job.since, job.seen, job.skip_refused, job.user, job.reason
    counted = _counted(report)
    batch = _sql_batch(action, parameters, ids, lock=True, since=since, seen=seen)
    if batch is not None and (skip_refused or not batch.refused):
        _add_sql_batch(counted, action, parameters, batch)
        _sql_write(batch, user=user, reason=reason, history=job.history)
        return counted
    # Row by row: products with variants, or the batch this job stops at (named exactly).
    rows = _batch_rows(action, products, ids, lock=True)
    moved = [row for row in rows if row.last_update > since]
    if moved:
        raise BulkEditConflict(
            ERROR_CHANGED_SINCE.format(count=len(moved), skus=", ".join(row.sku for row in moved[:5])),
            code="conflict",
        )
    outcomes = _evaluate(action, rows, parameters, seen)
    refused = [outcome for outcome in outcomes if outcome.kind == REFUSED]
    if refused and not skip_refused:
        raise BulkEditRefused(
            ERROR_REFUSED_SINCE.format(
                count=len(refused),
                skus=", ".join(o.product.sku for o in refused[:5]),
                reason=refused[0].reason,
            ),
            BulkReport(),
        )
    _write(action, outcomes, parameters, user=user, reason=reason)
    counted.add(outcomes)
    return counted


def _written(edit: BulkEdit, report: BulkReport, last_id: int | None) -> str:
    if last_id is None:
        return STOPPED_NOTHING
    return STOPPED_WRITTEN.format(changed=report.changed, last_id=last_id, edit_id=edit.pk)


def _counted(report: BulkReport) -> BulkReport:
    """A copy of ``report`` for the next batch to add to (``report`` stays as committed)."""
    counted = BulkReport(
        changed=report.changed,
        unchanged=report.unchanged,
        refused=report.refused,
        sample=list(report.sample),
        refusals=list(report.refusals),
    )
    return counted


def _record_counts(edit: BulkEdit, report: BulkReport, *, last_id: int) -> None:
    """The counts so far and the last product id written, on the running "Bulk edit #N"."""
    counts = {
        "selected_count": report.selected,
        "changed_count": report.changed,
        "unchanged_count": report.unchanged,
        "refused_count": report.refused,
        "last_id": last_id,
    }
    BulkEdit.objects.filter(pk=edit.pk).update(**counts)
    for name, value in counts.items():
        setattr(edit, name, value)


def _done_message(report: BulkReport) -> str:
    message = f"{report.changed} changed, {report.unchanged} unchanged"
    if report.refused:
        message += f", {report.refused} refused and left as they were"
    return message + "." + changed_since_preview_note(report)


def changed_since_preview_note(report: BulkReport) -> str:
    """ " Changed since the preview and left as they were: SKU (now …), …" when any was skipped for that."""
    moved = [o for o in report.refusals if o.reason.startswith(CHANGED_SINCE_PREVIEW)]
    if not moved:
        return ""
    named = ", ".join(f"{o.product.sku} (now {o.old})" for o in moved[:NAMED_SHOWN])
    more = f" and {len(moved) - NAMED_SHOWN} more" if len(moved) > NAMED_SHOWN else ""
    return f"{CHANGED_SINCE_NOTE}{named}{more}."


def edit_changed_since_note(edit: BulkEdit) -> str:
    """The part of a done edit's message naming the products skipped for changing since the preview."""
    index = edit.message.find(CHANGED_SINCE_NOTE)
    return edit.message[index:] if index >= 0 else ""


def _finish_done(edit: BulkEdit, report: BulkReport, user: User) -> BulkEdit:
    _finish(edit, report, BulkEdit.STATE_DONE, _done_message(report), user)
    return edit


def _record_end(edit: BulkEdit, report: BulkReport, state: str, message: str) -> None:
    edit.state, edit.message, edit.finished_at = state, message, timezone.now()
    # Done, or a job stopped part-way: report.changed counts committed changes only.
    written = state in (BulkEdit.STATE_DONE, BulkEdit.STATE_STOPPED, BulkEdit.STATE_CANCELLED)
    edit.selected_count, edit.changed_count = report.selected, report.changed if written else 0
    edit.unchanged_count, edit.refused_count = report.unchanged, report.refused
    edit.save()


def _audit(edit: BulkEdit, user: User) -> None:
    audit_event(
        "product.bulk_edit",
        user=user,
        bulk_edit_id=edit.pk,
        action=edit.action,
        description=edit.description,
        state=edit.state,
        changed=edit.changed_count,
        unchanged=edit.unchanged_count,
        refused=edit.refused_count,
    )


def _finish(edit: BulkEdit, report: BulkReport, state: str, message: str, user: User) -> None:
    _record_end(edit, report, state, message)
    _audit(edit, user)


def _finish_after_error(edit: BulkEdit, report: BulkReport, state: str, message: str, user: User) -> None:
    """Record the end of an edit an unexpected error stopped; the error itself goes on up."""
    try:
        _finish(edit, report, state, message, user)
    except DatabaseError:  # the database is gone too: housekeeping recovers the edit later
        logger.exception("Could not record the end of bulk edit #%s", edit.pk)


# --- Bulk edits found dead --------------------------------------------------------------


def bulk_edit_history_rows(edit: BulkEdit) -> QuerySet[Any]:
    """The change-history rows ``edit`` wrote (their reason is "Bulk edit #N: …")."""
    return Product.history.filter(history_change_reason=str(edit)[:100], history_date__gte=edit.created_at)


def bulk_edit_reconcile(*, edit: BulkEdit) -> BulkEdit:
    """Counts of a running edit whose process died, from what the database holds: its history rows.

    A batch records its counts in its own transaction, so they normally agree; an edit written
    before that (or by an older version) gets the history's count and the last product id."""
    written = bulk_edit_history_rows(edit).aggregate(count=Count("history_id"), last=Max("id"))
    if written["count"] > edit.changed_count:
        edit.changed_count, edit.last_id = written["count"], written["last"]
        BulkEdit.objects.filter(pk=edit.pk).update(changed_count=edit.changed_count, last_id=edit.last_id)
    return edit


def bulk_edit_written_message(edit: BulkEdit) -> str:
    """What a stopped edit wrote, from its record."""
    if not edit.changed_count:
        return STOPPED_NOTHING
    if edit.last_id is None:
        return STOPPED_LOST.format(changed=edit.changed_count, edit_id=edit.pk)
    return STOPPED_WRITTEN.format(changed=edit.changed_count, last_id=edit.last_id, edit_id=edit.pk)


def bulk_edits_recover(*, now: datetime | None = None) -> int:
    """Inline bulk edits still "running" after INLINE_STEP_TIMEOUT: their web process died.

    Reconciled from their history rows: an edit whose writes committed is done (one
    transaction: all of it), one without any is failed with nothing written."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.INLINE_STEP_TIMEOUT)
    dead = BulkEdit.objects.filter(state=BulkEdit.STATE_RUNNING, created_at__lt=cutoff, job__isnull=True)
    count = 0
    for edit in dead[:1000]:
        bulk_edit_reconcile(edit=edit)
        if edit.changed_count:
            state = BulkEdit.STATE_DONE
            message = f"{edit.changed_count} changed. {RECOVERED_DONE}"
        else:
            state, message = BulkEdit.STATE_FAILED, RECOVERED_NOTHING
        count += BulkEdit.objects.filter(pk=edit.pk, state=BulkEdit.STATE_RUNNING).update(
            state=state, message=message, finished_at=now
        )
    if count:
        logger.warning("Bulk edits: %d left running by a web process that stopped, recovered.", count)
    return count
