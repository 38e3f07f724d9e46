"""A compare-at price is above the price, or none: a CHECK constraint (Product.clean() already
refused the others; a bulk price raise past it did not, until now).

Rows that break the rule first lose their compare-at price (a "was" price not above the price
shows no reduction: storefronts ignore it), their SKUs logged, so the constraint can be added.
Adding a CHECK is a table copy on MariaDB 10.11 whatever the ALGORITHM asked (INPLACE, NOCOPY
and INSTANT are refused, with ``check_constraint_checks = 0`` too): Django's one ``ALTER TABLE …
ADD CONSTRAINT`` copies once (docs/performance.md: 39 s at 1M products on a loaded machine; reads
go on, writes wait). SQLite rebuilds the table once.
"""

import logging

from django.db import migrations, models

logger = logging.getLogger(__name__)
SKUS_LOGGED = 50


def clear_compare_at_not_above_price(apps, schema_editor):
    Product = apps.get_model("store", "Product")
    broken = Product.objects.filter(compare_at_price__isnull=False, compare_at_price__lte=models.F("unit_price"))
    skus = list(broken.order_by("pk").values_list("sku", flat=True)[:SKUS_LOGGED])
    cleared = broken.update(compare_at_price=None)
    if cleared:
        logger.warning(
            "Cleared the compare-at price of %d product(s) where it was not above the price (first SKUs: %s).",
            cleared,
            ", ".join(skus),
        )


class Migration(migrations.Migration):
    dependencies = [("store", "0028_product_list_parent_indexes")]

    operations = [
        migrations.RunPython(clear_compare_at_not_above_price, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.CheckConstraint(
                condition=models.Q(compare_at_price__isnull=True)
                | models.Q(compare_at_price__gt=models.F("unit_price")),
                name="product_compare_at_above_price",
            ),
        ),
    ]
