"""Fixtures of the bulk edit tests."""

from __future__ import annotations

from typing import Any

import pytest

from store.bulk import apply as bulk_apply


@pytest.fixture
def row_by_row(monkeypatch: Any) -> None:
    """Every batch takes the row-by-row path (``evaluate`` and ``write``), as products with variants do."""
    monkeypatch.setattr(bulk_apply, "_sql_batch", lambda *args, **kwargs: None)
