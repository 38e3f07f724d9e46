"""Catalog area: products, collections, promotions."""
from django.contrib import admin

from store.admin.importexport import ProductImportExportAdmin
from store.models import Collection, Product, Promotion

admin.site.register(Collection)
admin.site.register(Promotion)
admin.site.register(Product, ProductImportExportAdmin)
