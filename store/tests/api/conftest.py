import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle history lives in the cache; no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


def drf_datetime(value) -> str:
    """How DRF renders an aware UTC datetime."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def ids(response) -> list[int]:
    return [row["id"] for row in results(response)]
