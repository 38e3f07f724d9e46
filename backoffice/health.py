"""Health endpoints for load balancers and orchestrators: no login, no data.

- ``GET /healthz``: the process is up and serving (no I/O).
- ``GET /readyz``: the database, the cache and the task queue answer; otherwise 503
  naming the failing parts (``{"status": "unavailable", "failing": ["cache"]}``).
  Error details go to the log, never into the response.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import django_rq
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    key, value = "readyz:" + uuid.uuid4().hex, "1"
    cache.set(key, value, 10)
    if cache.get(key) != value:
        raise RuntimeError("cache did not return what was stored")
    cache.delete(key)


def check_queue() -> None:
    backend = settings.TASKS_BACKEND
    if backend == "db":
        DBTaskResult.objects.order_by().values_list("pk", flat=True)[:1].exists()
    elif backend == "rq":
        django_rq.get_connection("default").ping()


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "cache": check_cache, "queue": check_queue}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    failing = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:  # any failure means "not ready"; the reason goes to the log only
            logger.exception("readyz: %s is not reachable", name)
            failing.append(name)
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})
