"""Property tests: malformed files thrown at read_records never cause an unexpected exception.

Whatever the bytes, read_records either raises InputError / MappingError (a whole-file problem, one line) or
returns one outcome per data row with a record xor problems — and no message ever repeats a cell value
(checked with a planted sentinel).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkfigure.exceptions import InputError, MappingError
from darkfigure.io import Mapping, read_records

SENTINEL = "Qx7SENTINEL"
COLUMNS = [
    "source_record_id",
    "gender",
    "date_of_birth",
    "age_at_exploitation",
    "harms",
    "name_hangul",
    "sale_price_usd",
    "recruitment_place",
    "unknown_col",
]

# Cells chosen to hit every rule: valid codes and labels, impossible dates, numbers with units, formula-like
# text, NUL and other control bytes, huge fields, non-BMP characters — each carrying the sentinel when it
# is free text.
nasty_cell = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "Female",
            "여성",
            "女",
            "F?",
            "1994",
            "1994-03",
            "1990-02-30",
            "1994.13.01",
            "19",
            "4.0",
            "3명",
            "$4",
            "4 USD",
            "-1",
            "1e400",
            "nan",
            "STI;Pregnancy",
            "STI;;?",
            "함경북도",
            "KP",
            "=1+1",
            "+1",
            "@SUM(A1)",
            "-2+3",
            "\x00",
            "a\x00b",
            "\x1b[31m",
            "\ud7a3",
            "𠜎",
            '"',
            "a,b",
            "line\nbreak",
            "\r",
        ]
    ),
    st.text(min_size=0, max_size=30).map(lambda t: SENTINEL + t),
    st.sampled_from([SENTINEL * 1200, "가" * 10_001]),  # huge fields (> the 10,000-character cap)
    st.sampled_from(['=HYPERLINK("' + SENTINEL + '")', "1990-02-30" + SENTINEL]),
)
id_cell = st.one_of(st.integers(0, 30).map(str), st.just(""), st.just("=1"), st.text(max_size=5))


@st.composite
def csv_files(draw):
    # mostly well-formed headers (so that rows are really read); sometimes duplicated or missing id columns
    header = draw(st.lists(st.sampled_from(COLUMNS[1:]), min_size=1, max_size=7, unique=True))
    if draw(st.integers(0, 9)) > 0:
        header = ["source_record_id", *header]
    if draw(st.integers(0, 9)) == 0:
        header = [*header, draw(st.sampled_from(header))]
    n_rows = draw(st.integers(0, 8))
    rows = []
    for _ in range(n_rows):
        width = draw(st.integers(0, len(header) + 2))  # ragged: short and long rows
        row = []
        for j in range(width):
            is_id = j < len(header) and header[j] == "source_record_id"
            row.append(draw(id_cell if is_id else nasty_cell))
        rows.append(row)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    w.writerow(header)
    w.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp949", "gb18030", "utf-16"]))
    data = buf.getvalue().encode(encoding, errors="replace")
    if draw(st.integers(0, 4)) == 0:  # sometimes corrupt a few bytes
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        data = data[:pos] + draw(st.binary(min_size=1, max_size=4)) + data[pos + 1 :]
    return data


def _check(result_or_exc, sentinel_safe=True):
    if isinstance(result_or_exc, Exception):
        text = str(result_or_exc)
        assert "\n" not in text
        assert SENTINEL not in text
        return
    r = result_or_exc
    assert r.rows_read == len(r.outcomes)
    rows = [o.row for o in r.outcomes]
    assert rows == sorted(set(rows))
    for o in r.outcomes:
        assert (o.record is None) != (len(o.problems) == 0)
        for p in o.problems:
            assert SENTINEL not in p.message and SENTINEL not in p.field and SENTINEL not in p.rule
            assert p.row == o.row
    for note in r.notes:
        assert SENTINEL not in note


def _read(path: Path, mapping=None):
    try:
        return read_records(path, mapping, source="prop")
    except (InputError, MappingError) as exc:
        return exc


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(data=csv_files())
def test_malformed_csv_never_crashes(data):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.csv"
        p.write_bytes(data)
        _check(_read(p))


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=400), ext=st.sampled_from(["csv", "json", "jsonl", "xlsx"]))
def test_random_bytes_never_crash(data, ext):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"f.{ext}"
        p.write_bytes(data)
        _check(_read(p))


json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True), nasty_cell),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None)
@given(
    items=st.lists(
        st.one_of(st.dictionaries(st.sampled_from(COLUMNS), json_value, max_size=6), json_value), max_size=6
    ),
    lines=st.booleans(),
)
def test_malformed_json_never_crashes(items, lines):
    with tempfile.TemporaryDirectory() as d:
        if lines:
            p = Path(d) / "f.jsonl"
            text = "\n".join(
                json.dumps(i, ensure_ascii=False) if k % 3 else "{bad" + SENTINEL
                for k, i in enumerate(items, start=1)
            )
        else:
            p = Path(d) / "f.json"
            text = json.dumps(items, ensure_ascii=False)
        p.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        _check(_read(p))


@settings(max_examples=20, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.one_of(nasty_cell, st.integers(-5, 200), st.floats(-1e6, 1e6), st.none()), max_size=6),
        max_size=5,
    )
)
def test_malformed_xlsx_never_crashes(rows):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["source_record_id", "gender", "date_of_birth", "age_at_exploitation", "name_hangul"])
        for r in rows:
            # openpyxl itself refuses control characters in cells; those are tested for CSV
            ws.append([c if not isinstance(c, str) else "".join(ch for ch in c if ch >= " ") for c in r])
        wb.save(p)
        mapping = Mapping.from_dict(
            {
                "record_id": "source_record_id",
                "columns": {c: c for c in ["gender", "date_of_birth", "age_at_exploitation", "name_hangul"]},
            }
        )
        _check(_read(p, mapping))


def test_sentinel_never_in_problems_notes_or_errors(tmp_path):
    """Every rule fires on a cell holding the sentinel; no message, note or error repeats it."""
    s = SENTINEL
    text = (
        "source_record_id,gender,date_of_birth,age_at_exploitation,harms,name_hangul,sale_price_usd\n"
        f"1,{s},{s},{s},STI;{s},{s * 1000},{s}\n"
        f"2,Female,1990-02-30,{s}3,,a\x00{s},4 {s}\n"
        f"3,Female,1994,19,,ok,,{s}\n"
    )
    p = tmp_path / "f.csv"
    p.write_text(text, encoding="utf-8")
    r = read_records(p, source="s")
    assert sum(len(o.problems) for o in r.outcomes) >= 8
    _check(r)
    # and the whole-file errors
    for bad in (f"[{s}", f'{{"{s}": 1}}'):
        (tmp_path / "f.json").write_text(bad, encoding="utf-8")
        _check(_read(tmp_path / "f.json"))
    m = Mapping.from_dict({"record_id": "source_record_id", "dates": {"date_of_birth": ["%Y.%m"]}})
    _check(_read(p, m))
