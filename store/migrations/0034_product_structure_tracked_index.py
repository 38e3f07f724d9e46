"""An index for the sellable-units view's "Not tracked" filter at 1M sellable units (issue 21).

``(structure, track_inventory)``: the units whose stock is not counted are two ranges of it
(products without variants, variants), read alone for the capped count; a product with variants
is never tracked (the ``product_parent_not_stocked`` CHECK), so without ``structure`` each of
them was read from the table and found not to be a unit. The structure leads: the view's own
capped count (``structure IN ('standalone', 'variant')``) is two ranges of it as well.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0033_product_parent_update_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["structure", "track_inventory"], name="product_structure_tracked_idx"),
        ),
    ]
