"""The selectors the admin and the API use, as acceptance queries over a small known store."""

from decimal import Decimal

import pytest

from store import selectors
from store.tests.factories import (
    CollectionFactory,
    CustomerFactory,
    OrderFactory,
    OrderItemFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    hoodies, mugs, empty = (CollectionFactory(title=t) for t in ("Hoodies", "Mugs", "Empty"))
    h1 = ProductFactory(title="Hoodie 1", collection=hoodies, inventory=5, unit_price=Decimal("10"))
    h2 = ProductFactory(title="Hoodie 2", collection=hoodies, inventory=50, unit_price=Decimal("20"))
    m1 = ProductFactory(title="Mug 1", collection=mugs, inventory=0, unit_price=Decimal("5"))
    m2 = ProductFactory(title="Mug 2", collection=mugs, inventory=100, unit_price=Decimal("8"))
    hoodies.featured_product = h2
    hoodies.save()
    ada = CustomerFactory(first_name="Ada", email="ada@shop.com")
    ben = CustomerFactory(first_name="Ben", email="ben@shop.org")
    cy = CustomerFactory(first_name="Cy", email="cy@SHOP.COM")
    for _ in range(6):
        OrderItemFactory(order=OrderFactory(customer=ada), product=h1, quantity=1)
    bens_order = OrderFactory(customer=ben)
    OrderItemFactory(order=bens_order, product=m2, quantity=2)
    OrderItemFactory(order=bens_order, product=h2, quantity=1)
    return {
        "hoodies": hoodies,
        "mugs": mugs,
        "empty": empty,
        "h1": h1,
        "h2": h2,
        "m1": m1,
        "m2": m2,
        "ada": ada,
        "ben": ben,
        "cy": cy,
        "bens_order": bens_order,
    }


def names(queryset, attribute="first_name"):
    return sorted(getattr(row, attribute) for row in queryset)


def test_products_with_inventory_below_ten(store):
    assert names(selectors.product_list_inventory_below(below=10), "title") == ["Hoodie 1", "Mug 1"]


def test_customers_annotated_with_orders_count(store):
    counts = {c.first_name: c.orders_count for c in selectors.customer_list_with_orders_count()}
    assert counts == {"Ada": 6, "Ben": 1, "Cy": 0}


def test_orders_annotated_with_items_count_and_total(store):
    totals = {o.pk: (o.items_count, o.order_total) for o in selectors.order_list_with_totals()}
    assert totals[store["bens_order"].pk] == (2, Decimal("36.00"))  # 2 × 8 + 1 × 20
    assert sorted(totals.values()) == [(1, Decimal("10.00"))] * 6 + [(2, Decimal("36.00"))]


def test_collections_annotated_with_products_count(store):
    counts = {c.title: c.products_count for c in selectors.collection_list_with_products_count()}
    assert counts == {"Empty": 0, "Hoodies": 2, "Mugs": 2}
