"""django-import-export resources: the admin's export formats, one per model.

Products export in the native import format (the same columns the importer
reads, plus extra columns such as ``tags`` that other apps register), so an
export re-imports with 0 changes. Imports do not go through these resources:
``store.importing`` is the fast, row-exact path (see README).
"""
from __future__ import annotations

import tablib
from django.db.models import QuerySet
from import_export import fields, resources, widgets

from .importing.hooks import extra_columns
from .importing.planning import CHUNK, _chunks
from .models import Collection, Customer, Order, Product, Promotion

EXPORT_CHUNK_SIZE = 2_000


class ChunkedExportResource(resources.ModelResource):
    """Streams the queryset in chunks, prefetching per chunk.

    django-import-export pages a queryset that has ``prefetch_related`` with
    OFFSET/LIMIT pages of 100 rows: quadratic on a large table (100k products took
    over five minutes on MariaDB). Django's ``iterator(chunk_size=…)`` prefetches
    each chunk itself and reads the result once.
    """

    def iter_queryset(self, queryset):
        if isinstance(queryset, QuerySet):
            yield from queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE)
        else:
            yield from queryset


class ProductResource(ChunkedExportResource):
    collection = fields.Field(
        attribute="collection", column_name="collection", widget=widgets.ForeignKeyWidget(Collection, "title")
    )
    promotions = fields.Field(
        attribute="promotions", column_name="promotions",
        widget=widgets.ManyToManyWidget(Promotion, separator=",", field="pk"),
    )

    class Meta:
        model = Product
        fields = ("sku", "title", "slug", "description", "unit_price", "inventory", "collection", "promotions")
        export_order = fields
        import_id_fields = ("sku",)
        skip_unchanged = True
        report_skipped = True

    def export(self, queryset=None, **kwargs) -> tablib.Dataset:
        if queryset is None:
            queryset = self.get_queryset()
        queryset = queryset.select_related("collection").prefetch_related("promotions")
        dataset = super().export(queryset=queryset, **kwargs)
        handlers = extra_columns()
        if handlers and dataset.height:
            skus = dataset.get_col(0)
            ids: dict[str, int] = {}
            for chunk in _chunks(skus, CHUNK):
                ids.update(Product.objects.filter(sku__in=chunk).values_list("sku", "id"))
            for handler in handlers:
                current = handler.current(list(ids.values()))
                dataset.append_col(
                    [handler.render(current.get(ids.get(sku), handler.empty())) for sku in skus],
                    header=handler.column,
                )
        elif handlers:
            for handler in handlers:
                dataset.append_col([], header=handler.column)
        return dataset


class CustomerResource(ChunkedExportResource):
    class Meta:
        model = Customer
        fields = ("id", "first_name", "last_name", "email", "phone", "birth_date", "membership")
        export_order = fields
        import_id_fields = ("email",)


class OrderResource(ChunkedExportResource):
    customer_email = fields.Field(attribute="customer__email", column_name="customer_email")
    items = fields.Field(column_name="items")
    total = fields.Field(column_name="total")

    class Meta:
        model = Order
        fields = ("id", "placed_at", "payment_status", "customer", "customer_email", "items", "total")
        export_order = fields
        import_id_fields = ("id",)

    def export(self, queryset=None, **kwargs) -> tablib.Dataset:
        if queryset is None:
            queryset = self.get_queryset()
        queryset = queryset.select_related("customer").prefetch_related("items__product")
        return super().export(queryset=queryset, **kwargs)

    def dehydrate_items(self, order: Order) -> str:
        return "; ".join(f"{item.quantity} x {item.product.sku}" for item in order.items.all())

    def dehydrate_total(self, order: Order):
        return sum((item.quantity * item.unit_price for item in order.items.all()), start=0)
