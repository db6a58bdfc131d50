"""Evidence behind the Ned_5 section of docs/methods/latent_class.md and its reference test.

Not run by ``make bench`` (only ``bench_*.py`` is). One core, sequential chains.  Sub-commands:

``tolerances``
    Re-derives the constants of ``tests/reference/test_lcmcr_reference.py`` for Ned_5: the spread over seeds
    of (median, 2.5%, 97.5%) of (a) the test-sized chain from LCMCR's start that stays in LCMCR's region
    (30,000 < N < 100,000), (b) an LCMCR-length chain (10,000 burn-in, 10,000 draws thinned by 10) from
    LCMCR's start that stays there, (c) the test-sized chain started from above (10 n unseen) that stays
    in the ~140,000 region (all draws above 80,000).  It also prints how many LCMCR-length chains from
    LCMCR's start stay in LCMCR's region.
``truncation``
    Runs the sampler with the unseen count bounded at 10 n, 20 n (LCMCR), 40 n and 80 n (a copy of the
    shipped module with ``N0_MAX_FACTOR`` changed, compiled in a temporary directory) from LCMCR's start
    and from above: does the ~140,000 region move with the bound?
``bridge``
    Posterior mass of each region by bridge sampling (Meng & Wong 1996).  With ``n0`` and the class
    memberships summed out, the posterior of ``theta = (lambda, V, alpha)`` is known up to a constant::

        p(theta | data) ∝ p(alpha) p(V | alpha) prod_m (p_m / (1 - p0))^{n_m} P(NB(n, 1 - p0) <= 20 n)

    (``sum_{n0} (1/N) C(N, n0) p0^n0 (1 - p0)^n`` is a negative-binomial normaliser, truncated as LCMCR
    truncates).  For a chain that stays in one region, a Gaussian in ``(logit lambda, logit V, log alpha)``
    is fitted to the first half of its draws and the optimal bridge is iterated on the second half; the
    estimate is the log of that region's (unnormalised) posterior mass.  A chain stays in one labelling of
    the classes; the stick-breaking prior is not exchangeable, so labellings differ in mass and regions are
    compared on chains whose dominant class is class 1 (the labelling that carries the most mass).  Needs
    the per-draw ``lambda`` and ``nu``: a copy of ``sample_chain`` that also returns them is made by a
    textual patch of the shipped module (the script stops with a message if the patch no longer applies).

``longrun``
    Six chains of 1.5 million iterations per K (half from each start): how often chains move between
    LCMCR's region and the ~140,000 one.
``classes [TABLE]``
    Class weights and capture probabilities of the posterior (K = 10) of a shared table (default Ned_5),
    for the explanation of the UK 2013 and Ned_5 disagreements in the methods doc.

Usage: ``.venv/bin/python benchmarks/lcmcr_ned5.py {tolerances|truncation|longrun|bridge|classes [TABLE]}``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from scipy import special, stats

from darkfigure.estimate import _lcmcr_sampler
from darkfigure.estimate._lcmcr_sampler import INIT_UNSEEN_FACTOR, sample_chain, seed_state
from darkfigure.histories import CaptureHistories

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DARKFIGURE_SHARED", ROOT.parent / "shared"))
A_ALPHA = B_ALPHA = 0.25

# the test-sized run of tests/reference/test_lcmcr_reference.py (keep in step with NED5_SETTINGS there)
TEST = {"burn_in": 30_000, "n_samples": 2_000, "thin": 10}
HIGH_TEST = {"burn_in": 15_000, "n_samples": 1_000, "thin": 10}
FULL = {"burn_in": 10_000, "n_samples": 10_000, "thin": 10}
LCMCR_REGION = (30_000, 100_000)
HIGH_REGION_MIN = 80_000


def _table() -> tuple[np.ndarray, np.ndarray]:
    h = CaptureHistories.from_csv(SHARED / "data" / "mse" / "Ned_5.csv")
    keep = h.counts > 0
    return (np.ascontiguousarray(h.patterns[keep].astype(np.int8)),
            np.ascontiguousarray(h.counts[keep].astype(np.int64)))


def _reference() -> dict[int, tuple[float, float, float]]:
    ref = json.loads((SHARED / "reference" / "mse_peers.json").read_text())
    return {int(e["settings"]["K"]): (e["estimate"], e["lower"], e["upper"]) for e in ref
            if e["package"] == "LCMCR" and e["dataset"] == "Ned_5"}


def in_lcmcr_region(draws: np.ndarray) -> bool:
    """All draws between 30,000 and 100,000: the chain stayed in the region LCMCR's chain reported.

    Not tighter: chains whose draws all stay below 80,000 have a median of 48,400 (sd 440 over 9 chains of
    LCMCR's length) against LCMCR's 50,298 at K = 10, so LCMCR's own chain had draws above 80,000.
    """
    return bool(draws.min() > LCMCR_REGION[0] and draws.max() < LCMCR_REGION[1])


def in_high_region(draws: np.ndarray) -> bool:
    """All draws above 80,000: the chain stayed in the ~140,000 region."""
    return bool(draws.min() > HIGH_REGION_MIN)


def _chain(K: int, seed: list[int], init: int, burn_in: int, n_samples: int, thin: int) -> np.ndarray:
    cells, freq = _table()
    st = seed_state(np.random.SeedSequence(seed))
    return sample_chain(st, cells, freq, K, A_ALPHA, B_ALPHA, burn_in, n_samples, thin, init)[0]


def _spread(rows: list[np.ndarray]) -> str:
    a = np.array(rows)
    return (f"{len(rows)} chains: mean (median, 2.5%, 97.5%) = {np.round(a.mean(axis=0)).tolist()}, "
            f"sd = {np.round(a.std(axis=0, ddof=1), 1).tolist()}")


def tolerances(seeds_test: int = 40, seeds_full: int = 40, seeds_high: int = 40) -> None:
    """Spread over seeds of the Ned_5 runs the reference test makes, and of LCMCR-length runs."""
    _, freq = _table()
    n = int(freq.sum())
    ref = _reference()
    print(f"load average {os.getloadavg()[0]:.1f}; one core, sequential chains")
    for K in (10, 5):
        t = time.process_time()
        test_rows, full_rows, high_rows = [], [], []
        for s in range(seeds_test):
            d = _chain(K, [7001, K, s], 0, **TEST)
            if in_lcmcr_region(d):
                test_rows.append(np.percentile(d, [50, 2.5, 97.5]))
        regions: Counter[str] = Counter()
        for s in range(seeds_full):
            d = _chain(K, [7002, K, s], 0, **FULL)
            if in_lcmcr_region(d):
                regions["LCMCR's region only"] += 1
                full_rows.append(np.percentile(d, [50, 2.5, 97.5]))
            elif d.min() > 90_000:
                regions["~140,000 region only"] += 1
            elif d.max() < 40_000:
                regions["transient (< 40,000) only"] += 1
            else:
                regions["visits several"] += 1
        for s in range(seeds_high):
            d = _chain(K, [7003, K, s], INIT_UNSEEN_FACTOR * n, **HIGH_TEST)
            if in_high_region(d):
                high_rows.append(np.percentile(d, [50, 2.5, 97.5]))
        print(f"K={K}  LCMCR {ref[K]}  ({time.process_time() - t:.0f} CPU s)")
        print(f"  test-sized, LCMCR's start, in LCMCR's region ({len(test_rows)}/{seeds_test}): "
              f"{_spread(test_rows)}")
        print(f"  LCMCR-length, LCMCR's start ({seeds_full} chains): {dict(regions)}")
        print(f"  LCMCR-length, in LCMCR's region: {_spread(full_rows)}")
        print(f"  test-sized, from 10 n, stayed above 80,000 ({len(high_rows)}/{seeds_high}): "
              f"{_spread(high_rows)}")


# ------------------------------------------------------------------------------ patched copies of the sampler
def _patched_module(name: str, replacements: list[tuple[str, str]], cache: str) -> ModuleType:
    src = Path(_lcmcr_sampler.__file__).read_text()
    for old, new in replacements:
        if old not in src:
            raise SystemExit(f"the sampler changed: cannot find {old!r}; update benchmarks/lcmcr_ned5.py")
        src = src.replace(old, new)
    path = Path(cache) / f"{name}.py"
    path.write_text(src)
    # a module of the package, so that the copy's relative imports (exceptions, variates) resolve
    full = f"darkfigure.estimate.{name}"
    spec = importlib.util.spec_from_file_location(full, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[full] = mod
    spec.loader.exec_module(mod)
    return mod


def truncation(seeds: int = 3) -> None:
    """Where chains sit when the unseen count is bounded at 10 n, 20 n, 40 n, 80 n."""
    cells, freq = _table()
    n = int(freq.sum())
    print(f"load average {os.getloadavg()[0]:.1f}; LCMCR-length chains (10,000 + 10,000 x 10)")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NUMBA_CACHE_DIR"] = cache
        for factor in (10, 20, 40, 80):
            mod = _patched_module(f"_lcmcr_trunc{factor}", [
                ("N0_MAX_FACTOR = 20\n", f"N0_MAX_FACTOR = {factor}\n")], cache)
            for K in (10, 5):
                for label, init in (("LCMCR's start", 0), ("from above", factor * n // 2)):
                    for s in range(seeds):
                        st = seed_state(np.random.SeedSequence([11, s]))
                        d = mod.sample_chain(st, cells, freq, K, A_ALPHA, B_ALPHA, 10_000, 10_000, 10,
                                             init)[0]
                        lo, med, hi = np.percentile(d, [2.5, 50, 97.5])
                        bound = (factor + 1) * n
                        print(f"bound {factor:>2} n (N <= {bound:,})  K={K:>2}  {label:<13} seed {s}: median "
                              f"{med:>9,.0f} [{lo:>9,.0f}, {hi:>9,.0f}]  share of draws above 0.9 x bound "
                              f"{np.mean(d > 0.9 * bound):.2f}", flush=True)


def _log_target(u: np.ndarray, cells: np.ndarray, freq: np.ndarray, K: int) -> np.ndarray:
    """Log posterior density of theta in u = (logit lambda, logit V, log alpha), up to a constant."""
    n = int(freq.sum())
    J = cells.shape[1]
    x = cells.astype(float)
    S = u.shape[0]
    ul = u[:, :J * K].reshape(S, J, K)
    uv = u[:, J * K:J * K + K - 1]
    la = u[:, -1]
    loglam, log1mlam = -np.logaddexp(0, -ul), -np.logaddexp(0, ul)
    logv, log1mv = -np.logaddexp(0, -uv), -np.logaddexp(0, uv)
    alpha = np.exp(la)
    lognu = np.empty((S, K))
    acc = np.zeros(S)
    for k in range(K - 1):
        lognu[:, k] = logv[:, k] + acc
        acc = acc + log1mv[:, k]
    lognu[:, K - 1] = acc
    lpk = np.einsum("mj,sjk->smk", x, loglam) + np.einsum("mj,sjk->smk", 1 - x, log1mlam)
    lpm = special.logsumexp(lpk + lognu[:, None, :], axis=2)
    lmiss = log1mlam.sum(axis=1)
    lseen = special.logsumexp(lognu + np.log(-np.expm1(lmiss)), axis=1)  # log(1 - p0), without cancellation
    loglik = (freq * lpm).sum(axis=1) - n * lseen
    log_trunc = stats.nbinom.logcdf(_lcmcr_sampler.N0_MAX_FACTOR * n, n, np.exp(lseen))
    logprior = (stats.gamma.logpdf(alpha, A_ALPHA, scale=1 / B_ALPHA) + (K - 1) * la
                + ((alpha[:, None] - 1) * log1mv).sum(axis=1))
    jacobian = (loglam + log1mlam).sum(axis=(1, 2)) + (logv + log1mv).sum(axis=1) + la
    return np.asarray(loglik + log_trunc + logprior + jacobian)


def _to_u(lam: np.ndarray, lognu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    # logit V_k = log nu_k - log sum_{h>k} nu_h: suffix sums of positive terms, no cancellation
    suffix = np.flip(np.logaddexp.accumulate(np.flip(lognu, axis=1), axis=1), axis=1)
    logit_v = lognu[:, :-1] - suffix[:, 1:]
    ul = special.logit(np.clip(lam, 1e-300, 1 - 1e-16)).reshape(lam.shape[0], -1)
    return np.concatenate([ul, logit_v, np.log(alpha)[:, None]], axis=1)


def bridge_log_mass(u: np.ndarray, cells: np.ndarray, freq: np.ndarray, K: int, seed: int = 0) -> float:
    """Optimal bridge sampling estimate of log ∫ target over the region the draws ``u`` come from."""
    half = u.shape[0] // 2
    fit, post = u[:half], u[half:]
    g = stats.multivariate_normal(fit.mean(axis=0), np.cov(fit.T) + 1e-9 * np.eye(u.shape[1]))
    prop = g.rvs(size=4 * post.shape[0], random_state=np.random.default_rng(seed))
    l1 = _log_target(post, cells, freq, K) - g.logpdf(post)
    l2 = _log_target(prop, cells, freq, K) - g.logpdf(prop)
    n1, n2 = l1.size, l2.size
    ls1, ls2 = np.log(n1 / (n1 + n2)), np.log(n2 / (n1 + n2))
    lr = float(np.median(l1))
    for _ in range(1000):
        num = special.logsumexp(l2 - np.logaddexp(ls1 + l2, ls2 + lr)) - np.log(n2)
        den = special.logsumexp(-np.logaddexp(ls1 + l1, ls2 + lr)) - np.log(n1)
        new = float(num - den)
        if abs(new - lr) < 1e-10:
            break
        lr = new
    return lr


def _sampler_with_params(cache: str) -> ModuleType:
    # a copy of the shipped sampler whose sample_chain also returns lambda and nu at every kept draw
    return _patched_module("_lcmcr_with_params", [
        ("    out_k = np.empty(n_samples, dtype=np.int64)\n    for _ in range(burn_in):",
         "    out_k = np.empty(n_samples, dtype=np.int64)\n    out_lam = np.empty((n_samples, J, K))\n"
         "    out_nu = np.empty((n_samples, K))\n    for _ in range(burn_in):"),
        # log_nu, not nu: the weights of empty classes can underflow to 0 in nu
        ("        out_k[s] = int(state[2])\n    return out_n, out_alpha, out_k\n",
         "        out_k[s] = int(state[2])\n        out_lam[s] = lam\n        out_nu[s] = log_nu\n"
         "    return out_n, out_alpha, out_k, out_lam, out_nu\n"),
    ], cache)


def classes(name: str = "Ned_5") -> None:
    """Class weights and capture probabilities (classes sorted by weight in each draw), K = 10.

    One chain from above (10 n unseen), 10,000 burn-in, 3,000 draws thinned by 10; for Ned_5 also one
    chain from LCMCR's start that stays in LCMCR's region.
    """
    h = CaptureHistories.from_csv(SHARED / "data" / "mse" / f"{name}.csv")
    keep = h.counts > 0
    cells = np.ascontiguousarray(h.patterns[keep].astype(np.int8))
    freq = np.ascontiguousarray(h.counts[keep].astype(np.int64))
    n = int(freq.sum())
    one = int(freq[cells.sum(axis=1) == 1].sum())
    print(f"{name}: n = {n:,}, on one list only {one:,} ({one / n:.0%}); lists {list(h.lists)}")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NUMBA_CACHE_DIR"] = cache
        mod = _sampler_with_params(cache)
        starts = [("from above", INIT_UNSEEN_FACTOR * n, 10_000)]
        if name == "Ned_5":
            starts.append(("LCMCR's start", 0, 40_000))
        for label, init, burn in starts:
            for s in range(20):
                st = seed_state(np.random.SeedSequence([3, s]))
                d, _, kstar, lam, lognu = mod.sample_chain(st, cells, freq, 10, A_ALPHA, B_ALPHA, burn,
                                                           3000, 10, init)
                if init > 0 or in_lcmcr_region(d):
                    break
            nu = np.exp(lognu)
            order = np.argsort(-nu, axis=1)
            nus = np.take_along_axis(nu, order, axis=1)
            lams = np.take_along_axis(lam, order[:, None, :], axis=2)
            miss = (1 - lams).prod(axis=1)
            share = nus * miss / (nus * miss).sum(axis=1, keepdims=True)
            lo, med, hi = np.percentile(d, [2.5, 50, 97.5])
            # log-likelihood of the observed table given that a person is seen: sum_m n_m log(p_m / (1 - p0))
            x = cells.astype(bool)
            pk = np.where(x[None, :, :, None], lam[:, None, :, :], 1 - lam[:, None, :, :]).prod(axis=2)
            loglik = (freq * np.log((pk * nu[:, None, :]).sum(axis=2))).sum(axis=1) - n * np.log(
                (nu * (1 - (1 - lam).prod(axis=1))).sum(axis=1))
            print(f"  {label}: N {med:,.0f} [{lo:,.0f}, {hi:,.0f}], occupied classes {kstar.mean():.1f}, "
                  f"P(unseen) {(nus * miss).sum(axis=1).mean():.3f}, conditional log-likelihood mean "
                  f"{loglik.mean():,.1f}")
            for k in range(3):
                print(f"    class {k + 1}: weight {nus[:, k].mean():.3f}, capture probabilities "
                      f"{' '.join(f'{v:.3f}' for v in lams[:, :, k].mean(axis=0))}, missed by all "
                      f"{miss[:, k].mean():.3f}, share of the unseen {share[:, k].mean():.2f}")


def longrun(chains: int = 6, draws: int = 15_000, thin: int = 100) -> None:
    """Chains of 1.5 million iterations (no burn-in), half from LCMCR's start, half from 10 n: moves between
    LCMCR's region and the ~140,000 one, with two thresholds (up above 110,000, down below 70,000) so
    that noise near one threshold is not counted."""
    _, freq = _table()
    n = int(freq.sum())
    print(f"load average {os.getloadavg()[0]:.1f}; {draws * thin:,} iterations per chain")
    for K in (10, 5):
        for c in range(chains):
            init = INIT_UNSEEN_FACTOR * n if c % 2 else 0
            t = time.process_time()
            d = _chain(K, [77, K, c], init, 0, draws, thin)
            high = np.empty(draws, dtype=bool)
            cur = bool(d[0] > 90_000)
            for i, x in enumerate(d):
                cur = x > 110_000 if not cur else not x < 70_000
                high[i] = cur
            up = int((high[1:] & ~high[:-1]).sum())
            down = int((~high[1:] & high[:-1]).sum())
            blocks = np.median(d.reshape(30, -1), axis=1) / 1000
            start = "from 10 n" if init else "LCMCR start"
            print(f"K={K:>2} chain {c} ({start}): share of draws in the ~140,000 region {high.mean():.2f}, "
                  f"moves up {up}, down {down}; medians of 30 blocks (thousands): "
                  f"{' '.join(f'{b:.0f}' for b in blocks)}  ({time.process_time() - t:.0f} CPU s)",
                  flush=True)


def bridge(per_region: int = 5, max_tries: int = 60) -> None:
    """Log posterior mass of the transient, LCMCR's and the ~140,000 region, K = 5 and 10."""
    cells, freq = _table()
    n = int(freq.sum())
    with tempfile.TemporaryDirectory() as cache:
        os.environ["NUMBA_CACHE_DIR"] = cache
        mod = _sampler_with_params(cache)
        regions = {
            "transient": (0, 10_000, lambda d: d.max() < 40_000),
            "LCMCR's": (0, 40_000, in_lcmcr_region),
            "~140,000": (INIT_UNSEEN_FACTOR * n, 10_000, lambda d: d.min() > 80_000),
        }
        print(f"load average {os.getloadavg()[0]:.1f}; 4,000 draws thinned by 10 per chain")
        for K in (5, 10):
            for label, (init, burn, keep) in regions.items():
                got = tries = 0
                while got < per_region and tries < max_tries:
                    st = seed_state(np.random.SeedSequence([43, K, tries, init]))
                    tries += 1
                    d, alpha, kstar, lam, lognu = mod.sample_chain(st, cells, freq, K, A_ALPHA, B_ALPHA,
                                                                   burn, 4000, 10, init)
                    if not keep(d):
                        continue
                    got += 1
                    dominant, count = Counter(np.argmax(lognu, axis=1).tolist()).most_common(1)[0]
                    share = count / lognu.shape[0]
                    u = _to_u(lam, lognu, alpha)
                    lm = bridge_log_mass(u, cells, freq, K)
                    lm_swapped = bridge_log_mass(u[::-1].copy(), cells, freq, K, seed=1)
                    lo, med, hi = np.percentile(d, [2.5, 50, 97.5])
                    print(f"K={K:>2} {label:<10} region: N {med:>8,.0f} [{lo:>8,.0f}, {hi:>8,.0f}]  "
                          f"classes {kstar.mean():.1f}  alpha {np.median(alpha):.2f}  dominant class "
                          f"{dominant + 1} ({share:.0%} of draws)  log mass {lm:.2f} "
                          f"(halves swapped {lm_swapped:.2f})", flush=True)


if __name__ == "__main__":
    commands: dict[str, Callable[..., object]] = {"tolerances": tolerances, "truncation": truncation,
                                                  "bridge": bridge, "classes": classes, "longrun": longrun}
    if sys.argv[1:2] and sys.argv[1] in commands:
        commands[sys.argv[1]](*sys.argv[2:3])
    else:
        raise SystemExit(__doc__)
