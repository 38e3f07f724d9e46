"""store.roles and `manage.py setup_roles`, without HTTP."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from store import roles
from store.roles import IMPORTER, MERCHANDISER, SUPPORT, VIEWER, role_permissions, role_sync_all

pytestmark = pytest.mark.django_db


def group_permissions(name: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_setup_roles_creates_the_four_groups_with_their_permissions():
    call_command("setup_roles", stdout=StringIO())

    assert set(Group.objects.values_list("name", flat=True)) == {MERCHANDISER, IMPORTER, VIEWER, SUPPORT}
    assert group_permissions(IMPORTER) == {
        "store.import_product",
        "store.view_product",
        "store.view_importprofile",
        "store.add_importprofile",
        "store.change_importprofile",
    }
    assert {"store.change_product", "store.view_order", "tags.add_taggeditem"} <= group_permissions(MERCHANDISER)
    assert {"store.change_order", "store.change_customer"} <= group_permissions(SUPPORT)


def test_setup_roles_is_idempotent():
    first, second = StringIO(), StringIO()
    call_command("setup_roles", stdout=first)
    snapshot = {name: group_permissions(name) for name in roles.ROLE_PERMISSIONS}

    call_command("setup_roles", stdout=second)

    assert {name: group_permissions(name) for name in roles.ROLE_PERMISSIONS} == snapshot
    assert Group.objects.count() == 4
    assert "Merchandiser: created" in first.getvalue()
    assert "Merchandiser: unchanged, 24 permissions (+0 -0)" in second.getvalue()


def test_setup_roles_removes_permissions_granted_by_hand():
    role_sync_all()
    support = Group.objects.get(name=SUPPORT)
    support.permissions.add(Permission.objects.get(codename="delete_order"))

    result = {r.role: r for r in role_sync_all()}

    assert "store.delete_order" not in group_permissions(SUPPORT)
    assert (result[SUPPORT].added, result[SUPPORT].removed) == (0, 1)


@pytest.mark.parametrize("role", [MERCHANDISER, IMPORTER, VIEWER, SUPPORT])
def test_only_the_merchandiser_may_delete_and_only_tag_links_and_product_images(role):
    deletes = {name for name in role_permissions(role) if ".delete_" in name}
    assert deletes == ({"tags.delete_taggeditem", "store.delete_productimage"} if role == MERCHANDISER else set())


def test_no_role_may_delete_orders_or_customers_or_products():
    granted = set().union(*(role_permissions(role) for role in roles.ROLE_PERMISSIONS))
    assert not granted & {
        "store.delete_order",
        "store.delete_customer",
        "store.delete_orderitem",
        "store.delete_product",
    }


def test_only_the_merchandiser_adds_products_collections_and_promotions():
    adds = {"store.add_product", "store.add_collection", "store.add_promotion"}
    assert {role for role in roles.ROLE_PERMISSIONS if adds & role_permissions(role)} == {MERCHANDISER}
    assert adds <= role_permissions(MERCHANDISER)


def test_viewer_views_every_model_outside_the_account_apps_and_changes_nothing():
    expected = {
        f"{model._meta.app_label}.view_{model._meta.model_name}"
        for model in apps.get_models()
        if model._meta.app_label
        not in {"auth", "authtoken", "axes", "admin", "contenttypes", "sessions", "django_tasks_database", "django_rq"}
    }

    assert role_permissions(VIEWER) == expected
    assert "authtoken.view_token" not in expected
    assert {"store.view_product", "store.view_cart", "tags.view_tag", "tags.view_taggeditem"} <= expected
    assert all(".view_" in name for name in expected)


def test_viewer_covers_models_added_later(monkeypatch):
    """ "Everywhere" is read from the app registry when the command runs: un-excluding
    auth stands in for an app that appears later."""
    monkeypatch.setattr(roles, "VIEWER_EXCLUDED_APPS", frozenset({"axes", "admin", "contenttypes", "sessions"}))

    assert "auth.view_group" in role_permissions(VIEWER)
    role_sync_all()
    assert {"auth.view_group", "auth.view_user"} <= group_permissions(VIEWER)


def test_an_unknown_permission_fails_loudly_and_changes_nothing(monkeypatch):
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, SUPPORT, {"store.view_order", "store.refund_order"})

    with pytest.raises(ValidationError) as error:
        role_sync_all()

    assert error.value.messages == [roles.UNKNOWN_PERMISSIONS.format(names="store.refund_order")]
    assert not Group.objects.exists()  # atomic: the groups made before the bad role are rolled back


def test_the_command_reports_an_unknown_permission_as_an_error(monkeypatch):
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, IMPORTER, {"store.fly_product"})
    with pytest.raises(CommandError, match="store.fly_product"):
        call_command("setup_roles", stdout=StringIO())


def test_role_members_get_exactly_the_role_permissions():
    role_sync_all()
    user = User.objects.create_user("sam", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))

    assert user.get_all_permissions() == role_permissions(SUPPORT)
    assert user.has_perm("store.change_order")
    assert not user.has_perm("store.delete_order")
