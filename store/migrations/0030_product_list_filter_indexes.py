"""Indexes for the product list's filters at 1M sellable units (issue 21).

``(parent, track_inventory, inventory)``: a product with variants' tracked stock (its lowest,
its total) is read from the index alone, not from each variant's row. ``(collection, title)``:
a collection's products walked in the list's default order, stopping after a page.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0029_product_compare_at_above_price"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["parent", "track_inventory", "inventory"], name="product_parent_stock_idx"),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["collection", "title"], name="product_collection_title_idx"),
        ),
    ]
