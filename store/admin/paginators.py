"""Paginators for changelists over very large tables."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    """Counts at most ``cap`` rows instead of running a full ``COUNT(*)``.

    ``SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1)`` stops after ``cap + 1``
    index entries, so the cost no longer grows with the table. Past the cap the
    list shows "more than N" (``count_is_capped``) and offers the first
    ``cap // per_page`` pages; filters and search narrow the rest.
    """

    cap = 10_000
    object_list: QuerySet[Any]  # the admin's changelist hands a queryset

    @cached_property
    def _capped_count(self) -> tuple[int, bool]:
        # values("pk"): annotations of the page (e.g. the first image's subquery) stay out
        # of the count, which would otherwise evaluate them for up to cap + 1 rows.
        count = self.object_list.order_by().values("pk")[: self.cap + 1].count()
        return (self.cap, True) if count > self.cap else (count, False)

    @cached_property
    def count(self) -> int:
        return self._capped_count[0]

    @property
    def count_is_capped(self) -> bool:
        return self._capped_count[1]
