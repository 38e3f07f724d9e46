from django.apps import AppConfig


class StoreCustomConfig(AppConfig):
    """The only place that knows both store and tags."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "store_custom"
    verbose_name = "Store customisations"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from store.bulk import register_bulk_action
        from store.importing.columns import register_column
        from store.models import Product
        from store.reverting import products_deleted
        from store.seeding import catalog_cleared

        from . import api, bulk, receivers
        from .importing import product_tags_column

        # --- Tag rows follow their products (generic relations do not cascade) ---
        catalog_cleared.connect(receivers.drop_product_tags, dispatch_uid="store_custom.drop_product_tags")
        post_delete.connect(
            receivers.drop_deleted_product_tags,
            sender=Product,
            dispatch_uid="store_custom.drop_deleted_product_tags",
        )
        products_deleted.connect(
            receivers.drop_bulk_deleted_product_tags, dispatch_uid="store_custom.drop_bulk_deleted_product_tags"
        )
        # --- Import/export: the product "tags" column ---
        register_column(product_tags_column)
        # --- Bulk edits on the product list: "Add tags" / "Remove tags" ---
        register_bulk_action(bulk.add_tags)
        register_bulk_action(bulk.remove_tags)
        # --- Catalog API: product tags field + ?tag= filter, and /api/tags/ ---
        api.register()
