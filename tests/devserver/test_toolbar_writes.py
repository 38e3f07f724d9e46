"""Every raw-SQL batched write works inside a request the debug toolbar instruments, as under
`make run` (issue 20: each inline bulk edit answered 500 there).

The toolbar's SQL panel replaces ``connection.cursor`` and, after an ``executemany``, hands its
whole list of parameter rows to ``last_executed_query``, which SQLite cannot quote. These tests
run each write path in a subprocess with the dev settings (DEBUG on, the toolbar installed),
through the toolbar's own middleware, against a database of their own.
"""

from __future__ import annotations

import json

from tests.queue.processes import base_env, shell


def run(scenario: str, database: dict[str, str]) -> dict:
    return json.loads(shell(f"from tests.devserver.scenario import {scenario}; {scenario}()", env=base_env(**database)))


def test_an_inline_bulk_edit_claims_writes_and_records_history(dev_database):
    result = run("bulk_edit", dev_database)
    assert (result["state"], result["changed"]) == ("done", 2)
    assert result["prices"] == {"TB-BULK-0": "10.50", "TB-BULK-1": "20.99"}
    assert result["history"] == 2
    assert result["queries"] > 0  # the toolbar recorded the request's other queries


def test_product_history_insert(dev_database):
    result = run("history_insert", dev_database)
    assert result["history"] == 3
    assert result["queries"] > 0


def test_an_import_inserts_and_updates(dev_database):
    result = run("import_write", dev_database)
    assert result["prices"] == {"TB-IMP-0": "12.00", "TB-IMP-9": "9.00"}
    # The kept product's creation and its update by the import, the new product's creation.
    assert result["history"] == [["TB-IMP-0", "+"], ["TB-IMP-0", "~"], ["TB-IMP-9", "+"]]
    assert result["queries"] > 0


def test_a_revert_restores_and_deletes(dev_database):
    result = run("revert", dev_database)
    assert result["prices"] == {"TB-REV-0": "10.00"}
    assert (result["restored"], result["deleted"]) == (1, 1)
    assert result["queries"] > 0


def test_seeding(dev_database):
    result = run("seed", dev_database)
    assert result["products"] == 30
    assert result["orders"] == 5
    assert result["queries"] > 0
