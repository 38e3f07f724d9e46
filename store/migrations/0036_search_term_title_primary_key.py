"""The search index's primary key becomes (term, title, product), and the (term, title, product)
index goes: one index fewer to write for every term row (issue 22).

A word's matches in the list's order (title, id) were a range of that secondary index; they are
now a range of the primary key itself, read with the row. A word of a product (``term = …
AND product_id = …``) is found through ``(product, term)``, which holds the primary key's title.
A product's terms all carry its one title, so the key is as unique as (term, product) was.

MariaDB changes the key in place (a rebuild of the table that lets reads and writes go on);
SQLite cannot change a primary key, so the table is made anew and its rows copied.
"""

from django.db import migrations, models

TABLE = "store_productsearchterm"
TITLE_INDEX = "productsearchterm_title_idx"
PRODUCT_INDEX = "productsearchterm_product_idx"


def _sqlite_remake(schema_editor, key: str) -> None:
    """Make the table anew with ``key`` as its primary key (SQLite cannot alter one)."""
    new = f"new__{TABLE}"
    for sql in (
        f'CREATE TABLE "{new}" ("term" varchar(64) NOT NULL, "product_id" bigint NOT NULL, '
        f'"title" varchar(255) NOT NULL, "is_variant" bool DEFAULT 0 NOT NULL, PRIMARY KEY ({key}))',
        f'INSERT INTO "{new}" ("term", "product_id", "title", "is_variant") '
        f'SELECT "term", "product_id", "title", "is_variant" FROM "{TABLE}"',
        f'DROP TABLE "{TABLE}"',
        f'ALTER TABLE "{new}" RENAME TO "{TABLE}"',
        f'CREATE INDEX "{PRODUCT_INDEX}" ON "{TABLE}" ("product_id", "term")',
    ):
        schema_editor.execute(sql)


def title_key(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(
            f"ALTER TABLE `{TABLE}` DROP PRIMARY KEY, ADD PRIMARY KEY (`term`, `title`, `product_id`), "
            f"DROP INDEX `{TITLE_INDEX}`"
        )
    else:
        _sqlite_remake(schema_editor, '"term", "title", "product_id"')


def product_key(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(
            f"ALTER TABLE `{TABLE}` DROP PRIMARY KEY, ADD PRIMARY KEY (`term`, `product_id`), "
            f"ADD INDEX `{TITLE_INDEX}` (`term`, `title`, `product_id`)"
        )
    else:
        _sqlite_remake(schema_editor, '"term", "product_id"')
        schema_editor.execute(f'CREATE INDEX "{TITLE_INDEX}" ON "{TABLE}" ("term", "title", "product_id")')


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0035_product_has_tracked_variant"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(title_key, product_key)],
            state_operations=[
                migrations.RemoveIndex(model_name="productsearchterm", name=TITLE_INDEX),
                migrations.AlterField(
                    model_name="productsearchterm",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "term", "title", "product", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
        ),
    ]
