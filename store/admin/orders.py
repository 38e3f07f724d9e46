"""Orders area."""
from django.contrib import admin

from store.admin.importexport import OrderExportAdmin
from store.models import Order

admin.site.register(Order, OrderExportAdmin)
