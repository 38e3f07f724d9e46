"""The API serves the fields stores keep, for published (active) products only; never the cost."""

from decimal import Decimal

import pytest

from store.models import Product
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_a_published_product_carries_the_store_fields_but_not_its_cost(api):
    product = ProductFactory(
        unit_price=Decimal("20.00"),
        vendor="Acme",
        barcode="4006381333931",
        compare_at_price=Decimal("25.00"),
        cost_per_item=Decimal("8.00"),
        weight=Decimal("0.250"),
        weight_unit="kg",
        seo_title="Shirt",
        seo_description="Soft cotton.",
    )
    body = api.get(f"/api/products/{product.pk}/").json()
    assert {name: body[name] for name in ("vendor", "barcode", "compare_at_price", "weight", "weight_unit")} == {
        "vendor": "Acme",
        "barcode": "4006381333931",
        "compare_at_price": "25.00",
        "weight": "0.250",
        "weight_unit": "kg",
    }
    assert (body["seo_title"], body["seo_description"]) == ("Shirt", "Soft cotton.")
    assert "cost_per_item" not in body
    listed = api.get("/api/products/").json()["results"]
    assert [row["barcode"] for row in listed] == ["4006381333931"]


@pytest.mark.parametrize("status", [Product.Status.DRAFT, Product.Status.ARCHIVED])
def test_an_unpublished_products_store_fields_are_not_served(api, status):
    product = ProductFactory(status=status, vendor="Secret Supplier", barcode="96385074")
    assert api.get(f"/api/products/{product.pk}/").status_code == 404
    assert b"Secret Supplier" not in api.get("/api/products/").content


def test_the_list_costs_the_same_queries_with_the_store_fields(api, django_assert_max_num_queries):
    ProductFactory.create_batch(30, vendor="Acme", compare_at_price=Decimal("30.00"))
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/products/?page_size=30").json()["results"]) == 30
