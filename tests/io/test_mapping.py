"""Column mappings: the YAML format of the contract, and a MappingError for every kind of mistake."""

from __future__ import annotations

import pytest

from darkfigure.exceptions import MappingError
from darkfigure.io import Mapping

GOOD = """\
mapping_version: 1
source: rescue_ngo
format: csv
encoding: cp949
sheet: Sheet1
record_id: 번호
multi_value_separator: ";"
columns:
  이름: name_hangul
  생년월일: date_of_birth
  나이: age_at_exploitation
values:
  exploitation_types:
    성매매: SexualExploitation
dates:
  date_of_birth: ["%Y.%m.%d", "%Y.%m", "%Y년"]
constants:
  language: ko
ignore: [비고]
"""


def test_contract_example_loads(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(GOOD, encoding="utf-8")
    m = Mapping.load(p)
    assert m.source == "rescue_ngo" and m.encoding == "cp949" and m.format == "csv" and m.sheet == "Sheet1"
    assert m.field_of_column("번호") == "source_record_id"
    assert m.field_of_column("이름") == "name_hangul"
    assert m.field_of_column("비고") is None
    assert m.values["exploitation_types"]["성매매"] == "SexualExploitation"
    assert m.dates["date_of_birth"] == ("%Y.%m.%d", "%Y.%m", "%Y년")
    assert m.constants == {"language": "ko"} and m.ignore == ("비고",)
    assert Mapping.from_dict(m.to_dict()) == m


@pytest.mark.parametrize(
    ("d", "match"),
    [
        ({"record_id": "id", "columns": {"x": "nmae_hangul"}}, "not a CaseRecord field"),
        ({"columns": {"x": "name_hangul"}}, "record_id"),
        ({"record_id": "id", "colums": {}}, "unknown key"),
        ({"record_id": "id", "values": {"gender": {"여": "Woman"}}}, "not a code of vocabulary Gender"),
        ({"record_id": "id", "values": {"name_hangul": {"a": "b"}}}, "not a coded CaseRecord field"),
        ({"record_id": "id", "dates": {"age_at_recruitment": ["%Y"]}}, "not a date field"),
        ({"record_id": "id", "dates": {"date_of_birth": ["%m/%d"]}}, "%Y"),
        ({"record_id": "id", "constants": {"gendre": "Female"}}, "not a CaseRecord field"),
        ({"record_id": "id", "constants": {"gender": "Woman"}}, "not a code of vocabulary Gender"),
        ({"record_id": "id", "encoding": "klingon-8"}, "encoding"),
        ({"record_id": "id", "format": "docx"}, "format"),
        ({"record_id": "id", "mapping_version": 2}, "mapping_version"),
        ({"record_id": "id", "columns": {"a": "gender", "b": "gender"}}, "more than one column"),
        ({"record_id": "id", "columns": {"id": "gender"}}, "record_id column"),
        ({"record_id": "id", "multi_value_separator": ""}, "separator"),
        ({"record_id": "id", "columns": ["a", "b"]}, "columns must be a mapping"),
        (["not", "a", "mapping"], "YAML mapping"),
    ],
)
def test_mapping_errors(d, match):
    with pytest.raises(MappingError, match=match):
        Mapping.from_dict(d)


def test_bad_yaml_is_a_one_line_mapping_error(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("record_id: [unclosed\n  columns: {", encoding="utf-8")
    with pytest.raises(MappingError) as info:
        Mapping.load(p)
    assert "\n" not in str(info.value) and "line" in str(info.value)
    with pytest.raises(MappingError):
        Mapping.load(tmp_path / "missing.yaml")


def test_identity_mapping_keeps_only_record_fields():
    m = Mapping.identity(["source_record_id", "gender", "favourite_colour"])
    assert m.record_id == "source_record_id"
    assert m.columns == {"gender": "gender"}


def test_only_the_record_id_column_fills_source_record_id():
    with pytest.raises(MappingError, match="more than one column"):
        Mapping.from_dict({"record_id": "id", "columns": {"other_id": "source_record_id"}})
    m = Mapping.from_dict({"record_id": "id", "columns": {"id": "source_record_id"}})
    assert m.field_of_column("id") == "source_record_id"
