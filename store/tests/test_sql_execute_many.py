"""``store.sql.execute_many``: on MySQL, INSERTs are sent as multi-row statements built by us (issue 22)."""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
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


mysql_only = pytest.mark.skipif(connection.vendor != "mysql", reason="MySQL's multi-row INSERTs")


@mysql_only
def test_each_statement_runs_while_the_next_is_built(monkeypatch):
    """The server's time and ours overlap: the rows of the second statement are read while the
    first runs (its execute waits until they have been), on another thread; one at a time, in order."""
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 200)
    second_built = threading.Event()
    running: list[str] = []
    overlapped: list[bool] = []

    def rows():
        for index in range(40):
            if index == 10:  # well into the second statement
                second_built.set()
            yield (f"term{index}", index, "Title", False)

    def wrapper(execute, statement, params, many, context):
        assert not running  # never two at once
        running.append(statement)
        if len(overlapped) == 0:
            overlapped.append(second_built.wait(timeout=5))
        try:
            return execute(statement, params, many, context)
        finally:
            running.pop()

    with connection.execute_wrapper(wrapper):
        assert sql.execute_many(INSERT, rows()) == 40
    assert overlapped == [True]
    assert ProductSearchTerm.objects.count() == 40


@mysql_only
def test_a_statement_refused_midway_raises_once_nothing_runs_any_more(monkeypatch):
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 200)
    rows = [(f"term{index}", index, "Title", False) for index in range(40)]
    rows[25] = rows[3]  # the primary key again, in a later statement
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.execute_many(INSERT, rows)
    assert ProductSearchTerm.objects.count() == 0  # the statements before it were rolled back
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("execute-many")]


@mysql_only
def test_rows_that_fail_while_a_statement_runs_raise_once_it_ended(monkeypatch):
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 200)

    def rows():
        for index in range(40):
            if index == 30:
                raise ValueError("a row that cannot be made")
            yield (f"term{index}", index, "Title", False)

    with pytest.raises(ValueError, match="cannot be made"), transaction.atomic():
        sql.execute_many(INSERT, rows())
    assert ProductSearchTerm.objects.count() == 0  # the connection is free again: rolled back, then read


@mysql_only
def test_without_backslash_escapes_the_driver_quotes_and_the_values_are_stored_as_given(monkeypatch):
    """A session in sql_mode NO_BACKSLASH_ESCAPES escapes differently: our quoting steps aside."""
    monkeypatch.setattr(sql, "STATEMENT_BYTES", 200)
    rows = [(f"t{index}-{text}"[:64], index, text or "-", False) for index, text in enumerate(TRICKY * 3)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.sql_mode")
        (mode,) = cursor.fetchone()
        cursor.execute("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')")
        try:
            assert sql.execute_many(INSERT, rows) == len(rows)
        finally:
            cursor.execute("SET SESSION sql_mode = %s", [mode])
    assert set(ProductSearchTerm.objects.values_list("term", "product_id", "title", "is_variant")) == set(rows)
