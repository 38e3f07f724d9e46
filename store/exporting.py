"""Exports: CSV/XLSX/JSON files from django-import-export resources, formula-safe.

Spreadsheet apps run a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or
CR as a formula (CSV injection). Such text cells get a leading apostrophe;
numbers, negative ones included, stay numbers. The product import strips that
apostrophe again, so an export re-imports with 0 changes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import tablib

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")

FORMAT_CSV = "csv"
FORMAT_XLSX = "xlsx"
FORMAT_JSON = "json"


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    content_type: str
    extension: str


FORMATS = {
    FORMAT_CSV: ExportFormat(FORMAT_CSV, "CSV", "text/csv; charset=utf-8", "csv"),
    FORMAT_XLSX: ExportFormat(
        FORMAT_XLSX, "Excel (XLSX)", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
    ),
    FORMAT_JSON: ExportFormat(FORMAT_JSON, "JSON", "application/json", "json"),
}


def escape_formula(value):
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


def escape_dataset(dataset: tablib.Dataset) -> tablib.Dataset:
    escaped = tablib.Dataset(headers=[escape_formula(h) for h in dataset.headers or []])
    for row in dataset:
        escaped.append([escape_formula(value) for value in row])
    return escaped


def render(dataset: tablib.Dataset, *, file_format: str, excel_bom: bool = False) -> bytes:
    """The bytes of an export. JSON is data, not a spreadsheet: it is not escaped."""
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
