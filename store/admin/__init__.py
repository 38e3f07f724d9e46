"""Store admin: one module per back-office area, all registered on the default site."""

from django.contrib import admin

from . import alerts, carts, catalog, customers, importexport, jobs, mapping, orders  # noqa: F401  (registers the ModelAdmins)

admin.site.site_header = "Storefront back-office"
admin.site.site_title = "Storefront back-office"
admin.site.index_title = "Dashboard"
