"""Reuse the import fixtures of store's tests."""

from store.tests.conftest import write_bytes, write_csv  # noqa: F401
