"""Benchmark and Monte Carlo calibration of the LCMCR sampler (``LatentClassMSE``).

``main(out_dir)`` (run by ``make bench`` / ``python benchmarks/run.py latent_class``) measures

* numba compile time: cold (empty cache, in a fresh process) and cached (a second fresh process);
* seconds per iteration of one chain on one core, for each shared table at K = 10, with the settings of the
  reference run (10,000 burn-in + 10,000 draws thinned by 10 = 110,000 iterations, plus the 500-iteration
  warm-up), against the plain-NumPy implementation of the same Gibbs steps measured in the same run (it
  calls the same compiled variate routines one by one from Python; a shorter run, since it is ~100x
  slower) and against the R/C++ timing stated in issue 5 (0.6-1.7 s);
* wall time of 2 and 4 chains with 2 worker processes;
* the full-precision comparison with LCMCR's posterior medians and intervals.

``python benchmarks/bench_latent_class.py dispersed [SEEDS [TABLE:K ...]]`` re-derives ``DISPERSED`` (four
chains started with 10 n unseen people on the UK tables against one LCMCR-sized chain from LCMCR's start,
200 seeds each).

``python benchmarks/bench_latent_class.py tolerances`` re-derives the Monte Carlo tolerances used by
``tests/reference/test_lcmcr_reference.py`` (spread over seeds of the test-sized and of the R-sized runs).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from darkfigure.estimate._lcmcr_sampler import (
    INIT_UNSEEN_FACTOR,
    run_chains,
    sample_chain,
    sample_chain_numpy,
    seed_state,
)
from darkfigure.histories import CaptureHistories

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DARKFIGURE_SHARED", ROOT.parent / "shared"))
TABLES = ["hare", "Artificial_3", "HIV", "kosovo_aggregate", "UKdat_4", "Ned_5", "UKdat_5", "UKdat"]
R_SECONDS = (0.6, 1.7)  # LCMCR (R/C++) for 10,000 burn-in + 100,000 thinned iterations, issue 5
R_ITERS = 110_000

# the reduced run of the reference tests (per chain; 4 chains are pooled)
TEST_SETTINGS = {"burn_in": 10_000, "n_samples": 500, "thin": 10, "chains": 4}


def _load(name: str) -> CaptureHistories:
    return CaptureHistories.from_csv(SHARED / "data" / "mse" / f"{name}.csv")


def _reference() -> dict[tuple[str, int], dict]:
    ref = json.loads((SHARED / "reference" / "mse_peers.json").read_text())
    return {(e["dataset"], int(e["settings"]["K"])): e for e in ref if e["package"] == "LCMCR"}


_COMPILE_SNIPPET = """
import time, numpy as np
t = time.perf_counter()
from darkfigure.estimate._lcmcr_sampler import sample_chain, seed_state
cells = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.int8)
sample_chain(seed_state(0), cells, np.array([5, 4, 3, 2, 1]), 3, 0.25, 0.25, 1, 4, 1)
print(time.perf_counter() - t)
"""


def _compile_seconds(cache_dir: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", _COMPILE_SNIPPET], env=env, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _timing(say: Callable[[str], None], raw: dict[str, Any], reps: int = 2) -> None:
    """Compile time; CPU seconds per 110,500 iterations per table (best of ``reps``); chains in parallel."""
    with tempfile.TemporaryDirectory() as cache:
        cold = _compile_seconds(cache)
        warm = _compile_seconds(cache)
    say(f"numba: import + compile, cold cache {cold:.1f} s; import + load from cache {warm:.1f} s")
    raw["compile_seconds"] = {"cold": cold, "cached": warm}
    # make sure this process has the compiled code before timing
    sample_chain(seed_state(0), np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int8),
                 np.array([3, 2, 1]), 2, 0.25, 0.25, 1, 4, 1)

    say("")
    # CPU seconds (time.process_time) of this process: the machine is shared, wall time counts waiting.
    # Best of `reps` runs (different seeds): sharing a core with other jobs only ever adds time.
    say(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best of {reps} runs")
    say("| table | numba CPU s (110,500 it) | µs/it | NumPy µs/it | NumPy/numba | R/numba (0.6–1.7 s) |")
    say("|---|---|---|---|---|---|")
    for name in TABLES:
        h = _load(name)
        cells, freq = h.patterns.astype(np.int8), h.counts.astype(np.int64)
        runs = []
        for r in range(reps):
            t = time.process_time()
            sample_chain(seed_state(1 + r), cells, freq, 10, 0.25, 0.25, 10_000, 10_000, 10)
            runs.append(time.process_time() - t)
        nb = min(runs)
        it_np = 300
        t = time.process_time()
        # the NumPy baseline always runs the 500-iteration warm-up; time warm-up + 300 iterations
        sample_chain_numpy(seed_state(1), cells, freq, 10, 0.25, 0.25, it_np, 1, 1)
        npy = (time.process_time() - t) / (500 + it_np + 1)
        us = nb / (R_ITERS + 500) * 1e6
        say(f"| {name} | {nb:.2f} | {us:.1f} | {npy * 1e6:.0f} | {npy * 1e6 / us:.0f}× | "
            f"{R_SECONDS[0] / nb:.2f}–{R_SECONDS[1] / nb:.2f}× |")
        raw[name] = {"numba_seconds": nb, "numba_seconds_runs": runs, "numba_us_per_iter": us,
                     "numpy_us_per_iter": npy * 1e6}
    say(f"load average at the end: {os.getloadavg()[0]:.1f}")

    say("")
    # Chains: the "4 chains in about the wall time of 2 on 2 cores", i.e. 4 chains in 2 worker
    # processes against 1 chain and against 2 chains one after the other in this process.  The pool's
    # start-up (forkserver, import, loading numba's cache in each worker) is timed separately with a
    # 1-iteration run; the pool then stays up, so the 4-chain wall time does not include it (a fit with
    # strata pays it once).
    h = _load("UKdat")

    def chains(nch: int, jobs: int, burn_in: int = 10_000, n_samples: int = 10_000) -> tuple[float, list]:
        t = time.perf_counter()
        d = run_chains(h.patterns, h.counts, K=10, a=0.25, b=0.25, burn_in=burn_in, n_samples=n_samples,
                       thin=10, seeds=np.random.SeedSequence(5).spawn(nch), n_jobs=jobs)
        return time.perf_counter() - t, list(d.seconds)

    say(f"load average before the chains: {os.getloadavg()[0]:.1f}")
    start_up, _ = chains(2, 2, burn_in=0, n_samples=1)
    w1, c1 = chains(1, 1)
    w2, c2 = chains(2, 1)
    w4, c4 = chains(4, 2)
    say(f"load average after the chains: {os.getloadavg()[0]:.1f}")
    say(f"UKdat, K=10, 110,500 iterations per chain: 1 chain {w1:.2f} s; 2 chains one after the other "
        f"{w2:.2f} s; 4 chains in 2 worker processes {w4:.2f} s (pool start-up alone {start_up:.2f} s). "
        f"4 chains / 1 chain = {w4 / w1:.2f} (target ~2), 4 chains / 2 sequential = {w4 / w2:.2f} "
        "(target ~1)")
    say("CPU seconds of each chain: " + "; ".join(
        f"{k}: {', '.join(f'{x:.2f}' for x in v)}" for k, v in
        (("1 chain", c1), ("2 sequential", c2), ("4 in 2 workers", c4))))
    raw["chains"] = {"wall_1": w1, "wall_2_sequential": w2, "wall_4_in_2_workers": w4,
                     "pool_start_up": start_up, "cpu_1": c1, "cpu_2_sequential": c2, "cpu_4": c4}
    # the keys of earlier runs (2 chains is now "2 in sequence", the baseline of the target)
    raw["chains_wall"] = {1: w1, 2: w2, 4: w4}
    raw["chains_cpu"] = {1: c1, 2: c2, 4: c4}


def main(out_dir: Path) -> None:
    lines: list[str] = []

    def say(s: str = "") -> None:
        print(s, flush=True)
        lines.append(s)

    raw: dict[str, Any] = {}
    _timing(say, raw)
    say("")
    say("Full-precision comparison with LCMCR (4 chains × 10,000 draws, burn-in 10,000, thin 10):")
    say("| table | K | LCMCR median [95%] | darkfigure median [95%] | R-hat N | ESS N |")
    say("|---|---|---|---|---|---|")
    import warnings

    from darkfigure.estimate.latent_class import LatentClassMSE
    from darkfigure.exceptions import ConvergenceWarning

    ref = _reference()
    for name in TABLES:
        for K in (10, 5):
            e = ref[(name, K)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the table instead
                m = LatentClassMSE(K=K, burn_in=10_000, n_samples=10_000, thin=10, chains=4,
                                   random_state=2026).fit(_load(name))
            r = m.result_
            say(f"| {name} | {K} | {e['estimate']:,.0f} [{e['lower']:,.0f}, {e['upper']:,.0f}] | "
                f"{r.estimate:,.0f} [{r.lower:,.0f}, {r.upper:,.0f}] | {r.extra['rhat']['N']:.3f} | "
                f"{r.extra['ess']['N']:.0f} |")
    say("")
    say("Dispersed start (1 chain started with 10 n unseen people, 10,000 draws, burn-in 10,000, thin 10):")
    say("| table | K | LCMCR median [95%] | darkfigure median [95%] |")
    say("|---|---|---|---|")
    for name in ("UKdat_4", "Ned_5", "UKdat_5", "UKdat"):
        h = _load(name)
        for K in (10, 5):
            e = ref[(name, K)]
            d = run_chains(h.patterns, h.counts, K=K, a=0.25, b=0.25, burn_in=10_000, n_samples=10_000,
                           thin=10, seeds=[np.random.SeedSequence(2026)],
                           init_unseen=INIT_UNSEEN_FACTOR * int(h.counts.sum()))
            q = np.quantile(d.N.ravel(), [0.5, 0.025, 0.975])
            say(f"| {name} | {K} | {e['estimate']:,.0f} [{e['lower']:,.0f}, {e['upper']:,.0f}] | "
                f"{q[0]:,.0f} [{q[1]:,.0f}, {q[2]:,.0f}] |")
    (out_dir / "latent_class.json").write_text(json.dumps(raw, indent=1))
    (out_dir / "latent_class.md").write_text("\n".join(lines) + "\n")


R_DESIGN = {"burn_in": 10_000, "n_samples": 10_000, "thin": 10}
"""LCMCR's reference run: one chain, 10,000 burn-in, 10,000 draws thinned by 10."""


def _pairwise_q99(ours: np.ndarray, lcmcr_sized: np.ndarray) -> np.ndarray:
    """Per column (median, lower, upper): the 99th percentile of ``|ours_i - lcmcr_sized_j|`` over every pair
    of runs of the two designs -- the reference tests' tolerance (``SPREAD`` and ``DISPERSED``)."""
    return np.percentile(np.abs(ours[:, None, :] - lcmcr_sized[None, :, :]).reshape(-1, ours.shape[1]), 99,
                         axis=0)


def _derive(cases: tuple[tuple[str, int], ...], seeds: int, ours_draws: Callable[..., np.ndarray], r_key: int,
            out_name: str, decimals: int, valley: dict[str, int] | None = None) -> None:
    """For each (table, K): ``seeds`` runs of our test design (``ours_draws(h, cells, freq, K, s)``, the
    pooled draws of N) and of LCMCR's design (:data:`R_DESIGN` from LCMCR's start, seeds
    ``SeedSequence([r_key, s])``), then :func:`_pairwise_q99` of their (median, lower, upper), printed as
    a line of the reference test's table.  With ``valley``, only the LCMCR-sized runs whose median lies
    above it are kept.  Per-seed figures go to ``bench-output/<out_name>``."""
    ref = _reference()
    out = ROOT / "bench-output" / out_name
    raw: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    for name, K in cases:
        h = _load(name)
        cells, freq = h.patterns.astype(np.int8), h.counts.astype(np.int64)
        ours, rs = [], []
        for s in range(seeds):
            ours.append(np.quantile(ours_draws(h, cells, freq, K, s), [0.5, 0.025, 0.975]))
            r_draws = sample_chain(seed_state(np.random.SeedSequence([r_key, s])), cells, freq, K, 0.25, 0.25,
                                   R_DESIGN["burn_in"], R_DESIGN["n_samples"], R_DESIGN["thin"], 0)[0]
            rs.append(np.quantile(r_draws, [0.5, 0.025, 0.975]))
        a, b_all = np.array(ours), np.array(rs)
        b = b_all if valley is None else b_all[b_all[:, 0] > valley[name]]
        q99 = _pairwise_q99(a, b)
        e = ref[(name, K)]
        kept = "" if valley is None else f" ({len(b)} of {seeds} above the valley)"
        print(f"    (\"{name}\", {K}): ({', '.join(f'{x:.{decimals}f}' for x in q99)}),  # LCMCR "
              f"{e['estimate']:.0f} [{e['lower']:.0f}, {e['upper']:.0f}]; medians over {seeds} seeds: ours "
              f"{np.median(a, axis=0).round(0)}, LCMCR-sized {np.median(b, axis=0).round(0)}{kept}",
              flush=True)
        raw[f"{name} K={K}"] = {"ours": a.tolist(), "lcmcr_sized": b_all.tolist(),
                                "q99_abs_diff": q99.tolist(),
                                **({} if valley is None else {"valley": valley[name]})}
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(raw))


SPREAD_CASES = tuple((name, K) for name in ("hare", "Artificial_3", "HIV", "kosovo_aggregate")
                     for K in (10, 5))


def derive_tolerances(seeds: int = 200, cases: tuple[tuple[str, int], ...] = SPREAD_CASES) -> None:
    """``SPREAD`` of the reference test: how far our test-sized fit and an LCMCR-sized run can differ.

    The test pools 4 chains (500 draws each, thin 10, 10,000 burn-in) from LCMCR's start; LCMCR's figures
    come from one chain of 10,000 draws with the same burn-in, thin and start.  Both are Monte Carlo
    estimates of the same posterior quantities, so the tolerance is the 99th percentile of
    ``|ours - LCMCR-sized|`` over every pair of ``seeds`` runs of each design, the LCMCR-sized runs made
    with our sampler (LCMCR's update steps).  Heavy tails included: on HIV and Kosovo about one chain in
    eight sits in a sticky secondary mode for a while.  Per-seed figures: ``bench-output/lcmcr_spread.json``.
    """
    def ours(h: CaptureHistories, cells: np.ndarray, freq: np.ndarray, K: int, s: int) -> np.ndarray:
        d = run_chains(h.patterns, h.counts, K=K, a=0.25, b=0.25, burn_in=TEST_SETTINGS["burn_in"],
                       n_samples=TEST_SETTINGS["n_samples"], thin=TEST_SETTINGS["thin"],
                       seeds=np.random.SeedSequence(1000 + s).spawn(TEST_SETTINGS["chains"]), n_jobs=1)
        return d.N.ravel()

    _derive(cases, seeds, ours, 97, "lcmcr_spread.json", 1)


DISPERSED_CASES = (("UKdat_5", 10), ("UKdat_5", 5), ("UKdat", 10), ("UKdat", 5), ("UKdat_4", 10),
                   ("UKdat_4", 5))


# LCMCR's reference chains ended in the upper region of these tables (their medians say so): the
# LCMCR-sized runs below are conditioned on that, with the valley between the regions as the line
VALLEY = {"UKdat_5": 16_000, "UKdat": 16_000, "UKdat_4": 8_000}


def derive_dispersed(seeds: int = 200, cases: tuple[tuple[str, int], ...] = DISPERSED_CASES) -> None:
    """``DISPERSED`` of the reference test: how far our test-sized run and an LCMCR-sized run can differ.

    The test pools 4 chains (1,000 draws each, thin 10) started with 10 n unseen people and compares their
    median and limits with LCMCR's figures, which come from one chain of 10,000 draws (thin 10, 10,000
    burn-in) started at LCMCR's start (no unseen people).  The tolerance is built as in
    :func:`derive_tolerances`, and the LCMCR-sized runs carry what LCMCR's own figures carry: from that
    start a chain may spend part of its draws in the lower region before it leaves it for good, which
    pulls its median and lower limit down.  They are kept when their median lies above ``VALLEY``
    (LCMCR's did; a chain that never left the lower region is not a model of LCMCR's figures).  Per-seed
    figures: ``bench-output/lcmcr_dispersed.json``.
    """
    def ours(h: CaptureHistories, cells: np.ndarray, freq: np.ndarray, K: int, s: int) -> np.ndarray:
        init = INIT_UNSEEN_FACTOR * int(freq.sum())
        return np.concatenate([
            sample_chain(seed_state(seq), cells, freq, K, 0.25, 0.25, 10_000, 1_000, 10, init)[0]
            for seq in np.random.SeedSequence([99, s]).spawn(4)])

    _derive(cases, seeds, ours, 98, "lcmcr_dispersed.json", 0, VALLEY)


def _cases(args: list[str], default: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    # TABLE:K arguments, or the default cases
    return tuple((c.split(":")[0], int(c.split(":")[1])) for c in args) or default


if __name__ == "__main__":
    if sys.argv[1:2] == ["timing"]:
        _timing(print, {})
    elif sys.argv[1:2] in (["tolerances"], ["dispersed"]):  # tolerances|dispersed [SEEDS [TABLE:K ...]]
        n_seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
        if sys.argv[1] == "tolerances":
            derive_tolerances(n_seeds, _cases(sys.argv[3:], SPREAD_CASES))
        else:
            derive_dispersed(n_seeds, _cases(sys.argv[3:], DISPERSED_CASES))
    else:
        main(ROOT / "bench-output")
