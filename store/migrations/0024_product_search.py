"""The product search index (ProductSearchTerm), filled from the products already there.

On MariaDB the term column compares in binary (utf8mb4_bin), as SQLite's does by default: a
search word is the range ``term >= word AND term < next_string(word)`` on both databases.
"""

import django.db.models.deletion
from django.db import migrations, models

from store.search.services import search_index_build, search_index_clear


def binary_terms(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        with schema_editor.connection.cursor() as cursor:  # the table is new and empty: instant
            cursor.execute(
                "ALTER TABLE store_productsearchterm "
                "MODIFY term VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
            )


def fill_index(apps, schema_editor):
    search_index_build()


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
