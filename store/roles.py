"""Back-office roles: named groups of permissions, kept in sync by `manage.py setup_roles`.

ROLE_PERMISSIONS is the single source of truth (docs/operations.md "Roles" documents it). Viewer's
permissions are computed from the app registry when setup_roles runs, so models added
later are covered by running the command again (e.g. after a deploy's migrate).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction

MERCHANDISER = "Merchandiser"
IMPORTER = "Importer"
VIEWER = "Viewer"
SUPPORT = "Support"


def _crud(app_label: str, model: str, *actions: str) -> set[str]:
    return {f"{app_label}.{action}_{model}" for action in actions}


ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Catalog work all day: add and edit products (a product added in the admin starts as a
    # draft; prices, stock, status; "clear inventory" and publish/unpublish/archive need
    # change_product), their images, collections, promotions; tag products (create tags,
    # attach and detach them). Reads orders and customers; deletes nothing that matters
    # (an image is not).
    MERCHANDISER: (
        _crud("store", "product", "view", "add", "change")
        | _crud("store", "productimage", "view", "add", "change", "delete")
        | _crud("store", "collection", "view", "add", "change")
        | _crud("store", "promotion", "view", "add", "change")
        | _crud("tags", "tag", "view", "change", "add")
        | _crud("tags", "taggeditem", "view", "add", "change", "delete")
        | _crud("store", "order", "view")
        | _crud("store", "orderitem", "view")
        | _crud("store", "customer", "view")
        | _crud("store", "address", "view")
    ),
    # Ops: bulk import (store.import_product) and export (needs only the view permission), and
    # the saved column mappings of supplier files (import profiles; deleting one is an admin's job).
    IMPORTER: {"store.import_product", "store.view_product"} | _crud("store", "importprofile", "view", "add", "change"),
    # Read-only everywhere: filled in by viewer_permissions() at run time.
    VIEWER: set(),
    # Customer service: fix customer details and addresses, update orders and their
    # lines, change payment status (= change_order). Never deletes.
    SUPPORT: (
        _crud("store", "customer", "view", "change")
        | _crud("store", "address", "view", "change")
        | _crud("store", "order", "view", "change")
        | _crud("store", "orderitem", "view", "change")
    ),
}

# Apps whose models hold accounts, permissions, sessions and login records: reading them
# is an administrator's job, so "view everywhere" stops short of them.
# API tokens (authtoken) are credentials: viewing one is using it.
# The task queue's table (django_tasks_db, app label django_tasks_database) is the workers'
# plumbing, with tracebacks: admins only.
VIEWER_EXCLUDED_APPS = frozenset(
    {"auth", "authtoken", "axes", "admin", "contenttypes", "sessions", "django_tasks_database", "django_rq"}
)

UNKNOWN_PERMISSIONS = "Unknown permissions (run migrate first, or fix the role map): {names}."


@dataclass(frozen=True)
class RoleSyncResult:
    role: str
    created: bool
    added: int
    removed: int
    total: int


def viewer_permissions() -> set[str]:
    """The view permission of every installed model outside VIEWER_EXCLUDED_APPS."""
    names = set()
    for model in apps.get_models():
        opts = model._meta
        if opts.app_label in VIEWER_EXCLUDED_APPS or "view" not in opts.default_permissions:
            continue
        names.add(f"{opts.app_label}.{get_permission_codename('view', opts)}")
    return names


def role_permissions(role: str) -> set[str]:
    """The "app_label.codename" permissions a role should hold."""
    return viewer_permissions() if role == VIEWER else set(ROLE_PERMISSIONS[role])


def _permissions_by_name(names: set[str]) -> dict[str, Permission]:
    found = {
        f"{perm.content_type.app_label}.{perm.codename}": perm
        for perm in Permission.objects.select_related("content_type").filter(
            codename__in={name.split(".", 1)[1] for name in names}
        )
    }
    missing = sorted(names - found.keys())
    if missing:
        raise ValidationError(UNKNOWN_PERMISSIONS.format(names=", ".join(missing)))
    return {name: found[name] for name in names}


@transaction.atomic
def role_sync_all() -> list[RoleSyncResult]:
    """Create the role groups and set each one's permissions to exactly its definition.

    Idempotent: a second run changes nothing. Permissions granted to these groups by
    hand are removed, so the groups always match the documented roles.
    """
    results = []
    for role in ROLE_PERMISSIONS:
        wanted = _permissions_by_name(role_permissions(role))
        group, created = Group.objects.get_or_create(name=role)
        current = set(group.permissions.values_list("pk", flat=True))
        wanted_pks = {perm.pk for perm in wanted.values()}
        group.permissions.add(*(wanted_pks - current))
        group.permissions.remove(*(current - wanted_pks))
        results.append(
            RoleSyncResult(
                role=role,
                created=created,
                added=len(wanted_pks - current),
                removed=len(current - wanted_pks),
                total=len(wanted_pks),
            )
        )
    return results
