"""Customers area."""
from django.contrib import admin

from store.admin.importexport import CustomerExportAdmin
from store.models import Customer

admin.site.register(Customer, CustomerExportAdmin)
