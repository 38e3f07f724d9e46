import hashlib
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from store.models import Collection, Customer, Order, OrderItem, Product, ProductImage
from store.seeding import catalog_clear, catalog_seed
from store.selectors import product_list_products, product_search
from store.tests.factories import product_image

pytestmark = pytest.mark.django_db

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


def catalog_digest() -> str:
    digest = hashlib.sha256()
    for queryset in (
        Collection.objects.order_by("pk").values_list("pk", "title"),
        Product.objects.order_by("pk").values_list(
            "pk", "sku", "slug", "title", "unit_price", "inventory", "last_update", "collection_id"
        ),
        Product.promotions.through.objects.order_by("product_id", "promotion_id").values_list(
            "product_id", "promotion_id"
        ),
        Customer.objects.order_by("pk").values_list("pk", "email", "membership"),
        Order.objects.order_by("pk").values_list("pk", "placed_at", "payment_status", "customer_id"),
        OrderItem.objects.order_by("order_id", "product_id").values_list(
            "order_id", "product_id", "quantity", "unit_price"
        ),
    ):
        digest.update(repr(list(queryset)).encode())
    return digest.hexdigest()


def seed(seed_value: int) -> str:
    catalog_clear()
    catalog_seed(products=300, customers=20, orders=40, seed=seed_value, anchor=ANCHOR)
    return catalog_digest()


def test_the_same_seed_gives_the_same_catalog():
    assert seed(7) == seed(7)
    assert seed(7) != seed(8)


def test_seeded_rows_are_valid_and_complete():
    result = catalog_seed(products=300, customers=20, orders=40, seed=3, anchor=ANCHOR)
    assert (Product.objects.count(), Customer.objects.count(), Order.objects.count()) == (300, 20, 40)
    assert OrderItem.objects.count() == result.order_items > 0
    assert Product.objects.filter(inventory=0).exists()
    assert not Product.objects.filter(unit_price__lt=1).exists()
    for product in Product.objects.all()[:20]:
        product.full_clean()


def test_seed_catalog_command_refuses_a_non_empty_catalog_without_clear():
    call_command("seed_catalog", products=50, customers=5, orders=5, verbosity=0)
    with pytest.raises(CommandError, match="--clear"):
        call_command("seed_catalog", products=50, verbosity=0)
    call_command("seed_catalog", products=80, clear=True, verbosity=0)
    assert Product.objects.count() == 80
    assert not Order.objects.exists()


def test_clear_also_removes_product_image_rows():
    call_command("seed_catalog", products=5, customers=1, orders=1, verbosity=0)
    product_image(Product.objects.first(), thumbnail=False)
    catalog_clear()
    assert not ProductImage.objects.exists()
    assert not Product.objects.exists()


def test_products_with_variants_are_seeded_as_parents_and_their_variants():
    result = catalog_seed(products=40, variants=5, customers=5, orders=30, seed=2, anchor=ANCHOR)
    assert (result.products, result.variants) == (40, 200)
    parents = Product.objects.filter(structure=Product.Structure.PARENT)
    assert parents.count() == 40
    assert not Product.objects.filter(structure=Product.Structure.STANDALONE).exists()
    for parent in parents[:5]:
        parent.full_clean()
        variants = list(parent.variants.all())
        assert len(variants) == 5
        assert parent.unit_price == min(variant.unit_price for variant in variants)
        for variant in variants:
            variant.full_clean()
            assert variant.title == variant.option_label
            assert variant.sku.startswith(f"{parent.sku}-")
    # Orders sell variants, never a product with variants.
    sold = OrderItem.objects.values_list("product__structure", flat=True).distinct()
    assert set(sold) == {Product.Structure.VARIANT}
    # Promotions go to products.
    promoted = Product.promotions.through.objects.values_list("product__structure", flat=True).distinct()
    assert set(promoted) == {Product.Structure.PARENT}


def test_a_product_is_found_by_its_seeded_variants_sku():
    catalog_seed(products=10, variants=3, seed=1, anchor=ANCHOR)
    variant = Product.objects.filter(structure=Product.Structure.VARIANT).order_by("pk").last()
    assert list(product_search(term=variant.sku, queryset=product_list_products())) == [variant.parent]


def test_a_catalog_with_variants_is_cleared():
    call_command("seed_catalog", products=6, variants=4, customers=2, orders=4, verbosity=0)
    assert Product.objects.count() == 30
    catalog_clear()
    assert not Product.objects.exists()


def test_seed_catalog_refuses_more_variants_than_option_combinations():
    with pytest.raises(CommandError, match="--variants"):
        call_command("seed_catalog", products=1, variants=25, verbosity=0)
