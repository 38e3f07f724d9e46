"""CustomerAdmin: list, prefix search, membership filter and list edit, orders link, addresses."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from store.models import Address, Customer
from store.tests.admin_queries import changelist_query_count
from store.tests.factories import AddressFactory, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:store_customer_changelist")


@pytest.fixture
def customers():
    ada = CustomerFactory(
        first_name="Ada", last_name="Lovelace", email="ada@example.com", membership=Customer.MEMBERSHIP_GOLD
    )
    ben = CustomerFactory(first_name="Ben", last_name="Adams", email="ben@example.org")
    cy = CustomerFactory(first_name="Cy", last_name="Young", email="cy@adastra.net")
    for _ in range(3):
        OrderFactory(customer=ada)
    OrderFactory(customer=ben)
    return {"ada": ada, "ben": ben, "cy": cy}


def listed(response):
    return sorted(customer.first_name for customer in response.context["cl"].result_list)


def test_changelist_shows_annotated_orders_count_linked_to_the_orders(admin_client, customers):
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    rows = {c.first_name: c.orders_count for c in response.context["cl"].result_list}
    assert rows == {"Ada": 3, "Ben": 1, "Cy": 0}
    orders_url = reverse("admin:store_order_changelist")
    assert f'href="{orders_url}?customer__pk__exact={customers["ada"].pk}">3</a>' in response.text


def test_the_orders_link_narrows_the_order_list(admin_client, customers):
    response = admin_client.get(reverse("admin:store_order_changelist"), {"customer__pk__exact": customers["ada"].pk})
    assert response.status_code == 200
    assert {order.customer_id for order in response.context["cl"].result_list} == {customers["ada"].pk}
    assert len(response.context["cl"].result_list) == 3


def test_changelist_sorts_by_orders_count(admin_client, customers):
    column = 5  # first_name, last_name, email, membership, orders_count -> 1-based index 5
    response = admin_client.get(CHANGELIST, {"o": f"-{column}"})
    assert [c.first_name for c in response.context["cl"].result_list] == ["Ada", "Ben", "Cy"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ad", ["Ada", "Ben"]),  # first name Ada, last name Adams, never "cy@adastra" mid-string
        ("lOVE", ["Ada"]),  # last name prefix, any case
        ("cy@ada", ["Cy"]),  # email prefix
        ("ovelace", []),  # not a prefix: no match
        ("example.com", []),  # email is searched by prefix too
    ],
)
def test_search_matches_prefixes_of_names_and_email(admin_client, customers, q, expected):
    response = admin_client.get(CHANGELIST, {"q": q})
    assert response.status_code == 200
    assert listed(response) == expected


def test_filter_on_membership(admin_client, customers):
    response = admin_client.get(CHANGELIST, {"membership__exact": Customer.MEMBERSHIP_GOLD})
    assert listed(response) == ["Ada"]


def test_membership_is_editable_in_the_list(admin_client, customers):
    cy = customers["cy"]
    response = admin_client.post(
        f"{CHANGELIST}?q=cy",
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(cy.pk),
            "form-0-membership": Customer.MEMBERSHIP_SILVER,
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    cy.refresh_from_db()
    assert cy.membership == Customer.MEMBERSHIP_SILVER
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["1 customer was changed successfully."]


def test_add_customer_with_an_address_inline(admin_client):
    response = admin_client.post(
        reverse("admin:store_customer_add"),
        {
            "first_name": "Dee",
            "last_name": "Nguyen",
            "email": "dee@example.com",
            "phone": "+1-555-0100",
            "membership": Customer.MEMBERSHIP_BRONZE,
            "addresses-TOTAL_FORMS": "1",
            "addresses-INITIAL_FORMS": "0",
            "addresses-0-street": "1 Market Street",
            "addresses-0-city": "Lyon",
            "addresses-0-zip": "69001",
        },
    )
    assert response.status_code == 302
    customer = Customer.objects.get(email="dee@example.com")
    assert list(customer.addresses.values_list("city", flat=True)) == ["Lyon"]
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages
    assert "was added successfully" in messages[0]


def test_add_page_and_change_page_render_the_address_inline(admin_client, customers):
    AddressFactory(customer=customers["ada"], city="Leeds")
    assert admin_client.get(reverse("admin:store_customer_add")).status_code == 200
    response = admin_client.get(reverse("admin:store_customer_change", args=[customers["ada"].pk]))
    assert response.status_code == 200
    assert "Leeds" in response.text
    assert 'name="addresses-TOTAL_FORMS"' in response.text


def test_change_customer_rejects_a_duplicate_email_on_the_form(admin_client, customers):
    ada = customers["ada"]
    response = admin_client.post(
        reverse("admin:store_customer_change", args=[ada.pk]),
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ben@example.org",
            "phone": ada.phone,
            "membership": ada.membership,
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Customer with this Email already exists." in response.text
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert Address.objects.count() == 0


def test_changelist_queries_do_not_grow_with_the_page(admin_client, monkeypatch):
    for customer in CustomerFactory.create_batch(100):
        OrderFactory(customer=customer)
    at_10 = changelist_query_count(admin_client, CHANGELIST, Customer, per_page=10, monkeypatch=monkeypatch)
    at_100 = changelist_query_count(admin_client, CHANGELIST, Customer, per_page=100, monkeypatch=monkeypatch)
    assert at_10 == at_100
