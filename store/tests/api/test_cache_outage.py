"""Redis down: the API answers from the database (no micro-cache, throttle open), never 500.

The outage is simulated by pointing the default cache at a port nothing listens on, so
these run the same in the SQLite pass (no Redis) and the MariaDB + RQ pass (Redis up).
"""

from __future__ import annotations

import logging

import pytest

from backoffice.cache import fail_safe_cache
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

CLOSED_PORT_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/1",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture
def redis_down(settings):
    fail_safe_cache.reset()
    settings.CACHES = CLOSED_PORT_REDIS
    yield
    fail_safe_cache.reset()


@pytest.fixture
def catalog():
    return ProductFactory.create_batch(3)


def urls(catalog) -> list[str]:
    product = catalog[0]
    return [
        "/api/products/",
        "/api/products/?page_size=2&ordering=-unit_price",
        "/api/products/sync/",
        f"/api/products/{product.pk}/",
        f"/api/products/by-slug/{product.slug}/",
        "/api/collections/",
        f"/api/collections/{product.collection_id}/",
        "/api/tags/",
        "/api/schema/",
    ]


@pytest.mark.parametrize("micro_cache_seconds", [0, 60])
def test_every_endpoint_answers_from_the_database(api, settings, catalog, redis_down, micro_cache_seconds):
    settings.CATALOG_API_CACHE_SECONDS = micro_cache_seconds
    for url in urls(catalog):
        response = api.get(url)
        assert response.status_code == 200, (url, response.content[:200])
    body = api.get("/api/products/").json()
    assert body["count"] == 3
    assert api.get("/api/products/", HTTP_IF_NONE_MATCH=api.get("/api/products/")["ETag"]).status_code == 304


def test_the_throttle_lets_requests_through(api, settings, catalog, redis_down):
    settings.CATALOG_API_ANON_RATE = "1/minute"
    assert [api.get("/api/products/").status_code for _ in range(3)] == [200, 200, 200]


def test_the_outage_is_logged_once_not_per_request(api, settings, catalog, redis_down, caplog):
    settings.CATALOG_API_CACHE_SECONDS = 60
    with caplog.at_level(logging.WARNING, logger="backoffice.cache"):
        for _ in range(5):
            assert api.get("/api/products/").status_code == 200
    warnings = [record for record in caplog.records if record.name == "backoffice.cache"]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage()
    assert "Connection" in warnings[0].getMessage()


def test_the_throttle_still_counts_when_the_cache_is_up(api, settings, catalog):
    settings.CATALOG_API_ANON_RATE = "1/minute"
    assert [api.get("/api/products/").status_code for _ in range(2)] == [200, 429]
