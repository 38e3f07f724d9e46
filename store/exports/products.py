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

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from operator import itemgetter
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from MySQLdb.cursors import SSCursor

from store.fileformat.columns import BOTH, SHARED, UNIT, VARIANT, ProductColumn, product_columns, same_value
from store.models import OPTION_COUNT, Product
from store.sql import id_list, row_type

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
PARENT, VARIANT_ROW = Product.Structure.PARENT, Product.Structure.VARIANT


#: what every export reads of a product row besides its columns' values: which row is which
ROW_KEYS = ("id", "structure", "parent_id")
#: a product row as an export reads it: a named tuple of ``export_fields()`` (``row.id``,
#: ``row.sku``, ``row.collection__title``), never a model instance
ExportRow = Any


def export_fields() -> tuple[str, ...]:
    """What an export reads of each product: ``ROW_KEYS``, then each column's ``export_value``
    (the column table's order; a value read from a related row, such as the collection's title, joined)."""
    values = (column.export_value for column in product_columns() if column.field)
    return tuple(dict.fromkeys((*ROW_KEYS, *values)))


def row_maker(fields: tuple[str, ...]) -> Callable[[Iterable[Any]], ExportRow]:
    """Makes an export row of the values of ``fields``."""
    make: Callable[[Iterable[Any]], ExportRow] = row_type(fields)._make
    return make


def product_rows(ids: Iterable[int], *, fields: tuple[str, ...]) -> dict[int, ExportRow]:
    """The export rows of the products ``ids``, by id: one query."""
    make = row_maker(fields)
    rows = Product._base_manager.filter(pk__in=id_list(ids)).order_by().values_list(*fields)
    return {row[0]: make(row) for row in rows}


def product_row_chunks(queryset: QuerySet[Product], *, fields: tuple[str, ...], size: int) -> Iterator[list[ExportRow]]:
    """The export rows of ``queryset`` in its order, ``size`` at a time, in flat memory.

    On MariaDB outside a transaction (the CLI, a worker's job), one query streams them from a
    server-side cursor of a connection of its own: the default one stays free for each chunk's
    other reads, and the database reads the rows in one pass, as the ``mariadb`` client does,
    rather than by id a chunk at a time. Inside a transaction (another connection would not
    see its writes: tests) and on SQLite, the ids are read in one pass, then each chunk's rows
    by id (``product_rows``).
    """
    database = connections[queryset.db]
    if database.vendor == "mysql" and not database.in_atomic_block:
        yield from _streamed_rows(queryset.values_list(*fields), make=row_maker(fields), size=size)
        return
    ids = queryset.values_list("pk", flat=True).iterator(chunk_size=size)
    while chunk := list(islice(ids, size)):
        by_id = product_rows(chunk, fields=fields)
        yield [by_id[pk] for pk in chunk if pk in by_id]


#: how long the server waits on a streaming export's reader (between two chunks) before it gives up
STREAM_WRITE_TIMEOUT = 3600


def _streamed_rows(
    rows: QuerySet[Product], *, make: Callable[[Iterable[Any]], ExportRow], size: int
) -> Iterator[list[ExportRow]]:
    """The rows of the values query ``rows``, through a MySQLdb server-side cursor (``SSCursor``) of
    a new connection, with Django's converters of its columns (booleans), ``size`` at a time."""
    compiler = rows.query.get_compiler(using=rows.db)
    sql, params = compiler.as_sql()
    converters = compiler.get_converters([select[0] for select in compiler.select[: compiler.col_count]])
    database = connections[rows.db]
    stream = database.get_new_connection(database.get_connection_params())
    try:
        cursor = stream.cursor(SSCursor)
        cursor.execute(f"SET SESSION net_write_timeout = {STREAM_WRITE_TIMEOUT}")
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(size):
            values = compiler.apply_converters(batch, converters) if converters else batch
            yield list(map(make, values))
        cursor.close()
    finally:
        stream.close()


@dataclass(frozen=True)
class ExportItem:
    """A product and the variants exported under it (export rows: ``product_rows``).

    ``listed``: the product's own row is part of the export. False for a variant listed without
    its product (a list of variants): ``product`` is then only the one its rows name.
    """

    product: ExportRow
    variants: tuple[ExportRow, ...] = ()
    listed: bool = True


def export_items(
    products: Sequence[ExportRow], *, queryset: QuerySet[Product], fields: tuple[str, ...]
) -> list[ExportItem]:
    """The chunk ``products`` (export rows of ``queryset``, in its order: ``product_row_chunks``), each
    product with variants with its variants in the order they were made. A variant ``queryset``
    lists without its product is exported on its own (under its product's SKU); one whose product
    it lists too is exported once, under its product. Reads the rows set-wise: a fixed number of
    queries whatever the variants."""
    parent_ids = [row.id for row in products if row.structure == PARENT]
    variants: dict[int, list[ExportRow]] = {}
    if parent_ids:
        make = row_maker(fields)
        rows = (
            Product._base_manager.filter(parent_id__in=id_list(parent_ids))
            .order_by("parent_id", "pk")
            .values_list(*fields)
        )
        for row in map(make, rows):
            variants.setdefault(row.parent_id, []).append(row)
    own_parents = {row.parent_id for row in products if row.structure == VARIANT_ROW}
    listed_parents: set[int] = set()
    parents: dict[int, ExportRow] = {}
    if own_parents:
        listed_parents = set(queryset.filter(pk__in=id_list(own_parents)).order_by().values_list("pk", flat=True))
        if own_parents - listed_parents:
            parents = product_rows(own_parents - listed_parents, fields=fields)
    items: list[ExportItem] = []
    for row in products:
        if row.structure != VARIANT_ROW:
            items.append(ExportItem(row, tuple(variants.get(row.id, ()))))
        elif row.parent_id not in listed_parents:
            parent = parents[row.parent_id]  # a variant has a parent (CHECK constraint)
            previous = items[-1] if items else None
            if previous is not None and not previous.listed and previous.product.id == parent.id:
                items[-1] = ExportItem(parent, (*previous.variants, row), listed=False)
            else:
                items.append(ExportItem(parent, (row,), listed=False))
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


def _column_cells(
    column: ProductColumn, rows: list[ExportRow], *, native: bool, fields: tuple[str, ...], current: dict[int, Any]
) -> Sequence[Any]:
    """The cells of ``column`` in ``rows``, read column-wise so that the per-cell work is a built-in
    ``map`` where it can be: the column's own exporter of its value (skipped when it is the value
    itself), or, for a column with rows of its own, its ``render`` of the chunk's ``current`` value
    of the row's product (by id; rendered once a product, the empty value once a chunk)."""
    if column.field:
        values = list(map(itemgetter(fields.index(column.export_value)), rows))
        write = column.exporter(native=native)
        return values if write is same_value else list(map(write, values))
    render = column.render
    texts = {pk: render(value) for pk, value in current.items()}
    return list(map(texts.get, map(ROW_ID, rows), repeat(render(column.empty()))))


#: a row's product id (``ExportRow.id``, the first of ``ROW_KEYS``)
ROW_ID = itemgetter(0)


def native_rows(
    items: Sequence[ExportItem], *, fields: tuple[str, ...], native: bool = False, with_variants: bool = True
) -> list[list[Any]]:
    """The native rows of ``items`` (rows of ``fields``): a product's row, then its variants' rows;
    the columns of ``native_header(with_variants=…)`` (without them, an item with variants raises
    VariantsAppeared).

    ``native`` keeps numbers as numbers (XLSX). Columns with rows of their own (promotions,
    images, tags) are read for the chunk's products at once; a variant row leaves them blank.
    The cells are written column by column for the rows of each kind (``HOLDERS``), then put
    back in the items' order: a chunk without variants is one kind.
    """
    if not with_variants and any(
        item.variants or not item.listed or item.product.structure == PARENT for item in items
    ):
        raise VariantsAppeared(ERROR_VARIANTS_APPEARED)
    names = native_header(with_variants=with_variants)
    columns = [column for column in product_columns() if column.name in names]
    rows: list[ExportRow] = []
    for item in items:
        if item.listed:
            rows.append(item.product)
        rows.extend(item.variants)
    current: dict[str, dict[int, Any]] = {}
    holding: dict[str, list[int]] = {}  # the ids of the rows that hold a column of each holder
    for column in columns:
        if not column.field:
            if column.holder not in holding:
                holding[column.holder] = [row.id for row in rows if column.holder in HOLDERS[row.structure]]
            ids = holding[column.holder]
            current[column.name] = column.current(ids) if ids else {}
    kinds: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        kinds.setdefault(row.structure, []).append(position)
    out: list[list[Any]] = [[] for _ in rows]
    for structure, positions in kinds.items():
        of_kind = rows if len(positions) == len(rows) else [rows[position] for position in positions]
        holders = HOLDERS[structure]
        cells = [
            _column_cells(column, of_kind, native=native, fields=fields, current=current.get(column.name, {}))
            if column.holder in holders
            else repeat(BLANK, len(of_kind))
            for column in columns
        ]
        built = list(map(list, zip(*cells, strict=True)))
        if of_kind is rows:
            return built
        for position, row in zip(positions, built, strict=True):
            out[position] = row
    return out
