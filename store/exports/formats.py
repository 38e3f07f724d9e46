"""Exports: CSV/XLSX/JSON files from django-import-export resources, formula-safe.

Spreadsheet apps run a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or
CR as a formula (CSV injection). Such text cells get a leading apostrophe;
numbers, negative ones included, stay numbers. The product import strips that
apostrophe again, so an export re-imports with 0 changes.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

import tablib
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from tablib.formats._json import serialize_objects_handler

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")

FORMAT_CSV = "csv"
FORMAT_XLSX = "xlsx"
FORMAT_JSON = "json"
#: products only: Shopify's product CSV layout (store.exports.shopify), written as CSV
FORMAT_SHOPIFY = "shopify"


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    content_type: str
    extension: str
    #: the file's encoding: csv, xlsx or json (a layout such as Shopify's is written as one of them)
    writer: str


FORMATS = {
    FORMAT_CSV: ExportFormat(FORMAT_CSV, "CSV", "text/csv; charset=utf-8", "csv", FORMAT_CSV),
    FORMAT_XLSX: ExportFormat(
        FORMAT_XLSX,
        "Excel (XLSX)",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
        FORMAT_XLSX,
    ),
    FORMAT_JSON: ExportFormat(FORMAT_JSON, "JSON", "application/json", "json", FORMAT_JSON),
    FORMAT_SHOPIFY: ExportFormat(FORMAT_SHOPIFY, "Shopify CSV", "text/csv; charset=utf-8", "csv", FORMAT_CSV),
}


def escape_formula(value: Any) -> Any:
    """Neutralise a text cell a spreadsheet would evaluate; numbers pass unchanged."""
    if not isinstance(value, str) or not value:
        return value
    body = value.lstrip("'")
    if not body or body[0] not in FORMULA_PREFIXES:
        return value
    if body is value and NUMBER_RE.match(value):
        return value  # "-5" is a number, not a formula
    # "'=x" gets one more apostrophe too: the importer strips exactly one, so it comes back as "'=x".
    return "'" + value


#: the first characters of a text cell ``escape_formula`` may change (a formula's, and the apostrophe)
FORMULA_STARTS = frozenset((*FORMULA_PREFIXES, "'"))


def _csv_cell(value: Any) -> Any:
    """A cell as the CSV writes it: formula-safe, a Decimal as text, None blank."""
    return _plain(escape_formula(value))


def escape_dataset(dataset: tablib.Dataset) -> tablib.Dataset:
    escaped = tablib.Dataset(headers=[escape_formula(h) for h in dataset.headers or []])
    for row in dataset:
        escaped.append([escape_formula(value) for value in row])
    return escaped


def render(dataset: tablib.Dataset, *, file_format: str, excel_bom: bool = False) -> bytes:
    """The bytes of an export. JSON is data, not a spreadsheet: it is not escaped."""
    file_format = FORMATS[file_format].writer
    if file_format == FORMAT_JSON:
        return _json_ready(dataset).export("json").encode("utf-8")
    safe = escape_dataset(dataset)
    if file_format == FORMAT_XLSX:
        return safe.export("xlsx")
    text = _csv_ready(safe).export("csv")
    return ("\ufeff" + text).encode("utf-8") if excel_bom else text.encode("utf-8")


def _plain(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    return "" if value is None else value


def _csv_ready(dataset: tablib.Dataset) -> tablib.Dataset:
    out = tablib.Dataset(headers=dataset.headers)
    for row in dataset:
        out.append([_plain(value) for value in row])
    return out


def _json_ready(dataset: tablib.Dataset) -> tablib.Dataset:
    out = tablib.Dataset(headers=dataset.headers)
    for row in dataset:
        out.append([str(value) if isinstance(value, Decimal) else value for value in row])
    return out


# --- Streaming (export jobs and the CLI) ------------------------------------------
# The same bytes as render(), written row by row to a binary file, so memory stays
# flat however many rows there are. XLSX uses openpyxl's write-only mode.
def write_stream(
    fileobj: BinaryIO,
    *,
    file_format: str,
    headers: list[str],
    chunks: Iterable[list[list]],
    excel_bom: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Write ``headers`` and the rows of ``chunks`` to ``fileobj``; returns the number of rows.

    ``on_chunk(rows_so_far)`` runs after each chunk (progress, heartbeat, cancellation).
    """
    writers: dict[str, type[_CsvStream] | type[_JsonStream] | type[_XlsxStream]] = {
        FORMAT_CSV: _CsvStream,
        FORMAT_JSON: _JsonStream,
        FORMAT_XLSX: _XlsxStream,
    }
    writer = writers[FORMATS[file_format].writer]
    stream = writer(fileobj, headers, excel_bom=excel_bom)
    rows = 0
    with _collected_per_chunk() as collect:
        for number, chunk in enumerate(chunks, start=1):
            stream.write(chunk)
            rows += len(chunk)
            if number % GC_CHUNKS == 0:
                collect()
            if on_chunk is not None:
                on_chunk(rows)
    stream.close()
    return rows


#: chunks between two collections of the cyclic garbage collector during a streamed export
GC_CHUNKS = 10


@contextmanager
def _collected_per_chunk() -> Iterator[Callable[[], object]]:
    """The cyclic garbage collector collects every GC_CHUNKS chunks (the young generations), not on its own.

    A chunk allocates some 100,000 tracked objects (its rows' tuples and lists): left to itself the
    collector ran every 700 allocations, and its full collections walked every object of the
    process, about a third of an export's own CPU time (issue 22). Rows hold no cycles; what
    a chunk's reads leave in cycles goes at most GC_CHUNKS chunks later, so memory stays flat.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield lambda: gc.collect(1)
    finally:
        if enabled:
            gc.enable()


#: a cell starting with a character of FORMULA_STARTS, in a row's cells each after a newline
#: (``_plain_row``); a newline inside a cell may match too, which only sends its row down the
#: per-cell path
_RISKY_START = re.compile("\n[" + re.escape("".join(sorted(FORMULA_STARTS))) + "]")


def _plain_row(row: list[Any]) -> bool:
    """Whether every cell of ``row`` is text no character of FORMULA_STARTS begins: the row is then
    written as it is (``_csv_cell`` of each cell is the cell). One search of the joined cells,
    rather than a check a cell; a cell that is not text makes the row not plain."""
    try:
        return _RISKY_START.search("\n" + "\n".join(row)) is None
    except TypeError:
        return False


def _plain_rows(rows: list[list[Any]]) -> bool:
    """Whether every row of ``rows`` is plain (``_plain_row``): one search of all their cells joined."""
    try:
        return _RISKY_START.search("\n" + "\n".join(map("\n".join, rows))) is None
    except TypeError:
        return False


class _CsvStream:
    def __init__(self, fileobj: BinaryIO, headers: list[str], *, excel_bom: bool) -> None:
        self.text = io.TextIOWrapper(fileobj, encoding="utf-8", newline="", write_through=False)
        if excel_bom:
            self.text.write("\ufeff")
        self.csv = csv.writer(self.text)
        self.csv.writerow([escape_formula(h) for h in headers])

    def write(self, rows: list[list]) -> None:
        # ``_csv_cell`` of each cell. A row of text cells none of which starts with a character of
        # FORMULA_STARTS (most rows) is itself: one search of its cells joined, not a check a cell;
        # first one search of the chunk's rows joined (most chunks), not a check a row.
        if _plain_rows(rows):
            self.csv.writerows(rows)
            return
        self.csv.writerows(
            [
                row
                if _plain_row(row)
                else [
                    value if type(value) is str and (not value or value[0] not in FORMULA_STARTS) else _csv_cell(value)
                    for value in row
                ]
                for row in rows
            ]
        )

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


class _JsonStream:
    def __init__(self, fileobj: BinaryIO, headers: list[str], *, excel_bom: bool) -> None:
        self.fileobj, self.headers, self.first = fileobj, headers, True
        fileobj.write(b"[")

    def write(self, rows: list[list]) -> None:
        parts = []
        for row in rows:
            record = dict(zip(self.headers, (str(v) if isinstance(v, Decimal) else v for v in row), strict=False))
            parts.append(json.dumps(record, default=serialize_objects_handler, ensure_ascii=False))
        if parts:
            self.fileobj.write((("" if self.first else ", ") + ", ".join(parts)).encode("utf-8"))
            self.first = False

    def close(self) -> None:
        self.fileobj.write(b"]")


class _XlsxStream:
    def __init__(self, fileobj: BinaryIO, headers: list[str], *, excel_bom: bool) -> None:
        self.fileobj = fileobj
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet("Export")
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(self.sheet, value=escape_formula(header))
            cell.font = bold
            header_cells.append(cell)
        self.sheet.append(header_cells)

    def write(self, rows: list[list]) -> None:
        for row in rows:
            self.sheet.append([escape_formula(value) for value in row])

    def close(self) -> None:
        self.workbook.save(self.fileobj)
