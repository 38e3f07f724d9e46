"""django-import-export resources: the admin's export formats, one per model.

Products export in the native import format: one column per product column of
``store.fileformat.columns.product_columns()`` (store's own, the variant columns, then those other
apps register, such as ``tags``), a product with variants as its row then its variants' rows
(``store.exports.products``), so an export re-imports with 0 changes; or in Shopify's layout
(``store.exports.shopify``). Imports do not go through these resources: ``store.importing`` is the
fast, row-exact path (docs/decisions/).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

import tablib
from django.db.models import QuerySet
from import_export import fields, resources

from store.exports.formats import FORMAT_CSV, FORMAT_JSON, FORMAT_SHOPIFY, FORMAT_XLSX
from store.exports.products import (
    ExportItem,
    export_columns_without_rows,
    export_fields,
    export_has_variants,
    export_items,
    export_row_count,
    native_header,
    native_rows,
    product_row_chunks,
)
from store.exports.shopify import SHOPIFY_HEADER, shopify_rows
from store.models import Customer, Order, Product
from store.sql import id_list
from store.variants.selectors import catalog_has_variants

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
    #: the formats (store.exports.formats) its exports are offered in
    export_formats: tuple[str, ...] = (FORMAT_CSV, FORMAT_XLSX, FORMAT_JSON)

    @classmethod
    def for_format(cls, file_format: str) -> ChunkedExportResource:
        """The resource that writes ``file_format``: this one, unless the format has a layout of its own."""
        return cls()

    def iter_queryset(self, queryset):
        if isinstance(queryset, QuerySet):
            yield from queryset.iterator(chunk_size=EXPORT_CHUNK_SIZE)
        else:
            yield from queryset

    def export_row_count(self, queryset: QuerySet, *, limit: int | None = None) -> int:
        """How many rows exporting ``queryset`` writes (counting at most ``limit``)."""
        rows = queryset.order_by()
        return rows.count() if limit is None else rows[:limit].count()

    # --- Streamed exports (jobs, CLI): headers, then rows chunk by chunk -------------
    def export_headers(self, queryset: QuerySet | None = None) -> list[str]:
        """The header of exporting ``queryset`` (a resource whose columns depend on it decides here)."""
        return self.get_export_headers()

    def iter_export_chunks(self, queryset: QuerySet, *, force_native_type: bool = False) -> Iterator[list[list]]:
        """The rows of ``queryset`` in its order, EXPORT_CHUNK_SIZE objects at a time, in flat memory."""
        for objs in self.iter_object_chunks(queryset):
            yield self.export_chunk(objs, force_native_type=force_native_type)

    def iter_id_chunks(self, queryset: QuerySet) -> Iterator[list[int]]:
        """The ids of ``queryset`` in its order, EXPORT_CHUNK_SIZE at a time.

        Only the primary keys are read in one pass (a client-side MySQL cursor holds its
        whole result: 1M full rows would not fit, 1M ids do); each chunk's rows are then
        read by id: a fixed number of queries per chunk.
        """
        ids = queryset.values_list("pk", flat=True).iterator(chunk_size=EXPORT_CHUNK_SIZE)
        while chunk := list(islice(ids, EXPORT_CHUNK_SIZE)):
            yield chunk

    def iter_object_chunks(self, queryset: QuerySet) -> Iterator[list]:
        """The objects of ``queryset`` in its order, EXPORT_CHUNK_SIZE at a time, with their prefetches."""
        manager = queryset.model._base_manager
        for chunk in self.iter_id_chunks(queryset):
            rows = manager.filter(pk__in=id_list(chunk)).prefetch_related(*self.export_prefetch_related)
            by_id = {obj.pk: obj for obj in rows}
            yield [by_id[pk] for pk in chunk if pk in by_id]

    def export_chunk(self, objs: list, **kwargs) -> list[list]:
        return [self.export_resource(obj, **kwargs) for obj in objs]


class ProductResource(ChunkedExportResource):
    """The native format: the product columns (store.fileformat.columns), a product with variants as
    its row and its variants' rows (store.exports.products), not this resource's fields.

    The variant columns are in the header only when the export has products with variants: the
    file of a catalog (or a list) without them is what it was before variants. One resource is one
    export: it decides once, at ``export_headers(queryset)`` (or its first chunk).
    """

    export_formats = (*ChunkedExportResource.export_formats, FORMAT_SHOPIFY)

    class Meta:
        model = Product
        fields = ("sku",)
        import_id_fields = ("sku",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.with_variants: bool | None = None  # the header has the variant columns (decided once)
        self._catalog_has_variants: bool | None = None
        #: the columns with rows of their own no product has any of (asked at the first chunk)
        self.without_rows: frozenset[str] | None = None

    @classmethod
    def for_format(cls, file_format: str) -> ProductResource:
        return ShopifyProductResource() if file_format == FORMAT_SHOPIFY else cls()

    def catalog_has_variants(self) -> bool:
        """Whether any product has variants (one indexed read per export): without, no variant reads."""
        if self._catalog_has_variants is None:
            self._catalog_has_variants = catalog_has_variants()
        return self._catalog_has_variants

    def export(self, queryset: QuerySet[Product] | None = None, **kwargs: Any) -> tablib.Dataset:
        """The export in memory (the admin's inline exports, up to EXPORT_INLINE_MAX_ROWS rows)."""
        if queryset is None:
            queryset = self.get_queryset()
        dataset = tablib.Dataset(headers=self.export_headers(queryset))
        for rows in self.iter_export_chunks(queryset, force_native_type=bool(kwargs.get("force_native_type"))):
            dataset.extend(rows)
        return dataset

    def export_headers(self, queryset: QuerySet[Product] | None = None) -> list[str]:
        """The header of exporting ``queryset`` (None: the header of an export without variants)."""
        if self.with_variants is None:
            self.with_variants = queryset is not None and self.catalog_has_variants() and export_has_variants(queryset)
        return native_header(with_variants=self.with_variants)

    def export_row_count(self, queryset: QuerySet, *, limit: int | None = None) -> int:
        return export_row_count(queryset, limit=limit, variants=self.catalog_has_variants())

    def iter_export_chunks(self, queryset: QuerySet, *, force_native_type: bool = False) -> Iterator[list[list]]:
        """The rows of ``queryset`` in its order: its ids read in one pass, then each chunk's product
        rows as tuples (``store.exports.products``), never model instances: a fixed number of
        queries per chunk."""
        self.export_headers(queryset)
        fields = export_fields()
        for chunk in product_row_chunks(queryset, fields=fields, size=EXPORT_CHUNK_SIZE):
            items = export_items(chunk, queryset=queryset, fields=fields)
            yield self.export_rows(items, fields=fields, native=force_native_type)

    def export_rows(self, items: list[ExportItem], *, fields: tuple[str, ...], native: bool) -> list[list[Any]]:
        if self.without_rows is None:
            self.without_rows = export_columns_without_rows()
        return native_rows(
            items,
            fields=fields,
            native=native,
            with_variants=bool(self.with_variants),
            without_rows=self.without_rows,
        )


class ShopifyProductResource(ProductResource):
    """Shopify's product CSV layout (store.exports.shopify)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.with_variants = True  # one layout, with or without variants

    def export_headers(self, queryset: QuerySet[Product] | None = None) -> list[str]:
        return list(SHOPIFY_HEADER)

    def export_rows(self, items: list[ExportItem], *, fields: tuple[str, ...], native: bool) -> list[list[Any]]:
        return shopify_rows(items)


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
