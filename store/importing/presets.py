"""Map a parsed file onto the native product columns: native, WooCommerce, Shopify.

Each preset yields ``MappedRow``s: the native values of a source row, or the
reason it is deliberately skipped, or its errors (named by the source column).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from store.fileformat.columns import product_columns
from store.importing.parsing import ParsedFile
from store.models import OPTION_COUNT, Product
from store.sql import select_in
from store.validators import validate_gtin

if TYPE_CHECKING:
    from store.fileformat.cells import NumberConvention

# A native file needs only its identity; ``title`` is required of the rows that create products.
REQUIRED_COLUMNS = ("sku",)

PRESET_AUTO = "auto"
PRESET_NATIVE = "native"
PRESET_WOOCOMMERCE = "woocommerce"
PRESET_SHOPIFY = "shopify"
PRESET_CHOICES = [
    (PRESET_AUTO, "Detect from the header"),
    (PRESET_NATIVE, "Native (this store's export)"),
    (PRESET_WOOCOMMERCE, "WooCommerce product export"),
    (PRESET_SHOPIFY, "Shopify product export"),
]

ERROR_MISSING_COLUMNS = "Missing required column(s): {columns}."
ERROR_UNKNOWN_PRESET = "Unknown preset {preset!r}."
ERROR_UNDETECTED = (
    "The header matches no known format: a native file has a sku column and either a title column or only "
    "product column names ({names}); found: {found}."
)
ERROR_NO_PRICE = "no price: Regular price is blank (unit_price is the regular price; a Sale price is not imported)"
NOTE_IGNORED_VALUES = "{column} not imported on {count} row(s) ({rows}): {reason}"
WHY_SALE_PRICE = (
    "unit_price is the Regular price, never overwritten by a sale price (this store has no sale prices; "
    "a promotion gives a discount)"
)
ROWS_LISTED = 10
ERROR_NO_SKU = "no SKU: products are matched on SKU, so a row without one cannot be imported"
ERROR_NO_VARIANT_PRICE = "no price: Variant Price is blank"
ERROR_CELL_COUNT = (
    "row {row} has {cells} cells, the header has {columns}: the row is not imported rather than guessing "
    "which columns are missing or extra; check the delimiters and the quotes"
)

ERROR_WOO_ANY = (
    "blank: a variation for any {name} (one variant sold in every {name}) has no equivalent here; "
    "give it a value, one variation per {name}"
)
ERROR_WOO_GROUPED_PRICE = (
    "a grouped product has no price of its own, and none of the products it groups has one in this file"
)
SKIP_SHOPIFY_IMAGE_ROW = "image-only row: its image belongs to the product above it"
ERROR_WOO_PUBLISHED = "expected 1 (published), 0 (draft) or -1 (private)"
ERROR_WOO_IN_STOCK = "expected 1 (in stock), 0 (out of stock) or backorder"
# WooCommerce "In stock?" when "Stock" is blank (the shop does not manage the product's stock):
# (track_inventory, inventory). In stock, or on backorder: sold without counting; out of stock: 0 left.
WOO_UNMANAGED_STOCK = {"1": ("no", ""), "backorder": ("no", ""), "onbackorder": ("no", ""), "0": ("yes", "0")}
# WooCommerce "Published" -> status: private products are not sold either.
WOO_STATUS = {"1": "active", "0": "draft", "-1": "draft"}

# WooCommerce's own name for products without a category.
UNCATEGORIZED = "Uncategorized"
# What the shop presets give a new product for a blank cell; an existing product keeps its value.
NEW_PRODUCT_DEFAULTS = {"collection": UNCATEGORIZED, "inventory": "0"}


@dataclass(slots=True)
class MappedRow:
    row: int
    values: dict[str, str]
    cells: list[str]
    skip: str = ""
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (column, value, reason)
    #: a row the preset adds (a Shopify product with variants, from its Handle's first row): not a file row
    derived: bool = False


@dataclass
class IgnoredValues:
    """A source column whose filled cells are not imported, and why (the preview lists the rows)."""

    column: str
    reason: str
    rows: list[int] = field(default_factory=list)

    def note(self) -> str:
        shown = ", ".join(map(str, self.rows[:ROWS_LISTED])) + (" …" if len(self.rows) > ROWS_LISTED else "")
        return NOTE_IGNORED_VALUES.format(column=self.column, count=len(self.rows), rows=shown, reason=self.reason)


@dataclass
class Preset:
    name: str
    #: native field -> the source column that feeds it (to name it in errors)
    source_columns: dict[str, str]
    rows: Iterator[MappedRow]
    ignored_columns: list[str] = field(default_factory=list)
    #: the file's rows, read again for the cells of rows that fail late (duplicates, conflicts)
    source: Iterable[tuple[int, list[str]]] | None = None
    #: how the file writes numbers (None: the point convention); set by a column mapping (mapping.py)
    convention: NumberConvention | None = None
    #: the saved ImportProfile that mapped the file, if any, and the import mode it saved (modes.py)
    profile_id: int | None = None
    profile_name: str = ""
    profile_mode: str = ""
    profile_keep_blank: bool | None = None
    #: native column -> the value a new product gets for a blank cell (WooCommerce's "Uncategorized");
    #: an existing product keeps its value
    new_defaults: dict[str, str] = field(default_factory=dict)
    #: filled cells of source columns that are read but not imported (WooCommerce's Sale price),
    #: counted while the rows are read; the plan notes them
    ignored_values: list[IgnoredValues] = field(default_factory=list)


def _index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        index.setdefault(name.strip().lstrip("\ufeff").casefold(), position)
    return index


def native_names() -> list[str]:
    """The column names of the native format (store's own and registered ones)."""
    return [column.name for column in product_columns()]


def detect_preset(header: list[str]) -> str | None:
    """Shopify, WooCommerce, or native: ``sku`` and ``title`` (other columns ignored and listed), or
    ``sku`` and nothing but native column names (a stock or price feed: ``sku,unit_price,inventory``)."""
    names = set(_index(header)) - {""}
    if {"handle", "variant sku"} <= names:
        return PRESET_SHOPIFY
    if {"sku", "name", "regular price"} <= names:
        return PRESET_WOOCOMMERCE
    if {"sku", "title"} <= names or ("sku" in names and names <= set(native_names())):
        return PRESET_NATIVE
    return None


def map_rows(parsed: ParsedFile, *, preset: str = PRESET_AUTO) -> Preset:
    if preset == PRESET_AUTO:
        detected = detect_preset(parsed.header)
        if detected is None:
            shown = ", ".join(parsed.header[:12]) or "(nothing)"
            raise ValidationError(
                ERROR_UNDETECTED.format(names=", ".join(native_names()), found=shown), code="undetected"
            )
        preset = detected
    builders = {PRESET_NATIVE: _native, PRESET_WOOCOMMERCE: _woocommerce, PRESET_SHOPIFY: _shopify}
    if preset not in builders:
        raise ValidationError(ERROR_UNKNOWN_PRESET.format(preset=preset), code="preset")
    return builders[preset](parsed)


def _require(index: dict[str, int], columns: tuple[str, ...], shown: tuple[str, ...]) -> None:
    missing = [name for key, name in zip(columns, shown, strict=True) if key not in index]
    if missing:
        raise ValidationError(ERROR_MISSING_COLUMNS.format(columns=", ".join(missing)), code="missing_columns")


def cells_error(number: int, cells: list[str], width: int) -> list[tuple[str, str, str]]:
    """A row must have as many cells as the header: a short one would clear the missing columns."""
    if len(cells) != width:
        return [("", "", ERROR_CELL_COUNT.format(row=number, cells=len(cells), columns=width))]
    return []


# --- native -------------------------------------------------------------------
def _native(parsed: ParsedFile) -> Preset:
    index = _index(parsed.header)
    _require(index, REQUIRED_COLUMNS, REQUIRED_COLUMNS)
    known = native_names()
    positions = {name: index[name] for name in known if name in index}
    ignored = [name for name in parsed.header if name.strip().casefold() not in positions and name.strip()]
    width = len(parsed.header)

    def rows() -> Iterator[MappedRow]:
        for number, cells in parsed.rows:
            values = {name: (cells[pos] if pos < len(cells) else "") for name, pos in positions.items()}
            yield MappedRow(row=number, values=values, cells=cells, errors=cells_error(number, cells, width))

    return Preset(PRESET_NATIVE, {name: name for name in positions}, rows(), ignored, source=parsed.rows)


# --- WooCommerce ----------------------------------------------------------------
WOO_COLUMNS = {
    "sku": "SKU",
    "title": "Name",
    "description": "Description",
    "unit_price": "Regular price",
    "inventory": "Stock",
    "collection": "Categories",
    "tags": "Tags",
    "images": "Images",
    "status": "Published",
    "track_inventory": "In stock?",
    "barcode": "GTIN, UPC, EAN, or ISBN",  # WooCommerce 9.2 on
}
#: WooCommerce's weight column is named after the shop's unit ("Weight (kg)"): its units, as this store's
WOO_WEIGHT_UNITS = {"kg": "kg", "g": "g", "lbs": "lb", "oz": "oz"}
WOO_WEIGHT = re.compile(r"weight \((?P<unit>[a-z]+)\)")
WHY_PARENT_BARCODE = "a product with variants has no barcode of its own (its variations have theirs)"


# Columns the WooCommerce preset reads besides WOO_COLUMNS: the row's kind and its parent.
WOO_STRUCTURE = ("Type", "Parent", "ID", "Grouped products")
#: the "Attribute N name" / "Attribute N value(s)" columns read (a variable product's options)
WOO_ATTRIBUTES = 3


def ignored_columns(header: list[str], read: Iterable[str]) -> list[str]:
    """The header's columns a preset does not import (in file order), for the preview to list."""
    known = {name.casefold() for name in read}
    return [name for name in header if name.strip() and name.strip().casefold() not in known]


def woo_stock(stock: str, in_stock: str) -> tuple[str, str, bool]:
    """(track_inventory, inventory, valid) of a row's "Stock" and "In stock?" cells.

    A number in Stock: its stock is managed, that many left. A blank Stock: the shop does not
    manage it, and "In stock?" says whether it sells (1, backorder: not tracked here, sold
    whatever the count) or not (0: tracked, none left). Blank both: nothing said, nothing set.
    """
    if stock:
        return "yes", stock, True
    flag = in_stock.strip().casefold()
    if not flag:
        return "", "", True
    track, inventory = WOO_UNMANAGED_STOCK.get(flag, ("", ""))
    return track, inventory, flag in WOO_UNMANAGED_STOCK


def woo_collection(categories: str) -> str:
    """The deepest category path of a WooCommerce "Categories" cell, as a collection title.

    "Clothing, Clothing > Hoodies" -> "Clothing > Hoodies". Full paths keep
    "Clothing > Accessories" apart from "Electronics > Accessories".
    """
    paths = [part.replace("\\,", ",").strip() for part in categories.replace("\\,", "\x00").split(",")]
    paths = [" > ".join(p.strip() for p in path.replace("\x00", ",").split(">")) for path in paths if path]
    if not paths:
        return ""
    return max(paths, key=lambda path: path.count(">"))


def _woo_kinds(row: dict[str, str]) -> set[str]:
    return {kind.strip().casefold() for kind in row.get("type", "simple").split(",")}


def _woo_attributes(row: dict[str, str]) -> list[tuple[str, str]]:
    """(name, value(s)) of a row's "Attribute N name" / "Attribute N value(s)" columns, in order."""
    found = []
    for n in range(1, WOO_ATTRIBUTES + 1):
        name = row.get(f"attribute {n} name", "")
        if name:
            found.append((name, row.get(f"attribute {n} value(s)", "")))
    return found


@dataclass
class _WooFile:
    """What a WooCommerce file says across rows: parents' categories, variable products' options
    (the attributes their variations give values for) and images (theirs, then their variations')."""

    category: dict[str, str] = field(default_factory=dict)
    sku_of: dict[str, str] = field(default_factory=dict)  # "id:N" or SKU -> SKU
    price: dict[str, str] = field(default_factory=dict)  # SKU -> regular price
    options: dict[str, list[str]] = field(default_factory=dict)  # variable product's SKU -> option names
    images: dict[str, list[str]] = field(default_factory=dict)  # variable product's SKU -> image URLs
    weight: dict[str, str] = field(default_factory=dict)  # variable product's SKU -> its variations' default
    #: the weight column's name as the rows read it ("weight (kg)") and its unit here, or ""
    weight_column: str = ""
    weight_unit: str = ""

    def parent(self, row: dict[str, str]) -> str:
        reference = row.get("parent", "")
        return self.sku_of.get(reference, reference)


def _woo_images(cell: str) -> list[str]:
    return [url.strip() for url in cell.split(",") if url.strip()]


def woo_weight_column(header: list[str]) -> tuple[str, str] | None:
    """The header's "Weight (<unit>)" column and its unit here ("lbs": "lb"), if it has one."""
    for name in header:
        match = WOO_WEIGHT.fullmatch(name.strip().casefold())
        if match and match["unit"] in WOO_WEIGHT_UNITS:
            return name.strip(), WOO_WEIGHT_UNITS[match["unit"]]
    return None


def _woo_file(rows: Iterable[dict[str, str]], *, weight: tuple[str, str] | None) -> _WooFile:
    found = _WooFile()
    if weight is not None:
        found.weight_column, found.weight_unit = weight[0].casefold(), weight[1]
    variable: dict[str, list[str]] = {}
    used: dict[str, set[str]] = {}
    variation_images: dict[str, list[str]] = {}
    rows = list(rows)
    for row in rows:
        sku = row.get("sku", "")
        category = woo_collection(row.get("categories", ""))
        if sku:
            found.category[sku] = category
            found.sku_of[sku] = sku
            found.price[sku] = row.get("regular price", "")
        if row.get("id"):
            found.category[f"id:{row['id']}"] = category
            if sku:
                found.sku_of[f"id:{row['id']}"] = sku
        if "variable" in _woo_kinds(row) and sku:
            variable[sku] = [name for name, _values in _woo_attributes(row)]
            found.images[sku] = _woo_images(row.get("images", ""))
            found.weight[sku] = row.get(found.weight_column, "") if found.weight_column else ""
    for row in rows:
        if "variation" in _woo_kinds(row):
            parent = found.parent(row)
            used.setdefault(parent, set()).update(name.casefold() for name, value in _woo_attributes(row) if value)
            variation_images.setdefault(parent, []).extend(_woo_images(row.get("images", ""))[:1])
    for sku, names in variable.items():
        found.options[sku] = [name for name in names if name.casefold() in used.get(sku, set())]
        images = found.images[sku]
        found.images[sku] = images + [url for url in dict.fromkeys(variation_images.get(sku, [])) if url not in images]
    return found


def _woo_values(
    mapped: MappedRow,
    row: dict[str, str],
    columns: dict[str, str],
    woo: _WooFile,
    *,
    barcodes: IgnoredValues,
    parent_barcodes: IgnoredValues,
) -> None:
    """A row's native values (of the file's columns only) and its errors."""
    kinds = _woo_kinds(row)
    price = row.get("regular price", "")
    category = woo_collection(row.get("categories", ""))
    if not category and row.get("parent"):
        category = woo.category.get(row["parent"], "")
    track, inventory, known = woo_stock(row.get("stock", ""), row.get("in stock?", ""))
    if not known:
        mapped.errors.append(("In stock?", row.get("in stock?", "")[:80], ERROR_WOO_IN_STOCK))
    images = _woo_images(row.get("images", ""))
    status = WOO_STATUS.get(row.get("published", ""), "")
    if "grouped" in kinds:
        # a page of other products, not sold itself: a draft at the lowest price of the products it groups
        grouped = [
            woo.price.get(woo.sku_of.get(ref.strip(), ref.strip()), "")
            for ref in row.get("grouped products", "").split(",")
        ]
        prices = sorted(Decimal(text) for text in grouped if _is_number(text))
        price, status, track, inventory = (str(prices[0]) if prices else ""), "draft", "no", ""
    elif "external" in kinds:
        status, track, inventory = "draft", "no", ""  # sold on another site: not by this store
    barcode = row.get("gtin, upc, ean, or isbn", "")
    if barcode and ("variable" in kinds or not _gtin(barcode)):
        (parent_barcodes if "variable" in kinds else barcodes).rows.append(mapped.row)
        barcode = ""
    weight = row.get(woo.weight_column, "") if woo.weight_column else ""
    if not weight and "variation" in kinds:  # blank: "same as parent" in WooCommerce
        weight = woo.weight.get(woo.parent(row), "")
    values = {
        "sku": row.get("sku", ""),
        "title": row.get("name", ""),
        "description": row.get("description", ""),
        "unit_price": price,
        "inventory": inventory,
        "track_inventory": track,
        "collection": category,
        "tags": row.get("tags", ""),
        "images": "|".join(images),
        "status": status,
        "barcode": barcode,
        "weight": weight,
        "weight_unit": woo.weight_unit if weight else "",
    }
    if "variable" in kinds:
        sku = values["sku"]
        values.update(
            unit_price="",
            inventory="",
            track_inventory="",
            weight="",  # its variations' (each takes it unless it has its own)
            weight_unit="",
            images="|".join(woo.images.get(sku, images)),
        )
        for n, name in enumerate(woo.options.get(sku, []), start=1):
            values[f"option{n}_name"] = name
    elif "variation" in kinds:
        parent = woo.parent(row)
        names = woo.options.get(parent, [])
        given = {name.casefold(): value for name, value in _woo_attributes(row)}
        values.update(title="", description="", collection="", tags="", status="", images="", product=parent)
        values["variant_image"] = images[0] if images else ""
        for n, name in enumerate(names, start=1):
            values[f"option{n}"] = given.get(name.casefold(), "")
            if not values[f"option{n}"]:
                mapped.errors.append((f"Attribute {n} value(s)", "", ERROR_WOO_ANY.format(name=name)))
    # Only the file's columns: a column it does not have leaves the product's value alone.
    mapped.values = {name: value for name, value in values.items() if name in columns}
    published = row.get("published", "")
    if published and published not in WOO_STATUS:
        mapped.errors.append(("Published", published[:80], ERROR_WOO_PUBLISHED))
    if not mapped.values["sku"]:
        mapped.errors.append(("SKU", "", ERROR_NO_SKU))
    if "grouped" in kinds and not price:
        mapped.errors.append(("Grouped products", row.get("grouped products", "")[:80], ERROR_WOO_GROUPED_PRICE))
    elif not price and "variable" not in kinds and "grouped" not in kinds:
        mapped.errors.append(("Regular price", "", ERROR_NO_PRICE))


def _is_number(text: str) -> bool:
    try:
        return Decimal(text) >= 0
    except ArithmeticError:
        return False


def _woocommerce(parsed: ParsedFile) -> Preset:
    index = _index(parsed.header)
    _require(index, ("sku", "name", "regular price"), ("SKU", "Name", "Regular price"))
    width = len(parsed.header)
    sale_prices = IgnoredValues("Sale price", WHY_SALE_PRICE)
    barcodes = IgnoredValues(WOO_COLUMNS["barcode"], WHY_BARCODE)
    parent_barcodes = IgnoredValues(WOO_COLUMNS["barcode"], WHY_PARENT_BARCODE)

    def get(cells: list[str], name: str) -> str:
        pos = index.get(name)
        return cells[pos].strip() if pos is not None and pos < len(cells) else ""

    columns = {name: source for name, source in WOO_COLUMNS.items() if source.casefold() in index}
    if "inventory" not in columns and "in stock?" in index:
        columns["inventory"] = "In stock?"  # "0" without a Stock column: none left
    weight = woo_weight_column(parsed.header)
    if weight is not None:
        columns["weight"] = columns["weight_unit"] = weight[0]

    # Variations inherit their parent's category and weight; parents are referenced by SKU or "id:N".
    woo = _woo_file(({name: get(cells, name) for name in index} for _number, cells in parsed.rows), weight=weight)
    if woo.options or any(cells and "variation" in get(cells, "type").casefold() for _n, cells in parsed.rows):
        columns.update(product="Parent", variant_image="Images")
        for n in range(1, OPTION_COUNT + 1):
            columns[f"option{n}_name"] = f"Attribute {n} name"
            columns[f"option{n}"] = f"Attribute {n} value(s)"

    def rows() -> Iterator[MappedRow]:
        for number, cells in parsed.rows:
            row = {name: get(cells, name) for name in index}
            mapped = MappedRow(row=number, values={}, cells=cells, errors=cells_error(number, cells, width))
            if row.get("sale price"):
                sale_prices.rows.append(number)  # never the price: the preview lists these rows
            _woo_values(mapped, row, columns, woo, barcodes=barcodes, parent_barcodes=parent_barcodes)
            yield mapped

    attributes = [f"Attribute {n} {part}" for n in range(1, WOO_ATTRIBUTES + 1) for part in ("name", "value(s)")]
    return Preset(
        PRESET_WOOCOMMERCE,
        columns,
        rows(),
        ignored_columns(
            parsed.header, [*WOO_COLUMNS.values(), *WOO_STRUCTURE, *attributes, *(weight[:1] if weight else ())]
        ),
        source=parsed.rows,
        new_defaults=NEW_PRODUCT_DEFAULTS,
        ignored_values=[sale_prices, barcodes, parent_barcodes],
    )


# --- Shopify --------------------------------------------------------------------
SHOPIFY_COLUMNS = {
    "sku": "Variant SKU",
    "title": "Title",
    "description": "Body (HTML)",
    "unit_price": "Variant Price",
    "inventory": "Variant Inventory Qty",
    "collection": "Type",
    "tags": "Tags",
    "images": "Image Src",
    "status": "Status",
    "track_inventory": "Variant Inventory Tracker",
    "vendor": "Vendor",
    "barcode": "Variant Barcode",
    "compare_at_price": "Variant Compare At Price",
    "cost_per_item": "Cost per item",
    "weight": "Variant Grams",
    "weight_unit": "Variant Weight Unit",
    "seo_title": "SEO Title",
    "seo_description": "SEO Description",
}
# Columns the Shopify preset reads besides SHOPIFY_COLUMNS: the grouping key, the options, and the
# images' order, alt texts and the variant's own image.
SHOPIFY_STRUCTURE = (
    "Handle",
    *(f"Option{n} {part}" for n in range(1, OPTION_COUNT + 1) for part in ("Name", "Value")),
    "Image Position",
    "Image Alt Text",
    "Variant Image",
)
#: the option of a Shopify product without variants
SHOPIFY_DEFAULT = ("title", "default title")
#: a product with variants of a Shopify file: its SKU when it is not in the catalog yet
SHOPIFY_PARENT_SKU = "{handle}"
WHY_BARCODE = "not a GTIN (EAN, UPC) with a valid check digit; this store keeps only GTIN barcodes"
WHY_COMPARE_AT = "not above the price: Shopify shows no reduction then, and neither does this store"
GRAMS_PER_UNIT = {"g": Decimal(1), "kg": Decimal(1000), "lb": Decimal("453.59237"), "oz": Decimal("28.349523125")}


def _shopify_weight(grams: str, unit: str) -> tuple[str, str]:
    """(weight, unit) of "Variant Grams" (always grams) in the "Variant Weight Unit" the shop shows."""
    unit = unit.strip().casefold()
    if not grams or unit not in GRAMS_PER_UNIT:
        return grams, "g" if grams else ""
    try:
        value = Decimal(grams) / GRAMS_PER_UNIT[unit]
    except ArithmeticError:
        return grams, "g"  # not a number: the weight column reports it
    return f"{value.quantize(Decimal('0.001'))}", unit


def _gtin(text: str) -> bool:
    try:
        validate_gtin(text.replace(" ", ""))
    except ValidationError:
        return False
    return True


def _more(first: str, second: str) -> bool:
    try:
        return Decimal(first) > Decimal(second)
    except ArithmeticError:
        return True  # not numbers: the price columns report them


def _shopify_parents(handles: list[str], skus: set[str]) -> dict[str, str]:
    """The SKU of each Handle with options: its product's in the catalog (matched on the slug, which is
    the Handle), or a new SKU from the Handle, unique in the file and in the catalog."""
    found = {
        row.slug.casefold(): row.sku
        for row in select_in(Product, ("slug", "sku", "structure"), "slug", handles)
        if row.structure == Product.Structure.PARENT
    }
    wanted = {handle: handle[:64] for handle in handles if handle.casefold() not in found}
    taken = {row.sku.casefold() for row in select_in(Product, ("sku",), "sku", list(wanted.values()))}
    taken |= skus
    parents = {handle: found[handle.casefold()] for handle in handles if handle.casefold() in found}
    for handle, sku in wanted.items():
        n = 1
        while sku.casefold() in taken:
            n += 1
            sku = f"{handle[:58]}-P{n}"
        taken.add(sku.casefold())
        parents[handle] = sku
    return parents


def _shopify_images(group: list[tuple[int, list[str], dict[str, str]]]) -> list[str]:
    """The Handle's images in Image Position order, as "URL<tab>alt" items, then variant images
    not among them: each stored once, on the product."""
    images = []
    for order, (_number, _cells, row) in enumerate(group):
        if row.get("image src"):
            position = row.get("image position", "")
            key = int(position) if position.isdigit() else 1_000_000 + order
            images.append((key, order, row["image src"], row.get("image alt text", "")))
    urls = [url for _key, _order, url, _alt in images]
    own = [row["variant image"] for _n, _c, row in group if row.get("variant image")]
    extra = [url for url in dict.fromkeys(own) if url not in urls]
    return [f"{url}\t{alt}" if alt else url for _key, _order, url, alt in sorted(images)] + extra


def _shopify_unit(
    number: int, row: dict[str, str], *, barcodes: IgnoredValues, compare_at: IgnoredValues
) -> dict[str, str]:
    """A sellable unit's cells (a variant, or a product without variants)."""
    barcode = row.get("variant barcode", "")
    if barcode and not _gtin(barcode):
        barcodes.rows.append(number)
        barcode = ""
    price, was = row.get("variant price", ""), row.get("variant compare at price", "")
    if was and price and not _more(was, price):
        compare_at.rows.append(number)
        was = ""
    weight, unit = _shopify_weight(row.get("variant grams", ""), row.get("variant weight unit", ""))
    return {
        "sku": row.get("variant sku", ""),
        "unit_price": price,
        "inventory": row.get("variant inventory qty", ""),
        # "shopify" (or a fulfilment service) counts the variant's stock; blank: not tracked
        "track_inventory": "yes" if row.get("variant inventory tracker") else "no",
        "barcode": barcode,
        "compare_at_price": was,
        "cost_per_item": row.get("cost per item", ""),
        "weight": weight,
        "weight_unit": unit,
    }


def _shopify_handles(
    rows: Iterable[tuple[int, list[str]]], get: Callable[[list[str], str], str]
) -> tuple[dict[str, None], set[str]]:
    """A first pass: the Handles with real options (not Shopify's "Title: Default Title"), and every SKU."""
    with_options: dict[str, None] = {}
    skus: set[str] = set()
    for _number, cells in rows:
        name, value = get(cells, "option1 name"), get(cells, "option1 value")
        if name and (name.casefold(), value.casefold()) != SHOPIFY_DEFAULT:
            with_options.setdefault(get(cells, "handle"), None)
        if get(cells, "variant sku"):
            skus.add(get(cells, "variant sku").casefold())
    return with_options, skus


def _shopify(parsed: ParsedFile) -> Preset:
    index = _index(parsed.header)
    _require(
        index, ("handle", "title", "variant sku", "variant price"), ("Handle", "Title", "Variant SKU", "Variant Price")
    )
    width = len(parsed.header)
    columns = {name: source for name, source in SHOPIFY_COLUMNS.items() if source.casefold() in index}
    if "images" not in columns and "variant image" in index:
        columns["images"] = "Variant Image"
    barcodes = IgnoredValues("Variant Barcode", WHY_BARCODE)
    compare_at = IgnoredValues("Variant Compare At Price", WHY_COMPARE_AT)

    def get(cells: list[str], name: str) -> str:
        pos = index.get(name)
        return cells[pos].strip() if pos is not None and pos < len(cells) else ""

    with_options, skus = _shopify_handles(parsed.rows, get)
    parents = _shopify_parents(list(with_options), skus) if with_options else {}
    if parents:
        columns.update(product="Handle", slug="Handle", variant_image="Variant Image")
        for n in range(1, OPTION_COUNT + 1):
            columns[f"option{n}_name"] = f"Option{n} Name"
            columns[f"option{n}"] = f"Option{n} Value"

    def checked(mapped: MappedRow, values: dict[str, str]) -> MappedRow:
        # Only the file's columns: a column it does not have leaves the product's value alone.
        mapped.values = {name: value for name, value in values.items() if name in columns}
        if not mapped.values.get("sku"):
            mapped.errors.append(("Variant SKU", "", ERROR_NO_SKU))
        if "unit_price" in values and not values["unit_price"]:
            mapped.errors.append(("Variant Price", "", ERROR_NO_VARIANT_PRICE))
        return mapped

    def mapped_group(group: list[tuple[int, list[str], dict[str, str]]]) -> Iterator[MappedRow]:
        first = group[0][2]
        handle = first.get("handle", "")
        images = "|".join(_shopify_images(group))
        product = {
            "title": first.get("title", "") or handle,
            "description": first.get("body (html)", ""),
            "collection": first.get("type", ""),
            "tags": first.get("tags", ""),
            "status": first.get("status", ""),
            "images": images,
            "vendor": first.get("vendor", ""),
            "seo_title": first.get("seo title", ""),
            "seo_description": first.get("seo description", ""),
        }
        parent = parents.get(handle)
        if parent is not None:
            names = {f"option{n}_name": first.get(f"option{n} name", "") for n in range(1, OPTION_COUNT + 1)}
            yield checked(
                MappedRow(row=group[0][0], values={}, cells=group[0][1], derived=True),
                {"sku": parent, "slug": handle, **product, **names},
            )
        for number, cells, row in group:
            mapped = MappedRow(row=number, values={}, cells=cells, errors=cells_error(number, cells, width))
            variant_fields = ("variant sku", "variant price", "variant inventory qty", "option1 value")
            if not any(row.get(name) for name in variant_fields):
                mapped.skip = SKIP_SHOPIFY_IMAGE_ROW
                yield mapped
                continue
            values = _shopify_unit(number, row, barcodes=barcodes, compare_at=compare_at)
            if parent is None:
                yield checked(mapped, {**product, **values})
                continue
            options = {f"option{n}": row.get(f"option{n} value", "") for n in range(1, OPTION_COUNT + 1)}
            yield checked(
                mapped, {**values, **options, "product": parent, "variant_image": row.get("variant image", "")}
            )

    def rows() -> Iterator[MappedRow]:
        # The first row of a Handle carries the product; later rows only a variant, or only an image
        # (image-only rows). A Handle's rows are read as a group: its images are the product's.
        group: list[tuple[int, list[str], dict[str, str]]] = []
        for number, cells in parsed.rows:
            row = {name: get(cells, name) for name in index}
            if group and row.get("handle", "") != group[0][2].get("handle", ""):
                yield from mapped_group(group)
                group = []
            group.append((number, cells, row))
        if group:
            yield from mapped_group(group)

    return Preset(
        PRESET_SHOPIFY,
        columns,
        rows(),
        ignored_columns(parsed.header, [*SHOPIFY_COLUMNS.values(), *SHOPIFY_STRUCTURE]),
        source=parsed.rows,
        new_defaults=NEW_PRODUCT_DEFAULTS,
        ignored_values=[barcodes, compare_at],
    )
