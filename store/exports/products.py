"""What a product export reads, chunk by chunk: each product, then its variants (decision 0017).

A product with variants exports as its own row (what its variants share) followed by one row per
variant (what each sells: SKU, price, stock, option values), in the order they were made. Each row
fills the columns its kind holds (``ProductColumn.holder`` in the column table, as the import reads
them) and leaves the others blank. The variant columns (``VARIANT_COLUMNS``) say which row is which:
a variant row names its product's SKU in ``product``; a product without variants leaves them blank,
and an export without products with variants leaves them out.

Set-based: a chunk of products costs a fixed number of queries whatever its variants (their
rows, their images, and the product of a variant listed on its own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from store.fileformat.columns import BOTH, SHARED, UNIT, VARIANT, ProductColumn, product_columns
from store.models import OPTION_COUNT, Product

#: the native columns of products with variants: a parent's option names; a variant's product (its
#: SKU), option values and image (``store.importing.variants.STRUCTURE_COLUMNS``); an export
#: without products with variants leaves them out
VARIANT_COLUMNS = (
    "product",
    *(f"option{n}_name" for n in range(1, OPTION_COUNT + 1)),
    *(f"option{n}" for n in range(1, OPTION_COUNT + 1)),
    "variant_image",
)
#: which rows fill a column of each ``ProductColumn.holder`` (the others leave it blank)
HOLDERS: dict[str, tuple[str, ...]] = {
    Product.Structure.STANDALONE: (SHARED, UNIT, BOTH),
    Product.Structure.PARENT: (SHARED, BOTH),
    Product.Structure.VARIANT: (UNIT, BOTH, VARIANT),
}
BLANK = ""


@dataclass(frozen=True)
class ExportItem:
    """A product and the variants exported under it.

    ``listed``: the product's own row is part of the export. False for a variant listed without
    its product (a list of variants): ``product`` is then only the one its rows name.
    """

    product: Product
    variants: tuple[Product, ...] = ()
    listed: bool = True


def export_items(products: Sequence[Product], *, queryset: QuerySet[Product]) -> list[ExportItem]:
    """The chunk's ``products`` (rows of ``queryset``, in its order), each product with variants
    with its variants in the order they were made. A variant ``queryset`` lists without its product
    is exported on its own (under its product's SKU); one whose product it lists too is exported
    once, under its product. A variant's own ``parent`` must be prefetched."""
    parent_ids = [product.pk for product in products if product.is_parent]
    variants: dict[int, list[Product]] = {}
    if parent_ids:
        rows = Product.objects.filter(parent_id__in=parent_ids).order_by("parent_id", "pk")
        for variant in rows:
            if variant.parent_id is not None:
                variants.setdefault(variant.parent_id, []).append(variant)
    own_parents = {product.parent_id for product in products if product.is_variant}
    listed_parents: set[int] = set()
    if own_parents:
        listed_parents = set(queryset.filter(pk__in=own_parents).values_list("pk", flat=True))
    items: list[ExportItem] = []
    for product in products:
        if not product.is_variant:
            items.append(ExportItem(product, tuple(variants.get(product.pk, ()))))
        elif product.parent_id not in listed_parents:
            parent = product.parent
            assert parent is not None  # a variant has a parent (CHECK constraint)
            previous = items[-1] if items else None
            if previous is not None and not previous.listed and previous.product.pk == parent.pk:
                items[-1] = ExportItem(parent, (*previous.variants, product), listed=False)
            else:
                items.append(ExportItem(parent, (product,), listed=False))
    return items


def catalog_has_variants() -> bool:
    """Whether any product has variants: answered from the ``parent`` index. Without, an export
    needs none of the reads of variants."""
    return Product.objects.filter(parent__isnull=False).exists()


def export_row_count(queryset: QuerySet[Product], *, limit: int | None = None, variants: bool = True) -> int:
    """How many rows exporting ``queryset`` writes: its products and (``variants``: the catalog has
    some) their variants; at most ``limit`` of each, to tell whether it exceeds ``limit``."""
    products = queryset.order_by()
    if not variants:
        return products.count() if limit is None else products[:limit].count()
    variants_of = Product.objects.filter(
        structure=Product.Structure.VARIANT,
        parent_id__in=products.filter(structure=Product.Structure.PARENT).values("pk"),
    ).order_by()
    if limit is None:
        return products.count() + variants_of.count()
    return products[:limit].count() + variants_of[:limit].count()


def export_has_variants(queryset: QuerySet[Product]) -> bool:
    """Whether exporting ``queryset`` writes a product with variants or a variant (the first such
    row answers; ask ``catalog_has_variants`` first)."""
    return queryset.filter(structure__in=(Product.Structure.PARENT, Product.Structure.VARIANT)).exists()


class VariantsAppeared(ValueError):
    """Rows of products with variants in an export whose header was written without the variant columns."""


ERROR_VARIANTS_APPEARED = (
    "a product got variants while the export was running, after its header was written without the "
    "variant columns; export again"
)


# --- The native format's rows ------------------------------------------------------------
def native_header(*, with_variants: bool = True) -> list[str]:
    """The native export's columns (the column table's order), without the variant columns unless
    ``with_variants``: an export without products with variants is what it was before variants."""
    return [column.name for column in product_columns() if with_variants or column.name not in VARIANT_COLUMNS]


Cell = Callable[[Product, dict[str, dict[int, Any]]], Any]


def _cell(column: ProductColumn, *, native: bool) -> Cell:
    if column.field:
        return lambda product, _current: column.export(product, native=native)
    name, empty = column.name, column.empty()
    return lambda product, current: column.render(current[name].get(product.pk, empty))


def _blank(product: Product, current: dict[str, dict[int, Any]]) -> Any:
    return BLANK


def native_rows(items: Sequence[ExportItem], *, native: bool = False, with_variants: bool = True) -> list[list[Any]]:
    """The native rows of ``items``: a product's row, then its variants' rows; the columns of
    ``native_header(with_variants=…)`` (without them, an item with variants raises VariantsAppeared).

    ``native`` keeps numbers as numbers (XLSX). Columns with rows of their own (promotions,
    images, tags) are read for the chunk's products at once; a variant row leaves them blank.
    """
    if not with_variants and any(item.variants or not item.listed or item.product.is_parent for item in items):
        raise VariantsAppeared(ERROR_VARIANTS_APPEARED)
    names = native_header(with_variants=with_variants)
    columns = {column.name: column for column in product_columns() if column.name in names}
    layouts = {
        structure: [_cell(column, native=native) if column.holder in holders else _blank for column in columns.values()]
        for structure, holders in HOLDERS.items()
    }
    rows: list[Product] = []
    for item in items:
        if item.listed:
            rows.append(item.product)
        for variant in item.variants:
            Product.parent.field.set_cached_value(variant, item.product)  # its ``product`` cell
            rows.append(variant)
    current: dict[str, dict[int, Any]] = {}
    for column in columns.values():
        if not column.field:
            ids = [row.pk for row in rows if column.holder in HOLDERS[row.structure]]
            current[column.name] = column.current(ids) if ids else {}
    return [[cell(row, current) for cell in layouts[row.structure]] for row in rows]
