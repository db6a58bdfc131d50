"""Benchmark of the scenario simulator (issue 3): "100,000 people with their lists in well under 10 s".

Measures, in one run, CPU time (``time.process_time``: this process on one core, so other jobs on a
shared machine do not inflate it) and wall time of

* ``simulate_histories`` (people + captures, vectorised) against a **baseline** that draws the same model
  person by person with scalar numpy calls (what a straightforward implementation would do);
* ``simulate`` (people, captures, names and every organisation's rows) and ``Simulation.files()`` (the
  bytes of every file: CSV in three encodings, XLSX, JSON, mappings, truth);
* the simulator's own minimal XLSX writer against a **baseline** of openpyxl's write-only workbook for the
  same rows (the church network's register at N = 100,000).

Run: ``.venv/bin/python benchmarks/run.py simulate`` (writes ``bench-output/simulate.json``).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np


def _timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - c0, time.perf_counter() - w0


def _baseline_histories(size: int, seed: int) -> dict[tuple[int, ...], int]:
    """Person-by-person draw of pathway, outcome, visibility and the five captures (no ages, venues, ...):
    a lower bound on what a per-person loop costs, for comparison with the vectorised code."""
    from darkfigure.simulate import load_scenario

    s = load_scenario()
    rng = np.random.default_rng(seed)
    pw_keys = sorted(s.pathways.shares)
    pw_p = np.array([s.pathways.shares[k] for k in pw_keys])
    oc_keys = sorted(s.outcomes.shares)
    oc_p = np.array([s.outcomes.shares[k] for k in oc_keys])
    counts: dict[tuple[int, ...], int] = {}
    for _ in range(size):
        pw = pw_keys[rng.choice(len(pw_keys), p=pw_p)]
        oc = oc_keys[rng.choice(len(oc_keys), p=oc_p)]
        z = rng.standard_normal()
        seen: dict[str, int] = {}
        for org in s.organisations:
            eta = org.base_logit + org.effects.outcome.get(oc, 0.0) + org.effects.pathway.get(pw, 0.0)
            eta += org.heterogeneity_loading * s.heterogeneity.sd * z
            eta += sum(v * seen[k] for k, v in org.depends_on.items())
            seen[org.name] = int(rng.random() < 1.0 / (1.0 + np.exp(-eta)))
        pat = tuple(seen.values())
        if any(pat):
            counts[pat] = counts.get(pat, 0) + 1
    return counts


def main(out_dir: Path) -> None:
    from darkfigure.simulate import simulate, simulate_histories

    simulate(seed=0, size=500)   # warm-up: imports, name tables
    results: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(), "runs": []}

    size = 100_000
    _, base_cpu, base_wall = _timed(_baseline_histories, size, 1)
    (h, _), hist_cpu, hist_wall = _timed(simulate_histories, seed=1, size=size)
    print(f"histories, N={size:,}: baseline per-person loop {base_cpu:.2f} s CPU, "
          f"vectorised {hist_cpu:.2f} s CPU  -> {base_cpu / hist_cpu:.0f}x faster")
    results["histories_100k"] = {"baseline_cpu_s": base_cpu, "baseline_wall_s": base_wall,
                                 "vectorised_cpu_s": hist_cpu, "vectorised_wall_s": hist_wall,
                                 "speedup": base_cpu / hist_cpu, "observed": h.observed}

    for n in (2_000, 5_000, 20_000, 100_000):
        sim, sim_cpu, sim_wall = _timed(simulate, seed=1, size=n)
        files, files_cpu, files_wall = _timed(sim.files)
        t = sim.truth_summary()
        row = {"N": n, "observed": t["observed"], "records": t["records"],
               "simulate_cpu_s": sim_cpu, "simulate_wall_s": sim_wall,
               "files_cpu_s": files_cpu, "files_wall_s": files_wall,
               "bytes": int(sum(len(v) for v in files.values()))}
        results["runs"].append(row)
        print(f"N={n:>7,}: {t['records']:>6,} records; simulate {sim_cpu:5.2f} s CPU ({sim_wall:5.2f} wall), "
              f"files {files_cpu:5.2f} s CPU; total {sim_cpu + files_cpu:5.2f} s CPU "
              f"= {(sim_cpu + files_cpu) / 10:.0%} of the 10 s budget")
    from openpyxl import Workbook

    from darkfigure.simulate._writers import xlsx_bytes

    rec = sim.org_records["church_network"]
    cols = list(rec.columns)

    def _openpyxl() -> None:
        import io

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Sheet1")
        ws.append(cols)
        for r in rec.rows:
            ws.append([r[c] for c in cols])
        wb.save(io.BytesIO())

    _, opx_cpu, _ = _timed(_openpyxl)
    _, own_cpu, _ = _timed(xlsx_bytes, cols, rec.rows, "Sheet1")
    print(f"XLSX, {len(rec.rows):,} rows: openpyxl {opx_cpu:.2f} s CPU, own writer {own_cpu:.2f} s CPU "
          f"-> {opx_cpu / own_cpu:.0f}x faster")
    results["xlsx"] = {"rows": len(rec.rows), "openpyxl_cpu_s": opx_cpu, "own_writer_cpu_s": own_cpu,
                       "speedup": opx_cpu / own_cpu}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "simulate.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main(Path(__file__).resolve().parent.parent / "bench-output")
