"""The product columns of the native import/export format: each declared once, here.

A ``ProductColumn`` says how its cell is parsed and validated, whether a new product
needs it, how its current value is read in bulk, how it is written, exported and
shown in the preview. Import (planning, writing), export (``store.resources``) and
the preview (``store.admin.imports``) loop over ``product_columns()``.

Two kinds, one interface:

- columns stored on the product row (``field`` set: title, unit_price, status...):
  read with the product in planning's bulk SELECT and written by its INSERT/UPDATE;
- columns with rows of their own (``field`` is ``None``: promotions, images, and
  other apps' columns such as store_custom's ``tags``): ``current()`` reads them in
  bulk and ``write()`` replaces them, inside the import transaction.

Other apps add a column with ``register_column(column)`` in their ``AppConfig.ready``.

To add a product field to import, export and preview: declare its column in
``CORE_COLUMNS`` (a ``TextColumn`` for a ``CharField``).
"""

from __future__ import annotations

import contextvars
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import CharField, F, Field, Func, OuterRef, Subquery, Value
from django.db.models.expressions import BaseExpression
from django.db.models.functions import Coalesce
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.translation import get_language

from store.fileformat.cells import (
    POINT,
    NumberConvention,
    money,
    parse_amount,
    parse_inventory,
    parse_price,
    parse_promotions,
    parse_text,
    parse_weight,
)
from store.images.fetch import image_sources_enqueue
from store.models import (
    ERROR_COMPARE_AT_PRICE,
    OPTION_COUNT,
    Collection,
    Product,
    ProductImage,
    ProductImageSource,
    Promotion,
)
from store.sql import CHUNK, ID_LIST_CHUNK, as_money, chunks, execute_many, id_list, ids_in, select_in
from store.validators import validate_gtin

STATUSES = tuple(Product.Status.values)
#: ``ProductColumn.holder`` values
SHARED, UNIT, BOTH, VARIANT = "shared", "unit", "both", "variant"
ERROR_STATUS = "not a valid status: expected one of " + ", ".join(STATUSES)
ERROR_PROMOTION_UNKNOWN = "unknown promotion id(s): {ids}"
ERROR_IMAGE_URL = "not an http(s) URL: {url!r}"
ERROR_IMAGE_URL_LONG = "image URL too long: {length} characters, at most 2048"
ERROR_VARIANT_IMAGE_ONE = "one image URL: a variant shows one of its product's images"
NOTE_IMAGES = "{count} image URL(s) will be fetched in the background after the import"
URL_MAX = 2048
# An alt text travels with its URL inside the parsed value (Shopify's "Image Alt Text").
ALT_SEPARATOR = "\t"
PRICE_CACHE = 100_000

#: the ImportJob being written, so that its image sources point back to it (set by service.py)
import_job_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("import_job_id", default=None)


def max_length(model: type[Product] | type[Collection], field: str) -> int | None:
    """The ``max_length`` of a model's CharField (None for a TextField)."""
    model_field = model._meta.get_field(field)
    return model_field.max_length if isinstance(model_field, CharField) else None


class ProductColumn:
    """One column of the native product format. Subclass it; override what differs."""

    #: the column's name in the native format (lower case)
    name: str = ""
    #: a human label (the mapping step, the docs)
    label: str = ""
    #: other lower-case header names a supplier may use for it
    synonyms: tuple[str, ...] = ()
    #: names that hold its value when no file column has one of the names above (a barcode for the SKU)
    fallback_synonyms: tuple[str, ...] = ()
    #: the Product field holding it (read and written with the product row); None: rows of its own
    field: str | None = None
    #: a new product needs a value
    required_new: bool = False
    #: read only when the file's header has the column: a preset's filler for a missing column
    #: (WooCommerce's blank "Tags") is ignored; core columns read whatever the preset mapped
    header_only: bool = True
    #: shown on new products' rows of the preview
    preview: bool = True
    #: what the export reads for the cell (``field`` columns): a value of the product row, or of a
    #: row it points to (``collection__title``); None: the ``field``
    export_source: str | None = None
    #: columns without ``field``: ``write()`` replaces the value, so a revert writes back the value before
    #: an import (recorded as ``ImportRelatedChange``); False for a column whose ``write()`` only adds
    #: (images: a revert removes what the import added)
    restorable: bool = True
    #: which rows hold it in a file with products with variants (docs/decisions/0017): ``SHARED`` by a
    #: product (standalone or with variants: a variant row leaves it blank), ``UNIT`` by a sellable unit
    #: (standalone or variant: a product-with-variants row leaves it blank), ``BOTH``, or ``VARIANT``
    #: only; another app's column is shared (tags)
    holder: str = SHARED

    # --- import ---------------------------------------------------------------------
    def parser(self, *, convention: NumberConvention = POINT) -> Callable[[str], Any]:
        """The cell parser of one import (it may cache); ``None`` from it means "leave as is"."""
        return self.parse

    def parse(self, raw: str) -> Any:
        """The normalised, comparable value of one cell; raise ValidationError when invalid."""
        raise NotImplementedError

    def from_db(self, value: Any) -> Any:
        """The comparable value of the product row's raw database value (``field`` columns)."""
        return value

    def check(self, values: Mapping[int, Any]) -> list[tuple[int, str, str]]:
        """Errors found in bulk (row, value, reason) for {row number: value}; the default: none."""
        return []

    def check_row(self, value: Any, row: Mapping[str, Any]) -> str | None:
        """Why ``value`` cannot stand beside the row's other values ({column name: value}, as the
        product will be after the import), or None; only ``field`` columns, only a value the file gives."""
        return None

    def current(self, product_ids: Sequence[int]) -> dict[int, Any]:
        """The current values of these products (missing ids mean ``empty()``); columns without ``field``."""
        return {}

    def empty(self) -> Any:
        """The value of a product that has none."""
        return None

    def notes(self, values: Iterable[Any]) -> list[str]:
        """Preview lines about what writing these values will create."""
        return []

    def write(self, values: dict[int, Any]) -> None:
        """Set each product's value (a full replacement), inside the import transaction; columns without ``field``."""
        raise NotImplementedError

    def same(self, first: Any, second: Any) -> bool:
        """Whether two values are the same (a revert's "changed since the import?")."""
        return bool(first == second)

    def dump(self, value: Any) -> Any:
        """A value as JSON (``ImportRelatedChange``): tuples become lists."""
        return list(value) if isinstance(value, tuple) else value

    def load(self, data: Any) -> Any:
        """A value from its JSON (``dump``)."""
        return tuple(data) if isinstance(data, list) else data

    # --- export and preview -----------------------------------------------------------
    def render(self, value: Any) -> str:
        """The cell text of a value (preview, and export of columns without ``field``)."""
        return "" if value is None else str(value)

    @property
    def export_value(self) -> str:
        """The lookup an export reads for the cell (``field`` columns): ``export_source`` or the ``field``."""
        source = self.export_source or self.field
        assert source is not None, f"{self.name!r} has rows of its own: read them with current()"
        return source

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        """How an export writes the cell of a value of ``export_value`` (``field`` columns): one
        callable per export, so that it may read settings once; ``native`` keeps numbers as
        numbers (XLSX)."""
        return self.render

    def export_any(self) -> bool:
        """Columns without ``field``: whether any product may have a value (one cheap query, no walk
        of the products). A native export asks once, at its first chunk: where none has, it reads
        no ``current()`` (a value written after that is not exported, as a product row changed after
        the export's streamed read began is exported as it was)."""
        return True

    def export_text(self) -> BaseExpression | None:
        """Columns without ``field``: the cell (``render`` of the product's ``current()``) as the
        database writes it with each product row, in a streamed export (MariaDB: its own connection,
        ``store.exports.products``), where it saves a read of ``current()`` a chunk; None: read it."""
        return None

    def describe(self, values: Sequence[Any]) -> list[str]:
        """Each value as the change history shows it (names, not ids); a column that must read names
        reads them for all the values at once."""
        return [self.render(value) for value in values]


def same_value(value: Any) -> Any:
    """The exporter of a column whose value is its cell: an export skips calling it."""
    return value


def text_or_blank(value: str | None) -> str:
    """The exporter of a nullable text: None blank. An export maps a column by the lookup
    ``BLANK_NONE.get(value, value)`` instead, a built-in call a cell."""
    return value or ""


#: ``text_or_blank`` as a lookup (``BLANK_NONE.get(value, value)``)
BLANK_NONE: dict[Any, str] = {None: ""}


class BlankOr:
    """The exporter of a nullable value: None blank, another value its ``text``. An export writes a
    column of which no value is None by ``text`` alone, and one of which every value is, blank."""

    def __init__(self, text: Callable[[Any], Any]) -> None:
        self.text = text

    def __call__(self, value: Any) -> Any:
        return "" if value is None else self.text(value)


def number_text(*, kind: type | None = None) -> Callable[[Any], str]:
    """Django's ``number_format`` (the active language's separators), which export cells of numbers
    are written with, its format settings read once rather than for every cell. ``kind``: every
    value is a ``Decimal`` or an ``int`` (a NOT NULL field): with a point and no grouping, the
    text is then written by a built-in (``"{:f}".format``, ``str``), not a Python call per cell."""
    language = get_language()
    separator, grouping, thousands = (
        get_format(name, language, use_l10n=True)
        for name in ("DECIMAL_SEPARATOR", "NUMBER_GROUPING", "THOUSAND_SEPARATOR")
    )
    if separator == "." and not (settings.USE_THOUSAND_SEPARATOR and grouping):
        return _POINT_TEXT.get(kind, _point_number)  # type: ignore[arg-type]  # None: either kind
    return lambda value: numberformat.format(value, separator, None, grouping, thousands, use_l10n=True)


def _point_number(value: Any) -> str:
    """``numberformat.format`` of a product row's number with a point and no grouping: its ``{:f}``
    text (the numbers of a product row have at most 12 digits, never its scientific form)."""
    return f"{value:f}" if isinstance(value, Decimal) else str(value)


#: ``_point_number`` of values all of one type, as a built-in
_POINT_TEXT: dict[type, Callable[[Any], str]] = {Decimal: "{:f}".format, int: str}


class TextColumn(ProductColumn):
    """A text field of Product; its length limit is the model field's."""

    header_only = False

    def __init__(
        self,
        name: str,
        *,
        label: str,
        synonyms: tuple[str, ...] = (),
        fallback_synonyms: tuple[str, ...] = (),
        field: str | None = None,
        required: bool = False,
        required_new: bool = False,
        multiline: bool = False,
        slug: bool = False,
        preview: bool = True,
    ) -> None:
        self.name, self.label, self.synonyms = name, label, synonyms
        self.fallback_synonyms = fallback_synonyms
        self.field = field or name
        self.required, self.required_new, self.multiline, self.slug = required, required_new, multiline, slug
        self.preview = preview
        self.max_length = max_length(Product, self.field)
        model_field = Product._meta.get_field(self.field)
        self.nullable = isinstance(model_field, Field) and model_field.null

    def parse(self, raw: str) -> str:
        return parse_text(
            raw, max_length=self.max_length, multiline=self.multiline, required=self.required, slug=self.slug
        )

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        """``render``: a NOT NULL text field's value is its own cell (an export skips the call)."""
        return text_or_blank if self.nullable else same_value


class PriceColumn(ProductColumn):
    name, label, field = "unit_price", "Unit price", "unit_price"
    synonyms = (
        "price",
        "unit price",
        "regular price",
        "retail price",
        "selling price",
        "sales price",
        "rrp",
        "recommended retail price",
        "msrp",
        "srp",
        "list price",
        "retail",
        "price incl vat",
        "price inc vat",
    )
    required_new = True
    header_only = False
    holder = UNIT

    def parser(self, *, convention: NumberConvention = POINT) -> Callable[[str], Decimal | None]:
        prices: dict[str, Decimal] = {}  # one Decimal per distinct price text (up to PRICE_CACHE)

        def parse(raw: str) -> Decimal | None:
            value = prices.get(raw)
            if value is not None:
                return value
            if not raw.strip():
                return None
            value = parse_price(raw, convention=convention)
            if len(prices) < PRICE_CACHE:
                prices[raw] = value
            return value

        return parse

    def parse(self, raw: str) -> Decimal | None:
        return parse_price(raw) if raw.strip() else None

    def from_db(self, value: Any) -> Decimal:
        return as_money(value)

    def render(self, value: Any) -> str:
        return "" if value is None else money(value)

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        return same_value if native else number_text(kind=Decimal)  # NOT NULL


class InventoryColumn(ProductColumn):
    name, label, field = "inventory", "Inventory", "inventory"
    synonyms = (
        "qty",
        "quantity",
        "stock",
        "stock quantity",
        "on hand",
        "inventory qty",
        "stock qty",
        "stock level",
        "available",
        "stock on hand",
        "qty on hand",
        "quantity on hand",
        "qty available",
        "quantity available",
        "available stock",
        "free stock",
        "units",
    )
    required_new = True
    header_only = False
    holder = UNIT

    def parser(self, *, convention: NumberConvention = POINT) -> Callable[[str], int | None]:
        if convention is POINT:
            return self.parse
        return lambda raw: parse_inventory(raw, convention=convention) if raw.strip() else None

    def parse(self, raw: str) -> int | None:
        return parse_inventory(raw) if raw.strip() else None

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        return same_value if native else number_text(kind=int)  # NOT NULL


class CollectionColumn(ProductColumn):
    """The collection, by title; an import creates the collections it names (planning, writing)."""

    name, label, field = "collection", "Collection", "collection_id"
    synonyms = (
        "category",
        "categories",
        "product type",
        "type",
        "department",
        "product category",
        "group",
        "product group",
        "item group",
        "article group",
        "product family",
        "family",
        "product line",
        "range",
        "main category",
    )
    required_new = True
    header_only = False
    export_source = "collection__title"

    def parser(self, *, convention: NumberConvention = POINT) -> Callable[[str], str]:
        titles: dict[str, str] = {}  # one string per collection title, not one per row
        limit = max_length(Collection, "title")

        def parse(raw: str) -> str:
            text = parse_text(raw, max_length=limit)
            return titles.setdefault(text, text)

        return parse

    def parse(self, raw: str) -> str:
        return parse_text(raw, max_length=max_length(Collection, "title"))

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        return text_or_blank


#: a product's promotion ids as its cell (``PromotionsColumn.render``), in MariaDB's SQL
PROMOTION_IDS_SQL = "GROUP_CONCAT(%(expressions)s ORDER BY %(expressions)s SEPARATOR ',')"


class PromotionsColumn(ProductColumn):
    """Promotion ids separated by commas; a blank cell clears them."""

    name, label = "promotions", "Promotions"
    synonyms = ("promotion ids", "discounts", "promotion")
    header_only = False
    preview = False

    def parse(self, raw: str) -> tuple[int, ...]:
        return parse_promotions(raw) if raw.strip() else ()

    def check(self, values: Mapping[int, Any]) -> list[tuple[int, str, str]]:
        wanted = sorted({pid for value in values.values() for pid in value or ()})
        if not wanted:
            return []
        known: set[int] = set()
        for chunk in chunks(wanted):
            known.update(Promotion.objects.filter(id__in=chunk).values_list("id", flat=True))
        errors = []
        for row, value in values.items():
            unknown = [str(pid) for pid in value or () if pid not in known]
            if unknown:
                errors.append((row, ",".join(unknown), ERROR_PROMOTION_UNKNOWN.format(ids=", ".join(unknown))))
        return errors

    def current(self, product_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        through = Product.promotions.through
        found: dict[int, set[int]] = {}
        wanted = set(product_ids)
        for chunk in chunks(list(product_ids), ID_LIST_CHUNK):
            for product_id, promotion_id in through.objects.filter(ids_in("product_id", chunk)).values_list(
                "product_id", "promotion_id"
            ):
                if product_id in wanted:
                    found.setdefault(product_id, set()).add(promotion_id)
        return {pid: tuple(sorted(ids)) for pid, ids in found.items()}

    def export_any(self) -> bool:
        return Product.promotions.through.objects.exists()

    def export_text(self) -> BaseExpression:
        """The ids, ascending, joined by commas (``render``), by MariaDB's ``GROUP_CONCAT``: what the
        ``mariadb`` client's export reads too (its length limit is lifted on the streamed connection)."""
        ids = (
            Product.promotions.through.objects.filter(product_id=OuterRef("pk"))
            .order_by()
            .values(ids=Func(F("promotion_id"), template=PROMOTION_IDS_SQL, output_field=CharField()))
        )
        return Coalesce(Subquery(ids), Value(""))

    def empty(self) -> tuple[int, ...]:
        return ()

    def render(self, value: Any) -> str:
        return ",".join(map(str, value or ()))

    def describe(self, values: Sequence[Any]) -> list[str]:
        """The promotions' names ("Summer sale (15.00%)"), not their ids; a deleted one by its id."""
        ids = sorted({pid for value in values for pid in value or ()})
        names = {promotion.pk: str(promotion) for promotion in Promotion.objects.filter(pk__in=ids)}
        return [", ".join(names.get(pid, f"#{pid}") for pid in value or ()) for value in values]

    def write(self, values: dict[int, Any]) -> None:
        through = Product.promotions.through
        for chunk in chunks(list(values)):
            through.objects.filter(product_id__in=chunk).delete()
        links = [through(product_id=pid, promotion_id=promo) for pid, promos in values.items() for promo in promos]
        through.objects.bulk_create(links, batch_size=CHUNK)


class StatusColumn(ProductColumn):
    """draft, active or archived. A blank cell (or no column) keeps an existing product's status;
    a new product then gets the field's default, active."""

    name, label, field = "status", "Status", "status"
    synonyms = ("state", "product status")

    def parse(self, raw: str) -> str | None:
        value = raw.strip().casefold()
        if not value:
            return None
        if value not in STATUSES:
            raise ValidationError(ERROR_STATUS)
        return value

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        return same_value


class DecimalColumn(ProductColumn):
    """An optional number of the product row (compare-at price, cost, weight): a blank cell (or no
    column) keeps the product's value; a new product then has none."""

    header_only = False

    def __init__(
        self,
        name: str,
        *,
        label: str,
        synonyms: tuple[str, ...] = (),
        parse: Callable[..., Decimal],
        places: int = 2,
    ) -> None:
        self.holder = UNIT
        self.name, self.label, self.synonyms, self.field = name, label, synonyms, name
        self._parse, self.places = parse, places

    def parser(self, *, convention: NumberConvention = POINT) -> Callable[[str], Decimal | None]:
        parse = self._parse
        return lambda raw: parse(raw, convention=convention) if raw.strip() else None

    def parse(self, raw: str) -> Decimal | None:
        return self._parse(raw) if raw.strip() else None

    def from_db(self, value: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-self.places))

    def render(self, value: Any) -> str:
        return "" if value is None else f"{value:.{self.places}f}"

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        return BlankOr(same_value if native else number_text(kind=Decimal))


class CompareAtPriceColumn(DecimalColumn):
    """The price before a reduction: higher than the price, or the row is an error."""

    def check_row(self, value: Any, row: Mapping[str, Any]) -> str | None:
        price = row.get("unit_price")
        if value is not None and price is not None and value <= price:
            return ERROR_COMPARE_AT_PRICE.format(price=money(price))
        return None


class BarcodeColumn(TextColumn):
    """A GTIN (EAN, UPC) with its check digit; a blank cell clears it. Its names ("EAN", "Barcode")
    are a SKU's fallback too: a file without a code of its own keys its products on the barcode."""

    def parse(self, raw: str) -> str:
        text = super().parse(SPACES.sub("", raw))  # "4006 3813 3393 1": printed in groups
        validate_gtin(text)
        return text


SPACES = re.compile(r"[\s\u00a0\u202f]+")
WEIGHT_UNITS = tuple(Product.WeightUnit.values)
WEIGHT_UNIT_WORDS = {
    "g": "g",
    "gram": "g",
    "grams": "g",
    "kg": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "lb": "lb",
    "lbs": "lb",
    "pound": "lb",
    "pounds": "lb",
    "oz": "oz",
    "ounce": "oz",
    "ounces": "oz",
}
ERROR_WEIGHT_UNIT = "not a weight unit: expected one of " + ", ".join(WEIGHT_UNITS)


class WeightUnitColumn(ProductColumn):
    """g, kg, lb or oz (also grams, pounds…). A blank cell keeps the product's unit (kg for a new one)."""

    name, label, field = "weight_unit", "Weight unit", "weight_unit"
    synonyms = ("weight unit", "variant weight unit", "unit of weight")
    holder = UNIT

    def parse(self, raw: str) -> str | None:
        value = raw.strip().casefold()
        if not value:
            return None
        if value not in WEIGHT_UNIT_WORDS:
            raise ValidationError(ERROR_WEIGHT_UNIT)
        return WEIGHT_UNIT_WORDS[value]

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        return same_value


TRUE_WORDS = ("yes", "y", "true", "1")
FALSE_WORDS = ("no", "n", "false", "0")
ERROR_YES_NO = "expected yes or no (also true/false, 1/0)"


class TrackInventoryColumn(ProductColumn):
    """Whether the product's stock is counted: ``yes`` or ``no`` (also true/false, 1/0). ``no`` means
    it is sold whatever its inventory says (WooCommerce's "Manage stock?" off). A blank cell (or
    no column) keeps an existing product's setting; a new product then tracks its stock."""

    name, label, field = "track_inventory", "Track inventory", "track_inventory"
    synonyms = ("manage stock", "manage stock?", "track quantity", "track stock", "stock managed", "inventory tracked")
    holder = UNIT

    def parse(self, raw: str) -> bool | None:
        value = raw.strip().casefold()
        if not value:
            return None
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        raise ValidationError(ERROR_YES_NO)

    def from_db(self, value: Any) -> bool:
        return bool(value)

    def render(self, value: Any) -> str:
        return "" if value is None else "yes" if value else "no"

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        """``render`` as a lookup (a built-in call a cell); a value other than a bool or None by ``render``."""
        return _YesNo(render=self.render).__getitem__


class _YesNo(dict[Any, str]):
    """``TrackInventoryColumn.render`` of True, False (1, 0) and None as a dict lookup."""

    def __init__(self, *, render: Callable[[Any], str]) -> None:
        super().__init__({True: "yes", False: "no", None: ""})
        self.render = render

    def __missing__(self, value: Any) -> str:
        return self.render(value)


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class ImageUrls(tuple[str, ...]):
    """The URLs of a cell, in order; compares as a tuple of URLs. ``alts`` maps URL -> alt text."""

    alts: dict[str, str]

    def __new__(cls, urls: Iterable[str] = (), alts: dict[str, str] | None = None) -> ImageUrls:
        value = super().__new__(cls, urls)
        value.alts = alts or {}
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (tuple(self), self.alts)


def image_storage_url(name: str) -> str:
    """The absolute URL of a stored file (S3's own; local files under SITE_URL)."""
    url: str = default_storage.url(name)
    if url.startswith("/"):
        url = settings.SITE_URL + url
    return url


class ImagesColumn(ProductColumn):
    """URLs separated by ``|``, in position order. Importing adds the URLs a product does not
    have yet as ``ProductImageSource`` rows (duplicates ignored on the unique (product,
    url_hash)); a background task per URL fetches them once the import commits
    (``store/image_fetch.py``). Images missing from the cell are kept."""

    name, label = "images", "Images"
    synonyms = ("image", "image urls", "image src", "pictures", "photos", "image url", "picture", "photo")
    restorable = False  # a revert removes the image sources the import added (their ``import_job``)

    def parse(self, raw: str) -> ImageUrls:
        urls: dict[str, None] = {}
        alts: dict[str, str] = {}
        for part in raw.split("|"):
            url, _, alt = part.partition(ALT_SEPARATOR)
            url = url.strip()
            if not url:
                continue
            if len(url) > URL_MAX:
                raise ValidationError(ERROR_IMAGE_URL_LONG.format(length=len(url)))
            try:
                parts = urlsplit(url)
                valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
            except ValueError:  # a malformed bracketed host: "http://[::1", "http://[name]/"
                valid = False
            if not valid:
                raise ValidationError(ERROR_IMAGE_URL.format(url=url[:80]))
            urls.setdefault(url, None)
            if alt.strip():
                alts.setdefault(url, alt.strip()[:255])
        return ImageUrls(urls, alts)

    def current(self, product_ids: Sequence[int]) -> dict[int, ImageUrls]:
        """Each product's images as URLs, in position order: its images, then URLs still pending;
        with their alt texts (``alts``, for a layout that has them: Shopify's "Image Alt Text")."""
        found: dict[int, list[str]] = {}
        alts: dict[int, dict[str, str]] = {}
        wanted = set(product_ids)
        for chunk in chunks(list(product_ids), ID_LIST_CHUNK):
            for pk, name, source, alt in (
                ProductImage.objects.filter(ids_in("product_id", chunk))
                .order_by("product_id", "position", "id")
                .values_list("product_id", "image", "source_url", "alt_text")
            ):
                if pk not in wanted:
                    continue
                url = source or image_storage_url(name)
                found.setdefault(pk, []).append(url)
                if alt:
                    alts.setdefault(pk, {}).setdefault(url, alt)
            for pk, url, alt in (
                ProductImageSource.objects.filter(ids_in("product_id", chunk))
                .exclude(state=ProductImageSource.State.DONE)
                .order_by("product_id", "position", "id")
                .values_list("product_id", "url", "alt_text")
            ):
                if pk in wanted and url not in found.get(pk, ()):
                    found.setdefault(pk, []).append(url)
                    if alt:
                        alts.setdefault(pk, {}).setdefault(url, alt)
        return {pk: ImageUrls(urls, alts.get(pk)) for pk, urls in found.items()}

    def export_any(self) -> bool:
        """An image, or a URL (pending ones are read; whether a source is pending is not asked here:
        that would walk the sources)."""
        return ProductImage.objects.exists() or ProductImageSource.objects.exists()

    def empty(self) -> ImageUrls:
        return ImageUrls()

    def render(self, value: Any) -> str:
        return "|".join(value or ())

    def describe(self, values: Sequence[Any]) -> list[str]:
        """Each image by its file name (the end of its URL)."""
        return [", ".join(url.rstrip("/").rsplit("/", 1)[-1] for url in value or ()) for value in values]

    def notes(self, values: Iterable[Any]) -> list[str]:
        count = sum(len(value) for value in values)
        return [NOTE_IMAGES.format(count=count)] if count else []

    def write(self, values: dict[int, Any]) -> None:
        """Add the URLs each product lacks; enqueue their fetches once the import commits."""
        job_id = import_job_id.get()
        items = [
            (pk, url, position, value.alts.get(url, ""))
            for pk, value in values.items()
            for position, url in enumerate(value)
        ]
        for chunk in chunks(items):
            ProductImageSource.objects.bulk_create(
                [
                    ProductImageSource(
                        product_id=pk,
                        url=url,
                        url_hash=url_hash(url),
                        position=position,
                        alt_text=alt,
                        import_job_id=job_id,
                    )
                    for pk, url, position, alt in chunk
                ],
                ignore_conflicts=True,
                batch_size=CHUNK,
            )
        product_ids = list(values)
        transaction.on_commit(lambda: image_sources_enqueue(product_ids=product_ids), robust=True)


class VariantProductColumn(ProductColumn):
    """On a variant row: the SKU of its product (the product with variants), in the file or in the
    catalog; blank on every other row. Planning resolves it (``store.importing.variants``)."""

    name, label, field = "product", "Product (of a variant)", "parent_id"
    synonyms = ("parent sku", "product sku")
    holder = VARIANT
    preview = False
    export_source = "parent__sku"

    def parse(self, raw: str) -> str:
        return parse_text(raw, max_length=max_length(Product, "sku"))

    def exporter(self, *, native: bool) -> Callable[[Any], Any]:
        return text_or_blank


class VariantImageColumn(ProductColumn):
    """On a variant row: the URL of one of its product's images (in the file or already the
    product's), or blank for none. An image not fetched yet is linked when its fetch completes: the
    variant keeps a ``ProductImageSource`` of that URL, ``done`` without an image of its own (never
    fetched, not in the import's image report), until ``variant_image_links`` fills it."""

    name, label = "variant_image", "Variant image"
    synonyms = ("variant image",)
    holder = VARIANT

    def parse(self, raw: str) -> str:
        url = raw.strip()
        if not url:
            return ""
        urls = images_column.parse(url)
        if len(urls) != 1:
            raise ValidationError(ERROR_VARIANT_IMAGE_ONE)
        return urls[0]

    def empty(self) -> str:
        return ""

    def current(self, product_ids: Sequence[int]) -> dict[int, str]:
        """Each variant's image URL: its image's, or the URL still waiting for its product's fetch."""
        found: dict[int, str] = {}
        for chunk in chunks(list(product_ids), ID_LIST_CHUNK):
            images = dict(
                Product.objects.filter(pk__in=id_list(chunk), variant_image__isnull=False)
                .order_by()
                .values_list("pk", "variant_image")
            )
            if images:
                by_image = {
                    pk: source or image_storage_url(name)
                    for pk, name, source in ProductImage.objects.filter(pk__in=set(images.values())).values_list(
                        "pk", "image", "source_url"
                    )
                }
                found.update({pk: by_image[image] for pk, image in images.items() if image in by_image})
            for pk, url in ProductImageSource.objects.filter(
                product_id__in=id_list(chunk), state=ProductImageSource.State.DONE, image__isnull=True
            ).values_list("product_id", "url"):
                found.setdefault(pk, url)
        return found

    def write(self, values: dict[int, Any]) -> None:
        """Point each variant at its product's image of that URL, or link it to the URL's fetch."""
        ids = list(values)
        parents = {row.id: row.parent_id for row in select_in(Product, ("id", "parent_id"), "id", ids)}
        wanted = {(parents.get(pk), url) for pk, url in values.items() if url}
        by_url: dict[tuple[int | None, str], int] = {}
        parent_ids = sorted({parent for parent, _url in wanted if parent is not None})
        for chunk in chunks(parent_ids):
            for pk, product_id, name, source in ProductImage.objects.filter(product_id__in=chunk).values_list(
                "pk", "product_id", "image", "source_url"
            ):
                by_url.setdefault((product_id, source or image_storage_url(name)), pk)
                by_url.setdefault((product_id, image_storage_url(name)), pk)
        for chunk in chunks(ids):
            ProductImageSource.objects.filter(product_id__in=chunk).delete()
        table, quote_name = Product._meta.db_table, connection.ops.quote_name
        sql = f"UPDATE {quote_name(table)} SET {quote_name('variant_image_id')} = %s WHERE {quote_name('id')} = %s"
        execute_many(sql, [[by_url.get((parents.get(pk), url)) if url else None, pk] for pk, url in values.items()])
        links = [
            ProductImageSource(
                product_id=pk, url=url, url_hash=url_hash(url), state=ProductImageSource.State.DONE, image=None
            )
            for pk, url in values.items()
            if url and (parents.get(pk), url) not in by_url
        ]
        ProductImageSource.objects.bulk_create(links, batch_size=CHUNK)


# --- The table ----------------------------------------------------------------------
status_column = StatusColumn()
images_column = ImagesColumn()

#: store's own columns, in the order of the native format (the export's header)
CORE_COLUMNS: tuple[ProductColumn, ...] = (
    TextColumn(
        "sku",
        label="SKU",
        synonyms=(
            "product code",
            "code",
            "item code",
            "article number",
            "variant sku",
            "reference",
            "ref",
            "supplier code",
            "article code",
            "art no",
            "item number",
            "item no",
            "part number",
            "part no",
            "article no",
            "article nr",
            "art nr",
            "article",
            "stock code",
            "product number",
            "product no",
        ),
        # A supplier's barcode is its product key when the file has no code of its own.
        fallback_synonyms=("ean", "ean13", "ean code", "gtin", "gtin13", "barcode", "upc"),
        required=True,
        preview=False,
    ),
    TextColumn(
        "title",
        label="Title",
        synonyms=(
            "name",
            "product name",
            "product title",
            "item name",
            "article name",
            "designation",
            "product designation",
            "article designation",
        ),
        required=True,
        # A stock or price feed (sku,unit_price,inventory) has no title: only new products need one.
        required_new=True,
    ),
    TextColumn("slug", label="Slug", synonyms=("handle", "url key", "permalink"), slug=True, preview=False),
    TextColumn(
        "description",
        label="Description",
        synonyms=(
            "long description",
            "body",
            "body (html)",
            "details",
            "desc",
            "product description",
            "long text",
            "full description",
        ),
        multiline=True,
        preview=False,
    ),
    PriceColumn(),
    InventoryColumn(),
    CollectionColumn(),
    PromotionsColumn(),
    status_column,
    images_column,
    TrackInventoryColumn(),
    TextColumn("vendor", label="Vendor", synonyms=("brand", "brand name", "manufacturer", "make", "vendor name")),
    BarcodeColumn(
        "barcode",
        label="Barcode",
        synonyms=("variant barcode", "ean", "ean13", "ean code", "gtin", "gtin13", "upc", "ean/upc", "upc/ean"),
    ),
    CompareAtPriceColumn(
        "compare_at_price",
        label="Compare-at price",
        synonyms=("compare at price", "variant compare at price", "was price", "old price", "original price"),
        parse=parse_price,
    ),
    DecimalColumn(
        "cost_per_item",
        label="Cost per item",
        synonyms=("cost", "cost price", "unit cost", "purchase price", "buying price"),
        parse=parse_amount,
    ),
    DecimalColumn(
        "weight", label="Weight", synonyms=("variant weight", "shipping weight"), parse=parse_weight, places=3
    ),
    WeightUnitColumn(),
    TextColumn("seo_title", label="SEO title", synonyms=("seo title", "meta title", "page title")),
    TextColumn(
        "seo_description",
        label="SEO description",
        synonyms=("seo description", "meta description"),
    ),
    # Products with variants (docs/guide/imports.md): a variant row names its product and its option values.
    VariantProductColumn(),
    *(
        TextColumn(f"option{n}_name", label=f"Option {n} name", synonyms=(f"option{n} name",))
        for n in range(1, OPTION_COUNT + 1)
    ),
    *(
        TextColumn(f"option{n}", label=f"Option {n} value", synonyms=(f"option{n} value",))
        for n in range(1, OPTION_COUNT + 1)
    ),
    VariantImageColumn(),
)
#: the rows holding the text columns that are not shared by a product's variants (``ProductColumn.holder``)
TEXT_HOLDERS = {
    "sku": BOTH,
    "title": BOTH,
    "barcode": UNIT,
    **{f"option{n}": VARIANT for n in range(1, OPTION_COUNT + 1)},
}
for _column in CORE_COLUMNS:
    _column.holder = TEXT_HOLDERS.get(_column.name, _column.holder)

_registered: dict[str, ProductColumn] = {}


def register_column(column: ProductColumn) -> None:
    """Add another app's column (after store's own), or replace one of the same name."""
    if any(core.name == column.name for core in CORE_COLUMNS):
        raise ValueError(f"{column.name!r} is one of store's own product columns")
    _registered[column.name] = column


def unregister_column(name: str) -> None:
    _registered.pop(name, None)


def product_columns() -> tuple[ProductColumn, ...]:
    """Every product column, in the native format's order: store's own, then registered ones."""
    return (*CORE_COLUMNS, *_registered.values())


def product_column(name: str) -> ProductColumn:
    for column in product_columns():
        if column.name == name:
            return column
    raise KeyError(name)
