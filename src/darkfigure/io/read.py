"""``read_records``: an organisation's file + its mapping -> one outcome per row, nothing lost.

Every data row read produces exactly one :class:`RowOutcome`: a valid :class:`CaseRecord`, or the list of
every problem of that row (field + rule, never a value). Whole-file problems (unreadable file, wrong
mapping) raise :class:`~darkfigure.exceptions.InputError` / :class:`~darkfigure.exceptions.MappingError`
before any row.

Examples
--------
>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "ngo.csv").write_text("source_record_id,gender,age_at_exploitation\\n1,여성,19\\n2,F?,4.0\\n",
...                               encoding="utf-8")
>>> result = read_records(d / "ngo.csv", source="rescue_ngo")
>>> result.rows_read, result.outcomes[0].record.gender, result.outcomes[0].record.age_at_exploitation
(2, 'Female', 19)
>>> [str(p) for p in result.outcomes[1].problems]
['gender [vocabulary] (row 2, record 2): not a code or label of vocabulary Gender']
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._provenance import sha256_bytes
from ..exceptions import InputError, MappingError, Problem, problems_from
from ..schema.records import CaseRecord
from ..schema.validate import validate_record
from ..schema.vocab import FIELD_VOCABULARY, load_vocabulary, normalise_label
from .mapping import DATE_FIELDS, LIST_FIELDS, Mapping
from .readers import MAX_CELL_CHARS, RawRow, RawTable, read_table

__all__ = ["ReadResult", "RowOutcome", "read_records"]


@dataclass(frozen=True)
class RowOutcome:
    """What became of one data row.

    Attributes
    ----------
    row : int
        1-based data row (the header is not counted; in JSONL, the line number).
    source_record_id : str or None
        The organisation's record id, when the row has a usable one.
    record : CaseRecord or None
        The valid record; None exactly when ``problems`` is non-empty.
    problems : list of Problem
        Every problem of the row (field + rule, never the value).
    """

    row: int
    source_record_id: str | None
    record: CaseRecord | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the row gave a valid record."""
        return self.record is not None


@dataclass(frozen=True)
class ReadResult:
    """Everything read from one file.

    Attributes
    ----------
    outcomes : list of RowOutcome
        One per data row read, in file order.
    file_sha256 : str
        SHA-256 of the file's bytes.
    notes : list of str
        Warning-level notes about the file (unmapped columns, blank rows skipped, detected encoding ...).
    format, encoding, source : str or None
        What was read and under which source name.
    columns : list of str
        The file's columns.
    """

    outcomes: list[RowOutcome]
    file_sha256: str
    notes: list[str] = field(default_factory=list)
    format: str = "csv"
    encoding: str | None = None
    source: str | None = None
    columns: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Number of data rows read (== ``len(outcomes)``)."""
        return len(self.outcomes)

    @property
    def records(self) -> list[CaseRecord]:
        """The valid records."""
        return [o.record for o in self.outcomes if o.record is not None]

    @property
    def problems(self) -> list[Problem]:
        """Every row problem, in row order."""
        return [p for o in self.outcomes for p in o.problems]


# ----------------------------------------------------------------------------------------- field kinds
def _base_type(annotation: Any) -> Any:
    """Unwrap ``Optional`` / ``Annotated`` / ``list`` down to the scalar type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0]
        elif origin is list:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


_KIND: dict[str, Any] = {name: _base_type(f.annotation) for name, f in CaseRecord.model_fields.items()}
INT_FIELDS = frozenset(n for n, t in _KIND.items() if t is int)
FLOAT_FIELDS = frozenset(n for n, t in _KIND.items() if t is float)

_ISO_PARTIAL = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")
_ISO_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Bad(Exception):
    """A cell that cannot become a field value: carries the rule and a value-free message."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def _scalar_text(value: Any) -> str:
    """Text of a scalar cell (numbers from spreadsheets become their plain digits)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad("not_text", "is not a finite value")
        # 12345.0 from a spreadsheet is the id/phone 12345
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    raise _Bad("wrong_type", "must be a single value, not a list or an object")


def _number(value: Any, integer: bool) -> int | float:
    if isinstance(value, bool):
        raise _Bad("not_a_number", "must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        num = value
    elif isinstance(value, str):
        s = value.strip()
        if _GROUPED.match(s):
            s = s.replace(",", "")
        if not _NUMBER.match(s):
            raise _Bad("not_a_number", "must be a number (digits only, no units or currency)")
        num = float(s)
    else:
        raise _Bad("not_a_number", "must be a number")
    if not math.isfinite(num):
        raise _Bad("not_a_number", "must be a finite number")
    if integer:
        if not num.is_integer():
            raise _Bad("not_an_integer", "must be a whole number")
        return int(num)
    return num


def _precision_of(fmt: str) -> str:
    if "%d" in fmt or "%j" in fmt or "%-d" in fmt:
        return "day"
    if "%m" in fmt or "%b" in fmt or "%B" in fmt or "%-m" in fmt:
        return "month"
    return "year"


def _date(value: Any, formats: tuple[str, ...]) -> str:
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        raise _Bad("invalid_date", "is not a date")
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer()):
        return str(int(value))  # a bare year
    if not isinstance(value, str):
        raise _Bad("invalid_date", "is not a date")
    s = value.strip()
    m = _ISO_DATETIME.match(s)
    if m:
        s = m.group(1)
    m = _ISO_PARTIAL.match(s)
    if m and (m.group(2) is None or "-" in s or not formats):
        y, mo, d = m.group(1), m.group(2), m.group(3)
        # zero-pad 1994-3-5; PartialDate then rejects impossible dates such as 1990-02-30
        return y + (f"-{int(mo):02d}" if mo else "") + (f"-{int(d):02d}" if d else "")
    for fmt in formats:
        try:
            parsed = _dt.datetime.strptime(s, fmt)
        except ValueError:
            continue
        precision = _precision_of(fmt)
        if precision == "day":
            return parsed.date().isoformat()
        if precision == "month":
            return f"{parsed.year:04d}-{parsed.month:02d}"
        return f"{parsed.year:04d}"
    if m:
        y, mo, d = m.group(1), m.group(2), m.group(3)
        return y + (f"-{int(mo):02d}" if mo else "") + (f"-{int(d):02d}" if d else "")
    extra = " or the mapping's formats" if formats else ""
    raise _Bad("invalid_date", f"is not a possible date (YYYY, YYYY-MM, YYYY-MM-DD{extra})")


class _Converter:
    """Turns raw cells into CaseRecord field values for one file and mapping."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.sep = mapping.multi_value_separator
        # mapping `values`, matched exactly first and then after normalisation
        self.values: dict[str, tuple[dict[str, str], dict[str, str]]] = {
            f: (table, {normalise_label(k): v for k, v in table.items()})
            for f, table in mapping.values.items()
        }
        self._codes: dict[tuple[str, str], str | _Bad] = {}
        self._dates: dict[tuple[str, str], str | _Bad] = {}

    def code(self, field_name: str, text: str) -> str:
        # files repeat the same few words in coded columns: remember each answer (or failure)
        key = (field_name, text)
        hit = self._codes.get(key)
        if hit is None:
            try:
                hit = self._code(field_name, text)
            except _Bad as bad:
                hit = bad
            self._codes[key] = hit
        if isinstance(hit, _Bad):
            raise hit
        return hit

    def _code(self, field_name: str, text: str) -> str:
        exact, norm = self.values.get(field_name, ({}, {}))
        if text in exact:
            return exact[text]
        key = normalise_label(text)
        if key in norm:
            return norm[key]
        vocab = load_vocabulary(FIELD_VOCABULARY[field_name])
        if text in vocab:
            return text
        found = vocab.lookup(text)
        if found is None:
            raise _Bad("vocabulary", f"not a code or label of vocabulary {vocab.name}")
        return found

    def items(self, value: Any) -> list[Any]:
        if isinstance(value, list | tuple):
            raw = list(value)
        elif isinstance(value, str):
            raw = value.split(self.sep)
        else:
            raw = [value]
        out = []
        for item in raw:
            if isinstance(item, str):
                item = item.strip()
                if not item:
                    continue
            elif item is None:
                continue
            out.append(item)
        return out

    def convert(self, field_name: str, value: Any) -> Any:
        """Return the field value for a non-blank cell, or raise :class:`_Bad`."""
        if isinstance(value, str):
            if len(value) > MAX_CELL_CHARS:
                raise _Bad("too_long", f"is longer than {MAX_CELL_CHARS} characters")
            if _CONTROL.search(value):
                raise _Bad("control_character", "contains a NUL or other control character")
        if field_name in LIST_FIELDS:
            exact = self.values.get(field_name, ({}, {}))[0]
            # a mapping value may itself contain the separator ("성매매; 강제결혼": ...): whole cell first
            whole = value.strip() if isinstance(value, str) else None
            items = [whole] if whole is not None and whole in exact else self.items(value)
            result: list[str] = []
            for item in items:
                if isinstance(item, str) and _CONTROL.search(item):
                    raise _Bad("control_character", "contains a NUL or other control character")
                text = _scalar_text(item)
                result.append(self.code(field_name, text) if field_name in FIELD_VOCABULARY else text)
            return list(dict.fromkeys(result))  # order kept, duplicates dropped
        if field_name in FIELD_VOCABULARY:
            return self.code(field_name, _scalar_text(value))
        if field_name in DATE_FIELDS:
            if not isinstance(value, str):
                return _date(value, self.mapping.dates.get(field_name, ()))
            key = (field_name, value)
            hit = self._dates.get(key)
            if hit is None:
                try:
                    hit = _date(value, self.mapping.dates.get(field_name, ()))
                except _Bad as bad:
                    hit = bad
                if len(self._dates) < 100_000:  # bounded: dates of birth are many but not unbounded
                    self._dates[key] = hit
            if isinstance(hit, _Bad):
                raise hit
            return hit
        if field_name in INT_FIELDS:
            return _number(value, integer=True)
        if field_name in FLOAT_FIELDS:
            return _number(value, integer=False)
        return _scalar_text(value)


_UNREADABLE_ROW = frozenset({"invalid_json", "not_an_object"})


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple):
        return all(_blank(v) for v in value)
    return False


# ----------------------------------------------------------------------------------------- reading
def _plan(table: RawTable, mapping: Mapping, mapped: bool) -> tuple[list[tuple[int, str]], list[str]]:
    """Which column index fills which field; notes on columns not imported."""
    notes: list[str] = []
    positions: dict[str, list[int]] = {}
    for i, c in enumerate(table.columns):
        positions.setdefault(c, []).append(i)
    wanted = [mapping.record_id, *mapping.columns] if mapped else list(table.columns)
    if mapped:
        missing = [c for c in dict.fromkeys(wanted) if c not in positions]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:5])
            raise MappingError(f"mapping: column(s) {shown} not in the file")
    elif mapping.record_id not in positions:
        raise MappingError("the file has no source_record_id column (give a mapping whose record_id names "
                           "the column holding the organisation's record id)")
    plan: list[tuple[int, str]] = []
    used: set[str] = set()
    for c, idx in positions.items():
        target = mapping.field_of_column(c)
        if target is None:
            continue
        if len(idx) > 1:
            raise MappingError(f"the file has {len(idx)} columns named {_col(c)}; "
                               "cannot tell which to import")
        plan.append((idx[0], target))
        used.add(c)
    ignored = set(mapping.ignore)
    for c, idx in positions.items():
        if c in used:
            continue
        if c in ignored:
            continue
        what = "is not a CaseRecord field" if not mapped else "is neither mapped nor ignored"
        twice = f" (appears {len(idx)} times)" if len(idx) > 1 else ""
        notes.append(f"column {_col(c)}{twice} {what}: not imported")
    for c in mapping.ignore:
        if c not in positions:
            notes.append(f"ignored column {_col(c)} is not in the file")
    return plan, notes


def _col(name: str) -> str:
    # column names are headers, not record values; still keep notes short
    return repr(name if len(name) <= 60 else name[:57] + "...")


def _outcome(raw_row: RawRow, plan: list[tuple[int, str]], conv: _Converter, mapping: Mapping,
             source: str | None, seen: dict[str, int]) -> RowOutcome:
    number = raw_row.number
    problems: list[Problem] = list(raw_row.problems)
    if any(p.rule in _UNREADABLE_ROW for p in problems):
        return RowOutcome(number, None, None, problems)  # nothing in the row can be read as fields
    values: dict[str, Any] = {}
    rid_problem = False
    for idx, fname in plan:
        cell = raw_row.cells[idx]
        if _blank(cell):
            continue
        try:
            values[fname] = conv.convert(fname, cell)
        except _Bad as bad:
            problems.append(Problem(fname, bad.rule, number, None, bad.message))
            rid_problem = rid_problem or fname == "source_record_id"
    for fname, value in mapping.constants.items():
        if fname not in values:
            values[fname] = value
    if source is not None:
        values["source"] = source
    rid = values.get("source_record_id")
    record_id = rid if isinstance(rid, str) and 0 < len(rid) <= 200 and not rid_problem else None
    if record_id is not None:
        if record_id in seen:
            first = seen[record_id]
            problems.append(Problem("source_record_id", "duplicate", number, record_id,
                                    f"the same record id is already used by row {first} of this file"))
        else:
            seen[record_id] = number
    record, vproblems = validate_record(values, row=number, record_id=record_id)
    # problems found while converting cells carry no record id yet
    problems = [Problem(p.field, p.rule, p.row, record_id, p.message) if p.record_id is None else p
                for p in problems]
    problems = problems_from(problems + vproblems)
    if problems:
        return RowOutcome(number, record_id, None, problems)
    return RowOutcome(number, record_id, record, [])


def read_records(path: str | Path, mapping: Mapping | str | Path | None = None,
                 source: str | None = None) -> ReadResult:
    """Read an organisation's CSV / XLSX / JSON / JSONL file into validated case records.

    Parameters
    ----------
    path : path
        The file. Its format comes from ``mapping.format`` or the extension.
    mapping : Mapping or path, optional
        The organisation's column mapping (a :class:`Mapping` or a YAML path). Without one, the file's
        columns must already be CaseRecord field names (``source_record_id`` for the id).
    source : str, optional
        The source (list) name; overrides ``mapping.source``.

    Returns
    -------
    ReadResult
        One :class:`RowOutcome` per data row; ``rows_read == len(outcomes)``.

    Raises
    ------
    InputError
        The file cannot be read (missing, binary, undecodable, malformed XLSX/JSON) or no source is given.
    MappingError
        The mapping is invalid or names a column the file does not have.
    """
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = Mapping.load(mapping)
    mapped = mapping is not None
    table, data = read_table(path, mapping.format if mapping else None, mapping.encoding if mapping else None,
                             mapping.sheet if mapping else None)
    if mapping is None:
        mapping = Mapping.identity(table.columns)
    notes = list(table.notes)
    src = source if source is not None else mapping.source
    has_source = src is not None or "source" in mapping.constants or "source" in mapping.columns.values() or (
        not mapped and "source" in table.columns)
    if not has_source:
        raise InputError("no source name: give --source (or `source:` in the mapping)")
    if src is not None and not str(src).strip():
        raise InputError("the source name is empty")
    sha = sha256_bytes(data)
    if table.empty:
        return ReadResult([], sha, notes, table.format, table.encoding, src, [])
    plan, plan_notes = _plan(table, mapping, mapped)
    notes.extend(plan_notes)
    if table.encoding and table.encoding not in ("utf-8",) and not (mapped and mapping.encoding):
        notes.append(f"text encoding detected as {table.encoding}")
    conv = _Converter(mapping)
    seen: dict[str, int] = {}
    outcomes = [_outcome(r, plan, conv, mapping, src, seen) for r in table.rows]
    return ReadResult(outcomes, sha, notes, table.format, table.encoding, src, list(table.columns))
