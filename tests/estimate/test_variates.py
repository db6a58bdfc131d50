"""darkfigure's compiled random variates (``estimate/_variates.py``) against exact distributions.

The LCMCR sampler draws from its own xoshiro256++ generator with published variate algorithms (ziggurat
normal, Marsaglia-Tsang gamma, BTRS binomial, PTRS Poisson, ...).  These tests compare the generator with
an independent pure-Python implementation of xoshiro256++, and every variate with SciPy's exact
distribution: chi-square on the exact probabilities (discrete) or Kolmogorov-Smirnov (continuous), and
the mean within 5 standard errors, over many parameter values and the edge cases (n = 0, p near 0 and 1,
the switch between two methods, huge n, tiny shapes, probabilities that are not normalised).

Seeds are fixed, so the tests are deterministic.  With R = 200,000 draws per case they caught each of
these planted errors: the ziggurat's start r 1 % too small; a gamma ``d = a - 0.3`` instead of
``a - 1/3``; BTRS's hat parameter ``a`` off by 0.01 b.  In the multinomial: before its tail group of 20,
the per-person step shrinking its first class's probability by 1 %, the tail group's binomial p 3 % too
high, a tail class's share 3 % too small; with the current routes, a head class's binomial p 3 % too high,
and the running sums scaled by 0.98 in the branch-free count and, separately, in the scan that stops.
Changes inside the rejection steps that only alter how often a draw
is accepted move the distribution too little to see at this size (PTRS's constant 0.43 shifted by a
whole unit moved the mean of Poisson(47) by 0.07, with a standard error of 0.05 over 20,000 draws).
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest
from scipy import special, stats

from darkfigure.estimate._variates import (
    CONCENTRATED,
    SMALL_N,
    TAIL_EXPECTED,
    beta,
    binomial,
    log_standard_gamma,
    multinomial,
    negative_binomial,
    next_u64,
    poisson,
    seed_state,
    standard_gamma,
    standard_normal,
    uniform,
)

R = 200_000  # draws per case
P_MIN = 1e-4  # smallest p-value accepted (fixed seeds: a deterministic check, not a flaky one)


# ------------------------------------------------------------------------------------------ helpers
@numba.njit
def _many(kind, st, a, b, reps):
    out = np.empty(reps)
    for r in range(reps):
        if kind == 0:
            out[r] = uniform(st)
        elif kind == 1:
            out[r] = standard_normal(st)
        elif kind == 2:
            out[r] = standard_gamma(st, a)
        elif kind == 3:
            out[r] = log_standard_gamma(st, a)
        elif kind == 4:
            out[r] = beta(st, a, b)
        elif kind == 5:
            out[r] = binomial(st, int(a), b)
        elif kind == 6:
            out[r] = poisson(st, a)
        else:
            out[r] = negative_binomial(st, int(a), b)
    return out


@numba.njit
def _many_multinomials(st, n, probs, total, reps):
    out = np.zeros((reps, probs.shape[0]), dtype=np.int64)
    cum = np.empty(probs.shape[0])
    for r in range(reps):
        multinomial(st, n, probs, total, out[r], cum)
    return out


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


def _discrete_fits(x: np.ndarray, dist: stats.rv_discrete) -> None:
    """Mean within 5 standard errors, and chi-square against the pmf over the central support."""
    assert abs(x.mean() - dist.mean()) <= 5 * dist.std() / np.sqrt(len(x)) + 1e-12
    lo, hi = int(dist.ppf(1e-7)), int(dist.isf(1e-7)) + 1
    if hi - lo < 1:
        return
    support = np.arange(lo, hi + 1)
    counts = np.bincount(np.clip(x.astype(np.int64), lo, hi) - lo, minlength=len(support))
    expected = dist.pmf(support) * len(x)
    expected[0] += dist.cdf(lo - 1) * len(x)
    expected[-1] += dist.sf(hi) * len(x)
    assert _chisq_pvalue(counts, expected) > P_MIN


# ------------------------------------------------------------------------------------------ generator
_MASK = (1 << 64) - 1


def _xoshiro256pp_reference(state: list[int], n: int) -> list[int]:
    # xoshiro256++ as published by Blackman and Vigna, in Python integers: an independent oracle
    s = list(state)
    out = []
    for _ in range(n):
        t = (s[0] + s[3]) & _MASK
        out.append((((t << 23) | (t >> 41)) + s[0]) & _MASK)
        t = (s[1] << 17) & _MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & _MASK
    return out


@numba.njit
def _u64s(st, n):
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = next_u64(st)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2**63 + 5])
def test_generator_is_xoshiro256pp(seed: int) -> None:
    st = seed_state(seed)
    expected = _xoshiro256pp_reference([int(x) for x in st], 1000)
    assert [int(x) for x in _u64s(st, 1000)] == expected


def test_xoshiro256pp_known_answer() -> None:
    # from the state (1, 2, 3, 4) the first outputs are fixed by the algorithm's definition
    st = np.array([1, 2, 3, 4], dtype=np.uint64)
    assert [int(x) for x in _u64s(st, 3)] == _xoshiro256pp_reference([1, 2, 3, 4], 3)
    assert int(_u64s(np.array([1, 2, 3, 4], dtype=np.uint64), 1)[0]) == 41943041  # rotl(5, 23) + 1


def test_seed_state_comes_from_a_seed_sequence() -> None:
    a, b = seed_state(7), seed_state(np.random.SeedSequence(7))
    assert a.dtype == np.uint64 and a.shape == (4,) and (a == b).all()
    states = {tuple(seed_state(s).tolist()) for s in range(1000)}
    assert len(states) == 1000
    kids = np.random.SeedSequence(7).spawn(3)
    assert len({tuple(seed_state(k).tolist()) for k in kids}) == 3


def test_uniform_is_uniform_on_the_open_interval() -> None:
    u = _many(0, seed_state(1), 0.0, 0.0, R)
    assert ((u > 0) & (u < 1)).all()
    assert stats.kstest(u, "uniform").pvalue > P_MIN
    # the bits are independent from draw to draw: pairs fall evenly into a 16 x 16 grid
    cells = (np.floor(u[0::2] * 16) * 16 + np.floor(u[1::2] * 16)).astype(int)
    assert _chisq_pvalue(np.bincount(cells, minlength=256), np.full(256, len(cells) / 256)) > P_MIN


# ------------------------------------------------------------------------------------------ continuous
def test_standard_normal_matches_scipy() -> None:
    z = _many(1, seed_state(2), 0.0, 0.0, 4 * R)
    assert stats.kstest(z, "norm").pvalue > P_MIN
    assert abs(z.mean()) < 5 / np.sqrt(len(z)) and abs(z.var() - 1) < 5 * np.sqrt(2 / len(z))
    # the tail beyond the ziggurat's base (r = 3.4426) and the wedges: counts in bands against the exact
    # probabilities, which a KS test on the whole line would barely notice
    edges = np.array([-np.inf, -4.0, -3.4426, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 3.4426, 4.0, np.inf])
    observed = np.histogram(z, edges)[0]
    expected = np.diff(stats.norm.cdf(edges)) * len(z)
    assert _chisq_pvalue(observed, expected) > P_MIN


@pytest.mark.parametrize("a", [0.01, 0.25, 0.9, 1.0, 1.5, 2.5, 9.25, 140.0, 1e5])
def test_standard_gamma_matches_scipy(a: float) -> None:
    x = _many(2, seed_state(3), a, 0.0, R)
    dist = stats.gamma(a)
    assert (x >= 0).all()
    assert abs(x.mean() - dist.mean()) <= 5 * dist.std() / np.sqrt(R)
    assert stats.kstest(x, dist.cdf).pvalue > P_MIN


@pytest.mark.parametrize("a", [1e-3, 0.05, 0.3, 1.0, 12.5, 3000.0])
def test_log_standard_gamma_matches_scipy_on_the_log_scale(a: float) -> None:
    # for tiny shapes the draw itself underflows to 0 in double precision, its logarithm does not
    lx = _many(3, seed_state(4), a, 0.0, R)
    assert np.isfinite(lx).all()

    def cdf(t: np.ndarray) -> np.ndarray:
        # P(log G <= t) = P(a, e^t) (regularised lower incomplete gamma); where e^t underflows, its series
        # e^(a t) / Gamma(a + 1) (1 - O(e^t)), exact to double precision below t = -40
        tiny = t < -40
        out = np.empty_like(t)
        out[tiny] = np.exp(a * t[tiny] - special.gammaln(a + 1.0))
        out[~tiny] = special.gammainc(a, np.exp(t[~tiny]))
        return out

    assert stats.kstest(lx, cdf).pvalue > P_MIN


@pytest.mark.parametrize(("a", "b"), [(1.0, 1.0), (1.0, 5.0), (5.0, 1.0), (2.5, 7.0), (141.0, 501.0),
                                      (1.0, 1e6), (3001.0, 2.0)])
def test_beta_matches_scipy(a: float, b: float) -> None:
    x = _many(4, seed_state(5), a, b, R)
    dist = stats.beta(a, b)
    assert ((x >= 0) & (x <= 1)).all()
    assert abs(x.mean() - dist.mean()) <= 5 * dist.std() / np.sqrt(R)
    assert stats.kstest(x, dist.cdf).pvalue > P_MIN


# ------------------------------------------------------------------------------------------ discrete
BINOMIAL_CASES = [
    (0, 0.3), (17, 0.0), (17, 1.0), (5, 1e-12), (5, 1 - 1e-12), (1, 0.5), (2_000, 1e-9),
    (40, 0.5), (41, 0.5),  # n p = 20 (inversion) and just above (BTRS; INVERSION_MAX_NP)
    (200, 0.1), (201, 0.1), (200, 0.9), (201, 0.9),  # the same switch on both sides of p = 1/2
    (300, 0.1), (60, 0.5), (10**6, 3.1e-5),  # BTRS with n p ~ 30 (NumPy's switch point), and tiny p
    (100, 0.15), (40, 0.74), (10**6, 2.9e-5), (10**6, 0.37),
    (835, 0.2), (835, 0.45), (835, 0.8), (4400, 0.5), (120, 0.26),  # the sampler's usual range (BTRS)
]


@pytest.mark.parametrize(("n", "p"), BINOMIAL_CASES)
def test_binomial_matches_scipy(n: int, p: float) -> None:
    x = _many(5, seed_state(13), float(n), p, R)
    assert ((x >= 0) & (x <= n)).all()
    if p in (0.0, 1.0) or n == 0:
        assert (x == n * p).all()
        return
    _discrete_fits(x, stats.binom(n, p))


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.5, 3.0, 9.99, 10.0, 10.5, 47.0, 6000.0, 1e6])
def test_poisson_matches_scipy(lam: float) -> None:
    x = _many(6, seed_state(17), lam, 0.0, R)
    assert (x >= 0).all()
    if lam == 0.0:
        assert (x == 0).all()
        return
    _discrete_fits(x, stats.poisson(lam))


@pytest.mark.parametrize(("n", "p"), [(1, 0.5), (15, 0.3), (4400, 0.4), (4400, 0.97), (50, 0.999),
                                      (7, 1.0)])
def test_negative_binomial_matches_scipy(n: int, p: float) -> None:
    # failures before the n-th success: the sampler's unseen count given n seen and P(seen) = p
    x = _many(7, seed_state(19), float(n), p, R)
    if p == 1.0:
        assert (x == 0).all()
        return
    _discrete_fits(x, stats.nbinom(n, p))


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
    draws = _many_multinomials(seed_state(7), n, w, float(np.cumsum(w)[-1]), R)
    assert (draws.sum(axis=1) == n).all() and (draws >= 0).all()
    assert (draws[:, p == 0] == 0).all()
    for k in range(len(p)):
        # each class count is Binomial(n, p_k)
        if 0 < p[k] < 1 and n > 0:
            _discrete_fits(draws[:, k].astype(float), stats.binom(n, p[k]))


JOINT_CASES = [
    # one uniform per person, scanning the classes
    (3, [0.55, 0.3, 0.15]), (SMALL_N, [0.55, 0.3, 0.15]),
    # every class in the tail group (each expects < TAIL_EXPECTED people): people placed by the
    # branch-free count of running sums
    (SMALL_N + 2, [0.55, 0.3, 0.15]), (20, [0.6, 0.05, 0.3, 0.05]),
    # one head class (takes the rest) and a tail of spread classes
    (40, [0.7, 0.02, 0.2, 0.05, 0.03]), (25, [0.1, 0.1, 0.05, 0.75]),
    # a tail with one class holding >= CONCENTRATED of its share: the scan that stops
    (30, [0.7, 0.29, 0.01]),
    # two head classes around tail classes: a conditional binomial, the largest head not first
    (60, [0.35, 0.05, 0.4, 0.2]),
]


def _paths(n: int, probs: list[float]) -> set[str]:
    # which of the multinomial's routes a case takes, at the module's current thresholds
    p = np.asarray(probs)
    if n <= SMALL_N:
        return {"scan"}
    tail = p * n < TAIL_EXPECTED
    paths = {f"heads={int((~tail).sum())}"}
    if tail.any():
        top = p[tail].max() >= CONCENTRATED * p[tail].sum()
        paths.add("tail concentrated" if top else "tail spread")
    return paths


def test_joint_cases_cover_every_route() -> None:
    # the joint-law cases below were chosen for the thresholds; this fails if a threshold moves so that
    # a route is no longer exercised
    covered = set().union(*(_paths(n, p) for n, p in JOINT_CASES))
    assert {"scan", "heads=0", "heads=1", "heads=2", "tail spread", "tail concentrated"} <= covered


@pytest.mark.parametrize(("n", "probs"), JOINT_CASES)
def test_multinomial_joint_distribution_is_exact(n: int, probs: list[float]) -> None:
    # the joint law of the counts (not only the marginals), on every composition of n: catches a wrong
    # dependence between classes, e.g. at the switch to one uniform per person or between the tail group
    # and the others
    p = np.asarray(probs)
    assert np.isclose(p.sum(), 1.0)
    draws = _many_multinomials(seed_state(11), n, p, 1.0, R)
    comps = [(*c, n - sum(c)) for c in itertools.product(range(n + 1), repeat=len(p) - 1) if sum(c) <= n]
    index = {c: t for t, c in enumerate(comps)}
    observed = np.bincount([index[tuple(d)] for d in draws.tolist()], minlength=len(comps))
    expected = stats.multinomial.pmf(np.array(comps), n, p) * len(draws)
    assert _chisq_pvalue(observed, expected) > P_MIN
