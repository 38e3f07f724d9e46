"""django-import-export resources: the admin's export formats, one per model.

Products export in the native import format: one column per product column of
``store.importing.columns.product_columns()`` (store's own, then those other apps
register, such as ``tags``), so an export re-imports with 0 changes. Imports do not go through these resources:
``store.importing`` is the fast, row-exact path (docs/decisions/).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

import tablib
from django.db.models import QuerySet
from import_export import fields, resources

from store.fileformat.columns import product_columns
from store.models import Customer, Order, Product

EXPORT_CHUNK_SIZE = 2_000


class ChunkedExportResource(resources.ModelResource):
    """Streams the queryset in chunks, prefetching per chunk.

    django-import-export pages a queryset that has ``prefetch_related`` with
    OFFSET/LIMIT pages of 100 rows: quadratic on a large table (100k products took
    over five minutes on MariaDB). Django's ``iterator(chunk_size=…)`` prefetches
    each chunk itself and reads the result once.
    """

    # Related rows one chunk needs (streamed exports). Prefetched, never joined: with a
    # 2,000-id IN list MariaDB may drive a join from the other table and scan (60 s a chunk at 1M).
    export_prefetch_related: tuple[str, ...] = ()

    def iter_queryset(self, queryset):
        if isinstance(queryset, QuerySet):
            yield from queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE)
        else:
            yield from queryset

    # --- Streamed exports (jobs, CLI): headers, then rows chunk by chunk -------------
    def export_headers(self) -> list[str]:
        return self.get_export_headers()

    def iter_export_chunks(self, queryset: QuerySet, *, force_native_type: bool = False) -> Iterator[list[list]]:
        """The rows of ``queryset`` in its order, EXPORT_CHUNK_SIZE at a time, in flat memory.

        Only the primary keys are read in one pass (a client-side MySQL cursor holds its
        whole result: 1M full rows would not fit, 1M ids do); each chunk's rows are then
        loaded by id with their joins and prefetches: a fixed number of queries per chunk.
        """
        manager = queryset.model._base_manager
        ids = queryset.values_list("pk", flat=True).iterator(chunk_size=EXPORT_CHUNK_SIZE)
        while chunk := list(islice(ids, EXPORT_CHUNK_SIZE)):
            rows = manager.filter(pk__in=chunk).prefetch_related(*self.export_prefetch_related)
            by_id = {obj.pk: obj for obj in rows}
            objs = [by_id[pk] for pk in chunk if pk in by_id]
            yield self.export_chunk(objs, force_native_type=force_native_type)

    def export_chunk(self, objs: list, **kwargs) -> list[list]:
        return [self.export_resource(obj, **kwargs) for obj in objs]


def product_export_rows(products: Sequence[Product], *, native: bool = False) -> list[list[Any]]:
    """The export rows of ``products`` (their related rows prefetched): one cell per product column.

    Columns on the product row read each product; other columns read their values for
    the whole chunk at once (``current``).
    """
    ids = [product.pk for product in products]
    cells: list[list[Any]] = []
    for column in product_columns():
        if column.field:
            cells.append([column.export(product, native=native) for product in products])
        else:
            current, empty = column.current(ids), column.empty()
            cells.append([column.render(current.get(pk, empty)) for pk in ids])
    return [list(row) for row in zip(*cells, strict=True)] if cells else []


class ProductResource(ChunkedExportResource):
    """The export's columns are the product columns, not this resource's fields."""

    class Meta:
        model = Product
        fields = ("sku",)
        import_id_fields = ("sku",)

    @property
    def export_prefetch_related(self) -> tuple[str, ...]:  # type: ignore[override]  # computed from the table
        return tuple(dict.fromkeys(name for column in product_columns() for name in column.export_related))

    def export(self, queryset: QuerySet[Product] | None = None, **kwargs: Any) -> tablib.Dataset:
        if queryset is None:
            queryset = self.get_queryset()
        native = bool(kwargs.get("force_native_type"))
        dataset = tablib.Dataset(headers=self.export_headers())
        products = queryset.prefetch_related(*self.export_prefetch_related).iterator(chunk_size=EXPORT_CHUNK_SIZE)
        while chunk := list(islice(products, EXPORT_CHUNK_SIZE)):
            for row in product_export_rows(chunk, native=native):
                dataset.append(row)
        return dataset

    def export_headers(self) -> list[str]:
        return [column.name for column in product_columns()]

    def export_chunk(self, objs: list[Any], **kwargs: Any) -> list[list[Any]]:
        return product_export_rows(objs, native=bool(kwargs.get("force_native_type")))


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

    export_prefetch_related = ("customer", "items__product")

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
