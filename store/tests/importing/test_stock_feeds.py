"""Stock and price feeds: a native file without a title column (issue 20 §3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from store.importing import presets
from store.importing.service import product_import
from store.models import ImportJob, Product
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

FEED = ["sku", "unit_price", "inventory"]


def test_a_stock_and_price_feed_is_a_native_file(write_csv):
    ProductFactory(sku="A-1", title="Alpha", unit_price=Decimal("10.00"), inventory=5)
    ProductFactory(sku="A-2", title="Beta", unit_price=Decimal("20.00"), inventory=1)
    path = write_csv([["A-1", "12.50", "7"], ["A-2", "20.00", "0"]], header=FEED)
    outcome = product_import(path=path, file_name=path.name)
    assert outcome.plan is not None, outcome.job.message
    assert outcome.plan.preset == presets.PRESET_NATIVE
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED
    assert (outcome.job.updated_count, outcome.job.error_count) == (2, 0)
    got = dict(Product.objects.values_list("sku", "unit_price"))
    assert got == {"A-1": Decimal("12.50"), "A-2": Decimal("20.00")}
    assert dict(Product.objects.values_list("sku", "inventory")) == {"A-1": 7, "A-2": 0}
    assert set(Product.objects.values_list("title", flat=True)) == {"Alpha", "Beta"}  # untouched


def test_a_feed_row_for_an_unknown_sku_needs_a_title(write_csv):
    ProductFactory(sku="A-1", unit_price=Decimal("10.00"), inventory=5)
    path = write_csv([["A-1", "11.00", "5"], ["NEW-1", "9.00", "3"]], header=FEED)
    outcome = product_import(path=path, file_name=path.name)
    assert outcome.job.status == ImportJob.STATUS_FAILED
    assert [(e.row, e.column, e.value, e.reason) for e in outcome.plan.errors] == [
        (3, "collection", "", "required for a new product"),
        (3, "title", "", "required for a new product"),
    ]
    assert Product.objects.get(sku="A-1").unit_price == Decimal("10.00")  # all or nothing


def test_a_header_with_an_unknown_column_and_no_title_is_not_native(write_csv):
    path = write_csv([["A-1", "12.50", "x"]], header=["sku", "unit_price", "colour"])
    outcome = product_import(path=path, file_name=path.name)
    assert outcome.plan is None
    assert outcome.job.message.startswith("The header matches no known format")
    assert "only product column names" in outcome.job.message


def test_detect_preset_reads_a_header_of_native_names_only():
    assert presets.detect_preset(["SKU", "Inventory"]) == presets.PRESET_NATIVE
    assert presets.detect_preset(["sku", "title", "colour"]) == presets.PRESET_NATIVE  # colour ignored, as before
    assert presets.detect_preset(["sku", "price"]) is None  # a synonym: the mapping step reads it
    assert presets.detect_preset(["unit_price", "inventory"]) is None  # no sku
