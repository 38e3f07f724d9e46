"""An index for the product list's "last updated" filter at 1M sellable units (issue 21).

``(parent, last_update)``: the filter's capped count of products (rows without a parent) in a
date range is a range of this index alone; the ``last_update`` index read each row of the range
for its ``parent_id`` (60k rows, variants included, for 10,000 products at 1M sellable units).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0032_parent_priced_as_cheapest_variant"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="product",
            index=models.Index(fields=["parent", "last_update"], name="product_parent_update_idx"),
        ),
    ]
