"""The product column table: one declaration per column, which import, export and preview loop over."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from store.admin.imports import _ChangeRows
from store.exports.resources import ProductResource
from store.fileformat.columns import ProductColumn, TextColumn, product_columns, register_column, unregister_column
from store.importing.service import plan_file, product_import
from store.models import Collection, Product
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

ROW = {"sku": "C-1", "title": "Columned", "unit_price": "5", "inventory": "1", "collection": "C"}
HEADER = [*ROW, "grade"]


class GradeColumn(ProductColumn):
    """A throwaway column of another app, with rows of its own (here: a dict)."""

    name, label, synonyms = "grade", "Grade", ("quality",)

    def __init__(self) -> None:
        self.stored: dict[int, str] = {}

    def parse(self, raw: str) -> str:
        value = raw.strip().upper()
        if value and value not in ("A", "B"):
            raise ValidationError("grade must be A or B")
        return value

    def empty(self) -> str:
        return ""

    def current(self, product_ids: Sequence[int]) -> dict[int, str]:
        return {pk: self.stored[pk] for pk in product_ids if pk in self.stored}

    def write(self, values: dict[int, Any]) -> None:
        self.stored.update(values)


@pytest.fixture
def grade():
    column = GradeColumn()
    register_column(column)
    yield column
    unregister_column(column.name)


def test_names_and_synonyms_are_lower_case_and_name_one_column_each() -> None:
    seen: dict[str, str] = {}
    for column in product_columns():
        for name in (column.name, *column.synonyms):
            assert name == name.lower().strip(), name
            assert seen.setdefault(name, column.name) == column.name, f"{name!r}: {seen[name]} and {column.name}"


def test_text_limits_come_from_the_model_fields():
    by_name = {column.name: column for column in product_columns()}
    for name in ("sku", "title", "slug"):
        column = by_name[name]
        assert isinstance(column, TextColumn)
        assert column.max_length == Product._meta.get_field(name).max_length
    with pytest.raises(ValidationError, match="at most 64"):
        by_name["sku"].parse("x" * 65)


def test_a_core_column_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="store's own"):
        register_column(TextColumn("title", label="Title again"))


def test_a_registered_column_is_imported_previewed_and_exported_like_a_core_one(write_csv, grade):
    plan = plan_file(path=write_csv([{**ROW, "grade": "a"}], header=HEADER), file_name="f.csv")
    assert ("grade", "", "A") in _ChangeRows(plan)[0][3]
    product_import(path=write_csv([{**ROW, "grade": "a"}], header=HEADER), file_name="f.csv")
    product = Product.objects.get(sku="C-1")
    assert grade.stored == {product.pk: "A"}

    outcome = product_import(path=write_csv([{**ROW, "grade": "b"}], header=HEADER), file_name="f.csv")
    assert outcome.plan.updates[0].changes == {"grade": ("A", "B")}
    assert grade.stored == {product.pk: "B"}

    dataset = ProductResource().export(queryset=Product.objects.all())
    assert dataset.headers[-1] == "grade"
    assert dataset.dict[0]["grade"] == "B"


def test_a_registered_columns_errors_name_the_row_and_column(write_csv, grade):
    outcome = product_import(path=write_csv([{**ROW, "grade": "z"}], header=HEADER), file_name="f.csv")
    assert [(e.row, e.column, e.value, e.reason) for e in outcome.plan.errors] == [
        (2, "grade", "z", "grade must be A or B")
    ]
    assert not Product.objects.exists()
    assert grade.stored == {}


def test_a_column_missing_from_the_header_is_left_alone(write_csv, grade):
    product = ProductFactory(
        sku="C-1",
        title="Columned",
        unit_price=Decimal("5.00"),
        inventory=1,
        collection=Collection.objects.create(title="C"),
    )
    grade.stored[product.pk] = "A"
    outcome = product_import(path=write_csv([{**ROW, "title": "Renamed"}], header=list(ROW)), file_name="f.csv")
    assert outcome.plan.updates[0].changes == {"title": ("Columned", "Renamed")}
    assert grade.stored == {product.pk: "A"}


@pytest.mark.parametrize("url", ["http://[::1", "http://[not-an-address]/a.png", "https://x]/a.png"])
def test_a_malformed_image_url_is_a_row_error_naming_the_url(write_csv, url):
    """urlsplit raises ValueError on a malformed bracketed host: the row's error, not a crash."""
    header = [*ROW, "images"]
    outcome = product_import(
        path=write_csv([{**ROW, "images": f"http://a.example/ok.png|{url}"}], header=header), file_name="f.csv"
    )
    assert [(e.row, e.column, e.reason) for e in outcome.plan.errors] == [(2, "images", f"not an http(s) URL: {url!r}")]
    assert outcome.job.status == "failed"
    assert not Product.objects.exists()
