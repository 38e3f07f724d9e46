"""Which search terms are a variant's own (its SKU, its option label): the product list reads a
word's products from the term index without looking up each product row's structure.

Added with a database default (no table rebuild on MariaDB; a column added in place on SQLite),
then the terms of existing variants are marked with one UPDATE.
"""

from django.db import migrations, models


def mark_variant_terms(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE store_productsearchterm SET is_variant = %s "
            "WHERE product_id IN (SELECT id FROM store_product WHERE structure = %s)",
            [True, "variant"],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0026_product_variants"),
    ]

    operations = [
        migrations.AddField(
            model_name="productsearchterm",
            name="is_variant",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(mark_variant_terms, migrations.RunPython.noop, elidable=True),
    ]
