"""Property-based: random malformed files never crash the service and never half-write."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.importing.service import product_import
from store.models import Collection, ImportJob, Product
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

COLUMNS = [
    "sku",
    "title",
    "slug",
    "description",
    "unit_price",
    "inventory",
    "collection",
    "tags",
    "promotions",
    "SKU",
    "Name",
    "Regular price",
    "Handle",
    "Variant SKU",
    "junk",
]
CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "A-1",
            "A-2",
            "12.50",
            "0",
            "-1",
            "1e9",
            "NaN",
            "=cmd",
            "'=x",
            "x" * 300,
            "a,b",
            "10,5",
            "2.5",
            "Clothing > Hoodies",
            "é",
            "\u202e",
            "taken",
            "1,2",
            "999999999999",
        ]
    ),
    st.text(max_size=20),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.decimals(allow_nan=True, allow_infinity=True, places=3).map(str),
)


def snapshot():
    return (
        sorted(Product.objects.values_list("sku", "title", "unit_price", "inventory", "version", "collection_id")),
        Collection.objects.count(),
        Product.promotions.through.objects.count(),
    )


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=0, max_size=8))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(header) + 2), max_size=6))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=draw(st.sampled_from([",", ";"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        cut = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:cut] + draw(st.binary(max_size=30))
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=csv_files(), skip_invalid=st.booleans())
def test_random_files_never_crash_and_never_half_write(data, skip_invalid):
    if not Product.objects.filter(sku="A-1").exists():
        ProductFactory(sku="A-1", slug="taken")
    before = snapshot()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes(data)
        outcome = product_import(path=path, file_name="fuzz.csv", skip_invalid=skip_invalid)
    job = outcome.job
    assert job.status in {ImportJob.STATUS_SUCCEEDED, ImportJob.STATUS_PARTIAL, ImportJob.STATUS_FAILED}
    if job.status == ImportJob.STATUS_FAILED:
        assert snapshot() == before
    if job.status == ImportJob.STATUS_SUCCEEDED:
        assert job.error_count == 0
    if outcome.plan is not None and outcome.plan.errors and not skip_invalid:
        assert job.status == ImportJob.STATUS_FAILED
    for product in Product.objects.all():
        product.full_clean()
