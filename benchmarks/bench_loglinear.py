"""Log-linear MSE performance: stepwise + 1000-replicate BCa bootstrap, and checking all models.

Run (from the repository root)::

    .venv/bin/python benchmarks/run.py loglinear

Targets (issue 4): stepwise + 1000-replicate BCa bootstrap <= 2.5 s on UKdat and <= 5 s on Ned; checking every
model for MLE existence on NewOrl (8 lists) <= 5 s.  SparseMSE's times on this kind of machine (given in the
issue): 249 s, 499 s, 545 s.

Baseline measured in the same run: a straightforward "slow path" doing SparseMSE's work the way SparseMSE does
it — statsmodels GLM fits, and the existence LP (scipy ``linprog``) for every candidate at every stepwise
cycle and for every top-level model in checkallmodels.  It is measured on a subset (replicates / models) and
scaled linearly to the full work; the scaling is printed.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import special

from darkfigure.estimate._fast import all_pairs, design_matrix, fit_poisson_statsmodels
from darkfigure.estimate.identifiability import _lp_no_mle, check_all_models
from darkfigure.estimate.loglinear import LogLinearMSE
from darkfigure.histories import CaptureHistories

SHARED = Path(os.environ.get("DARKFIGURE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
MSE = SHARED / "data" / "mse"
SPARSEMSE_SECONDS = {"UKdat": 249.0, "Ned": 499.0, "NewOrl": 545.0}
TARGET = {"UKdat": 2.5, "Ned": 5.0, "NewOrl": 5.0}


def _ierr_lp(cells: np.ndarray, counts: np.ndarray, pairs: list[tuple[int, int]]) -> int:
    keep = np.ones(len(counts), dtype=bool)
    eff = []
    for i, j in pairs:
        both = (cells[:, i] == 1) & (cells[:, j] == 1)
        if counts[both].sum() == 0:
            keep &= ~both
        else:
            eff.append((i, j))
    x = design_matrix(cells[keep], eff)
    rankdef = x.shape[1] - np.linalg.matrix_rank(x)
    return int(_lp_no_mle(x.T, x.T @ counts[keep])) + 2 * int(rankdef > 0)


def slow_stepwise(cells: np.ndarray, counts: np.ndarray, pthresh: float = 0.02) -> float:
    """SparseMSE's stepwisefit, done naively: statsmodels fits, an LP per candidate per cycle."""
    t = cells.shape[1]
    pairs = all_pairs(t)
    nstar = np.array([counts[(cells[:, i] == 1) & (cells[:, j] == 1)].sum() for i, j in pairs], dtype=float)
    model: list[tuple[int, int]] = []

    def fit(m: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keep = np.ones(len(counts), dtype=bool)
        eff = []
        for i, j in m:
            both = (cells[:, i] == 1) & (cells[:, j] == 1)
            if counts[both].sum() == 0:
                keep &= ~both
            else:
                eff.append((i, j))
        x = design_matrix(cells, eff)
        beta, _, _, _ = fit_poisson_statsmodels(x, counts, keep)
        mu = np.where(keep, np.exp(x @ beta), 0.0)
        return beta, mu, keep

    beta, mu, _ = fit(model)
    for _ in range(len(pairs)):
        pv = np.ones(len(pairs))
        for k, (i, j) in enumerate(pairs):
            if (i, j) in model:
                continue
            lam = mu[(cells[:, i] == 1) & (cells[:, j] == 1)].sum()
            n = nstar[k]
            pv[k] = min(special.pdtr(n, lam), special.pdtrc(n - 1, lam) if n > 0 else 1.0)
            if _ierr_lp(cells, counts, [*model, (i, j)]) > 0:
                pv[k] = 1.0
        if pv.min() >= pthresh:
            break
        model.append(pairs[int(np.argmin(pv))])
        beta, mu, _ = fit(model)
    return float(counts.sum() + math.exp(beta[0]))


def _time(fn: Callable[[], object], repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(out_dir: Path) -> None:
    results: dict[str, dict[str, float]] = {}
    print(f"load average at start: {os.getloadavg()}")
    for name in ("UKdat", "Ned"):
        h = CaptureHistories.from_csv(MSE / f"{name}.csv")
        LogLinearMSE(select="stepwise", bootstrap=20, random_state=0).fit(h)  # numba compile / cache load
        def fit_once(h: CaptureHistories = h) -> LogLinearMSE:
            return LogLinearMSE(select="stepwise", bootstrap=1000, random_state=1234).fit(h)

        ours = _time(fit_once)
        cells, counts = h.full_table()
        cf = counts.astype(float)
        rng = np.random.default_rng(1)
        nsub = 20
        draws = rng.multinomial(int(cf.sum()), cf / cf.sum(), size=nsub)
        t0 = time.perf_counter()
        for d in draws:
            slow_stepwise(cells, d.astype(float))
        per = (time.perf_counter() - t0) / nsub
        n_jack = int((counts > 0).sum())
        slow = per * (1000 + n_jack + 1)
        results[name] = {"ours_s": ours, "slow_path_s_extrapolated": slow, "slow_replicates_timed": nsub,
                         "sparsemse_s": SPARSEMSE_SECONDS[name], "target_s": TARGET[name]}
        print(f"{name}: stepwise + 1000-replicate BCa: {ours:.2f} s (target {TARGET[name]} s); "
              f"slow path {slow:.0f} s (timed {nsub} replicates, scaled to {1000 + n_jack + 1} selections) "
              f"-> {slow / ours:.0f}x; SparseMSE {SPARSEMSE_SECONDS[name]:.0f} s -> "
              f"{SPARSEMSE_SECONDS[name] / ours:.0f}x")
    h = CaptureHistories.from_csv(MSE / "NewOrl.csv")
    ours = _time(lambda: check_all_models(h))
    cells, counts = h.full_table()
    pairs = all_pairs(8)
    ov = [p for p in pairs if counts[(cells[:, p[0]] == 1) & (cells[:, p[1]] == 1)].sum() > 0]
    non = [p for p in pairs if p not in ov]
    n_top = 2 ** len(non)
    rng = np.random.default_rng(0)
    nsub = 200
    t0 = time.perf_counter()
    for _ in range(nsub):
        sub = [p for p in non if rng.random() < 0.5]
        _ierr_lp(cells, counts, ov + sub)
    slow = (time.perf_counter() - t0) / nsub * n_top
    results["NewOrl"] = {"ours_s": ours, "slow_path_s_extrapolated": slow, "slow_models_timed": nsub,
                         "top_level_models": n_top, "sparsemse_s": SPARSEMSE_SECONDS["NewOrl"],
                         "target_s": TARGET["NewOrl"]}
    print(f"NewOrl: check all models: {ours:.3f} s (target 5 s); slow path (one LP per top-level model, "
          f"{n_top} models, {nsub} timed) {slow:.0f} s -> {slow / ours:.0f}x; SparseMSE 545 s -> "
          f"{545 / ours:.0f}x")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "loglinear.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(__file__).resolve().parent.parent / "bench-output")
