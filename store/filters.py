"""Custom admin list filters. Their queryset() calls a selector."""

from __future__ import annotations

from typing import cast

from admin_auto_filters.filters import AutocompleteFilter
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import ValidationError

from store import selectors
from store.bulk.actions import bulk_actions

ROWS_PARAMETER = "rows"
ROWS_UNITS = "units"
#: the filters of the products view that mean nothing for a variant's own row (its status,
#: promotions and tags are its product's): leaving the products view drops them
PRODUCT_ONLY_PARAMETERS = ("status__exact", "promotions__id__exact", "tag")


def units_view(request) -> bool:
    """The product list shows sellable units (products without variants, and each variant)."""
    return request.GET.get(ROWS_PARAMETER) == ROWS_UNITS


class InventoryFilter(admin.SimpleListFilter):
    """Low / Out of stock / OK, against settings.LOW_STOCK_THRESHOLD; Not tracked (stock not counted).

    A product with variants by its variants' stock, as its stock badge; in the sellable-units view
    each row by its own."""

    title = "inventory"
    parameter_name = "inventory_status"

    def lookups(self, request, model_admin):
        return [
            (status, selectors.STOCK_STATUS_LABELS[status])
            for status in (selectors.STOCK_LOW, selectors.STOCK_OUT, selectors.STOCK_OK, selectors.STOCK_UNTRACKED)
        ]

    def queryset(self, request, queryset):
        status = self.value()
        if status is None or status not in selectors.STOCK_STATUS_LABELS:
            return queryset
        if units_view(request):  # each row a sellable unit: its own stock
            return selectors.product_list_by_stock_status(status=status, queryset=queryset)
        # Products: a product with variants as its stock badge shows it (its variants' stock).
        return selectors.product_list_products_by_stock_status(status=status, queryset=queryset)


class RowsFilter(admin.SimpleListFilter):
    """Products (the default: a product with variants is one row) or sellable units: every
    product without variants and every variant on a row of its own, its price and stock
    editable in the list and its title shown with its product's. The rows are chosen by
    ``ProductChangeList.get_queryset``; this filter offers the choice."""

    title = "rows"
    parameter_name = ROWS_PARAMETER

    def lookups(self, request, model_admin):
        return [(ROWS_UNITS, "Sellable units (each variant)")]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Products",
        }
        yield {
            "selected": self.value() == ROWS_UNITS,
            "query_string": changelist.get_query_string(
                {self.parameter_name: ROWS_UNITS},
                remove=[name for name in changelist.params if name.startswith(PRODUCT_ONLY_PARAMETERS)],
            ),
            "display": "Sellable units (each variant)",
        }

    def queryset(self, request, queryset):
        return queryset


class PromotionFilter(admin.RelatedFieldListFilter):
    """The promotions filter of the product list (Django's, same choices and URL:
    ``?promotions__id__exact=N``), its products read by a lookup of each in the through table
    (``selectors.product_list_in_promotions``) instead of a join the admin makes distinct; its
    capped count reads the through table alone (``selectors.product_list_capped_count``). The
    "(None)" choice (``promotions__isnull``) is Django's."""

    def by_ids(self) -> bool:
        """Only promotion ids are asked for (not ``promotions__isnull``): no join, no duplicates."""
        return set(self.used_parameters) == {self.lookup_kwarg}

    def queryset(self, request, queryset):
        if not self.by_ids():
            return super().queryset(request, queryset)
        try:
            # Django's lookup values: a list of the URL's strings (typed as one value by the stubs)
            ids = cast(list[str], self.used_parameters[self.lookup_kwarg])
            first_page = request.GET.get(PAGE_VAR, "1") == "1"
            return selectors.product_list_in_promotions(promotion_ids=ids, queryset=queryset, first_page=first_page)
        except (ValueError, ValidationError) as error:  # as Django's: junk ids are a bad lookup
            raise IncorrectLookupParameters(error) from error


class BulkActionFilter(admin.SimpleListFilter):
    """The bulk edits of one kind, named as the product list's action menu names them
    ("Change price"), not by the action's internal name."""

    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(action.name, action.label.rstrip("…")) for action in bulk_actions()]

    def queryset(self, request, queryset):
        return queryset if self.value() is None else queryset.filter(action=self.value())


class IdAutocompleteFilter(AutocompleteFilter):
    """An AutocompleteFilter that refuses values which are not ids of the related model.

    The library's widget looks the value up while rendering, so junk (``abc``, a
    30-digit number) would be a 500; refuse it the way the admin refuses any bad
    lookup (redirect to ``?e=1``).
    """

    def __init__(self, request, params, model, model_admin):
        name = self.parameter_name or (
            f"{self.field_name}__{self.field_pk}__exact" if self.use_pk_exact else self.field_name
        )
        target = (self.rel_model or model)._meta.get_field(self.field_name).target_field
        raw = params.get(name)
        for value in raw if isinstance(raw, list) else [raw]:
            if value in (None, ""):
                continue
            try:
                target.clean(value, None)  # type conversion plus the backend's integer range
            except ValidationError as error:
                raise IncorrectLookupParameters(error) from error
        super().__init__(request, params, model, model_admin)


class CollectionFilter(IdAutocompleteFilter):
    """Pick the collection by typing: there can be thousands. URL: ?collection__pk__exact=N."""

    title = "collection"
    field_name = "collection"


class UnitCollectionFilter(CollectionFilter):
    """The collection filter of the sellable-units view: a variant is in its product's collection."""

    def queryset(self, request, queryset):
        value = self.used_parameters.get(self.parameter_name)
        if isinstance(value, list):  # Django's lookup values are lists; the last one counts
            value = value[-1] if value else None
        if value in (None, ""):
            return queryset
        # An id: IdAutocompleteFilter refused anything else.
        return selectors.product_list_units_in_collection(collection_id=int(value), queryset=queryset)


class CustomerFilter(IdAutocompleteFilter):
    """Pick the customer through select2; the list narrows to ``?customer__pk__exact=N``."""

    title = "customer"
    field_name = "customer"
