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

import MySQLdb.cursors
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.mysql.base import CursorWrapper as MySQLCursorWrapper
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


def keyset_q(fields: Sequence[str], place: Sequence[Any], *, smaller: bool, inclusive: bool = False) -> models.Q:
    """The rows on one side of ``place`` in the order of ``fields`` (an index walk's keyset):
    ``(a < x) OR (a = x AND b < y) OR …`` when ``smaller`` (a descending walk's next rows, or an
    ascending one's up to ``place``), greater otherwise; ``inclusive``: ``place`` itself too."""
    way = "lt" if smaller else "gt"
    condition = models.Q()
    equal: dict[str, Any] = {}
    for index, (field, value) in enumerate(zip(fields, place, strict=True)):
        last = "e" if inclusive and index == len(fields) - 1 else ""
        condition |= models.Q(**equal, **{f"{field}__{way}{last}": value})
        equal[field] = value
    return condition


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
    if database.vendor == "mysql" and (insert := _INSERT_VALUES.fullmatch(sql)):
        return _insert_values(database, insert.group(1) % (), rows)
    cursor: CursorWrapper = type(database).cursor(database)  # the class's method, not the toolbar's patch
    with cursor:
        cursor.executemany(sql, rows if isinstance(rows, Sequence) else list(rows))
        changed: int = cursor.rowcount
    return changed


class _SendingCursor(MySQLdb.cursors.Cursor):
    """A MySQLdb cursor whose ``execute()`` sends the statement and returns without its result.

    The result is read just before the next statement is sent (``_discard``, which every
    ``execute()`` calls first), or by ``finish()``: the server runs one statement while Python
    builds the next (``_insert_values``; the 700k search-term rows of a 100k-product import
    are 500 statements, issue 22). One connection, one thread, one statement in flight, in
    order: a statement is never sent before the one before it has succeeded, so an error
    stops the INSERTs where it occurred, as before; it is raised by the next ``execute()``
    (inside Django's error translation) or by ``finish()``. ``changed`` sums the rows of
    every statement read.
    """

    _pending = False
    changed = 0

    # ``_query``, ``_discard`` and ``_do_get_result`` are MySQLdb.cursors.BaseCursor's (mysqlclient
    # 2.3, pinned): ``execute()`` calls the first two, the driver's own ``_query`` the third.
    def _query(self, q: bytes) -> int:
        db = self.connection
        self._result = None
        self.warning_count = 0
        self.lastrowid = None
        db.send_query(q)
        self._pending = True
        self._executed = q
        return 0

    def _discard(self) -> None:
        self.finish()
        super()._discard()  # type: ignore[misc]

    def finish(self) -> None:
        """Read the result of the statement in flight, if any (raising its error)."""
        if not self._pending:
            return
        self._pending = False
        db = self.connection
        db.read_query_result()
        self._do_get_result(db)  # type: ignore[attr-defined]
        self.changed += db.affected_rows()


def _sending_cursor(database: Any) -> tuple[CursorWrapper, _SendingCursor]:
    """Django's cursor over a ``_SendingCursor`` of ``database``'s connection: its error translation
    (the MySQL backend's wrapper included), query log and ``execute_wrapper`` hooks apply to each
    statement sent (a logged time is the sending's; reading the result counts to the next one)."""
    database.ensure_connection()
    with database.wrap_database_errors:
        sending = database.connection.cursor(_SendingCursor)
    wrapped = MySQLCursorWrapper(sending)
    cursor = database.make_debug_cursor(wrapped) if database.queries_logged else database.make_cursor(wrapped)
    return cursor, sending


def _finish(database: Any, sending: _SendingCursor) -> None:
    """``sending.finish()`` with the errors Django's cursor would have raised for it."""
    with database.wrap_database_errors:
        try:
            sending.finish()
        except MySQLdb.OperationalError as error:
            # As the MySQL backend's cursor does: these codes are refusals of a row.
            if error.args[0] in MySQLCursorWrapper.codes_for_integrityerror:
                raise MySQLdb.IntegrityError(*error.args) from error
            raise


def _insert_values(database: Any, head: str, rows: Iterable[Sequence[Any]]) -> int:
    """A multi-row ``INSERT … VALUES (…), (…)`` of up to ``STATEMENT_BYTES`` a statement (MySQL),
    each sent while the next is built (``_SendingCursor``).

    What the driver's ``executemany`` sends, in larger statements and built faster: it quotes
    each value through its generic ``literal()`` (a third of a 100k-product import's time,
    issue 22). Here each str is quoted once a call however often it repeats (a product's title
    in each of its search terms); ints, bools, Decimals and NULLs are written as the driver's
    converters write them; other types (datetime, …) go through the driver's ``literal()``.
    Inline, not a function a value: 700k search-term rows are 2.8M values.
    """
    encoding = database.connection.encoding
    cursor, sending = _sending_cursor(database)
    # Leaving on an error (the caller's rows may raise too) closes the cursor, which reads a
    # statement still in flight first; Django's cursor drops a second error there.
    with cursor:
        for statement in _insert_statements(head, rows, database.connection):
            cursor.execute(statement.decode(encoding))  # the one before is read first
        _finish(database, sending)
    return sending.changed


def _insert_statements(head: str, rows: Iterable[Sequence[Any]], raw: Any) -> Iterator[bytes]:
    """``_insert_values``' statements, each built when the one before has been sent."""
    quoted: dict[str, bytes] = {}
    string_literal, encoding, driver = raw.string_literal, raw.encoding, raw.literal
    prefix = head.encode(encoding)
    statement = bytearray(prefix)
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
                yield bytes(statement)
                statement = bytearray(prefix)
            else:
                statement += b","
        statement += values
    yield bytes(statement)
