"""read_records: every format, the mapping rules, and one outcome per row whatever the file holds."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from darkfigure.exceptions import InputError, MappingError
from darkfigure.io import Mapping, read_records

KO_MAPPING = {
    "mapping_version": 1,
    "source": "rescue_ngo",
    "record_id": "번호",
    "columns": {
        "이름": "name_hangul",
        "생년월일": "date_of_birth",
        "나이": "age_at_exploitation",
        "착취유형": "exploitation_types",
        "성별": "gender",
        "판매가격": "sale_price_usd",
        "출신": "home_province",
    },
    "values": {"exploitation_types": {"성매매": "SexualExploitation"}, "gender": {"여": "Female"}},
    "dates": {"date_of_birth": ["%Y.%m.%d", "%Y.%m", "%Y년"]},
    "constants": {"language": "ko", "citizenship": "KP"},
    "ignore": ["비고"],
}
KO_HEADER = "번호,이름,생년월일,나이,착취유형,성별,판매가격,출신,비고"


def _csv(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _by_row(result):
    return {o.row: o for o in result.outcomes}


def _rules(outcome):
    return {(p.field, p.rule) for p in outcome.problems}


def _check_invariants(result):
    assert result.rows_read == len(result.outcomes)
    for o in result.outcomes:
        assert (o.record is None) == bool(o.problems)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_korean_csv_with_mapping(tmp_path, encoding):
    text = (
        KO_HEADER + "\n"
        "1,김영희,1994.03.05,19,성매매;강제 결혼,여,4000,함경북도,메모\n"
        '2,박순자,1994.03,20.0,Sexual exploitation,여성,"1,500",량강도,\n'
        "3,이명숙,1993년,21,SexualExploitation,Female,,UnknownProvince,\n"
    )
    r = read_records(_csv(tmp_path, text, encoding), Mapping.from_dict(KO_MAPPING))
    _check_invariants(r)
    assert r.rows_read == 3 and all(o.ok for o in r.outcomes), [o.problems for o in r.outcomes]
    a, b, c = (o.record for o in r.outcomes)
    assert a.exploitation_types == ["SexualExploitation", "ForcedMarriage"]  # mapping value, then label
    assert a.gender == "Female" and b.gender == "Female" and c.gender == "Female"
    assert (a.date_of_birth, b.date_of_birth, c.date_of_birth) == ("1994-03-05", "1994-03", "1993")
    assert c.date_of_birth.precision == "year"
    assert b.age_at_exploitation == 20 and b.sale_price_usd == 1500.0
    assert a.home_province == "NorthHamgyong" and b.home_province == "Ryanggang"
    assert a.language == "ko" and a.citizenship == "KP" and a.source == "rescue_ngo"
    assert r.outcomes[0].source_record_id == "1"
    assert not any("비고" in n for n in r.notes)  # ignored columns are not reported


def test_gb18030_csv_detected(tmp_path):
    mapping = {
        "record_id": "编号",
        "columns": {"姓名": "name_chinese", "性别": "gender", "省份": "home_province"},
        "source": "deport",
    }
    text = "编号,姓名,性别,省份\n1,王秀英,女,咸镜北道\n2,李春花,女性,两江道\n"
    r = read_records(_csv(tmp_path, text, "gb18030"), Mapping.from_dict(mapping))
    assert r.encoding == "gb18030"
    assert [o.record.name_chinese for o in r.outcomes] == ["王秀英", "李春花"]
    assert [o.record.home_province for o in r.outcomes] == ["NorthHamgyong", "Ryanggang"]


def test_explicit_encoding_in_mapping_wins(tmp_path):
    text = "source_record_id,name_hangul\n1,김영희\n"
    p = _csv(tmp_path, text, "cp949")
    r = read_records(
        p,
        Mapping.from_dict(
            {"record_id": "source_record_id", "encoding": "cp949", "columns": {"name_hangul": "name_hangul"}}
        ),
        source="s",
    )
    assert r.outcomes[0].record.name_hangul == "김영희"
    with pytest.raises(InputError, match="not valid utf-8"):
        read_records(p, Mapping.from_dict({"record_id": "source_record_id", "encoding": "utf-8"}), source="s")


def test_no_mapping_needs_field_names(tmp_path):
    p = _csv(tmp_path, "source_record_id,gender,colour\n1,Female,red\n")
    r = read_records(p, source="s")
    assert r.outcomes[0].record.gender == "Female"
    assert any("colour" in n and "not imported" in n for n in r.notes)
    with pytest.raises(MappingError, match="source_record_id"):
        read_records(_csv(tmp_path, "id,gender\n1,Female\n", name="g.csv"), source="s")


def test_source_rules(tmp_path):
    p = _csv(tmp_path, "source_record_id,source\n1,from_file\n")
    assert read_records(p).outcomes[0].record.source == "from_file"
    assert read_records(p, source="given").outcomes[0].record.source == "given"  # --source overrides
    with pytest.raises(InputError, match="no source"):
        read_records(_csv(tmp_path, "source_record_id\n1\n", name="n.csv"))


def test_mapping_column_missing_from_file_is_mapping_error(tmp_path):
    p = _csv(tmp_path, "번호,이름\n1,김영희\n")
    with pytest.raises(MappingError, match="not in the file"):
        read_records(p, Mapping.from_dict(KO_MAPPING))
    yaml_path = tmp_path / "m.yaml"
    yaml_path.write_text("record_id: 번호\ncolumns: {이름: nmae}\n", encoding="utf-8")
    with pytest.raises(MappingError):
        read_records(p, yaml_path, source="s")


def test_unmapped_column_reported_once_as_note(tmp_path):
    m = {"record_id": "id", "columns": {"g": "gender"}, "source": "s"}
    r = read_records(_csv(tmp_path, "id,g,extra\n1,Female,a\n2,Male,b\n"), Mapping.from_dict(m))
    assert sum("'extra'" in n for n in r.notes) == 1
    assert all(o.ok for o in r.outcomes)


def test_row_rules(tmp_path):
    text = (
        KO_HEADER + "\n"
        "1,김영희,1990.02.30,19,성매매,여,,,\n"  # impossible date
        "2,박순자,1994.03,3명,성매매,여,$4,,\n"  # units: not numbers
        "3,이명숙,1994,19.5,사이버섹스,여,,Seoul,\n"  # not whole, wrong vocabulary, not a province
        "1,최은정,1995,20,성매매,여,,,\n"  # duplicate id
        '5,=HYPERLINK("x"),1995,20,성매매,여,,,,,extra\n'  # formula-like name is data; extra cells
        ",무번호,1995,20,성매매,여,,,\n"  # no id
        "7,김영희,1994,101,성매매,여,-5,,\n"  # out of range
    )
    r = read_records(_csv(tmp_path, text), Mapping.from_dict(KO_MAPPING))
    _check_invariants(r)
    rows = _by_row(r)
    assert rows[1].record is None and _rules(rows[1]) == {("date_of_birth", "invalid_date")}
    assert _rules(rows[2]) == {("age_at_exploitation", "not_a_number"), ("sale_price_usd", "not_a_number")}
    assert _rules(rows[3]) == {
        ("age_at_exploitation", "not_an_integer"),
        ("exploitation_types", "vocabulary"),
        ("home_province", "vocabulary"),
    }
    assert _rules(rows[4]) == {("source_record_id", "duplicate")}
    assert rows[4].source_record_id == "1" and rows[4].problems[0].record_id == "1"
    assert _rules(rows[5]) == {("(row)", "extra_cells")}
    assert _rules(rows[6]) == {("source_record_id", "required")} and rows[6].source_record_id is None
    assert _rules(rows[7]) == {("age_at_exploitation", "out_of_range"), ("sale_price_usd", "out_of_range")}
    # formula-like cells are data: kept as text, never evaluated
    r2 = read_records(
        _csv(tmp_path, "source_record_id,name_hangul\n1,=1+1\n2,@SUM(A1)\n", name="f2.csv"), source="s"
    )
    assert [o.record.name_hangul for o in r2.outcomes] == ["=1+1", "@SUM(A1)"]


def test_ragged_short_rows_are_padded(tmp_path):
    r = read_records(
        _csv(tmp_path, "source_record_id,gender,harms\n1\n2,Female\n3,Female,STI;Pregnancy\n"), source="s"
    )
    assert [o.ok for o in r.outcomes] == [True, True, True]
    assert r.outcomes[2].record.harms == ["STI", "Pregnancy"]


def test_nul_bytes_and_huge_fields_are_row_problems(tmp_path):
    huge = "가" * 20_000
    text = f"source_record_id,name_hangul,gender\n1,ab\x00cd,Female\n2,{huge},Female\n3,ok,Female\n"
    r = read_records(_csv(tmp_path, text), source="s")
    _check_invariants(r)
    rows = _by_row(r)
    assert _rules(rows[1]) == {("name_hangul", "control_character")}
    assert _rules(rows[2]) == {("name_hangul", "too_long")}
    assert rows[3].ok


def test_empty_file_and_header_only(tmp_path):
    for text in ("", "\n\n", "source_record_id,gender\n"):
        r = read_records(_csv(tmp_path, text), source="s")
        assert r.rows_read == 0 and r.outcomes == []
        assert len(r.file_sha256) == 64
    r = read_records(_csv(tmp_path, "source_record_id,gender\n\n1,Female\n\n"), source="s")
    assert r.rows_read == 1 and r.outcomes[0].row == 2  # row numbers keep their place in the file
    assert any("blank" in n for n in r.notes)


def test_duplicate_column_names(tmp_path):
    # a duplicated column that is imported is ambiguous: whole-file error
    with pytest.raises(MappingError, match="2 columns named"):
        read_records(_csv(tmp_path, "source_record_id,gender,gender\n1,Female,Male\n"), source="s")
    # a duplicated column that is not imported is only a note
    r = read_records(_csv(tmp_path, "source_record_id,x,x\n1,a,b\n", name="d.csv"), source="s")
    assert r.outcomes[0].ok and any("appears 2 times" in n for n in r.notes)


@pytest.mark.parametrize(
    "content",
    [
        b"PK\x03\x04garbage",
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        bytes(range(256)) * 4,
        b"\x00\x01\x02\x03" * 100,
    ],
)
def test_binary_csv_is_input_error(tmp_path, content):
    p = tmp_path / "bin.csv"
    p.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_records(p, source="s")
    assert "\n" not in str(info.value)


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(InputError):
        read_records(tmp_path / "nope.csv", source="s")
    p = tmp_path / "f.docx"
    p.write_text("x")
    with pytest.raises(InputError, match="format"):
        read_records(p, source="s")


# ------------------------------------------------------------------------------------------- XLSX
def _xlsx(path: Path, rows: list[list], sheet: str = "Sheet1") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx(tmp_path):
    p = _xlsx(
        tmp_path / "f.xlsx",
        [
            ["번호", "이름", "생년월일", "나이", "성별", "전화"],
            [1, "김영희", dt.datetime(1994, 3, 5), 19, "여성", 1012345678],
            [2.0, "=1+1", "1994.03", 20.0, "Female", None],
            [3, "이명숙", "1990.02.30", "x", "Female", None],
        ],
    )
    m = {
        "record_id": "번호",
        "source": "church",
        "format": "xlsx",
        "columns": {
            "이름": "name_hangul",
            "생년월일": "date_of_birth",
            "나이": "age_at_exploitation",
            "성별": "gender",
            "전화": "phone",
        },
        "dates": {"date_of_birth": ["%Y.%m"]},
    }
    r = read_records(p, Mapping.from_dict(m))
    _check_invariants(r)
    a, b, c = r.outcomes
    assert a.record.date_of_birth == "1994-03-05" and a.record.phone == "1012345678"
    assert a.source_record_id == "1" and b.source_record_id == "2"
    assert b.record.name_hangul == "=1+1"  # a formula is text, never evaluated
    assert b.record.date_of_birth == "1994-03"
    assert _rules(c) == {("date_of_birth", "invalid_date"), ("age_at_exploitation", "not_a_number")}


def test_xlsx_sheet_and_corrupt(tmp_path):
    p = _xlsx(tmp_path / "f.xlsx", [["source_record_id"], ["1"]], sheet="Data")
    m = Mapping.from_dict({"record_id": "source_record_id", "sheet": "Data"})
    assert read_records(p, m, source="s").rows_read == 1
    with pytest.raises(MappingError, match="sheet"):
        read_records(p, Mapping.from_dict({"record_id": "source_record_id", "sheet": "Other"}), source="s")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(InputError, match="XLSX"):
        read_records(bad, source="s")
    notzip = tmp_path / "n.xlsx"
    notzip.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="XLSX"):
        read_records(notzip, source="s")


# ------------------------------------------------------------------------------------------- JSON
def test_json_and_jsonl(tmp_path):
    objs = [
        {"source_record_id": 1, "gender": "여성", "harms": ["STI", "임신"], "age_at_exploitation": "19"},
        {"source_record_id": "2", "gender": "Female", "harms": "STI;Pregnancy", "name_hangul": {"a": 1}},
        "not an object",
        {"source_record_id": "4", "age_at_exploitation": True},
    ]
    pj = tmp_path / "f.json"
    pj.write_text(json.dumps(objs, ensure_ascii=False), encoding="utf-8")
    r = read_records(pj, source="s")
    _check_invariants(r)
    a, b, c, d = r.outcomes
    assert a.record.harms == ["STI", "Pregnancy"] and a.record.age_at_exploitation == 19
    assert a.source_record_id == "1"
    assert _rules(b) == {("name_hangul", "wrong_type")}
    assert _rules(c) == {("(row)", "not_an_object")}
    assert _rules(d) == {("age_at_exploitation", "not_a_number")}

    pl = tmp_path / "f.jsonl"
    pl.write_text(
        "\n".join([json.dumps(objs[0], ensure_ascii=False), "{broken", "", json.dumps(objs[3])]),
        encoding="utf-8",
    )
    r = read_records(pl, source="s")
    _check_invariants(r)
    assert [o.row for o in r.outcomes] == [1, 2, 4]  # JSONL rows are line numbers
    assert _rules(r.outcomes[1]) == {("(row)", "invalid_json")}


@pytest.mark.parametrize("text", ['{"a": 1}', "[1, 2", "[" * 100_000, "not json"])
def test_bad_json_is_input_error(tmp_path, text):
    p = tmp_path / "f.json"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError):
        read_records(p, source="s")


def test_empty_json(tmp_path):
    p = tmp_path / "f.json"
    p.write_text("[]", encoding="utf-8")
    assert read_records(p, source="s").rows_read == 0


def test_file_sha256(tmp_path):
    import hashlib

    p = _csv(tmp_path, "source_record_id\n1\n")
    assert read_records(p, source="s").file_sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_repeated_values_give_the_same_answers(tmp_path):
    # coded values and dates are remembered per file; failures must be remembered as failures
    text = "source_record_id,gender,date_of_birth\n" + "".join(
        f"{i},{'여성' if i % 2 else 'F?'},{'1994-03' if i % 3 else '1990-02-30'}\n" for i in range(1, 13)
    )
    r = read_records(_csv(tmp_path, text), source="s")
    for o in r.outcomes:
        i = int(o.source_record_id)
        expected = set()
        if i % 2 == 0:
            expected.add(("gender", "vocabulary"))
        if i % 3 == 0:
            expected.add(("date_of_birth", "invalid_date"))
        assert _rules(o) == expected
        if o.ok:
            assert o.record.gender == "Female" and o.record.date_of_birth == "1994-03"


def test_whole_cell_mapping_value_wins_over_splitting(tmp_path):
    m = {
        "record_id": "id",
        "source": "s",
        "columns": {"t": "exploitation_types"},
        "values": {"exploitation_types": {"성매매;결혼": "ForcedMarriage"}},
    }
    r = read_records(_csv(tmp_path, "id,t\n1,성매매;결혼\n2,성매매;강제 결혼\n"), Mapping.from_dict(m))
    assert r.outcomes[0].record.exploitation_types == ["ForcedMarriage"]
    assert r.outcomes[1].record.exploitation_types == ["SexualExploitation", "ForcedMarriage"]
