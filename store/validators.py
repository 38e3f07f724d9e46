"""Validators of single values that the model, the forms and the import share."""

from __future__ import annotations

from django.core.exceptions import ValidationError

GTIN_LENGTHS = (8, 12, 13, 14)
ERROR_GTIN_DIGITS = "a barcode is a GTIN: 8, 12, 13 or 14 digits"
ERROR_GTIN_CHECK_DIGIT = "not a valid barcode: its check digit should be {expected}, not {found}"


def gtin_check_digit(digits: str) -> int:
    """The GS1 check digit of a GTIN's digits without their last one.

    From the right, the digits are weighted 3, 1, 3, 1…; the check digit brings the sum to a
    multiple of ten.
    """
    total = sum(int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def validate_gtin(value: str) -> None:
    """A GTIN-8, -12 (UPC-A), -13 (EAN) or -14 with a correct check digit; blank is allowed."""
    if not value:
        return
    if not value.isascii() or not value.isdigit() or len(value) not in GTIN_LENGTHS:
        raise ValidationError(ERROR_GTIN_DIGITS, code="gtin")
    expected = gtin_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise ValidationError(
            ERROR_GTIN_CHECK_DIGIT.format(expected=expected, found=value[-1]), code="gtin_check_digit"
        )
