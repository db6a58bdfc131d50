"""validate_record: every problem of a record collected, named by field and rule, never by value."""

from __future__ import annotations

import pytest

from darkfigure.exceptions import DataValidationError
from darkfigure.schema import CaseRecord, PartialDate, validate_record, validate_records

BASE = {"source": "rescue_ngo", "source_record_id": "R-1"}
SENTINEL = "Zq9SENTINELxx"


def test_valid_record():
    rec, problems = validate_record(
        {
            **BASE,
            "gender": "Female",
            "exploitation_types": ["SexualExploitation"],
            "date_of_birth": "1994-03",
            "age_at_exploitation": 19,
        }
    )
    assert problems == []
    assert isinstance(rec, CaseRecord)
    assert rec.date_of_birth.precision == "month"
    assert rec.schema_version == "1.0"


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        ({"source": "s"}, "source_record_id", "required"),
        ({**BASE, "gender": "Femme"}, "gender", "vocabulary"),
        ({**BASE, "harms": ["Pregnancy", "Bruises"]}, "harms", "vocabulary"),
        ({**BASE, "citizenship": "XX"}, "citizenship", "vocabulary"),
        ({**BASE, "recruitment_place": "Atlantis"}, "recruitment_place", "vocabulary"),
        ({**BASE, "age_at_recruitment": 130}, "age_at_recruitment", "out_of_range"),
        ({**BASE, "age_at_recruitment": -1}, "age_at_recruitment", "out_of_range"),
        ({**BASE, "times_sold": 2.5}, "times_sold", "not_an_integer"),
        ({**BASE, "clients_per_night": "many"}, "clients_per_night", "not_a_number"),
        ({**BASE, "date_of_birth": "1990-02-30"}, "date_of_birth", "invalid_date"),
        ({**BASE, "record_date": "2019-13"}, "record_date", "invalid_date"),
        ({**BASE, "name_hangul": "가" * 201}, "name_hangul", "too_long"),
        ({**BASE, "bogus_field": 1}, "bogus_field", "unknown_field"),
        ({**BASE, "harms": "STI"}, "harms", "not_a_list"),
        ({**BASE, "schema_version": "9.9"}, "schema_version", "invalid_value"),
    ],
)
def test_each_rule(raw, field, rule):
    rec, problems = validate_record(raw, row=7)
    assert rec is None
    assert (field, rule) in {(p.field, p.rule) for p in problems}
    assert all(p.row == 7 for p in problems)


def test_all_problems_of_a_row_are_collected():
    raw = {**BASE, "gender": "x", "age_at_exploitation": 500, "date_of_birth": "1990-02-30", "harms": ["y"]}
    _, problems = validate_record(raw)
    assert {p.field for p in problems} == {"gender", "age_at_exploitation", "date_of_birth", "harms"}
    assert all(p.record_id == "R-1" for p in problems)


def test_messages_never_contain_values():
    raw = {
        "source": "s",
        "source_record_id": "R-2",
        "gender": SENTINEL,
        "name_hangul": SENTINEL * 30,
        "date_of_birth": SENTINEL,
        "age_at_recruitment": SENTINEL,
        "harms": [SENTINEL],
        "citizenship": SENTINEL,
        SENTINEL: SENTINEL,
    }
    _, problems = validate_record(raw)
    assert len(problems) >= 6
    for p in problems:
        text = str(p) + p.message + p.rule
        assert SENTINEL not in text.replace(f"{SENTINEL} [unknown_field]", "")
    # an unknown *key* is named (it is a column name, not a value); its value is not
    assert any(p.rule == "unknown_field" for p in problems)


def test_record_id_override_and_long_ids_not_echoed():
    _, problems = validate_record({"source": "s", "source_record_id": "x" * 500, "gender": "?"})
    assert all(p.record_id is None for p in problems)
    _, problems = validate_record({**BASE, "gender": "?"}, record_id="given")
    assert problems[0].record_id == "given"


def test_partial_dates():
    assert PartialDate.parse("1994").precision == "year"
    assert PartialDate.parse("1994-03-05").precision == "day"
    for bad in ("1990-02-30", "94", "1994-00", "1899", "1994/03"):
        with pytest.raises(ValueError):
            PartialDate.parse(bad)


def test_validate_records_raises_once_with_everything():
    with pytest.raises(DataValidationError) as info:
        validate_records([BASE, {**BASE, "gender": "?"}, {"source": "s"}], context="test")
    assert {p.row for p in info.value.problems} == {2, 3}
    assert len(validate_records([BASE])) == 1


def test_records_are_frozen_and_json_round_trip():
    rec, _ = validate_record({**BASE, "date_of_birth": "1994-03", "aliases": ["a", "b"]})
    data = rec.model_dump(mode="json")
    assert data["date_of_birth"] == "1994-03"
    again, problems = validate_record(data)
    assert problems == [] and again == rec
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type is an implementation detail
        rec.gender = "Female"  # type: ignore[misc]
