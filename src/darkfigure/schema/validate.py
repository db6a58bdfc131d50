"""Validate one raw record: build a :class:`CaseRecord` or collect every problem, never echoing a value.

pydantic's own error messages and ``input`` carry the offending value, so they are never passed on: each
error becomes a :class:`~darkfigure.exceptions.Problem` with the field, a rule name and a message written
here from the rule and the field's *constraints* only.

Examples
--------
>>> rec, problems = validate_record({"source": "ngo", "source_record_id": "A1", "gender": "Female"})
>>> rec.gender, problems
('Female', [])
>>> rec, problems = validate_record({"source": "ngo", "source_record_id": "A2", "gender": "F?",
...                                  "age_at_recruitment": 300}, row=2)
>>> rec is None
True
>>> [str(p) for p in problems]  # doctest: +NORMALIZE_WHITESPACE
['age_at_recruitment [out_of_range] (row 2, record A2): must be at most 100',
 'gender [vocabulary] (row 2, record A2): not a code of vocabulary Gender']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..exceptions import DataValidationError, Problem, problems_from
from .records import CaseRecord
from .vocab import FIELD_VOCABULARY, load_vocabulary

__all__ = ["check_vocabularies", "validate_record", "validate_records"]

# pydantic error type -> (our rule name, message template using only the constraint context)
_RULES: dict[str, tuple[str, str]] = {
    "missing": ("required", "is required"),
    "extra_forbidden": ("unknown_field", "is not a CaseRecord field"),
    "string_too_long": ("too_long", "is longer than {max_length} characters"),
    "string_too_short": ("empty", "must not be empty"),
    "too_long": ("too_many", "has more than {max_length} items"),
    "greater_than_equal": ("out_of_range", "must be at least {ge}"),
    "less_than_equal": ("out_of_range", "must be at most {le}"),
    "greater_than": ("out_of_range", "must be more than {gt}"),
    "less_than": ("out_of_range", "must be less than {lt}"),
    "int_parsing": ("not_an_integer", "must be a whole number"),
    "int_from_float": ("not_an_integer", "must be a whole number"),
    "int_type": ("not_an_integer", "must be a whole number"),
    "float_parsing": ("not_a_number", "must be a number"),
    "float_type": ("not_a_number", "must be a number"),
    "finite_number": ("not_a_number", "must be a finite number"),
    "string_type": ("not_text", "must be text"),
    "list_type": ("not_a_list", "must be a list"),
    "literal_error": ("invalid_value", "is not an allowed value"),
    "value_error": ("invalid_date", "is not a possible date of the form YYYY, YYYY-MM or YYYY-MM-DD"),
    "frozen_instance": ("frozen", "cannot be changed"),
}

_DATE_FIELDS = {"record_date", "date_of_birth"}


def _problem_from_error(err: Mapping[str, Any], row: int | None, record_id: str | None) -> Problem:
    loc: tuple[Any, ...] = tuple(err.get("loc") or ("(record)",))
    field = str(loc[0])
    kind = str(err.get("type", "invalid"))
    rule, template = _RULES.get(kind, ("invalid", "is not valid"))
    if kind == "value_error" and field not in _DATE_FIELDS:
        rule, template = "invalid", "is not valid"
    ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | float)}
    try:
        message = template.format(**ctx)
    except (KeyError, IndexError):
        message = template.split("{")[0].rstrip() or "is not valid"
    if len(loc) > 1 and isinstance(loc[1], int):
        message = f"item {loc[1] + 1} {message}"
    return Problem(field=field, rule=rule, row=row, record_id=record_id, message=message)


def check_vocabularies(
    raw: Mapping[str, Any], row: int | None = None, record_id: str | None = None
) -> list[Problem]:
    """Return a problem for every coded field of ``raw`` that holds something other than a vocabulary code.

    Examples
    --------
    >>> check_vocabularies({"harms": ["Pregnancy", "Pregnant"]})[0].rule
    'vocabulary'
    """
    problems: list[Problem] = []
    for field, vocab_name in FIELD_VOCABULARY.items():
        value = raw.get(field)
        if value is None:
            continue
        vocab = load_vocabulary(vocab_name)
        items = value if isinstance(value, list | tuple) else [value]
        for i, item in enumerate(items):
            if not isinstance(item, str) or item not in vocab:
                where = f"item {i + 1} " if isinstance(value, list | tuple) else ""
                problems.append(Problem(field, "vocabulary", row, record_id,
                                        f"{where}not a code of vocabulary {vocab_name}"))
    return problems


def validate_record(
    raw: Mapping[str, Any], row: int | None = None, record_id: str | None = None
) -> tuple[CaseRecord | None, list[Problem]]:
    """Build a :class:`CaseRecord` from ``raw``, or return every problem found in it.

    Parameters
    ----------
    raw : mapping
        Field name -> value; coded fields must already hold vocabulary codes (``darkfigure.io`` maps
        labels to codes before calling this).
    row : int, optional
        1-based data row in the input file, copied into each problem.
    record_id : str, optional
        The source record id to name in problems (default: ``raw["source_record_id"]`` when it is text).

    Returns
    -------
    (CaseRecord or None, list of Problem)
        The record is None exactly when the list is non-empty. Problems name the field and the rule,
        never the value.
    """
    if record_id is None:
        rid = raw.get("source_record_id")
        record_id = rid.strip() or None if isinstance(rid, str) and len(rid) <= 200 else None
    problems = check_vocabularies(raw, row, record_id)
    record: CaseRecord | None = None
    try:
        record = CaseRecord.model_validate(dict(raw))
    except ValidationError as exc:
        problems.extend(
            _problem_from_error(e, row, record_id) for e in exc.errors(include_url=False, include_input=False)
        )
    # one problem per (field, rule): pydantic may report a list field once per bad item
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for p in problems:
        if (p.field, p.rule, p.message) not in seen:
            seen.add((p.field, p.rule, p.message))
            unique.append(p)
    if unique:
        return None, problems_from(unique)
    return record, []


def validate_records(raws: list[Mapping[str, Any]], context: str = "records") -> list[CaseRecord]:
    """Validate many raw records; raise one :class:`DataValidationError` with every problem, if any.

    Examples
    --------
    >>> len(validate_records([{"source": "s", "source_record_id": "1"}]))
    1
    """
    records: list[CaseRecord] = []
    problems: list[Problem] = []
    for i, raw in enumerate(raws, start=1):
        rec, probs = validate_record(raw, row=i)
        if rec is not None:
            records.append(rec)
        problems.extend(probs)
    if problems:
        raise DataValidationError(problems, context=context)
    return records
