"""Customers area."""
from django.contrib import admin

from store.models import Customer

admin.site.register(Customer)
