"""The tags column: imported as generic TaggedItems, exported, previewed."""

from __future__ import annotations

import pytest

from store.exports.resources import ProductResource
from store.importing.modes import ModeChoice
from store.importing.service import plan_file, product_import
from store.models import Product
from store.tests.factories import ProductFactory
from tags.models import Tag, TaggedItem

pytestmark = pytest.mark.django_db

ROW = {"sku": "T-1", "title": "Tagged", "unit_price": "5", "inventory": "1", "collection": "C"}


def labels(sku: str) -> list[str]:
    product = Product.objects.get(sku=sku)
    return sorted(item.tag.label for item in TaggedItem.objects.get_tags_for(Product, product.pk))


def test_tags_are_created_attached_replaced_and_previewed(write_csv, django_assert_max_num_queries):
    Tag.objects.create(label="eco")
    plan = plan_file(path=write_csv([{**ROW, "tags": "eco, summer,  summer , Winter"}]), file_name="f")
    assert plan.notes == ["2 new tag(s) will be created: summer, Winter"]
    product_import(path=write_csv([{**ROW, "tags": "eco, summer,  summer , Winter"}]), file_name="f")
    assert labels("T-1") == ["Winter", "eco", "summer"]
    outcome = product_import(path=write_csv([{**ROW, "tags": "eco"}]), file_name="f")
    assert outcome.plan.updates[0].changes == {"tags": ("eco, summer, Winter", "eco")}
    assert labels("T-1") == ["eco"]
    assert Tag.objects.count() == 3  # tags stay; only the product's links change


def test_unchanged_tags_count_as_unchanged_and_export_includes_them(write_csv):
    product_import(path=write_csv([{**ROW, "tags": "b, a"}]), file_name="f")
    again = product_import(path=write_csv([{**ROW, "tags": "a,b"}]), file_name="f")
    assert again.job.unchanged_count == 1
    dataset = ProductResource().export(queryset=Product.objects.all())
    assert dataset.dict[0]["tags"] == "a, b"


def test_tag_too_long_is_a_row_error(write_csv):
    outcome = product_import(path=write_csv([{**ROW, "tags": "x" * 101}]), file_name="f")
    assert [(e.column, e.reason) for e in outcome.plan.errors] == [
        ("tags", "tag 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' is too long: at most 100 characters")
    ]
    assert not Product.objects.exists()
    assert not Tag.objects.exists()


def test_tag_queries_are_bulk(write_csv, django_assert_max_num_queries):
    ProductFactory.create_batch(3)
    rows = [{**ROW, "sku": f"T-{i}", "tags": f"t{i % 7}, common"} for i in range(1200)]
    with django_assert_max_num_queries(45):
        product_import(path=write_csv(rows), file_name="f")
    assert TaggedItem.objects.count() == 2400


# --- Import modes (issue 20 §3): a blank tags cell --------------------------------------------
def test_a_blank_tags_cell_clears_them_unless_blank_cells_keep(write_csv):
    product_import(path=write_csv([{**ROW, "tags": "eco, summer"}]), file_name="f")
    kept = product_import(path=write_csv([{**ROW, "tags": ""}]), file_name="f", mode=ModeChoice(keep_blank=True))
    assert kept.job.unchanged_count == 1
    assert labels("T-1") == ["eco", "summer"]
    cleared = product_import(path=write_csv([{**ROW, "tags": ""}]), file_name="f")
    assert cleared.plan.updates[0].changes == {"tags": ("eco, summer", "")}
    assert labels("T-1") == []
