"""A process killed (SIGKILL) during an import leaves the store exactly as it was before that import.

The child process imports a generated file of a few thousand rows (enough that SQLite spills uncommitted
pages into the WAL).  To kill it at a known point instead of a lucky one, its progress callback announces the
point and then waits; the parent kills it there: once midway through writing the records, and once with every
row, the quarantine, the import entry and the audit entries written but not yet committed.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from store_helpers import make_record

from darkfigure.store import Key, Store

N_ROWS = 2000
COLUMNS = ["source_record_id", "gender", "age_at_exploitation", "name_hangul", "name_romanised",
           "name_chinese", "date_of_birth", "exploitation_types"]

CHILD = r"""
import os, sys, time
from darkfigure.store import Key, Store

url, key_file, path, stop = sys.argv[1:5]

def progress(done, total):
    print(f"progress {done} {total}", flush=True)
    if (stop == "midway" and done >= total // 2) or (stop == "before_commit" and done == total):
        print("PAUSED", flush=True)
        time.sleep(120)

with Store.open(url, Key.from_file(key_file)) as store:
    store.import_file(path, source="ngo_a", progress=progress)
print("COMMITTED", flush=True)
"""


def _big_csv(path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for i in range(N_ROWS):
            r = make_record(f"B-{i}")
            age = "999" if i % 100 == 7 else r.age_at_exploitation  # some rows for the quarantine too
            w.writerow([r.source_record_id, r.gender, age, r.name_hangul, r.name_romanised, r.name_chinese,
                        r.date_of_birth, ";".join(r.exploitation_types)])


def _state(store: Store) -> tuple[object, ...]:
    s = store.summary()
    frame = store.records_frame(identifying=True)
    return (s["records"], s["quarantined"], s["imports"], tuple(map(tuple, frame.astype(str).values)),
            tuple(store.quarantine_rows()))


def _kill_at(stop: str, store_url: str, key_file: Path, big: Path, tmp_path: Path) -> list[str]:
    """Run the child import, SIGKILL it at ``stop``; return what it printed."""
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), store_url, str(key_file), str(big), stop],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[str] = []
    assert proc.stdout is not None and proc.stderr is not None
    # Blocking line reads: select() on the pipe would not see lines already held in Python's read buffer
    # (PAUSED could sit there while the child sleeps). A timer kills a child that never gets there.
    guard = threading.Timer(180, proc.kill)
    guard.start()
    try:
        for raw in proc.stdout:
            line = raw.strip()
            seen.append(line)
            if line == "PAUSED":
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        guard.cancel()
        if proc.poll() is None and "PAUSED" not in seen:
            proc.kill()
        proc.wait(timeout=30)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert "PAUSED" in seen, f"child never reached the kill point: {seen[-3:]} {stderr[-500:]}"
    assert "COMMITTED" not in seen
    assert proc.returncode == -signal.SIGKILL
    progress = [tuple(map(int, s.split()[1:])) for s in seen if s.startswith("progress")]
    assert progress and progress[-1][0] > 0  # rows had been written when it died
    return seen


def _prepare(store_url: str, tmp_path: Path) -> tuple[Key, Path, Path]:
    key_file = Key.generate_file(tmp_path / "store.key")
    key = Key.from_file(key_file)
    with Store.create(store_url, key) as store:
        store.import_records([make_record(f"A-{i}") for i in range(10)], source="ngo_a", file_name="a.csv")
    big = tmp_path / "big.csv"
    _big_csv(big)
    return key, key_file, big


def test_sigkill_midway_leaves_store_unchanged(store_url: str, tmp_path: Path) -> None:
    key, key_file, big = _prepare(store_url, tmp_path)
    with Store.open(store_url, key) as store:
        before = _state(store)
        n_audit = store.summary()["audit_entries"]
    _kill_at("midway", store_url, key_file, big, tmp_path)
    with Store.open(store_url, key) as store:
        assert store.verify_audit().ok
        assert store.summary()["audit_entries"] == n_audit
        assert _state(store) == before
        if store.engine.dialect.name == "sqlite":
            # the store is neither locked nor damaged: the same import now succeeds
            report = store.import_file(big, source="ngo_a")
            assert (report.rows_read, report.quarantined) == (N_ROWS, N_ROWS // 100)
            assert store.count() == 10 + N_ROWS - N_ROWS // 100
            assert store.verify_audit().ok


def test_sigkill_just_before_commit_leaves_sqlite_store_unchanged(tmp_path: Path) -> None:
    # every row, the quarantine, the import entry and the audit entries written; only COMMIT missing
    url = str(tmp_path / "cases.db")
    key, key_file, big = _prepare(url, tmp_path)
    with Store.open(url, key) as store:
        before = _state(store)
    _kill_at("before_commit", url, key_file, big, tmp_path)
    # the uncommitted import really reached the disk (SQLite spilled its pages into the WAL)
    assert Path(url + "-wal").stat().st_size > 1_000_000
    with Store.open(url, key) as store:
        assert store.verify_audit().ok
        assert _state(store) == before
