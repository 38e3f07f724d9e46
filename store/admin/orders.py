"""Orders area."""
from django.contrib import admin

from store.models import Order

admin.site.register(Order)
