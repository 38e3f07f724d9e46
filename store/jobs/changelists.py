"""Rebuild, in a worker, the admin list a user saw: the same ModelAdmin, filters and permissions.

A job that works on "the list as filtered" (an export, a bulk edit of "all N matching") keeps
the changelist's query string and the user who asked. The worker hands both to
``changelist_rebuild``, which asks the admin site for the model's ModelAdmin
(``admin.site.get_model_admin``) and its public ``has_<permission>_permission`` hook, as
Django's own autocomplete view does, and lets the ModelAdmin build the queryset. Worker code
therefore never imports ``store.admin``, and the list a job works on is always the list the
user could see at the time the job runs.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Model, QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse

NO_USER = "no_user"
NO_PERMISSION = "no_permission"
BAD_FILTERS = "bad_filters"


class ChangelistRefused(Exception):
    """The list cannot be rebuilt for this user; ``reason`` is NO_USER, NO_PERMISSION or BAD_FILTERS."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def changelist_request(*, model: type[Model], user: Any, filters: str) -> HttpRequest:
    """A GET of ``model``'s changelist with the query string ``filters``, as ``user``."""
    request = HttpRequest()
    request.method = "GET"
    request.GET = QueryDict(filters)
    request.user = user
    opts = model._meta
    request.path = request.path_info = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return request


def changelist_rebuild(
    *, model: type[Model], user: Any, filters: str, permission: str, **permission_kwargs: Any
) -> tuple[admin.ModelAdmin[Any], QuerySet[Any]]:
    """The ModelAdmin of ``model`` and its changelist queryset for ``filters``, as ``user`` sees it.

    ``permission`` names the ModelAdmin's hook ``has_<permission>_permission(request, **permission_kwargs)``
    that must allow the job (``"export"``, ``"bulk_edit"``); a ModelAdmin without that hook refuses.
    Raises ``ChangelistRefused`` when the user is gone or inactive, may no longer do it, or the
    filters are no longer valid.
    """
    if user is None or not user.is_active or not user.is_staff:
        raise ChangelistRefused(NO_USER)
    try:
        model_admin = admin.site.get_model_admin(model)
    except NotRegistered:
        raise ChangelistRefused(NO_PERMISSION) from None
    request = changelist_request(model=model, user=user, filters=filters)
    allowed = getattr(model_admin, f"has_{permission}_permission", None)
    if allowed is None or not allowed(request, **permission_kwargs):
        raise ChangelistRefused(NO_PERMISSION)
    try:
        queryset = model_admin.get_changelist_instance(request).queryset
    except IncorrectLookupParameters as exc:
        raise ChangelistRefused(BAD_FILTERS) from exc
    return model_admin, queryset
