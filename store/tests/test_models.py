"""Rules the database itself enforces, whatever code path writes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from store.models import Collection, Product
from store.tests.factories import CollectionFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def assert_db_rejects(update) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        update()


def test_negative_inventory_is_rejected_by_the_database():
    product = ProductFactory()
    assert_db_rejects(lambda: Product.objects.filter(pk=product.pk).update(inventory=-1))
    product.refresh_from_db()
    assert product.inventory == 50


def test_price_below_one_is_rejected_by_the_database():
    product = ProductFactory()
    assert_db_rejects(lambda: Product.objects.filter(pk=product.pk).update(unit_price=Decimal("0.99")))


def test_validators_reject_what_the_constraints_reject():
    product = ProductFactory.build(collection=CollectionFactory(), unit_price=Decimal("0.50"), inventory=-3)
    with pytest.raises(ValidationError) as caught:
        product.full_clean()
    assert set(caught.value.message_dict) == {"unit_price", "inventory"}


@pytest.mark.parametrize("field", ["sku", "slug"])
def test_duplicate_product_identity_is_rejected(field):
    first = ProductFactory()
    assert_db_rejects(lambda: ProductFactory(**{field: getattr(first, field)}))


def test_duplicate_customer_email_is_rejected():
    CustomerFactory(email="ada@example.com")
    assert_db_rejects(lambda: CustomerFactory(email="ada@example.com"))


def test_deleting_a_collection_with_products_is_protected():
    product = ProductFactory()
    with pytest.raises(ProtectedError):
        product.collection.delete()
    assert Collection.objects.filter(pk=product.collection_id).exists()


def test_deleting_the_featured_product_clears_the_collection_link():
    product = ProductFactory()
    collection = product.collection
    collection.featured_product = product
    collection.save()
    product.delete()
    collection.refresh_from_db()
    assert collection.featured_product is None


def test_every_model_has_a_readable_str():
    product = ProductFactory(title="Zip Hoodie")
    assert str(product) == "Zip Hoodie"
    assert str(product.collection).startswith("Collection")
