"""Gibbs sampler of the Bayesian non-parametric latent-class capture-recapture model (LCMCR).

The model and the order of the Gibbs steps follow Manrique-Vallier (2016), as implemented in the R package
LCMCR (``lcmCR``): a truncated stick-breaking prior with ``K`` latent classes and concentration
``alpha ~ Gamma(a, b)``; ``lambda[j, k] ~ Beta(1, 1)``, the probability that a member of class ``k`` is on
list ``j``; the people no list saw are imputed by data augmentation, with the prior ``p(N) ∝ 1/N``.

The sampler works on the ``2^J - 1`` observed pattern *counts* rather than on persons: the class
memberships of the ``n_m`` people who share capture pattern ``m`` are exchangeable, so their class counts
are one multinomial draw.  One iteration is

1. class counts of every observed pattern: ``Multinomial(n_m, p(k | x_m))``;
2. ``lambda[j, k] ~ Beta(1 + #(class k on list j), 1 + #(class k not on list j))`` (augmented people
   included; they are on no list);
3. stick-breaking weights ``V_k ~ Beta(1 + N_k, alpha + sum_{h>k} N_h)``, drawn on the log scale as LCMCR
   does so that tiny weights do not underflow;
4. the probability of being missed by every list, ``p0 = sum_k nu_k prod_j (1 - lambda[j, k])``;
5. the number of unseen people ``n0 ~ NegativeBinomial(n, 1 - p0)`` (failures before ``n`` successes),
   which is the full conditional under ``p(N) ∝ 1/N``, redrawn until ``n0 <= 20 n`` as LCMCR >= 0.4 does;
6. their class counts ``Multinomial(n0, nu_k prod_j (1 - lambda[j, k]) / p0)``;
7. ``alpha ~ Gamma(a + K - 1, rate = b - log nu_K)``.

As in LCMCR, the chain starts from a 500-iteration warm-up with ``alpha`` fixed at ``0.3 / K`` and then
relabels the classes by decreasing weight.

The random draws come from :mod:`~darkfigure.estimate._variates` (a xoshiro256++ generator and exact
variate algorithms compiled with the sampler; NumPy's ``Generator`` costs several times more per draw
inside numba).  Two implementations make exactly the same sequence of draws from a generator state:
:func:`sample_chain` (compiled with numba, the one darkfigure uses) and :func:`sample_chain_numpy` (plain
NumPy and Python loops, the benchmark's baseline), which the tests check.  Two draws use a cheaper exact
method than the generic one: the lambda of an empty class, Beta(1, 1), is one uniform; the stick-breaking
``V_k ~ Beta(1, b)`` of an empty class is drawn by inversion from one uniform, on the log scale.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from ..exceptions import EstimationError
from ._variates import (
    beta,
    log_standard_gamma,
    multinomial,
    negative_binomial,
    seed_state,
    standard_gamma,
    uniform,
)

__all__ = ["INIT_UNSEEN_FACTOR", "N0_MAX_FACTOR", "WARMUP", "ChainDraws", "default_jobs",
           "run_chains", "sample_chain", "sample_chain_numpy", "seed_state", "shutdown_workers"]

WARMUP = 500
"""Warm-up iterations (alpha fixed) before burn-in, as in LCMCR's initialisation."""

# A guard, not part of the model: when every list is (numerically) certain to miss people, the negative
# binomial for the unseen count would have a success probability of 0.  Clamping keeps the chain finite;
# such a posterior is reported as it is (huge N), never silently truncated in ordinary data.
_MIN_P_SEEN = 1e-12

N0_MAX_FACTOR = 20
"""LCMCR (>= 0.4) keeps ``n0 <= 20 n`` by redrawing the negative binomial (a truncated prior on N)."""

# Redraws before giving up and setting n0 to the bound (reached only when p0 is ~1, i.e. the data say
# nothing about N; LCMCR would loop for ever there).
_MAX_REDRAWS = 1000

INIT_UNSEEN_FACTOR = 10
"""Dispersed start used by the evidence runs: ``init_unseen = 10 n`` unseen people, all in the last class.

The default start is LCMCR's (``n0 = 0``).  On UK 2013 and the Netherlands tables the posterior is
multimodal and a chain stays in the region it first reaches for 10^5 iterations or more; starting far
above (10 n) instead of far below lets one check where the chains go from the other side (see
docs/methods/latent_class.md).  The target posterior is the same whatever the start."""


# --------------------------------------------------------------------------------------------- numba
# error_model="numpy": no zero-division check (and exception path) on every float division, which costs
# ~20% in the gamma and beta draws; a division by zero here yields inf/NaN, which the code guards where it
# can happen by rounding (the multinomial's conditional probabilities).
@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _beta_counts(st, a1, a0):
    # Beta(1 + a1, 1 + a0) for counts a1, a0 >= 0; for an empty class Beta(1, 1) is the uniform, one draw
    # instead of two gammas.
    if a1 == 0 and a0 == 0:
        return uniform(st)
    return beta(st, 1.0 + a1, 1.0 + a0)


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _log_beta_one(st, b):
    # (log V, log(1 - V)) for V ~ Beta(1, b): 1 - V = U^(1/b) with U uniform (P(1 - V <= x) = x^b), so
    # log(1 - V) = log(U) / b, and log V = log(1 - exp(log(1 - V))) computed stably (log1mexp)
    l1v = math.log(uniform(st)) / b
    if l1v > -0.6931471805599453:
        return math.log(-math.expm1(l1v)), l1v
    return math.log1p(-math.exp(l1v)), l1v


@numba.njit(cache=True, error_model="numpy", forceinline=True)
def _logaddexp(x, y):
    # numpy.logaddexp's formula (stable, and the same rounding as the baseline)
    if x == y:
        return x + math.log(2.0)
    d = x - y
    if d > 0:
        return x + math.log1p(math.exp(-d))
    return y + math.log1p(math.exp(d))


@numba.njit(cache=True, error_model="numpy")
def _class_probs_cells(cells, lam, nu, probs, ptot, qt):
    # probs[m, k] = nu_k prod_j p(x_mj | lambda_jk) (not normalised), ptot[m] = its sum over k
    # qt[j, 1, k] = lambda[j, k], qt[j, 0, k] = 1 - lambda[j, k]: indexing by the pattern's bit instead of
    # branching on it, and the inner loop over classes, let the compiler vectorise.  Same multiplication
    # order as the NumPy baseline (list 0, 1, ..., then nu), so that both give identical draws.
    M, J = cells.shape
    K = nu.shape[0]
    for j in range(J):
        for k in range(K):
            qt[j, 1, k] = lam[j, k]
            qt[j, 0, k] = 1.0 - lam[j, k]
    for m in range(M):
        c = cells[m, 0]
        for k in range(K):
            probs[m, k] = qt[0, c, k]
        for j in range(1, J):
            c = cells[m, j]
            for k in range(K):
                probs[m, k] *= qt[j, c, k]
        tot = 0.0
        for k in range(K):
            probs[m, k] *= nu[k]
            tot += probs[m, k]
        ptot[m] = tot


@numba.njit(cache=True, error_model="numpy")
def _iterate(st, cells, freq, n_obs, lam, nu, log_nu, count_mk, count0k, countk, aux1, probs, ptot,
             probs0, qt, cum, state, a_alpha, b_alpha, update_alpha):
    # state: [alpha, n0, k_star] as float64
    M, J = cells.shape
    K = nu.shape[0]
    alpha = state[0]
    n0 = int(state[1])
    # 1. class counts of the observed patterns
    _class_probs_cells(cells, lam, nu, probs, ptot, qt)
    for m in range(M):
        multinomial(st, freq[m], probs[m], ptot[m], count_mk[m], cum)
    # class sizes (the unseen included)
    kstar = 0
    for k in range(K):
        countk[k] = count0k[k]
    for m in range(M):
        for k in range(K):
            countk[k] += count_mk[m, k]
    for k in range(K):
        if countk[k] > 0:
            kstar += 1
    # 2. lambda; the people of class k not on list j are countk[k] - aux1[j, k]
    for j in range(J):
        for k in range(K):
            aux1[j, k] = 0
    for m in range(M):
        for j in range(J):
            if cells[m, j] == 1:
                for k in range(K):
                    aux1[j, k] += count_mk[m, k]
    for j in range(J):
        for k in range(K):
            a1 = aux1[j, k]
            a0 = countk[k] - a1
            lam[j, k] = _beta_counts(st, a1, a0)
    # 3. stick-breaking weights
    n_acc = 0
    l_acc = 0.0
    for k in range(K - 1):
        n_acc += countk[k]
        if countk[k] == 0:
            # an empty class: V ~ Beta(1, b) by inversion, one uniform instead of two gamma draws
            lv, l1v = _log_beta_one(st, alpha + (n0 + n_obs - n_acc))
        else:
            ga = log_standard_gamma(st, 1.0 + countk[k])
            gb = log_standard_gamma(st, alpha + (n0 + n_obs - n_acc))
            ls = _logaddexp(ga, gb)
            lv = ga - ls
            l1v = gb - ls
        log_nu[k] = lv + l_acc
        l_acc += l1v
        nu[k] = math.exp(log_nu[k])
    log_nu[K - 1] = l_acc
    nu[K - 1] = math.exp(l_acc)
    # 4. probability of being missed by every list, per class
    p_zero = 0.0
    for k in range(K):
        p = 1.0 - lam[0, k]
        for j in range(1, J):
            p *= 1.0 - lam[j, k]
        p *= nu[k]
        probs0[k] = p
        p_zero += p
    # 5. number of unseen people
    p_seen = 1.0 - p_zero
    if p_seen < _MIN_P_SEEN:
        p_seen = _MIN_P_SEEN
    n0 = negative_binomial(st, n_obs, p_seen)
    tries = 1
    while n0 > N0_MAX_FACTOR * n_obs:
        # LCMCR (>= 0.4) redraws until n0 <= 20 n: its prior on N is 1/N truncated at 21 n
        if tries >= _MAX_REDRAWS:
            n0 = N0_MAX_FACTOR * n_obs
            break
        n0 = negative_binomial(st, n_obs, p_seen)
        tries += 1
    # 6. their classes
    multinomial(st, n0, probs0, p_zero, count0k, cum)
    # 7. alpha
    if update_alpha:
        alpha = standard_gamma(st, a_alpha + K - 1.0) / (b_alpha - log_nu[K - 1])
    state[0] = alpha
    state[1] = n0
    state[2] = kstar


@numba.njit(cache=True, error_model="numpy")
def _initial_lambda(cells, freq, K):
    M, J = cells.shape
    n = 0
    for m in range(M):
        n += freq[m]
    lam = np.empty((J, K))
    for j in range(J):
        s = 0
        for m in range(M):
            if cells[m, j] == 1:
                s += freq[m]
        for k in range(K):
            lam[j, k] = s / n
    return lam


@numba.njit(cache=True, error_model="numpy")
def _initial_nu(K):
    # LCMCR's start: four big classes sharing 90% of the weight, the rest spread thinly.
    nu = np.empty(K)
    if K > 4:
        for k in range(K):
            nu[k] = 0.25 * 0.9 if k < 4 else 0.1 / (K - 4)
    else:
        for k in range(K):
            nu[k] = 1.0 / K
    return nu


@numba.njit(cache=True, error_model="numpy")
def sample_chain(st, cells, freq, K, a_alpha, b_alpha, burn_in, n_samples, thin, init_unseen=0):
    """Run one chain (numba). Returns ``(N, alpha, k_star)`` arrays of length ``n_samples``.

    ``st`` is the generator state (:func:`seed_state`, updated in place); ``cells`` the ``(M, J)`` 0/1
    patterns (int8), ``freq`` their counts (int64); ``init_unseen`` the number of unseen people at the
    start (LCMCR: 0), all placed in the last class (see :data:`INIT_UNSEEN_FACTOR`).
    """
    M, J = cells.shape
    n_obs = 0
    for m in range(M):
        n_obs += freq[m]
    lam = _initial_lambda(cells, freq, K)
    nu = _initial_nu(K)
    log_nu = np.log(nu)
    count_mk = np.zeros((M, K), dtype=np.int64)
    count0k = np.zeros(K, dtype=np.int64)
    countk = np.zeros(K, dtype=np.int64)
    aux1 = np.zeros((J, K), dtype=np.int64)
    probs = np.empty((M, K))
    ptot = np.empty(M)
    probs0 = np.empty(K)
    qt = np.empty((J, 2, K))
    cum = np.empty(K)
    state = np.array([0.3 / K, float(init_unseen), 0.0])
    count0k[K - 1] = init_unseen
    for _ in range(WARMUP):
        _iterate(st, cells, freq, n_obs, lam, nu, log_nu, count_mk, count0k, countk, aux1, probs, ptot,
                 probs0, qt, cum, state, a_alpha, b_alpha, False)
    # relabel the classes by decreasing weight (stable order), as LCMCR does after its warm-up; plain loops
    # rather than argsort and fancy indexing, which are slow for numba to compile
    order = np.arange(K)
    for i in range(1, K):
        o = order[i]
        j = i - 1
        while j >= 0 and nu[order[j]] < nu[o]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = o
    lam_old = lam.copy()
    nu_old = nu.copy()
    log_nu_old = log_nu.copy()
    c0_old = count0k.copy()
    for k in range(K):
        o = order[k]
        nu[k] = nu_old[o]
        log_nu[k] = log_nu_old[o]
        count0k[k] = c0_old[o]
        for j in range(J):
            lam[j, k] = lam_old[j, o]
    out_n = np.empty(n_samples, dtype=np.int64)
    out_alpha = np.empty(n_samples)
    out_k = np.empty(n_samples, dtype=np.int64)
    for _ in range(burn_in):
        _iterate(st, cells, freq, n_obs, lam, nu, log_nu, count_mk, count0k, countk, aux1, probs, ptot,
                 probs0, qt, cum, state, a_alpha, b_alpha, True)
    for s in range(n_samples):
        for _ in range(thin):
            _iterate(st, cells, freq, n_obs, lam, nu, log_nu, count_mk, count0k, countk, aux1, probs,
                     ptot, probs0, qt, cum, state, a_alpha, b_alpha, True)
        out_n[s] = n_obs + int(state[1])
        out_alpha[s] = state[0]
        out_k[s] = int(state[2])
    return out_n, out_alpha, out_k


# --------------------------------------------------------------------------------------------- numpy
def sample_chain_numpy(st: npt.NDArray[np.uint64], cells: npt.NDArray[np.int8], freq: npt.NDArray[np.int64],
                       K: int, a_alpha: float, b_alpha: float, burn_in: int, n_samples: int,
                       thin: int, init_unseen: int = 0
                       ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The same sampler written plainly with vectorised NumPy and Python loops (the benchmark's baseline).

    Each variate comes from the same compiled routine (:mod:`~darkfigure.estimate._variates`), called in
    the same order as in :func:`sample_chain`, so both return identical draws from the same state ``st``:
    the test of the compiled chain's bookkeeping.  The variates have their own tests against SciPy.
    """
    x = cells.astype(bool)
    xf = x.astype(float)
    n_obs = int(freq.sum())
    lam = np.repeat((xf * freq[:, None]).sum(axis=0)[:, None] / n_obs, K, axis=1)
    nu = np.where(np.arange(K) < 4, 0.25 * 0.9, 0.1 / max(K - 4, 1)) if K > 4 else np.full(K, 1.0 / K)
    log_nu = np.log(nu)
    count0k = np.zeros(K, dtype=np.int64)
    count0k[K - 1] = init_unseen
    alpha, n0, kstar = 0.3 / K, int(init_unseen), 0
    out_n = np.empty(n_samples, dtype=np.int64)
    out_alpha = np.empty(n_samples)
    out_k = np.empty(n_samples, dtype=np.int64)

    def draw_multinomial(n: int, probs: npt.NDArray[np.float64], total: float) -> npt.NDArray[np.int64]:
        out = np.zeros(K, dtype=np.int64)
        multinomial(st, n, np.ascontiguousarray(probs), total, out, np.empty(K))
        return out

    def iterate(update_alpha: bool) -> None:
        nonlocal lam, nu, log_nu, count0k, alpha, n0, kstar
        # 1. p(k | x_m) for every pattern, then one multinomial per pattern
        like = np.where(x[:, :, None], lam[None, :, :], 1.0 - lam[None, :, :]).prod(axis=1) * nu
        tot = np.cumsum(like, axis=1)[:, -1]  # sequential sum: the same rounding as the numba loop
        count_mk = np.stack([draw_multinomial(int(f), p, float(t))
                             for f, p, t in zip(freq, like, tot, strict=True)])
        # 2. lambda
        aux1 = (xf.T @ count_mk).astype(np.int64)
        aux0 = ((1.0 - xf).T @ count_mk + count0k).astype(np.int64)
        lam = np.empty((x.shape[1], K))
        for j in range(x.shape[1]):
            for k in range(K):
                lam[j, k] = _beta_counts(st, int(aux1[j, k]), int(aux0[j, k]))
        # 3. stick-breaking weights
        countk = count0k + count_mk.sum(axis=0)
        kstar = int((countk > 0).sum())
        n_acc = 0
        l_acc = 0.0
        log_nu = np.empty(K)
        for k in range(K - 1):
            n_acc += int(countk[k])
            if countk[k] == 0:
                lv, l1v = _log_beta_one(st, alpha + (n0 + n_obs - n_acc))
            else:
                ga = log_standard_gamma(st, 1.0 + float(countk[k]))
                gb = log_standard_gamma(st, alpha + (n0 + n_obs - n_acc))
                ls = np.logaddexp(ga, gb)
                lv, l1v = ga - ls, gb - ls
            log_nu[k] = lv + l_acc
            l_acc += l1v
        log_nu[K - 1] = l_acc
        nu = np.exp(log_nu)
        # 4-6. the unseen
        probs0 = nu * (1.0 - lam).prod(axis=0)
        p_zero = float(np.cumsum(probs0)[-1])
        p_seen = max(1.0 - p_zero, _MIN_P_SEEN)
        n0 = int(negative_binomial(st, n_obs, p_seen))
        tries = 1
        while n0 > N0_MAX_FACTOR * n_obs:
            if tries >= _MAX_REDRAWS:
                n0 = N0_MAX_FACTOR * n_obs
                break
            n0 = int(negative_binomial(st, n_obs, p_seen))
            tries += 1
        count0k = draw_multinomial(n0, probs0, p_zero)
        # 7. alpha
        if update_alpha:
            alpha = float(standard_gamma(st, a_alpha + K - 1.0)) / (b_alpha - log_nu[K - 1])

    for _ in range(WARMUP):
        iterate(False)
    order = np.argsort(-nu, kind="mergesort")
    lam, nu, log_nu, count0k = lam[:, order], nu[order], log_nu[order], count0k[order]
    for _ in range(burn_in):
        iterate(True)
    for s in range(n_samples):
        for _ in range(thin):
            iterate(True)
        out_n[s] = n_obs + n0
        out_alpha[s] = alpha
        out_k[s] = kstar
    return out_n, out_alpha, out_k


# --------------------------------------------------------------------------------------------- chains
@dataclass(frozen=True)
class ChainDraws:
    """Saved draws of several chains: arrays of shape ``(chains, n_samples)``."""

    N: npt.NDArray[np.int64]
    alpha: npt.NDArray[np.float64]
    k_star: npt.NDArray[np.int64]
    seconds: tuple[float, ...]


def _run_one(args: tuple[np.random.SeedSequence, npt.NDArray[np.int8], npt.NDArray[np.int64], int, float,
                         float, int, int, int, str, int]
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64], float]:
    import time

    seq, cells, freq, K, a, b, burn_in, n_samples, thin, backend, init_unseen = args
    # CPU seconds of this worker: honest on a shared, loaded machine (wall time counts waiting)
    t0 = time.process_time()
    st = seed_state(seq)
    if backend == "numba":
        n, al, ks = sample_chain(st, cells, freq, K, a, b, burn_in, n_samples, thin, init_unseen)
    elif backend == "numpy":
        n, al, ks = sample_chain_numpy(st, cells, freq, K, a, b, burn_in, n_samples, thin, init_unseen)
    else:
        raise ValueError(f"unknown backend {backend!r}")
    return n, al, ks, time.process_time() - t0


_POOL: ProcessPoolExecutor | None = None
_POOL_SIZE = 0


def _warm_worker() -> None:
    # Runs once in each new worker: loads the compiled sampler from numba's cache (~1 s) with the argument
    # types that _run_one uses, so that no chain's time includes it.
    cells = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int8)
    sample_chain(seed_state(0), cells, np.array([3, 2, 1], dtype=np.int64), 2, 0.25, 0.25, 1, 1, 1, 0)


def _worker_pool(n_jobs: int) -> ProcessPoolExecutor:
    """The worker processes of :func:`run_chains`, started on first use and kept for later calls.

    Starting workers costs seconds (a new process, importing numpy and numba, loading the compiled
    sampler), as much as a whole chain on small tables; a fit with strata calls :func:`run_chains` once
    per stratum.  Reusing warm workers makes 4 chains on 2 workers cost about twice one chain.
    """
    global _POOL, _POOL_SIZE
    if _POOL is None or n_jobs != _POOL_SIZE:
        import multiprocessing as mp

        shutdown_workers()
        # Never plain fork: native threads that Python cannot see (DuckDB after linkage, BLAS pools) make
        # a forked child crash now and then (seen as BrokenProcessPool in the demo). forkserver forks the
        # workers from a clean single-threaded server process; spawn where it does not exist.
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        _POOL = ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context(method),
                                    initializer=_warm_worker)
        _POOL_SIZE = n_jobs
    return _POOL


def shutdown_workers() -> None:
    """Stop the worker processes kept by :func:`run_chains` (they also stop when Python exits)."""
    global _POOL, _POOL_SIZE
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)
    _POOL, _POOL_SIZE = None, 0


def run_chains(cells: npt.NDArray[np.int8], freq: npt.NDArray[np.int64], *, K: int, a: float, b: float,
               burn_in: int, n_samples: int, thin: int, seeds: Sequence[np.random.SeedSequence],
               n_jobs: int = 1, backend: str = "numba",
               init_unseen: int | Sequence[int] = 0) -> ChainDraws:
    """Run one chain per seed, in ``n_jobs`` worker processes (``1``: in this process; the workers are kept
    for later calls, see :func:`shutdown_workers`).

    Each chain has its own ``SeedSequence``, so the draws do not depend on ``n_jobs``.  ``init_unseen``:
    unseen people at the start (0 = LCMCR's start; see :data:`INIT_UNSEEN_FACTOR`), one number for every
    chain or one per chain.
    """
    starts = [int(init_unseen)] * len(seeds) if isinstance(init_unseen, int | np.integer) \
        else [int(x) for x in init_unseen]
    if len(starts) != len(seeds):
        raise ValueError("init_unseen needs one start per chain")
    cells = np.ascontiguousarray(cells, dtype=np.int8)
    freq = np.ascontiguousarray(freq, dtype=np.int64)
    jobs = [(s, cells, freq, int(K), float(a), float(b), int(burn_in), int(n_samples), int(thin), backend,
             start) for s, start in zip(seeds, starts, strict=True)]
    n_jobs = max(1, min(int(n_jobs), len(jobs)))
    if n_jobs == 1:
        outs = [_run_one(j) for j in jobs]
    else:
        try:
            outs = list(_worker_pool(n_jobs).map(_run_one, jobs))
        except BrokenProcessPool as err:
            shutdown_workers()  # a worker died: the next call starts a fresh pool
            # The usual cause: a script without an ``if __name__ == "__main__":`` guard, which every worker
            # re-runs on start-up (forkserver); say so instead of leaving a multiprocessing traceback.
            raise EstimationError(
                f"a worker process running the latent-class chains stopped ({len(jobs)} chains, {n_jobs} "
                "workers); from a script, put the call under 'if __name__ == \"__main__\":', or use n_jobs=1"
            ) from err
    return ChainDraws(
        N=np.stack([o[0] for o in outs]),
        alpha=np.stack([o[1] for o in outs]),
        k_star=np.stack([o[2] for o in outs]),
        seconds=tuple(o[3] for o in outs),
    )


def default_jobs(chains: int) -> int:
    """Worker processes to use by default: one per chain, at most one per CPU."""
    return max(1, min(chains, os.cpu_count() or 1))
