"""The import's set-based writes (issue 22): staging table, one version-checked UPDATE, history by the database.

The guarantees of the row-by-row path it replaced: a product written by someone else since the
preview is refused and reported, never overwritten; nothing is half-applied; the history rows
are those a save() writes; a revert restores everything; the queries grow with batches, not rows.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from store.importing import writing
from store.importing.plan import RowError
from store.importing.revert import import_revert
from store.importing.service import (
    plan_file,
    product_import,
    product_import_confirm,
    product_import_load_preview,
    product_import_preview,
)
from store.models import Collection, ImportJob, Product, ProductSearchTerm
from store.services import HISTORY_BASELINE_REASON
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db

HEADER = ["sku", "title", "unit_price", "inventory", "collection"]
#: history columns that differ between two products by nature (their keys, when they were written)
OWN = {"history_id", "history_date", "id", "sku", "slug"}


def feed(count: int, *, price: str = "12.50") -> list[list[str]]:
    return [[f"P-{n}", f"Product {n}", price, str(n + 100), "Mugs"] for n in range(count)]


@pytest.fixture
def catalog():
    mugs = CollectionFactory(title="Mugs")

    def make(count: int) -> list[Product]:
        return [
            ProductFactory.create(
                sku=f"P-{n}", title=f"Product {n}", unit_price=Decimal("10.00"), inventory=n, collection=mugs
            )
            for n in range(count)
        ]

    return make


def history(product: Product) -> list[dict]:
    rows = Product.history.filter(id=product.pk).order_by("history_id").values()
    return [{name: value for name, value in row.items() if name not in OWN} for row in rows]


def test_a_version_moved_under_the_update_refuses_the_import_and_writes_nothing(catalog, write_csv, monkeypatch):
    """The UPDATE … JOIN is itself version-checked: the pre-check's lock aside (SQLite has none)."""
    products = catalog(3)
    plan = plan_file(path=write_csv(feed(3), header=HEADER), file_name="f.csv")
    Product.objects.filter(pk=products[1].pk).update(inventory=99, version=7)  # someone saves it meanwhile
    monkeypatch.setattr(writing, "_find_conflicts", lambda _plan: [])  # as if it moved after the check
    with pytest.raises(writing.ImportConflict) as refused:
        writing.apply_plan(plan)
    assert [(e.row, e.column, e.value, e.reason) for e in refused.value.conflicts] == [
        (3, "sku", "P-1", writing.ERROR_CONFLICT_VERSION)
    ]
    assert refused.value.messages == [writing.ERROR_CONFLICTS.format(count=1)]
    assert sorted(Product.objects.values_list("sku", "inventory", "version")) == [
        ("P-0", 0, 1),
        ("P-1", 99, 7),
        ("P-2", 2, 1),
    ]
    assert not Product.history.filter(history_change_reason="Import").exists()


def test_a_concurrent_edit_is_refused_and_reported_and_nothing_is_written(catalog, write_csv):
    products = catalog(3)
    preview = product_import_preview(path=write_csv(feed(3), header=HEADER), file_name="f.csv")
    Product.objects.filter(pk=products[2].pk).update(unit_price=Decimal("99.00"), version=2)
    outcome = product_import_confirm(job=preview.job)
    assert not outcome.written
    job = ImportJob.objects.get(pk=preview.job.pk)
    assert (job.status, job.updated_count, job.error_count) == (ImportJob.STATUS_FAILED, 0, 1)
    failed = job.failed_rows.read().decode("utf-8-sig")
    assert f"row 4: sku: {writing.ERROR_CONFLICT_VERSION}" in failed
    assert sorted(Product.objects.values_list("unit_price", flat=True)) == [Decimal("10.00")] * 2 + [Decimal("99.00")]


def test_with_skip_invalid_the_others_are_written(catalog, write_csv):
    products = catalog(3)
    preview = product_import_preview(path=write_csv(feed(3), header=HEADER), file_name="f.csv")
    Product.objects.filter(pk=products[0].pk).update(unit_price=Decimal("99.00"), version=2)
    outcome = product_import_confirm(job=preview.job, skip_invalid=True)
    assert outcome.written
    job = ImportJob.objects.get(pk=preview.job.pk)
    assert (job.status, job.updated_count, job.error_count) == (ImportJob.STATUS_PARTIAL, 2, 1)
    assert sorted(Product.objects.values_list("sku", "unit_price", "inventory", "version")) == [
        ("P-0", Decimal("99.00"), 0, 2),
        ("P-1", Decimal("12.50"), 101, 2),
        ("P-2", Decimal("12.50"), 102, 2),
    ]
    reason = f"Import #{job.pk} (f.csv)"
    assert sorted(Product.history.filter(history_change_reason=reason).values_list("sku", flat=True)) == ["P-1", "P-2"]


def test_the_history_of_a_batch_is_what_a_save_writes(write_csv, admin_user):
    """Same columns, reason, user and type as simple-history's row for the same change saved one by one."""
    mugs = CollectionFactory(title="Mugs")
    imported, saved = (
        ProductFactory(
            sku=sku, title="Mug", description="A mug.", unit_price=Decimal("10.00"), inventory=3, collection=mugs
        )
        for sku in ("P-0", "TWIN")
    )
    Product.history.all().delete()  # written in bulk, as a seeded catalog: a baseline comes first
    path = write_csv([["P-0", "Renamed", "12.50", "7", "Mugs"]], header=HEADER)
    outcome = product_import(path=path, file_name="f.csv", user=admin_user)
    assert outcome.job.updated_count == 1
    reason = f"Import #{outcome.job.pk} (f.csv)"
    # The row-by-row way: a baseline of the untouched product, then a save of the same change.
    Product.history.bulk_history_create(
        [saved], update=True, default_change_reason=HISTORY_BASELINE_REASON, default_date=saved.last_update
    )
    saved.title, saved.unit_price, saved.inventory = "Renamed", Decimal("12.50"), 7
    saved._change_reason = reason
    saved._history_user = admin_user
    saved.save()
    assert history(Product.objects.get(pk=imported.pk)) == history(saved)
    assert [row["history_type"] for row in history(saved)] == ["~", "~"]


def test_a_created_product_is_recorded_as_a_save_records_it(write_csv, admin_user):
    CollectionFactory(title="Mugs")
    outcome = product_import(
        path=write_csv([["NEW-1", "New one", "3.00", "4", "Mugs"]], header=HEADER), file_name="f.csv", user=admin_user
    )
    created = Product.objects.get(sku="NEW-1")
    twin = Product(
        sku="NEW-2",
        slug="new-2",
        title="New one",
        unit_price=Decimal("3.00"),
        inventory=4,
        collection=created.collection,
    )
    twin._change_reason = f"Import #{outcome.job.pk} (f.csv)"
    twin._history_user = admin_user
    twin.save()
    assert history(created) == history(twin)
    assert history(created)[0]["history_type"] == "+"


def test_a_revert_of_a_set_based_import_restores_everything(catalog, write_csv, admin_user):
    products = catalog(3)
    before = sorted(Product.objects.values_list("sku", "title", "unit_price", "inventory"))
    path = write_csv([*feed(3), ["NEW-1", "New one", "3.00", "4", "Mugs"]], header=HEADER)
    outcome = product_import(path=path, file_name="f.csv", user=admin_user)
    assert (outcome.job.updated_count, outcome.job.created_count) == (3, 1)
    import_revert(job=outcome.job, user=admin_user)
    assert sorted(Product.objects.values_list("sku", "title", "unit_price", "inventory")) == before
    assert all(product.version < Product.objects.get(pk=product.pk).version for product in products)


def test_the_queries_of_an_update_import_grow_with_batches_not_rows(catalog, write_csv, django_assert_max_num_queries):
    catalog(300)
    small = plan_file(path=write_csv(feed(30), header=HEADER, name="small.csv"), file_name="small.csv")
    with CaptureQueriesContext(connection) as queries:
        writing.apply_plan(small)
    large = plan_file(path=write_csv(feed(300, price="13.00"), header=HEADER, name="large.csv"), file_name="large.csv")
    with django_assert_max_num_queries(len(queries)):
        result = writing.apply_plan(large)
    assert result.updated == 300
    assert len(queries) <= 20


# --- New products: their SKUs and slugs left to the unique indexes until one refuses ----------
NEW_HEADER = ["sku", "title", "slug", "unit_price", "inventory", "collection"]


def new_rows() -> list[list[str]]:
    return [
        ["N-1", "New one", "new-one", "5.00", "1", "Mugs"],
        ["N-2", "New two", "new-two", "6.00", "2", "Only N-2's"],
        ["N-3", "New three", "new-three", "7.00", "3", "Mugs"],
    ]


def test_a_sku_taken_since_the_preview_is_reported_and_nothing_is_written(write_csv):
    CollectionFactory(title="Mugs")
    preview = product_import_preview(path=write_csv(new_rows(), header=NEW_HEADER), file_name="f.csv")
    ProductFactory(sku="N-3", slug="someone-elses")  # created meanwhile
    terms, history = ProductSearchTerm.objects.count(), Product.history.count()
    outcome = product_import_confirm(job=preview.job)
    assert not outcome.written
    job = ImportJob.objects.get(pk=preview.job.pk)
    assert (job.status, job.created_count, job.error_count) == (ImportJob.STATUS_FAILED, 0, 1)
    assert job.message == writing.ERROR_CONFLICTS.format(count=1)
    failed = job.failed_rows.read().decode("utf-8-sig")
    assert f"row 4: sku: {writing.ERROR_CONFLICT_SKU}" in failed
    assert list(Product.objects.values_list("sku", flat=True)) == ["N-3"]
    assert (ProductSearchTerm.objects.count(), Product.history.count()) == (terms, history)
    assert not Collection.objects.filter(title="Only N-2's").exists()


def test_with_skip_invalid_a_taken_slug_skips_its_row_only(write_csv):
    CollectionFactory(title="Mugs")
    preview = product_import_preview(path=write_csv(new_rows(), header=NEW_HEADER), file_name="f.csv")
    ProductFactory(sku="THEIRS", slug="new-two")  # N-2's slug, taken meanwhile
    progress: list[tuple[str, int]] = []
    plan = product_import_load_preview(job=preview.job)
    result = writing.apply_plan(plan, skip_invalid=True, progress=lambda *step: progress.append(step))
    assert (result.created, result.conflicts) == (2, [RowError(3, "slug", "new-two", writing.ERROR_CONFLICT_SLUG)])
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["N-1", "N-3", "THEIRS"]
    assert not Collection.objects.filter(title="Only N-2's").exists()  # only the skipped row used it
    # The rows written, once: the refused first attempt's are not counted again.
    assert sum(advance for stage, advance in progress if stage == "writing") == 2
    new = Product.objects.filter(sku__in=["N-1", "N-3"])
    assert set(Product.history.filter(history_change_reason="Import").values_list("sku", flat=True)) == {"N-1", "N-3"}
    assert set(ProductSearchTerm.objects.filter(product__in=new).values_list("term", flat=True)) >= {"n", "new"}
    assert not ProductSearchTerm.objects.exclude(product__in=Product.objects.all()).exists()


def test_the_new_products_skus_slugs_and_terms_are_not_probed_again_when_writing(write_csv):
    """Planning read the SKUs and slugs; the unique indexes refuse one taken since (the tests above)."""
    CollectionFactory(title="Mugs")
    rows = [[f"N-{n}", f"New {n}", f"new-{n}", "5.00", "1", "Mugs"] for n in range(30)]
    plan = plan_file(path=write_csv(rows, header=NEW_HEADER), file_name="f.csv")
    with CaptureQueriesContext(connection) as queries:
        assert writing.apply_plan(plan).created == 30
    products = f"FROM {connection.ops.quote_name(Product._meta.db_table)} "
    probes = [query["sql"] for query in queries if query["sql"].startswith("SELECT") and products in query["sql"]]
    # One read of the rows just written (their ids and terms), a range of ids; no SKU or slug probe.
    assert len(probes) == 1, probes
    assert "slug" not in probes[0]
    assert f"WHERE {connection.ops.quote_name('id')} > " in probes[0]
    # Their ids were never used (the database's counter): no terms of theirs to delete first.
    terms = connection.ops.quote_name(ProductSearchTerm._meta.db_table)
    assert not [query["sql"] for query in queries if query["sql"].startswith(f"DELETE FROM {terms}")]


def test_a_product_added_by_someone_else_among_the_new_ids_is_not_taken_for_one_of_the_imports(
    write_csv, monkeypatch, admin_user
):
    """The new products are read back by id from the greatest id before the INSERTs: a product
    another writer adds in between gets an id in that range, and is passed over (no terms, no
    "+" history row of this import), while each new product gets its own."""
    mugs = CollectionFactory(title="Mugs")
    rows = [[f"N-{n}", f"New {n}", f"new-{n}", "5.00", "1", "Mugs"] for n in range(5)]
    plan = plan_file(path=write_csv(rows, header=NEW_HEADER), file_name="f.csv")
    monkeypatch.setattr(writing, "BATCH", 2)  # three INSERTs: another product lands between the first two
    insert = writing.execute_many
    calls = []

    def insert_then_someone_else(sql, params):
        written = insert(sql, params)
        if not calls and "store_product" in sql:
            other = ProductFactory.build(sku="OTHER-1", title="Other", slug="other-1", collection=mugs)
            Product.objects.bulk_create([other])  # no save(): no terms, no history of its own
        calls.append(sql)
        return written

    monkeypatch.setattr(writing, "execute_many", insert_then_someone_else)
    assert writing.apply_plan(plan, user=admin_user, reason="Import").created == 5
    other = Product.objects.get(sku="OTHER-1")
    new = list(Product.objects.filter(sku__startswith="N-").order_by("id"))
    assert new[0].pk < other.pk < new[-1].pk  # in the range read back
    assert not ProductSearchTerm.objects.filter(product=other).exists()
    assert not Product.history.filter(id=other.pk).exists()
    for product in new:
        terms = set(ProductSearchTerm.objects.filter(product=product).values_list("term", flat=True))
        assert {product.sku.split("-")[1], "new"} <= terms
        assert list(Product.history.filter(id=product.pk).values_list("history_type", flat=True)) == ["+"]


def test_new_products_read_back_out_of_order_are_found_by_their_sku(write_csv):
    """``_written`` pairs each create with its row even when the ids are not in ``creates``' order
    (never seen: then those left are read by SKU)."""
    CollectionFactory(title="Mugs")
    rows = [[f"N-{n}", f"New {n}", f"new-{n}", "5.00", "1", "Mugs"] for n in range(4)]
    plan = plan_file(path=write_csv(rows, header=NEW_HEADER), file_name="f.csv")
    before = writing._greatest_id()
    writing.apply_plan(plan)
    creates = [plan.creates[2], plan.creates[0], plan.creates[3], plan.creates[1]]
    pairs = [(create.sku, found.sku) for chunk, found_rows in writing._written(creates, after=before)
             for create, found in zip(chunk, found_rows, strict=True)]  # fmt: skip
    assert sorted(pairs) == [(f"N-{n}", f"N-{n}") for n in range(4)]
