"""An index for the sellable-units view's "Not tracked" filter at 1M sellable units (issue 21).

``(track_inventory, structure)``: the units whose stock is not counted are two ranges of it
(products without variants, variants), read alone for the capped count; a product with variants
is never tracked (the ``product_parent_not_stocked`` CHECK), so without ``structure`` each of
them was read from the table and found not to be a unit.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0032_product_parent_update_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["track_inventory", "structure"], name="product_untracked_idx"),
        ),
    ]
