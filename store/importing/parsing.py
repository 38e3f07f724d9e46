"""Turn an uploaded file into a header and data rows, refusing what is not a table.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data
row is row 2. Blank records still count, so numbers match what ops see in Excel.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

ERROR_TOO_LARGE = "The file is {size} bytes; the limit is {limit} bytes. Split it and import the parts."
ERROR_EMPTY = "The file is empty."
ERROR_HEADERS_ONLY = "The file has a header row but no data rows."
ERROR_BINARY = "This is not a CSV or XLSX file (it looks like binary data)."
ERROR_LEGACY_XLS = "Old Excel .xls files are not supported: save the sheet as .xlsx or CSV."
ERROR_NOT_XLSX = "This zip archive is not an XLSX workbook."
ERROR_ZIP_BOMB = "This XLSX file expands to an unreasonable size (possible zip bomb); it was not read."
ERROR_BAD_XLSX = "The XLSX workbook could not be read: {error}"
ERROR_TOO_MANY_ROWS = "The file has more than {limit} data rows. Split it and import the parts."
ERROR_ENCODING = "The file could not be decoded as {encoding}."
ERROR_UNKNOWN_ENCODING = "Unknown encoding {encoding!r}."
ERROR_CSV = "The CSV file is malformed: {error}"

SNIFF_BYTES = 64 * 1024
MAX_CELL_CHARS = 16 * 1024 * 1024
# Control characters that never occur in text files (tab, LF, CR and form feed do).
BINARY_BYTES = bytes(set(range(0, 32)) - {9, 10, 12, 13})


@dataclass
class ParsedFile:
    header: list[str]
    # (spreadsheet row number, cells), blank records left out
    rows: list[tuple[int, list[str]]]
    format: str = "csv"
    encoding: str = ""
    delimiter: str = ","
    notes: list[str] = field(default_factory=list)


def parse_file(path: Path, *, encoding: str | None = None) -> ParsedFile:
    """Read CSV (UTF-8, UTF-8 with BOM or Windows-1252; `,` or `;`) or XLSX."""
    size = path.stat().st_size
    limit = settings.IMPORT_MAX_FILE_BYTES
    if size > limit:
        raise ValidationError(ERROR_TOO_LARGE.format(size=size, limit=limit), code="too_large")
    if size == 0:
        raise ValidationError(ERROR_EMPTY, code="empty")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PK\x03\x04"):
        return _parse_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(ERROR_LEGACY_XLS, code="xls")
    return _parse_csv(path.read_bytes(), encoding=encoding)


def _decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise ValidationError(ERROR_UNKNOWN_ENCODING.format(encoding=encoding), code="encoding")
        except UnicodeDecodeError:
            raise ValidationError(ERROR_ENCODING.format(encoding=encoding), code="encoding")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise ValidationError(ERROR_ENCODING.format(encoding="UTF-8"), code="encoding")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ValidationError(ERROR_ENCODING.format(encoding="UTF-16"), code="encoding")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined: such a file is not text we know.
        raise ValidationError(ERROR_BINARY, code="binary")


def _sniff_delimiter(sample: str) -> str:
    first_line = sample.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;").delimiter
    except csv.Error:
        return ";" if first_line.count(";") > first_line.count(",") else ","


def _parse_csv(data: bytes, *, encoding: str | None) -> ParsedFile:
    if not encoding and any(byte in BINARY_BYTES for byte in data[:SNIFF_BYTES]):
        raise ValidationError(ERROR_BINARY, code="binary")
    text, used = _decode(data, encoding)
    del data
    if not text.strip():
        raise ValidationError(ERROR_EMPTY, code="empty")
    if "\x00" in text[:SNIFF_BYTES]:
        raise ValidationError(ERROR_BINARY, code="binary")
    delimiter = _sniff_delimiter(text[:SNIFF_BYTES])
    # Long HTML descriptions exceed the csv module's default 128 KB cell limit.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    limit = settings.IMPORT_MAX_ROWS
    try:
        header: list[str] | None = None
        rows: list[tuple[int, list[str]]] = []
        for number, cells in enumerate(reader, start=1):
            if header is None:
                if not any(cell.strip() for cell in cells):
                    continue  # leading blank lines: the header is the first non-blank record
                header = [cell.strip() for cell in cells]
                continue
            if not "".join(cells).strip():
                continue
            rows.append((number, cells))
            if len(rows) > limit:
                raise ValidationError(ERROR_TOO_MANY_ROWS.format(limit=limit), code="too_many_rows")
    except csv.Error as error:
        raise ValidationError(ERROR_CSV.format(error=error), code="csv")
    if header is None:
        raise ValidationError(ERROR_EMPTY, code="empty")
    if not rows:
        raise ValidationError(ERROR_HEADERS_ONLY, code="headers_only")
    return ParsedFile(header=header, rows=rows, format="csv", encoding=used, delimiter=delimiter)


def _check_zip(path: Path) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValidationError(ERROR_BINARY, code="binary")
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        if "xl/workbook.xml" not in names:
            raise ValidationError(ERROR_NOT_XLSX, code="not_xlsx")
        total = sum(info.file_size for info in infos)
        if total > settings.IMPORT_MAX_XLSX_UNCOMPRESSED_BYTES:
            raise ValidationError(ERROR_ZIP_BOMB, code="zip_bomb")
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > 1024 * 1024 and ratio > settings.IMPORT_MAX_XLSX_RATIO:
                raise ValidationError(ERROR_ZIP_BOMB, code="zip_bomb")


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _parse_xlsx(path: Path) -> ParsedFile:
    from openpyxl import load_workbook

    _check_zip(path)
    limit = settings.IMPORT_MAX_ROWS
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types on corrupt workbooks
        raise ValidationError(ERROR_BAD_XLSX.format(error=error), code="bad_xlsx")
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ValidationError(ERROR_EMPTY, code="empty")
        max_row = sheet.max_row or 0
        if max_row - 1 > limit:
            raise ValidationError(ERROR_TOO_MANY_ROWS.format(limit=limit), code="too_many_rows")
        header: list[str] | None = None
        rows: list[tuple[int, list[str]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if header is None:
                if not any(cell.strip() for cell in cells):
                    continue
                while cells and not cells[-1].strip():
                    cells.pop()
                header = [cell.strip() for cell in cells]
                continue
            if not any(cell.strip() for cell in cells):
                continue
            rows.append((number, cells))
            if len(rows) > limit:
                raise ValidationError(ERROR_TOO_MANY_ROWS.format(limit=limit), code="too_many_rows")
    except ValidationError:
        raise
    except Exception as error:
        raise ValidationError(ERROR_BAD_XLSX.format(error=error), code="bad_xlsx")
    finally:
        workbook.close()
    if header is None:
        raise ValidationError(ERROR_EMPTY, code="empty")
    if not rows:
        raise ValidationError(ERROR_HEADERS_ONLY, code="headers_only")
    return ParsedFile(header=header, rows=rows, format="xlsx", encoding="", delimiter="")
