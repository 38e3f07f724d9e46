"""The product list reads products (rows without a parent) through (parent, column) indexes.

The plain index on ``title`` goes: ordered by title, MariaDB walked it through every variant
("Black / …" rows first) rather than ``(parent, title)`` (8.3 s for a collection's page at 1M
sellable units, 0.7 s without it). It is dropped by name (the history table's copy too: simple-history
copies ``db_index``) rather than by ``AlterField``, which on SQLite rebuilds both tables.
"""

from django.db import migrations, models

TITLE = models.CharField(max_length=255)


def drop_title_indexes(apps, schema_editor):
    for name in ("Product", "HistoricalProduct"):
        model = apps.get_model("store", name)
        table = model._meta.db_table
        index = schema_editor._create_index_name(table, ["title"], suffix="")
        schema_editor.execute(schema_editor._delete_index_sql(model, index))


def restore_parent_fk_index(apps, schema_editor):
    """Backwards, MariaDB: the foreign key of ``parent`` gets back the index of its own that
    InnoDB dropped when the (parent, column) indexes came to serve it (0026 drops it by name)."""
    if schema_editor.connection.vendor != "mysql":
        return
    name = "store_product_parent_id_95a89824_fk_store_product_id"
    with schema_editor.connection.cursor() as cursor:
        indexes = schema_editor.connection.introspection.get_constraints(cursor, "store_product")
    if not indexes.get(name, {}).get("index"):
        schema_editor.execute(f"ALTER TABLE `store_product` ADD INDEX `{name}` (`parent_id`)")


def create_title_indexes(apps, schema_editor):
    for name in ("Product", "HistoricalProduct"):
        model = apps.get_model("store", name)
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[model._meta.get_field("title")]))


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0027_search_term_is_variant"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="product", name="title", field=TITLE),
                migrations.AlterField(model_name="historicalproduct", name="title", field=TITLE),
            ],
            database_operations=[migrations.RunPython(drop_title_indexes, create_title_indexes, atomic=False)],
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["parent", "title"], name="product_parent_title_idx"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["parent", "sku"], name="product_parent_sku_idx"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["parent", "unit_price"], name="product_parent_price_idx"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["parent", "inventory"], name="product_parent_inventory_idx"),
        ),
        # Runs first backwards: the foreign key keeps an index while the ones above go.
        migrations.RunPython(migrations.RunPython.noop, restore_parent_fk_index, atomic=False),
    ]
