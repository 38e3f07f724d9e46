"""Store admin: one module per back-office area, all registered on the default site."""

from django.contrib import admin

from store.admin import (  # noqa: F401  (registers the ModelAdmins)
    alerts,
    bulk,
    carts,
    catalog,
    customers,
    exports,
    import_history,
    imports,
    jobs,
    mapping,
    orders,
    revert,
)

admin.site.site_header = "Storefront back-office"
admin.site.site_title = "Storefront back-office"
admin.site.index_title = "Dashboard"
