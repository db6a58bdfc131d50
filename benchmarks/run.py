"""Run every benchmark (``make bench``); never part of ``make test``.

Each ``benchmarks/bench_*.py`` defines ``main(out_dir: pathlib.Path) -> None`` which measures its own
baseline in the same run, prints ratios against it and writes its raw figures under ``bench-output/``.
Select some with ``python benchmarks/run.py NAME ...`` (e.g. ``loglinear``).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    out = HERE.parent / "bench-output"
    out.mkdir(exist_ok=True)
    files = sorted(HERE.glob("bench_*.py"))
    if argv:
        files = [f for f in files if any(a in f.stem for a in argv)]
    if not files:
        print("no benchmark selected", file=sys.stderr)
        return 1
    for f in files:
        spec = importlib.util.spec_from_file_location(f.stem, f)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print(f"=== {f.stem}", flush=True)
        t0 = time.perf_counter()
        mod.main(out)
        print(f"=== {f.stem} done in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
