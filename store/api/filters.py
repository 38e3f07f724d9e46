"""Query-parameter validation for the catalog API: a bad value is a 400 naming the parameter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_filters.widgets import BooleanWidget
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.filters import OrderingFilter

from store import extensions, selectors
from store.api.search import CappedSearchFilter
from store.models import Product
from store.search.selectors import SEARCH_ORDERING, SEARCH_RANK
from store.variants import selectors as variant_selectors

# Ids are BIGINT: anything outside that range can match nothing, and SQLite would
# raise OverflowError on it.
MAX_ID = 2**63 - 1
INVALID_BOOLEAN = "Enter true or false."
DATETIME_OUT_OF_RANGE = "Enter a date/time between years 0001 and 9999 (UTC)."


class StrictBooleanField(forms.NullBooleanField):
    """Like NullBooleanField, but junk is an error instead of being ignored."""

    TRUE = {"true", "1", "yes"}
    FALSE = {"false", "0", "no"}

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in self.TRUE:
            return True
        if lowered in self.FALSE:
            return False
        raise ValidationError(INVALID_BOOLEAN, code="invalid")

    def validate(self, value):
        return None


class StrictBooleanWidget(BooleanWidget):
    """Hands the raw value to the field (BooleanWidget maps junk to None)."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", StrictBooleanWidget)
        super().__init__(*args, **kwargs)


class IdFilter(filters.NumberFilter):
    # The stubs pin NumberFilter.field_class to DecimalField; django-filter lets subclasses choose.
    field_class = forms.IntegerField  # type: ignore[assignment]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 datetime (naive means UTC) that must survive the conversion to UTC."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(DATETIME_OUT_OF_RANGE, code="invalid") from None


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def price_filter(lookup_expr: str, help_text: str) -> filters.NumberFilter:
    # Applied by ProductFilter.filter_queryset, both bounds together (one variant must be within both).
    return filters.NumberFilter(
        field_name="unit_price",
        lookup_expr=lookup_expr,
        method="filter_nothing",
        max_digits=12,
        decimal_places=2,
        help_text=help_text,
    )


ANY_VARIANT = "; a product with variants when any one of its variants is (within both bounds when both are given)"


class ProductFilter(filters.FilterSet):
    collection_id = IdFilter(field_name="collection_id", help_text="Only products of this collection.")
    unit_price__gt = price_filter("gt", f"Products priced above it (strictly){ANY_VARIANT}.")
    unit_price__lt = price_filter("lt", f"Products priced below it (strictly){ANY_VARIANT}.")
    in_stock = StrictBooleanFilter(
        method="filter_in_stock",
        help_text=(
            "true: sellable (inventory > 0, or stock not tracked; a product with variants: any of them is); "
            "false: the others."
        ),
    )
    updated_since = UtcIsoDateTimeFilter(
        field_name="last_update",
        lookup_expr="gte",
        method="filter_updated_since",
        help_text=(
            "ISO 8601 date/time (UTC when no offset): products changed at or after it "
            "(a product with variants: it, or a variant of it, was added or saved)."
        ),
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_queryset(self, queryset):
        """The price bounds together (a product with variants matches when one variant is within
        both), then every other filter."""
        queryset = variant_selectors.product_list_priced_within(
            queryset=queryset,
            above=self.form.cleaned_data.get("unit_price__gt"),
            below=self.form.cleaned_data.get("unit_price__lt"),
        )
        return super().filter_queryset(queryset)

    def filter_nothing(self, queryset, name, value):
        return queryset

    def filter_in_stock(self, queryset, name, value):
        return selectors.product_list_in_stock(in_stock=value, queryset=queryset)

    def filter_updated_since(self, queryset, name, value):
        return variant_selectors.product_list_updated_since(since=value, queryset=queryset)


# (registry generation, base FilterSet) -> base plus the extensions' filters
_filterset_cache: dict[tuple[int, type], type] = {}


def product_filterset_with_extensions(base: type[filters.FilterSet]) -> type[filters.FilterSet]:
    """`base` plus every filter of the registered API fields (built once per registry state)."""
    key = (extensions.generation(), base)
    if key not in _filterset_cache:
        extra = extensions.api_filters()
        for stale in [k for k in _filterset_cache if k[0] != key[0]]:
            del _filterset_cache[stale]
        metaclass: Callable[..., type[filters.FilterSet]] = type(base)  # FilterSetMetaclass
        _filterset_cache[key] = metaclass(base.__name__, (base,), extra) if extra else base
    return _filterset_cache[key]


class ProductFilterBackend(filters.DjangoFilterBackend):
    """DjangoFilterBackend whose FilterSet also carries the filters other apps registered."""

    def get_filterset_class(self, view, queryset=None):
        base = super().get_filterset_class(view, queryset)
        return product_filterset_with_extensions(base) if base else None


class ProductSyncFilterBackend(ProductFilterBackend):
    """The sync feed's filters choose among active products; the tombstones of products
    that were once active go out whatever they say (``selectors.product_sync_list``)."""

    def filter_queryset(self, request, queryset: QuerySet[Product], view) -> QuerySet[Product]:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:  # a view without a FilterSet: no filters, tombstones still
            return selectors.product_sync_list(active=queryset)
        if not filterset.is_valid():
            # As DjangoFilterBackend does (its translate_validation): a 400 naming each parameter.
            raise DRFValidationError({name: list(errors) for name, errors in filterset.errors.items()})
        since = filterset.form.cleaned_data.get("updated_since")
        return selectors.product_sync_list(active=filterset.qs, updated_since=since)


class ProductSearchFilter(CappedSearchFilter):
    """?search= on products: the one product search (``store.search``), as the admin's.

    The same cap on words as every list; the words are the search's own (a SKU such as
    ``ACC-0041`` is one search word for the cap).
    """

    search_description = (
        "Any words of the title or the SKU, or their start; every word must match. Case, accents "
        "and punctuation do not count. Best matches first unless `ordering` is given."
    )

    def filter_queryset(self, request, queryset, view):
        terms = self.get_search_terms(request)
        if not terms:
            return queryset
        return selectors.product_search(term=" ".join(terms), queryset=queryset)


class ProductOrderingFilter(OrderingFilter):
    """?ordering=, or a search's best-matches-first order when a search gave none. A product
    with variants sorts by its cheapest variant's price (``unit_price``) and by its or its latest
    variant's save (``last_update``): the values it is served with."""

    def get_ordering(self, request, queryset, view):
        if not request.query_params.get(self.ordering_param) and SEARCH_RANK in queryset.query.annotations:
            return list(SEARCH_ORDERING)
        return super().get_ordering(request, queryset, view)

    def filter_queryset(self, request, queryset, view):
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        if not {term.removeprefix("-") for term in ordering} & {"id", "pk"}:
            # Ties broken by id, in the first key's direction (its index ends in id): without it,
            # products of the same price could move between pages from one request to the next.
            ordering = [*ordering, "-id" if ordering[0].startswith("-") else "id"]
        return variant_selectors.product_list_ordered(queryset=queryset, ordering=ordering)
