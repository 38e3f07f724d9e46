"""What each role sees and may do in the admin, through the test client.

Extend the tables when an area adds URLs or actions: ACCESS for (role, model, view,
method) -> status, CUSTOM_ACTIONS for (role, model, action) -> offered. Rows whose URL or
action does not exist (yet) on this branch are skipped with the reason shown.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.forms.models import model_to_dict
from django.urls import NoReverseMatch, reverse

from store.roles import IMPORTER, MERCHANDISER, SUPPORT, VIEWER, VIEWER_EXCLUDED_APPS

from .conftest import form_post_data

SUPERUSER = "superuser"
ROLES = [MERCHANDISER, IMPORTER, VIEWER, SUPPORT]

# Models whose admin menu entry each role should see (intersected with what is registered).
# Every staff user has "Alert subscriptions": their own low-stock digest setting.
MENU = {
    MERCHANDISER: {
        "store.alertsubscription",
        "store.bulkedit",
        "store.product",
        "store.collection",
        "store.promotion",
        "tags.tag",
        "tags.taggeditem",
        "store.order",
        "store.orderitem",
        "store.customer",
        "store.address",
    },
    # Import history is visible to whoever may import.
    # Importers keep the column mappings of supplier files (import profiles).
    IMPORTER: {"store.alertsubscription", "store.product", "store.importjob", "store.importprofile"},
    SUPPORT: {"store.alertsubscription", "store.customer", "store.address", "store.order", "store.orderitem"},
}

# (role, model, add button, save buttons on the change form, delete button)
BUTTONS = [
    (SUPERUSER, "store.product", True, True, True),
    (MERCHANDISER, "store.product", True, True, False),
    (MERCHANDISER, "store.collection", True, True, False),
    (MERCHANDISER, "store.promotion", True, True, False),
    (MERCHANDISER, "tags.tag", True, True, False),
    (MERCHANDISER, "store.order", False, False, False),
    (MERCHANDISER, "store.customer", False, False, False),
    (IMPORTER, "store.product", False, False, False),
    (VIEWER, "store.product", False, False, False),
    (VIEWER, "store.order", False, False, False),
    (VIEWER, "store.customer", False, False, False),
    (VIEWER, "tags.tag", False, False, False),
    (SUPPORT, "store.customer", False, True, False),
    (SUPPORT, "store.order", False, True, False),
]

PRIVATE_JOB_MODELS = {"store.exportjob", "store.bulkeditjob"}

OK, FORBIDDEN = 200, 403
# (role, model, admin view, method, expected status). Views taking an object get the
# sample object's pk. "import"/"export" are django-import-export's URLs.
ACCESS = [
    (MERCHANDISER, "store.product", "changelist", "GET", OK),
    (MERCHANDISER, "store.product", "change", "GET", OK),
    # Adds (products start as drafts): store/tests/admin/test_merchandiser_adds.py posts the forms.
    (MERCHANDISER, "store.product", "add", "GET", OK),
    (MERCHANDISER, "store.collection", "add", "GET", OK),
    (MERCHANDISER, "store.promotion", "add", "GET", OK),
    (MERCHANDISER, "store.product", "delete", "GET", FORBIDDEN),
    (MERCHANDISER, "store.product", "delete", "POST", FORBIDDEN),
    (MERCHANDISER, "store.collection", "delete", "POST", FORBIDDEN),
    (MERCHANDISER, "store.order", "change", "GET", OK),
    (MERCHANDISER, "store.order", "change", "POST", FORBIDDEN),
    (MERCHANDISER, "store.order", "delete", "POST", FORBIDDEN),
    (MERCHANDISER, "store.customer", "change", "POST", FORBIDDEN),
    (MERCHANDISER, "store.customer", "delete", "POST", FORBIDDEN),
    (MERCHANDISER, "store.cart", "changelist", "GET", FORBIDDEN),
    (MERCHANDISER, "auth.user", "changelist", "GET", FORBIDDEN),
    (MERCHANDISER, "store.product", "import", "GET", FORBIDDEN),
    (MERCHANDISER, "store.product", "export", "GET", OK),
    (IMPORTER, "store.product", "import", "GET", OK),
    (IMPORTER, "store.product", "export", "GET", OK),
    (IMPORTER, "store.product", "changelist", "GET", OK),
    (IMPORTER, "store.product", "change", "POST", FORBIDDEN),
    (IMPORTER, "store.product", "add", "GET", FORBIDDEN),
    (IMPORTER, "store.product", "delete", "POST", FORBIDDEN),
    (IMPORTER, "store.order", "changelist", "GET", FORBIDDEN),
    (IMPORTER, "store.importprofile", "changelist", "GET", OK),
    (IMPORTER, "store.importprofile", "change", "GET", OK),
    (IMPORTER, "store.importprofile", "add", "GET", FORBIDDEN),
    (IMPORTER, "store.importprofile", "delete", "POST", FORBIDDEN),
    (MERCHANDISER, "store.importprofile", "changelist", "GET", FORBIDDEN),
    (VIEWER, "store.importprofile", "change", "GET", OK),
    (VIEWER, "store.importprofile", "change", "POST", FORBIDDEN),
    (SUPPORT, "store.importprofile", "changelist", "GET", FORBIDDEN),
    (IMPORTER, "store.customer", "changelist", "GET", FORBIDDEN),
    (VIEWER, "store.product", "changelist", "GET", OK),
    (VIEWER, "store.product", "change", "GET", OK),
    (VIEWER, "store.product", "history", "GET", OK),
    (VIEWER, "store.product", "change", "POST", FORBIDDEN),
    (VIEWER, "store.product", "add", "GET", FORBIDDEN),
    (VIEWER, "store.product", "delete", "POST", FORBIDDEN),
    (VIEWER, "store.order", "change", "POST", FORBIDDEN),
    (VIEWER, "store.customer", "change", "POST", FORBIDDEN),
    (VIEWER, "store.cart", "changelist", "GET", OK),
    (VIEWER, "tags.tag", "add", "POST", FORBIDDEN),
    (VIEWER, "auth.user", "changelist", "GET", FORBIDDEN),
    (VIEWER, "auth.group", "changelist", "GET", FORBIDDEN),
    (VIEWER, "store.product", "import", "GET", FORBIDDEN),
    (VIEWER, "store.product", "export", "GET", OK),
    (SUPPORT, "store.order", "change", "GET", OK),
    (SUPPORT, "store.customer", "change", "GET", OK),
    (SUPPORT, "store.order", "add", "GET", FORBIDDEN),
    (SUPPORT, "store.order", "delete", "GET", FORBIDDEN),
    (SUPPORT, "store.order", "delete", "POST", FORBIDDEN),
    (SUPPORT, "store.customer", "delete", "POST", FORBIDDEN),
    (SUPPORT, "store.product", "changelist", "GET", FORBIDDEN),
    (SUPPORT, "store.product", "change", "POST", FORBIDDEN),
    (SUPPORT, "store.product", "import", "GET", FORBIDDEN),
    (SUPPORT, "store.product", "export", "GET", FORBIDDEN),
]

# (role, model, action name, offered). Custom actions of the other areas go here.
CUSTOM_ACTIONS = [
    (SUPERUSER, "store.product", "clear_inventory", True),
    (MERCHANDISER, "store.product", "clear_inventory", True),
    (IMPORTER, "store.product", "clear_inventory", False),
    (VIEWER, "store.product", "clear_inventory", False),
    *[
        (role, "store.product", action, offered)
        for action in ("publish", "unpublish", "archive")
        for role, offered in ((SUPERUSER, True), (MERCHANDISER, True), (IMPORTER, False), (VIEWER, False))
    ],
    *[
        (role, "store.product", f"bulk_{name}", role in (SUPERUSER, MERCHANDISER))
        for name in (
            "move_to_collection",
            "add_promotion",
            "remove_promotion",
            "change_price",
            "adjust_inventory",
            "add_tags",
            "remove_tags",
            "set_status",
        )
        for role in (SUPERUSER, MERCHANDISER, IMPORTER, VIEWER, SUPPORT)
    ],
]

OBJECT_VIEWS = {"change", "delete", "history"}


@pytest.fixture
def client_for(role_client, admin_client):
    return lambda role: admin_client if role == SUPERUSER else role_client(role)


def admin_url(label: str, view: str, obj=None) -> str:
    app_label, model_name = label.split(".")
    args = [obj.pk] if view in OBJECT_VIEWS else []
    try:
        return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)
    except NoReverseMatch:
        pytest.skip(f"no admin URL {app_label}_{model_name}_{view} on this branch")


def object_for(label: str, store_objects, user_model_obj):
    return user_model_obj if label == "auth.user" else store_objects.get(label)


def offered_actions(response) -> set[str]:
    action_form = response.context["action_form"]
    return {name for name, _ in action_form.fields["action"].choices if name} if action_form else set()


def registered_labels() -> set[str]:
    return {model._meta.label_lower for model in admin.site._registry}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_menu_entries_only(role, role_client):
    response = role_client(role).get(reverse("admin:index"))

    assert response.status_code == 200
    shown = {
        f"{app['app_label']}.{model['object_name'].lower()}"
        for app in response.context["app_list"]
        for model in app["models"]
    }
    if role == VIEWER:
        expected = {label for label in registered_labels() if label.split(".")[0] not in VIEWER_EXCLUDED_APPS}
    else:
        expected = MENU[role] & registered_labels()
    # Background jobs are private: listed only for users who started one (store/tests/test_export_jobs.py).
    expected -= PRIVATE_JOB_MODELS
    assert shown == expected
    for label in shown:
        assert admin_url(label, "changelist") in response.content.decode()


def test_superuser_sees_every_registered_model(admin_client):
    response = admin_client.get(reverse("admin:index"))
    shown = {
        f"{app['app_label']}.{model['object_name'].lower()}"
        for app in response.context["app_list"]
        for model in app["models"]
    }
    assert shown == registered_labels()


@pytest.mark.parametrize(("role", "label", "can_add", "can_save", "can_delete"), BUTTONS)
def test_buttons_follow_permissions(role, label, can_add, can_save, can_delete, client_for, store_objects):
    client = client_for(role)
    obj = store_objects[label]

    changelist = client.get(admin_url(label, "changelist"))
    change_form = client.get(admin_url(label, "change", obj))

    assert changelist.status_code == change_form.status_code == 200
    assert (f'href="{admin_url(label, "add")}"' in changelist.content.decode()) is can_add
    assert ('name="_save"' in change_form.content.decode()) is can_save
    assert (f'href="{admin_url(label, "delete", obj)}"' in change_form.content.decode()) is can_delete


@pytest.mark.parametrize(("role", "label", "view", "method", "expected"), ACCESS)
def test_access_table(role, label, view, method, expected, client_for, store_objects, django_user_model):
    client = client_for(role)
    obj = object_for(label, store_objects, django_user_model.objects.first())
    url = admin_url(label, view, obj)
    before = model_to_dict(obj) if obj is not None else None

    response = client.get(url) if method == "GET" else client.post(url, {"post": "yes"})

    assert response.status_code == expected, url
    if obj is not None and method == "POST":
        obj.refresh_from_db()  # raises DoesNotExist if a forbidden delete went through
        assert model_to_dict(obj) == before


@pytest.mark.parametrize("role", ROLES)
def test_no_delete_selected_without_delete_permission(role, role_client, store_objects):
    """Across every model the role can list: no bulk delete offered, and a forged one deletes nothing."""
    client = role_client(role)
    for model in admin.site._registry:
        label = model._meta.label_lower
        changelist = client.get(admin_url(label, "changelist"))
        if changelist.status_code == 403:
            continue
        assert changelist.status_code == 200, label
        assert "delete_selected" not in offered_actions(changelist), label
        obj = store_objects.get(label) or model._default_manager.first()
        if obj is None:
            continue
        response = client.post(
            admin_url(label, "changelist"),
            {
                "action": "delete_selected",
                ACTION_CHECKBOX_NAME: [obj.pk],
                "post": "yes",
            },
        )
        assert response.status_code in (200, 302, 403), label
        assert model._default_manager.filter(pk=obj.pk).exists(), label


def test_superuser_is_offered_delete_selected(admin_client, store_objects):
    assert "delete_selected" in offered_actions(admin_client.get(admin_url("store.promotion", "changelist")))


@pytest.mark.parametrize(("role", "label", "action", "offered"), CUSTOM_ACTIONS)
def test_custom_actions_follow_permissions(role, label, action, offered, client_for, admin_client, store_objects):
    url = admin_url(label, "changelist")
    if action not in offered_actions(admin_client.get(url)):
        pytest.skip(f"{label} has no action {action!r} on this branch")
    client = client_for(role)
    obj = store_objects[label]
    before = model_to_dict(obj)

    changelist = client.get(url)
    if changelist.status_code == 403:
        assert not offered
        return
    assert (action in offered_actions(changelist)) is offered
    if not offered:
        response = client.post(url, {"action": action, ACTION_CHECKBOX_NAME: [obj.pk]})
        assert response.status_code in (200, 302, 403)
        obj.refresh_from_db()
        assert model_to_dict(obj) == before


def test_support_changes_a_payment_status(role_client, store_objects):
    client = role_client(SUPPORT)
    order = store_objects["store.order"]
    url = admin_url("store.order", "change", order)
    data = form_post_data(client.get(url))
    data["payment_status"] = "C"

    response = client.post(url, data)

    assert response.status_code == 302, response.context and [
        response.context["adminform"].form.errors,
        response.context["inline_admin_formsets"][0].formset.errors,
        response.context["inline_admin_formsets"][0].formset.non_form_errors(),
    ]
    order.refresh_from_db()
    assert order.payment_status == "C"


def test_merchandiser_changes_a_price_and_stock(role_client, store_objects):
    client = role_client(MERCHANDISER)
    product = store_objects["store.product"]
    url = admin_url("store.product", "change", product)
    data = form_post_data(client.get(url))
    data.update(unit_price="12.34", inventory="0")

    response = client.post(url, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert (str(product.unit_price), product.inventory) == ("12.34", 0)


@pytest.mark.parametrize(
    ("role", "allowed"), [(MERCHANDISER, True), (IMPORTER, False), (VIEWER, False), (SUPPORT, False)]
)
def test_bulk_price_edit_follows_the_role(role, allowed, role_client, store_objects):
    product = store_objects["store.product"]
    before = product.unit_price

    response = role_client(role).post(
        admin_url("store.product", "changelist"),
        {
            "action": "bulk_change_price",
            ACTION_CHECKBOX_NAME: [product.pk],
            "_bulk_step": "apply",
            "bulk-mode": "set",
            "bulk-amount": "42.00",
            "bulk-ending": "",
        },
    )

    assert response.status_code in (200, 302, 403)
    product.refresh_from_db()
    assert (product.unit_price == 42) is allowed
    assert (product.unit_price == before) is not allowed
