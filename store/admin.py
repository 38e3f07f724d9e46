from django.contrib import admin

from .models import Cart, Collection, Customer, Order, Product, Promotion

admin.site.site_header = "Storefront back-office"
admin.site.site_title = "Storefront back-office"
admin.site.index_title = "Dashboard"

for model in (Collection, Promotion, Product, Customer, Order, Cart):
    admin.site.register(model)
