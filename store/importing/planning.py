"""Validate mapped rows and compare them with the catalog: the import plan.

Everything here reads; nothing writes. Existing products, collections and
promotions are loaded in chunks of ``CHUNK`` keys, so a 100k-row file costs a
few hundred queries, not one per row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.text import slugify

from store.models import Collection, Product, Promotion

from .hooks import ExtraColumn, extra_columns
from .presets import Preset

CHUNK = 1000
PRICE_CACHE = 100_000
MAX_INVENTORY = 2_147_483_647
MIN_PRICE = Decimal("1.00")
CENT = Decimal("0.01")
PRICE_MAX_INTEGER_DIGITS = 8  # DecimalField(max_digits=10, decimal_places=2)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

ERROR_REQUIRED = "required"
ERROR_REQUIRED_NEW = "required for a new product"
ERROR_TOO_LONG = "too long: {length} characters, at most {limit}"
ERROR_PRICE_NAN = "not a number"
ERROR_PRICE_MIN = "below the minimum price of 1.00"
ERROR_PRICE_DIGITS = "too many digits: at most 8 before the decimal point and 2 after"
ERROR_PRICE_DECIMAL_COMMA = (
    "looks like a decimal comma; prices use a decimal point (12.50), and a comma only between groups of "
    "three digits (1,234.50)"
)
ERROR_PRICE_EUROPEAN = (
    "written with a decimal comma (1.234,50), which is not this file's convention: prices use a decimal "
    "point, e.g. 1234.50 or 1,234.50"
)
ERROR_PRICE_GROUPING = "the thousands separator must separate groups of three digits"
ERROR_NUMBER_SPACES = "a space inside a number may only separate groups of three digits (1 000.50)"
ERROR_PRICE_MARKS_SWAPPED = "the decimal mark and the thousands separator are swapped for this file's convention"
ERROR_INVENTORY_INT = "not a whole number"
ERROR_INVENTORY_NEGATIVE = "negative inventory"
ERROR_INVENTORY_MAX = "too large: at most 2147483647"
ERROR_DUPLICATE_SKU = "SKU {sku!r} appears more than once in the file: rows {rows}"
ERROR_SLUG_INVALID = "not a valid slug (letters, digits, hyphens and underscores only)"
ERROR_SLUG_TAKEN = "slug already used by SKU {sku!r}"
ERROR_PROMOTION_INVALID = "promotions must be promotion ids separated by commas"
ERROR_PROMOTION_UNKNOWN = "unknown promotion id(s): {ids}"
ERROR_BAD_TEXT = "contains control characters"

_SLUG_STRIP = re.compile(r"[^\w\s-]")
_SLUG_HYPHENS = re.compile(r"[-\s]+")
PLAIN_PRICE_RE = re.compile(r"^\d{1,8}(\.\d{1,2})?$")
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
INT_RE = re.compile(r"^[+-]?\d+$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
LIMITS = {"sku": 64, "title": 255, "slug": 255, "collection": 255}

ProgressCallback = Callable[[str, int], None]


def _no_progress(_stage: str, _advance: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    value: str
    reason: str


_FIELD_GETTERS: dict[type, Callable] = {}


def _field_getter(cls: type) -> Callable:
    if cls not in _FIELD_GETTERS:
        _FIELD_GETTERS[cls] = attrgetter(*(item.name for item in fields(cls)))
    return _FIELD_GETTERS[cls]


@dataclass(slots=True)
class PlannedProduct:
    """A valid row, with the complete product to write."""

    row: int
    sku: str
    title: str
    slug: str
    description: str
    unit_price: Decimal
    inventory: int
    collection: str  # title; the collection may be created by the import
    promotions: tuple[int, ...] | None  # None: leave as is
    extras: dict[str, Any]

    def __reduce__(self):
        # Previews are pickled; positional tuples pickle ~3x faster than slotted state.
        return self.__class__, _field_getter(self.__class__)(self)


@dataclass(slots=True)
class NewProduct(PlannedProduct):
    """A row whose SKU is not in the catalog."""


@dataclass(slots=True)
class ProductUpdate(PlannedProduct):
    """A row that changes an existing product: its fields merged into the current values."""

    product_id: int = 0
    version: int = 0  # as read when planning; the UPDATE is conditional on it
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (old, new), for the preview


@dataclass
class ImportPlan:
    file_name: str
    preset: str
    header: list[str]
    columns: list[str]
    rows_total: int = 0
    creates: list[NewProduct] = field(default_factory=list)
    updates: list[ProductUpdate] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_collections: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # original cells of every row with an error, for the failed-rows file
    failed_cells: dict[int, list[str]] = field(default_factory=dict)
    # the saved ImportProfile that mapped the file (mapping.py), if any
    profile_id: int | None = None
    profile_name: str = ""

    @property
    def error_rows(self) -> int:
        return len({error.row for error in self.errors})

    def add_error(self, row: int, column: str, value: str, reason: str, cells: list[str] | None = None) -> None:
        """Record an error; without ``cells`` the row's cells are read again from the file at the end."""
        self.errors.append(RowError(row, column, value, reason))
        if self.failed_cells.get(row) is None:
            self.failed_cells[row] = cells


def unescape_formula(text: str) -> str:
    """Undo our export's formula guard: "'=SUM(1)" was exported from "=SUM(1)", "''=x" from "'=x"."""
    if text[:1] == "'" and text.lstrip("'")[:1] in FORMULA_PREFIXES:
        return text[1:]
    return text


@dataclass(frozen=True, slots=True)
class NumberConvention:
    """How a file writes numbers: its decimal mark and the mark between groups of three digits.

    Files use the point convention (``1,234.50``); a per-file or per-mapping setting
    can pass another one (``NumberConvention(decimal=",", thousands=".")``).
    """

    decimal: str = "."
    thousands: str = ","


POINT = NumberConvention()


SPACES_RE = re.compile(r"[\s\u00a0\u202f]+")


def _without_thousands_spaces(text: str, *, decimal_mark: str) -> str:
    """``text`` stripped, with spaces that separate groups of three digits removed.

    "1 000.50" (a space or no-break space between thousands) is fine; "1 5" is an error,
    never fifteen.
    """
    cleaned = SPACES_RE.sub(" ", text.strip())
    if " " not in cleaned:
        return cleaned
    integer, _, fraction = cleaned.partition(decimal_mark)
    if " " in fraction or _grouped(integer.lstrip("+-").strip(), " ") is None:
        raise ValidationError(ERROR_NUMBER_SPACES)
    return cleaned.replace(" ", "")


def _grouped(integer: str, mark: str) -> str | None:
    """ "1,234,567" -> "1234567" when every group after the first has exactly three digits."""
    groups = integer.split(mark)
    if not (1 <= len(groups[0]) <= 3 and groups[0].isdigit()):
        return None
    if not all(len(group) == 3 and group.isdigit() for group in groups[1:]):
        return None
    return "".join(groups)


def parse_price(text: str, *, convention: NumberConvention = POINT) -> Decimal:
    """A price in the file's convention; an ambiguous separator is refused, never guessed.

    Point convention: "1,000" -> 1000.00 and "1,234.50" -> 1234.50; "12,50" (a
    decimal comma) and "1,00,000" (not groups of three) are errors, as is
    "1.234,50" (the decimal-comma convention).
    """
    if convention is POINT and PLAIN_PRICE_RE.match(text):  # the common case, e.g. "19.99"
        value = Decimal(text)
        if value < MIN_PRICE:
            raise ValidationError(ERROR_PRICE_MIN)
        return value.quantize(CENT)
    cleaned = _without_thousands_spaces(text, decimal_mark=convention.decimal)
    decimal_mark, thousands = convention.decimal, convention.thousands
    if thousands and thousands in cleaned:
        integer, _, fraction = cleaned.partition(decimal_mark)
        sign = integer[:1] if integer[:1] in "+-" else ""
        digits = _grouped(integer[len(sign) :], thousands)
        if digits is None or thousands in fraction or decimal_mark in fraction:
            head, _, tail = cleaned.rpartition(thousands)
            swapped = thousands not in head and decimal_mark in head and tail.isdigit()
            if swapped and _grouped(head.lstrip("+-"), decimal_mark) is not None:
                raise ValidationError(ERROR_PRICE_EUROPEAN if convention is POINT else ERROR_PRICE_MARKS_SWAPPED)
            raise ValidationError(ERROR_PRICE_DECIMAL_COMMA if convention is POINT else ERROR_PRICE_GROUPING)
        cleaned = sign + digits + ("." + fraction if decimal_mark in cleaned else "")
    elif decimal_mark != ".":
        if "." in cleaned:
            raise ValidationError(ERROR_PRICE_MARKS_SWAPPED)
        cleaned = cleaned.replace(decimal_mark, ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(ERROR_PRICE_NAN)
    if not value.is_finite():
        raise ValidationError(ERROR_PRICE_NAN)
    sign, digits, exponent = value.normalize().as_tuple() if value else (0, (0,), 0)
    decimals = max(0, -exponent)
    integer_digits = max(0, len(digits) + exponent)
    if decimals > 2 or integer_digits > PRICE_MAX_INTEGER_DIGITS:
        raise ValidationError(ERROR_PRICE_DIGITS)
    if value < MIN_PRICE:
        raise ValidationError(ERROR_PRICE_MIN)
    return value.quantize(CENT)


def parse_inventory(text: str, *, convention: NumberConvention = POINT) -> int:
    cleaned = _without_thousands_spaces(text, decimal_mark=".")
    if convention is not POINT and convention.thousands.strip() and convention.thousands in cleaned:
        # "1.234" with a thousands point is 1234; "1.23" is refused, never 1 or 123
        grouped = _grouped(cleaned.lstrip("+-"), convention.thousands)
        if grouped is None:
            raise ValidationError(ERROR_PRICE_GROUPING)
        cleaned = cleaned[: len(cleaned) - len(cleaned.lstrip("+-"))] + grouped
    if not INT_RE.match(cleaned):
        # "12.0" from a spreadsheet is still a whole number
        if re.match(r"^[+-]?\d+\.0*$", cleaned):
            cleaned = cleaned.split(".")[0]
        else:
            raise ValidationError(ERROR_INVENTORY_INT)
    value = int(cleaned)
    if value < 0:
        raise ValidationError(ERROR_INVENTORY_NEGATIVE)
    if value > MAX_INVENTORY:
        raise ValidationError(ERROR_INVENTORY_MAX)
    return value


def parse_promotions(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in re.split(r"[,|;]", text) if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise ValidationError(ERROR_PROMOTION_INVALID)
    return tuple(sorted({int(part) for part in parts}))


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def select_in(model, columns: Sequence[str], key: str, values: Sequence, *, lock: bool = False) -> Iterator[tuple]:
    """``SELECT columns FROM model WHERE key IN (...)`` in chunks, as plain tuples.

    Raw SQL on purpose: building a 1000-value ``__in`` filter through the ORM
    costs ~10 ms of Python per query, which dominated a 100k-row plan.
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_sql = ", ".join(quote(column) for column in columns)
    suffix = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        for chunk in _chunks(list(values)):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT {column_sql} FROM {table} WHERE {quote(key)} IN ({placeholders}){suffix}", list(chunk)
            )
            yield from cursor.fetchall()


def as_money(value) -> Decimal:
    """Raw SQLite cursors return REAL prices as floats; MySQL returns Decimals."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal("0.01"))


def fast_slugify(value: str) -> str:
    """django.utils.text.slugify, minus the lazy-text wrapper and NFKD for plain ASCII titles."""
    if not value.isascii():
        return slugify(value)
    value = _SLUG_STRIP.sub("", value.lower())
    return _SLUG_HYPHENS.sub("-", value).strip("-_")


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


NO_EXTRAS: dict[str, Any] = {}  # shared by every row without extra columns; never mutated


def _fold(text: str) -> str:
    """``text.casefold()``, reusing ``text`` itself when folding changes nothing (most SKUs and slugs)."""
    folded = text.casefold()
    return text if folded == text else folded


@dataclass(slots=True)
class _Row:
    """A valid row's values; ``None`` means the column is absent (or, for numbers, blank): leave as is."""

    row: int
    sku: str
    title: str | None = None
    slug: str | None = None
    description: str | None = None
    collection: str | None = None
    unit_price: Decimal | None = None
    inventory: int | None = None
    promotions: tuple[int, ...] | None = None
    extras: dict[str, Any] = field(default_factory=lambda: NO_EXTRAS)


TEXT_FIELDS = ("sku", "title", "slug", "description", "collection")


def build_plan(
    preset: Preset, *, file_name: str, header: list[str], progress: ProgressCallback = _no_progress
) -> ImportPlan:
    """Validate every row, then diff the valid ones against the catalog in bulk.

    Memory: a row is held once, as a compact ``_Row`` (no raw cells, no dict), and
    released as soon as it is planned; the cells of failed rows are read again from
    the file at the end (``Preset.source``).
    """
    handlers: dict[str, ExtraColumn] = {
        handler.column: handler for handler in extra_columns() if handler.column in preset.source_columns
    }
    present = set(preset.source_columns) | set(handlers)
    plan = ImportPlan(file_name=file_name, preset=preset.name, header=header, columns=list(preset.source_columns))
    skus = _SkuBook()
    rows = _validate_rows(preset, plan, handlers, skus, progress)
    skus.report(plan, rows, column=preset.source_columns.get("sku", "sku"))
    del skus
    rows = [row for row in rows if row.row not in plan.failed_cells]
    _check_promotions(rows, plan)
    rows = [row for row in rows if row.row not in plan.failed_cells]
    _diff(rows, plan, present, handlers, progress)
    del rows
    _fill_failed_cells(plan, preset)
    plan.errors.sort(key=lambda error: (error.row, error.column))
    for handler in handlers.values():
        values = [row.extras[handler.column] for row in plan.creates if handler.column in row.extras]
        values += [row.extras[handler.column] for row in plan.updates if handler.column in row.extras]
        plan.notes.extend(handler.notes(values))
    if preset.ignored_columns:
        plan.notes.append("Ignored columns: " + ", ".join(preset.ignored_columns))
    return plan


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
    preset: Preset, plan: ImportPlan, handlers: dict[str, ExtraColumn], skus: _SkuBook, progress: ProgressCallback
) -> list[_Row]:
    """Per-row checks, no queries. ``skus`` sees every row's SKU, valid row or not."""
    source = preset.source_columns
    valid: list[_Row] = []
    collections: dict[str, str] = {}  # one string per collection title, not one per row
    prices: dict[str, Decimal] = {}  # one Decimal per distinct price text (up to PRICE_CACHE)
    convention = preset.convention or POINT
    done = 0
    for mapped in preset.rows:
        plan.rows_total += 1
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
        values: dict[str, Any] = {}
        for name in TEXT_FIELDS:
            if name not in raw:
                continue
            text = raw[name] if name == "description" else raw[name].strip()
            if text[:1] == "'":
                text = unescape_formula(text)
            limit = LIMITS.get(name)
            if limit and len(text) > limit:
                errors.append(
                    (source.get(name, name), raw[name][:80], ERROR_TOO_LONG.format(length=len(text), limit=limit))
                )
                continue
            if name != "description" and CONTROL_RE.search(text):
                errors.append((source.get(name, name), raw[name][:80], ERROR_BAD_TEXT))
                continue
            values[name] = text
        for name in ("sku", "title"):
            column = source.get(name, name)
            if name in values and not values[name] and not any(error[0] == column for error in errors):
                errors.append((column, "", ERROR_REQUIRED))
        if values.get("slug") and not SLUG_RE.match(values["slug"]):
            errors.append((source.get("slug", "slug"), raw["slug"][:80], ERROR_SLUG_INVALID))
        for name, parse in (
            ("unit_price", parse_price),
            ("inventory", parse_inventory),
            ("promotions", parse_promotions),
        ):
            if name not in raw or not raw[name].strip():
                continue
            try:
                if name == "unit_price":
                    values[name] = prices.get(raw[name]) or parse_price(raw[name], convention=convention)
                    if len(prices) < PRICE_CACHE:
                        prices.setdefault(raw[name], values[name])
                elif name == "inventory":
                    values[name] = parse_inventory(raw[name], convention=convention)
                else:
                    values[name] = parse(raw[name])
            except ValidationError as error:
                column = (
                    raw.get("_price_column", source.get(name, name)) if name == "unit_price" else source.get(name, name)
                )
                errors.append((column, raw[name][:80], error.messages[0]))
        if "promotions" in raw and not raw["promotions"].strip():
            values["promotions"] = ()
        extras: dict[str, Any] = {}
        for column, handler in handlers.items():
            try:
                extras[column] = handler.parse(raw.get(column, ""))
            except ValidationError as error:
                errors.append((source.get(column, column), raw.get(column, "")[:80], error.messages[0]))
        if values.get("sku"):
            skus.add(mapped.row, values["sku"], valid=not errors)
        if errors:
            for column, value, reason in errors:
                plan.add_error(mapped.row, column, value, reason, mapped.cells)
            continue
        if "collection" in values:
            values["collection"] = collections.setdefault(values["collection"], values["collection"])
        valid.append(_Row(row=mapped.row, extras=extras or NO_EXTRAS, **values))
    progress("validating", done % 5000)
    return valid


class _SkuBook:
    """Every row's SKU, folded, to report SKUs that appear more than once (no list of all rows).

    Only the first row of each SKU is remembered, by number; its spelling is kept
    for rows with errors and otherwise read from the valid rows when reporting.
    """

    def __init__(self):
        self._first: dict[str, int] = {}
        self._spelled: dict[int, str] = {}
        self._repeated: dict[str, list[tuple[int, str]]] = {}

    def add(self, row: int, sku: str, *, valid: bool) -> None:
        key = _fold(sku)
        first = self._first.setdefault(key, row)
        if first != row:
            self._repeated.setdefault(key, []).append((row, sku))
        elif not valid:
            self._spelled[row] = sku

    def report(self, plan: ImportPlan, valid: list[_Row], *, column: str) -> None:
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


def _check_promotions(rows: list[_Row], plan: ImportPlan) -> None:
    wanted = sorted({pid for row in rows for pid in row.promotions or ()})
    if not wanted:
        return
    known: set[int] = set()
    for chunk in _chunks(wanted):
        known.update(Promotion.objects.filter(id__in=chunk).values_list("id", flat=True))
    for row in rows:
        unknown = [str(pid) for pid in row.promotions or () if pid not in known]
        if unknown:
            plan.add_error(
                row.row, "promotions", ",".join(unknown), ERROR_PROMOTION_UNKNOWN.format(ids=", ".join(unknown))
            )


PRODUCT_COLUMNS = ("id", "sku", "title", "slug", "description", "unit_price", "inventory", "collection_id", "version")


def _load_existing(skus: list[str]) -> dict[str, tuple]:
    """Current products by SKU (casefolded: MySQL compares SKUs case-insensitively)."""
    existing: dict[str, tuple] = {}
    for values in select_in(Product, PRODUCT_COLUMNS, "sku", skus):
        values = (*values[:5], as_money(values[5]), *values[6:])
        existing[values[1].casefold()] = values
    return existing


def _load_collections(titles: Iterable[str]) -> tuple[dict[str, tuple[int, str]], dict[int, str]]:
    by_title: dict[str, tuple[int, str]] = {}
    by_id: dict[int, str] = {}
    title_list = sorted(set(titles))
    for chunk in _chunks(title_list):
        for pk, title in Collection.objects.filter(title__in=chunk).values_list("id", "title"):
            by_title[title.casefold()] = (pk, title)
            by_id[pk] = title
    return by_title, by_id


def _load_collection_titles(ids: Iterable[int], by_id: dict[int, str]) -> None:
    missing = sorted(set(ids) - set(by_id))
    for chunk in _chunks(missing):
        by_id.update(Collection.objects.filter(id__in=chunk).values_list("id", "title"))


def _current_promotions(product_ids: list[int]) -> dict[int, tuple[int, ...]]:
    through = Product.promotions.through
    current: dict[int, set[int]] = {}
    for chunk in _chunks(product_ids):
        for product_id, promotion_id in through.objects.filter(product_id__in=chunk).values_list(
            "product_id", "promotion_id"
        ):
            current.setdefault(product_id, set()).add(promotion_id)
    return {pid: tuple(sorted(ids)) for pid, ids in current.items()}


def _diff(
    rows: list[_Row], plan: ImportPlan, present: set[str], handlers: dict[str, ExtraColumn], progress: ProgressCallback
) -> None:
    """Plan each row against the catalog, ``CHUNK`` rows at a time; ``rows`` is emptied as it goes."""
    collection_titles = {row.collection for row in rows if row.collection}
    by_title, collection_by_id = _load_collections(collection_titles)
    del collection_titles
    slugs = _SlugBook()
    slugs.preload(row.slug for row in rows if row.slug)
    new_collections: dict[str, str] = {}
    total = len(rows)
    for start in range(0, total, CHUNK):
        chunk = rows[start : start + CHUNK]
        existing = _load_existing([row.sku for row in chunk])
        _load_collection_titles((values[7] for values in existing.values()), collection_by_id)
        slugs.add_existing(existing)
        existing_ids = [values[0] for values in existing.values()]
        promotions_now = _current_promotions(existing_ids) if "promotions" in present else {}
        extras_now = {column: handler.current(existing_ids) for column, handler in handlers.items()}
        for offset, row in enumerate(chunk):
            rows[start + offset] = None  # planned rows are held once, by the plan
            if row.collection:
                title_key = row.collection.casefold()
                if title_key not in by_title:
                    new_collections.setdefault(title_key, row.collection)
            current = existing.get(row.sku.casefold())
            if current is None:
                _plan_create(row, plan, slugs)
            else:
                _plan_update(
                    row, current, plan, slugs, by_title, collection_by_id, promotions_now, extras_now, handlers
                )
        del chunk
    used = {create.collection.casefold() for create in plan.creates}
    used |= {update.collection.casefold() for update in plan.updates}
    plan.new_collections = sorted((title for key, title in new_collections.items() if key in used), key=str.casefold)
    if plan.creates:
        slugs.assign([create for create in plan.creates if not create.slug])
    progress("comparing", total)


def _plan_create(row: _Row, plan: ImportPlan, slugs: _SlugBook) -> None:
    missing = [name for name in ("unit_price", "inventory", "collection") if getattr(row, name) in (None, "")]
    if missing:
        for name in missing:
            plan.add_error(row.row, name, "", ERROR_REQUIRED_NEW)
        return
    slug = row.slug or ""
    if slug:
        owner = slugs.owner(slug)
        if owner is not None:
            plan.add_error(row.row, "slug", slug, ERROR_SLUG_TAKEN.format(sku=owner))
            return
        slugs.claim(slug, row.sku)
    plan.creates.append(
        NewProduct(
            row=row.row,
            sku=row.sku,
            title=row.title,
            slug=slug,
            description=row.description or "",
            unit_price=row.unit_price,
            inventory=row.inventory,
            collection=row.collection,
            promotions=row.promotions,
            extras=row.extras,
        )
    )


def _plan_update(
    row: _Row,
    current: tuple,
    plan: ImportPlan,
    slugs: _SlugBook,
    by_title,
    collection_by_id,
    promotions_now,
    extras_now,
    handlers,
) -> None:
    pk, sku, title, slug, description, unit_price, inventory, collection_id, version = current
    changes: dict[str, tuple[str, str]] = {}
    new = {"title": title, "slug": slug, "description": description, "unit_price": unit_price, "inventory": inventory}
    for name in ("title", "description"):
        value = getattr(row, name)
        if value is not None and value != new[name]:
            changes[name] = (new[name], value)
            new[name] = value
    if row.slug and row.slug.casefold() != slug.casefold():
        owner = slugs.owner(row.slug)
        if owner is not None and owner.casefold() != sku.casefold():
            plan.add_error(row.row, "slug", row.slug, ERROR_SLUG_TAKEN.format(sku=owner))
            return
        slugs.claim(row.slug, sku)
        changes["slug"] = (slug, row.slug)
        new["slug"] = row.slug
    if row.unit_price is not None and row.unit_price != unit_price:
        changes["unit_price"] = (_money(unit_price), _money(row.unit_price))
        new["unit_price"] = row.unit_price
    if row.inventory is not None and row.inventory != inventory:
        changes["inventory"] = (str(inventory), str(row.inventory))
        new["inventory"] = row.inventory
    current_collection = collection_by_id.get(collection_id, "")
    collection = current_collection
    if row.collection:
        target = by_title.get(row.collection.casefold())
        if target is None or target[0] != collection_id:
            shown = row.collection if target is None else target[1]
            changes["collection"] = (current_collection, shown + (" (new)" if target is None else ""))
            collection = shown
    promotions = None
    if row.promotions is not None and row.promotions != promotions_now.get(pk, ()):
        promotions = row.promotions
        changes["promotions"] = (",".join(map(str, promotions_now.get(pk, ()))), ",".join(map(str, promotions)))
    extras: dict[str, Any] = {}
    for column, handler in handlers.items():
        old = extras_now[column].get(pk, handler.empty())
        value = row.extras[column]
        if value is None:  # a blank cell of a column that may be left out: keep the current value
            continue
        if value != old:
            extras[column] = value
            changes[column] = (handler.render(old), handler.render(value))
    if not changes:
        plan.unchanged += 1
        return
    plan.updates.append(
        ProductUpdate(
            row=row.row,
            product_id=pk,
            version=version,
            sku=sku,
            title=new["title"],
            slug=new["slug"],
            description=new["description"],
            unit_price=new["unit_price"],
            inventory=new["inventory"],
            collection=collection,
            promotions=promotions,
            extras=extras or NO_EXTRAS,
            changes=changes,
        )
    )


class _SlugBook:
    """Slugs in use: the catalog's (queried lazily, in chunks) plus those this file claims.

    One dict, folded slug -> owning SKU, or ``None`` for a slug looked up and found free.
    """

    def __init__(self):
        self._owners: dict[str, str | None] = {}

    def add_existing(self, existing: dict[str, tuple]) -> None:
        for values in existing.values():
            self._owners.setdefault(_fold(values[3]), values[1])

    def preload(self, slugs: Iterable[str]) -> None:
        self._load(slugs)

    def _load(self, slugs: Iterable[str]) -> None:
        wanted: list[str] = []
        for slug in slugs:
            key = _fold(slug)
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
        for slug, sku in select_in(Product, ("slug", "sku"), "slug", folded):
            self._owners[_fold(slug)] = sku

    def owner(self, slug: str) -> str | None:
        self._load([slug])
        return self._owners.get(_fold(slug))

    def taken(self, slug: str) -> bool:
        return self._owners.get(_fold(slug)) is not None

    def claim(self, slug: str, sku: str) -> None:
        self._owners[_fold(slug)] = sku

    def assign(self, creates: list[NewProduct]) -> None:
        """Unique slugs from titles for new products, checked against the catalog in bulk."""
        bases = {create.row: (fast_slugify(create.title)[:240] or "product") for create in creates}
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
                    create.slug = slug
                    self.claim(slug, create.sku)
            pending = still
