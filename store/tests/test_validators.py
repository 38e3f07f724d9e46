"""The GTIN (barcode) validator: lengths and the GS1 check digit."""

import pytest
from django.core.exceptions import ValidationError

from store.validators import ERROR_GTIN_DIGITS, gtin_check_digit, validate_gtin


@pytest.mark.parametrize(
    "barcode",
    [
        "",  # none
        "96385074",  # GTIN-8
        "036000291452",  # GTIN-12 (UPC-A)
        "4006381333931",  # GTIN-13 (EAN)
        "5012345678900",  # GTIN-13
        "10012345678902",  # GTIN-14
    ],
)
def test_valid_barcodes_pass(barcode):
    validate_gtin(barcode)


@pytest.mark.parametrize(
    ("barcode", "expected"),
    [("4006381333932", "1"), ("036000291453", "2"), ("96385075", "4"), ("10012345678901", "2")],
)
def test_a_wrong_check_digit_says_which_it_should_be(barcode, expected):
    with pytest.raises(ValidationError) as caught:
        validate_gtin(barcode)
    assert caught.value.messages == [f"not a valid barcode: its check digit should be {expected}, not {barcode[-1]}"]


@pytest.mark.parametrize(
    "barcode", ["1234567", "12345678901", "123456789012345", "40063813339a1", "４００６３８１３３３９３１"]
)
def test_other_lengths_and_characters_are_refused(barcode):
    with pytest.raises(ValidationError) as caught:
        validate_gtin(barcode)
    assert caught.value.messages == [ERROR_GTIN_DIGITS]


def test_the_check_digit_weights_three_one_from_the_right():
    # 03600029145 from the right: 3×(5+1+2+0+6+0) + (4+9+0+0+3) = 58; 2 makes 60
    assert gtin_check_digit("03600029145") == 2
    assert gtin_check_digit("400638133393") == 1
