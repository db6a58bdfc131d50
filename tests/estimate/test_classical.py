"""Two-list estimators, Chao's lower bound and the Rcapture models: behaviour, contracts, warnings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from darkfigure.estimate import EstimateResult
from darkfigure.estimate.classical import (
    RCAPTURE_MODELS,
    ChaoLowerBound,
    Chapman,
    LincolnPetersen,
    RcaptureModel,
    closedp,
)
from darkfigure.exceptions import InputError, NotFittedError
from darkfigure.histories import CaptureHistories

TWO = CaptureHistories.from_dict(["A", "B"], {(1, 0): 60, (0, 1): 40, (1, 1): 20})
THREE = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 30, (0, 1, 0): 20, (0, 0, 1): 10,
                                                      (1, 1, 0): 8, (0, 1, 1): 4, (1, 1, 1): 3})

ALL_ESTIMATORS = [LincolnPetersen(), Chapman(), ChaoLowerBound(), RcaptureModel("Mt")]


def _simulate(rng: np.random.Generator, n_total: int, probs: list[float]) -> CaptureHistories:
    caught = rng.random((n_total, len(probs))) < np.array(probs)
    return CaptureHistories.from_membership(caught.astype(np.int8), [f"L{i}" for i in range(len(probs))])


# ------------------------------------------------------------------ two lists
def test_lincoln_petersen_equals_the_two_list_independence_model() -> None:
    """With two lists the log-linear independence model (Rcapture Mt) is Lincoln–Petersen: n1 n2 / m."""
    lp = LincolnPetersen().fit(TWO)
    mt = RcaptureModel("Mt", interval="wald").fit(TWO)
    assert lp.n_hat_ == pytest.approx(80 * 60 / 20)
    assert mt.n_hat_ == pytest.approx(lp.n_hat_, rel=1e-8)


def test_chapman_point_and_seber_variance() -> None:
    est = Chapman().fit(TWO)
    n1, n2, m = 80, 60, 20
    assert est.n_hat_ == pytest.approx((n1 + 1) * (n2 + 1) / (m + 1) - 1)
    var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    assert est.result_.extra["stderr"] == pytest.approx(math.sqrt(var))
    lo, hi = est.conf_int()
    assert lo == pytest.approx(est.n_hat_ - 1.959964 * math.sqrt(var), rel=1e-6)
    assert hi == pytest.approx(est.n_hat_ + 1.959964 * math.sqrt(var), rel=1e-6)


def test_chapman_interval_covers_the_truth_in_simulation() -> None:
    """95% Chapman intervals cover N in about 95% of independent two-list samples (N=600, p=0.25, 0.3).

    400 replicates: the binomial standard error of the coverage is 1.1 points, so [0.90, 0.99] is a
    4-sigma band that a correct interval passes and a badly wrong one (e.g. a 68% interval) fails.
    """
    rng = np.random.default_rng(20261128)
    for kind in ("wald", "loglog"):
        hits = 0
        for _ in range(400):
            h = _simulate(rng, 600, [0.25, 0.3])
            lo, hi = Chapman(interval=kind).fit(h).conf_int()
            hits += lo <= 600 <= (hi if hi is not None else math.inf)
        assert 0.90 <= hits / 400 <= 0.99, kind


def test_two_list_estimators_refuse_three_lists_and_say_how_to_collapse() -> None:
    for est in (LincolnPetersen(), Chapman()):
        with pytest.raises(InputError, match=r"exactly 2 lists.*Collapse"):
            est.fit(THREE)


def test_no_overlap_is_warned_and_upper_is_unbounded() -> None:
    h = CaptureHistories.from_dict(["A", "B"], {(1, 0): 30, (0, 1): 20})
    lp = LincolnPetersen().fit(h).result_
    assert lp.estimate is None and not lp.estimable and lp.upper is None
    assert lp.lower == 50
    ch = Chapman().fit(h).result_
    assert ch.estimate == pytest.approx(31 * 21 - 1)
    assert ch.upper is None
    codes = {w.code for w in ch.warnings}
    assert {"no_overlap", "unbounded_upper"} <= codes
    assert json.loads(ch.to_json())["upper"] is None


def test_conf_int_at_another_level_is_nested() -> None:
    est = Chapman(interval="loglog").fit(TWO)
    lo95, hi95 = est.conf_int()
    lo80, hi80 = est.conf_int(alpha=0.2)
    assert lo95 < lo80 < est.n_hat_ < hi80 < hi95
    assert est.conf_int(alpha=0.05) == (lo95, hi95)
    assert est.result_.level == 0.95  # asking for another level does not change the fitted result


# ------------------------------------------------------------------ Chao
def test_chao_closed_form_equals_rcapture_mh_chao_when_no_eta_is_constrained() -> None:
    """Chao's bound n + (t-1)/t f1²/(2 f2) is what Rcapture's Mh Chao log-linear model gives when its η
    parameters are all non-negative (the model is then saturated in f2..ft and extrapolates f1, f2)."""
    chao = ChaoLowerBound().fit(THREE)
    mh = RcaptureModel("Mh-chao", interval="wald").fit(THREE)
    assert mh.fit_.removed_eta == ()
    f1, f2, t = 60, 12, 3
    assert chao.n_hat_ == pytest.approx(THREE.observed + (t - 1) / t * f1**2 / (2 * f2))
    assert mh.n_hat_ == pytest.approx(chao.n_hat_, rel=1e-7)


def test_chao_bias_corrected_when_nobody_is_on_exactly_two_lists() -> None:
    h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 10, (0, 1, 0): 8, (1, 1, 1): 2})
    r = ChaoLowerBound().fit(h).result_
    assert r.estimate == pytest.approx(20 + 2 / 3 * 18 * 17 / 2)
    codes = {w.code for w in r.warnings}
    assert {"sparse_recaptures", "lower_bound_estimator"} <= codes
    assert r.lower is not None and r.upper is not None and r.lower >= 20


def test_chao_interval_never_below_observed_and_contains_estimate() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        h = _simulate(rng, 300, list(rng.uniform(0.1, 0.4, size=4)))
        r = ChaoLowerBound().fit(h).result_
        assert r.observed <= r.lower <= r.estimate <= r.upper


# ------------------------------------------------------------------ Rcapture models
@pytest.mark.parametrize("model", RCAPTURE_MODELS)
def test_every_model_gives_a_result_with_the_json_contract(model: str) -> None:
    r = RcaptureModel(model).fit(THREE).result_
    d = json.loads(r.to_json())
    for key in ("method", "estimate", "lower", "upper", "level", "observed", "lists", "model", "models",
                "warnings", "provenance", "stderr", "deviance", "df", "AIC", "BIC", "info_fit"):
        assert key in d
    assert d["method"] == "rcapture" and d["model"] == model
    assert d["provenance"]["input_sha256"] == THREE.sha256
    assert EstimateResult.from_dict(d).to_dict()["estimate"] == d["estimate"]
    if r.estimable:
        assert r.lower is not None and r.lower >= r.observed
        assert r.lower <= r.estimate <= (r.upper if r.upper is not None else math.inf)


def test_runaway_fit_on_a_tiny_table_reports_no_estimate() -> None:
    """Two people on five lists: heterogeneity models run off to N ~ 1e28. No estimate, no overflow, the
    number observed as lower limit."""
    h = CaptureHistories.from_dict([f"L{i}" for i in range(5)],
                                   {(0, 0, 0, 1, 0): 1, (0, 0, 1, 1, 1): 1})
    for model in ("Mth-gamma", "Mth-darroch"):
        r = RcaptureModel(model).fit(h).result_
        assert r.estimate is None and r.upper is None and r.lower == 2
        assert {"unbounded_estimate", "unbounded_upper"} <= {w.code for w in r.warnings}
        assert r.extra["raw_estimate"] > 1e6


def test_profile_interval_contains_both_estimates_and_is_narrower_than_high_level() -> None:
    est = RcaptureModel("Mt", interval="profile").fit(THREE)
    r = est.result_
    assert r.lower < r.extra["profile_estimate"] <= r.estimate < r.upper
    lo99, hi99 = est.conf_int(alpha=0.01)
    assert lo99 < r.lower and hi99 > r.upper


def test_profile_interval_covers_truth_under_independence() -> None:
    """Mt's profile interval covers N about 95% of the time when lists really are independent (N=400,
    three lists). 60 replicates (the profile search is the slow part): a 4-sigma band around 0.95 is
    [0.84, 1.0]; a 68% interval would fail. The reference tests pin the interval itself to Rcapture."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(60):
        h = _simulate(rng, 400, [0.2, 0.25, 0.3])
        lo, hi = RcaptureModel("Mt").fit(h).conf_int()
        hits += lo <= 400 <= (hi if hi is not None else math.inf)
    assert hits / 60 >= 0.84


def test_wald_and_loglog_intervals() -> None:
    w = RcaptureModel("M0", interval="wald").fit(THREE).result_
    g = RcaptureModel("M0", interval="loglog").fit(THREE).result_
    se = w.extra["stderr"]
    assert w.upper == pytest.approx(w.estimate + 1.959964 * se, rel=1e-6)
    f0 = g.estimate - g.observed
    c = math.exp(1.959964 * math.sqrt(math.log(1 + se**2 / f0**2)))
    assert g.lower == pytest.approx(g.observed + f0 / c, rel=1e-6)
    assert g.upper == pytest.approx(g.observed + f0 * c, rel=1e-6)


def test_behavioural_models_fall_back_from_profile_with_a_warning() -> None:
    r = RcaptureModel("Mb", interval="profile").fit(THREE).result_
    assert r.extra["interval"] == "loglog"
    assert "profile_unavailable" in {w.code for w in r.warnings}


def test_closedp_two_lists_fits_what_rcapture_fits() -> None:
    assert [m.model for m in closedp(TWO)] == ["M0", "Mt", "Mb"]
    with pytest.raises(InputError, match="at least 3 lists"):
        RcaptureModel("Mh-chao").fit(TWO)


def test_closedp_with_intervals() -> None:
    table = closedp(THREE, intervals=True)
    assert len(table) == 12
    for m in table:
        if m.extra["estimable"]:
            assert m.lower is not None and m.lower <= m.estimate


def test_artificial_3_warnings_fire(mse_dir: Path) -> None:
    """Artificial_3 (B–C and A–C never overlap, nobody on all three lists) is built so that the MLE does
    not exist: every model must carry a warning, and none may present a boundary fit as a precise one."""
    h = CaptureHistories.from_csv(mse_dir / "Artificial_3.csv")
    for model in RCAPTURE_MODELS[:10]:  # Mb/Mbh (behavioural, ordered occasions) are well defined here
        r = RcaptureModel(model, interval="wald").fit(h).result_  # these warnings do not need the profile
        codes = {w.code for w in r.warnings}
        assert codes, model
        if model.startswith(("Mh-", "Mth-")) and not model.endswith("chao"):
            assert "boundary_estimate" in codes, model


def test_impossible_estimate_is_not_reported(mse_dir: Path) -> None:
    """Rcapture's Mb on UKdat_4 gives a negative abundance (infoFit 1); we report no estimate."""
    h = CaptureHistories.from_csv(mse_dir / "UKdat_4.csv")
    r = RcaptureModel("Mb").fit(h).result_
    assert r.estimate is None and not r.estimable
    assert r.extra["raw_estimate"] < 0
    assert {"impossible_estimate", "fit_problem"} <= {w.code for w in r.warnings}


def test_no_overlap_gives_no_estimate_but_an_honest_lower_limit() -> None:
    """Nobody on two lists: the MLE of N is infinite. No estimate, no upper limit, but the profile
    likelihood still gives a lower limit well above the number observed."""
    h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 44, (0, 1, 0): 32, (0, 0, 1): 43})
    for model in ("M0", "Mt"):
        r = RcaptureModel(model).fit(h).result_
        assert r.estimate is None and not r.estimable
        assert r.upper is None
        assert r.lower is not None and r.lower > 10 * r.observed
        assert {"no_overlap", "unbounded_upper"} <= {w.code for w in r.warnings}
        d = json.loads(r.to_json())
        assert d["estimate"] is None and d["upper"] is None
        w = RcaptureModel(model, interval="wald").fit(h).result_
        assert w.estimate is None and w.lower == r.observed and w.upper is None


# ------------------------------------------------------------------ contract
@pytest.mark.parametrize("est", ALL_ESTIMATORS, ids=lambda e: type(e).__name__)
def test_estimator_contract(est: object) -> None:
    from darkfigure.estimate import BasePopulationEstimator

    assert isinstance(est, BasePopulationEstimator)
    fresh = type(est)(**est.get_params())
    with pytest.raises(NotFittedError):
        fresh.conf_int()
    data = TWO if isinstance(est, (LincolnPetersen, Chapman)) else THREE
    assert fresh.fit(data) is fresh
    r1 = fresh.result_
    r2 = type(est)(**est.get_params()).fit(data).result_
    assert r1.estimate == r2.estimate and r1.conf_int() == r2.conf_int()  # deterministic
    assert isinstance(fresh.summary(), str) and "observed" in fresh.summary()
    ax = fresh.plot()
    assert ax.get_xlabel() == "population size N"


def test_stratified_input_is_refused_with_guidance() -> None:
    h = CaptureHistories.from_membership(np.array([[1, 0], [0, 1], [1, 1], [1, 0]]), ["A", "B"],
                                         strata=["x", "x", "y", "y"], stratum_name="region")
    with pytest.raises(InputError, match="by_stratum"):
        Chapman().fit(h)


def test_bad_parameters_raise_input_errors() -> None:
    with pytest.raises(InputError, match="unknown model"):
        RcaptureModel("Mx").fit(THREE)
    with pytest.raises(InputError, match="interval"):
        RcaptureModel("Mt", interval="bayes").fit(THREE)
    with pytest.raises(InputError, match="level"):
        Chapman(level=95).fit(TWO)
