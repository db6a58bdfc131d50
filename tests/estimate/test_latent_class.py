"""LatentClassMSE (LCMCR): sampler = NumPy baseline, seeding, diagnostics, results, contract."""

from __future__ import annotations

import importlib
import json
import warnings

import numpy as np
import pytest

from darkfigure.estimate import EstimateResult
from darkfigure.estimate._lcmcr_sampler import (
    N0_MAX_FACTOR,
    run_chains,
    sample_chain,
    sample_chain_numpy,
    seed_state,
)
from darkfigure.estimate.latent_class import (
    LatentClassMSE,
    classic_split_rhat,
    ess_bulk,
    hpd_interval,
    split_rhat,
)
from darkfigure.exceptions import ConvergenceWarning, InputError, NotFittedError
from darkfigure.histories import CaptureHistories

from ..conftest import IN_CI

FAST = {"burn_in": 300, "n_samples": 200, "thin": 2, "chains": 2, "n_jobs": 1}


def _arviz():  # type: ignore[no-untyped-def]
    """ArviZ is the dev-only oracle for the diagnostics (``pip install 'darkfigure[dev]'``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # arviz announces its refactor with a FutureWarning on import
            return importlib.import_module("arviz")
    except ImportError:
        if IN_CI:
            pytest.fail("arviz (dev extra) is needed as the diagnostics oracle")
        pytest.skip("arviz not installed")


@pytest.fixture(scope="module")
def ukdat4(mse_dir) -> CaptureHistories:  # type: ignore[no-untyped-def]
    return CaptureHistories.from_csv(mse_dir / "UKdat_4.csv")


@pytest.fixture(scope="module")
def ukdat(mse_dir) -> CaptureHistories:  # type: ignore[no-untyped-def]
    return CaptureHistories.from_csv(mse_dir / "UKdat.csv")


# ------------------------------------------------------------------------------------------ sampler
@pytest.mark.parametrize(("table", "K"), [("UKdat_4", 10), ("hare", 5), ("Artificial_3", 3)])
def test_numba_sampler_matches_numpy_baseline_draw_for_draw(mse_dir, table, K) -> None:  # type: ignore[no-untyped-def]
    # The two implementations draw from the same generator state in the same order, so any
    # difference in the Gibbs steps (counts, priors, the n0 update...) would make the draws diverge.
    h = CaptureHistories.from_csv(mse_dir / f"{table}.csv")
    cells, freq = h.patterns.astype(np.int8), h.counts.astype(np.int64)
    a = sample_chain(seed_state(11), cells, freq, K, 0.25, 0.25, 20, 30, 2)
    b = sample_chain_numpy(seed_state(11), cells, freq, K, 0.25, 0.25, 20, 30, 2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
    np.testing.assert_array_equal(a[2], b[2])
    assert (a[0] >= h.observed).all()
    assert ((a[2] >= 1) & (a[2] <= K)).all()


def test_numba_matches_numpy_from_a_dispersed_start(mse_dir) -> None:  # type: ignore[no-untyped-def]
    h = CaptureHistories.from_csv(mse_dir / "UKdat_5.csv")
    cells, freq = h.patterns.astype(np.int8), h.counts.astype(np.int64)
    a = sample_chain(seed_state(3), cells, freq, 10, 0.25, 0.25, 10, 20, 2, 10 * h.observed)
    b = sample_chain_numpy(seed_state(3), cells, freq, 10, 0.25, 0.25, 10, 20, 2, 10 * h.observed)
    np.testing.assert_array_equal(a[0], b[0])


def _exact_posterior_one_class(cells: np.ndarray, freq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(N | data) for K = 1 by direct summation: lists independent, lambda_j ~ Beta(1, 1) integrated out,
    p(N) proportional to 1/N on n <= N <= 21 n (LCMCR's prior and bound)."""
    from scipy.special import betaln, gammaln

    n = int(freq.sum())
    on_list = (cells * freq[:, None]).sum(axis=0)
    N = np.arange(n, (N0_MAX_FACTOR + 1) * n + 1)
    logp = -np.log(N) + gammaln(N + 1) - gammaln(N - n + 1) + sum(betaln(k + 1, N - k + 1) for k in on_list)
    p = np.exp(logp - logp.max())
    return N, p / p.sum()


def test_sampler_matches_the_exact_posterior_of_n_with_one_class() -> None:
    # With K = 1 the posterior of N is a one-dimensional sum (above), an answer computed without MCMC.  It
    # checks the data-augmentation steps that matter for N: the negative binomial (its success probability
    # and its size n, i.e. the 1/N prior), the lambda counts including the unseen, and the 20 n bound.
    # A flat prior on N instead of 1/N moves the mean by ~+3.5, i.e. > 20 Monte Carlo sd here.
    # Tolerance: 4 Monte Carlo sd (posterior sd / sqrt(bulk ESS)) for the mean, 4 binomial sd at ESS for
    # three probabilities P(N <= q).
    cells = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]],
                     dtype=np.int8)
    freq = np.array([12, 9, 14, 3, 4, 2, 1], dtype=np.int64)
    N, p = _exact_posterior_one_class(cells, freq)
    mean = float((N * p).sum())
    sd = float(np.sqrt(((N - mean) ** 2 * p).sum()))
    cdf = np.cumsum(p)
    draws, _, _ = sample_chain(seed_state(2024), cells, freq, 1, 0.25, 0.25, 1_000, 20_000, 5)
    ess = ess_bulk(draws[None, :].astype(float))
    assert ess > 2_000
    assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(ess)
    for q in (0.1, 0.5, 0.9):
        i = int(np.searchsorted(cdf, q))
        assert abs((draws <= N[i]).mean() - cdf[i]) < 4 * np.sqrt(cdf[i] * (1 - cdf[i]) / ess)


def test_unseen_count_is_bounded_by_twenty_times_the_observed() -> None:
    # Two lists that never overlap: the data say little about N and its posterior has a heavy tail (without
    # the bound, 3-13% of such draws exceed 21 n, up to 140 n, over three seeds). LCMCR redraws n0 until
    # n0 <= 20 n, and so must we; the tail still reaches the bound (10-25% of draws above 10.5 n).
    cells = np.array([[1, 0], [0, 1]], dtype=np.int8)
    freq = np.array([20, 30], dtype=np.int64)
    draws, _, _ = sample_chain(seed_state(1), cells, freq, 3, 0.25, 0.25, 200, 2_000, 2)
    assert draws.max() <= (N0_MAX_FACTOR + 1) * 50
    assert (draws > (N0_MAX_FACTOR + 1) * 50 / 2).mean() > 0.05


def test_same_seed_same_draws_whatever_the_number_of_processes(ukdat4) -> None:  # type: ignore[no-untyped-def]
    kw = {"K": 5, "a": 0.25, "b": 0.25, "burn_in": 100, "n_samples": 50, "thin": 2}
    one = run_chains(ukdat4.patterns, ukdat4.counts, seeds=np.random.SeedSequence(7).spawn(2), n_jobs=1, **kw)
    two = run_chains(ukdat4.patterns, ukdat4.counts, seeds=np.random.SeedSequence(7).spawn(2), n_jobs=2, **kw)
    np.testing.assert_array_equal(one.N, two.N)
    np.testing.assert_array_equal(one.alpha, two.alpha)
    other = run_chains(ukdat4.patterns, ukdat4.counts, seeds=np.random.SeedSequence(8).spawn(2), n_jobs=1,
                       **kw)
    assert not np.array_equal(one.N, other.N)
    assert not np.array_equal(one.N[0], one.N[1])  # chains are independent streams


def test_worker_processes_are_spawned_when_threads_run(ukdat4) -> None:  # type: ignore[no-untyped-def]
    # workers come from a forkserver (never a plain fork beside other threads): same draws as in-process
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)
    t.start()
    try:
        kw = {"K": 3, "a": 0.25, "b": 0.25, "burn_in": 20, "n_samples": 10, "thin": 1}
        spawned = run_chains(ukdat4.patterns, ukdat4.counts, seeds=np.random.SeedSequence(9).spawn(2),
                             n_jobs=2, **kw)
    finally:
        stop.set()
        t.join()
    local = run_chains(ukdat4.patterns, ukdat4.counts, seeds=np.random.SeedSequence(9).spawn(2), n_jobs=1,
                       **kw)
    np.testing.assert_array_equal(spawned.N, local.N)


def test_estimator_is_reproducible_and_records_its_seed(ukdat4) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a short run; diagnostics tested elsewhere
        r1 = LatentClassMSE(K=5, random_state=3, **FAST).fit(ukdat4).result_
        r2 = LatentClassMSE(K=5, random_state=3, **FAST).fit(ukdat4).result_
        m3 = LatentClassMSE(K=5, random_state=None, **FAST).fit(ukdat4)
    assert (r1.estimate, r1.lower, r1.upper) == (r2.estimate, r2.lower, r2.upper)
    assert r1.provenance.seed == 3
    assert isinstance(m3.random_state_, int) and m3.result_.provenance.seed == m3.random_state_


def _simulate(two_classes: bool, n_true: int = 5000) -> CaptureHistories:
    rng = np.random.default_rng(2024)
    if two_classes:
        z = rng.random(n_true) < 0.5
        p = np.where(z[:, None], [0.5, 0.6, 0.5, 0.6, 0.5], [0.2, 0.25, 0.3, 0.2, 0.25])
    else:
        p = np.broadcast_to([0.3, 0.35, 0.4, 0.3, 0.25], (n_true, 5))
    x = (rng.random((n_true, 5)) < p).astype(np.int8)
    return CaptureHistories.from_membership(x, ["A", "B", "C", "D", "E"])


def test_known_answer_simulated_homogeneous_population() -> None:
    # 5,000 people, five lists, one class: the model holds and the lists overlap well, so the chain mixes
    # (ESS of N ~ 950 from 1,000 draws) and the posterior is tight (sd ~ 0.8% of N, from the 99% interval
    # width over seeds).  The truth must be in the 99% interval and the median within 3% (~4 sd).
    # The burn-in is LCMCR's 10,000: the data-augmentation chain starts at N = n and climbs.
    h = _simulate(two_classes=False)
    m = LatentClassMSE(K=5, burn_in=10_000, n_samples=500, thin=10, chains=2, level=0.99, random_state=5,
                       n_jobs=2, ess_min=0, rhat_max=10.0).fit(h)
    r = m.result_
    assert h.observed < 0.9 * 5000
    assert r.lower <= 5000 <= r.upper
    assert abs(r.estimate - 5000) / 5000 < 0.03
    assert r.extra["rhat"]["N"] < 1.01 and r.extra["ess"]["N"] > 400


def test_known_answer_simulated_two_class_population() -> None:
    # Two latent classes (the heterogeneity the model is built for): the 99% interval must cover the
    # truth.  This posterior mixes slowly (ESS of N ~ 10-50 here), so only coverage is checked.
    h = _simulate(two_classes=True)
    m = LatentClassMSE(K=5, burn_in=10_000, n_samples=500, thin=10, chains=2, level=0.99, random_state=5,
                       n_jobs=2, ess_min=0, rhat_max=10.0).fit(h)
    assert m.result_.lower <= 5000 <= m.result_.upper


# ------------------------------------------------------------------------------------------ diagnostics
def _ar1(rng: np.random.Generator, chains: int, n: int, phi: float, shift: float = 0.0) -> np.ndarray:
    x = np.empty((chains, n))
    x[:, 0] = rng.normal(size=chains)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + rng.normal(size=chains) * np.sqrt(1 - phi**2)
    return x + shift * np.arange(chains)[:, None]


@pytest.mark.parametrize(("phi", "shift", "n"), [(0.0, 0.0, 400), (0.9, 0.0, 1000), (0.99, 0.5, 501),
                                                 (-0.3, 0.0, 300)])
def test_rhat_and_bulk_ess_match_arviz(phi, shift, n) -> None:  # type: ignore[no-untyped-def]
    az = _arviz()
    x = _ar1(np.random.default_rng(1), 4, n, phi, shift)
    # same published algorithm (Vehtari et al. 2021), so agreement to floating-point accuracy
    assert split_rhat(x) == pytest.approx(float(az.rhat(x)), rel=1e-9)
    assert ess_bulk(x) == pytest.approx(float(az.ess(x, method="bulk")), rel=1e-9)
    assert classic_split_rhat(x) == pytest.approx(float(az.rhat(x, method="split")), rel=1e-9)


def test_diagnostics_flag_disagreeing_chains() -> None:
    rng = np.random.default_rng(3)
    good = _ar1(rng, 4, 1000, 0.5)
    bad = _ar1(rng, 4, 1000, 0.5, shift=1.0)
    assert split_rhat(good) < 1.01 < split_rhat(bad)
    assert ess_bulk(bad) < ess_bulk(good)


def test_hpd_interval_of_a_skewed_posterior() -> None:
    # exponential(1): the 90% HPD interval is [0, -log(0.1)] = [0, 2.303]; with 200,000 draws the sample
    # quantiles are within ~0.02 of it.
    s = np.random.default_rng(0).exponential(size=200_000)
    lo, hi = hpd_interval(s, 0.9)
    assert lo == pytest.approx(0.0, abs=0.01)
    assert hi == pytest.approx(np.log(10), abs=0.03)
    assert hi - lo < np.quantile(s, 0.95) - np.quantile(s, 0.05)


def test_too_short_run_triggers_convergence_warnings(ukdat) -> None:  # type: ignore[no-untyped-def]
    # UKdat's posterior is wide and sticky: 40 unthinned draws after no burn-in cannot have mixed.
    est = LatentClassMSE(K=10, burn_in=0, n_samples=40, thin=1, chains=4, random_state=1, n_jobs=2)
    with pytest.warns(ConvergenceWarning):
        est.fit(ukdat)
    codes = {w.code for w in est.result_.warnings}
    assert "ess_low" in codes
    assert est.result_.extra["ess"]["N"] < 400


# ------------------------------------------------------------------------------------------ results
@pytest.fixture(scope="module")
def fitted(ukdat4) -> LatentClassMSE:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return LatentClassMSE(K=5, random_state=2, **FAST).fit(ukdat4)


def test_result_keys_and_json_round_trip(fitted) -> None:  # type: ignore[no-untyped-def]
    r = fitted.result_
    d = json.loads(r.to_json())
    for key in ("method", "estimate", "lower", "upper", "level", "observed", "lists", "warnings",
                "provenance", "rhat", "ess", "chains", "hpd", "k_star", "posterior_mean"):
        assert key in d
    assert d["method"] == "latent-class" and d["chains"] == 2 and d["level"] == 0.95
    assert set(d["rhat"]) == {"N", "alpha"} and set(d["ess"]) == {"N", "alpha"}
    assert d["lower"] <= d["estimate"] <= d["upper"]
    assert d["observed"] == 2428 and d["lower"] >= 2428
    assert sum(d["k_star"].values()) == pytest.approx(1.0)
    assert d["provenance"]["input_sha256"] and d["provenance"]["settings"]["K"] == 5
    back = EstimateResult.from_dict(d)
    assert back.to_dict()["rhat"] == d["rhat"]
    n = fitted.draws_.N.ravel()
    assert r.estimate == np.median(n)
    assert (r.lower, r.upper) == tuple(np.quantile(n, [0.025, 0.975]))


def test_intervals_and_summary(fitted) -> None:  # type: ignore[no-untyped-def]
    lo95, hi95 = fitted.conf_int()
    lo80, hi80 = fitted.conf_int(alpha=0.2)
    assert lo95 <= lo80 <= hi80 <= hi95
    hlo, hhi = fitted.hpd_interval()
    # the HPD interval holds at least 95% of the draws and is no wider than the equal-tailed interval
    # holding as many draws (np.quantile's interpolated limits may hold a few draws fewer, so they are
    # not the comparison)
    n = np.sort(fitted.draws_.N.ravel())
    k = int(np.floor(0.95 * n.size))
    assert np.mean((n >= hlo) & (n <= hhi)) >= 0.95
    j = round(0.025 * n.size)
    assert hhi - hlo <= n[j + k] - n[j]
    assert sum(fitted.posterior_k_star().values()) == pytest.approx(1.0)
    text = fitted.summary()
    assert "R-hat" in text and "ESS" in text and "latent-class" in text


def test_trace_plot(fitted) -> None:  # type: ignore[no-untyped-def]
    ax = fitted.plot()
    assert len(ax.get_lines()) == 2  # one per chain
    ax2 = fitted.plot_trace("alpha")
    assert ax2.get_ylabel() == "alpha"
    with pytest.raises(InputError):
        fitted.plot_trace("lambda")


def test_estimator_contract_and_validation() -> None:
    est = LatentClassMSE()
    assert est.get_params()["K"] == 10 and est.get_params()["a"] == 0.25
    with pytest.raises(NotFittedError):
        _ = est.result_
    with pytest.raises(NotFittedError):
        est.summary()
    h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 30, (0, 1, 0): 20, (1, 1, 0): 5,
                                                     (0, 0, 1): 9})
    bad = LatentClassMSE(K=1, thin=0, a=-1.0, level=1.5)
    with pytest.raises(InputError) as info:
        bad.fit(h)
    msg = str(info.value)
    for field in ("K", "thin", "a must", "level"):  # all problems, raised once
        assert field in msg


def test_not_estimable_tables_and_strata() -> None:
    tiny = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 3, (1, 1, 0): 1})
    r = LatentClassMSE(random_state=1, **FAST).fit(tiny).result_
    assert not r.estimable and r.estimate is None and r.warnings[-1].code == "not_estimable"
    apart = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 30, (0, 1, 0): 40, (0, 0, 1): 20})
    assert not LatentClassMSE(random_state=1, **FAST).fit(apart).result_.estimable

    rows = {(1, 0, 0): 60, (0, 1, 0): 50, (0, 0, 1): 40, (1, 1, 0): 15, (1, 0, 1): 12, (0, 1, 1): 10,
            (1, 1, 1): 4}
    pats = np.array([*list(rows), (1, 0, 0), (1, 1, 0)], dtype=np.int8)
    counts = np.array([*list(rows.values()), 2, 1], dtype=np.int64)
    strata = np.array(["north"] * len(rows) + ["south"] * 2)
    h = CaptureHistories(("A", "B", "C"), pats, counts, strata, "region")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = LatentClassMSE(K=4, random_state=4, **FAST).fit(h)
    by = {r.stratum: r for r in m.results_}
    assert set(by) == {"north", "south"}
    assert by["north"].estimable and by["north"].estimate >= 191
    assert not by["south"].estimable
    assert m.result_.stratum is None and m.result_.observed == 194 and m.result_.estimable


def test_dispersed_starts_expose_the_multimodal_uk_posterior(mse_dir) -> None:  # type: ignore[no-untyped-def]
    # UKdat_5: chains started at LCMCR's start can sit near 12,400 for 10^5 iterations while chains started
    # high settle near 22,000 (docs/methods/latent_class.md). Short dispersed runs must not look converged.
    from darkfigure import CaptureHistories
    from darkfigure.estimate.latent_class import LatentClassMSE

    h = CaptureHistories.from_csv(mse_dir / "UKdat_5.csv")
    m = LatentClassMSE(K=10, burn_in=500, n_samples=200, thin=2, chains=2, random_state=3, n_jobs=1,
                       init="dispersed", ess_min=0)
    with pytest.warns(ConvergenceWarning):
        m.fit(h)
    assert m.result_.extra["rhat"]["N"] > 1.1
    assert "rhat_high" in {w.code for w in m.result_.warnings}
    assert m.get_params()["init"] == "dispersed"


def test_init_is_validated() -> None:
    from darkfigure import CaptureHistories
    from darkfigure.estimate.latent_class import LatentClassMSE
    from darkfigure.exceptions import DarkfigureError

    h = CaptureHistories.from_dict(["A", "B"], {(1, 0): 30, (0, 1): 20, (1, 1): 10})
    with pytest.raises(DarkfigureError, match="init"):
        LatentClassMSE(init="sideways").fit(h)


def test_truncation_bound_warning_when_the_upper_limit_is_set_by_the_bound(ukdat4) -> None:  # type: ignore[no-untyped-def]
    # Three lists of 50 with a single overlap: the data hardly bound N, the posterior presses against the
    # sampler's N <= 21 n (LCMCR's n0 <= 20 n), and the upper limit is the bound's, not the data's.
    h = CaptureHistories.from_dict(["A", "B", "C"],
                                   {(1, 0, 0): 50, (0, 1, 0): 50, (0, 0, 1): 50, (1, 1, 0): 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # a longer burn-in than FAST's 300: from LCMCR's start (no unseen people) the chain takes ~1,000
        # iterations to climb to where this posterior is (at 300 the median can still be ~600)
        r = LatentClassMSE(K=5, random_state=4, **{**FAST, "burn_in": 2000}).fit(h).result_
    assert r.upper > 19 * h.observed and r.upper <= (1 + N0_MAX_FACTOR) * h.observed
    assert "truncation_bound" in {w.code for w in r.warnings}
    assert r.extra["share_near_bound"] > 0.025
    # a table the data bound well: no such warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r4 = LatentClassMSE(K=5, random_state=4, **FAST).fit(ukdat4).result_
    assert "truncation_bound" not in {w.code for w in r4.warnings} and r4.extra["share_near_bound"] == 0.0
