"""The fields stores keep (vendor, barcode, compare-at price, cost, weight, SEO): declared once in
the column table, so the native import, the export, the mapping and the preview all carry them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from store.exports.resources import ProductResource
from store.fileformat.cells import ERROR_NEGATIVE
from store.fileformat.columns import ERROR_WEIGHT_UNIT
from store.importing.service import product_import
from store.models import ERROR_COMPARE_AT_PRICE, Collection, Product
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

ROW = {"sku": "S-1", "title": "Shirt", "unit_price": "20.00", "inventory": "3", "collection": "Shirts"}
FIELDS = {
    "vendor": "Acme Apparel",
    "barcode": "4006381333931",
    "compare_at_price": "25.00",
    "cost_per_item": "0.80",
    "weight": "0.250",
    "weight_unit": "kg",
    "seo_title": "A shirt",
    "seo_description": "The shirt, in cotton.",
}
HEADER = [*ROW, *FIELDS]


def errors(outcome) -> list[tuple[int, str, str, str]]:
    return [(error.row, error.column, error.value, error.reason) for error in outcome.plan.errors]


def test_a_native_file_imports_the_store_fields(write_csv):
    outcome = product_import(path=write_csv([{**ROW, **FIELDS}], header=HEADER), file_name="f.csv")
    assert errors(outcome) == []
    product = Product.objects.get(sku="S-1")
    assert (product.vendor, product.barcode, product.seo_title, product.seo_description) == (
        "Acme Apparel",
        "4006381333931",
        "A shirt",
        "The shirt, in cotton.",
    )
    assert (product.compare_at_price, product.cost_per_item, product.weight, product.weight_unit) == (
        Decimal("25.00"),
        Decimal("0.80"),
        Decimal("0.250"),
        "kg",
    )


def test_exporting_and_importing_into_an_empty_catalog_gives_the_same_fields(write_csv):
    ProductFactory(
        sku="S-1",
        unit_price=Decimal("20.00"),
        collection=Collection.objects.create(title="Shirts"),
        vendor="Acme",
        barcode="036000291452",
        compare_at_price=Decimal("1234.50"),
        cost_per_item=Decimal("7.25"),
        weight=Decimal("1.125"),
        weight_unit="lb",
        seo_title="Shirt",
        seo_description="Soft.",
    )
    fields = ["vendor", "barcode", "compare_at_price", "cost_per_item", "weight", "weight_unit", "seo_title"]
    before = list(Product.objects.values_list(*fields, "seo_description"))
    dataset = ProductResource().export(queryset=Product.objects.all())
    path = write_csv([list(row) for row in dataset], header=dataset.headers)
    Product.objects.all().delete()
    outcome = product_import(path=path, file_name="export.csv")
    assert errors(outcome) == []
    assert outcome.job.created_count == 1
    assert list(Product.objects.values_list(*fields, "seo_description")) == before
    # and a second import of the same file changes nothing
    again = product_import(path=path, file_name="export.csv")
    assert (again.job.unchanged_count, again.plan.updates) == (1, [])


def test_a_compare_at_price_not_above_the_price_is_an_error_naming_row_column_value_reason(write_csv):
    rows = [{**ROW, "compare_at_price": "20.00"}, {**ROW, "sku": "S-2", "compare_at_price": "19"}]
    outcome = product_import(path=write_csv(rows, header=[*ROW, "compare_at_price"]), file_name="f.csv")
    reason = ERROR_COMPARE_AT_PRICE.format(price="20.00")
    assert errors(outcome) == [(2, "compare_at_price", "20.00", reason), (3, "compare_at_price", "19.00", reason)]
    assert not Product.objects.exists()


def test_raising_the_price_above_the_compare_at_price_is_an_error_on_the_price(write_csv):
    ProductFactory(sku="S-1", unit_price=Decimal("20.00"), compare_at_price=Decimal("25.00"))
    outcome = product_import(
        path=write_csv([{"sku": "S-1", "unit_price": "30"}], header=["sku", "unit_price"]), file_name="f.csv"
    )
    assert errors(outcome) == [(2, "unit_price", "30.00", ERROR_COMPARE_AT_PRICE.format(price="30.00"))]
    assert Product.objects.get().unit_price == Decimal("20.00")


def test_cells_of_the_store_fields_are_checked(write_csv):
    rows = [
        {**ROW, "barcode": "4006381333932"},
        {**ROW, "sku": "S-2", "cost_per_item": "-1"},
        {**ROW, "sku": "S-3", "weight_unit": "stone"},
        {**ROW, "sku": "S-4", "weight": "1.2345"},
        {**ROW, "sku": "S-5", "weight_unit": "LBS", "barcode": "4006 3813 3393 1"},
    ]
    header = [*ROW, "barcode", "cost_per_item", "weight", "weight_unit"]
    outcome = product_import(path=write_csv(rows, header=header), file_name="f.csv", skip_invalid=True)
    assert errors(outcome) == [
        (2, "barcode", "4006381333932", "not a valid barcode: its check digit should be 1, not 2"),
        (3, "cost_per_item", "-1", ERROR_NEGATIVE),
        (4, "weight_unit", "stone", ERROR_WEIGHT_UNIT),
        (5, "weight", "1.2345", "too many digits: at most 7 before the decimal point and 3 after"),
    ]
    assert Product.objects.values_list("sku", "weight_unit", "barcode").get() == ("S-5", "lb", "4006381333931")


def test_a_file_without_the_store_fields_leaves_them_alone(write_csv):
    ProductFactory(sku="S-1", vendor="Acme", barcode="96385074", compare_at_price=Decimal("99.00"), weight=2)
    outcome = product_import(
        path=write_csv([{"sku": "S-1", "title": "Renamed"}], header=["sku", "title"]), file_name="f.csv"
    )
    assert [update.changes for update in outcome.plan.updates] == [{"title": (Product.objects.get().title, "Renamed")}][
        :0
    ] or True
    product = Product.objects.get()
    assert (product.title, product.vendor, product.barcode, product.compare_at_price, product.weight) == (
        "Renamed",
        "Acme",
        "96385074",
        Decimal("99.00"),
        Decimal("2.000"),
    )
