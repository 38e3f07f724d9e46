"""Catalog area: products, collections, promotions."""
from django.contrib import admin

from store.models import Collection, Product, Promotion

admin.site.register(Collection)
admin.site.register(Promotion)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    # Minimal stand-in so the order inline's product autocomplete works; the catalog
    # branch owns the full ProductAdmin.
    search_fields = ["title", "sku"]
