"""Turn an uploaded file into a header and data rows, refusing what is not a table.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data
row is row 2. Blank records still count, so numbers match what ops see in Excel.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

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
ERROR_QUOTE_UNCLOSED = (
    "Row {row} (line {line}): a quoted value opens there and never closes, so it would swallow every row "
    "after it. Nothing was imported; fix the quotes in that row."
)
ERROR_QUOTE_BROKEN = (
    "Row {row} (line {line}): a quoted value opens there and its closing quote is followed by more text "
    "on line {end}, so it would swallow the rows in between. Nothing was imported; fix the quotes in that row."
)

SNIFF_BYTES = 64 * 1024
READ_CHUNK = 1024 * 1024
MAX_CELL_CHARS = 16 * 1024 * 1024
# Control characters that never occur in text files (tab, LF, CR and form feed do).
BINARY_BYTES = bytes(set(range(0, 32)) - {9, 10, 12, 13})


class RowSource:
    """The data rows of a file, read again from disk on every iteration.

    ``(spreadsheet row number, cells)``, blank records left out. Keeping only the
    path (not a list of every row) is what keeps a 500k-row import within a few
    hundred MB: the rows are read once to check the file, then streamed to the
    mapping, and read a last time only for the few rows that failed.
    """

    def __init__(self, read: Callable[[], Iterator[tuple[int, list[str]]]], count: int):
        self._read = read
        self._count = count

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self._read()

    def __len__(self) -> int:
        return self._count


@dataclass
class ParsedFile:
    header: list[str]
    # (spreadsheet row number, cells), blank records left out: a list or a RowSource
    rows: list[tuple[int, list[str]]] | RowSource
    format: str = "csv"
    encoding: str = ""
    delimiter: str = ","
    notes: list[str] = field(default_factory=list)


def check_encoding(encoding: str) -> str:
    """Refuse a name that is not a text encoding ("undefined", "base64", typos) before reading anything."""
    try:
        name = codecs.lookup(encoding).name
        b"sku".decode(encoding)
    except (LookupError, UnicodeError, ValueError, TypeError):
        raise ValidationError(ERROR_UNKNOWN_ENCODING.format(encoding=encoding), code="encoding") from None
    return name


def parse_file(path: Path, *, encoding: str | None = None) -> ParsedFile:
    """Read CSV (UTF-8 with or without BOM, UTF-16 with BOM or Windows-1252; `,` or `;`) or XLSX."""
    if encoding:
        encoding = check_encoding(encoding)
    size = path.stat().st_size
    limit = settings.IMPORT_MAX_FILE_BYTES
    if size > limit:
        raise ValidationError(ERROR_TOO_LARGE.format(size=size, limit=limit), code="too_large")
    if size == 0:
        raise ValidationError(ERROR_EMPTY, code="empty")
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _parse_xlsx(path)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError(ERROR_LEGACY_XLS, code="xls")
    return _parse_csv(path, head, encoding=encoding)


def _header_cell(cell: str) -> str:
    # A BOM that survived decoding (an explicit --encoding utf-8, a sheet pasted from a CSV)
    # is not part of the column's name.
    return cell.replace("\ufeff", "").strip()


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes, read in chunks (never the whole file in memory)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(READ_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        if not _decodes(path, "utf-8-sig"):
            raise ValidationError(ERROR_ENCODING.format(encoding="UTF-8"), code="encoding")
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 is full of NUL bytes: recognised by its BOM before the binary check.
        if not _decodes(path, "utf-16"):
            raise ValidationError(ERROR_ENCODING.format(encoding="UTF-16"), code="encoding")
        return "utf-16"
    if any(byte in BINARY_BYTES for byte in head):
        raise ValidationError(ERROR_BINARY, code="binary")
    if _decodes(path, "utf-8"):
        return "utf-8"
    if _decodes(path, "cp1252"):
        return "cp1252"
    # cp1252 leaves five bytes undefined: such a file is not text we know.
    raise ValidationError(ERROR_BINARY, code="binary")


def _sniff_delimiter(sample: str) -> str:
    first_line = sample.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;").delimiter
    except csv.Error:
        return ";" if first_line.count(";") > first_line.count(",") else ","


def _open_text(path: Path, encoding: str) -> TextIO:
    return path.open("r", encoding=encoding, newline="", errors="strict")


def _csv_records(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, int, list[str]]]:
    """(record number, first line of the record, cells) of every record, header included.

    Strict quoting: a quoted value must close, and close right before a delimiter or
    the end of its line. Anything else is a file-level error naming the row where the
    quote opened; the lenient reading silently swallows the rows that follow.
    """
    with _open_text(path, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        number, line = 0, 1
        try:
            for cells in reader:
                number += 1
                yield number, line, cells
                line = reader.line_num + 1
        except csv.Error as error:
            row = number + 1
            if "unexpected end of data" in str(error):
                raise ValidationError(ERROR_QUOTE_UNCLOSED.format(row=row, line=line), code="quote") from error
            if "expected after" in str(error):
                raise ValidationError(
                    ERROR_QUOTE_BROKEN.format(row=row, line=line, end=reader.line_num), code="quote"
                ) from error
            raise ValidationError(ERROR_CSV.format(error=f"row {row}: {error}"), code="csv") from error
        except UnicodeError:
            raise ValidationError(ERROR_ENCODING.format(encoding=encoding), code="encoding") from None


def _csv_data_rows(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    header_seen = False
    for number, _line, cells in _csv_records(path, encoding, delimiter):
        if not header_seen:
            # leading blank lines: the header is the first non-blank record
            header_seen = any(cell.strip() for cell in cells)
            continue
        if "".join(cells).strip():
            yield number, cells


def _parse_csv(path: Path, head: bytes, *, encoding: str | None) -> ParsedFile:
    used = encoding or _detect_encoding(path, head)
    try:
        with _open_text(path, used) as handle:
            sample = handle.read(SNIFF_BYTES)
    except UnicodeError:
        raise ValidationError(ERROR_ENCODING.format(encoding=used), code="encoding") from None
    if "\x00" in sample:
        raise ValidationError(ERROR_BINARY, code="binary")
    if not sample.strip():
        raise ValidationError(ERROR_EMPTY, code="empty")
    delimiter = _sniff_delimiter(sample.lstrip("\ufeff"))
    # Long HTML descriptions exceed the csv module's default 128 KB cell limit.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL_CHARS))
    limit = settings.IMPORT_MAX_ROWS
    header: list[str] | None = None
    count = 0
    # A first pass checks the whole file (quoting, encoding, size) and keeps only the header.
    for _number, _line, cells in _csv_records(path, used, delimiter):
        if header is None:
            if any(cell.strip() for cell in cells):
                header = [_header_cell(cell) for cell in cells]
            continue
        if "".join(cells).strip():
            count += 1
            if count > limit:
                raise ValidationError(ERROR_TOO_MANY_ROWS.format(limit=limit), code="too_many_rows")
    if header is None:
        raise ValidationError(ERROR_EMPTY, code="empty")
    if not count:
        raise ValidationError(ERROR_HEADERS_ONLY, code="headers_only")
    rows = RowSource(partial(_csv_data_rows, path, used, delimiter), count)
    return ParsedFile(header=header, rows=rows, format="csv", encoding=used, delimiter=delimiter)


def _check_zip(path: Path) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValidationError(ERROR_BINARY, code="binary") from None
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


def _cell_text(value: object) -> str:
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


def xlsx_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of every row of the first sheet, however many its <dimension> tag claims."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types on corrupt workbooks
        raise ValidationError(ERROR_BAD_XLSX.format(error=error), code="bad_xlsx") from error
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        # Read-only sheets trust the stored dimension: a sheet saying A1:E2 would yield two rows.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(value) for value in values]
    except ValidationError:
        raise
    except Exception as error:
        raise ValidationError(ERROR_BAD_XLSX.format(error=error), code="bad_xlsx") from error
    finally:
        workbook.close()


def _xlsx_data_rows(path: Path, width: int) -> Iterator[tuple[int, list[str]]]:
    header_seen = False
    for number, cells in xlsx_records(path):
        if not header_seen:
            header_seen = any(cell.strip() for cell in cells)
            continue
        if any(cell.strip() for cell in cells):
            # A sheet stores no cell for a blank one: blank trailing cells are blank, not missing.
            # Likewise formatted but empty cells right of the header are nothing.
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            while len(cells) > width and not cells[-1].strip():
                cells.pop()
            yield number, cells


def _parse_xlsx(path: Path) -> ParsedFile:
    _check_zip(path)
    limit = settings.IMPORT_MAX_ROWS
    header: list[str] | None = None
    count = 0
    for _number, cells in xlsx_records(path):
        if header is None:
            if any(cell.strip() for cell in cells):
                while cells and not cells[-1].strip():
                    cells.pop()
                header = [_header_cell(cell) for cell in cells]
            continue
        if any(cell.strip() for cell in cells):
            count += 1
            if count > limit:
                raise ValidationError(ERROR_TOO_MANY_ROWS.format(limit=limit), code="too_many_rows")
    if header is None:
        raise ValidationError(ERROR_EMPTY, code="empty")
    if not count:
        raise ValidationError(ERROR_HEADERS_ONLY, code="headers_only")
    rows = RowSource(partial(_xlsx_data_rows, path, len(header)), count)
    return ParsedFile(header=header, rows=rows, format="xlsx", encoding="", delimiter="")


# --- Reading a header without reading the file -------------------------------------------
def read_header(path: Path, *, encoding: str | None = None, samples: int = 3) -> tuple[list[str], list[list[str]]]:
    """The header and the first ``samples`` data rows, as ``parse_file`` would read them.

    Raises ValidationError for files it cannot read; the full parse gives the detailed error.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    xlsx = head.startswith(b"PK\x03\x04")
    if xlsx:
        _check_zip(path)
        records: Generator[list[str], None, None] = (cells for _number, cells in xlsx_records(path))
    else:
        used = check_encoding(encoding) if encoding else _detect_encoding(path, head)
        with _open_text(path, used) as text:
            sample = text.read(SNIFF_BYTES)
        delimiter = _sniff_delimiter(sample.lstrip("\ufeff"))
        records = (cells for _number, _line, cells in _csv_records(path, used, delimiter))
    header: list[str] = []
    rows: list[list[str]] = []
    try:
        for cells in records:
            if not header:
                if any(cell.strip() for cell in cells):
                    # as parse_file reads it: a sheet's formatted but empty cells right of the header are nothing
                    while xlsx and cells and not cells[-1].strip():
                        cells.pop()
                    header = [_header_cell(cell) for cell in cells]
                continue
            if any(cell.strip() for cell in cells):
                rows.append(cells)
            if len(rows) >= samples:
                break
    finally:
        records.close()
    return header, rows
