"""What a product export reads, chunk by chunk: each product, then its variants (decision 0017).

A product with variants exports as its own row (what its variants share) followed by one row per
variant (what each sells: SKU, price, stock, option values), in the order they were made. The
native format's variant columns (``VARIANT_COLUMNS``) say which is which: a variant row names its
product's SKU in ``product``; a product without variants leaves them all blank.

Set-based: a chunk of products costs a fixed number of queries whatever its variants (their
rows, their images, and the product of a variant listed on its own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from store.fileformat.columns import CORE_COLUMNS, ProductColumn, image_storage_url, product_columns
from store.models import OPTION_COUNT, Product, ProductImage

OPTION_NAME_COLUMNS = tuple(f"option{n}_name" for n in range(1, OPTION_COUNT + 1))
OPTION_VALUE_COLUMNS = tuple(f"option{n}" for n in range(1, OPTION_COUNT + 1))
#: the native columns of products with variants: a parent's option names; a variant's product (its
#: SKU), option values and image (the URL of one of its product's images)
VARIANT_COLUMNS = ("product", *OPTION_NAME_COLUMNS, *OPTION_VALUE_COLUMNS, "variant_image")
#: what a variant row carries; its other columns are its product's (blank on the variant's row)
VARIANT_ROW_COLUMNS = frozenset(
    {
        "sku",
        "product",
        *OPTION_VALUE_COLUMNS,
        "unit_price",
        "inventory",
        "track_inventory",
        "barcode",
        "compare_at_price",
        "cost_per_item",
        "weight",
        "weight_unit",
        "variant_image",
    }
)
#: what a product with variants leaves blank: its variants' own (it is not sold itself)
PARENT_BLANK_COLUMNS = (VARIANT_ROW_COLUMNS - {"sku"}) - set(OPTION_NAME_COLUMNS)
#: what a product without variants leaves blank
STANDALONE_BLANK_COLUMNS = frozenset(VARIANT_COLUMNS)
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
        for variant in rows.prefetch_related("variant_image"):
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


def variant_image_url(image: ProductImage | None) -> str:
    """A variant's image as its product's images cell names it: its source URL, or its file's URL."""
    if image is None:
        return ""
    return image.source_url or image_storage_url(image.image.name)


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
    """The native export's columns: store's own, the variant columns (``with_variants``: an export
    without products with variants leaves them out, as before variants), then other apps' (tags)."""
    names = [column.name for column in product_columns()]
    missing = [name for name in VARIANT_COLUMNS if name not in names]
    names = [*names[: len(CORE_COLUMNS)], *missing, *names[len(CORE_COLUMNS) :]]
    return names if with_variants else [name for name in names if name not in VARIANT_COLUMNS]


Cell = Callable[[Product, Product | None, dict[str, dict[int, Any]]], Any]


def _variant_cell(name: str) -> Cell:
    if name == "product":
        return lambda product, parent, _current: parent.sku if parent is not None else ""
    if name == "variant_image":
        return lambda product, _parent, _current: variant_image_url(product.variant_image)
    return lambda product, _parent, _current: getattr(product, name)


def _column_cell(column: ProductColumn, *, native: bool) -> Cell:
    if column.field:
        return lambda product, _parent, _current: column.export(product, native=native)
    name, empty = column.name, column.empty()
    return lambda product, _parent, current: column.render(current[name].get(product.pk, empty))


def _blank(product: Product, parent: Product | None, current: dict[str, dict[int, Any]]) -> Any:
    return BLANK


def native_rows(items: Sequence[ExportItem], *, native: bool = False, with_variants: bool = True) -> list[list[Any]]:
    """The native rows of ``items``: a product's row, then its variants' rows; the columns of
    ``native_header(with_variants=…)`` (without them, an item with variants raises VariantsAppeared).

    ``native`` keeps numbers as numbers (XLSX). Columns with rows of their own (promotions,
    images, tags) are read for the chunk's products at once; a variant row leaves them blank.
    """
    if not with_variants and any(item.variants or not item.listed or item.product.is_parent for item in items):
        raise VariantsAppeared(ERROR_VARIANTS_APPEARED)
    columns = {column.name: column for column in product_columns()}
    cells: dict[str, Cell] = {}
    for name in native_header(with_variants=with_variants):
        column = columns.get(name)
        if name in VARIANT_COLUMNS or column is None:
            cells[name] = _variant_cell(name)
        else:
            cells[name] = _column_cell(column, native=native)
    layouts: dict[str, list[Cell]] = {
        kind: [_blank if name in blank else cell for name, cell in cells.items()]
        for kind, blank in (
            (Product.Structure.STANDALONE, STANDALONE_BLANK_COLUMNS),
            (Product.Structure.PARENT, PARENT_BLANK_COLUMNS),
            (Product.Structure.VARIANT, frozenset(cells) - VARIANT_ROW_COLUMNS),
        )
    }
    rows: list[tuple[Product, Product | None]] = []
    for item in items:
        if item.listed:
            rows.append((item.product, None))
        rows.extend((variant, item.product) for variant in item.variants)
    ids = [product.pk for product, parent in rows if parent is None]
    current = {
        name: column.current(ids)
        for name, column in columns.items()
        if not column.field and name not in VARIANT_COLUMNS and ids
    }
    return [[cell(product, parent, current) for cell in layouts[product.structure]] for product, parent in rows]
