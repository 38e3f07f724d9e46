"""Raw SQL helpers shared by the bulk write paths (imports, bulk edits, revert, seeding).

``select_in`` reads ``CHUNK`` keys a query; rows come back as named tuples (``row.sku``,
``row.version``), built from the selected column names, never read by position.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple, TypeVar

from django.db import connection, models

from store.models import CENT

CHUNK = 1000

T = TypeVar("T")


def quote(name: str) -> str:
    """A table or column name quoted for the default connection's SQL."""
    return connection.ops.quote_name(name)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@cache
def row_type(columns: tuple[str, ...]) -> type[NamedTuple]:
    """A named tuple type with these column names (one per distinct selection)."""
    made: type[NamedTuple] = namedtuple("Row", columns)  # type: ignore[misc]  # names known only at run time
    return made


def select_in(
    model: type[models.Model], columns: Sequence[str], key: str, values: Iterable[Any], *, lock: bool = False
) -> Iterator[Any]:
    """``SELECT columns FROM model WHERE key IN (...)`` in chunks, as named tuples (``row.<column>``).

    Raw SQL on purpose: building a 1000-value ``__in`` filter through the ORM
    costs ~10 ms of Python per query, which dominated a 100k-row plan.
    """
    make = row_type(tuple(columns))._make
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_sql = ", ".join(quote(column) for column in columns)
    suffix = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        for chunk in chunks(list(values)):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {column_sql} FROM {table} WHERE {quote(key)} IN ({placeholders}){suffix}", list(chunk)
            )
            for row in cursor.fetchall():
                yield make(row)


def as_money(value: Any) -> Decimal:
    """Raw SQLite cursors return REAL prices as floats; MySQL returns Decimals."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(CENT)
