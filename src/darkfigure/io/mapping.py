"""Column mappings: how one organisation's file maps onto :class:`~darkfigure.schema.CaseRecord` fields.

A mapping is hand-written YAML (one per organisation, kept under ``hand/``)::

    mapping_version: 1
    source: rescue_ngo
    encoding: cp949
    record_id: 번호
    columns: {이름: name_hangul, 생년월일: date_of_birth}
    values: {exploitation_types: {성매매: SexualExploitation}}
    dates: {date_of_birth: ["%Y.%m.%d", "%Y.%m", "%Y년"]}
    constants: {language: ko}
    ignore: [비고]

Examples
--------
>>> m = Mapping.from_dict({"record_id": "번호", "columns": {"이름": "name_hangul"}})
>>> m.field_of_column("이름"), m.field_of_column("번호")
('name_hangul', 'source_record_id')
>>> Mapping.from_dict({"record_id": "id", "columns": {"x": "nmae_hangul"}})
Traceback (most recent call last):
...
darkfigure.exceptions.MappingError: mapping: columns: 'nmae_hangul' is not a CaseRecord field
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping as _MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_origin

import yaml

from ..exceptions import MappingError
from ..schema.records import CaseRecord
from ..schema.vocab import FIELD_VOCABULARY, load_vocabulary

__all__ = ["DATE_FIELDS", "FORMATS", "LIST_FIELDS", "RECORD_FIELDS", "Mapping"]

FORMATS: tuple[str, ...] = ("csv", "xlsx", "json", "jsonl")
#: Every CaseRecord field a file column (or constant) may fill.
RECORD_FIELDS: frozenset[str] = frozenset(CaseRecord.model_fields) - {"schema_version"}
#: Fields that hold partial dates.
DATE_FIELDS: frozenset[str] = frozenset({"record_date", "date_of_birth"})
#: Multi-select fields (lists).
LIST_FIELDS: frozenset[str] = frozenset(
    name for name, f in CaseRecord.model_fields.items() if get_origin(f.annotation) is list
)

_KEYS = {"mapping_version", "source", "format", "encoding", "sheet", "record_id", "multi_value_separator",
         "columns", "values", "dates", "constants", "ignore"}


def _fail(msg: str) -> MappingError:
    return MappingError(f"mapping: {msg}")


def _str_dict(d: Any, what: str) -> dict[str, Any]:
    if d is None:
        return {}
    if not isinstance(d, _MappingABC):
        raise _fail(f"{what} must be a mapping")
    return {str(k): v for k, v in d.items()}


@dataclass(frozen=True)
class Mapping:
    """A validated column mapping (see the module docstring for the YAML format).

    Parameters
    ----------
    record_id : str
        The file column holding the organisation's record id (``source_record_id``).
    source : str, optional
        Default source name (the CLI's ``--source`` overrides it).
    format : {"csv", "xlsx", "json", "jsonl"}, optional
        File format; by default taken from the file extension.
    encoding : str, optional
        Text encoding of a CSV/JSON file; by default detected.
    sheet : str, optional
        XLSX sheet name (default: the first sheet).
    multi_value_separator : str
        Separator of items in multi-select cells (default ``";"``).
    columns : dict
        File column -> CaseRecord field.
    values : dict
        Field -> {file value -> vocabulary code}.
    dates : dict
        Date field -> extra ``strptime`` formats, tried in order.
    constants : dict
        Field -> value for every row of the file.
    ignore : tuple of str
        File columns deliberately not imported.
    """

    record_id: str
    source: str | None = None
    format: Literal["csv", "xlsx", "json", "jsonl"] | None = None
    encoding: str | None = None
    sheet: str | None = None
    multi_value_separator: str = ";"
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    dates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    mapping_version: int = 1

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, d: _MappingABC[str, Any]) -> Mapping:
        """Build and validate a mapping from a dict (as read from YAML).

        Raises
        ------
        MappingError
            On an unknown key, a field that is not a CaseRecord field, a value that is not a code of the
            field's vocabulary, an unknown encoding or format.
        """
        if not isinstance(d, _MappingABC):
            raise _fail("the mapping must be a YAML mapping (key: value lines)")
        unknown = sorted(set(map(str, d)) - _KEYS)
        if unknown:
            raise _fail(f"unknown key(s) {', '.join(map(repr, unknown))}")
        version = d.get("mapping_version", 1)
        if version != 1:
            raise _fail("mapping_version must be 1")
        record_id = d.get("record_id")
        if not isinstance(record_id, str | int) or not str(record_id).strip():
            raise _fail("record_id (the file column holding the organisation's record id) is required")
        fmt = d.get("format")
        if fmt is not None and str(fmt).lower() not in FORMATS:
            raise _fail(f"format must be one of {', '.join(FORMATS)}")
        encoding = d.get("encoding")
        if encoding is not None:
            try:
                codecs.lookup(str(encoding))
            except LookupError:
                raise _fail("encoding is not a known text encoding") from None
        sep = d.get("multi_value_separator", ";")
        if not isinstance(sep, str) or not sep:
            raise _fail("multi_value_separator must be a non-empty string")

        columns = {k: str(v) for k, v in _str_dict(d.get("columns"), "columns").items()}
        bad = sorted({v for v in columns.values() if v not in RECORD_FIELDS})
        if bad:
            raise _fail(f"columns: {', '.join(map(repr, bad))} is not a CaseRecord field")
        if str(record_id) in columns and columns[str(record_id)] != "source_record_id":
            raise _fail("the record_id column cannot also be mapped to another field")
        # the record_id column fills source_record_id; no other column may
        targets = [v for k, v in columns.items() if k != str(record_id)] + ["source_record_id"]
        dup = sorted({t for t in targets if targets.count(t) > 1})
        if dup:
            raise _fail(f"columns: field(s) {', '.join(map(repr, dup))} mapped from more than one column")

        values: dict[str, dict[str, str]] = {}
        for fname, table in _str_dict(d.get("values"), "values").items():
            if fname not in FIELD_VOCABULARY:
                raise _fail(f"values: {fname!r} is not a coded CaseRecord field")
            vocab = load_vocabulary(FIELD_VOCABULARY[fname])
            table = {str(k): str(v) for k, v in _str_dict(table, f"values.{fname}").items()}
            wrong = sorted({v for v in table.values() if v not in vocab})
            if wrong:
                shown = ", ".join(map(repr, wrong))
                raise _fail(f"values.{fname}: {shown} not a code of vocabulary {vocab.name}")
            values[fname] = table

        dates: dict[str, tuple[str, ...]] = {}
        for fname, fmts in _str_dict(d.get("dates"), "dates").items():
            if fname not in DATE_FIELDS:
                raise _fail(f"dates: {fname!r} is not a date field ({', '.join(sorted(DATE_FIELDS))})")
            if isinstance(fmts, str):
                fmts = [fmts]
            if not isinstance(fmts, list) or not all(isinstance(f, str) and "%Y" in f for f in fmts):
                raise _fail(f"dates.{fname} must be a list of strptime formats, each with %Y")
            dates[fname] = tuple(fmts)

        constants = _str_dict(d.get("constants"), "constants")
        bad = sorted(k for k in constants if k not in RECORD_FIELDS)
        if bad:
            raise _fail(f"constants: {', '.join(map(repr, bad))} is not a CaseRecord field")
        for fname, value in constants.items():
            if fname in FIELD_VOCABULARY:
                vocab = load_vocabulary(FIELD_VOCABULARY[fname])
                items = value if isinstance(value, list) else [value]
                if not all(isinstance(i, str) and i in vocab for i in items):
                    raise _fail(f"constants.{fname} is not a code of vocabulary {vocab.name}")

        ignore = d.get("ignore") or []
        if isinstance(ignore, str):
            ignore = [ignore]
        if not isinstance(ignore, list):
            raise _fail("ignore must be a list of column names")
        source = d.get("source")
        return cls(
            record_id=str(record_id),
            source=str(source) if source is not None else None,
            format=str(fmt).lower() if fmt is not None else None,  # type: ignore[arg-type]
            encoding=str(encoding) if encoding is not None else None,
            sheet=str(d["sheet"]) if d.get("sheet") is not None else None,
            multi_value_separator=sep,
            columns=columns,
            values=values,
            dates=dates,
            constants=constants,
            ignore=tuple(str(c) for c in ignore),
            mapping_version=1,
        )

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        """Read and validate a mapping YAML file.

        Raises
        ------
        MappingError
            If the file cannot be read, is not YAML, or is not a valid mapping.
        """
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(f"mapping: cannot read {Path(path).name}: {type(exc).__name__}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise MappingError(f"mapping: {Path(path).name} is not valid YAML{where}") from None
        return cls.from_dict(data)

    @classmethod
    def identity(cls, columns: list[str] | None = None) -> Mapping:
        """The mapping used when none is given: columns are already CaseRecord field names."""
        cols = {c: c for c in (columns or []) if c in RECORD_FIELDS and c != "source_record_id"}
        return cls(record_id="source_record_id", columns=cols)

    # ------------------------------------------------------------------ use
    def field_of_column(self, column: str) -> str | None:
        """Return the CaseRecord field a file column fills, or None."""
        if column == self.record_id:
            return "source_record_id"
        return self.columns.get(column)

    def to_dict(self) -> dict[str, Any]:
        """Return the mapping as a YAML-ready dict (inverse of :meth:`from_dict`)."""
        d: dict[str, Any] = {"mapping_version": self.mapping_version, "record_id": self.record_id}
        for key in ("source", "format", "encoding", "sheet"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        d["multi_value_separator"] = self.multi_value_separator
        d["columns"] = dict(self.columns)
        d["values"] = {k: dict(v) for k, v in self.values.items()}
        d["dates"] = {k: list(v) for k, v in self.dates.items()}
        d["constants"] = dict(self.constants)
        d["ignore"] = list(self.ignore)
        return d
