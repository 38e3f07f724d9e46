from django.apps import AppConfig


class StoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "store"
    verbose_name = "Store"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
        from django.db.models.signals import post_delete, post_migrate, post_save

        from store import receivers
        from store.models import Product, ProductImage

        user_logged_in.connect(receivers.audit_login, dispatch_uid="store.audit_login")
        user_logged_out.connect(receivers.audit_logout, dispatch_uid="store.audit_logout")
        user_login_failed.connect(receivers.audit_login_failed, dispatch_uid="store.audit_login_failed")
        user_locked_out.connect(receivers.audit_locked_out, dispatch_uid="store.audit_locked_out")
        post_delete.connect(receivers.delete_image_files, sender=ProductImage, dispatch_uid="store.delete_image_files")
        post_save.connect(receivers.product_search_refresh, sender=Product, dispatch_uid="store.product_search_refresh")
        post_save.connect(receivers.product_parent_rollup_sync, sender=Product, dispatch_uid="store.parent_rollup_save")
        post_delete.connect(
            receivers.variant_deleted_parent_rollup_sync, sender=Product, dispatch_uid="store.parent_rollup_delete"
        )
        # Every migrate ends by creating the database cache's table when it is missing.
        post_migrate.connect(receivers.create_cache_tables, sender=self, dispatch_uid="store.create_cache_tables")
