from django.apps import AppConfig


class StoreCustomConfig(AppConfig):
    """The only place that knows both store and tags."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "store_custom"
    verbose_name = "Store customisations"

    def ready(self) -> None:
        from store.seeding import catalog_cleared

        from . import receivers

        catalog_cleared.connect(receivers.drop_product_tags, dispatch_uid="store_custom.drop_product_tags")

        # --- Import/export: the product "tags" column ---
        from store.importing.hooks import register_extra_column

        from .importing import product_tags_column

        register_extra_column(product_tags_column)
