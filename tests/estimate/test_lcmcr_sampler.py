"""The LCMCR sampler's own random-variate routines against SciPy's distributions.

Where the sampler draws a variate by another exact method than NumPy's routine (binomial inversion without
a division per step, multinomials that switch to one uniform per person, the stick-breaking weight of an
empty class by inversion on the log scale, the uniform for the lambda of an empty class), these tests
compare its draws with the exact distribution: goodness of fit (chi-square on the exact probabilities, or
Kolmogorov-Smirnov) and the mean, over many parameter values and the edge cases (n = 0, p near 0 and 1,
large n, probabilities that are not normalised).  Seeds are fixed, so the tests are deterministic; with
200,000 draws per case they catch a 1% shift of a categorical draw or a 2% error in a scale parameter
(checked by planting such errors), and the NumPy baseline's twins must make the very same draws.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy import stats

from darkfigure.estimate._lcmcr_sampler import (
    SMALL_N,
    _beta_counts,
    _binomial,
    _binomial_np,
    _log_beta_one,
    _multinomial,
    _multinomial_np,
)

R = 200_000  # draws per case: a 2% error in a scale parameter is caught
P_MIN = 1e-4  # smallest p-value accepted (fixed seeds: a deterministic check, not a flaky one)


@numba.njit
def _many_multinomials(rng, n, probs, total, reps):
    out = np.zeros((reps, probs.shape[0]), dtype=np.int64)
    for r in range(reps):
        _multinomial(rng, n, probs, total, out[r])
    return out


@numba.njit
def _many_binomials(rng, n, p, reps):
    out = np.empty(reps, dtype=np.int64)
    for r in range(reps):
        out[r] = _binomial(rng, n, p)
    return out


@numba.njit
def _many_betas(rng, a1, a0, reps):
    out = np.empty(reps)
    for r in range(reps):
        out[r] = _beta_counts(rng, a1, a0)
    return out


@numba.njit
def _many_log_beta_one(rng, b, reps):
    lv = np.empty(reps)
    l1v = np.empty(reps)
    for r in range(reps):
        lv[r], l1v[r] = _log_beta_one(rng, b)
    return lv, l1v


def _chisq_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    """Chi-square goodness of fit, cells with expected counts below 5 pooled into one."""
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    if exp[-1] == 0:
        obs, exp = obs[:-1], exp[:-1]
    if len(exp) < 2:
        return 1.0
    return float(stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue)


BINOMIAL_CASES = [
    (0, 0.3), (17, 0.0), (17, 1.0), (5, 1e-12), (5, 1 - 1e-12), (1, 0.5), (2_000, 1e-9),
    (60, 0.5), (61, 0.5),  # n p = 30 (inversion) and just above (BTPE)
    (300, 0.1), (301, 0.1), (300, 0.9), (301, 0.9),  # the same switch on both sides of p = 1/2
    (100, 0.15), (40, 0.74), (10**6, 2.9e-5), (10**6, 0.37),
]


@pytest.mark.parametrize(("n", "p"), BINOMIAL_CASES)
def test_binomial_matches_scipy(n: int, p: float) -> None:
    x = _many_binomials(np.random.default_rng(13), n, p, R)
    assert ((x >= 0) & (x <= n)).all()
    mean, sd = n * p, np.sqrt(n * p * (1 - p))
    assert abs(x.mean() - mean) <= 5 * sd / np.sqrt(R) + 1e-12
    if 0 < p < 1 and n > 0:
        lo, hi = int(stats.binom.ppf(1e-7, n, p)), int(stats.binom.isf(1e-7, n, p)) + 1
        support = np.arange(lo, hi + 1)
        counts = np.bincount(np.clip(x, lo, hi) - lo, minlength=len(support))
        expected = stats.binom.pmf(support, n, p) * R
        expected[0] += stats.binom.cdf(lo - 1, n, p) * R
        expected[-1] += stats.binom.sf(hi, n, p) * R
        assert _chisq_pvalue(counts, expected) > P_MIN


def test_numpy_baseline_binomial_makes_the_same_draws() -> None:
    gen = np.random.default_rng(17)
    for _ in range(300):
        n = int(gen.integers(0, 3000))
        # any p, and p with n p or n (1 - p) below 30 (the inversion)
        small = gen.random() * 30 / max(n, 1)
        p = float(gen.choice([gen.random(), small, 1 - small]))
        p = min(max(p, 0.0), 1.0)
        seed = int(gen.integers(2**32))
        a = _many_binomials(np.random.default_rng(seed), n, p, 5)
        rng = np.random.default_rng(seed)
        b = [_binomial_np(rng, n, p) for _ in range(5)]
        np.testing.assert_array_equal(a, b)


MULTINOMIAL_CASES = [
    (0, [0.2, 0.3, 0.5]),
    (1, [0.2, 0.3, 0.5]),
    (SMALL_N, [0.5, 0.25, 0.125, 0.125]),
    (SMALL_N + 1, [0.5, 0.25, 0.125, 0.125]),
    (40, [0.9, 0.05, 0.03, 0.01, 0.01]),
    (200, [0.6, 1e-300, 0.3, 0.1 - 1e-12, 1e-12]),  # p ~ 0 in the middle, at the end
    (1000, [1.0 - 1e-12, 1e-12, 0.0, 0.0]),  # p ~ 1 first: everyone in class 0
    (1000, [1e-9, 1e-9, 0.5, 0.5 - 2e-9]),
    (50_000, [0.4, 0.3, 0.2, 0.05, 0.03, 0.01, 0.005, 0.003, 0.001, 0.001]),
    (300, [1e-3, 1e-3, 1e-3, 0.997]),  # many people left for the last class
]


@pytest.mark.parametrize("scale", [1.0, 3.7e-41])  # normalised, and unnormalised tiny weights as in the model
@pytest.mark.parametrize(("n", "probs"), MULTINOMIAL_CASES)
def test_multinomial_matches_the_multinomial_distribution(n: int, probs: list[float], scale: float) -> None:
    p = np.asarray(probs) / np.sum(probs)
    w = p * scale
    draws = _many_multinomials(np.random.default_rng(7), n, w, float(np.cumsum(w)[-1]), R)
    assert (draws.sum(axis=1) == n).all() and (draws >= 0).all()
    assert (draws[:, p == 0] == 0).all()
    for k in range(len(p)):
        # each class count is Binomial(n, p_k): mean within 5 standard errors, and its whole distribution
        mean, sd = n * p[k], np.sqrt(n * p[k] * (1 - p[k]))
        assert abs(draws[:, k].mean() - mean) <= 5 * sd / np.sqrt(R) + 1e-12
        if 0 < p[k] < 1 and n > 0:
            lo, hi = int(stats.binom.ppf(1e-7, n, p[k])), int(stats.binom.isf(1e-7, n, p[k])) + 1
            support = np.arange(lo, hi + 1)
            counts = np.bincount(np.clip(draws[:, k], lo, hi) - lo, minlength=len(support))
            expected = stats.binom.pmf(support, n, p[k]) * R
            expected[0] += stats.binom.cdf(lo - 1, n, p[k]) * R
            expected[-1] += stats.binom.sf(hi, n, p[k]) * R
            assert _chisq_pvalue(counts, expected) > P_MIN, (k, n, p[k])


@pytest.mark.parametrize("n", [3, SMALL_N, SMALL_N + 2, 30])
def test_multinomial_joint_distribution_is_exact(n: int) -> None:
    # the joint law of the counts (not only the marginals), on every composition of n into 3 classes:
    # catches a wrong dependence between classes, e.g. at the switch to one uniform per person
    p = np.array([0.55, 0.3, 0.15])
    draws = _many_multinomials(np.random.default_rng(11), n, p, 1.0, R)
    comps = [(i, j, n - i - j) for i in range(n + 1) for j in range(n + 1 - i)]
    index = {c: t for t, c in enumerate(comps)}
    observed = np.bincount([index[tuple(d)] for d in draws.tolist()], minlength=len(comps))
    expected = stats.multinomial.pmf(np.array(comps), n, p) * len(draws)
    assert _chisq_pvalue(observed, expected) > P_MIN


def test_numpy_baseline_multinomial_makes_the_same_draws() -> None:
    gen = np.random.default_rng(5)
    for n in [0, 1, SMALL_N, SMALL_N + 1, 57, 900, 25_000]:
        for _ in range(20):
            w = gen.dirichlet(np.full(10, 0.3)) * 1e-20
            w[gen.random(10) < 0.2] = 0.0
            if w.sum() == 0:
                w[3] = 1e-20
            total = float(np.cumsum(w)[-1])
            seed = int(gen.integers(2**32))
            a = _many_multinomials(np.random.default_rng(seed), n, w, total, 1)[0]
            b = _multinomial_np(np.random.default_rng(seed), n, w, total)
            np.testing.assert_array_equal(a, b)


BETA_CASES = [(0, 0), (0, 1), (0, 7), (0, 3000), (0, 10**6), (1, 0), (12, 0), (2500, 0), (1, 1), (3, 40),
              (700, 9000)]


@pytest.mark.parametrize(("a1", "a0"), BETA_CASES)
def test_beta_of_counts_matches_scipy(a1: int, a0: int) -> None:
    x = _many_betas(np.random.default_rng(3), a1, a0, R)
    dist = stats.beta(1 + a1, 1 + a0)
    assert ((x >= 0) & (x <= 1)).all()
    assert abs(x.mean() - dist.mean()) <= 5 * dist.std() / np.sqrt(R)
    assert stats.kstest(x, dist.cdf).pvalue > P_MIN


@pytest.mark.parametrize("b", [1e-3, 0.05, 0.3, 1.0, 2.5, 60.0, 4e5])
def test_log_stick_weight_of_an_empty_class_matches_beta_one_b(b: float) -> None:
    # V ~ Beta(1, b) drawn as (log V, log(1 - V)), both tested on the log scale: for small b, V is 1.0
    # and 1 - V is 0.0 in double precision for most draws, but their logs are not
    # -b log(1 - V) is Exp(1):
    lv, l1v = _many_log_beta_one(np.random.default_rng(9), b, R)
    assert np.isfinite(lv).all() and np.isfinite(l1v).all() and (lv <= 0).all() and (l1v < 0).all()
    assert stats.kstest(-b * l1v, stats.expon.cdf).pvalue > P_MIN
    # the two logs describe one V: V + (1 - V) = 1 wherever both are representable
    ok = l1v > -700
    np.testing.assert_allclose(np.exp(lv[ok]) + np.exp(l1v[ok]), 1.0, rtol=1e-12)
    # and log V on its own scale: P(log V <= t) = 1 - (1 - e^t)^b (for b = 1e-3, log V itself is below
    # the smallest double, -1e-308, in half the draws, and the comparison is meaningless)
    def cdf(t: np.ndarray) -> np.ndarray:
        return -np.expm1(b * np.log(-np.expm1(np.minimum(t, -1e-300))))

    if b >= 0.05:
        assert stats.kstest(lv, cdf).pvalue > P_MIN


def test_worker_processes_are_kept_for_the_next_call() -> None:
    # starting workers (a process, numpy, numba, the compiled sampler) costs seconds: run_chains keeps
    # them, and a call with another number of workers replaces them; the draws never depend on it
    from darkfigure.estimate import _lcmcr_sampler as sampler

    cells = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1]], dtype=np.int8)
    freq = np.array([30, 25, 12, 20, 9])
    kw = {"K": 3, "a": 0.25, "b": 0.25, "burn_in": 50, "n_samples": 20, "thin": 2}
    seeds = np.random.SeedSequence(4).spawn(3)
    try:
        a = sampler.run_chains(cells, freq, seeds=seeds, n_jobs=2, **kw)
        pool = sampler._POOL
        b = sampler.run_chains(cells, freq, seeds=seeds, n_jobs=2, **kw)
        assert pool is not None and sampler._POOL is pool
        c = sampler.run_chains(cells, freq, seeds=seeds, n_jobs=3, **kw)
        assert sampler._POOL is not pool and sampler._POOL_SIZE == 3
    finally:
        sampler.shutdown_workers()
    assert sampler._POOL is None
    d = sampler.run_chains(cells, freq, seeds=seeds, n_jobs=1, **kw)
    for x in (a, b, c):
        np.testing.assert_array_equal(x.N, d.N)
        np.testing.assert_array_equal(x.alpha, d.alpha)


def test_a_script_without_main_guard_gets_a_one_line_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # forkserver workers re-run the calling script; without the guard they die on start-up, and the user
    # must be told what to do, not shown a multiprocessing traceback
    import subprocess
    import sys

    script = tmp_path / "no_guard.py"
    script.write_text(
        "import numpy as np\n"
        "from darkfigure.exceptions import EstimationError\n"
        "from darkfigure.estimate._lcmcr_sampler import run_chains\n"
        "cells = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int8)\n"
        "try:\n"
        "    run_chains(cells, np.array([5, 4, 3]), K=2, a=0.25, b=0.25, burn_in=1, n_samples=2, thin=1,\n"
        "               seeds=np.random.SeedSequence(1).spawn(2), n_jobs=2)\n"
        "except EstimationError as e:\n"
        "    print('CAUGHT', e)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    caught = [line for line in out.stdout.splitlines() if line.startswith("CAUGHT")]
    # the parent, and possibly the dying workers, print it; the parent's line names the fix
    assert caught, out.stderr[-2000:]
    assert "__main__" in caught[-1] and "n_jobs=1" in caught[-1]
