"""No imported name appears in plaintext: not in the database file, its WAL or shared memory, not in
any table (PostgreSQL too), not in logs, warnings, reports or error messages.

Every identifying value of every imported row is searched for in many encodings.  The same search run over
the input file must find every one of them: that proves the search itself works.
"""

from __future__ import annotations

import csv
import json
import logging
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from store_helpers import make_record

from darkfigure.store import Key, Store

N = 60
IDENT = ["name_hangul", "name_chinese", "name_romanised", "place_of_birth", "phone"]
COLUMNS = ["source_record_id", "gender", "age_at_exploitation", *IDENT, "aliases"]


def _forms(text: str) -> set[bytes]:
    """The byte forms a name could take if it leaked: several encodings, escapes and normalisations."""
    forms: set[bytes] = set()
    variants = {text, unicodedata.normalize("NFD", text)}  # NFD: Hangul as conjoining jamo
    if text.isascii():
        variants |= {text.casefold(), text.upper(), text.casefold().replace(" ", "")}
    for v in variants:
        for enc in ("utf-8", "utf-16-le", "utf-16-be", "cp949", "gb18030"):
            try:
                forms.add(v.encode(enc))
            except UnicodeEncodeError:
                continue
        forms.add(json.dumps(v)[1:-1].encode("ascii"))  # \uXXXX escapes as a JSON dump would write them
    return {f for f in forms if len(f) >= 6}


def _names() -> tuple[list[list[str]], set[str]]:
    rows, secrets = [], set()
    for i in range(N):
        r = make_record(f"S-{i}", seed=1000 + i)
        age = "999" if i % 10 == 3 else str(r.age_at_exploitation)  # quarantined rows carry names too
        values = [getattr(r, f) for f in IDENT]
        rows.append([r.source_record_id, r.gender, age, *values, ";".join(r.aliases)])
        secrets.update(v for v in [*values, *r.aliases] if v)
    return rows, secrets


def _leaks(blob: bytes, secrets: set[str]) -> list[str]:
    """Secrets found in ``blob`` in any of their forms.

    Megabytes of database times thousands of forms is too slow with ``in``: every 6-byte window of the blob
    is packed into an integer and matched against the forms' first 6 bytes at once (numpy), and only those
    candidate positions are compared in full.
    """
    forms = {f: s for s in secrets for f in _forms(s)}
    if len(blob) < 6:
        return []
    arr = np.frombuffer(blob, dtype=np.uint8).astype(np.uint64)
    n = len(arr) - 5
    windows = np.zeros(n, dtype=np.uint64)
    for k in range(6):
        windows |= arr[k:k + n] << np.uint64(8 * k)
    prefix = {int.from_bytes(f[:6], "little"): [] for f in forms}  # type: dict[int, list[bytes]]
    for f in forms:
        prefix[int.from_bytes(f[:6], "little")].append(f)
    hits = np.nonzero(np.isin(windows, np.fromiter(prefix, dtype=np.uint64)))[0]
    found = set()
    for pos in hits.tolist():
        for f in prefix[int(windows[pos])]:
            if blob.startswith(f, pos):
                found.add(forms[f])
    return sorted(found)


def _dump_tables(store: Store) -> bytes:
    """Every value of every table, as bytes (a logical dump: works for PostgreSQL as for SQLite)."""
    out = bytearray()
    with store.engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'):
                for v in row:
                    out += v if isinstance(v, bytes | memoryview) else str(v).encode("utf-8")
                    out += b"\x00"
    return bytes(out)


def test_the_search_finds_names_where_they_are(tmp_path: Path) -> None:
    rows, secrets = _names()
    blob = "\n".join(",".join(r) for r in rows)
    assert _leaks(blob.encode("utf-8"), secrets) == sorted(secrets)
    assert _leaks(blob.encode("utf-16-le"), secrets) == sorted(secrets)
    assert _leaks(("x" + blob).encode("utf-16-be"), secrets) == sorted(secrets)  # odd offsets too
    one = sorted(secrets)[0]
    assert _leaks(b"\x00" * 999 + json.dumps(one).encode() + b"\xff" * 999, secrets) == [one]
    assert _leaks(unicodedata.normalize("NFD", blob).encode("utf-8"), secrets) == sorted(secrets)
    assert _leaks(b"nothing to see here, really", secrets) == []


def test_no_imported_name_in_store_logs_or_messages(store_url: str, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    rows, secrets = _names()
    src = tmp_path / "input"
    src.mkdir()
    utf8, cp949 = src / "ngo_utf8.csv", src / "ngo_cp949.csv"
    with utf8.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([COLUMNS, *rows[: N // 2]])
    # the Korean-export case: CP949 cannot hold every Chinese character, so those rows keep Hangul only
    with cp949.open("w", encoding="cp949", errors="replace", newline="") as fh:
        csv.writer(fh).writerows([COLUMNS, *rows[N // 2:]])
    assert len(_leaks(utf8.read_bytes(), secrets)) > N  # the search sees the names in the input

    key = Key.from_file(Key.generate_file(tmp_path / "store.key"))
    with Store.create(store_url, key) as store:
        reports = [store.import_file(utf8, source="ngo_a"),
                   store.import_file(cp949, source="ngo_a")]
        assert sum(r.quarantined for r in reports) == N // 10
        # a corrected re-import (updates) and a linkage run write more
        fixed = [make_record(f"S-{i}", seed=1000 + i, age_at_exploitation=20) for i in range(N)]
        store.import_records(fixed, source="ngo_a", file_name="fixed.csv")
        store.save_links({r.record_id: f"p{i % 7}" for i, r in enumerate(store.records())},
                         run_info={"threshold": 0.9})
        texts = [str(r) for r in reports] + [repr(q) for q in store.quarantine_rows()]
        texts += [json.dumps(store.summary()), json.dumps(store.audit_entries()), repr(store)]
        dump = _dump_tables(store)
        raw = b""
        if store.engine.dialect.name == "sqlite":
            # while the store is open, before any checkpoint: the WAL holds the latest pages
            raw = b"".join(p.read_bytes() for p in tmp_path.glob("cases.db*"))
            assert (tmp_path / "cases.db-wal").exists()
    if store_url.endswith(".db"):
        raw += b"".join(p.read_bytes() for p in tmp_path.glob("cases.db*"))
    captured = capsys.readouterr()
    logs = caplog.text + captured.out + captured.err + "\n".join(texts)

    assert _leaks(dump, secrets) == []
    assert _leaks(raw, secrets) == []
    assert _leaks(logs.encode("utf-8"), secrets) == []
    # the organisation's record ids are encrypted too (they are inside the records and the quarantine)
    assert b"S-17" not in dump and b"S-17" not in raw
