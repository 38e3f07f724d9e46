"""Fixtures for the security tests: role users, one object of every admin model, form data."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.utils import timezone
from factory.django import DjangoModelFactory

from store.models import Cart, CartItem, ImportJob, ImportProfile, Product
from store.roles import role_sync_all
from store.tests.factories import AddressFactory, OrderItemFactory, PromotionFactory
from tags.models import TaggedItem
from tags.tests.factories import TagFactory

DEMO_FIXTURE = settings.BASE_DIR / "fixtures" / "demo.json"


@pytest.fixture
def roles(db):
    return role_sync_all()


@pytest.fixture
def role_user(roles) -> Callable[[str], User]:
    def make(role: str) -> User:
        user = User.objects.create_user(username=f"{role.lower()}-user", password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def role_client(role_user) -> Callable[[str], Client]:
    """A test client logged in as a staff user whose only permissions come from `role`."""

    def make(role: str) -> Client:
        client = Client()
        client.force_login(role_user(role))
        return client

    return make


@pytest.fixture
def store_objects(db) -> dict[str, models.Model]:
    """One row of each store/tags model, by "app_label.model_name" (fast: factories only)."""
    item = OrderItemFactory.create()
    product, order = item.product, item.order
    tag = TagFactory.create()
    cart = Cart.objects.create()
    CartItem.objects.create(cart=cart, product=product, quantity=1)
    tagged = TaggedItem.objects.create(
        tag=tag, content_type=ContentType.objects.get_for_model(Product), object_id=product.pk
    )
    assert product.collection is not None
    objects = [
        product,
        product.collection,
        order,
        item,
        order.customer,
        AddressFactory.create(customer=order.customer),
        tag,
        tagged,
        cart,
        PromotionFactory.create(),
        MAKERS["store.importprofile"](ImportProfile),
    ]
    return {obj._meta.label_lower: obj for obj in objects}


def factory_for(model: type[models.Model]) -> type[DjangoModelFactory] | None:
    """The factory_boy factory for `model` in <app>/tests/factories.py, if its app has one."""
    try:
        module = importlib.import_module(f"{model._meta.app_config.name}.tests.factories")
    except ImportError:
        return None
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, DjangoModelFactory) and value._meta.model is model:
            return value
    return None


def _access_attempt(model):
    return model._default_manager.create(
        username="mallory",
        ip_address="203.0.113.9",
        user_agent="curl",
        http_accept="*/*",
        path_info="/admin/login/",
        failures_since_start=5,
        get_data="",
        post_data="",
    )


def _access_log(model):
    return model._default_manager.create(
        username="admin", ip_address="203.0.113.9", user_agent="curl", http_accept="*/*", path_info="/admin/login/"
    )


# Models no factory or fixture provides. Add a maker here when a new admin model has neither.
MAKERS: dict[str, Callable[[type[models.Model]], models.Model]] = {
    "auth.group": lambda model: model._default_manager.create(name="Crawlers"),
    "store.cart": lambda model: model._default_manager.create(),
    "authtoken.tokenproxy": lambda model: model._default_manager.create(
        user=User.objects.create(username="api-client")
    ),
    "store.importprofile": lambda model: model._default_manager.create(
        name="Acme", header=["code", "name"], header_signature="0" * 64, mapping={"code": "sku", "name": "title"}
    ),
    "store.importjob": lambda model: model._default_manager.create(
        source=ImportJob.SOURCE_CLI,
        file_name="products.csv",
        status=ImportJob.STATUS_FAILED,
        rows_total=3,
    ),
    "store.exportjob": lambda model: model._default_manager.create(
        requested_by=User.objects.filter(is_superuser=True).first(),
        model_label="store.product",
        file_format="csv",
        state="failed",
        error="worker lost",
        announced_at=timezone.now(),  # no message on every page
    ),
    "store.bulkeditjob": lambda model: model._default_manager.create(
        requested_by=User.objects.filter(is_superuser=True).first(),
        action="change_price",
        description="raise price 5%",
        parameters={"mode": "raise_pct", "amount": "5", "ending": ""},
        state="failed",
        error="worker lost",
    ),
    "store.alertsubscription": lambda model: model._default_manager.create(
        user=User.objects.create(username="alerted", email="alerted@example.com", is_staff=True),
    ),
    "store.bulkedit": lambda model: model._default_manager.create(
        action="change_price", description="raise price 5%", parameters={"mode": "raise_pct", "amount": "5"}
    ),
    "axes.accessattempt": _access_attempt,
    "axes.accesslog": _access_log,
    "axes.accessfailurelog": lambda model: model._default_manager.create(
        username="mallory",
        ip_address="203.0.113.9",
        user_agent="curl",
        http_accept="*/*",
        path_info="/admin/login/",
        locked_out=True,
    ),
}


@pytest.fixture
def every_admin_object(db, admin_user) -> dict[type[models.Model], models.Model | None]:
    """The demo store plus one row of every other model registered in the admin.

    Computed from admin.site._registry at run time, so models other areas register later
    are crawled too: they get a row from their app's factories, or from MAKERS; None means
    nothing could make one (the crawl test reports it).
    """
    call_command("loaddata", DEMO_FIXTURE, verbosity=0)
    objects = {}
    for model in admin.site._registry:
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            factory = factory_for(model)
            maker = MAKERS.get(model._meta.label_lower)
            obj = factory.create() if factory else maker(model) if maker else None
        objects[model] = obj
    return objects


def form_post_data(response) -> dict[str, object]:
    """What the browser would post back for an admin add/change page, unchanged.

    Covers the main form and the management forms of every inline, so tests stay valid
    when other areas add fields or inlines; extra (blank) inline rows are dropped.
    """
    form = response.context["adminform"].form
    data = _initial_values(form)
    for inline in response.context["inline_admin_formsets"]:
        data.update(formset_post_data(inline.formset))
    return data


def formset_post_data(formset) -> dict[str, object]:
    """The management form plus each bound row's initial values (list edits, inlines)."""
    management = formset.management_form
    data = {
        management.add_prefix(name): management.initial.get(name, field.initial)
        for name, field in management.fields.items()
    }
    initial_forms = formset.initial_form_count()
    data[management.add_prefix("TOTAL_FORMS")] = initial_forms
    for form in formset.forms[:initial_forms]:
        data.update(_initial_values(form))
    return data


def _initial_values(form) -> dict[str, object]:
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if callable(value):
            value = value()
        if isinstance(value, models.Model):
            value = value.pk
        elif isinstance(value, (list, tuple, models.QuerySet)):
            value = [item.pk if isinstance(item, models.Model) else item for item in value]
        if value is not None:
            data[form.add_prefix(name)] = value
    return data
