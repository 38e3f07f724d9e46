"""Regression tests for imports that wrote wrong data and reported success (issue 9).

Each test names the item of the issue it covers. Files are real CSV/XLSX files on disk.
"""

from __future__ import annotations

import gc
import re
import tracemalloc
import zipfile
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from store.admin.imports import ProductImportForm
from store.importing import parsing, planning, presets
from store.importing.service import product_import, product_import_confirm, product_import_preview
from store.models import ImportJob, Product
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db

HEADER = ["sku", "title", "unit_price", "inventory", "collection"]
ROW = {"sku": "A-1", "title": "Alpha", "unit_price": "10.00", "inventory": "5", "collection": "Apparel"}


def run(path: Path, **kwargs):
    return product_import(path=path, file_name=path.name, **kwargs)


def file_error(path: Path, **kwargs) -> str:
    outcome = run(path, **kwargs)
    assert outcome.plan is None, outcome.plan.errors
    assert outcome.job.status == ImportJob.STATUS_FAILED
    return outcome.job.message


def errors(outcome) -> list[tuple[int, str, str, str]]:
    return [(error.row, error.column, error.value, error.reason) for error in outcome.plan.errors]


# --- item 1: XLSX rows beyond the sheet's <dimension> tag ----------------------------
def lying_xlsx(path: Path, rows: list[list], dimension: str) -> Path:
    """A workbook whose sheet claims ``dimension`` whatever rows it really has."""
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    for row in rows:
        sheet.append(row)
    honest = path.with_name("honest.xlsx")
    workbook.save(honest)
    with zipfile.ZipFile(honest) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(), data)
                assert count == 1
            target.writestr(info, data)
    return path


def test_item1_xlsx_rows_beyond_the_dimension_tag_are_read(tmp_path):
    rows = [HEADER] + [[f"X-{i}", f"Row {i}", 5, i, "Sheets"] for i in range(10)]
    path = lying_xlsx(tmp_path / "lying.xlsx", rows, "A1:E2")
    outcome = run(path)
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.job.message
    assert outcome.job.created_count == 10
    assert Product.objects.count() == 10


def test_item1_xlsx_row_limit_counts_rows_actually_read(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 5
    rows = [HEADER] + [[f"X-{i}", f"Row {i}", 5, i, "Sheets"] for i in range(10)]
    path = lying_xlsx(tmp_path / "lying.xlsx", rows, "A1:E2")
    assert file_error(path) == parsing.ERROR_TOO_MANY_ROWS.format(limit=5)
    assert not Product.objects.exists()


def test_item1_xlsx_that_claims_more_rows_than_it_has_is_not_refused(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 5
    rows = [HEADER] + [[f"X-{i}", f"Row {i}", 5, i, "Sheets"] for i in range(3)]
    path = lying_xlsx(tmp_path / "lying.xlsx", rows, "A1:E900000")
    assert run(path).job.created_count == 3


def test_item1_xlsx_blank_trailing_cells_are_blank_not_missing(tmp_path):
    CollectionFactory(title="Sheets")
    ProductFactory(sku="X-1", title="Old", description="keep me?")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["sku", "title", "inventory", "description"])
    sheet.append(["X-1", "New", 3])  # Excel stores no cell for the blank description
    path = tmp_path / "blank.xlsx"
    workbook.save(path)
    outcome = run(path)
    assert outcome.plan.errors == []
    product = Product.objects.get()
    assert (product.title, product.inventory, product.description) == ("New", 3, "")


# --- item 2: an unterminated quote swallows the following rows -----------------------
def test_item2_unterminated_quote_is_a_file_error_naming_the_row(write_bytes):
    ProductFactory(sku="HOO-5", title="Hoodie", inventory=1)
    data = b'sku,title,inventory\r\nA-0,Fine,1\r\nHOO-5,"Hoodie renamed,5\r\nA-1,x,3\r\nA-2,y,4\r\n'
    message = file_error(write_bytes(data))
    assert message == parsing.ERROR_QUOTE_UNCLOSED.format(row=3, line=3)
    assert Product.objects.get().title == "Hoodie"


def test_item2_quote_closing_inside_a_later_row_is_a_file_error(write_bytes):
    data = b'sku,title,inventory\r\nHOO-5,"Hoodie renamed,5\r\nA-1,"x",3\r\nA-2,y,4\r\n'
    assert file_error(write_bytes(data)) == parsing.ERROR_QUOTE_BROKEN.format(row=2, line=2, end=3)


def test_item2_legitimate_multi_line_quoted_descriptions_import(write_bytes):
    data = (
        b"sku,title,description,unit_price,inventory,collection\r\n"
        b'M-1,One,"first line\r\nsecond, with ""quotes""\r\nthird",5,1,C\r\n'
        b'M-2,Two,"a\nb",5,2,C\r\n'
    )
    outcome = run(write_bytes(data))
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.job.message
    assert Product.objects.get(sku="M-1").description == 'first line\r\nsecond, with "quotes"\r\nthird'
    assert Product.objects.get(sku="M-2").description == "a\nb"


def test_item2_row_numbers_count_records_not_lines(write_bytes):
    data = b'sku,title,description\r\nM-1,One,"two\r\nlines"\r\nM-2,"Two\r\nM-3,Three,x\r\n'
    assert file_error(write_bytes(data)) == parsing.ERROR_QUOTE_UNCLOSED.format(row=3, line=4)


# --- item 3: thousands separators --------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,000", "1000.00"),
        ("2,500", "2500.00"),
        ("10,000", "10000.00"),
        ("1,234.50", "1234.50"),
        ("12,345,678.90", "12345678.90"),
        ("1000", "1000.00"),
        ("19.99", "19.99"),
        (" 1,000 ", "1000.00"),
        ("1 000", "1000.00"),
        ("1\u00a0000.50", "1000.50"),
        ("12 345 678.90", "12345678.90"),
    ],
)
def test_item3_thousands_separators_are_understood(write_csv, text, value):
    outcome = run(write_csv([{**ROW, "unit_price": text}], header=HEADER))
    assert outcome.plan.errors == []
    assert Product.objects.get().unit_price == Decimal(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,5", planning.ERROR_PRICE_DECIMAL_COMMA),
        ("12,50", planning.ERROR_PRICE_DECIMAL_COMMA),
        ("1,00,000", planning.ERROR_PRICE_DECIMAL_COMMA),
        ("1,0000", planning.ERROR_PRICE_DECIMAL_COMMA),
        (",500", planning.ERROR_PRICE_DECIMAL_COMMA),
        ("1,234", None),
        ("1.234,50", planning.ERROR_PRICE_EUROPEAN),
        ("1.000,00", planning.ERROR_PRICE_EUROPEAN),
        ("1,234.5,0", planning.ERROR_PRICE_DECIMAL_COMMA),
        ("1 5", planning.ERROR_NUMBER_SPACES),
        ("2 5.00", planning.ERROR_NUMBER_SPACES),
        ("1 000 0", planning.ERROR_NUMBER_SPACES),
        ("10.5 0", planning.ERROR_NUMBER_SPACES),
    ],
)
def test_item3_ambiguous_commas_are_refused_with_a_reason(write_csv, text, reason):
    outcome = run(write_csv([{**ROW, "unit_price": text}], header=HEADER))
    if reason is None:  # "1,234" is a correctly grouped thousand
        assert Product.objects.get().unit_price == Decimal("1234.00")
        return
    assert errors(outcome) == [(2, "unit_price", text, reason)]
    assert not Product.objects.exists()


def test_item3_the_same_rule_applies_to_every_preset(write_csv):
    woo = write_csv(
        [
            ["W-1", "Woo", "1,000", "", "3", "Cat", "simple", "1"],
            ["W-2", "Woo 2", "12,50", "", "3", "Cat", "simple", "1"],
        ],
        header=["SKU", "Name", "Regular price", "Sale price", "Stock", "Categories", "Type", "Published"],
    )
    outcome = run(woo)
    assert errors(outcome) == [(3, "Regular price", "12,50", planning.ERROR_PRICE_DECIMAL_COMMA)]
    run(woo, skip_invalid=True)
    assert Product.objects.get(sku="W-1").unit_price == Decimal("1000.00")
    shopify = write_csv(
        [["h", "Shop", "S-1", "2,500", "1"]],
        header=["Handle", "Title", "Variant SKU", "Variant Price", "Variant Inventory Qty"],
    )
    run(shopify)
    assert Product.objects.get(sku="S-1").unit_price == Decimal("2500.00")


def test_item3_parse_price_takes_a_convention():
    comma = planning.NumberConvention(decimal=",", thousands=".")
    assert planning.parse_price("1.234,50", convention=comma) == Decimal("1234.50")
    assert planning.parse_price("12,5", convention=comma) == Decimal("12.50")
    with pytest.raises(ValidationError):
        planning.parse_price("1.5", convention=comma)
    assert planning.parse_price("1,000") == Decimal("1000.00")


# --- item 4: a short row clears the missing columns -----------------------------------
def test_item4_a_short_row_is_an_error_never_a_silent_clear(write_bytes):
    ProductFactory(sku="A-1", title="Alpha", description="Keep", inventory=1)
    data = b"sku,title,inventory,description,promotions,slug\r\nA-1,Alpha,7\r\n"
    outcome = run(write_bytes(data))
    assert errors(outcome) == [(2, "", "", presets.ERROR_CELL_COUNT.format(row=2, cells=3, columns=6))]
    assert outcome.job.status == ImportJob.STATUS_FAILED
    product = Product.objects.get()
    assert (product.description, product.inventory) == ("Keep", 1)
    assert "row 2 has 3 cells, the header has 6" in outcome.job.failed_rows.read().decode("utf-8-sig")


def test_item4_a_long_row_is_an_error(write_bytes):
    data = b"sku,title,inventory\r\nA-1,Alpha, with comma,7\r\nA-2,Beta,1,\r\n"
    outcome = run(write_bytes(data))
    assert errors(outcome) == [
        (2, "", "", presets.ERROR_CELL_COUNT.format(row=2, cells=4, columns=3)),
        (3, "", "", presets.ERROR_CELL_COUNT.format(row=3, cells=4, columns=3)),
    ]


def test_item4_trailing_empty_cells_written_by_spreadsheets_are_kept(write_bytes):
    ProductFactory(sku="A-1", title="Alpha", description="Old", inventory=1)
    ProductFactory(sku="A-2", title="Beta", description="Old", inventory=1)
    # As Excel and LibreOffice save them: every row has every separator, quoted or not.
    data = b'sku,title,inventory,description\r\nA-1,"Alpha",2,\r\n"A-2","Beta","3",""\r\n'
    outcome = run(write_bytes(data))
    assert outcome.plan.errors == []
    assert Product.objects.get(sku="A-1").description == ""
    assert Product.objects.get(sku="A-2").inventory == 3


# --- items 16 and 11: encodings, BOMs ------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_item16_utf16_with_bom_is_read(write_bytes, encoding):
    text = "sku,title,unit_price,inventory,collection\r\nU-1,Crème,5,1,Wäsche\r\n"
    data = text.encode(encoding)
    if encoding != "utf-16":
        data = "\ufeff".encode(encoding) + data
    outcome = run(write_bytes(data))
    assert outcome.job.status == ImportJob.STATUS_SUCCEEDED, outcome.job.message
    assert Product.objects.get().title == "Crème"
    assert not any("\ufeff" in note for note in outcome.plan.notes)


@pytest.mark.parametrize("encoding", [None, "utf-8", "utf-8-sig", "UTF-8"])
def test_item16_the_bom_never_shows_in_a_column_name(write_bytes, encoding):
    data = "\ufeffsku,title,junk\r\nA-1,Alpha,x\r\n".encode()
    ProductFactory(sku="A-1", title="Alpha")
    outcome = run(write_bytes(data), encoding=encoding)
    assert outcome.plan.notes == ["Ignored columns: junk"]
    assert outcome.plan.header == ["sku", "title", "junk"]


def test_item16_the_bom_never_shows_in_an_xlsx_column_name(tmp_path):
    workbook = Workbook()
    workbook.active.append(["\ufeffsku", "title", "junk"])
    workbook.active.append(["A-1", "Alpha", "x"])
    path = tmp_path / "bom.xlsx"
    workbook.save(path)
    ProductFactory(sku="A-1", title="Alpha")
    assert run(path).plan.notes == ["Ignored columns: junk"]


def test_item16_european_price_message(write_csv):
    outcome = run(write_csv([{**ROW, "unit_price": "1.234,50"}], header=HEADER))
    assert "too many digits" not in outcome.plan.errors[0].reason
    assert "decimal comma" in outcome.plan.errors[0].reason


@pytest.mark.parametrize("encoding", ["undefined", "no-such-codec", "base64", "rot13"])
def test_item11_unknown_encoding_fails_the_job_with_the_reason(write_csv, encoding):
    path = write_csv([ROW], header=HEADER)
    assert file_error(path, encoding=encoding) == parsing.ERROR_UNKNOWN_ENCODING.format(encoding=encoding)
    outcome = product_import_preview(path=path, file_name="x.csv", encoding=encoding)
    assert outcome.job.status == ImportJob.STATUS_FAILED
    assert not ImportJob.objects.filter(status=ImportJob.STATUS_PREVIEW).exists()


def test_item11_unknown_encoding_in_the_cli_is_a_clean_error_before_reading(write_csv):
    path = write_csv([ROW], header=HEADER)
    with pytest.raises(CommandError, match=re.escape(parsing.ERROR_UNKNOWN_ENCODING.format(encoding="undefined"))):
        call_command("import_products", str(path), "--encoding", "undefined", stdout=StringIO())
    assert not ImportJob.objects.exists()


def test_item11_unknown_encoding_in_the_admin_form_is_a_form_error(write_csv):
    upload = SimpleUploadedFile("p.csv", b"sku,title\r\nA,B\r\n")
    form = ProductImportForm(data={"preset": "auto", "encoding": "undefined"}, files={"file": upload})
    assert not form.is_valid()
    assert form.errors["encoding"] == [parsing.ERROR_UNKNOWN_ENCODING.format(encoding="undefined")]


def test_item11_admin_upload_with_unknown_encoding_shows_the_form_error(admin_client, write_csv):
    path = write_csv([ROW], header=HEADER)
    with path.open("rb") as handle:
        response = admin_client.post(
            "/admin/store/product/import/", {"file": handle, "preset": "auto", "encoding": "undefined"}
        )
    assert response.status_code == 200
    assert response.context["form"].errors["encoding"] == [parsing.ERROR_UNKNOWN_ENCODING.format(encoding="undefined")]
    assert not ImportJob.objects.filter(status=ImportJob.STATUS_PREVIEW).exists()


# --- item 10: Rich markup and terminal control sequences in the CLI ------------------
def test_item10_cli_prints_file_values_verbatim_without_markup_or_escapes(write_csv):
    # Control bytes in the first 64 KB make a file "binary": these come after a long first row.
    rows = [
        {**ROW, "collection": "[/oops]", "description": "x" * 70_000},
        {**ROW, "sku": "A-2", "collection": "[bold red]x\x1b[31mred\x1b]0;t\x07"},
        {**ROW, "sku": "A-3", "inventory": "[/i]-1\x1b[2J"},
    ]
    path = write_csv(rows, header=[*HEADER, "description", "[/junk]"], name="p\x1b[31m[b]x.csv")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_products", str(path), "--skip-invalid", stdout=out)
    output = out.getvalue()
    assert Product.objects.get().collection.title == "[/oops]", output  # written, then the full report
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "New collections: [/oops]" in output
    assert "Ignored columns: [/junk]" in output
    assert "[bold red]xred" in output
    assert "[/i]-1" in output
    assert "p[b]x.csv" in output
    assert "Imported valid rows, skipped invalid ones: 1 new" in output


# --- item 18: memory of a large import ------------------------------------------------
MEMORY_ROWS = 20_000
# Measured with tracemalloc at 20k rows: ~1,500 bytes a row before (every raw row, a dict per
# row and the plan at once; one pickle of the whole plan), ~650 after. The bound leaves room
# for allocator and database-driver noise; 490k rows stay under 400 MB peak RSS (docs/performance.md).
BYTES_PER_ROW = 1_000


def native_csv(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        handle.write("sku,title,slug,description,unit_price,inventory,collection\r\n")
        for i in range(rows):
            handle.write(
                f"MEM-{i:07d},Memory product {i},memory-product-{i},Row {i},"
                f"{10 + i % 990}.{i % 100:02d},{i % 500},Memory collection {i % 20:02d}\r\n"
            )
    return path


def traced_peak(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_item18_cli_path_memory_grows_by_less_than_a_kilobyte_a_row(tmp_path):
    path = native_csv(tmp_path / "big.csv", MEMORY_ROWS)
    outcomes = []
    peak = traced_peak(lambda: outcomes.append(product_import(path=path, file_name="big.csv", dry_run=True)))
    assert outcomes[0].job.created_count == MEMORY_ROWS
    assert peak < MEMORY_ROWS * BYTES_PER_ROW, f"{peak / MEMORY_ROWS:.0f} bytes a row"


def test_item18_admin_preview_and_confirm_memory_grows_by_less_than_a_kilobyte_a_row(tmp_path):
    path = native_csv(tmp_path / "big.csv", MEMORY_ROWS)
    jobs = []
    peak = traced_peak(lambda: jobs.append(product_import_preview(path=path, file_name="big.csv").job))
    assert peak < MEMORY_ROWS * BYTES_PER_ROW, f"preview: {peak / MEMORY_ROWS:.0f} bytes a row"
    peak = traced_peak(lambda: product_import_confirm(job=jobs[0]))
    assert peak < MEMORY_ROWS * BYTES_PER_ROW, f"confirm: {peak / MEMORY_ROWS:.0f} bytes a row"
    assert Product.objects.count() == MEMORY_ROWS


def test_item18_the_preview_page_does_not_keep_the_plan(admin_client, tmp_path):
    path = native_csv(tmp_path / "big.csv", 50)
    job = product_import_preview(path=path, file_name="big.csv").job
    response = admin_client.get(f"/admin/store/product/import/{job.pk}/")
    assert response.status_code == 200
    assert b"50" in response.content
    assert response.context_data is None  # rendered, and the plan let go
    del response
    gc.collect()
    planned = (planning.NewProduct, planning.ProductUpdate)
    assert not [obj for obj in gc.get_objects() if type(obj) in planned]  # type(): weak proxies are about


@pytest.mark.parametrize(("text", "value"), [("1 000", 1000), ("1\u00a0000", 1000), ("12", 12), (" 7 ", 7)])
def test_inventory_may_separate_thousands_with_a_space(text, value):
    assert planning.parse_inventory(text) == value


@pytest.mark.parametrize("text", ["1 5", "10 00", "1 000 0"])
def test_inventory_spaces_inside_a_number_are_refused_not_joined(text):
    with pytest.raises(ValidationError) as error:
        planning.parse_inventory(text)
    assert error.value.messages == [planning.ERROR_NUMBER_SPACES]
