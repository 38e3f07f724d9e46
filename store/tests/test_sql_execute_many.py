"""``store.sql.execute_many``: on MySQL, INSERTs are sent as multi-row statements built by us (issue 22)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.db.backends.utils import CursorWrapper

from store import sql
from store.models import ProductSearchTerm

pytestmark = pytest.mark.django_db

INSERT = "INSERT INTO store_productsearchterm (term, product_id, title, is_variant) VALUES (%s, %s, %s, %s)"

TRICKY = [
    "",
    "plain",
    "it's",
    'say "hi"',
    "back\\slash",
    "%s and %%",
    "nul\x00byte",
    "new\nline\ttab\r",
    "crème brûlée",
    "😀 emoji",
    "ß",
    "-- comment",
    "); DROP TABLE x; --",
]


def test_the_rows_written_are_the_values_given_across_several_statements(monkeypatch):
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 200)  # a few rows a statement
    rows = [(f"t{index}-{text}"[:64], index, text or "-", index % 2 == 0) for index, text in enumerate(TRICKY * 5)]
    assert sql.execute_many(INSERT, rows) == len(rows)
    stored = set(ProductSearchTerm.objects.values_list("term", "product_id", "title", "is_variant"))
    assert stored == set(rows)


def test_one_statement_for_a_batch_that_fits(django_assert_max_num_queries):
    rows = [(f"term{index}", index, "Title", False) for index in range(500)]
    with django_assert_max_num_queries(1):
        assert sql.execute_many(INSERT, rows) == 500
    assert ProductSearchTerm.objects.count() == 500


@pytest.mark.skipif(connection.vendor != "mysql", reason="the MySQL driver's quoting")
def test_each_value_is_quoted_as_the_driver_quotes_it(monkeypatch):
    values = [
        *TRICKY,
        0,
        -1,
        2**63 - 1,
        -(2**63),
        True,
        False,
        None,
        Decimal("12.30"),
        Decimal("-0.00"),
        Decimal("1E+2"),
        Decimal("1.5E-7"),
        1.25,
        datetime.datetime(2026, 12, 7, 3, 4, 5, 6),
        datetime.date(2026, 12, 7),
    ]
    connection.ensure_connection()
    raw = connection.connection
    sent: list[str] = []
    monkeypatch.setattr(CursorWrapper, "execute", lambda self, statement, params=None: sent.append(statement))
    sql.execute_many("INSERT INTO t (a, b) VALUES (%s, %s)", [(value, value) for value in values])
    expected = ",".join(f"({raw.literal(value).decode()},{raw.literal(value).decode()})" for value in values)
    assert sent == [f"INSERT INTO t (a, b) VALUES {expected}"]


# --- MySQL: each statement is sent while the next is built (``store.sql._SendingCursor``) ---------------

mysql_only = pytest.mark.skipif(connection.vendor != "mysql", reason="statements sent ahead: the MySQL path")


def _rows(count: int, *, start: int = 0) -> list[tuple[str, int, str, bool]]:
    return [(f"term{index:05d}", index, "Title", False) for index in range(start, start + count)]


@mysql_only
def test_the_next_statement_is_built_while_the_server_runs_the_one_sent(monkeypatch):
    """The rows of statement 2 are read from the caller's generator after statement 1 is sent and
    before its result is read: the server's work and ours overlap."""
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 300)
    connection.ensure_connection()
    raw = connection.connection
    events: list[str] = []
    driver = type(raw)  # the driver's connection class (its C methods patched on the Python subclass)
    send_query, read_query_result = driver.send_query, driver.read_query_result

    def sending(self, query):
        events.append("send")
        return send_query(self, query)

    def reading(self):
        events.append("read")
        return read_query_result(self)

    monkeypatch.setattr(driver, "send_query", sending)
    monkeypatch.setattr(driver, "read_query_result", reading)

    def rows():
        for row in _rows(40):
            events.append("row")
            yield row

    assert sql.execute_many(INSERT, rows()) == 40
    assert ProductSearchTerm.objects.count() == 40
    sends = [index for index, event in enumerate(events) if event == "send"]
    assert len(sends) > 2
    # Between each send and its read, rows of the next statement were built.
    for send in sends[:-1]:
        after = events[send + 1 : events.index("read", send)]
        assert "row" in after, events
    assert events.count("send") == events.count("read")


@mysql_only
def test_a_refused_statement_is_raised_and_nothing_after_it_is_sent(monkeypatch):
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 300)
    first = _rows(30)
    rows = [*first, first[0], *_rows(30, start=100)]  # a duplicate key in a middle statement
    with pytest.raises(IntegrityError):
        sql.execute_many(INSERT, rows)
    stored = ProductSearchTerm.objects.count()
    # The statements before the refused one are written, the refused one is not (a statement is
    # atomic), and none after it was sent.
    assert 0 < stored < 30
    assert not ProductSearchTerm.objects.filter(product_id__gte=100).exists()


@mysql_only
def test_the_last_statements_refusal_is_raised_as_djangos(monkeypatch):
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 300)
    rows = [*_rows(30), ("null title", 99, None, False)]  # NOT NULL: MySQL's 1048, an IntegrityError to Django
    with pytest.raises(IntegrityError):
        sql.execute_many(INSERT, rows)
    duplicate = [*_rows(3, start=200), ("term00200", 200, "Title", False)]
    with pytest.raises(IntegrityError):
        sql.execute_many(INSERT, duplicate)


@mysql_only
def test_an_error_of_the_caller_while_a_statement_is_in_flight_is_the_one_raised(monkeypatch):
    """The caller's error is raised (not the refusal of the statement then in flight, which is
    read and logged), and the connection goes on (no "commands out of sync")."""
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 300)
    connection.ensure_connection()
    rows = _rows(40)
    head = sql._INSERT_VALUES.fullmatch(INSERT).group(1)
    per_statement = next(sql._insert_statements(head, rows, connection.connection)).count(b"),(") + 1
    rows[per_statement + 1] = rows[0]  # the second statement is refused

    def rows_then_an_error():
        # Up to the first row of the third statement: reading it sends the second.
        yield from rows[: 2 * per_statement + 1]
        raise ValueError("a bad row")

    with pytest.raises(ValueError, match="a bad row"):
        sql.execute_many(INSERT, rows_then_an_error())
    assert ProductSearchTerm.objects.count() == per_statement  # the first statement only


def test_each_statement_is_in_the_query_log(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 300)
    rows = _rows(40)
    statements = 1  # SQLite: one executemany
    if connection.vendor == "mysql":
        connection.ensure_connection()
        head = sql._INSERT_VALUES.fullmatch(INSERT).group(1)
        statements = len(list(sql._insert_statements(head, rows, connection.connection)))
        assert statements > 2
    with django_assert_num_queries(statements) as captured:
        assert sql.execute_many(INSERT, rows) == 40
    assert all("store_productsearchterm" in query["sql"] for query in captured.captured_queries)
    assert ProductSearchTerm.objects.count() == 40
