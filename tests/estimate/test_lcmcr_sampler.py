"""The LCMCR sampler's own draws (``estimate/_lcmcr_sampler.py``) and its worker processes.

The two draws the sampler makes by a cheaper exact method than the generic one (the lambda of an empty
class, Beta(1, 1), as one uniform; the stick-breaking weight Beta(1, b) of an empty class by inversion on
the log scale) are compared with SciPy's distributions; the generic variates have their own tests in
``test_variates.py``.  Seeds are fixed, so the tests are deterministic.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from scipy import stats

from darkfigure.estimate._lcmcr_sampler import _beta_counts, _log_beta_one, seed_state

R = 200_000  # draws per case: a 2% error in a scale parameter is caught
P_MIN = 1e-4  # smallest p-value accepted (fixed seeds: a deterministic check, not a flaky one)


@numba.njit
def _many_betas(st, a1, a0, reps):
    out = np.empty(reps)
    for r in range(reps):
        out[r] = _beta_counts(st, a1, a0)
    return out


@numba.njit
def _many_log_beta_one(st, b, reps):
    lv = np.empty(reps)
    l1v = np.empty(reps)
    for r in range(reps):
        lv[r], l1v[r] = _log_beta_one(st, b)
    return lv, l1v


BETA_CASES = [(0, 0), (0, 1), (0, 7), (0, 3000), (0, 10**6), (1, 0), (12, 0), (2500, 0), (1, 1), (3, 40),
              (700, 9000)]


@pytest.mark.parametrize(("a1", "a0"), BETA_CASES)
def test_beta_of_counts_matches_scipy(a1: int, a0: int) -> None:
    x = _many_betas(seed_state(3), a1, a0, R)
    dist = stats.beta(1 + a1, 1 + a0)
    assert ((x >= 0) & (x <= 1)).all()
    assert abs(x.mean() - dist.mean()) <= 5 * dist.std() / np.sqrt(R)
    assert stats.kstest(x, dist.cdf).pvalue > P_MIN


@pytest.mark.parametrize("b", [1e-3, 0.05, 0.3, 1.0, 2.5, 60.0, 4e5])
def test_log_stick_weight_of_an_empty_class_matches_beta_one_b(b: float) -> None:
    # V ~ Beta(1, b) drawn as (log V, log(1 - V)), both tested on the log scale: for small b, V is 1.0
    # and 1 - V is 0.0 in double precision for most draws, but their logs are not
    # -b log(1 - V) is Exp(1):
    lv, l1v = _many_log_beta_one(seed_state(9), b, R)
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
