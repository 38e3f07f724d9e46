"""Migrations 0024-0025: the products already there get their terms, each with its title; 0027: the
terms of variants are marked as theirs; 0036: the title joins the primary key."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from store.tests.migrating import migrate_to, migrate_to_latest

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("store", "0023_product_related_change")]
AFTER = [("store", "0025_search_title_key")]


@pytest.fixture
def back_to_latest():
    yield
    migrate_to_latest()


def test_the_index_is_filled_with_each_products_title(back_to_latest):
    apps = migrate_to(BEFORE)
    Collection, Product = apps.get_model("store", "Collection"), apps.get_model("store", "Product")
    shelf = Collection.objects.create(title="Shelf")
    titles = {"Heavy-duty Water Bottle 7": "S1-0000007", "Beanie – Black": "ACC-0041"}
    made = {
        Product.objects.create(
            title=title, slug=sku.lower(), sku=sku, unit_price=Decimal("5.00"), inventory=1, collection=shelf
        ).pk: title
        for title, sku in titles.items()
    }

    apps = migrate_to(AFTER)
    Term = apps.get_model("store", "ProductSearchTerm")
    for pk, title in made.items():
        rows = set(Term.objects.filter(product_id=pk).values_list("term", "title"))
        assert {term for term, _ in rows} >= {"bottle", "s1", "0000007"} or {term for term, _ in rows} >= {"acc0041"}
        assert {row_title for _, row_title in rows} == {title}


def test_0027_marks_the_terms_of_existing_variants(back_to_latest):
    apps = migrate_to([("store", "0026_product_variants")])
    Collection, Product = apps.get_model("store", "Collection"), apps.get_model("store", "Product")
    Term = apps.get_model("store", "ProductSearchTerm")
    shelf = Collection.objects.create(title="Shelf")
    parent = Product.objects.create(
        title="Tee",
        slug="tee",
        sku="TEE",
        unit_price=Decimal("5.00"),
        inventory=0,
        track_inventory=False,
        collection=shelf,
        structure="parent",
        option1_name="Colour",
    )
    variant = Product.objects.create(
        title="Green",
        sku="TEE-GREEN",
        unit_price=Decimal("5.00"),
        inventory=1,
        structure="variant",
        parent=parent,
        option1="Green",
        slug=None,
        collection=None,
        status=None,
    )
    Term.objects.bulk_create(
        [Term(term="tee", product_id=parent.pk, title="Tee"), Term(term="green", product_id=variant.pk, title="Green")]
    )

    apps = migrate_to([("store", "0027_search_term_is_variant")])
    Term = apps.get_model("store", "ProductSearchTerm")
    assert dict(Term.objects.values_list("product_id", "is_variant")) == {parent.pk: False, variant.pk: True}


def _term_keys() -> tuple[list[str], set[tuple[str, ...]]]:
    """The term table's primary key columns and its other indexes' columns, as the database has them."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "store_productsearchterm")
    primary = next(found["columns"] for found in constraints.values() if found["primary_key"])
    if connection.vendor == "sqlite":  # its introspection lists a key's columns in the table's order
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pragma_index_list('store_productsearchterm') WHERE origin = 'pk'")
            (key,) = cursor.fetchone()
            cursor.execute("SELECT name FROM pragma_index_info(%s) ORDER BY seqno", [key])
            primary = [name for (name,) in cursor.fetchall()]
    others = {tuple(found["columns"]) for found in constraints.values() if found["index"] and not found["primary_key"]}
    return primary, others


def test_0036_makes_the_title_part_of_the_key_and_keeps_every_row(back_to_latest):
    apps = migrate_to([("store", "0035_product_has_tracked_variant")])
    Term = apps.get_model("store", "ProductSearchTerm")
    rows = {
        ("bottle", 1, "Water Bottle", False),
        ("bottle", 2, "Bottle Opener", False),
        ("water", 1, "Water Bottle", False),
        ("^water bottle", 1, "Water Bottle", False),
        ("s", 3, "Green / S", True),
    }
    Term.objects.bulk_create(
        Term(term=term, product_id=pk, title=title, is_variant=is_variant) for term, pk, title, is_variant in rows
    )
    assert _term_keys() == (
        ["term", "product_id"],
        {("product_id", "term"), ("term", "title", "product_id")},
    )

    apps = migrate_to([("store", "0036_search_term_title_primary_key")])
    assert _term_keys() == (["term", "title", "product_id"], {("product_id", "term")})
    Term = apps.get_model("store", "ProductSearchTerm")
    assert set(Term.objects.values_list("term", "product_id", "title", "is_variant")) == rows
    # A word's rows in title order, as the search reads them: the key's own order.
    assert list(Term.objects.filter(term="bottle").values_list("product_id", flat=True)) == [2, 1]

    migrate_to([("store", "0035_product_has_tracked_variant")])  # and back, as it was
    assert _term_keys() == (
        ["term", "product_id"],
        {("product_id", "term"), ("term", "title", "product_id")},
    )
    assert set(Term.objects.values_list("term", "product_id", "title", "is_variant")) == rows
