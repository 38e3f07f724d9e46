"""Carts area (read-only)."""
from django.contrib import admin

from store.models import Cart

admin.site.register(Cart)
