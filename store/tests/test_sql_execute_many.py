"""``store.sql.execute_many``: on MySQL, INSERTs are sent as multi-row statements built by us (issue 22)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
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
