from django.apps import AppConfig


class StoreCustomConfig(AppConfig):
    """The only place that knows both store and tags."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "store_custom"
    verbose_name = "Store customisations"

    def ready(self) -> None:
        from store.extensions import register
        from store_custom.extension import TAGS

        register(TAGS)
