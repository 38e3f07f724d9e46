"""CartAdmin is read-only: list with age and item count, items inline with product links."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from store.models import Cart, CartItem
from store.tests.factories import CartFactory, CartItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:store_cart_changelist")


@pytest.fixture
def cart():
    cart = CartFactory()
    Cart.objects.filter(pk=cart.pk).update(created_at=timezone.now() - timedelta(days=3, hours=2))
    CartItemFactory(cart=cart, product=ProductFactory(title="Blue Mug"), quantity=2)
    CartItemFactory(cart=cart, product=ProductFactory(title="Red Scarf"), quantity=1)
    cart.refresh_from_db()
    return cart


def test_changelist_shows_age_and_item_count(admin_client, cart):
    CartFactory()  # a fresh, empty cart
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    rows = {c.pk: c.items_count for c in response.context["cl"].result_list}
    assert rows == {cart.pk: 2, **{c.pk: 0 for c in Cart.objects.exclude(pk=cart.pk)}}
    assert "3\xa0days, 2\xa0hours" in response.text


def test_changelist_sorts_by_age_and_filters_by_creation_date(admin_client, cart):
    fresh = CartFactory()
    oldest_first = admin_client.get(CHANGELIST, {"o": "-3"})  # age descending
    assert [c.pk for c in oldest_first.context["cl"].result_list] == [cart.pk, fresh.pk]
    today = admin_client.get(CHANGELIST, {"created_at__gte": str(timezone.now() - timedelta(hours=1))})
    assert [c.pk for c in today.context["cl"].result_list] == [fresh.pk]


def test_change_page_is_read_only_with_linked_products(admin_client, cart):
    response = admin_client.get(reverse("admin:store_cart_change", args=[cart.pk]))
    assert response.status_code == 200
    for item in cart.items.select_related("product"):
        url = reverse("admin:store_product_change", args=[item.product_id])
        assert f'<a href="{url}">{item.product.title}</a>' in response.text
    assert 'name="_save"' not in response.text
    assert "Delete" not in response.text


@pytest.mark.parametrize("view", ["add", "delete", "change-post"])
def test_no_one_can_add_change_or_delete_carts(admin_client, cart, view):
    if view == "add":
        response = admin_client.get(reverse("admin:store_cart_add"))
    elif view == "delete":
        response = admin_client.post(reverse("admin:store_cart_delete", args=[cart.pk]), {"post": "yes"})
    else:
        response = admin_client.post(reverse("admin:store_cart_change", args=[cart.pk]), {})
    assert response.status_code == 403
    assert Cart.objects.filter(pk=cart.pk).exists()
    assert CartItem.objects.filter(cart=cart).count() == 2


def test_staff_without_view_permission_is_refused(client, django_user_model, cart):
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(CHANGELIST).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_cart"))
    assert client.get(CHANGELIST).status_code == 200


def test_changelist_queries_do_not_grow_with_the_page(admin_client, django_assert_max_num_queries):
    for _ in range(30):
        CartItemFactory()
    with django_assert_max_num_queries(8):
        assert admin_client.get(CHANGELIST).status_code == 200
