"""Property test: malformed files thrown at ``Store.import_file`` never give a traceback.

Each example is a file built from hostile pieces (wrong encodings, ragged rows, huge cells, formula-like
cells, NUL bytes, wrong types, impossible dates, duplicate ids, stray JSON).  The import must either refuse
the whole file with a :class:`DarkfigureError` and leave the store untouched, or import it with
``rows_read == imported + updated + unchanged + quarantined`` and a record count that grew by ``imported``.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darkfigure.exceptions import DarkfigureError
from darkfigure.store import Key, Store

FIELDS = ["source_record_id", "gender", "age_at_exploitation", "date_of_birth", "name_hangul",
          "exploitation_types", "clients_per_night", "year_left"]
HOSTILE = [
    "", " ", "Female", "female", "여성", "女", "SexualExploitation", "SexualExploitation;ForcedLabour",
    "19", "19.0", "-3", "abc", "1e400", "NaN", "1990-02-30", "1994-03", "1994", "2019-13-01",
    "=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)", "a\x00b", "\x00", "가나다라", "\ufeff", "\u202e",
    "x" * 5000, "\"", "a,b", "line\nbreak", "1", "2", "3",
]


@st.composite
def hostile_file(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["csv", "csv", "csv", "jsonl", "bytes"]))
    if kind == "bytes":
        return "csv", draw(st.binary(max_size=300))
    header = draw(st.lists(st.sampled_from([*FIELDS, "junk", "", "source_record_id"]), min_size=1,
                           max_size=8))
    rows = draw(st.lists(st.lists(st.sampled_from(HOSTILE), max_size=10), max_size=12))
    if kind == "jsonl":
        lines = []
        for r in rows:
            if draw(st.booleans()):
                lines.append(json.dumps(dict(zip(header, r, strict=False))))
            else:
                lines.append(draw(st.sampled_from(["{", "[]", "null", "1", '{"source_record_id": {}}'])))
        return "jsonl", "\n".join(lines).encode("utf-8")
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)  # ragged on purpose: rows of any length
    text = buf.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp949", "gb18030", "utf-16", "latin-1"]))
    return "csv", text.encode(encoding, errors="replace")


def test_hostile_files_never_traceback_and_rows_add_up(tmp_path: Path) -> None:
    key = Key.from_file(Key.generate_file(tmp_path / "k"))
    store = Store.create(tmp_path / "s.db", key)
    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(hostile_file())
    def check(sample: tuple[str, bytes]) -> None:
        ext, data = sample
        path = tmp_path / f"f{next(counter)}.{ext}"
        path.write_bytes(data)
        before = store.summary()
        try:
            report = store.import_file(path, source="ngo_h")
        except DarkfigureError as exc:
            # the refusal names no cell value
            assert "x" * 100 not in str(exc) and "가나다라" not in str(exc)
            assert store.summary()["records"] == before["records"]
            assert store.summary()["imports"] == before["imports"]
            return
        assert report.rows_read == report.imported + report.updated + report.unchanged + report.quarantined
        assert store.count() == before["records"] + report.imported
        assert len(report.quarantined_rows) == report.quarantined

    try:
        check()
        assert store.verify_audit().ok
    finally:
        store.close()
