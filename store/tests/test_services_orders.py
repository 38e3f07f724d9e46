"""order_item_save / order_items_save: the price snapshot rule."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from store import services
from store.models import OrderItem
from store.tests.factories import OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_a_new_item_takes_the_products_current_price():
    product = ProductFactory(unit_price=Decimal("12.34"))
    item = services.order_item_save(item=OrderItem(order=OrderFactory(), product=product, quantity=2))
    item.refresh_from_db()
    assert item.unit_price == Decimal("12.34")


def test_a_given_price_on_a_new_item_is_kept():
    item = OrderItem(order=OrderFactory(), product=ProductFactory(), quantity=1, unit_price=Decimal("5"))
    assert services.order_item_save(item=item).unit_price == Decimal("5")


def test_an_existing_item_keeps_its_price_when_the_catalog_moves():
    item = OrderItemFactory(unit_price=Decimal("10.00"), product__unit_price=Decimal("10.00"))
    item.product.unit_price = Decimal("15.00")
    item.product.save()
    item.quantity = 3
    services.order_item_save(item=item)
    item.refresh_from_db()
    assert (item.quantity, item.unit_price) == (3, Decimal("10.00"))


def test_swapping_the_product_reprices_the_item():
    item = OrderItemFactory(unit_price=Decimal("10.00"))
    item.product = ProductFactory(unit_price=Decimal("99.00"))
    services.order_item_save(item=item)
    item.refresh_from_db()
    assert item.unit_price == Decimal("99.00")


def test_invalid_items_are_refused_and_nothing_is_written():
    order = OrderFactory()
    keep = OrderItemFactory(order=order)
    kept_pk = keep.pk
    good = OrderItem(order=order, product=ProductFactory(), quantity=1)
    bad = OrderItem(order=order, product=ProductFactory(), quantity=0)
    with pytest.raises(ValidationError) as error:
        services.order_items_save(items=[good, bad], deleted=[keep])
    assert "quantity" in error.value.message_dict
    assert list(order.items.values_list("pk", flat=True)) == [kept_pk]  # the delete rolled back
