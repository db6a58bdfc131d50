"""The honesty study: how often does each method's interval cover the true total?

A simple capture-history generator with the features that break multiple systems estimation in practice —
dependence between lists (referrals), heterogeneous catchability (some people are much easier to find),
sparse lists with pairs that never overlap, and small totals — and a runner that fits every method to many
simulated tables and reports the coverage of its nominal 95% interval, its median relative error and width,
and how often it could not give an estimate.  The methods doc and ``docs/benchmarks/loglinear.md`` hold the
table made by ``python benchmarks/bench_coverage.py`` (exact command there); ``auto`` was chosen from it.

Generator, for person ``k`` and list ``j`` in order (``z`` = capture indicator)::

    logit P(z_kj = 1) = logit(p_j) + sigma * u_k + sum_{i < j} gamma_ij * z_ki,     u_k ~ N(0, 1).

``sigma`` is heterogeneity, ``gamma_ij`` list dependence (positive: being on list ``i`` makes list ``j``
likelier, as with referrals).  The simulator's ``simulate_histories`` is used as an extra scenario
``simulator:<name>`` (e.g. ``simulator:nk-china-2019``, N = 3000).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import DarkfigureError
from ..histories import CaptureHistories
from ._result import EstimateResult

__all__ = ["DEFAULT_METHODS", "SCENARIOS", "StudyScenario", "coverage_markdown", "generate", "run_study"]


@dataclass(frozen=True)
class StudyScenario:
    """A data-generating process for the study."""

    name: str
    N: int
    p: tuple[float, ...]
    sigma: float = 0.0
    gamma: Mapping[tuple[int, int], float] = field(default_factory=dict)
    description: str = ""


SCENARIOS: dict[str, StudyScenario] = {s.name: s for s in [
    StudyScenario("independent", 2000, (0.10, 0.15, 0.20, 0.12),
                  description="4 lists, independent, homogeneous (every model's assumptions hold)"),
    StudyScenario("list-dependence", 2000, (0.10, 0.15, 0.20, 0.12), gamma={(0, 1): 1.5, (2, 3): -1.0},
                  description="4 lists; A refers to B (log-odds +1.5), C and D avoid each other (-1.0)"),
    StudyScenario("heterogeneity", 3000, (0.08, 0.10, 0.12, 0.10, 0.08), sigma=1.0,
                  description="5 lists; catchability varies between people (logit-normal, sd 1)"),
    StudyScenario("sparse", 2000, (0.05, 0.015, 0.04, 0.01, 0.05, 0.02), gamma={(0, 2): 0.8},
                  description="6 small lists, several pairs never overlap"),
    StudyScenario("small-total", 300, (0.15, 0.20, 0.15),
                  description="3 lists, N = 300"),
    StudyScenario("dependence+heterogeneity", 3000, (0.08, 0.12, 0.10, 0.10, 0.06), sigma=0.7,
                  gamma={(0, 1): 1.0, (1, 3): 0.7},
                  description="5 lists; referrals and heterogeneous catchability together"),
]}


def generate(scenario: StudyScenario, rng: np.random.Generator) -> CaptureHistories:
    """One simulated capture-history table (people seen by no list are dropped)."""
    t = len(scenario.p)
    u = rng.standard_normal(scenario.N) * scenario.sigma
    z = np.zeros((scenario.N, t), dtype=np.int8)
    for j in range(t):
        eta = math.log(scenario.p[j] / (1 - scenario.p[j])) + u
        for (i, jj), g in scenario.gamma.items():
            if jj == j:
                eta = eta + g * z[:, i]
        z[:, j] = rng.random(scenario.N) < 1 / (1 + np.exp(-eta))
    return CaptureHistories.from_membership(z, [chr(ord("A") + j) for j in range(t)])


def _methods(bootstrap: int) -> dict[str, Callable[[CaptureHistories, int], EstimateResult]]:
    from .auto import AutoMSE
    from .loglinear import LogLinearMSE

    def ll(**kw: Any) -> Callable[[CaptureHistories, int], EstimateResult]:
        return lambda h, seed: LogLinearMSE(random_state=seed, **kw).fit(h).result_

    out: dict[str, Callable[[CaptureHistories, int], EstimateResult]] = {
        "independence (normal)": ll(select="none"),
        "stepwise (normal)": ll(select="stepwise"),
        "stepwise (profile)": ll(select="stepwise", interval="profile"),
        "AIC best (normal)": ll(select="aic"),
        "BIC best (normal)": ll(select="bic"),
        "model average (AIC)": ll(select="average"),
    }
    if bootstrap:
        out["stepwise + BCa bootstrap"] = ll(select="stepwise", bootstrap=bootstrap)
        out["stepwise + percentile bootstrap"] = ll(select="stepwise", bootstrap=bootstrap,
                                                    bootstrap_interval="percentile")
        out["model average + percentile bootstrap"] = ll(select="average", bootstrap=bootstrap,
                                                         bootstrap_interval="percentile")
        out["auto + bootstrap"] = lambda h, seed: AutoMSE(random_state=seed,
                                                          bootstrap=bootstrap).fit(h).result_
    out["auto"] = lambda h, seed: AutoMSE(random_state=seed, bootstrap=0).fit(h).result_
    out["auto (BIC weights)"] = lambda h, seed: AutoMSE(random_state=seed, criterion="bic").fit(h).result_
    return out


#: population size used for the simulator's scenarios in the study
SIMULATOR_SIZE = 3000

DEFAULT_METHODS = ("independence (normal)", "stepwise (normal)", "AIC best (normal)", "BIC best (normal)",
                   "model average (AIC)")


def run_study(scenarios: Sequence[str] | None = None, n_sims: int = 100, methods: Sequence[str] | None = None,
              bootstrap: int = 0, seed: int = 20260101, level: float = 0.95,
              progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Coverage of each method's interval on each scenario.

    Returns
    -------
    list of dict
        One row per (scenario, method): ``coverage`` (share of estimable fits whose interval holds N),
        ``coverage_all`` (not-estimable counted as a miss), ``not_estimable``, ``median_rel_error``,
        ``median_rel_width``, ``lower_miss`` / ``upper_miss`` (N below / above the interval), ``seconds``.
    """
    allm = _methods(bootstrap)
    names = list(methods) if methods is not None else list(DEFAULT_METHODS) + (
        [m for m in allm if m not in DEFAULT_METHODS and "profile" not in m] if bootstrap else [])
    rows = []
    for sname in scenarios or list(SCENARIOS):
        rng = np.random.default_rng([seed, sum(map(ord, sname))])
        if sname.startswith("simulator:"):
            # the simulator's capture-history mode (issue: simulate); truth N from its truth summary
            from ..simulate import simulate_histories

            sim = [simulate_histories(sname.split(":", 1)[1], seed=seed + k, size=SIMULATOR_SIZE)
                   for k in range(n_sims)]
            tables = [h for h, _ in sim]
            truths = [int(t["N"]) for _, t in sim]
        else:
            sc = SCENARIOS[sname]
            tables = [generate(sc, rng) for _ in range(n_sims)]
            truths = [sc.N] * n_sims
        for mname in names:
            fn = allm[mname]
            hit = miss_lo = miss_hi = nest = 0
            errs, widths = [], []
            t0 = time.perf_counter()
            for k, (h, true_n) in enumerate(zip(tables, truths, strict=True)):
                try:
                    r = fn(h, seed + k)
                except DarkfigureError:
                    nest += 1
                    continue
                if not r.estimable or r.estimate is None or r.lower is None:
                    nest += 1
                    continue
                up = math.inf if r.upper is None else r.upper
                if r.lower <= true_n <= up:
                    hit += 1
                elif r.lower > true_n:
                    miss_lo += 1
                else:
                    miss_hi += 1
                errs.append(r.estimate / true_n - 1)
                widths.append((up - r.lower) / true_n)
            ok = n_sims - nest
            rows.append({
                "scenario": sname, "method": mname, "N": truths[0], "sims": n_sims,
                "coverage": hit / ok if ok else None, "coverage_all": hit / n_sims,
                "not_estimable": nest, "lower_miss": miss_lo, "upper_miss": miss_hi,
                "median_rel_error": float(np.median(errs)) if errs else None,
                "median_rel_width": float(np.median(widths)) if widths else None,
                "seconds": time.perf_counter() - t0,
            })
            if progress:
                progress(f"{sname:28s} {mname:38s} coverage {rows[-1]['coverage_all']:.2f}")
    return rows


def coverage_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    """A markdown table: rows = methods, columns = scenarios, cells = coverage (not-estimable = miss)."""
    scen = list(dict.fromkeys(r["scenario"] for r in rows))
    meth = list(dict.fromkeys(r["method"] for r in rows))
    cell = {(r["scenario"], r["method"]): r for r in rows}
    head = "| method | " + " | ".join(scen) + " | mean |"
    lines = [head, "|" + "---|" * (len(scen) + 2)]
    for m in meth:
        vals = []
        for s in scen:
            r = cell.get((s, m))
            if r is None:
                vals.append("")
                continue
            extra = f" ({r['not_estimable']} n.e.)" if r["not_estimable"] else ""
            vals.append(f"{r['coverage_all']:.2f}{extra}")
        cov = [cell[(s, m)]["coverage_all"] for s in scen if (s, m) in cell]
        lines.append(f"| {m} | " + " | ".join(vals) + f" | {np.mean(cov):.2f} |")
    lines.append("")
    lines.append("Median relative error of the point estimate / median interval width relative to N:")
    lines.append("")
    lines.append(head.replace(" mean |", ""))
    lines.append("|" + "---|" * (len(scen) + 1))
    for m in meth:
        vals = []
        for s in scen:
            r = cell.get((s, m))
            if r is None or r["median_rel_error"] is None:
                vals.append("")
            else:
                vals.append(f"{r['median_rel_error']:+.2f} / {r['median_rel_width']:.2f}")
        lines.append(f"| {m} | " + " | ".join(vals) + " |")
    return "\n".join(lines)
