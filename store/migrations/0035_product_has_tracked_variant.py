"""A product with variants says whether any of its variants' stock is tracked
(``Product.has_tracked_variant``, kept by store.variants.rollup), so that the product list's "Not
tracked" filter is a range of the (structure, track_inventory, has_tracked_variant) index. Filled
with one UPDATE per 1,000 products with variants, each read from the (parent, track_inventory,
inventory) index; the index is built after the fill."""

from django.db import migrations, models
from django.db.models import Exists, OuterRef

CHUNK = 1000


def parents_with_tracked_variants(apps, schema_editor):
    Product = apps.get_model("store", "Product")
    products = Product.objects.using(schema_editor.connection.alias)
    tracked = products.filter(parent_id=OuterRef("pk"), track_inventory=True)
    ids = list(products.filter(structure="parent").order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        products.filter(pk__in=ids[start : start + CHUNK]).update(has_tracked_variant=Exists(tracked))


class Migration(migrations.Migration):
    dependencies = [("store", "0034_product_structure_tracked_index")]

    operations = [
        migrations.RemoveIndex(model_name="product", name="product_structure_tracked_idx"),
        migrations.AddField(
            model_name="product",
            name="has_tracked_variant",
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.RunPython(parents_with_tracked_variants, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["structure", "track_inventory", "has_tracked_variant"], name="product_structure_tracked_idx"
            ),
        ),
    ]
