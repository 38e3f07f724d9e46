"""Custom admin list filters. Their queryset() calls a selector."""
from __future__ import annotations

from admin_auto_filters.filters import AutocompleteFilter
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters

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

    def __init__(self, request, params, model, model_admin):
        # The widget looks the value up while rendering: junk would be a 500, not "?e=1".
        raw = params.get(f"{self.field_name}__pk__exact")
        values = raw if isinstance(raw, list) else [raw]
        if raw is not None and not all(_is_id(value) for value in values):
            raise IncorrectLookupParameters(f"Not a collection id: {raw!r}")
        super().__init__(request, params, model, model_admin)


def _is_id(value) -> bool:
    text = str(value)
    return text == "" or (text.isascii() and text.isdigit() and int(text) < 2**63)
