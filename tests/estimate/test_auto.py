"""``auto`` and the honesty study that chose it (a small version of benchmarks/bench_coverage.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from darkfigure.estimate.auto import AUTO_CHOICE, AutoMSE
from darkfigure.estimate.study import SCENARIOS, coverage_markdown, generate, run_study
from darkfigure.exceptions import NotFittedError
from darkfigure.histories import CaptureHistories


def test_auto_result_lists_alternatives(mse_dir: Path) -> None:
    h = CaptureHistories.from_csv(mse_dir / "Western.csv")
    est = AutoMSE(bootstrap=0)
    with pytest.raises(NotFittedError):
        _ = est.n_hat_
    r = est.fit(h).result_
    assert r.method == "auto" and r.extra["auto_choice"]["select"] == AUTO_CHOICE["select"]
    alts = [m for m in r.models if m.extra.get("kind") == "alternative"]
    names = {m.model for m in alts}
    assert "stepwise (SparseMSE, normal interval)" in names and "Chao lower bound (heterogeneity)" in names
    assert r.lower < r.estimate and (r.upper is None or r.estimate < r.upper)
    assert "non_overlapping_lists" in {w.code for w in r.warnings}


def test_generator_features() -> None:
    rng = np.random.default_rng(0)
    dep = generate(SCENARIOS["list-dependence"], rng)
    ind = generate(SCENARIOS["independent"], rng)
    # A refers to B: the A-B overlap is far above what independence gives
    assert dep.pair_overlaps()[("A", "B")] > 2 * ind.pair_overlaps()[("A", "B")]
    sparse = generate(SCENARIOS["sparse"], rng)
    assert sparse.n_lists == 6 and 0 in sparse.pair_overlaps().values()


def test_small_coverage_study_shows_why_auto_averages() -> None:
    """Ten tables per scenario. Under heterogeneous catchability the independence model's interval misses
    the truth almost always (it was 0/20 in development), while model averaging covers far more often; with
    independent lists both cover."""
    rows = run_study(scenarios=["independent", "heterogeneity"], n_sims=10,
                     methods=["independence (normal)", "model average (AIC)"], seed=5)
    cov = {(r["scenario"], r["method"]): r["coverage_all"] for r in rows}
    assert cov[("heterogeneity", "independence (normal)")] <= 0.3
    het_avg = cov[("heterogeneity", "model average (AIC)")]
    assert het_avg >= cov[("heterogeneity", "independence (normal)")] + 0.3
    assert cov[("independent", "independence (normal)")] >= 0.7
    assert cov[("independent", "model average (AIC)")] >= 0.7
    # auto adds heterogeneity models to the pool: it covers under heterogeneity (40/40 in the full study)
    auto_rows = run_study(scenarios=["heterogeneity"], n_sims=8, methods=["auto"], seed=5)
    assert auto_rows[0]["coverage_all"] >= 0.75
    md = coverage_markdown(rows)
    assert md.startswith("| method |") and "model average (AIC)" in md


def test_auto_pool_mixes_loglinear_and_heterogeneity_models_on_one_aic_scale(mse_dir: Path) -> None:
    """The pool is valid only if Rcapture's models and ours share the likelihood: Rcapture's Mt equals our
    independence model and Rcapture's Mth-darroch equals our model with the Darroch column (AIC to 1e-9)."""
    from darkfigure.estimate.classical import RcaptureModel
    from darkfigure.estimate.loglinear import LogLinearMSE

    h = CaptureHistories.from_csv(mse_dir / "HIV.csv")
    mt = RcaptureModel("Mt", interval="wald").fit(h).result_
    ind = LogLinearMSE(select="none").fit(h).result_
    assert mt.extra["AIC"] == pytest.approx(ind.extra["AIC"], rel=1e-9)
    r = AutoMSE().fit(h).result_
    cands = {m.model: m for m in r.models if m.extra.get("kind") == "candidate"}
    assert sum(m.weight for m in cands.values()) == pytest.approx(1.0)
    for name in ("Mth-darroch", "Mth-poisson", "Mth-gamma", "Mth-chao"):
        rc = RcaptureModel(name, interval="wald").fit(h).result_
        assert cands[name].aic == pytest.approx(rc.extra["AIC"], rel=1e-9)
    # heterogeneity combined with two-list terms is in the pool too
    assert any(k.startswith("Mth-darroch + ") for k in cands)
    assert r.lower < r.estimate < r.upper
