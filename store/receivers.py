"""Receivers connected in StoreConfig.ready: audit of authentication events, image file cleanup,
the database cache's table after migrate.

Passwords never reach the log: Django masks them in user_login_failed's credentials and
we only read the username from them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.http import HttpRequest

from store.audit import audit_event
from store.models import Product
from store.search.services import search_index_refresh
from store.variants.rollup import variant_parents_sync

logger = logging.getLogger(__name__)


def _ip(request: HttpRequest | None) -> str | None:
    return getattr(request, "axes_ip_address", None) or (request.META.get("REMOTE_ADDR") if request else None)


def audit_login(sender, request: HttpRequest | None, user, **kwargs: Any) -> None:
    audit_event("auth.login", user=user, ip=_ip(request))


def audit_login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = credentials.get(get_user_model().USERNAME_FIELD, credentials.get("username"))
    audit_event("auth.login_failed", username=username, ip=_ip(request))


def audit_locked_out(
    sender,
    request: HttpRequest | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    audit_event("auth.locked_out", username=username, ip=ip_address or _ip(request))


def audit_logout(sender, request: HttpRequest | None, user, **kwargs: Any) -> None:
    audit_event("auth.logout", user=user, ip=_ip(request))


def delete_image_files(sender, instance, using: str, **kwargs: Any) -> None:
    """A deleted ProductImage's original and thumbnail leave storage when the deletion commits.

    A signal rather than a service because products are deleted in bulk by the admin and
    their images go by CASCADE, which calls no service; the rule lives in one place either
    way. Nothing is removed if the transaction rolls back, and a storage error is logged
    (on_commit(robust=True)) instead of failing a deletion that already happened.
    """
    names = [
        (field.storage, getattr(instance, field.name).name)
        for field in (sender._meta.get_field("image"), sender._meta.get_field("thumbnail"))
    ]

    def delete() -> None:
        for storage, name in names:
            if name:
                storage.delete(name)

    transaction.on_commit(delete, using=using, robust=True)


def product_search_refresh(
    sender, instance: Product, created: bool, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    """A saved product's search terms follow its title and SKU (fixtures' raw saves too).

    Nothing to do when the save did not change them: the list edits of price and inventory,
    the version claims and status changes that save through the ORM.
    """
    if update_fields is not None and not {"title", "sku"} & update_fields:
        return
    if not created and getattr(instance, "_search_loaded", None) == (instance.title, instance.sku):
        return
    search_index_refresh(product_ids=[instance.pk])
    instance._search_loaded = (instance.title, instance.sku)


def product_parent_rollup_sync(sender, instance: Product, raw: bool = False, **kwargs: Any) -> None:
    """A saved variant's product, and a saved product with variants, keep the price of their
    cheapest variant and whether any is tracked (``store.variants.rollup``): admin forms and
    inlines, list edits, services. Rows of other products cost nothing."""
    if raw:  # loaddata: the fixture's rows as they are
        return
    if instance.structure == Product.Structure.VARIANT:
        variant_parents_sync(parent_ids=[instance.parent_id])
    elif instance.structure == Product.Structure.PARENT:
        variant_parents_sync(parent_ids=[instance.pk])


def variant_deleted_parent_rollup_sync(sender, instance: Product, **kwargs: Any) -> None:
    """A deleted variant's product keeps the price of its cheapest variant left, and whether any
    left is tracked (ORM deletes)."""
    if instance.structure == Product.Structure.VARIANT:
        variant_parents_sync(parent_ids=[instance.parent_id])


def create_cache_tables(sender, using: str = "default", verbosity: int = 1, **kwargs: Any) -> None:
    """After every ``migrate``: the table of each database cache in CACHES (Django's
    ``createcachetable``, which skips tables that exist and caches of other backends).

    A post_migrate receiver rather than a migration: a migration runs once, so a site that
    moves from Redis to the database cache later (REDIS_URL unset) would never get the table;
    this runs on every migrate against whatever CACHES says then, on any database vendor.
    """
    call_command("createcachetable", database=using, verbosity=verbosity)
