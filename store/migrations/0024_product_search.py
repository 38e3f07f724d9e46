"""The product search index (ProductSearchTerm), filled from the products already there.

On MariaDB the term column compares in binary (utf8mb4_bin), as SQLite's does by default: a
search word is the range ``term >= word AND term < next_string(word)`` on both databases.
"""

import django.db.models.deletion
from django.db import migrations, models

from store.search.services import BUILD_CHUNK, search_index_clear
from store.search.terms import product_terms
from store.sql import execute_many


def binary_terms(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        with schema_editor.connection.cursor() as cursor:  # the table is new and empty: instant
            cursor.execute(
                "ALTER TABLE store_productsearchterm "
                "MODIFY term VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
            )


def fill_index(apps, schema_editor):
    """The terms of every product, a chunk at a time (the table as this migration makes it:
    0025 adds the title column, and fills it)."""
    product = apps.get_model("store", "Product")
    last = 0
    while True:
        rows = list(product.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "title", "sku")[:BUILD_CHUNK])
        if not rows:
            return
        terms = [(term, pk) for pk, title, sku in rows for term in product_terms(title=title, sku=sku)]
        execute_many("INSERT INTO store_productsearchterm (term, product_id) VALUES (%s, %s)", terms)
        last = rows[-1][0]


def empty_index(apps, schema_editor):
    search_index_clear()


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0023_product_related_change"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductSearchTerm",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "term", "product", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("term", models.CharField(max_length=64)),
                (
                    "product",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="search_terms",
                        db_index=False,
                        to="store.product",
                    ),
                ),
            ],
        ),
        migrations.RunPython(binary_terms, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(fill_index, empty_index, elidable=True),
        # After the rows: one sorted build instead of a million index insertions.
        migrations.AddIndex(
            model_name="productsearchterm",
            index=models.Index(fields=["product", "term"], name="productsearchterm_product_idx"),
        ),
    ]
