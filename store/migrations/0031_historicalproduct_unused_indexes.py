"""The history's indexes that no read uses (issue 22): SKU, slug, price, stock and the foreign keys.

simple-history copies each ``db_index`` (and ``unique``, as an index) of the product onto its
history table, so every history row written kept 11 secondary indexes up to date. The history
is read by product (``id``), date, reason and its own id only (grep ``HistoricalProduct`` and
``Product.history``); ``history_user`` keeps its index (deleting a user sets it to NULL).
The indexes are dropped by name, not by ``AlterField``, which on SQLite remakes the table once
a field; backwards re-creates them.
"""

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models

FIELDS = ("slug", "sku", "unit_price", "inventory", "collection", "parent", "variant_image")


def drop_indexes(apps, schema_editor):
    model = apps.get_model("store", "HistoricalProduct")
    table = model._meta.db_table
    for name in FIELDS:
        column = model._meta.get_field(name).column
        index = schema_editor._create_index_name(table, [column], suffix="")
        schema_editor.execute(schema_editor._delete_index_sql(model, index))


def create_indexes(apps, schema_editor):
    model = apps.get_model("store", "HistoricalProduct")
    for name in FIELDS:
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[model._meta.get_field(name)]))


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0030_product_list_filter_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="historicalproduct",
                    name="collection",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="store.collection",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalproduct",
                    name="inventory",
                    field=models.IntegerField(validators=[django.core.validators.MinValueValidator(0)]),
                ),
                migrations.AlterField(
                    model_name="historicalproduct",
                    name="parent",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="store.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalproduct",
                    name="sku",
                    field=models.CharField(
                        help_text="Stock keeping unit; imports match on it.", max_length=64, verbose_name="SKU"
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalproduct",
                    name="slug",
                    field=models.SlugField(blank=True, db_index=False, max_length=255, null=True),
                ),
                migrations.AlterField(
                    model_name="historicalproduct",
                    name="unit_price",
                    field=models.DecimalField(
                        decimal_places=2,
                        max_digits=10,
                        validators=[django.core.validators.MinValueValidator(Decimal("1.00"))],
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalproduct",
                    name="variant_image",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        help_text="One of the product's images, shown for this variant.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="store.productimage",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes, atomic=False)],
        ),
    ]
