"""Raw SQL helpers shared by the bulk write paths (imports, bulk edits, revert, seeding).

``select_in`` reads ``CHUNK`` keys a query; rows come back as named tuples (``row.sku``,
``row.version``), built from the selected column names, never read by position.
``execute_many`` runs one statement for many parameter rows (on MySQL an INSERT is sent as
multi-row INSERTs of up to ``STATEMENT_BYTES``, as the driver does); every batched raw write
goes through it (never ``cursor.executemany`` directly).
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.utils import CursorWrapper
from django.db.models.expressions import RawSQL

from store.models import CENT

CHUNK = 1000
#: ids a query of an ``id_list`` (numbers in the SQL, no parameters to bind or limit): an
#: export's chunk of 2,000 products is one query a related table
ID_LIST_CHUNK = 5000
#: The longest statement ``execute_many`` sends on MySQL: the driver's own limit
#: (``MySQLdb.cursors.BaseCursor.max_stmt_length``), so the server is sent the statements it
#: was sent before (1 MB statements were no faster on a loaded machine, issue 22).
STATEMENT_BYTES = 64 * 1024
_INSERT_VALUES = re.compile(r"\s*(INSERT\s.*?\sVALUES\s*)\(\s*%s(?:\s*,\s*%s)*\s*\)\s*", re.IGNORECASE | re.DOTALL)

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


def sql_cents(expression: str) -> str:
    """A money value (DECIMAL(…, 2)) as an exact whole number of cents, in SQL.

    SQLite stores such a column as a REAL (12.34 is 12.3399999…): ROUND(x * 100) is exact there
    for any price up to 99,999,999.99; MariaDB's DECIMAL arithmetic is exact anyway."""
    if connection.vendor == "sqlite":
        return f"CAST(ROUND({expression} * 100) AS INTEGER)"
    return f"ROUND({expression} * 100)"


def sql_int_div(numerator: str, divisor: int) -> str:
    """``numerator`` ≥ 0 divided by ``divisor``, rounded down, as a whole number (SQL)."""
    operator = "/" if connection.vendor == "sqlite" else "DIV"
    return f"(({numerator}) {operator} {int(divisor)})"


def sql_div_half_up(numerator: str, divisor: int) -> str:
    """``numerator`` ≥ 0 divided by an even ``divisor``, rounded half up (Python's ROUND_HALF_UP)."""
    return sql_int_div(f"({numerator}) + {int(divisor) // 2}", divisor)


def sql_from_cents(cents: str) -> str:
    """Whole cents back to a money value: exactly the REAL SQLite stores for that decimal, or a DECIMAL."""
    divisor = "100.0" if connection.vendor == "sqlite" else "100"
    return f"(({cents}) / {divisor})"


def id_list(ids: Iterable[int]) -> RawSQL:
    """Integer ids for an ``__in`` filter (``filter(product_id__in=id_list(chunk))``), written into the
    SQL as numbers rather than passed as parameters: Django prepares each value of a list and MySQLdb
    quotes each parameter, ~20 µs an id, which was most of an export's chunk reads (issue 22)."""
    text = ",".join(map(str, map(int, ids)))
    return RawSQL(text or "NULL", (), output_field=models.IntegerField())


def ids_in(field: str, ids: Sequence[int]) -> models.Q:
    """``field`` among ``ids`` (``id_list``), or between their least and greatest when they are dense
    (that span at most twice their number): one range scan of the index, where an IN list costs a
    lookup an id (an export's chunk in SKU order of products made one after another: a promotion
    read went from 8 ms to 0.3 ms). The range may hold ids not given: keep only the rows of ``ids``."""
    if ids:
        low, high = min(ids), max(ids)
        if high - low < 2 * len(ids):
            return models.Q(**{f"{field}__gte": low, f"{field}__lte": high})
    return models.Q(**{f"{field}__in": id_list(ids)})


def as_money(value: Any) -> Decimal:
    """Raw SQLite cursors return REAL prices as floats; MySQL returns Decimals."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(CENT)


def execute_many(sql: str, rows: Iterable[Sequence[Any]]) -> int:
    """Run ``sql`` once per parameter row (``executemany``; a list or a generator); return how many rows it changed.

    On MySQL, an ``INSERT … VALUES (%s, …)`` is sent as multi-row INSERTs built here
    (``_insert_values``; one query log entry a statement, a statement per ``STATEMENT_BYTES``).

    Through Django's own cursor of the default connection: its placeholders, its error
    translation, ``connection.queries`` and ``CaptureQueriesContext`` (one entry, "N times: ...")
    and ``connection.execute_wrapper`` hooks all apply. What it skips is a cursor method patched
    onto the connection object, which is how django-debug-toolbar's SQL panel instruments a
    request under ``make run``: after an ``executemany`` that panel hands the whole list of rows
    to ``last_executed_query``, and SQLite's cannot quote a list of rows ("Error binding
    parameter 1: type 'tuple' is not supported", django-debug-toolbar issue #1069), so every
    inline bulk edit answered 500. These statements are therefore missing from the toolbar's
    SQL panel (Django's own query log has them).
    """
    if not rows:
        return 0
    database = connections[DEFAULT_DB_ALIAS]
    cursor: CursorWrapper = type(database).cursor(database)  # the class's method, not the toolbar's patch
    with cursor:
        if database.vendor == "mysql" and (insert := _INSERT_VALUES.fullmatch(sql)):
            return _insert_values(cursor, insert.group(1) % (), rows, database.connection)
        cursor.executemany(sql, rows if isinstance(rows, Sequence) else list(rows))
        changed: int = cursor.rowcount
    return changed


def _insert_values(cursor: CursorWrapper, head: str, rows: Iterable[Sequence[Any]], raw: Any) -> int:
    """A multi-row ``INSERT … VALUES (…), (…)`` of up to ``STATEMENT_BYTES`` a statement (MySQL).

    What the driver's ``executemany`` sends, in larger statements and built faster: it quotes
    each value through its generic ``literal()`` (a third of a 100k-product import's time,
    issue 22). Here each str is quoted once a call however often it repeats (a product's title
    in each of its search terms); ints, bools, Decimals and NULLs are written as the driver's
    converters write them; other types (datetime, …) go through the driver's ``literal()``.
    Inline, not a function a value: 700k search-term rows are 2.8M values.
    """
    quoted: dict[str, bytes] = {}
    string_literal, encoding, driver = raw.string_literal, raw.encoding, raw.literal
    prefix = head.encode(encoding)
    statement, changed = bytearray(prefix), 0
    for row in rows:
        parts: list[bytes] = []
        for value in row:
            kind = type(value)
            if kind is str:
                found = quoted.get(value)
                if found is None:
                    found = quoted[value] = string_literal(value.encode(encoding))
            elif kind is int:
                found = b"%d" % value
            elif value is None:
                found = b"NULL"
            elif kind is bool:
                found = b"1" if value else b"0"
            elif kind is Decimal:
                found = format(value, "f").encode()
            else:
                found = driver(value)
            parts.append(found)
        values = b"(" + b",".join(parts) + b")"
        if len(statement) > len(prefix):
            if len(statement) + len(values) >= STATEMENT_BYTES:
                cursor.execute(statement.decode(encoding))
                changed += cursor.rowcount
                statement = bytearray(prefix)
            else:
                statement += b","
        statement += values
    cursor.execute(statement.decode(encoding))
    return changed + int(cursor.rowcount)
