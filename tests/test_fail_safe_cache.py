"""backoffice.cache: a cache outage is a miss or a skipped write, tried again every
RETRY_SECONDS, logged when it starts, reminded, and when it ends."""

from __future__ import annotations

import logging
from typing import ClassVar

import pytest
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import ConnectionError as RedisConnectionError

from backoffice.cache import REMIND_SECONDS, RETRY_SECONDS, FailSafeCache


class FlakyCache(LocMemCache):
    """A local-memory cache that fails like RedisCache while ``down`` is set."""

    down: ClassVar[bool] = False
    calls: ClassVar[int] = 0

    def _fail_if_down(self) -> None:
        type(self).calls += 1
        if self.down:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def get(self, *args, **kwargs):
        self._fail_if_down()
        return super().get(*args, **kwargs)

    def set(self, *args, **kwargs):
        self._fail_if_down()
        return super().set(*args, **kwargs)

    def add(self, *args, **kwargs):
        self._fail_if_down()
        return super().add(*args, **kwargs)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def flaky(settings):
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.FlakyCache", "LOCATION": "flaky"}}
    FlakyCache.down, FlakyCache.calls = False, 0
    yield FlakyCache
    FlakyCache.down = False


@pytest.fixture
def clock():
    return Clock()


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "backoffice.cache"]


def test_reads_and_writes_pass_through_while_the_cache_is_up(flaky, clock):
    cache = FailSafeCache(clock=clock)
    cache.set("k", 1, 60)
    assert cache.get("k") == 1
    assert cache.add("k", 2, 60) is False
    assert cache.get_or_set("k", lambda: 3, 60) == 1
    assert cache.get_or_set("new", lambda: 4, 60) == 4
    assert cache.get("new") == 4
    assert cache.delete("new") is True


def test_down_a_read_is_a_miss_and_a_write_is_skipped(flaky, clock):
    flaky.down = True
    cache = FailSafeCache(clock=clock)
    assert cache.get("k", "default") == "default"
    assert cache.set("k", 1, 60) is None
    assert cache.add("k", 1, 60) is False
    computed = []
    assert cache.get_or_set("k", lambda: computed.append(1) or "fresh", 60) == "fresh"
    assert computed == [1]


def test_after_a_failure_the_cache_is_left_alone_for_a_while(flaky, clock, caplog):
    flaky.down = True
    cache = FailSafeCache(clock=clock)
    with caplog.at_level(logging.INFO, logger="backoffice.cache"):
        for _ in range(50):
            cache.get("k")
            cache.set("k", 1, 60)
        assert flaky.calls == 1  # one failed attempt, not one per call
        clock.now += RETRY_SECONDS
        cache.get("k")
        assert flaky.calls == 2
        assert len(messages(caplog)) == 1  # no warning per attempt either
        assert messages(caplog)[0].startswith("Cache 'default' unreachable (ConnectionError: Error 111 connecting")

        clock.now += REMIND_SECONDS
        cache.get("k")
        assert messages(caplog)[1] == (
            f"Cache 'default' still unreachable after {RETRY_SECONDS + REMIND_SECONDS:.0f} s "
            "(ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.)."
        )

        flaky.down = False
        clock.now += RETRY_SECONDS
        cache.set("k", "back", 60)
        assert cache.get("k") == "back"
        assert (
            messages(caplog)[2] == f"Cache 'default' reachable again after {2 * RETRY_SECONDS + REMIND_SECONDS:.0f} s."
        )
        assert len(messages(caplog)) == 3


def test_another_error_is_a_bug_and_is_raised(flaky, clock, monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("a bug, not an outage")

    monkeypatch.setattr(FlakyCache, "get", broken)
    with pytest.raises(TypeError):
        FailSafeCache(clock=clock).get("k")


def test_each_configured_server_has_its_own_state(flaky, clock, settings):
    flaky.down = True
    cache = FailSafeCache(clock=clock)
    assert cache.get("k") is None
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "other"}}
    cache.set("k", "stored", 60)  # not skipped: the other server never failed
    assert cache.get("k") == "stored"
