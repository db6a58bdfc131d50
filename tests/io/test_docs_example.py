"""The worked example in docs/schema.md runs as documented (so the page never drifts)."""

from __future__ import annotations

import re
from pathlib import Path

from darkfigure.io import Mapping, read_records

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"


def _block(text: str, name: str) -> str:
    m = re.search(rf"<!-- example: {name} -->\s*```\w*\n(.*?)```", text, re.S)
    assert m, f"no {name} example in {DOC.name}"
    return m.group(1)


def test_worked_example(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    csv_path = tmp_path / "rescue_ngo.csv"
    csv_path.write_bytes(_block(text, "csv").encode("cp949"))
    map_path = tmp_path / "rescue_ngo.yaml"
    map_path.write_text(_block(text, "mapping"), encoding="utf-8")
    result = read_records(csv_path, Mapping.load(map_path))
    assert result.rows_read == 3
    a, b, c = result.outcomes
    assert a.record.exploitation_types == ["SexualExploitation", "ForcedMarriage"]
    assert a.record.home_province == "NorthHamgyong" and a.record.citizenship == "KP"
    assert b.record.date_of_birth == "1994-03" and b.record.gender == "Female"
    assert b.record.home_province == "Ryanggang"
    assert [str(p) for p in c.problems] == [
        "age_at_exploitation [not_a_number] (row 3, record A-3): must be a number (digits only, no units or "
        "currency)",
        "date_of_birth [invalid_date] (row 3, record A-3): is not a possible date of the form "
        "YYYY, YYYY-MM or YYYY-MM-DD",
    ]
    for shown in ("[not_a_number] (row 3, record A-3)", "[invalid_date] (row 3, record A-3)"):
        assert shown in text
