"""factory_boy factories for the store models."""
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from store.models import (
    Address,
    Cart,
    CartItem,
    Collection,
    Customer,
    Order,
    OrderItem,
    Product,
    Promotion,
)


class CollectionFactory(DjangoModelFactory):
    class Meta:
        model = Collection

    title = factory.Sequence(lambda n: f"Collection {n}")


class PromotionFactory(DjangoModelFactory):
    class Meta:
        model = Promotion

    description = factory.Sequence(lambda n: f"Promotion {n}")
    discount = Decimal("10.00")


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    description = factory.Faker("sentence")
    unit_price = Decimal("19.99")
    inventory = 50
    collection = factory.SubFactory(CollectionFactory)


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Faker("numerify", text="+1-555-####")


class AddressFactory(DjangoModelFactory):
    class Meta:
        model = Address

    street = factory.Faker("street_address")
    city = factory.Faker("city")
    zip = factory.Faker("postcode")
    customer = factory.SubFactory(CustomerFactory)


class OrderFactory(DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)


class OrderItemFactory(DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda item: item.product.unit_price)


# --- Carts ---
class CartFactory(DjangoModelFactory):
    class Meta:
        model = Cart


class CartItemFactory(DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
