"""The course's ORM exercises as acceptance queries over a small known store."""

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


def test_customers_with_dot_com_emails(store):
    assert names(selectors.customer_list_by_email_suffix(suffix=".com")) == ["Ada", "Cy"]


def test_collections_without_a_featured_product(store):
    assert names(selectors.collection_list_without_featured_product(), "title") == ["Empty", "Mugs"]


def test_products_with_inventory_below_ten(store):
    assert names(selectors.product_list_inventory_below(below=10), "title") == ["Hoodie 1", "Mug 1"]


def test_orders_of_one_customer(store):
    assert selectors.order_list_for_customer(customer_id=store["ada"].pk).count() == 6
    assert list(selectors.order_list_for_customer(customer_id=store["ben"].pk)) == [store["bens_order"]]


def test_order_items_for_products_in_one_collection(store):
    items = selectors.order_item_list_for_collection(collection_id=store["hoodies"].pk)
    assert items.count() == 7
    assert {item.product.title for item in items} == {"Hoodie 1", "Hoodie 2"}


def test_last_five_orders_with_customer_items_and_products_in_three_queries(store, django_assert_num_queries):
    with django_assert_num_queries(3):
        orders = list(selectors.order_list_recent(limit=5))
        summary = [(o.customer.first_name, [(i.product.title, i.quantity) for i in o.items.all()]) for o in orders]
    assert len(orders) == 5
    newest_customer, newest_items = summary[0]
    assert (newest_customer, sorted(newest_items)) == ("Ben", [("Hoodie 2", 1), ("Mug 2", 2)])
    assert summary[1:] == [("Ada", [("Hoodie 1", 1)])] * 4


def test_customers_with_more_than_five_orders(store):
    customers = selectors.customer_list_with_more_orders_than(count=5)
    assert [(c.first_name, c.orders_count) for c in customers] == [("Ada", 6)]


def test_top_products_by_sales_value(store):
    top = selectors.product_list_top_by_sales(limit=5)
    assert [(p.title, p.sales_value) for p in top] == [
        ("Hoodie 1", Decimal("60.00")),
        ("Hoodie 2", Decimal("20.00")),
        ("Mug 2", Decimal("16.00")),
    ]


def test_collections_annotated_with_products_count(store):
    counts = {c.title: c.products_count for c in selectors.collection_list_with_products_count()}
    assert counts == {"Empty": 0, "Hoodies": 2, "Mugs": 2}


def test_total_spent_per_customer(store):
    spent = {c.first_name: c.total_spent for c in selectors.customer_list_with_total_spent()}
    assert spent == {"Ada": Decimal("60.00"), "Ben": Decimal("36.00"), "Cy": Decimal("0.00")}
