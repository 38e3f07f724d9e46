"""Two web processes (gunicorn, two ports) share one cache: one throttle budget and one
cached answer, with the embedded default (database cache) and with Redis. Sessions are
in the database: a login on one process is valid on the other."""

from __future__ import annotations

import json

import pytest

from .processes import base_env, get, redis_url, shell, start_web


@pytest.fixture
def two_web_processes(process_database, request):
    def start(**overrides: str) -> tuple[str, str, dict[str, str]]:
        env = base_env(
            **process_database,
            CATALOG_API_ANON_RATE="3/minute",
            CATALOG_API_CACHE_SECONDS="60",
            WEB_CONCURRENCY="1",
            LOG_LEVEL="WARNING",
            **overrides,
        )
        # Set up through the database cache (redis_url() flushed the Redis database already).
        shell(
            "from django.core.cache import cache; cache.clear(); from store.models import Product, Collection; "
            "c, _ = Collection.objects.get_or_create(title='Shared'); Product.objects.all().delete(); "
            "Product.objects.create(sku='SH-1', title='Before', slug='sh-1', unit_price='5.00', inventory=1, "
            "collection=c); print('ok')",
            env=base_env(**process_database),
        )
        return start_web(env, request), start_web(env, request), env

    return start


# Behind a load balancer every process sees the same Host (the cached body has absolute links).
LB = {"Host": "localhost"}


@pytest.mark.parametrize("cache", ["database", "redis"])
def test_one_cached_answer_and_one_throttle_budget(two_web_processes, cache):
    a, b, env = two_web_processes(**({"REDIS_URL": redis_url(1), "TASKS_BACKEND": "db"} if cache == "redis" else {}))
    assert get(f"{a}/readyz")[0] == 200
    assert get(f"{b}/readyz")[0] == 200

    status, body = get(f"{a}/api/products/", LB)
    assert status == 200
    assert json.loads(body)["results"][0]["title"] == "Before"
    # A bulk UPDATE leaves last_update alone: only a shared micro-cache still says "Before" on B.
    shell("from store.models import Product; Product.objects.update(title='After'); print('ok')", env=env)
    status, body = get(f"{b}/api/products/", LB)
    assert status == 200
    assert json.loads(body)["results"][0]["title"] == "Before"

    # 3 requests a minute for this client, whichever process serves them: A, B, then A is the third.
    assert get(f"{a}/api/products/", LB)[0] == 200
    status, _ = get(f"{b}/api/products/", LB)
    assert status == 429  # B's own counter would still be at 1


def test_readyz_names_the_failing_part(two_web_processes):
    a, _, env = two_web_processes(REDIS_URL="redis://127.0.0.1:1/1", TASKS_BACKEND="db")  # nothing listens on port 1
    assert get(f"{a}/healthz") == (200, b'{"status": "ok"}')
    status, body = get(f"{a}/readyz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "failing": ["cache"]}
    # The API degrades instead (backoffice/cache.py): no micro-cache, and the throttle
    # (3 a minute here) lets requests through.
    for _ in range(4):
        status, body = get(f"{a}/api/products/", LB)
        assert status == 200
        assert json.loads(body)["results"][0]["title"] == "Before"
    assert get(f"{a}/readyz")[0] == 503
