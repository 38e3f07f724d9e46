"""What imports change in product columns with rows of their own, kept for reverts.

Product fields are in the change history; tags, promotions (and any column another app
registers whose ``write()`` replaces the value) are not. Before such a column is written,
``related_changes_record`` keeps each product's value where the import changes it, as an
``ImportRelatedChange`` of the import's job; a revert reads them back with
``related_changes_of`` and writes the values before through the same column.

Store knows these columns only through the column table (``store.fileformat.columns``):
store_custom's ``tags`` column records and restores tags without store importing ``tags``.
Images are not recorded: their column only adds, and every image source an import adds
points back to the import's job (``ProductImageSource.import_job``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from store.fileformat.columns import ProductColumn, product_columns
from store.models import ImportRelatedChange
from store.sql import CHUNK, chunks, execute_many, quote

#: the option of an ImportJob written since imports record these changes (older ones cannot restore them)
RELATED_RECORDED = "related_recorded"


@dataclass(frozen=True)
class RelatedChange:
    """A product's value of ``column`` before and after one import (or revert)."""

    column: ProductColumn
    product_id: int
    before: Any
    after: Any


def restorable_columns() -> list[ProductColumn]:
    """The columns with rows of their own whose value a revert writes back."""
    return [column for column in product_columns() if not column.field and column.restorable]


def related_changes_record(*, job_id: int, column: ProductColumn, values: dict[int, Any]) -> int:
    """Before ``column.write(values)``: keep each product's current value where the new one differs.

    One read of the current values (in chunks) and one INSERT per ``CHUNK`` changes; returns how many.
    """
    if not values or column.field or not column.restorable:
        return 0
    before = column.current(list(values))
    empty = column.empty()
    changes = [
        (job_id, product_id, column.name, json.dumps(column.dump(old)), json.dumps(column.dump(value)))
        for product_id, value in values.items()
        if not column.same(old := before.get(product_id, empty), value)
    ]
    # executemany, as the import's own writes: model instances cost ~2x at 100k changes.
    table = quote(ImportRelatedChange._meta.db_table)
    names = ", ".join(quote(name) for name in ("import_job_id", "product_id", "column", "before", "after"))
    for chunk in chunks(changes, CHUNK):
        execute_many(f"INSERT INTO {table} ({names}) VALUES (%s, %s, %s, %s, %s)", chunk)
    return len(changes)


def related_changes_of(*, job_id: int, product_ids: Sequence[int]) -> dict[int, list[RelatedChange]]:
    """The recorded changes of one job for these products, by product (columns no longer registered left out)."""
    columns = {column.name: column for column in restorable_columns()}
    found: dict[int, list[RelatedChange]] = {}
    for chunk in chunks(list(product_ids)):
        rows = (
            ImportRelatedChange.objects.filter(import_job_id=job_id, product_id__in=chunk)
            .order_by("id")
            .values_list("product_id", "column", "before", "after")
        )
        for product_id, name, before, after in rows:
            column = columns.get(name)
            if column is not None:
                found.setdefault(product_id, []).append(
                    RelatedChange(column, product_id, column.load(before), column.load(after))
                )
    return found


def related_current(changes: Iterable[RelatedChange]) -> dict[str, dict[int, Any]]:
    """The current values of the columns these changes touch, for their products (one read per column)."""
    wanted: dict[str, tuple[ProductColumn, set[int]]] = {}
    for change in changes:
        wanted.setdefault(change.column.name, (change.column, set()))[1].add(change.product_id)
    return {name: column.current(sorted(ids)) for name, (column, ids) in wanted.items()}


def related_values_write(*, job_id: int, changes: Iterable[RelatedChange]) -> None:
    """Write each change's value before back (a revert, ``job_id`` its own job, which records what it changes)."""
    by_column: dict[str, tuple[ProductColumn, dict[int, Any]]] = {}
    for change in changes:
        by_column.setdefault(change.column.name, (change.column, {}))[1][change.product_id] = change.before
    for column, values in by_column.values():
        related_changes_record(job_id=job_id, column=column, values=values)
        column.write(values)


def related_values_keep(*, job_id: int, product_ids: Sequence[int]) -> None:
    """Products about to be deleted (by a revert): keep their values, so reverting the revert re-creates them."""
    for column in restorable_columns():
        related_changes_record(job_id=job_id, column=column, values=dict.fromkeys(product_ids, column.empty()))
