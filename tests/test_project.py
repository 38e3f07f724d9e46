"""Project-wide guarantees: migrations, checks, demo data.

App boundaries (store and tags never import each other, no import cycles, worker code never
imports the admin) are import contracts in pyproject.toml (`lint-imports`, run by `make lint`)
and tests/test_architecture.py."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Exists, OuterRef

from store.models import Collection, Customer, Order, OrderItem, Product, ProductImage

ROOT = Path(settings.BASE_DIR)


@pytest.mark.django_db
def test_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_system_checks_pass():
    call_command("check", stdout=StringIO())


@pytest.mark.django_db
def test_demo_fixture_loads_a_believable_store():
    call_command("loaddata", ROOT / "fixtures" / "demo.json", verbosity=0)
    assert 8 <= Collection.objects.count() <= 12
    assert 180 <= Product.objects.count() <= 220
    assert Product.objects.filter(inventory__lt=10).exists()
    assert set(Product.objects.values_list("status", flat=True)) == {Product.Status.ACTIVE}  # all in the API
    assert 45 <= Customer.objects.count() <= 55
    assert 90 <= Order.objects.count() <= 110
    assert set(Order.objects.values_list("payment_status", flat=True)) == {"P", "C", "F"}
    assert OrderItem.objects.exists()
    for product in Product.objects.all():
        product.full_clean()


@pytest.mark.django_db
def test_setup_demo_loads_once_and_prints_the_login(settings):
    settings.DEBUG = True
    first, second = StringIO(), StringIO()
    call_command("setup_demo", stdout=first)
    products = Product.objects.count()
    call_command("setup_demo", stdout=second)
    assert Product.objects.count() == products > 0
    assert "loaded fixtures/demo.json and drew 10 product images" in first.getvalue()
    parents = Product.objects.filter(structure=Product.Structure.PARENT).select_related("collection")
    assert f"{len(parents)} products of Hoodies, T-Shirts, Footwear have variants by size" in first.getvalue()
    assert {parent.collection.title for parent in parents} == {"Hoodies", "T-Shirts", "Footwear"}
    assert not parents.filter(Exists(OrderItem.objects.filter(product=OuterRef("pk")))).exists()
    hoodie = parents.filter(collection__title="Hoodies").first()
    assert hoodie.option_names == ["Size"]
    assert [v.option_label for v in hoodie.variants.order_by("pk")] == ["S", "M", "L", "XL"]
    assert all(v.inventory > 0 for v in hoodie.variants.all())
    prices = [v.unit_price for v in hoodie.variants.order_by("pk")]
    assert prices[-1] == prices[0] + 2  # XL costs more: a price range
    assert len(set(prices[:-1])) == 1
    assert hoodie.unit_price == prices[0]  # the product holds its cheapest variant's price (the rollup)
    images = ProductImage.objects.all()
    assert len(images) == 10
    assert all(image.width == 480 and image.image.name.endswith(".png") for image in images)
    assert "nothing loaded" in second.getvalue()
    assert "username 'admin', password 'admin'" in second.getvalue()
