"""Cell parsing: the text of one cell to a value, or a ValidationError naming the reason.

Pure functions, no queries. Limits come from the model fields (``Product.unit_price``'s
digits, ``IntegerField``'s range), not from copied constants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import DecimalField
from django.utils.text import slugify

from store.models import MIN_UNIT_PRICE, Product

_PRICE_FIELD = Product._meta.get_field("unit_price")
assert isinstance(_PRICE_FIELD, DecimalField)
PRICE_DECIMAL_PLACES: int = _PRICE_FIELD.decimal_places or 0
PRICE_MAX_INTEGER_DIGITS: int = (_PRICE_FIELD.max_digits or 0) - PRICE_DECIMAL_PLACES
MIN_PRICE = Decimal(MIN_UNIT_PRICE)
CENT = Decimal(1).scaleb(-PRICE_DECIMAL_PLACES)
MAX_INVENTORY: int = BaseDatabaseOperations.integer_field_ranges[
    Product._meta.get_field("inventory").get_internal_type()
][1]
_WEIGHT_FIELD = Product._meta.get_field("weight")
assert isinstance(_WEIGHT_FIELD, DecimalField)
WEIGHT_DECIMAL_PLACES: int = _WEIGHT_FIELD.decimal_places or 0
WEIGHT_MAX_INTEGER_DIGITS: int = (_WEIGHT_FIELD.max_digits or 0) - WEIGHT_DECIMAL_PLACES
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

ERROR_REQUIRED = "required"
ERROR_REQUIRED_NEW = "required for a new product"
ERROR_TOO_LONG = "too long: {length} characters, at most {limit}"
ERROR_BAD_TEXT = "contains control characters"
ERROR_SLUG_INVALID = "not a valid slug (letters, digits, hyphens and underscores only)"
ERROR_PRICE_NAN = "not a number"
ERROR_PRICE_MIN = f"below the minimum price of {MIN_PRICE:.2f}"
ERROR_PRICE_DIGITS = (
    f"too many digits: at most {PRICE_MAX_INTEGER_DIGITS} before the decimal point and {PRICE_DECIMAL_PLACES} after"
)
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
ERROR_DIGITS = "too many digits: at most {before} before the decimal point and {after} after"
ERROR_NEGATIVE = "negative"
ERROR_INVENTORY_INT = "not a whole number"
ERROR_INVENTORY_NEGATIVE = "negative inventory"
ERROR_INVENTORY_MAX = f"too large: at most {MAX_INVENTORY}"
ERROR_PROMOTION_INVALID = "promotions must be promotion ids separated by commas"

PLAIN_PRICE_RE = re.compile(rf"^\d{{1,{PRICE_MAX_INTEGER_DIGITS}}}(\.\d{{1,{PRICE_DECIMAL_PLACES}}})?$")
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
INT_RE = re.compile(r"^[+-]?\d+$")
WHOLE_FLOAT_RE = re.compile(r"^[+-]?\d+\.0*$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
SPACES_RE = re.compile(r"[\s\u00a0\u202f]+")
PROMOTION_SEPARATORS_RE = re.compile(r"[,|;]")
_SLUG_STRIP = re.compile(r"[^\w\s-]")
_SLUG_HYPHENS = re.compile(r"[-\s]+")


@dataclass(frozen=True, slots=True)
class NumberConvention:
    """How a file writes numbers: its decimal mark and the mark between groups of three digits.

    Files use the point convention (``1,234.50``); a per-file or per-mapping setting
    can pass another one (``NumberConvention(decimal=",", thousands=".")``).
    """

    decimal: str = "."
    thousands: str = ","


POINT = NumberConvention()


def unescape_formula(text: str) -> str:
    """Undo our export's formula guard: "'=SUM(1)" was exported from "=SUM(1)", "''=x" from "'=x"."""
    if text[:1] == "'" and text.lstrip("'")[:1] in FORMULA_PREFIXES:
        return text[1:]
    return text


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
    return parse_decimal(text, convention=convention)


def parse_amount(text: str, *, convention: NumberConvention = POINT) -> Decimal:
    """A money amount that may be below a price's minimum (a cost): 0 or more, in cents."""
    return parse_decimal(text, convention=convention, minimum=Decimal(0), minimum_error=ERROR_NEGATIVE)


def parse_weight(text: str, *, convention: NumberConvention = POINT) -> Decimal:
    """A weight: 0 or more, at most WEIGHT_DECIMAL_PLACES decimals."""
    return parse_decimal(
        text,
        convention=convention,
        places=WEIGHT_DECIMAL_PLACES,
        integer_digits=WEIGHT_MAX_INTEGER_DIGITS,
        minimum=Decimal(0),
        minimum_error=ERROR_NEGATIVE,
    )


def parse_decimal(
    text: str,
    *,
    convention: NumberConvention = POINT,
    places: int = PRICE_DECIMAL_PLACES,
    integer_digits: int = PRICE_MAX_INTEGER_DIGITS,
    minimum: Decimal = MIN_PRICE,
    minimum_error: str = ERROR_PRICE_MIN,
) -> Decimal:
    """A decimal number in the file's convention (a price's rules unless told otherwise)."""
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
        raise ValidationError(ERROR_PRICE_NAN) from None
    if not value.is_finite():
        raise ValidationError(ERROR_PRICE_NAN)
    if value:
        _sign, digit_tuple, exponent = value.normalize().as_tuple()
        assert isinstance(exponent, int)  # finite
    else:
        digit_tuple, exponent = (0,), 0
    decimals = max(0, -exponent)
    digits_before = max(0, len(digit_tuple) + exponent)
    if decimals > places or digits_before > integer_digits:
        if places == PRICE_DECIMAL_PLACES and integer_digits == PRICE_MAX_INTEGER_DIGITS:
            raise ValidationError(ERROR_PRICE_DIGITS)
        raise ValidationError(ERROR_DIGITS.format(before=integer_digits, after=places))
    if value < minimum:
        raise ValidationError(minimum_error)
    return value.quantize(Decimal(1).scaleb(-places))


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
        if WHOLE_FLOAT_RE.match(cleaned):
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
    parts = [part.strip() for part in PROMOTION_SEPARATORS_RE.split(text) if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise ValidationError(ERROR_PROMOTION_INVALID)
    return tuple(sorted({int(part) for part in parts}))


def parse_text(
    raw: str, *, max_length: int | None, multiline: bool = False, required: bool = False, slug: bool = False
) -> str:
    """A text cell: stripped (not ``multiline`` text), export's formula guard undone, checked."""
    text = raw if multiline else raw.strip()
    if text[:1] == "'":
        text = unescape_formula(text)
    if max_length is not None and len(text) > max_length:
        raise ValidationError(ERROR_TOO_LONG.format(length=len(text), limit=max_length))
    if not multiline and CONTROL_RE.search(text):
        raise ValidationError(ERROR_BAD_TEXT)
    if required and not text:
        raise ValidationError(ERROR_REQUIRED, code="required")
    if slug and text and not SLUG_RE.match(text):
        raise ValidationError(ERROR_SLUG_INVALID)
    return text


def fast_slugify(value: str) -> str:
    """django.utils.text.slugify, minus the lazy-text wrapper and NFKD for plain ASCII titles."""
    if not value.isascii():
        return str(slugify(value))
    value = _SLUG_STRIP.sub("", value.lower())
    return _SLUG_HYPHENS.sub("-", value).strip("-_")


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def fold(text: str) -> str:
    """``text.casefold()``, reusing ``text`` itself when folding changes nothing (most SKUs and slugs)."""
    folded = text.casefold()
    return text if folded == text else folded
