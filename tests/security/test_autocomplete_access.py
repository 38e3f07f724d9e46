"""Who may use an admin picker (the autocomplete): Django's rule (the view permission on the
model searched), and a picker a form offers (``autocomplete_fields``) for whoever may add or
change that form's rows, such as Support picking an order line's product."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.paginator import UnorderedObjectListWarning
from django.test import Client
from django.urls import reverse

from store.roles import SUPPORT
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

LINE_PRODUCT = {"app_label": "store", "model_name": "orderitem", "field_name": "product"}
LINE_ORDER = {"app_label": "store", "model_name": "orderitem", "field_name": "order"}


def pick(client: Client, params: dict[str, str], term: str):
    return client.get(reverse("admin:autocomplete"), {**params, "term": term})


def client_with(*codenames: str) -> Client:
    user = User.objects.create_user(username=f"picker-{'-'.join(codenames)}", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_support_picks_an_order_lines_product_without_seeing_the_catalog(role_client):
    ProductFactory(title="Zip Hoodie", sku="HOO-1")
    support = role_client(SUPPORT)
    response = pick(support, LINE_PRODUCT, "hoodie")
    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Zip Hoodie"]
    assert support.get(reverse("admin:store_product_changelist")).status_code == 403


def test_a_picker_answers_whoever_may_change_the_rows_it_fills():
    ProductFactory(title="Zip Hoodie", sku="HOO-1")
    assert pick(client_with("change_orderitem"), LINE_PRODUCT, "hoodie").status_code == 200


def test_a_picker_refuses_who_may_only_view_the_rows_it_fills():
    assert pick(client_with("view_orderitem"), LINE_PRODUCT, "hoodie").status_code == 403


def test_a_foreign_key_no_form_offers_as_a_picker_keeps_djangos_rule(recwarn):
    """The line's order is not a picker of any form: changing lines does not list the orders."""
    assert pick(client_with("change_orderitem"), LINE_ORDER, "1").status_code == 403
    assert pick(client_with("change_orderitem", "view_order"), LINE_ORDER, "1").status_code == 200
    # The orders come in the admin's order (pages of an unordered queryset could repeat rows).
    assert not [warning for warning in recwarn if issubclass(warning.category, UnorderedObjectListWarning)]
