"""Honesty study: coverage of each method's 95% interval (run by ``make bench``, never by the tests).

Exact command (from the repository root)::

    .venv/bin/python benchmarks/run.py coverage

or, for other sizes, ``.venv/bin/python benchmarks/bench_coverage.py [N_SIMS] [BOOTSTRAP]``.  Writes
``bench-output/coverage.json`` and ``bench-output/coverage.md`` (the table copied into
``docs/benchmarks/loglinear.md`` and ``docs/methods/loglinear.md``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from darkfigure.estimate.study import SCENARIOS, SIMULATOR_SIZE, coverage_markdown, run_study

N_SIMS = 40
BOOTSTRAP = 100
METHODS = ["independence (normal)", "stepwise (normal)", "stepwise (profile)", "AIC best (normal)",
           "BIC best (normal)", "model average (AIC)", "stepwise + BCa bootstrap",
           "model average + percentile bootstrap", "auto", "auto (BIC weights)"]


def main(out_dir: Path, n_sims: int = N_SIMS, bootstrap: int = BOOTSTRAP) -> None:
    t0 = time.perf_counter()
    scenarios = [*SCENARIOS, "simulator:nk-china-2019"]
    rows = run_study(scenarios=scenarios, n_sims=n_sims, bootstrap=bootstrap, methods=METHODS, progress=print)
    md = coverage_markdown(rows)
    head = (f"Coverage of nominal 95% intervals, {n_sims} simulated tables per scenario, bootstrap "
            f"{bootstrap} replicates (n.e. = not estimable, counted as a miss). Scenarios:\n\n"
            + "\n".join(f"- **{s.name}** (N = {s.N}): {s.description}" for s in SCENARIOS.values())
            + f"\n- **simulator:nk-china-2019** (N = {SIMULATOR_SIZE}): the project simulator's "
            "capture-history mode (`darkfigure.simulate.simulate_histories`), five organisations\n\n")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "coverage.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out_dir / "coverage.md").write_text(head + md + "\n")
    print(head + md)
    print(f"coverage study: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(Path(__file__).resolve().parent.parent / "bench-output", *args)
