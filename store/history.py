"""The product change history's other columns: what a change did to the columns with rows of
their own (images, promotions, tags), which django-simple-history does not record.

- The admin's change form records them (``product_related_changes_record``) as
  ``ProductRelatedChange`` rows of the history row its save made.
- Imports record theirs as ``ImportRelatedChange`` (for reverts); the history rows of an import
  carry its reason "Import #N (…)", so the page finds them by the job's id.

Store knows these columns only through the column table (``store.fileformat.columns``): the
``tags`` column comes from store_custom, and store never imports ``tags``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from store.fileformat.columns import ProductColumn, product_columns
from store.models import ImportRelatedChange, ImportRevert, Product, ProductRelatedChange

#: the reasons of the history rows an import wrote (store.importing.service), and its revert
#: (store.importing.revert, which records its related changes under its own job: ImportRevert.revert_job)
IMPORT_REASON = re.compile(r"^Import #(\d+) \(")
REVERT_REASON = re.compile(r"^Revert of import #(\d+)$")
EMPTY = "—"


@dataclass(frozen=True)
class RelatedDelta:
    """One line of the history page's Changes: a column's value before and after, in words."""

    field: str
    old: str
    new: str


def related_columns() -> list[ProductColumn]:
    """The product columns with rows of their own that can say a product's current value."""
    return [column for column in product_columns() if not column.field]


def product_related_snapshot(*, product_id: int | None) -> dict[str, Any]:
    """The current value of each related column for one product (JSON-ready; {} for a new one)."""
    if product_id is None:
        return {}
    snapshot = {}
    for column in related_columns():
        try:
            value = column.current([product_id]).get(product_id, column.empty())
        except NotImplementedError:
            continue
        snapshot[column.name] = column.dump(value)
    return snapshot


def product_related_changes_record(*, product_id: int, before: dict[str, Any]) -> int:
    """After the admin saved a product and its inlines: the columns whose value moved since
    ``before`` (``product_related_snapshot``) are recorded against the product's newest history
    row, the one this save made. Returns how many."""
    after = product_related_snapshot(product_id=product_id)
    columns = {column.name: column for column in related_columns()}
    moved = [
        (name, before.get(name, columns[name].dump(columns[name].empty())), value)
        for name, value in after.items()
        if not columns[name].same(
            columns[name].load(before.get(name, columns[name].dump(columns[name].empty()))), columns[name].load(value)
        )
    ]
    if not moved:
        return 0
    history_id = Product.history.filter(id=product_id).order_by("-history_id").values_list("history_id", flat=True)[0]
    ProductRelatedChange.objects.bulk_create(
        ProductRelatedChange(history_id=history_id, column=name, before=old, after=new) for name, old, new in moved
    )
    return len(moved)


def product_history_related_changes(*, records: Iterable[Any]) -> dict[int, list[RelatedDelta]]:
    """For the history rows ``records`` (of one product): {history_id: what they did to related
    columns}, from the admin's records and from the imports' (three queries at most)."""
    records = list(records)
    raw: dict[int, list[tuple[str, Any, Any]]] = {}
    for history_id, name, before, after in (
        ProductRelatedChange.objects.filter(history_id__in=[record.history_id for record in records])
        .order_by("id")
        .values_list("history_id", "column", "before", "after")
    ):
        raw.setdefault(history_id, []).append((name, before, after))
    by_import: dict[tuple[int, int], int] = {}
    reverted: dict[int, list[Any]] = {}
    for record in records:
        reason = record.history_change_reason or ""
        if match := IMPORT_REASON.match(reason):
            by_import[(int(match.group(1)), record.id)] = record.history_id
        elif match := REVERT_REASON.match(reason):
            reverted.setdefault(int(match.group(1)), []).append(record)
    if reverted:
        for import_id, revert_job_id in ImportRevert.objects.filter(
            import_job_id__in=list(reverted), revert_job_id__isnull=False
        ).values_list("import_job_id", "revert_job_id"):
            for record in reverted[import_id]:
                by_import[(revert_job_id, record.id)] = record.history_id
    if by_import:
        for job_id, product_id, name, before, after in (
            ImportRelatedChange.objects.filter(
                import_job_id__in={job_id for job_id, _ in by_import},
                product_id__in={product_id for _, product_id in by_import},
            )
            .order_by("id")
            .values_list("import_job_id", "product_id", "column", "before", "after")
        ):
            if (job_id, product_id) in by_import:
                raw.setdefault(by_import[(job_id, product_id)], []).append((name, before, after))
    return _described(raw)


def _described(raw: dict[int, list[tuple[str, Any, Any]]]) -> dict[int, list[RelatedDelta]]:
    columns = {column.name: column for column in related_columns()}
    found: dict[int, list[RelatedDelta]] = {}
    for name, column in columns.items():
        entries = [
            (history_id, old, new) for history_id, changes in raw.items() for n, old, new in changes if n == name
        ]
        if not entries:
            continue
        words = column.describe([column.load(value) for _, old, new in entries for value in (old, new)])
        for index, (history_id, _, _) in enumerate(entries):
            old, new = words[2 * index], words[2 * index + 1]
            found.setdefault(history_id, []).append(RelatedDelta(column.label or name, old or EMPTY, new or EMPTY))
    return found
