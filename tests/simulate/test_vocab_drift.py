"""The simulator's code lists and writers' label tables against the schema's vocabularies.

The simulator keeps its own ordered code tuples (the order fixes which draw gives which code, so the same
seed keeps giving the same bytes); these tests make sure they never drift from the vocabularies the store
validates against: a renamed or removed code fails here, not as quarantined rows in a demo.
"""

from __future__ import annotations

import pytest

from darkfigure.schema.vocab import load_vocabulary
from darkfigure.simulate import _scenario, _writers

TUPLES = [
    ("PROVINCES", "NKProvince"),
    ("RECRUITMENT", "Recruitment"),
    ("CONTROL", "MethodsOfControl"),
    ("HARMS", "Harm"),
    ("ROLES", "RoleInProcess"),
    ("OUTCOMES", "Outcome"),
    ("ENTERTAINMENT_VENUES", "VenueType"),
    ("SERVICE_VENUES", "VenueType"),
]

LABEL_TABLES = [
    ("PROV_EN", "NKProvince"), ("PROV_KO", "NKProvince"), ("PROV_ZH", "NKProvince"),
    ("VENUE_EN", "VenueType"), ("VENUE_ZH", "VenueType"),
    ("CONTROL_EN", "MethodsOfControl"),
    ("RECRUIT_EN", "Recruitment"), ("RECRUIT_KO", "Recruitment"),
    ("OUTCOME_EN", "Outcome"), ("OUTCOME_KO", "Outcome"), ("OUTCOME_ZH", "Outcome"),
]


@pytest.mark.parametrize(("name", "vocabulary"), TUPLES)
def test_simulator_codes_exist_in_the_vocabulary(name: str, vocabulary: str) -> None:
    codes = getattr(_scenario, name)
    missing = sorted(set(codes) - set(load_vocabulary(vocabulary).codes))
    assert not missing, f"{name} has codes that vocabulary {vocabulary} lacks: {missing}"
    assert len(set(codes)) == len(codes), f"{name} repeats a code"


def test_the_complete_lists_are_complete() -> None:
    # provinces, recruitment, harms and outcomes are drawn over the whole vocabulary
    for name, vocabulary in [("PROVINCES", "NKProvince"), ("RECRUITMENT", "Recruitment"),
                             ("HARMS", "Harm"), ("OUTCOMES", "Outcome")]:
        assert set(getattr(_scenario, name)) == set(load_vocabulary(vocabulary).codes), name


@pytest.mark.parametrize(("name", "vocabulary"), LABEL_TABLES)
def test_writer_label_tables_are_keyed_by_vocabulary_codes(name: str, vocabulary: str) -> None:
    table = getattr(_writers, name)
    missing = sorted(set(table) - set(load_vocabulary(vocabulary).codes))
    assert not missing, f"{name} is keyed by codes that vocabulary {vocabulary} lacks: {missing}"
