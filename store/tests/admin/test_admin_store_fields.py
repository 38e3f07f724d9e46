"""The product page edits the fields stores keep; its rules show on the fields."""

from decimal import Decimal

import pytest

from store.models import ERROR_COMPARE_AT_PRICE, Product
from store.tests.admin_helpers import changeform_data
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def change_data(client, product: Product, **changes) -> dict:
    """What the product page posts as loaded, with ``changes``."""
    return changeform_data(client.get(f"/admin/store/product/{product.pk}/change/"), **changes)


def test_the_product_page_saves_the_store_fields_with_their_history(admin_client):
    product = ProductFactory(unit_price=Decimal("20.00"))
    url = f"/admin/store/product/{product.pk}/change/"
    assert 'name="barcode"' in admin_client.get(url).content.decode()
    response = admin_client.post(
        url,
        change_data(
            admin_client,
            product,
            vendor="Acme",
            barcode="4006381333931",
            compare_at_price="25.00",
            weight="1.5",
            weight_unit="lb",
        ),
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.vendor, product.barcode, product.compare_at_price, product.weight, product.weight_unit) == (
        "Acme",
        "4006381333931",
        Decimal("25.00"),
        Decimal("1.500"),
        "lb",
    )
    assert product.version == 2
    latest = product.history.latest()
    changed = {change.field for change in latest.diff_against(latest.prev_record).changes}
    assert {"vendor", "barcode", "compare_at_price", "weight", "weight_unit"} <= changed


def test_a_compare_at_price_not_above_the_price_and_a_bad_barcode_are_field_errors(admin_client):
    product = ProductFactory(unit_price=Decimal("20.00"))
    response = admin_client.post(
        f"/admin/store/product/{product.pk}/change/",
        change_data(admin_client, product, compare_at_price="15.00", barcode="4006381333932"),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["compare_at_price"] == [ERROR_COMPARE_AT_PRICE.format(price="20.00")]
    assert errors["barcode"] == ["not a valid barcode: its check digit should be 1, not 2"]
    product.refresh_from_db()
    assert (product.compare_at_price, product.barcode, product.version) == (None, "", 1)


def test_a_post_without_a_weight_unit_keeps_the_products(admin_client):
    product = ProductFactory(weight_unit="oz")
    data = change_data(admin_client, product, title="Renamed")
    del data["weight_unit"]
    response = admin_client.post(f"/admin/store/product/{product.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert (product.title, product.weight_unit) == ("Renamed", "oz")
