"""A product with variants holds its cheapest variant's price and compare-at price
(store.variants.rollup): until now only new ones did (imports, seeding), and a variant's price
edit left its product's as it was, so the list's price header sorted it by a price it is not
shown at. One UPDATE per 1,000 products with variants, each set from the (parent, unit_price)
index."""

from django.db import migrations
from django.db.models import Exists, OuterRef, Subquery

CHUNK = 1000


def parents_priced_as_cheapest(apps, schema_editor):
    Product = apps.get_model("store", "Product")
    db = schema_editor.connection.alias
    products = Product.objects.using(db)
    cheapest = products.filter(parent_id=OuterRef("pk")).order_by("unit_price", "pk")
    ids = list(products.filter(structure="parent").order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        products.filter(pk__in=chunk).filter(Exists(products.filter(parent_id=OuterRef("pk")))).update(
            unit_price=Subquery(cheapest.values("unit_price")[:1]),
            compare_at_price=Subquery(cheapest.values("compare_at_price")[:1]),
        )


class Migration(migrations.Migration):
    dependencies = [("store", "0031_historicalproduct_unused_indexes")]

    operations = [migrations.RunPython(parents_priced_as_cheapest, migrations.RunPython.noop, elidable=True)]
