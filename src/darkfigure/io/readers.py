"""Low-level readers: CSV, XLSX, JSON and JSONL files -> a header and rows of raw cells.

Readers never evaluate anything: a cell that starts with ``=``, ``+``, ``-`` or ``@`` is text like any
other, and XLSX formulas are read as their formula text (never computed). A file that cannot be read at
all raises :class:`~darkfigure.exceptions.InputError` with a one-line reason that never quotes content.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import InputError, MappingError, Problem
from .encoding import decode_bytes

__all__ = ["RawRow", "RawTable", "read_table", "sniff_format"]

#: Cells longer than this are a row problem (no CaseRecord field is anywhere near this long).
MAX_CELL_CHARS = 10_000
ROW_FIELD = "(row)"

_MAGIC: dict[bytes, str] = {
    b"PK\x03\x04": "a ZIP archive (an XLSX workbook?)",
    b"\xd0\xcf\x11\xe0": "an old binary Excel/Office file (save it as XLSX or CSV)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"SQLite format 3": "an SQLite database",
}


@dataclass
class RawRow:
    """One data row: its 1-based number, cells aligned with the header, and structural problems."""

    number: int
    cells: list[Any]
    problems: list[Problem] = field(default_factory=list)


@dataclass
class RawTable:
    """A file's header and rows, before any mapping."""

    columns: list[str]
    rows: list[RawRow]
    format: str
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    empty: bool = False


def sniff_format(path: Path, declared: str | None = None) -> str:
    """Return ``csv``, ``xlsx``, ``json`` or ``jsonl``: the declared format, else the file extension."""
    if declared:
        return declared.lower()
    ext = path.suffix.lower().lstrip(".")
    if ext in ("csv", "txt", "tsv"):
        return "csv"
    if ext in ("xlsx", "xlsm"):
        return "xlsx"
    if ext == "json":
        return "json"
    if ext in ("jsonl", "ndjson"):
        return "jsonl"
    raise InputError(f"cannot tell the format of {path.name!r} from its extension; "
                     "set `format:` in the mapping")


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_not_binary(data: bytes, fmt: str) -> None:
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise InputError(f"the file is {what}, not {fmt.upper()} text")


def _check_text(text: str) -> None:
    if not text:
        return
    sample = text[:65536]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    # a stray NUL in a cell is a row problem; a text that is mostly control characters is not text
    if controls > max(8, len(sample) // 20):
        raise InputError("the file looks binary (many control characters), not text")


def _header(cells: Sequence[Any], notes: list[str]) -> list[str]:
    cells = list(cells)
    while cells and _is_blank(cells[-1]):
        # trailing unnamed columns (spreadsheets pad rows to the sheet's width) are not columns
        cells.pop()
    columns: list[str] = []
    for i, c in enumerate(cells, start=1):
        name = "" if c is None else str(c).replace("\ufeff", "").strip()
        if not name:
            name = f"column_{i}"
            notes.append(f"column {i} has no header; called {name!r}")
        columns.append(name)
    return columns


def _align(number: int, cells: list[Any], width: int) -> RawRow:
    problems: list[Problem] = []
    if len(cells) > width:
        extra = cells[width:]
        if any(not _is_blank(c) for c in extra):
            problems.append(Problem(ROW_FIELD, "extra_cells", number, None,
                                    f"has {len(cells)} cells but the header has {width} columns"))
        cells = cells[:width]
    elif len(cells) < width:
        cells = cells + [None] * (width - len(cells))
    return RawRow(number, cells, problems)


def _rows_from_matrix(matrix: list[list[Any]], fmt: str, encoding: str | None, notes: list[str]) -> RawTable:
    # the header is the first non-blank row
    start = 0
    while start < len(matrix) and all(_is_blank(c) for c in matrix[start]):
        start += 1
    if start == len(matrix):
        notes.append("the file has no header and no rows")
        return RawTable([], [], fmt, encoding, notes, empty=True)
    columns = _header(matrix[start], notes)
    rows: list[RawRow] = []
    blank = 0
    for number, cells in enumerate(matrix[start + 1:], start=1):
        if all(_is_blank(c) for c in cells):
            blank += 1
            continue
        rows.append(_align(number, list(cells), len(columns)))
    if blank:
        notes.append(f"{blank} blank row(s) skipped")
    return RawTable(columns, rows, fmt, encoding, notes)


def _delimiter(first_line: str) -> str:
    if "," in first_line:
        return ","
    if "\t" in first_line:
        return "\t"
    if ";" in first_line:
        return ";"
    return ","


def _read_csv(data: bytes, encoding: str | None) -> RawTable:
    _check_not_binary(data, "csv")
    text, enc = decode_bytes(data, encoding)
    _check_text(text)
    notes: list[str] = []
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=False)
    matrix: list[list[Any]] = []
    # Quoted fields may legitimately be long (free-text notes); the per-cell cap is applied later as a row
    # problem, so the csv module must not stop at its 128 KiB default. The limit is process-global:
    # restore it afterwards.
    old_limit = csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        for cells in reader:
            matrix.append(cells)
    except csv.Error:
        raise InputError(f"malformed CSV near data row {len(matrix)}") from None
    finally:
        csv.field_size_limit(old_limit)
    return _rows_from_matrix(matrix, "csv", enc, notes)


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    import openpyxl  # imported here: only XLSX needs it

    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it ignores (data validation, styles); they do not matter here
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception:  # a corrupt workbook can fail in zipfile, XML or openpyxl: all mean "unreadable"
        raise InputError("the file is not a readable XLSX workbook") from None
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise MappingError(f"mapping: sheet {sheet!r} is not in the workbook")
            ws = wb[sheet]
        else:
            if not wb.sheetnames:
                raise InputError("the workbook has no sheets")
            ws = wb[wb.sheetnames[0]]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                matrix = [list(r) for r in ws.iter_rows(values_only=True)]
        except (InputError, MappingError):
            raise
        except Exception:
            raise InputError("the XLSX sheet cannot be read (corrupt cell data)") from None
    finally:
        wb.close()
    # trailing empty cells: read-only sheets pad every row to the sheet's width
    return _rows_from_matrix(matrix, "xlsx", None, notes)


def _json_rows(items: list[tuple[int, Any]], notes: list[str], fmt: str, enc: str) -> RawTable:
    columns: list[str] = []
    seen: set[str] = set()
    for _, obj in items:
        if isinstance(obj, dict):
            for k in obj:
                ks = str(k)
                if ks not in seen:
                    seen.add(ks)
                    columns.append(ks)
    rows: list[RawRow] = []
    for number, obj in items:
        if isinstance(obj, _BadLine):
            rows.append(RawRow(number, [None] * len(columns),
                               [Problem(ROW_FIELD, "invalid_json", number, None, "is not valid JSON")]))
        elif not isinstance(obj, dict):
            rows.append(RawRow(number, [None] * len(columns),
                               [Problem(ROW_FIELD, "not_an_object", number, None,
                                        "is not a JSON object of field: value pairs")]))
        else:
            by_key = {str(k): v for k, v in obj.items()}
            rows.append(RawRow(number, [by_key.get(c) for c in columns]))
    return RawTable(columns, rows, fmt, enc, notes, empty=not items)


class _BadLine:
    """Marker for a JSONL line that is not valid JSON."""


def _read_json(data: bytes, encoding: str | None) -> RawTable:
    _check_not_binary(data, "json")
    text, enc = decode_bytes(data, encoding)
    notes: list[str] = []
    if not text.strip():
        notes.append("the file is empty")
        return RawTable([], [], "json", enc, notes, empty=True)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the file is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError):
        raise InputError("the file is not valid JSON (a number or nesting beyond limits)") from None
    if not isinstance(doc, list):
        raise InputError("a JSON file must hold an array of objects, one per record")
    return _json_rows(list(enumerate(doc, start=1)), notes, "json", enc)


def _read_jsonl(data: bytes, encoding: str | None) -> RawTable:
    _check_not_binary(data, "jsonl")
    text, enc = decode_bytes(data, encoding)
    _check_text(text)
    notes: list[str] = []
    items: list[tuple[int, Any]] = []
    blank = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            blank += 1
            continue
        try:
            items.append((number, json.loads(line)))
        except (ValueError, RecursionError):
            items.append((number, _BadLine()))
    if blank:
        notes.append(f"{blank} blank line(s) skipped")
    if not items:
        notes.append("the file is empty")
    return _json_rows(items, notes, "jsonl", enc)


def read_table(path: str | Path, fmt: str | None = None, encoding: str | None = None,
               sheet: str | None = None) -> tuple[RawTable, bytes]:
    """Read a file into a :class:`RawTable`; also return its bytes (for hashing).

    Raises
    ------
    InputError
        If the file does not exist or cannot be read as the format.
    """
    path = Path(path)
    fmt = sniff_format(path, fmt)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path.name!r}: {exc.strerror or type(exc).__name__}") from None
    if fmt == "xlsx":
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise InputError("the file is not a readable XLSX workbook (not a ZIP archive)")
        return _read_xlsx(path, sheet), data
    if not data.strip():
        return RawTable([], [], fmt, None, ["the file is empty"], empty=True), data
    if fmt == "csv":
        return _read_csv(data, encoding), data
    if fmt == "json":
        return _read_json(data, encoding), data
    if fmt == "jsonl":
        return _read_jsonl(data, encoding), data
    raise InputError(f"unknown format {fmt!r}")
