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
from functools import partial
from itertools import islice, repeat
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from django.db import connections
from django.db.models import CharField, QuerySet, Value
from MySQLdb.constants import FIELD_TYPE
from MySQLdb.cursors import SSCursor

from store.fileformat.columns import (
    BLANK_NONE,
    BOTH,
    SHARED,
    UNIT,
    VARIANT,
    BlankOr,
    ProductColumn,
    product_columns,
    same_value,
    text_or_blank,
)
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
#: the field of the cells the database writes of a column with rows of its own
#: (``ProductColumn.export_text``): ``text_<name>``
TEXT = "text_"


def export_fields() -> tuple[str, ...]:
    """What an export reads of each product: ``ROW_KEYS``, then each column's ``export_value``
    (the column table's order; a value read from a related row, such as the collection's title,
    joined), then what it reads for the columns with rows of their own (``export_values``)."""
    values = [column.export_value for column in product_columns() if column.field]
    values += [TEXT + column.name for column in product_columns() if not column.field and column.export_text()]
    return tuple(dict.fromkeys((*ROW_KEYS, *values)))


def export_values(
    queryset: QuerySet[Product], *, fields: tuple[str, ...], streamed: bool = False
) -> QuerySet[Product, tuple[Any, ...]]:
    """``queryset.values_list(*fields)`` (``export_fields()``), each ``text_<name>`` annotated: its
    column's ``export_text()`` in a ``streamed`` read (MariaDB), else NULL (the cells are then read
    with ``current()``)."""
    annotations: dict[str, Any] = {}
    for column in product_columns():
        if not column.field and TEXT + column.name in fields:
            annotations[TEXT + column.name] = column.export_text() if streamed else Value(None, CharField())
    return (queryset.annotate(**annotations) if annotations else queryset).values_list(*fields)


def row_maker(fields: tuple[str, ...]) -> Callable[[Iterable[Any]], ExportRow]:
    """Makes an export row of the values of ``fields`` (a named tuple, built by ``tuple.__new__``: no
    Python call a row; the values are a query's row of ``fields``, as many as its names)."""
    return partial(tuple.__new__, row_type(fields))


def product_rows(ids: Iterable[int], *, fields: tuple[str, ...]) -> dict[int, ExportRow]:
    """The export rows of the products ``ids``, by id: one query."""
    make = row_maker(fields)
    rows = export_values(Product._base_manager.filter(pk__in=id_list(ids)).order_by(), fields=fields)
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
        rows = export_values(queryset, fields=fields, streamed=True)
        yield from _streamed_rows(rows, make=row_maker(fields), size=size)
        return
    ids = queryset.values_list("pk", flat=True).iterator(chunk_size=size)
    while chunk := list(islice(ids, size)):
        by_id = product_rows(chunk, fields=fields)
        yield [by_id[pk] for pk in chunk if pk in by_id]


#: how long the server waits on a streaming export's reader (between two chunks) before it gives up
STREAM_WRITE_TIMEOUT = 3600
#: ``GROUP_CONCAT``'s longest text on the streamed connection (``export_text``): MariaDB's greatest,
#: never a cut cell
STREAM_GROUP_CONCAT_MAX = 4294967295


def _streamed_rows(
    rows: QuerySet[Product, tuple[Any, ...]], *, make: Callable[[Iterable[Any]], ExportRow], size: int
) -> Iterator[list[ExportRow]]:
    """The rows of the values query ``rows``, through a MySQLdb server-side cursor (``SSCursor``) of
    a new connection, with Django's converters of its columns, ``size`` at a time.

    The driver reads a boolean (TINYINT) as a bool itself (``_TINY_BOOLEANS``), so Django's boolean
    converter, a Python call a row (about a second at 1M rows), is not applied."""
    compiler = rows.query.get_compiler(using=rows.db)
    sql, params = compiler.as_sql()
    database = connections[rows.db]
    converters: dict[int, tuple[list[Any], Any]] = {}
    selected = [select[0] for select in compiler.select[: compiler.col_count]]
    booleans = database.ops.convert_booleanfield_value  # type: ignore[attr-defined]  # MySQL's operations
    for position, (functions, expression) in compiler.get_converters(selected).items():
        kept = [function for function in functions if function != booleans]
        if kept:
            converters[position] = (kept, expression)
    params_of = database.get_connection_params()
    params_of["conv"] = {**params_of["conv"], FIELD_TYPE.TINY: _TINY_BOOLEANS.__getitem__}
    stream = database.get_new_connection(params_of)
    try:
        cursor = stream.cursor(SSCursor)
        cursor.execute(
            f"SET SESSION net_write_timeout = {STREAM_WRITE_TIMEOUT}, group_concat_max_len = {STREAM_GROUP_CONCAT_MAX}"
        )
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(size):
            values = compiler.apply_converters(batch, converters) if converters else batch
            yield list(map(make, values))
        cursor.close()
    finally:
        stream.close()


class _Booleans(dict[bytes, Any]):
    """A TINYINT's text as a bool, as Django's boolean converter makes it (0 and 1; another number as
    itself): a dict lookup, a built-in call a value."""

    def __missing__(self, key: bytes) -> int:
        return int(key)


_TINY_BOOLEANS = _Booleans({b"0": False, b"1": True})


class ExportItem(NamedTuple):
    """A product and the variants exported under it (export rows: ``product_rows``).

    ``listed``: the product's own row is part of the export. False for a variant listed without
    its product (a list of variants): ``product`` is then only the one its rows name.
    """

    product: ExportRow
    variants: tuple[ExportRow, ...] = ()
    listed: bool = True


#: the items of rows of products without variants, by built-ins (``export_items``)
_plain_item = partial(tuple.__new__, ExportItem)
#: a row's product id, structure (``ROW_KEYS``)
ROW_ID, ROW_STRUCTURE = itemgetter(0), itemgetter(1)


def export_items(
    products: Sequence[ExportRow], *, queryset: QuerySet[Product], fields: tuple[str, ...]
) -> list[ExportItem]:
    """The chunk ``products`` (export rows of ``queryset``, in its order: ``product_row_chunks``), each
    product with variants with its variants in the order they were made. A variant ``queryset``
    lists without its product is exported on its own (under its product's SKU); one whose product
    it lists too is exported once, under its product. Reads the rows set-wise: a fixed number of
    queries whatever the variants."""
    structures = set(map(ROW_STRUCTURE, products))
    if PARENT not in structures and VARIANT_ROW not in structures:
        return list(map(_plain_item, zip(products, repeat(()), repeat(True))))
    parent_ids = [row.id for row in products if row.structure == PARENT]
    variants: dict[int, list[ExportRow]] = {}
    if parent_ids:
        make = row_maker(fields)
        rows = export_values(
            Product._base_manager.filter(parent_id__in=id_list(parent_ids)).order_by("parent_id", "pk"), fields=fields
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
    column: ProductColumn,
    rows: list[ExportRow],
    *,
    native: bool,
    fields: tuple[str, ...],
    current: dict[int, Any],
    values_of: Callable[[str], Sequence[Any]],
) -> Sequence[Any]:
    """The cells of ``column`` in ``rows``, read column-wise so that the per-cell work is a built-in
    ``map`` where it can be: the column's own exporter of its value (skipped when it is the value
    itself, a lookup for ``text_or_blank``), or, for a column with rows of its own, the text the
    database wrote (``text_<name>``: ``export_values``), else its ``render`` of the chunk's
    ``current`` value of the row's product (by id; rendered once a product, the empty value once a
    chunk). ``values_of(field)``: the values of ``field`` in ``rows``."""
    if column.field:
        values = values_of(column.export_value)
        write = column.exporter(native=native)
        if write is same_value:
            return values
        if write is text_or_blank:
            return list(map(BLANK_NONE.get, values, values))
        if isinstance(write, BlankOr):
            blanks = values.count(None)
            if blanks == len(values):
                return [""] * blanks
            if not blanks:
                return values if write.text is same_value else list(map(write.text, values))
        return list(map(write, values))
    render = column.render
    texts = {pk: render(value) for pk, value in current.items()}
    cells = list(map(texts.get, values_of("id"), repeat(render(column.empty()))))
    if TEXT + column.name in fields:
        given = values_of(TEXT + column.name)
        if None not in given:
            return given
        return [cell if text is None else text for cell, text in zip(cells, given, strict=True)]
    return cells


def _current_ids(column: ProductColumn, rows: Sequence[ExportRow], *, fields: tuple[str, ...]) -> list[int]:
    """The products of ``rows`` whose ``current()`` of ``column`` an export reads: those whose cell
    the database did not write (``text_<name>``)."""
    if TEXT + column.name in fields:
        text = itemgetter(fields.index(TEXT + column.name))
        rows = [row for row in rows if text(row) is None]
    return list(map(ROW_ID, rows))


def export_columns_without_rows() -> frozenset[str]:
    """The columns with rows of their own of which no product has any (``ProductColumn.export_any``:
    a query each), asked once an export (at its first chunk): ``native_rows`` reads none of them."""
    return frozenset(column.name for column in product_columns() if not column.field and not column.export_any())


_PRODUCT, _VARIANTS, _LISTED = attrgetter("product"), attrgetter("variants"), attrgetter("listed")


def native_rows(
    items: Sequence[ExportItem],
    *,
    fields: tuple[str, ...],
    native: bool = False,
    with_variants: bool = True,
    without_rows: frozenset[str] = frozenset(),
) -> list[list[Any]]:
    """The native rows of ``items`` (rows of ``fields``): a product's row, then its variants' rows;
    the columns of ``native_header(with_variants=…)`` (without them, an item with variants raises
    VariantsAppeared).

    ``native`` keeps numbers as numbers (XLSX). Columns with rows of their own (promotions,
    images, tags) are read for the chunk's products at once, unless the database wrote their
    cells (``export_values``) or no product has any (``without_rows``:
    ``export_columns_without_rows()``); a variant row leaves them blank. The cells are written
    column by column for the rows of each kind (``HOLDERS``), then put back in the items' order:
    a chunk without variants is one kind.
    """
    plain = all(map(_LISTED, items)) and not any(map(_VARIANTS, items))
    rows: list[ExportRow] = list(map(_PRODUCT, items)) if plain else []
    if not plain:
        for item in items:
            if item.listed:
                rows.append(item.product)
            rows.extend(item.variants)
    structures = set(map(ROW_STRUCTURE, rows))
    if not with_variants and not (plain and PARENT not in structures):
        raise VariantsAppeared(ERROR_VARIANTS_APPEARED)
    names = native_header(with_variants=with_variants)
    columns = [column for column in product_columns() if column.name in names]
    only = next(iter(structures)) if len(structures) == 1 else None  # the kind of every row, if one
    current: dict[str, dict[int, Any]] = {}
    holding: dict[str, list[ExportRow]] = {}  # the rows that hold a column of each holder
    for column in columns:
        if not column.field and column.name not in without_rows:
            if column.holder not in holding:
                holding[column.holder] = (
                    (rows if column.holder in HOLDERS[only] else [])
                    if only is not None
                    else [row for row in rows if column.holder in HOLDERS[row.structure]]
                )
            ids = _current_ids(column, holding[column.holder], fields=fields)
            current[column.name] = column.current(ids) if ids else {}

    def cells_of(structure: str, of_kind: list[ExportRow]) -> list[list[Any]]:
        holders = HOLDERS[structure]
        by_field = list(zip(*of_kind, strict=True))  # the rows' values field by field, at once

        def values_of(field: str) -> Sequence[Any]:
            return by_field[fields.index(field)]

        cells = [
            _column_cells(
                column,
                of_kind,
                native=native,
                fields=fields,
                current=current.get(column.name, {}),
                values_of=values_of,
            )
            if column.holder in holders
            else repeat(BLANK, len(of_kind))
            for column in columns
        ]
        return list(map(list, zip(*cells, strict=True)))

    if not rows:
        return []
    if only is not None:
        return cells_of(only, rows)
    kinds: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        kinds.setdefault(row.structure, []).append(position)
    out: list[list[Any]] = [[] for _ in rows]
    for structure, positions in kinds.items():
        for position, row in zip(positions, cells_of(structure, [rows[p] for p in positions]), strict=True):
            out[position] = row
    return out
