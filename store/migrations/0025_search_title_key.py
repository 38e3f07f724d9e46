"""The product's title on each search term, and the index (term, title, product): a whole
word's matches in the list's order, so that a page of them stops after the page.

The column is added empty, filled with one set-based UPDATE per range of product ids (a join
on MariaDB, ``UPDATE … FROM`` on SQLite), then indexed once (one sorted build).
"""

from django.db import migrations, models

#: Products per UPDATE (about 7 terms each).
STEP = 20_000


def fill_titles(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "mysql":
        update = (
            "UPDATE store_productsearchterm t JOIN store_product p ON p.id = t.product_id SET t.title = p.title "
            "WHERE t.product_id >= %s AND t.product_id < %s"
        )
    else:
        update = (
            "UPDATE store_productsearchterm SET title = p.title FROM store_product p "
            "WHERE p.id = store_productsearchterm.product_id "
            "AND store_productsearchterm.product_id >= %s AND store_productsearchterm.product_id < %s"
        )
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM store_product")
        first, last = cursor.fetchone()
        if first is None:
            return
        for start in range(first, last + 1, STEP):
            cursor.execute(update, [start, start + STEP])


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0024_product_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="productsearchterm",
            name="title",
            field=models.CharField(default="", max_length=255),
            preserve_default=False,
        ),
        migrations.RunPython(fill_titles, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="productsearchterm",
            index=models.Index(fields=["term", "title", "product"], name="productsearchterm_title_idx"),
        ),
    ]
