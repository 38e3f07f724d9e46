"""Validate mapped rows and compare them with the catalog: the import plan.

Everything here reads; nothing writes. Cells are parsed by the product columns
(``columns.product_columns()``); existing products, collections and related rows
are read in chunks of ``CHUNK`` keys (``reads``), so a 100k-row file costs a few
hundred queries, not one per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from django.core.exceptions import ValidationError

from store.fileformat.cells import (
    ERROR_BAD_TEXT,
    ERROR_INVENTORY_INT,
    ERROR_INVENTORY_MAX,
    ERROR_INVENTORY_NEGATIVE,
    ERROR_NUMBER_SPACES,
    ERROR_PRICE_DECIMAL_COMMA,
    ERROR_PRICE_DIGITS,
    ERROR_PRICE_EUROPEAN,
    ERROR_PRICE_GROUPING,
    ERROR_PRICE_MARKS_SWAPPED,
    ERROR_PRICE_MIN,
    ERROR_PRICE_NAN,
    ERROR_PROMOTION_INVALID,
    ERROR_REQUIRED,
    ERROR_REQUIRED_NEW,
    ERROR_SLUG_INVALID,
    ERROR_TOO_LONG,
    POINT,
    NumberConvention,
    fast_slugify,
    fold,
    parse_inventory,
    parse_price,
    parse_promotions,
    unescape_formula,
)
from store.fileformat.columns import ERROR_PROMOTION_UNKNOWN, ProductColumn, product_column, product_columns
from store.importing.modes import ERROR_NOT_IN_CATALOG, MODE_CREATE_ONLY, MODE_UPDATE_ONLY, SKIP_IN_CATALOG, ImportMode
from store.importing.plan import (
    ImportPlan,
    NewProduct,
    PlannedProduct,
    ProductUpdate,
    ProgressCallback,
    RowError,
    no_progress,
)
from store.importing.presets import Preset
from store.importing.variants import PARENT, STANDALONE, VARIANT_ROW, VariantRules, plan_variants
from store.models import OPTION_COUNT, Collection, Product
from store.sql import CHUNK, chunks, select_in

# Re-exported: callers and tests import these from planning (cells.py and plan.py own them).
__all__ = [
    "ERROR_BAD_TEXT",
    "ERROR_DUPLICATE_SKU",
    "ERROR_INVENTORY_INT",
    "ERROR_INVENTORY_MAX",
    "ERROR_INVENTORY_NEGATIVE",
    "ERROR_NUMBER_SPACES",
    "ERROR_PRICE_DECIMAL_COMMA",
    "ERROR_PRICE_DIGITS",
    "ERROR_PRICE_EUROPEAN",
    "ERROR_PRICE_GROUPING",
    "ERROR_PRICE_MARKS_SWAPPED",
    "ERROR_PRICE_MIN",
    "ERROR_PRICE_NAN",
    "ERROR_PROMOTION_INVALID",
    "ERROR_PROMOTION_UNKNOWN",
    "ERROR_REQUIRED",
    "ERROR_REQUIRED_NEW",
    "ERROR_SLUG_INVALID",
    "ERROR_SLUG_TAKEN",
    "ERROR_TOO_LONG",
    "POINT",
    "ImportPlan",
    "NewProduct",
    "NumberConvention",
    "PlannedProduct",
    "ProductUpdate",
    "ProgressCallback",
    "RowError",
    "build_plan",
    "fast_slugify",
    "no_progress",
    "parse_inventory",
    "parse_price",
    "parse_promotions",
    "unescape_formula",
]

ERROR_DUPLICATE_SKU = "SKU {sku!r} appears more than once in the file: rows {rows}"
ERROR_SLUG_TAKEN = "slug already used by SKU {sku!r}"

DEFAULT_MODE = ImportMode()

#: the product row's columns planning itself needs, besides those of the table
KEY_FIELDS = ("id", "sku", "version", "slug", "collection_id", "structure")


@dataclass(slots=True)
class ParsedRow:
    """A valid row: its SKU and values (``ImportPlan.fields`` order); ``None``: absent or blank, leave as is."""

    row: int
    sku: str
    values: tuple[Any, ...]


class _Table:
    """The columns of one plan, split by how they are stored; positions in ``ImportPlan.fields``."""

    def __init__(self, columns: Iterable[ProductColumn]) -> None:
        columns = [column for column in columns if column.name != "sku"]
        self.stored = [column for column in columns if column.field]  # on the product row
        self.related = [column for column in columns if not column.field]  # rows of their own
        self.columns = [*self.stored, *self.related]
        self.fields = tuple(column.name for column in self.columns)
        self.position = {name: index for index, name in enumerate(self.fields)}
        #: the product row as read, in ``stored`` order
        self.select = list(dict.fromkeys([*KEY_FIELDS, *(column.field or "" for column in self.stored)]))
        self.current_values: Callable[[Any], Any] = attrgetter(*(column.field or "" for column in self.stored))
        self.converters = [
            (index, column.from_db)
            for index, column in enumerate(self.stored)
            if type(column).from_db is not ProductColumn.from_db
        ]
        #: columns a new product needs: (position, name)
        self.required_new = [
            (self.position[column.name], column.name) for column in self.columns if column.required_new
        ]
        #: columns whose value is checked beside the row's others (compare-at above price): (position, column)
        self.row_checks = [
            (self.position[column.name], column)
            for column in self.stored
            if type(column).check_row is not ProductColumn.check_row
        ]
        self.slug_at, self.collection_at = self.position["slug"], self.position["collection"]
        self.product_at, self.title_at = self.position["product"], self.position["title"]
        self.no_related: tuple[None, ...] = (None,) * len(self.related)
        special = {"slug", "collection", "product"}
        self.compared = [
            (self.position[column.name], column.name, column.render)
            for column in self.stored
            if column.name not in special
        ]


def build_plan(
    preset: Preset,
    *,
    file_name: str,
    header: list[str],
    progress: ProgressCallback = no_progress,
    convention: NumberConvention = POINT,
    mode: ImportMode = DEFAULT_MODE,
) -> ImportPlan:
    """Validate every row, then diff the valid ones against the catalog in bulk.

    Memory: a row is held once, as a compact ``ParsedRow`` (no raw cells, no dict), and
    released as soon as it is planned; the cells of failed rows are read again from
    the file at the end (``Preset.source``).
    """
    convention = preset.convention or convention  # a mapped supplier file brings its own
    table = _Table(product_columns())
    plan = ImportPlan(
        file_name=file_name,
        preset=preset.name,
        header=header,
        columns=list(preset.source_columns),
        fields=table.fields,
        mode=mode.mode,
        keep_blank=mode.keep_blank,
        mode_source=mode.source,
    )
    rules = VariantRules(fields=table.fields, columns=table.columns, source=preset.source_columns)
    plan.variants = rules.in_file
    skus = _SkuBook()
    valid = _validate_rows(preset, plan, table, skus, progress, convention)
    skus.report(plan, valid, column=preset.source_columns.get("sku", "sku"))
    named = rules.named(valid) if rules.in_file else set()
    named_rows = skus.rows_of(named)
    del skus
    valid = [row for row in valid if row.row not in plan.failed_cells]
    _check_in_bulk(valid, plan, table)
    rows = [row for row in valid if row.row not in plan.failed_cells]
    del valid
    defaults = _new_product_defaults(preset, table, convention)
    sku_column = preset.source_columns.get("sku", "sku")
    _diff(rows, plan, table, progress, defaults, sku_column=sku_column, rules=rules, named=named)
    del rows
    if plan.variants or any(row.structure for row in plan.planned()):
        plan_variants(plan, rules, named_rows=named_rows, sku_column=sku_column)
    _fill_failed_cells(plan, preset)
    plan.errors.sort(key=lambda error: (error.row, error.column))
    plan.skipped.sort()
    for column in table.related:
        if type(column).notes is ProductColumn.notes:
            continue
        index = table.position[column.name]
        values = [row.values[index] for row in (*plan.creates, *plan.updates) if row.values[index] is not None]
        plan.notes.extend(column.notes(values))
    plan.notes.extend(ignored.note() for ignored in preset.ignored_values if ignored.rows)
    if preset.ignored_columns:
        plan.notes.append("Ignored columns: " + ", ".join(preset.ignored_columns))
    return plan


def _new_product_defaults(preset: Preset, table: _Table, convention: NumberConvention) -> dict[int, Any]:
    """The preset's values for blank cells of new products ({position: parsed value}), e.g. WooCommerce's
    "Uncategorized"; an existing product keeps its value."""
    return {
        table.position[name]: product_column(name).parser(convention=convention)(text)
        for name, text in preset.new_defaults.items()
    }


def _fill_failed_cells(plan: ImportPlan, preset: Preset) -> None:
    """The original cells of rows that failed after validation, read again from the file."""
    wanted = {row for row, cells in plan.failed_cells.items() if cells is None}
    if not wanted:
        return
    for number, cells in preset.source or ():
        if number in wanted:
            plan.failed_cells[number] = cells
    for number in wanted:
        if plan.failed_cells[number] is None:
            plan.failed_cells[number] = []


def _validate_rows(
    preset: Preset,
    plan: ImportPlan,
    table: _Table,
    skus: _SkuBook,
    progress: ProgressCallback,
    convention: NumberConvention,
) -> list[ParsedRow]:
    """Per-row checks, no queries. ``skus`` sees every row's SKU, valid row or not."""
    source = preset.source_columns
    parse_sku = product_column("sku").parser(convention=convention)
    sku_source = source.get("sku", "sku")
    # (position, name, source column, parse, text of a missing cell); a column that reads only its
    # header's cells and is not in this file is not parsed at all.
    parsers = [
        (
            table.position[column.name],
            column.name,
            source.get(column.name, column.name),
            column.parser(convention=convention),
            "" if column.header_only else None,
        )
        for column in table.columns
        if not column.header_only or column.name in source
    ]
    # The parsers of the columns a row has, by its columns: the others leave their value as it is.
    present_parsers: dict[tuple[str, ...], list[tuple[int, str, str, Callable[[str], Any], str | None]]] = {}
    width = len(table.fields)
    keep_blank = plan.keep_blank
    # A variant row's title may be blank: it is its option label ("Green / S").
    title_at = table.title_at if "product" in source else -1
    valid: list[ParsedRow] = []
    done = 0
    for mapped in preset.rows:
        plan.rows_total += not mapped.derived
        done += 1
        if done % 5000 == 0:
            progress("validating", 5000)
        if mapped.skip:
            plan.skipped.append((mapped.row, mapped.skip))
            continue
        if any(not column for column, _value, _reason in mapped.errors):
            # The cells do not line up with the header: report that, not each misread value.
            for column, value, reason in mapped.errors:
                plan.add_error(mapped.row, column, value, reason, mapped.cells)
            continue
        raw = mapped.values
        errors: list[tuple[str, str, str]] = list(mapped.errors)
        sku = ""
        sku_text = raw.get("sku")
        if sku_text is not None:
            try:
                sku = parse_sku(sku_text)
            except ValidationError as error:
                errors.append((sku_source, "" if error.code == "required" else sku_text[:80], error.messages[0]))
        values: list[Any] = [None] * width
        variant_row = title_at >= 0 and bool(raw.get("product", "").strip())
        keys = tuple(raw)
        present = present_parsers.get(keys)
        if present is None:  # the columns a row has are those of the file: worked out once
            present = present_parsers[keys] = [
                parser for parser in parsers if parser[1] in raw or parser[4] is not None
            ]
        for index, name, source_name, parse, missing in present:
            text = raw.get(name, missing)
            if text is None or (keep_blank and not text.strip()):
                continue  # absent, or blank and kept: the value stays as it is
            if variant_row and index == title_at and not text.strip():
                continue
            try:
                values[index] = parse(text)
            except ValidationError as error:
                errors.append((source_name, "" if error.code == "required" else text[:80], error.messages[0]))
        if sku:
            skus.add(mapped.row, sku, valid=not errors)
        if errors:
            for column, value, reason in errors:
                plan.add_error(mapped.row, column, value, reason, mapped.cells)
            continue
        valid.append(ParsedRow(mapped.row, sku, tuple(values)))
    progress("validating", done % 5000)
    return valid


class _SkuBook:
    """Every row's SKU, folded, to report SKUs that appear more than once (no list of all rows).

    Only the first row of each SKU is remembered, by number; its spelling is kept
    for rows with errors and otherwise read from the valid rows when reporting.
    """

    def __init__(self) -> None:
        self._first: dict[str, int] = {}
        self._spelled: dict[int, str] = {}
        self._repeated: dict[str, list[tuple[int, str]]] = {}

    def add(self, row: int, sku: str, *, valid: bool) -> None:
        key = fold(sku)
        first = self._first.setdefault(key, row)
        if first != row:
            self._repeated.setdefault(key, []).append((row, sku))
        elif not valid:
            self._spelled[row] = sku

    def rows_of(self, keys: Iterable[str]) -> dict[str, int]:
        """The first row of each of these folded SKUs that the file has."""
        return {key: self._first[key] for key in keys if key in self._first}

    def report(self, plan: ImportPlan, valid: list[ParsedRow], *, column: str) -> None:
        if not self._repeated:
            return
        firsts = {self._first[key] for key in self._repeated}
        spelled = {**{row.row: row.sku for row in valid if row.row in firsts}, **self._spelled}
        for key, later in self._repeated.items():
            first = self._first[key]
            same = [(first, spelled[first]), *later]
            numbers = ", ".join(str(row) for row, _sku in same)
            for row, sku in same:
                plan.add_error(row, column, sku, ERROR_DUPLICATE_SKU.format(sku=sku, rows=numbers))


def _check_in_bulk(rows: list[ParsedRow], plan: ImportPlan, table: _Table) -> None:
    """The columns' checks that need the database (promotions that exist), over all rows at once."""
    for column in table.columns:
        if type(column).check is ProductColumn.check:
            continue
        index = table.position[column.name]
        values = {row.row: row.values[index] for row in rows if row.values[index] is not None}
        for row, value, reason in column.check(values):
            plan.add_error(row, column.name, value, reason)


def _load_existing(skus: list[str], table: _Table) -> dict[str, Any]:
    """Current products by SKU (casefolded: MySQL compares SKUs case-insensitively), as named rows."""
    return {row.sku.casefold(): row for row in select_in(Product, table.select, "sku", skus)}


def _load_collections(titles: Iterable[str]) -> tuple[dict[str, tuple[int, str]], dict[int, str]]:
    by_title: dict[str, tuple[int, str]] = {}
    by_id: dict[int, str] = {}
    for chunk in chunks(sorted(set(titles))):
        for pk, title in Collection.objects.filter(title__in=chunk).values_list("id", "title"):
            by_title[title.casefold()] = (pk, title)
            by_id[pk] = title
    return by_title, by_id


def _load_collection_titles(ids: Iterable[int], by_id: dict[int, str]) -> None:
    for chunk in chunks(sorted({pk for pk in ids if pk is not None} - set(by_id))):  # a variant has no collection
        by_id.update(Collection.objects.filter(id__in=chunk).values_list("id", "title"))


class _Catalog:
    """What one chunk of rows is compared with: products, collections, slugs, related rows."""

    def __init__(self, rows: list[ParsedRow], table: _Table, defaults: dict[int, Any]) -> None:
        collection_at = table.position["collection"]
        titles = {row.values[collection_at] for row in rows if row.values[collection_at]}
        if defaults.get(collection_at):
            titles.add(defaults[collection_at])
        #: the preset's values for new products' blank cells (``_new_product_defaults``)
        self.defaults = defaults
        self.by_title, self.collection_by_id = _load_collections(titles)
        self.slugs = _SlugBook()
        slug_at = table.position["slug"]
        self.slugs.preload(row.values[slug_at] for row in rows if row.values[slug_at])
        self.new_collections: dict[str, str] = {}
        #: related columns some row gives a value for: (position, name, column, empty value)
        self.related = [
            (table.position[column.name], column.name, column, column.empty())
            for column in table.related
            if any(row.values[table.position[column.name]] is not None for row in rows)
        ]


def _diff(
    rows: list[ParsedRow],
    plan: ImportPlan,
    table: _Table,
    progress: ProgressCallback,
    defaults: dict[int, Any],
    *,
    sku_column: str,
    rules: VariantRules,
    named: set[str],
) -> None:
    """Plan each row against the catalog, ``CHUNK`` rows at a time; ``rows`` is emptied as it goes.

    The import mode decides what a SKU does: not in the catalog, it is created (an error when
    updating only); in it, the product is updated (skipped when creating only).
    """
    catalog = _Catalog(rows, table, defaults)
    update_only, create_only = plan.mode == MODE_UPDATE_ONLY, plan.mode == MODE_CREATE_ONLY
    held: list[ParsedRow | None] = list(rows)
    rows.clear()
    total = len(held)
    collection_at = table.position["collection"]
    for start in range(0, total, CHUNK):
        chunk = [row for row in held[start : start + CHUNK] if row is not None]
        existing = _load_existing([row.sku for row in chunk], table)
        _load_collection_titles((current.collection_id for current in existing.values()), catalog.collection_by_id)
        catalog.slugs.add_existing(existing.values())
        existing_ids = [current.id for current in existing.values()]
        related_now = [
            (index, name, column, column.current(existing_ids), empty) for index, name, column, empty in catalog.related
        ]
        parent_skus = _parent_skus(existing.values())
        for offset, row in enumerate(chunk):
            held[start + offset] = None  # planned rows are held once, by the plan
            current = existing.get(row.sku.casefold())
            if current is None and update_only:
                plan.add_error(row.row, sku_column, row.sku, ERROR_NOT_IN_CATALOG)
                continue
            if current is not None and create_only:
                plan.skipped.append((row.row, f"{row.sku}: {SKIP_IN_CATALOG}"))
                continue
            structure = ""
            parent_sku = parent_skus.get(current.parent_id, "") if current is not None else ""
            if plan.variants or (current is not None and current.structure != STANDALONE):
                structure, values, errors = rules.classify(row.values, row.sku, current, parent_sku, named)
                if errors:
                    for column, value, reason in errors:
                        plan.add_error(row.row, column, value, reason)
                    continue
                row = ParsedRow(row.row, row.sku, values)
            if current is None and catalog.defaults:
                row = _with_defaults(row, rules.defaults_for(structure, catalog.defaults))
            title = row.values[collection_at]
            if title:
                title_key = title.casefold()
                if title_key not in catalog.by_title:
                    catalog.new_collections.setdefault(title_key, title)
            if current is None:
                _plan_create(row, plan, table, catalog, structure=structure, rules=rules)
            else:
                _plan_update(
                    row, current, plan, table, catalog, related_now, structure=structure, parent_sku=parent_sku
                )
        del chunk
    used = {plan.value(create, "collection").casefold() for create in plan.creates if create.structure != VARIANT_ROW}
    used |= {(plan.value(update, "collection") or "").casefold() for update in plan.updates}
    plan.new_collections = sorted(
        (title for key, title in catalog.new_collections.items() if key in used), key=str.casefold
    )
    if plan.creates:
        slug_at = table.position["slug"]
        catalog.slugs.assign(
            [create for create in plan.creates if not create.values[slug_at] and create.structure != VARIANT_ROW], plan
        )
    progress("comparing", total)


def _parent_skus(existing: Iterable[Any]) -> dict[int, str]:
    """The SKUs of the products of the variants among these catalog rows (one query, only if any)."""
    ids = sorted({current.parent_id for current in existing if current.parent_id is not None})
    return {found.id: found.sku for found in select_in(Product, ("id", "sku"), "id", ids)} if ids else {}


def _with_defaults(row: ParsedRow, defaults: dict[int, Any]) -> ParsedRow:
    """A new product's row with the preset's values in its blank cells."""
    values = list(row.values)
    for index, value in defaults.items():
        if values[index] is None or values[index] == "":
            values[index] = value
    return ParsedRow(row.row, row.sku, tuple(values))


def _plan_create(
    row: ParsedRow, plan: ImportPlan, table: _Table, catalog: _Catalog, *, structure: str, rules: VariantRules
) -> None:
    values = row.values
    skipped = rules.required_skipped(structure) if structure else ()
    missing = [
        name
        for index, name in table.required_new
        if (values[index] is None or values[index] == "") and index not in skipped
    ]
    if missing:
        for name in missing:
            plan.add_error(row.row, name, "", ERROR_REQUIRED_NEW)
        return
    if structure in (PARENT, VARIANT_ROW):
        values = rules.shape_create(values, structure)
    if not _row_checks_pass(row.row, values, plan, table, given=values):
        return
    slug_at = table.position["slug"]
    slug = values[slug_at] or ""
    if slug:
        owner = catalog.slugs.owner(slug)
        if owner is not None:
            plan.add_error(row.row, "slug", slug, ERROR_SLUG_TAKEN.format(sku=owner))
            return
        catalog.slugs.claim(slug, row.sku)
    elif values[slug_at] is None and structure != VARIANT_ROW:
        values = (*values[:slug_at], "", *values[slug_at + 1 :])
    plan.creates.append(NewProduct(row=row.row, sku=row.sku, values=values, structure=structure))


def _plan_update(
    row: ParsedRow,
    current: Any,
    plan: ImportPlan,
    table: _Table,
    catalog: _Catalog,
    related_now: list[tuple[int, str, ProductColumn, dict[int, Any], Any]],
    *,
    structure: str,
    parent_sku: str,
) -> None:
    new = row.values
    merged: list[Any] = [*table.current_values(current), *table.no_related]
    for index, convert in table.converters:
        merged[index] = convert(merged[index])
    merged[table.product_at] = parent_sku
    changes: dict[str, tuple[str, str]] = {}
    if structure:
        _shape_update(new, merged, current, changes, table, structure)
    for index, name, render in table.compared:
        value = new[index]
        if value is not None and value != merged[index]:
            changes[name] = (render(merged[index]), render(value))
            merged[index] = value
    slug_at = table.slug_at
    slug, old_slug = new[slug_at], merged[slug_at]
    if slug and slug.casefold() != old_slug.casefold():
        owner = catalog.slugs.owner(slug)
        if owner is not None and owner.casefold() != current.sku.casefold():
            plan.add_error(row.row, "slug", slug, ERROR_SLUG_TAKEN.format(sku=owner))
            return
        catalog.slugs.claim(slug, current.sku)
        changes["slug"] = (old_slug, slug)
        merged[slug_at] = slug
    collection_at = table.collection_at
    current_collection = catalog.collection_by_id.get(current.collection_id, "")
    merged[collection_at] = current_collection
    title = new[collection_at]
    if title:
        target = catalog.by_title.get(title.casefold())
        if target is None or target[0] != current.collection_id:
            shown = title if target is None else target[1]
            changes["collection"] = (current_collection, shown + (" (new)" if target is None else ""))
            merged[collection_at] = shown
    for index, name, column, now, empty in related_now:
        value = new[index]
        if value is None:  # a blank cell of a column that may be left out: keep the current value
            continue
        old = now.get(current.id, empty)
        if value != old:
            changes[name] = (column.render(old), column.render(value))
            merged[index] = value
    if not changes:
        plan.unchanged += 1
        return
    if not _row_checks_pass(row.row, merged, plan, table, given=new):
        return
    plan.updates.append(
        ProductUpdate(
            row=row.row,
            sku=current.sku,
            values=tuple(merged),
            product_id=current.id,
            version=current.version,
            changes=changes,
            structure=structure,
        )
    )


def _shape_update(
    new: tuple[Any, ...],
    merged: list[Any],
    current: Any,
    changes: dict[str, tuple[str, str]],
    table: _Table,
    structure: str,
) -> None:
    """A product that gets options becomes one with variants (no stock of its own); a variant whose
    option values change while its title is their label gets the new label."""
    if structure == PARENT and current.structure == STANDALONE:
        changes["structure"] = (STANDALONE, PARENT)
        for name, value in (("inventory", 0), ("track_inventory", False)):
            at = table.position[name]
            if merged[at] != value:
                changes[name] = (table.columns[at].render(merged[at]), table.columns[at].render(value))
                merged[at] = value
    if structure == VARIANT_ROW and not new[table.title_at]:
        value_ats = [table.position[f"option{n}"] for n in range(1, OPTION_COUNT + 1)]
        old_label = " / ".join(merged[at] for at in value_ats if merged[at])
        label = " / ".join((new[at] if new[at] is not None else merged[at]) for at in value_ats)
        label = " / ".join(part for part in label.split(" / ") if part)
        if merged[table.title_at] == old_label and label != old_label:
            changes["title"] = (old_label, label)
            merged[table.title_at] = label


def _row_checks_pass(
    number: int, values: tuple[Any, ...] | list[Any], plan: ImportPlan, table: _Table, *, given: tuple[Any, ...]
) -> bool:
    """The columns' checks of one row as it will be written (``values``); a failure is the row's error,
    on the column the file gives (a compare-at price, or the price that no longer lies below it)."""
    if not table.row_checks:
        return True
    row = _RowValues(table.position, values)
    ok = True
    for index, column in table.row_checks:
        reason = column.check_row(values[index], row)
        if reason is None:
            continue
        named = column.name if given[index] is not None or given[table.position["unit_price"]] is None else "unit_price"
        plan.add_error(
            number, named, column.render(values[index]) if named == column.name else str(row["unit_price"]), reason
        )
        ok = False
    return ok


class _RowValues(Mapping[str, Any]):
    """A row's values by column name, read where they are (no dict built for each row checked)."""

    def __init__(self, position: dict[str, int], values: tuple[Any, ...] | list[Any]) -> None:
        self._position, self._values = position, values

    def __getitem__(self, name: str) -> Any:
        return self._values[self._position[name]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._position)

    def __len__(self) -> int:
        return len(self._position)


class _SlugBook:
    """Slugs in use: the catalog's (queried lazily, in chunks) plus those this file claims.

    One dict, folded slug -> owning SKU, or ``None`` for a slug looked up and found free.
    """

    def __init__(self) -> None:
        self._owners: dict[str, str | None] = {}

    def add_existing(self, existing: Iterable[Any]) -> None:
        for current in existing:
            if current.slug is not None:  # a variant has none
                self._owners.setdefault(fold(current.slug), current.sku)

    def preload(self, slugs: Iterable[str]) -> None:
        self._load(slugs)

    def _load(self, slugs: Iterable[str]) -> None:
        wanted: list[str] = []
        for slug in slugs:
            key = fold(slug)
            if key not in self._owners:
                self._owners[key] = None
                wanted.append(key)
            if len(wanted) >= CHUNK:
                self._query(wanted)
                wanted = []
        self._query(wanted)

    def _query(self, folded: list[str]) -> None:
        if not folded:
            return  # no cursor either: owner() runs once per row
        for found in select_in(Product, ("slug", "sku"), "slug", folded):
            self._owners[fold(found.slug)] = found.sku

    def owner(self, slug: str) -> str | None:
        self._load([slug])
        return self._owners.get(fold(slug))

    def taken(self, slug: str) -> bool:
        return self._owners.get(fold(slug)) is not None

    def claim(self, slug: str, sku: str) -> None:
        self._owners[fold(slug)] = sku

    def assign(self, creates: list[NewProduct], plan: ImportPlan) -> None:
        """Unique slugs from titles for new products, checked against the catalog in bulk."""
        slug_at, title_at = plan.position("slug"), plan.position("title")
        bases = {create.row: (fast_slugify(create.values[title_at])[:240] or "product") for create in creates}
        tried: dict[str, int] = {}
        pending = list(creates)
        while pending:
            candidates: dict[int, str] = {}
            for create in pending:
                base = bases[create.row]
                count = tried.get(base, 0)
                tried[base] = count + 1
                candidates[create.row] = base if count == 0 else f"{base}-{count + 1}"
            self._load(candidates.values())
            still: list[NewProduct] = []
            for create in pending:
                slug = candidates[create.row]
                if self.taken(slug):
                    still.append(create)
                else:
                    values = create.values
                    create.values = (*values[:slug_at], slug, *values[slug_at + 1 :])
                    self.claim(slug, create.sku)
            pending = still
