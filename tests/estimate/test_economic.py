"""Economic Monte Carlo on known inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from darkfigure.estimate import EstimateResult
from darkfigure.estimate.economic import REQUIRED, Assumption, EconomicModel, load_assumptions
from darkfigure.exceptions import InputError, NotEstimableError


def test_point_values_reproduce_the_2019_105_million():
    m = EconomicModel()
    pv = m.point_values()
    assert pv["prostitution"] == pytest.approx(80_000 * 0.60 * 0.50 * 3 * 365 * 4, rel=1e-12)
    assert pv["prostitution"] == pytest.approx(105_120_000, rel=1e-12)
    assert round(pv["prostitution"] / 1e6, 1) == 105.1
    assert pv["total"] == pytest.approx(pv["prostitution"] + pv["forced_marriage"] + pv["cybersex"])


def _fixed_model(**uncertain: dict) -> EconomicModel:
    a, _ = load_assumptions()
    out = {}
    for name, x in a.items():
        dist = uncertain.get(name, {"type": "fixed", "value": x.point})
        out[name] = Assumption(name, x.point, dist, "test")
    return EconomicModel(out, n_draws=40_000, seed=7)


def test_monte_carlo_matches_the_analytic_distribution():
    # only the price varies, uniform(2, 6): the total is linear in it, so its quantiles are known exactly
    m = _fixed_model(price_per_act_usd={"type": "uniform", "low": 2, "high": 6}).fit()
    r = m.result_
    pv = m.point_values()
    per_dollar = pv["prostitution"] / 4
    other = pv["total"] - pv["prostitution"]
    # Monte Carlo error of a uniform quantile with 40,000 draws is about 0.5% of the range: 1% tolerance
    assert r.median == pytest.approx(other + per_dollar * 4.0, rel=0.01)
    assert r.interval95[0] == pytest.approx(other + per_dollar * 2.1, rel=0.01)
    assert r.interval95[1] == pytest.approx(other + per_dollar * 5.9, rel=0.01)
    assert r.interval50[0] == pytest.approx(other + per_dollar * 3.0, rel=0.01)
    assert sum(r.histogram["counts"]) > 0.99 * 40_000 * 0.99
    # only one uncertain input: it is the whole tornado, and the rank correlation is 1
    assert [t["name"] for t in r.tornado] == ["price_per_act_usd"]
    assert r.tornado[0]["output_high"] == pytest.approx(other + per_dollar * 5.9, rel=1e-9)
    assert r.rank_correlation["price_per_act_usd"] == pytest.approx(1.0)


def test_same_seed_same_result_and_seed_recorded():
    a = EconomicModel(n_draws=2000, seed=3).fit().result_
    b = EconomicModel(n_draws=2000, seed=3).fit().result_
    c = EconomicModel(n_draws=2000, seed=4).fit().result_
    assert a.median == b.median and a.interval95 == b.interval95
    assert a.median != c.median
    assert a.provenance.seed == 3 and a.to_dict()["provenance"]["seed"] == 3


def test_tornado_is_sorted_and_names_the_widest_driver():
    m = _fixed_model(price_per_act_usd={"type": "uniform", "low": 3.9, "high": 4.1},
                     women={"type": "lognormal", "median": 80_000, "high": 300_000}).fit()
    names = [t["name"] for t in m.result_.tornado]
    assert names == ["women", "price_per_act_usd"]
    swings = [t["swing"] for t in m.result_.tornado]
    assert swings == sorted(swings, reverse=True)


def test_population_estimate_becomes_a_lognormal():
    est = EstimateResult(method="loglinear", estimate=50_000.0, lower=30_000.0, upper=90_000.0, level=0.95,
                         observed=2_000, lists=("a", "b", "c"))
    m = EconomicModel(n_draws=1000, seed=1).with_population(est)
    w = m.assumptions["women"]
    assert w.quantile(0.5) == pytest.approx(50_000)
    # the distribution's 95% range has the estimate's interval's log-width
    lo, hi = w.quantile(0.025), w.quantile(0.975)
    assert np.log(hi / lo) == pytest.approx(np.log(90_000 / 30_000), rel=1e-9)
    assert "loglinear" in w.source
    unbounded = EstimateResult(method="x", estimate=5.0, lower=3.0, upper=None, level=0.95, observed=3,
                               lists=("a", "b"))
    with pytest.raises(NotEstimableError):
        EconomicModel().with_population(unbounded)


def test_share_from_records_is_the_jeffreys_posterior():
    m = EconomicModel(n_draws=1000, seed=1).with_share("share_sex_trade", 30, 50)
    a = m.assumptions["share_sex_trade"]
    assert a.distribution == {"type": "beta", "a": 30.5, "b": 20.5}
    assert a.quantile(0.5) == pytest.approx(stats.beta(30.5, 20.5).median())


def test_every_assumption_has_a_source_and_distribution():
    a, settings = load_assumptions()
    assert set(REQUIRED) <= set(a)
    assert all(x.source for x in a.values())
    assert settings["seed"] is not None and len(settings["sha256"]) == 64


def test_bad_assumptions(tmp_path):
    with pytest.raises(InputError):
        Assumption("x", 1.0, {"type": "triangular", "low": 3, "mode": 1, "high": 2}, "s")
    with pytest.raises(InputError):
        Assumption("x", 1.0, {"type": "gamma"}, "s")
    p = tmp_path / "a.yaml"
    p.write_text("assumptions:\n  women: {point: 1, distribution: {type: fixed}, source: s}\n",
                 encoding="utf-8")
    with pytest.raises(InputError, match="lacks"):
        load_assumptions(p)


def test_result_is_json_serialisable(tmp_path):
    import json

    r = EconomicModel(n_draws=500, seed=2).fit().result_
    p = r.write_json(tmp_path / "economic.json")
    d = json.loads(p.read_text(encoding="utf-8"))
    assert d["point"]["prostitution"] == pytest.approx(105_120_000)
    assert len(d["histogram"]["edges"]) == len(d["histogram"]["counts"]) + 1
    assert "105.1M" in r.summary()
