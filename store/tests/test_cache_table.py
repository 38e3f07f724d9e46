"""``migrate`` alone leaves a working app: it creates the database cache's table (no separate
``createcachetable``), on SQLite and MariaDB."""

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

TABLE = "cache_entries_migrate_test"
DATABASE_CACHE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": TABLE}}


@pytest.mark.django_db(transaction=True)
def test_migrate_creates_the_database_cache_table_and_the_cache_works():
    assert TABLE not in connection.introspection.table_names()
    try:
        with override_settings(CACHES=DATABASE_CACHE):
            call_command("migrate", verbosity=0)
            assert TABLE in connection.introspection.table_names()
            caches["default"].set("greeting", "hello")
            assert caches["default"].get("greeting") == "hello"
            call_command("migrate", verbosity=0)  # a second migrate keeps the table (and its rows)
            assert caches["default"].get("greeting") == "hello"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(TABLE)}")
