"""Project-wide guarantees: migrations, checks, app boundaries, demo data."""

import ast
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from store.models import Collection, Customer, Order, OrderItem, Product, ProductImage

ROOT = Path(settings.BASE_DIR)


@pytest.mark.django_db
def test_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_system_checks_pass():
    call_command("check", stdout=StringIO())


def imported_top_level_modules(app: str) -> set[str]:
    modules = set()
    for path in (ROOT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize(("app", "forbidden"), [("store", "tags"), ("tags", "store")])
def test_store_and_tags_never_import_each_other(app, forbidden):
    assert forbidden not in imported_top_level_modules(app)


def test_batched_raw_writes_go_through_execute_many():
    """A bare ``cursor.executemany`` answers 500 under `make run` (the debug toolbar's SQL panel
    cannot record it on SQLite); ``store.sql.execute_many`` runs beneath it (tests/devserver)."""
    calls = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for app in ("backoffice", "store", "store_custom", "tags")
        for path in (ROOT / app).rglob("*.py")
        if path != ROOT / "store" / "sql.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "executemany"
    ]
    assert calls == []


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
    images = ProductImage.objects.all()
    assert len(images) == 10
    assert all(image.width == 480 and image.image.name.endswith(".png") for image in images)
    assert "nothing loaded" in second.getvalue()
    assert "username 'admin', password 'admin'" in second.getvalue()
