"""Products with variants (docs/decisions/0017-variants-as-parent-child-rows.md), and the fields stores keep.

Every existing row becomes a product without variants (``structure`` defaults to standalone):
no row is rewritten. On MySQL/MariaDB the whole change is one ``ALTER TABLE`` of the product
table (the new columns, the columns a variant leaves NULL, the foreign keys, the CHECK
constraints: one table copy, ~20 s at 1M products on MariaDB 10.11, instead of Django's ~2 min
48 s of one statement per operation) and one online ``ALTER`` of the history table; the foreign
keys are added with ``foreign_key_checks = 0`` (the new columns are all NULL, and
``collection_id`` keeps its key). SQLite rebuilds each table once (``OneRebuild``).
"""

import django.core.validators
import django.db.models.deletion
import store.validators
from django.db import migrations, models


FK_CHECKS_OFF = "SET foreign_key_checks = 0"
FK_CHECKS_ON = "SET foreign_key_checks = 1"
NEW_COLUMNS = (
    "`barcode` varchar(14) DEFAULT '' NOT NULL",
    "`compare_at_price` numeric(10, 2) NULL",
    "`cost_per_item` numeric(10, 2) NULL",
    "`option1` varchar(64) DEFAULT '' NOT NULL",
    "`option1_name` varchar(64) DEFAULT '' NOT NULL",
    "`option2` varchar(64) DEFAULT '' NOT NULL",
    "`option2_name` varchar(64) DEFAULT '' NOT NULL",
    "`option3` varchar(64) DEFAULT '' NOT NULL",
    "`option3_name` varchar(64) DEFAULT '' NOT NULL",
    "`parent_id` bigint NULL",
    "`seo_description` varchar(320) DEFAULT '' NOT NULL",
    "`seo_title` varchar(255) DEFAULT '' NOT NULL",
    "`structure` varchar(10) DEFAULT 'standalone' NOT NULL",
    "`variant_image_id` bigint NULL",
    "`vendor` varchar(255) DEFAULT '' NOT NULL",
    "`weight` numeric(10, 3) NULL",
    "`weight_unit` varchar(2) DEFAULT 'kg' NOT NULL",
)
NULLABLE = ("`slug` varchar(255) NULL", "`status` varchar(10) DEFAULT 'active' NULL")
PARENT_FK = "store_product_parent_id_95a89824_fk_store_product_id"
IMAGE_FK = "store_product_variant_image_id_b624e38d_fk_store_productimage_id"
STRUCTURE_CHECK = (
    "((`collection_id` IS NULL AND `parent_id` IS NOT NULL AND `slug` IS NULL AND `status` IS NULL "
    "AND `structure` = 'variant') OR (`collection_id` IS NOT NULL AND `parent_id` IS NULL AND `slug` IS NOT NULL "
    "AND `status` IS NOT NULL AND `structure` IN ('standalone', 'parent')))"
)
PARENT_CHECK = "(NOT (`structure` = 'parent') OR (`inventory` = 0 AND `track_inventory` = 0))"

MYSQL_FORWARDS = [
    FK_CHECKS_OFF,
    "ALTER TABLE `store_product` "
    + ", ".join(
        [
            *(f"ADD COLUMN {column}" for column in NEW_COLUMNS),
            *(f"MODIFY {column}" for column in NULLABLE),
            "MODIFY `collection_id` bigint NULL",
            f"ADD CONSTRAINT `{PARENT_FK}` FOREIGN KEY (`parent_id`) REFERENCES `store_product` (`id`)",
            f"ADD CONSTRAINT `{IMAGE_FK}` FOREIGN KEY (`variant_image_id`) REFERENCES `store_productimage` (`id`)",
            f"ADD CONSTRAINT `product_structure_fields` CHECK {STRUCTURE_CHECK}",
            f"ADD CONSTRAINT `product_parent_not_stocked` CHECK {PARENT_CHECK}",
        ]
    ),
    FK_CHECKS_ON,
    "ALTER TABLE `store_historicalproduct` "
    + ", ".join(
        [
            *(f"ADD COLUMN {column}" for column in NEW_COLUMNS),
            *(f"MODIFY {column}" for column in NULLABLE),
            "ADD INDEX `store_historicalproduct_parent_id_e8929a28` (`parent_id`)",
            "ADD INDEX `store_historicalproduct_variant_image_id_ab0efad2` (`variant_image_id`)",
        ]
    )
    + ", ALGORITHM=INPLACE, LOCK=NONE",
]
_DROPPED = [column.split("`")[1] for column in NEW_COLUMNS]
MYSQL_BACKWARDS = [
    "ALTER TABLE `store_historicalproduct` "
    + ", ".join(
        [
            "DROP INDEX `store_historicalproduct_parent_id_e8929a28`",
            "DROP INDEX `store_historicalproduct_variant_image_id_ab0efad2`",
            *(f"DROP COLUMN `{name}`" for name in _DROPPED),
            "MODIFY `slug` varchar(255) NOT NULL",
            "MODIFY `status` varchar(10) DEFAULT 'active' NOT NULL",
        ]
    ),
    "ALTER TABLE `store_product` "
    + ", ".join(
        [
            "DROP CONSTRAINT `product_structure_fields`",
            "DROP CONSTRAINT `product_parent_not_stocked`",
            f"DROP FOREIGN KEY `{PARENT_FK}`",
            f"DROP FOREIGN KEY `{IMAGE_FK}`",
        ]
    ),
    "ALTER TABLE `store_product` "
    + ", ".join(
        [
            f"DROP INDEX `{PARENT_FK}`",
            f"DROP INDEX `{IMAGE_FK}`",
            *(f"DROP COLUMN `{name}`" for name in _DROPPED),
            "MODIFY `slug` varchar(255) NOT NULL",
            "MODIFY `status` varchar(10) DEFAULT 'active' NOT NULL",
            "MODIFY `collection_id` bigint NOT NULL",
        ]
    ),
]


class OneRebuild(migrations.SeparateDatabaseAndState):
    """Django's operations for the state; the database's table is rebuilt once, not once an operation.

    MySQL/MariaDB: the statements given. SQLite: the new columns are added in place (``ADD COLUMN``
    with their default), then the table is rebuilt once as the new state's model (the NULLs a
    variant has, the CHECK constraints, the keys): one copy instead of Django's one per field
    (47 s at 100k products before, see docs/performance.md). Other databases: Django's operations.
    """

    def __init__(self, *, operations, forwards, backwards):
        super().__init__(state_operations=operations, database_operations=operations)
        self.forwards, self.backwards = forwards, backwards

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        vendor = schema_editor.connection.vendor
        if vendor == "mysql":
            for statement in self.forwards:
                schema_editor.execute(statement)
        elif vendor == "sqlite":
            for model_name in ("product", "historicalproduct"):
                old = from_state.apps.get_model(app_label, model_name)
                new = to_state.apps.get_model(app_label, model_name)
                table = schema_editor.quote_name(new._meta.db_table)
                existing = {field.column for field in old._meta.local_concrete_fields}
                for field in new._meta.local_concrete_fields:
                    if field.column not in existing:
                        definition, params = schema_editor.column_sql(new, field, include_default=True)
                        schema_editor.execute(
                            f"ALTER TABLE {table} ADD COLUMN {schema_editor.quote_name(field.column)} {definition}",
                            params or None,
                        )
                schema_editor._remake_table(new)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "mysql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        for statement in self.backwards:
            schema_editor.execute(statement)
        return None


SCHEMA = [
    migrations.AddField(
        model_name="historicalproduct",
        name="barcode",
        field=models.CharField(
            blank=True,
            db_default="",
            default="",
            help_text="GTIN-8, -12 (UPC), -13 (EAN) or -14, with its check digit.",
            max_length=14,
            validators=[store.validators.validate_gtin],
            verbose_name="barcode",
        ),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="compare_at_price",
        field=models.DecimalField(
            blank=True,
            decimal_places=2,
            help_text="The price before a reduction, shown struck through; higher than the price.",
            max_digits=10,
            null=True,
            validators=[django.core.validators.MinValueValidator(0)],
            verbose_name="compare-at price",
        ),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="cost_per_item",
        field=models.DecimalField(
            blank=True,
            decimal_places=2,
            max_digits=10,
            null=True,
            validators=[django.core.validators.MinValueValidator(0)],
            verbose_name="cost per item",
        ),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="option1",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 1 value"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="option1_name",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 1"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="option2",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 2 value"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="option2_name",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 2"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="option3",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 3 value"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="option3_name",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 3"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="parent",
        field=models.ForeignKey(
            blank=True,
            db_constraint=False,
            editable=False,
            null=True,
            on_delete=django.db.models.deletion.DO_NOTHING,
            related_name="+",
            to="store.product",
        ),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="seo_description",
        field=models.CharField(blank=True, db_default="", default="", max_length=320, verbose_name="SEO description"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="seo_title",
        field=models.CharField(blank=True, db_default="", default="", max_length=255, verbose_name="SEO title"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="structure",
        field=models.CharField(
            choices=[
                ("standalone", "Product without variants"),
                ("parent", "Product with variants"),
                ("variant", "Variant"),
            ],
            db_default="standalone",
            default="standalone",
            editable=False,
            max_length=10,
        ),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="variant_image",
        field=models.ForeignKey(
            blank=True,
            db_constraint=False,
            help_text="One of the product's images, shown for this variant.",
            null=True,
            on_delete=django.db.models.deletion.DO_NOTHING,
            related_name="+",
            to="store.productimage",
        ),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="vendor",
        field=models.CharField(blank=True, db_default="", default="", max_length=255, verbose_name="vendor"),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="weight",
        field=models.DecimalField(
            blank=True,
            decimal_places=3,
            max_digits=10,
            null=True,
            validators=[django.core.validators.MinValueValidator(0)],
            verbose_name="weight",
        ),
    ),
    migrations.AddField(
        model_name="historicalproduct",
        name="weight_unit",
        field=models.CharField(
            choices=[("g", "g"), ("kg", "kg"), ("lb", "lb"), ("oz", "oz")],
            db_default="kg",
            default="kg",
            max_length=2,
            verbose_name="weight unit",
        ),
    ),
    migrations.AddField(
        model_name="product",
        name="barcode",
        field=models.CharField(
            blank=True,
            db_default="",
            default="",
            help_text="GTIN-8, -12 (UPC), -13 (EAN) or -14, with its check digit.",
            max_length=14,
            validators=[store.validators.validate_gtin],
            verbose_name="barcode",
        ),
    ),
    migrations.AddField(
        model_name="product",
        name="compare_at_price",
        field=models.DecimalField(
            blank=True,
            decimal_places=2,
            help_text="The price before a reduction, shown struck through; higher than the price.",
            max_digits=10,
            null=True,
            validators=[django.core.validators.MinValueValidator(0)],
            verbose_name="compare-at price",
        ),
    ),
    migrations.AddField(
        model_name="product",
        name="cost_per_item",
        field=models.DecimalField(
            blank=True,
            decimal_places=2,
            max_digits=10,
            null=True,
            validators=[django.core.validators.MinValueValidator(0)],
            verbose_name="cost per item",
        ),
    ),
    migrations.AddField(
        model_name="product",
        name="option1",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 1 value"),
    ),
    migrations.AddField(
        model_name="product",
        name="option1_name",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 1"),
    ),
    migrations.AddField(
        model_name="product",
        name="option2",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 2 value"),
    ),
    migrations.AddField(
        model_name="product",
        name="option2_name",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 2"),
    ),
    migrations.AddField(
        model_name="product",
        name="option3",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 3 value"),
    ),
    migrations.AddField(
        model_name="product",
        name="option3_name",
        field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="option 3"),
    ),
    migrations.AddField(
        model_name="product",
        name="parent",
        field=models.ForeignKey(
            blank=True,
            editable=False,
            null=True,
            on_delete=django.db.models.deletion.CASCADE,
            related_name="variants",
            to="store.product",
        ),
    ),
    migrations.AddField(
        model_name="product",
        name="seo_description",
        field=models.CharField(blank=True, db_default="", default="", max_length=320, verbose_name="SEO description"),
    ),
    migrations.AddField(
        model_name="product",
        name="seo_title",
        field=models.CharField(blank=True, db_default="", default="", max_length=255, verbose_name="SEO title"),
    ),
    migrations.AddField(
        model_name="product",
        name="structure",
        field=models.CharField(
            choices=[
                ("standalone", "Product without variants"),
                ("parent", "Product with variants"),
                ("variant", "Variant"),
            ],
            db_default="standalone",
            default="standalone",
            editable=False,
            max_length=10,
        ),
    ),
    migrations.AddField(
        model_name="product",
        name="variant_image",
        field=models.ForeignKey(
            blank=True,
            help_text="One of the product's images, shown for this variant.",
            null=True,
            on_delete=django.db.models.deletion.SET_NULL,
            related_name="+",
            to="store.productimage",
        ),
    ),
    migrations.AddField(
        model_name="product",
        name="vendor",
        field=models.CharField(blank=True, db_default="", default="", max_length=255, verbose_name="vendor"),
    ),
    migrations.AddField(
        model_name="product",
        name="weight",
        field=models.DecimalField(
            blank=True,
            decimal_places=3,
            max_digits=10,
            null=True,
            validators=[django.core.validators.MinValueValidator(0)],
            verbose_name="weight",
        ),
    ),
    migrations.AddField(
        model_name="product",
        name="weight_unit",
        field=models.CharField(
            choices=[("g", "g"), ("kg", "kg"), ("lb", "lb"), ("oz", "oz")],
            db_default="kg",
            default="kg",
            max_length=2,
            verbose_name="weight unit",
        ),
    ),
    migrations.AlterField(
        model_name="historicalproduct",
        name="slug",
        field=models.SlugField(blank=True, max_length=255, null=True),
    ),
    migrations.AlterField(
        model_name="historicalproduct",
        name="status",
        field=models.CharField(
            blank=True,
            choices=[("draft", "Draft"), ("active", "Active"), ("archived", "Archived")],
            db_default="active",
            default="active",
            help_text="Only active products are served by the catalog API (the storefront).",
            max_length=10,
            null=True,
        ),
    ),
    migrations.AlterField(
        model_name="product",
        name="collection",
        field=models.ForeignKey(
            blank=True,
            null=True,
            on_delete=django.db.models.deletion.PROTECT,
            related_name="products",
            to="store.collection",
        ),
    ),
    migrations.AlterField(
        model_name="product",
        name="slug",
        field=models.SlugField(blank=True, max_length=255, null=True, unique=True),
    ),
    migrations.AlterField(
        model_name="product",
        name="status",
        field=models.CharField(
            blank=True,
            choices=[("draft", "Draft"), ("active", "Active"), ("archived", "Archived")],
            db_default="active",
            default="active",
            help_text="Only active products are served by the catalog API (the storefront).",
            max_length=10,
            null=True,
        ),
    ),
    migrations.AddConstraint(
        model_name="product",
        constraint=models.CheckConstraint(
            condition=models.Q(
                models.Q(
                    ("collection__isnull", True),
                    ("parent__isnull", False),
                    ("slug__isnull", True),
                    ("status__isnull", True),
                    ("structure", "variant"),
                ),
                models.Q(
                    ("collection__isnull", False),
                    ("parent__isnull", True),
                    ("slug__isnull", False),
                    ("status__isnull", False),
                    ("structure__in", ["standalone", "parent"]),
                ),
                _connector="OR",
            ),
            name="product_structure_fields",
        ),
    ),
    migrations.AddConstraint(
        model_name="product",
        constraint=models.CheckConstraint(
            condition=models.Q(
                models.Q(("structure", "parent"), _negated=True),
                models.Q(("inventory", 0), ("track_inventory", False)),
                _connector="OR",
            ),
            name="product_parent_not_stocked",
        ),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("store", "0025_search_title_key"),
    ]

    operations = [
        OneRebuild(operations=SCHEMA, forwards=MYSQL_FORWARDS, backwards=MYSQL_BACKWARDS),
    ]
