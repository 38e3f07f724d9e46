"""The shared cache, used so that its outage slows pages down instead of failing them.

The dashboard's figures, the catalog API's micro-cache and its throttle counters live in
the default cache: Redis in production. Django's RedisCache raises when Redis cannot be
reached, which made the dashboard and every /api/ URL answer 500. Through
``fail_safe_cache`` a read that fails is a miss, a write that fails is skipped, and the
request is served from the database (the API throttle lets the request through).

After a failure the cache is left alone for ``RETRY_SECONDS`` (in this process), so an
outage costs one failed connection attempt per process and period instead of one per call
(with ``socket_connect_timeout`` in CACHES, at most a second even when Redis does not
answer at all). The outage is logged once when it starts, reminded every
``REMIND_SECONDS``, and its end is logged. ``/readyz`` talks to the cache directly and
keeps reporting it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_SECONDS = 10.0
REMIND_SECONDS = 300.0
# What a cache server that is down, unreachable or refusing writes raises (RedisCache wraps
# socket errors and timeouts in these). A bug in our own code is not among them.
CACHE_ERRORS: tuple[type[Exception], ...] = (RedisError,)
_MISSING = object()


@dataclass
class _Circuit:
    """The state of one cache server, as this process has seen it."""

    retry_at: float = 0.0  # monotonic time before which the server is not asked
    down_since: float | None = None
    warned_at: float = 0.0


class FailSafeCache(BaseCache):
    """A Django cache (the one configured under ``alias``) whose reads and writes degrade on
    an outage instead of raising: a failed read is a miss, a failed write is skipped.

    A ``BaseCache``, so it goes wherever one is expected (``SimpleRateThrottle.cache``);
    ``get``, ``set``, ``add``, ``delete`` and ``get_or_set`` are the wrapped operations
    (BaseCache builds ``get_many``, ``incr``… on them).
    """

    def __init__(self, alias: str = DEFAULT_CACHE_ALIAS, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__({})
        self.alias = alias
        self.clock = clock
        # Keyed by the configured server: a test pointing the cache at a closed port
        # leaves the state of the cache the other tests use alone.
        self._circuits: dict[str, _Circuit] = {}

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._attempt(lambda cache: cache.get(key, default, version=version), fallback=default)

    def set(self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._attempt(lambda cache: cache.set(key, value, timeout, version=version), fallback=None)

    def add(self, key: Any, value: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return bool(self._attempt(lambda cache: cache.add(key, value, timeout, version=version), fallback=False))

    def delete(self, key: Any, version: int | None = None) -> bool:
        return bool(self._attempt(lambda cache: cache.delete(key, version=version), fallback=False))

    def get_or_set(
        self, key: Any, default: Any, timeout: float | None = DEFAULT_TIMEOUT, version: int | None = None
    ) -> Any:
        """The cached value, or ``default`` (called when callable), stored when the cache can
        take it. Unlike BaseCache's, no second read after storing it."""
        value = self.get(key, _MISSING, version=version)
        if value is _MISSING:
            value = default() if callable(default) else default
            self.add(key, value, timeout, version=version)
        return value

    def reset(self) -> None:
        """Forget past failures (tests)."""
        self._circuits.clear()

    def _circuit(self) -> _Circuit:
        config = settings.CACHES.get(self.alias, {})
        server = f"{config.get('BACKEND', '')} {config.get('LOCATION', '')}"
        return self._circuits.setdefault(server, _Circuit())

    def _attempt(self, operation: Callable[[BaseCache], T], *, fallback: T) -> T:
        circuit = self._circuit()
        now = self.clock()
        if now < circuit.retry_at:
            return fallback
        try:
            result = operation(caches[self.alias])
        except CACHE_ERRORS as error:
            circuit.retry_at = now + RETRY_SECONDS
            reason = f"{type(error).__name__}: {error}"
            if circuit.down_since is None:
                circuit.down_since = circuit.warned_at = now
                logger.warning(
                    "Cache %r unreachable (%s): serving without it, trying again every %.0f s.",
                    self.alias,
                    reason,
                    RETRY_SECONDS,
                )
            elif now - circuit.warned_at >= REMIND_SECONDS:
                circuit.warned_at = now
                logger.warning(
                    "Cache %r still unreachable after %.0f s (%s).", self.alias, now - circuit.down_since, reason
                )
            return fallback
        if circuit.down_since is not None:
            logger.warning("Cache %r reachable again after %.0f s.", self.alias, now - circuit.down_since)
            circuit.down_since = None
        return result


fail_safe_cache = FailSafeCache()
