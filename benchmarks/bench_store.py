"""Case-store throughput: encrypted, audited import and decryption vs. a plain SQLite baseline.

Run with ``python benchmarks/run.py store``.  The baseline is the least any store must do: the same records
as JSON inserted into a plain SQLite table in one transaction (no encryption, pseudonyms or audit), and
read back and parsed.  The ratio is what security costs.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

N = 5000


def _records(n: int) -> list:
    from darkfigure.schema.records import CaseRecord, PartialDate

    rng = random.Random(7)
    hangul = [chr(c) for c in range(0xAC00, 0xD7A4)]
    out = []
    for i in range(n):
        out.append(CaseRecord(
            source="ngo_bench", source_record_id=f"B-{i}", gender="Female", citizenship="KP",
            age_at_exploitation=rng.randint(14, 35), exploitation_types=["SexualExploitation"],
            name_hangul="".join(rng.choice(hangul) for _ in range(3)),
            name_romanised=f"Synthetic Person {i}",
            date_of_birth=PartialDate.parse(str(rng.randint(1980, 2000))),
        ))
    return out


class _Clock:
    """Wall and CPU seconds of a block (the machine may be shared: CPU time is the fairer figure)."""

    def __enter__(self) -> _Clock:
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


def main(out_dir: Path) -> None:
    from darkfigure.store import Key, Store

    recs = _records(N)
    tmp = Path(tempfile.mkdtemp())

    # baseline: plain JSON rows, one transaction
    with _Clock() as base_import, sqlite3.connect(tmp / "plain.db") as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE r (id TEXT PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO r VALUES (?, ?)",
                         [(r.source_record_id, r.model_dump_json()) for r in recs])
    with _Clock() as base_read, sqlite3.connect(tmp / "plain.db") as conn:
        rows = [type(recs[0]).model_validate_json(b) for (b,) in conn.execute("SELECT body FROM r")]
    assert len(rows) == N

    key = Key.from_file(Key.generate_file(tmp / "k"))
    with Store.create(tmp / "store.db", key) as store:
        with _Clock() as imp:
            store.import_records(recs, source="ngo_bench")
        with _Clock() as reimp:
            again = store.import_records(recs, source="ngo_bench")
        assert again.unchanged == N
        with _Clock() as read:
            frame = store.records_frame(identifying=True)
        assert len(frame) == N
        with _Clock() as verify:
            assert store.verify_audit().ok

    figures: dict[str, object] = {"n_records": N}
    clocks = [("baseline_import", base_import), ("store_import", imp), ("store_reimport_unchanged", reimp),
              ("baseline_read", base_read), ("store_records_frame", read), ("audit_verify", verify)]
    for name, c in clocks:
        figures[f"{name}_wall_s"] = round(c.wall, 3)
        figures[f"{name}_cpu_s"] = round(c.cpu, 3)
    figures["import_ratio_cpu"] = round(imp.cpu / base_import.cpu, 1)
    figures["read_ratio_cpu"] = round(read.cpu / base_read.cpu, 1)
    figures["import_rows_per_cpu_s"] = round(N / imp.cpu)
    for k, v in figures.items():
        print(f"  {k}: {v}")
    (out_dir / "store.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
