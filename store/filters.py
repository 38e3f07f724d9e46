"""Custom admin list filters. Their queryset() calls a selector."""
from __future__ import annotations

from admin_auto_filters.filters import AutocompleteFilter
from django.contrib import admin

from . import selectors


class InventoryFilter(admin.SimpleListFilter):
    """Low / Out of stock / OK, against settings.LOW_STOCK_THRESHOLD."""

    title = "inventory"
    parameter_name = "inventory_status"

    def lookups(self, request, model_admin):
        return [
            (status, selectors.STOCK_STATUS_LABELS[status])
            for status in (selectors.STOCK_LOW, selectors.STOCK_OUT, selectors.STOCK_OK)
        ]

    def queryset(self, request, queryset):
        if self.value() not in selectors.STOCK_STATUS_LABELS:
            return queryset
        return selectors.product_list_by_stock_status(status=self.value(), queryset=queryset)


class CollectionFilter(AutocompleteFilter):
    """Pick the collection by typing: there can be thousands. URL: ?collection__pk__exact=N."""

    title = "collection"
    field_name = "collection"
