"""Fixtures of store's tests: a cache that starts empty, and file writers for the import/export tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.cache import cache

NATIVE_HEADER = ["sku", "title", "slug", "description", "unit_price", "inventory", "collection", "tags", "promotions"]


@pytest.fixture(autouse=True)
def empty_cache():
    """The test settings' cache is one in-memory cache per process: without this, figures an
    earlier test cached (the dashboard's, the API's) would answer for the next one."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(rows, header=NATIVE_HEADER, encoding="utf-8", delimiter=",") -> Path"""

    def write(
        rows, header=NATIVE_HEADER, *, name="products.csv", encoding="utf-8", delimiter=",", lineterminator="\r\n"
    ) -> Path:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator)
        if header is not None:
            writer.writerow(header)
        for row in rows:
            if isinstance(row, dict):
                row = [row.get(column, "") for column in header]
            writer.writerow(row)
        path = tmp_path / name
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path

    return write


@pytest.fixture
def write_bytes(tmp_path):
    def write(data: bytes, name: str = "upload.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


DATA = Path(__file__).parent / "data"
