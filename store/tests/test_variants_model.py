"""Products with variants: one table, parent and child rows (docs/decisions/0017).

Rules the database enforces (CHECK constraints, whatever writes), and the same rules in
``Product.clean()`` so that forms and services report them on the field.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext

from store.models import (
    ERROR_COMPARE_AT_PRICE,
    ERROR_PARENT_STOCK,
    ERROR_SHARED_REQUIRED,
    ERROR_VARIANT_PARENT,
    ERROR_VARIANT_SHARED,
    Product,
)
from store.tests.factories import CustomerFactory, OrderFactory, ProductFactory
from store.tests.variants.conftest import make_parent, make_variant

pytestmark = pytest.mark.django_db


def rejected(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_a_product_is_a_product_without_variants_by_default():
    product = ProductFactory()
    product.refresh_from_db()
    assert product.structure == Product.Structure.STANDALONE
    assert product.parent_id is None
    assert (product.vendor, product.barcode, product.weight_unit) == ("", "", "kg")
    assert product.compare_at_price is None
    assert product.cost_per_item is None
    assert product.weight is None


def test_a_variant_belongs_to_its_product_and_takes_its_shared_fields_from_it():
    parent = make_parent()
    variant = make_variant(parent, "Green", "S")
    assert list(parent.variants.all()) == [variant]
    assert (variant.option_label, parent.option_names) == ("Green / S", ["Colour", "Size"])
    variant.full_clean()
    parent.full_clean()


def test_the_database_refuses_a_variant_without_a_product():
    parent = make_parent()
    variant = make_variant(parent, "Green", "S")
    rejected(lambda: Product.objects.filter(pk=variant.pk).update(parent=None))


@pytest.mark.parametrize("field", ["slug", "collection_id", "status"])
def test_the_database_refuses_a_product_without_its_shared_fields(field):
    product = ProductFactory()
    rejected(lambda: Product.objects.filter(pk=product.pk).update(**{field: None}))


def test_the_database_refuses_a_variant_with_a_slug_of_its_own():
    variant = make_variant(make_parent(), "Green", "S")
    rejected(lambda: Product.objects.filter(pk=variant.pk).update(slug="green-s"))


def test_the_database_refuses_stock_on_a_product_with_variants():
    parent = make_parent()
    rejected(lambda: Product.objects.filter(pk=parent.pk).update(inventory=3))
    rejected(lambda: Product.objects.filter(pk=parent.pk).update(track_inventory=True))


def test_clean_names_each_rule_on_its_field():
    with pytest.raises(ValidationError) as caught:
        Product(
            structure=Product.Structure.VARIANT, title="x", sku="x", unit_price=5, inventory=1, slug="x"
        ).full_clean()
    assert caught.value.message_dict["parent"] == [ERROR_VARIANT_PARENT]
    assert caught.value.message_dict["slug"] == [ERROR_VARIANT_SHARED]

    product = ProductFactory.build(collection=None, slug="p")
    with pytest.raises(ValidationError) as caught:
        product.full_clean()
    assert caught.value.message_dict["collection"] == [ERROR_SHARED_REQUIRED]

    parent = make_parent()
    parent.inventory = 2
    with pytest.raises(ValidationError) as caught:
        parent.full_clean()
    assert caught.value.message_dict["inventory"] == [ERROR_PARENT_STOCK]


def test_the_compare_at_price_must_exceed_the_price():
    product = ProductFactory(unit_price=Decimal("20.00"))
    product.compare_at_price = Decimal("20.00")
    with pytest.raises(ValidationError) as caught:
        product.full_clean()
    assert caught.value.message_dict["compare_at_price"] == [ERROR_COMPARE_AT_PRICE.format(price="20.00")]
    product.compare_at_price = Decimal("25.00")
    product.full_clean()


def test_a_bad_barcode_is_a_field_error():
    product = ProductFactory()
    product.barcode = "4006381333932"
    with pytest.raises(ValidationError) as caught:
        product.full_clean()
    assert list(caught.value.message_dict) == ["barcode"]


def test_removing_a_product_removes_its_variants_unless_orders_refer_to_one():
    parent = make_parent()
    sold = make_variant(parent, "Green", "S")
    make_variant(parent, "Green", "M")
    order = OrderFactory(customer=CustomerFactory())
    order.items.create(product=sold, quantity=1, unit_price=sold.unit_price)
    with pytest.raises(ProtectedError):
        parent.delete()
    assert Product.objects.filter(parent=parent).count() == 2

    other = make_parent()
    make_variant(other, "Blue", "L")
    other.delete()
    assert not Product.objects.filter(sku__startswith=other.sku).exists()


def test_validating_a_product_costs_no_query_for_the_structure_rules():
    """Django validates a CheckConstraint by a query: clean() checks these two, so they are skipped."""
    product = ProductFactory()
    with CaptureQueriesContext(connection) as queries:
        product.validate_constraints()
    checks = [query["sql"] for query in queries.captured_queries if "_check" in query["sql"]]
    assert len(checks) == 2  # the price and inventory CHECKs
    assert not [sql for sql in checks if "standalone" in sql]
