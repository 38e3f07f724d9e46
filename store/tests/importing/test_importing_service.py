"""The import service, without HTTP: upsert, round trip, atomicity, every malformed case, presets."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook

from store.exports.formats import render
from store.exports.resources import ProductResource
from store.importing import parsing, planning, presets, service, writing
from store.importing import variants as rules
from store.importing.service import (
    plan_file,
    product_import,
    product_import_confirm,
    product_import_preview,
)
from store.models import Collection, ImportJob, Product
from store.tests.conftest import DATA
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory

pytestmark = pytest.mark.django_db

ROW = {"sku": "A-1", "title": "Alpha", "unit_price": "10.00", "inventory": "5", "collection": "Apparel"}


def run(path: Path, **kwargs):
    return product_import(path=path, file_name=path.name, **kwargs)


def only_error(path: Path, **kwargs) -> planning.RowError:
    outcome = run(path, **kwargs)
    assert outcome.job.status == ImportJob.STATUS_FAILED
    assert len(outcome.plan.errors) == 1, outcome.plan.errors
    return outcome.plan.errors[0]


def file_error(path: Path, **kwargs) -> str:
    outcome = run(path, **kwargs)
    assert outcome.plan is None
    assert outcome.job.status == ImportJob.STATUS_FAILED
    assert not Product.objects.exists()
    return outcome.job.message


# --- upsert, unchanged, round trip ------------------------------------------------
def test_new_rows_are_created_with_unique_slugs_and_new_collections(write_csv):
    path = write_csv([ROW, {**ROW, "sku": "A-2"}, {**ROW, "sku": "A-3", "collection": "apparel"}])
    outcome = run(path)
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED
    assert (outcome.job.created_count, outcome.job.error_count) == (3, 0)
    assert outcome.plan.new_collections == ["Apparel"]
    assert sorted(Product.objects.values_list("slug", flat=True)) == ["alpha", "alpha-2", "alpha-3"]
    assert Collection.objects.get().title == "Apparel"
    assert set(Product.objects.values_list("version", flat=True)) == {1}


def test_upsert_updates_only_changed_fields_and_counts_unchanged(write_csv):
    collection = CollectionFactory(title="Apparel")
    kept = ProductFactory(sku="A-1", title="Alpha", unit_price=Decimal("10.00"), inventory=5, collection=collection)
    changed = ProductFactory(sku="A-2", title="Beta", unit_price=Decimal("10.00"), inventory=5, collection=collection)
    header = ["sku", "title", "unit_price", "inventory", "collection"]
    path = write_csv(
        [
            {**ROW},
            {**ROW, "sku": "A-2", "title": "Beta", "unit_price": "12.5", "inventory": "5"},
            {**ROW, "sku": "A-3", "title": "Gamma"},
        ],
        header=header,
    )
    outcome = run(path)
    job = outcome.job
    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 1, 1)
    update = outcome.plan.updates[0]
    assert update.changes == {"unit_price": ("10.00", "12.50")}
    changed.refresh_from_db()
    kept.refresh_from_db()
    assert changed.unit_price == Decimal("12.50")
    assert changed.version == 2
    assert changed.description != ""
    assert changed.slug.startswith("product-")
    assert kept.version == 1


def test_updates_are_recorded_in_the_change_history_with_who_and_why(write_csv, admin_user):
    collection = CollectionFactory(title="Apparel")
    tracked, untracked = (
        ProductFactory(sku=sku, title="Alpha", unit_price=Decimal("10.00"), inventory=5, collection=collection)
        for sku in ("A-1", "A-2")
    )
    Product.history.filter(id=untracked.pk).delete()  # as if written by seed_catalog or a bulk import
    path = write_csv(
        [{**ROW, "unit_price": "12.50"}, {**ROW, "sku": "A-2", "inventory": "0"}],
        header=["sku", "title", "unit_price", "inventory"],
    )

    job = run(path, user=admin_user).job

    for product, field, old, new in [
        (tracked, "unit_price", Decimal("10.00"), Decimal("12.50")),
        (untracked, "inventory", 5, 0),
    ]:
        latest, previous = Product.history.filter(id=product.pk).order_by("-history_id")[:2]
        assert (latest.history_user, latest.history_change_reason) == (admin_user, f"Import #{job.pk} (products.csv)")
        change = latest.diff_against(previous)
        assert [(c.field, c.old, c.new) for c in change.changes] == [(field, old, new)]


def test_moving_a_product_to_a_new_collection_and_promotions(write_csv):
    promotion = PromotionFactory()
    product = ProductFactory(sku="A-1", collection=CollectionFactory(title="Old"))
    header = ["sku", "title", "collection", "promotions"]
    outcome = run(
        write_csv(
            [{"sku": "A-1", "title": product.title, "collection": "Fresh", "promotions": str(promotion.pk)}],
            header=header,
        )
    )
    assert outcome.plan.updates[0].changes == {
        "collection": ("Old", "Fresh (new)"),
        "promotions": ("", str(promotion.pk)),
    }
    assert outcome.plan.new_collections == ["Fresh"]
    product.refresh_from_db()
    assert product.collection.title == "Fresh"
    assert list(product.promotions.all()) == [promotion]
    again = run(
        write_csv([{"sku": "A-1", "title": product.title, "collection": "Fresh", "promotions": ""}], header=header)
    )
    assert again.plan.updates[0].changes == {"promotions": (str(promotion.pk), "")}
    assert not product.promotions.exists()


def test_round_trip_export_then_import_reports_zero_changes(tmp_path):
    promotion = PromotionFactory()
    products = ProductFactory.create_batch(5)
    products[0].promotions.add(promotion)
    products[1].title = '=HYPERLINK("http://evil")'
    products[1].description = 'line one\nline two, with "quotes"'
    products[1].save()
    for file_format in ("csv", "xlsx"):
        data = render(
            ProductResource().export(queryset=Product.objects.all(), force_native_type=file_format == "xlsx"),
            file_format=file_format,
        )
        path = tmp_path / f"export.{file_format}"
        path.write_bytes(data)
        outcome = run(path)
        assert outcome.plan.errors == []
        assert (outcome.job.created_count, outcome.job.updated_count, outcome.job.unchanged_count) == (0, 0, 5)


def test_query_count_does_not_grow_with_rows(write_csv, django_assert_max_num_queries):
    CollectionFactory(title="Apparel")
    path = write_csv([{**ROW, "sku": f"Q-{i}", "title": f"Item {i}"} for i in range(1500)])
    with django_assert_max_num_queries(40):
        outcome = run(path)
    assert outcome.job.created_count == 1500


# --- atomicity and skip-invalid -----------------------------------------------------
def test_one_bad_row_writes_nothing(write_csv):
    path = write_csv([ROW, {**ROW, "sku": "A-2", "unit_price": "abc"}, {**ROW, "sku": "A-3"}])
    outcome = run(path)
    assert outcome.job.status == ImportJob.STATUS_FAILED
    assert outcome.job.message == "1 row(s) have errors; nothing was written."
    assert not Product.objects.exists()
    assert not Collection.objects.exists()


def test_skip_invalid_writes_valid_rows_and_keeps_failed_rows_file(write_csv):
    path = write_csv([ROW, {**ROW, "sku": "A-2", "inventory": "-3"}])
    outcome = run(path, skip_invalid=True)
    assert outcome.job.status == ImportJob.STATUS_PARTIAL
    assert list(Product.objects.values_list("sku", flat=True)) == ["A-1"]
    text = outcome.job.failed_rows.read().decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].endswith(",error")
    assert lines[1].startswith("A-2,Alpha,")
    assert lines[1].endswith("row 3: inventory: negative inventory")


def test_dry_run_writes_nothing(write_csv):
    outcome = run(write_csv([ROW]), dry_run=True)
    assert outcome.job.status == ImportJob.STATUS_DRY_RUN
    assert outcome.job.created_count == 1
    assert not Product.objects.exists()


# --- malformed input: each has its message and writes nothing ----------------------
def test_empty_file(write_bytes):
    assert file_error(write_bytes(b"")) == parsing.ERROR_EMPTY
    assert file_error(write_bytes(b"\r\n \r\n")) == parsing.ERROR_EMPTY


def test_headers_only(write_csv):
    assert file_error(write_csv([])) == parsing.ERROR_HEADERS_ONLY


def test_binary_garbage(write_bytes):
    assert file_error(write_bytes(bytes(range(256)) * 20)) == parsing.ERROR_BINARY
    assert file_error(write_bytes(b"PK\x03\x04garbage-not-a-zip")) == parsing.ERROR_BINARY
    assert file_error(write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)) == parsing.ERROR_LEGACY_XLS


def test_missing_required_columns_are_named(write_csv):
    path = write_csv([["x", "1"]], header=["name", "unit_price"])
    assert file_error(path, preset="native") == "Missing required column(s): sku."
    assert file_error(path).startswith("The header matches no known format")


def test_same_sku_twice_names_the_rows(write_csv):
    outcome = run(write_csv([ROW, {**ROW, "sku": "B"}, {**ROW, "sku": "a-1"}]))
    reasons = {(error.row, error.reason) for error in outcome.plan.errors}
    assert reasons == {
        (2, "SKU 'A-1' appears more than once in the file: rows 2, 4"),
        (4, "SKU 'a-1' appears more than once in the file: rows 2, 4"),
    }
    assert not Product.objects.exists()


def test_same_sku_twice_is_reported_even_when_one_row_has_other_errors(write_csv):
    outcome = run(write_csv([ROW, {**ROW, "unit_price": "abc"}]))
    assert [(e.row, e.column, e.reason) for e in outcome.plan.errors] == [
        (2, "sku", "SKU 'A-1' appears more than once in the file: rows 2, 3"),
        (3, "sku", "SKU 'A-1' appears more than once in the file: rows 2, 3"),
        (3, "unit_price", "not a number"),
    ]


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        ("abc", planning.ERROR_PRICE_NAN),
        ("NaN", planning.ERROR_PRICE_NAN),
        ("0.99", planning.ERROR_PRICE_MIN),
        ("-5", planning.ERROR_PRICE_MIN),
        ("123456789.00", planning.ERROR_PRICE_DIGITS),
        ("1.999", planning.ERROR_PRICE_DIGITS),
        ("1e400", planning.ERROR_PRICE_DIGITS),
    ],
)
def test_bad_prices(write_csv, price, reason):
    error = only_error(write_csv([{**ROW, "unit_price": price}]))
    assert (error.row, error.column, error.value, error.reason) == (2, "unit_price", price, reason)


@pytest.mark.parametrize(
    ("inventory", "reason"),
    [
        ("-1", planning.ERROR_INVENTORY_NEGATIVE),
        ("2.5", planning.ERROR_INVENTORY_INT),
        ("ten", planning.ERROR_INVENTORY_INT),
        ("99999999999", planning.ERROR_INVENTORY_MAX),
    ],
)
def test_bad_inventory(write_csv, inventory, reason):
    error = only_error(write_csv([{**ROW, "inventory": inventory}]))
    assert (error.column, error.value, error.reason) == ("inventory", inventory, reason)


def test_over_long_text(write_csv):
    error = only_error(write_csv([{**ROW, "title": "x" * 256}]))
    assert (error.column, error.reason) == ("title", "too long: 256 characters, at most 255")
    error = only_error(write_csv([{**ROW, "sku": "s" * 65}]))
    assert (error.column, error.reason) == ("sku", "too long: 65 characters, at most 64")


def test_new_product_needs_price_inventory_and_collection(write_csv):
    outcome = run(write_csv([{"sku": "N", "title": "New"}]))
    assert {(e.column, e.reason) for e in outcome.plan.errors} == {
        ("unit_price", "required for a new product"),
        ("inventory", "required for a new product"),
        ("collection", "required for a new product"),
    }


def test_file_over_the_size_limit(write_csv, settings):
    settings.IMPORT_MAX_FILE_BYTES = 100
    path = write_csv([ROW] * 5)
    message = file_error(path)
    assert message == parsing.ERROR_TOO_LARGE.format(size=path.stat().st_size, limit=100)


def test_unknown_promotion_and_taken_slug(write_csv):
    ProductFactory(slug="taken", sku="OTHER")
    outcome = run(write_csv([{**ROW, "promotions": "999"}, {**ROW, "sku": "A-2", "slug": "taken"}]))
    assert {(e.row, e.reason) for e in outcome.plan.errors} == {
        (2, "unknown promotion id(s): 999"),
        (3, "slug already used by SKU 'OTHER'"),
    }


# --- encodings, delimiters, XLSX ------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings(write_csv, encoding):
    run(write_csv([{**ROW, "title": "Crème brûlée – déluxe"}], encoding=encoding))
    assert Product.objects.get().title == "Crème brûlée – déluxe"


def test_semicolon_delimiter_and_lf(write_csv):
    run(write_csv([{**ROW, "unit_price": "1,234.50"}], delimiter=";", lineterminator="\n"))
    assert Product.objects.get().unit_price == Decimal("1234.50")


def test_a_decimal_comma_is_refused_not_guessed_even_in_semicolon_files(write_csv):
    error = only_error(write_csv([{**ROW, "unit_price": "12,50"}], delimiter=";", lineterminator="\n"))
    assert (error.row, error.column, error.value, error.reason) == (
        2,
        "unit_price",
        "12,50",
        planning.ERROR_PRICE_DECIMAL_COMMA,
    )


def test_explicit_wrong_encoding_is_reported(write_csv):
    path = write_csv([{**ROW, "title": "Crème"}], encoding="cp1252")
    assert file_error(path, encoding="utf-8") == parsing.ERROR_ENCODING.format(encoding="utf-8")


def test_xlsx(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["sku", "title", "unit_price", "inventory", "collection"])
    sheet.append(["X-1", "Excel row", 19.99, 3, "Sheets"])
    sheet.append([None, None, None, None, None])
    sheet.append(["X-2", "Second", 5, -1, "Sheets"])
    path = tmp_path / "products.xlsx"
    workbook.save(path)
    outcome = run(path)
    assert [(e.row, e.reason) for e in outcome.plan.errors] == [(4, planning.ERROR_INVENTORY_NEGATIVE)]
    outcome = run(path, skip_invalid=True)
    assert Product.objects.get().unit_price == Decimal("19.99")


def test_xlsx_zip_bomb_is_refused_unread(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    assert path.stat().st_size < 100_000
    assert file_error(path) == parsing.ERROR_ZIP_BOMB


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    assert file_error(path) == parsing.ERROR_NOT_XLSX


# --- concurrency: no lost updates ------------------------------------------------
def test_confirm_detects_a_concurrent_edit_and_writes_nothing(write_csv):
    product = ProductFactory(sku="A-1", title="Alpha", inventory=5, collection=CollectionFactory(title="Apparel"))
    outcome = product_import_preview(
        path=write_csv([{**ROW, "inventory": "7"}, {**ROW, "sku": "NEW"}]), file_name="f.csv"
    )
    # A merchandiser saves the product between preview and confirm (the admin bumps version).
    Product.objects.filter(pk=product.pk).update(inventory=9, version=product.version + 1)
    result = product_import_confirm(job=outcome.job)
    assert not result.written
    assert result.job.message == writing.ERROR_CONFLICTS.format(count=1)
    product.refresh_from_db()
    assert product.inventory == 9
    assert not Product.objects.filter(sku="NEW").exists()
    text = result.job.failed_rows.read().decode("utf-8-sig")
    assert writing.ERROR_CONFLICT_VERSION in text


def test_confirm_with_skip_invalid_skips_only_the_conflicting_row(write_csv):
    product = ProductFactory(sku="A-1", title="Alpha", inventory=5, collection=CollectionFactory(title="Apparel"))
    outcome = product_import_preview(
        path=write_csv([{**ROW, "inventory": "7"}, {**ROW, "sku": "NEW"}]), file_name="f.csv"
    )
    Product.objects.filter(pk=product.pk).update(inventory=9, version=product.version + 1)
    result = product_import_confirm(job=outcome.job, skip_invalid=True)
    assert result.written
    assert result.job.status == ImportJob.STATUS_PARTIAL
    product.refresh_from_db()
    assert product.inventory == 9
    assert Product.objects.filter(sku="NEW").exists()


def test_confirm_twice_writes_once(write_csv):
    outcome = product_import_preview(path=write_csv([ROW]), file_name="f.csv")
    product_import_confirm(job=outcome.job)
    with pytest.raises(ValidationError):
        product_import_confirm(job=ImportJob.objects.get(pk=outcome.job.pk))
    assert Product.objects.count() == 1


def test_update_bumps_version_with_a_conditional_update(write_csv, django_assert_max_num_queries):
    product = ProductFactory(sku="A-1", inventory=5, collection=CollectionFactory(title="Apparel"))
    plan = plan_file(path=write_csv([{**ROW, "inventory": "6"}]), file_name="f.csv")
    Product.objects.filter(pk=product.pk).update(version=5)  # moved after planning
    with pytest.raises(writing.ImportConflict):
        writing.apply_plan(plan)
    product.refresh_from_db()
    assert (product.inventory, product.version) == (5, 5)


# --- presets ------------------------------------------------------------------------
def test_woocommerce_small_file():
    outcome = run(DATA / "woocommerce_small.csv")
    plan = outcome.plan
    assert plan.preset == "woocommerce"
    # a variable product whose variations have no attribute columns has no options to make variants of
    failed = rules.ERROR_PARENT_FAILED.format(sku="W-TEE", row=2)
    assert [(e.row, e.column, e.reason) for e in plan.errors] == [
        (2, "option1_name", rules.ERROR_PARENT_NO_OPTIONS),
        (3, "Parent", failed),
        (4, "Parent", failed),
        (7, "Regular price", presets.ERROR_NO_PRICE),
        (8, "Grouped products", presets.ERROR_WOO_GROUPED_PRICE),
        (9, "Regular price", presets.ERROR_NO_PRICE),
    ]
    assert plan.skipped == []
    assert not Product.objects.exists()  # all or nothing
    outcome = run(DATA / "woocommerce_small.csv", skip_invalid=True)
    got = {p.sku: (p.title, p.unit_price, p.inventory, p.collection.title, p.status) for p in Product.objects.all()}
    assert got == {
        "W-CAP": ("Cap", Decimal("18.00"), 7, "Clothing > Accessories", "active"),  # the regular price
        "W-OLD": ("Old sale cap", Decimal("18.00"), 3, "Clothing > Accessories", "active"),  # sale ended
        "W-DRAFT": ("Draft", Decimal("10.00"), 1, "Misc", "draft"),  # Published -1 (private): a draft
    }


def test_shopify_small_file():
    outcome = run(DATA / "shopify_small.csv", preset="auto", skip_invalid=True)
    plan = outcome.plan
    assert plan.preset == "shopify"
    assert [(e.row, e.column, e.reason) for e in plan.errors] == [(6, "Variant Price", presets.ERROR_NO_VARIANT_PRICE)]
    assert plan.skipped == [(4, presets.SKIP_SHOPIFY_IMAGE_ROW)]
    # the Handle "classic-tee" has a real option (Size): one product with variants, its SKU its Handle
    got = {
        p.sku: (p.title, p.unit_price, p.inventory, (p.parent or p).collection.title, (p.parent or p).description)
        for p in Product.objects.exclude(structure="parent")
    }
    assert got == {
        "S-TEE-S": ("Small", Decimal("19.00"), 4, "Shirts", "<p>Soft</p>"),
        "S-TEE-L": ("Large", Decimal("21.00"), 0, "Shirts", "<p>Soft</p>"),
        "S-MUG": ("Mug", Decimal("8.50"), 12, presets.UNCATEGORIZED, ""),
    }
    tee = Product.objects.get(sku="classic-tee")
    assert (tee.title, tee.option_names, tee.vendor, tee.slug) == ("Classic Tee", ["Size"], "Acme", "classic-tee")


def test_real_woocommerce_export():
    path = Path(settings.BASE_DIR).parent / "shared" / "realworld" / "woocommerce_sample_products.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    outcome = run(path)
    job, plan = outcome.job, outcome.plan
    assert plan.preset == "woocommerce"
    assert job.status == ImportJob.STATUS_SUCCEEDED
    assert (job.rows_total, job.created_count, job.updated_count, job.skipped_count, job.error_count) == (
        24,
        24,
        0,
        0,
        0,
    )
    assert plan.skipped == []
    assert plan.new_collections == [
        "Clothing",
        "Clothing > Accessories",
        "Clothing > Hoodies",
        "Clothing > Tshirts",
        "Donation",
        "Music",
    ]
    hoodie = Product.objects.get(sku="cc-hoodie-red")
    assert (hoodie.title, hoodie.unit_price, hoodie.parent.collection.title) == (
        "Red / No",
        Decimal("45.00"),
        "Clothing > Hoodies",
    )
    assert Product.objects.get(sku="cc-beanie").unit_price == Decimal("20.00")  # the regular price, not the sale
    again = run(path)
    assert (again.job.created_count, again.job.updated_count, again.job.unchanged_count) == (0, 0, 24)


# --- skip invalid leaves no empty collections behind (issue 9, item 13) ---------------
def test_skip_invalid_creates_no_collection_for_a_skipped_invalid_row(write_csv):
    path = write_csv([{**ROW, "collection": "Kept"}, {**ROW, "sku": "A-2", "unit_price": "abc", "collection": "Lost"}])
    outcome = run(path, skip_invalid=True)
    assert outcome.job.status == ImportJob.STATUS_PARTIAL
    assert list(Collection.objects.values_list("title", flat=True)) == ["Kept"]


def test_skip_invalid_confirm_creates_no_collection_for_a_row_skipped_as_a_conflict(write_csv):
    outcome = product_import_preview(
        path=write_csv(
            [
                {**ROW, "collection": "Kept"},
                {**ROW, "sku": "A-2", "collection": "Lost"},
            ]
        ),
        file_name="f.csv",
    )
    assert outcome.plan.new_collections == ["Kept", "Lost"]
    # Someone creates A-2 between preview and confirm: that row is skipped as a conflict.
    ProductFactory(sku="A-2", collection=CollectionFactory(title="Elsewhere"))
    result = product_import_confirm(job=outcome.job, skip_invalid=True)
    assert result.written
    assert result.job.status == ImportJob.STATUS_PARTIAL
    assert sorted(Collection.objects.values_list("title", flat=True)) == ["Elsewhere", "Kept"]
    assert Product.objects.get(sku="A-1").collection.title == "Kept"


# --- unconfirmed previews expire (issue 9, item 14) ------------------------------------
def _age(job: ImportJob, hours: float) -> None:
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=hours))


def test_a_preview_older_than_a_day_expires_and_cannot_be_confirmed(write_csv):
    old = product_import_preview(path=write_csv([ROW]), file_name="old.csv").job
    fresh = product_import_preview(path=write_csv([{**ROW, "sku": "B-1"}]), file_name="fresh.csv").job
    _age(old, 25)
    _age(fresh, 23)
    assert service.plan_exists(old)

    assert service.product_import_expire_previews() == 1

    old.refresh_from_db()
    assert (old.status, old.created_count) == (ImportJob.STATUS_EXPIRED, 0)
    assert old.message == service.MESSAGE_EXPIRED.format(hours=24)
    assert old.finished_at
    assert not service.plan_exists(old)
    with pytest.raises(ValidationError) as refused:
        product_import_confirm(job=old)
    assert refused.value.code == "expired"
    assert refused.value.messages == [service.ERROR_EXPIRED.format(pk=old.pk, hours=24)]
    assert not Product.objects.exists()
    fresh.refresh_from_db()
    assert fresh.status == ImportJob.STATUS_PREVIEW
    assert product_import_confirm(job=fresh).written


def test_confirming_a_stale_preview_expires_it_first(write_csv):
    job = product_import_preview(path=write_csv([ROW]), file_name="old.csv").job
    _age(job, 30)
    with pytest.raises(ValidationError) as refused:
        product_import_confirm(job=ImportJob.objects.get(pk=job.pk))
    assert refused.value.code == "expired"
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.STATUS_EXPIRED
    assert not Product.objects.exists()


def test_a_new_upload_expires_old_previews(write_csv):
    old = product_import_preview(path=write_csv([ROW]), file_name="old.csv").job
    _age(old, 48)
    product_import_preview(path=write_csv([ROW]), file_name="new.csv")
    assert ImportJob.objects.get(pk=old.pk).status == ImportJob.STATUS_EXPIRED


def test_a_preview_whose_plan_is_gone_expires_when_opened(write_csv):
    job = product_import_preview(path=write_csv([ROW]), file_name="f.csv").job
    service._delete_plan(job)
    with pytest.raises(ValidationError):
        service.product_import_load_preview(job=job)
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.STATUS_EXPIRED


def test_confirm_with_errors_without_skip_is_refused_and_keeps_the_preview(write_csv, admin_user):
    path = write_csv([ROW, {**ROW, "sku": "A-2", "unit_price": "abc"}])
    preview = product_import_preview(path=path, file_name=path.name, user=admin_user)
    with pytest.raises(ValidationError) as refused:
        product_import_confirm(job=preview.job, user=admin_user, skip_invalid=False)
    assert refused.value.code == "rows_invalid"
    job = ImportJob.objects.get()
    assert job.status == ImportJob.STATUS_PREVIEW
    assert not Product.objects.exists()
    outcome = product_import_confirm(job=job, user=admin_user, skip_invalid=True)
    assert (outcome.job.status, outcome.job.created_count) == (ImportJob.STATUS_PARTIAL, 1)
