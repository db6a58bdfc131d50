"""LogLinearMSE: the compiled fitter against statsmodels (and the numpy GLM), the estimator contract,
selection methods, intervals, strata and the plain-language warnings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from darkfigure.estimate import EstimateResult
from darkfigure.estimate._fast import all_pairs, design_matrix, fit_poisson, fit_poisson_statsmodels
from darkfigure.estimate.loglinear import LogLinearMSE
from darkfigure.exceptions import EstimationError, NotFittedError
from darkfigure.histories import CaptureHistories


def _h(mse_dir: Path, name: str) -> CaptureHistories:
    return CaptureHistories.from_csv(mse_dir / f"{name}.csv")


@pytest.mark.parametrize("name", ["UKdat", "kosovo_aggregate", "hare"])
def test_fast_fitter_matches_statsmodels(mse_dir: Path, name: str) -> None:
    """Same likelihood, both converged tightly: coefficients, intercept variance, deviance and
    log-likelihood agree to 1e-7 relative (differences are round-off in the linear algebra)."""
    cells, counts = _h(mse_dir, name).full_table()
    pairs = all_pairs(cells.shape[1])
    rng = np.random.default_rng(0)
    for _ in range(4):
        sub = [pairs[k] for k in sorted(rng.choice(len(pairs), size=3, replace=False))]
        x = design_matrix(cells, sub)
        # drop models whose overlaps are empty (their MLE runs off): statsmodels would not converge either
        if (x[:, 1:].T @ counts == 0).any():
            continue
        beta, _, cov, dev, ll, conv, _ = fit_poisson(x, counts)
        sb, scov, sdev, sll = fit_poisson_statsmodels(x, counts)
        assert conv
        np.testing.assert_allclose(beta, sb, rtol=1e-7, atol=1e-7)
        assert cov[0, 0] == pytest.approx(scov[0, 0], rel=1e-7)
        assert dev == pytest.approx(sdev, rel=1e-7, abs=1e-8)
        assert ll == pytest.approx(sll, rel=1e-9)


def test_fast_fitter_matches_numpy_glm(mse_dir: Path) -> None:
    """The project's numpy IRLS (estimate/_glm.py) is the other oracle."""
    from darkfigure.estimate._glm import fit_poisson_glm

    cells, counts = _h(mse_dir, "UKdat_5").full_table()
    x = design_matrix(cells, [(0, 1), (1, 4), (3, 4)])
    beta = fit_poisson(x, counts)[0]
    ref = fit_poisson_glm(x, counts.astype(float), tol=1e-12, max_iter=100)
    np.testing.assert_allclose(beta, np.asarray(ref.coef), rtol=1e-6, atol=1e-8)
    assert fit_poisson(x, counts)[3] == pytest.approx(ref.deviance, rel=1e-8)


def test_structural_zero_rows_are_left_out(mse_dir: Path) -> None:
    """A term for lists that never overlap = cells holding both are excluded (SparseMSE's buildmodel)."""
    h = _h(mse_dir, "UKdat")
    r = LogLinearMSE(select="none", terms="LA:GP").fit(h).result_
    main = LogLinearMSE(select="none").fit(h).result_
    assert r.extra["empty_overlaps_in_model"] == ["LA:GP"]
    # the model gives a different estimate and counts one parameter more in AIC than its fit has
    assert r.estimate != pytest.approx(main.estimate, rel=1e-6)
    assert r.extra["df"] == main.extra["df"] - 16 + 0  # 16 LA&GP cells removed, no extra column fitted


def test_estimator_contract(mse_dir: Path) -> None:
    est = LogLinearMSE(select="bic", level=0.9)
    assert est.get_params()["select"] == "bic"
    with pytest.raises(NotFittedError):
        _ = est.result_ if False else est.n_hat_
    assert est.fit(_h(mse_dir, "UKdat_4")) is est
    r = est.result_
    assert isinstance(r, EstimateResult) and r.level == 0.9 and r.method == "loglinear"
    assert r.lower < r.estimate < r.upper
    d = json.loads(r.to_json())
    for key in ("method", "estimate", "lower", "upper", "level", "observed", "lists", "model", "models",
                "warnings", "provenance"):
        assert key in d
    assert d["provenance"]["input_sha256"] == _h(mse_dir, "UKdat_4").sha256
    assert EstimateResult.from_dict(d).estimate == pytest.approx(r.estimate)
    # every candidate: estimate, AIC, BIC, deviance, df, weight; weights sum to one
    assert all(m["AIC"] is not None and m["df"] is not None for m in d["models"])
    assert sum(m["weight"] for m in d["models"]) == pytest.approx(1.0)
    assert "estimate" in est.summary()
    ax = est.plot()
    assert ax is not None
    with pytest.raises(EstimationError):
        LogLinearMSE(select="magic").fit(_h(mse_dir, "UKdat_4"))


def test_bic_selection_is_the_best_bic_of_all_models(mse_dir: Path) -> None:
    """Exhaustive search up to 4 lists: the chosen model has the smallest BIC among all candidates."""
    r = LogLinearMSE(select="bic").fit(_h(mse_dir, "UKdat_4")).result_
    assert len(r.models) == 64  # 2**6 models, all with an MLE here
    best = min(r.models, key=lambda m: m.bic)
    assert best.extra["chosen"] and best.estimate == pytest.approx(r.estimate)


def test_average_interval_is_wider_than_the_best_models(mse_dir: Path) -> None:
    h = _h(mse_dir, "UKdat_4")
    avg = LogLinearMSE(select="average").fit(h).result_
    aic = LogLinearMSE(select="aic").fit(h).result_
    assert avg.extra["interval_method"] == "model-averaged mixture"
    assert avg.upper - avg.lower > aic.upper - aic.lower
    w = np.array([m.weight for m in avg.models])
    est = np.array([m.estimate for m in avg.models])
    assert avg.estimate == pytest.approx(float(np.sum(w * est)), rel=1e-9)


def test_profile_interval_contains_estimate_and_differs_from_normal(mse_dir: Path) -> None:
    h = _h(mse_dir, "HIV")
    p = LogLinearMSE(select="none", interval="profile").fit(h).result_
    n = LogLinearMSE(select="none").fit(h).result_
    assert p.lower < p.estimate < p.upper
    # same model, intervals of similar size but not identical (likelihood vs normal on the log scale)
    assert p.lower == pytest.approx(n.lower, rel=0.05) and p.lower != pytest.approx(n.lower, rel=1e-6)


def test_unbounded_upper_is_reported_as_a_lower_bound() -> None:
    """A sparse 3-list table with every interaction: the profile likelihood barely rises to the right."""
    h = CaptureHistories.from_dict(["A", "B", "C"], {(0, 0, 1): 34, (0, 1, 0): 52, (0, 1, 1): 1,
                                                     (1, 0, 0): 12, (1, 0, 1): 1, (1, 1, 0): 1, (1, 1, 1): 2})
    r = LogLinearMSE(select="none", terms="all", interval="profile").fit(h).result_
    assert r.estimable and r.upper is None and r.lower > r.observed
    assert "unbounded_upper" in {w.code for w in r.warnings}
    assert r.to_dict()["upper"] is None


def test_warnings_fire_on_artificial_3(mse_dir: Path) -> None:
    r = LogLinearMSE().fit(_h(mse_dir, "Artificial_3")).result_
    codes = {w.code for w in r.warnings}
    assert {"non_overlapping_lists", "mostly_single_list", "mle_not_exist", "not_identifiable"} <= codes
    msg = next(w.message for w in r.warnings if w.code == "mle_not_exist")
    assert "A:B" in msg
    # the model SparseMSE cannot fit (mX = 0) is 'not estimable', not an exception
    r0 = LogLinearMSE(select="none", terms="all").fit(_h(mse_dir, "Artificial_3")).result_
    assert not r0.estimable and "not_estimable" in {w.code for w in r0.warnings}


def test_warnings_fire_on_neworl(mse_dir: Path) -> None:
    h = _h(mse_dir, "NewOrl")
    r = LogLinearMSE().fit(h).result_
    codes = {w.code for w in r.warnings}
    assert {"non_overlapping_lists", "mostly_single_list"} <= codes
    msg = next(w.message for w in r.warnings if w.code == "non_overlapping_lists")
    assert msg.startswith("18 of 28 pairs")
    # averaging over the sparse models: the models disagree a lot and the upper limit runs far out
    avg = LogLinearMSE(select="average").fit(h).result_
    assert {"non_overlapping_lists", "mostly_single_list"} <= {w.code for w in avg.warnings}
    assert avg.upper is None or avg.upper > 3 * avg.estimate


def test_model_sensitivity_warning(mse_dir: Path) -> None:
    r = LogLinearMSE().fit(_h(mse_dir, "Western")).result_
    assert "model_sensitivity" in {w.code for w in r.warnings}


def test_stratified_histories_give_one_result_per_stratum_and_go_on(mse_dir: Path, tmp_path: Path) -> None:
    uk = _h(mse_dir, "UKdat_4")
    lines = ["region," + ",".join(uk.lists) + ",count"]
    for pat, c in zip(uk.patterns.tolist(), uk.counts.tolist(), strict=True):
        lines.append("north," + ",".join(map(str, pat)) + f",{c}")
        lines.append("south," + ",".join(map(str, pat)) + f",{max(c // 3, 1)}")
    lines.append("tiny,1,0,0,0,2")  # two people on one list: nothing to estimate from
    p = tmp_path / "strat.csv"
    p.write_text("\n".join(lines) + "\n")
    h = CaptureHistories.from_csv(p, stratum_column="region")
    est = LogLinearMSE().fit(h)
    by = {r.stratum: r for r in est.results_}
    assert set(by) == {"north", "south", "tiny"}
    assert by["north"].estimate == pytest.approx(LogLinearMSE().fit(uk).result_.estimate, rel=1e-9)
    assert by["south"].estimable and by["south"].estimate > by["south"].observed
    assert not by["tiny"].estimable and by["tiny"].estimate is None
    assert "not_estimable" in {w.code for w in by["tiny"].warnings}
    assert est.result_.stratum is None and est.result_.observed == h.observed


def test_terms_are_validated(mse_dir: Path) -> None:
    with pytest.raises(EstimationError, match="LIST:LIST"):
        LogLinearMSE(select="none", terms="LA:XX").fit(_h(mse_dir, "UKdat_4"))


def test_same_seed_same_bootstrap(mse_dir: Path) -> None:
    h = _h(mse_dir, "Artificial_3")
    a = LogLinearMSE(bootstrap=60, random_state=3).fit(h).result_
    b = LogLinearMSE(bootstrap=60, random_state=3).fit(h).result_
    assert (a.lower, a.upper) == (b.lower, b.upper)
    assert a.provenance.seed == 3
    assert math.isfinite(a.lower)
