"""The database server a benchmark ran on, printed beside its figures: a 1M-row catalog's
times depend on whether its tables fit the server's cache (MariaDB's buffer pool is 128 MB
unless configured; docs/operations.md)."""

from __future__ import annotations

from django.db import connection


def database_server() -> str:
    """E.g. "MariaDB 10.11.19, innodb_buffer_pool_size 4,096 MB", or "SQLite 3.40.1"."""
    if connection.vendor != "mysql":
        return f"{connection.display_name} {'.'.join(map(str, connection.get_database_version()))}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION(), @@innodb_buffer_pool_size")
        version, pool = cursor.fetchone()
    return f"MariaDB {version.split('-')[0]}, innodb_buffer_pool_size {pool // 2**20:,} MB"
