"""Page-number pagination for browsing, keyset pagination for sync clients."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from backoffice.cache import fail_safe_cache
from store.variants.selectors import ProductPages

INVALID_CURSOR = "Invalid cursor."
# A cursor we issue is about 60 characters ('["<ISO datetime with offset>", <id>]' in
# base64). Anything much longer is not ours, and is refused before it is decoded: a
# deeply nested JSON array would exhaust the parser's recursion limit.
MAX_CURSOR_LENGTH = 200


class CountKeptPaginator(Paginator):
    """Django's paginator whose ``count`` is read from the shared cache under ``count_key`` and
    kept there for ``CATALOG_API_CACHE_SECONDS`` (no key: counted every time, as Django does).

    The exact count is the one read of an API page that grows with the catalog: at 1M sellable
    units it counts about 200k active products (20-50 ms on MariaDB) while the page itself is
    a walk of a few rows (docs/decisions/0019-exact-api-counts.md). The key names the rows
    counted, not the page or the order, so a client walking every page of a list counts once."""

    def __init__(self, object_list, per_page, *, count_key: str | None = None, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.count_key = count_key

    @cached_property
    def count(self) -> int:
        seconds = getattr(settings, "CATALOG_API_CACHE_SECONDS", 0)
        if self.count_key is None or not seconds:
            return super().count  # Django's own: a COUNT query (or a len())
        # fail_safe_cache: with the cache down, a miss (counted here), never a 500.
        kept = fail_safe_cache.get(self.count_key)
        if isinstance(kept, int):
            if isinstance(self.object_list, ProductPages):  # which reads its pages by their count
                self.object_list.known_count = kept
            return kept
        count = super().count
        fail_safe_cache.set(self.count_key, count, seconds)
        return count


class CatalogPagePagination(PageNumberPagination):
    """?page=N&page_size=M; page size 10 by default (settings.PAGE_SIZE), at most 100.

    A view with a ``count_cache_key(queryset=…)`` method has its count kept between requests
    (``CountKeptPaginator``)."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        count_cache_key = getattr(view, "count_cache_key", None)
        self.count_key = count_cache_key(queryset=queryset) if count_cache_key else None
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list, per_page) -> CountKeptPaginator:  # type: ignore[override]
        # DRF builds its paginator as self.django_paginator_class(queryset, page_size).
        return CountKeptPaginator(object_list, per_page, count_key=self.count_key)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class SyncCursorPagination(BasePagination):
    """Keyset pagination on (last_update, id) for clients that walk the whole catalog.

    Unlike DRF's CursorPagination (position on the first field plus an offset, which
    breaks down when thousands of rows share a timestamp), the cursor holds the exact
    (last_update, id) of the last row sent, so each page is one indexed range query,
    however deep the walk. A product saved during the walk moves to the end and is
    sent again. ``next`` is null once the walk has caught up; ``cursor`` is always the
    resume point: store it and come back with ``?cursor=`` to get only what changed.
    """

    cursor_query_param = "cursor"
    page_size = 100

    def paginate_queryset(self, queryset: QuerySet, request, view=None) -> list:
        self.request = request
        self.position = self.decode_cursor(request)
        if self.position is not None:
            last_update, pk = self.position
            queryset = queryset.filter(Q(last_update__gt=last_update) | Q(last_update=last_update, pk__gt=pk))
        page = list(queryset.order_by("last_update", "pk")[: self.page_size + 1])
        self.has_next = len(page) > self.page_size
        page = page[: self.page_size]
        if page:
            self.position = (page[-1].last_update, page[-1].pk)
        return page

    def get_paginated_response(self, data) -> Response:
        cursor = self.encode_cursor(self.position) if self.position else None
        next_url = None
        if self.has_next:
            next_url = replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, cursor)
        return Response({"next": next_url, "cursor": cursor, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "cursor", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "cursor": {"type": "string", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Resume point from a previous page's `cursor` (or `next`).",
                "schema": {"type": "string"},
            }
        ]

    @staticmethod
    def encode_cursor(position: tuple[datetime, int]) -> str:
        last_update, pk = position
        raw = json.dumps([last_update.isoformat(), pk]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode_cursor(self, request) -> tuple[datetime, int] | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            if len(encoded) > MAX_CURSOR_LENGTH:
                raise ValueError
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            position = json.loads(raw)
            # Exactly [<ISO datetime with offset>, <id>]: nothing else is decoded further.
            if not (isinstance(position, list) and len(position) == 2 and isinstance(position[0], str)):
                raise ValueError
            stamp, pk = position
            last_update = datetime.fromisoformat(stamp)
            if timezone.is_naive(last_update) or type(pk) is not int or not 0 <= pk < 2**63:
                raise ValueError
            last_update = last_update.astimezone(UTC)
        except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error, UnicodeDecodeError):
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from None
        return last_update, pk
