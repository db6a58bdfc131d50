"""Bootstrap intervals for log-linear MSE that repeat the model selection in every replicate.

A model-conditional interval ignores that the model was chosen from the same data; Chan, Silverman &
Vincent (2021) show that this makes stepwise intervals too narrow, and propose re-running the whole
selection on bootstrap samples with a BCa interval (Efron 1987; DiCiccio & Efron 1996).  This module
does that, as SparseMSE's ``estimatepopulation``:

* non-parametric: resample the ``n`` observed cases (multinomial with the observed pattern frequencies);
* parametric: draw the number observed as ``Binomial(round(N_hat), 1 - p0_hat)`` and the patterns as
  multinomial with the fitted cell means (SparseMSE's ``BICandbootstrapsim`` scheme);
* BCa: bias correction ``z0 = Phi^-1(share of replicates below the estimate)`` and acceleration
  ``a = sum n_c r_c^3 / (6 (sum n_c r_c^2)^(3/2))`` from the delete-one-case jackknife over patterns
  (``r_c`` = mean minus the estimate without one case of pattern ``c``); quantiles of R's type 8.

Examples
--------
>>> reps = np.arange(1.0, 11.0)
>>> percentile_quantiles(reps, [0.1, 0.5]).round(4).tolist()   # R: quantile(1:10, c(.1, .5), type = 8)
[1.3667, 5.5]
>>> bca_quantiles(reps, 5.5, 0.0, [0.5]).round(4).tolist()     # no bias, no acceleration: the median
[5.5]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ..exceptions import EstimationError, NotEstimableError
from ._fast import stepwise_log_dark
from .loglinear import Model, _Selection, _Table, select_model

__all__ = ["BootstrapResult", "bca_quantiles", "bootstrap_interval", "percentile_quantiles"]


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap interval and diagnostics."""

    lower: float
    upper: float | None
    replicates: npt.NDArray[np.float64]
    ahat: float
    z0: float
    n_nonfinite: int
    method: str
    kind: str
    level: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (the replicates are summarised, not listed)."""
        r = self.replicates[np.isfinite(self.replicates)]
        return {"method": self.method, "interval": self.kind, "replicates": int(self.replicates.size),
                "nonfinite": self.n_nonfinite, "ahat": self.ahat, "z0": self.z0,
                "replicate_median": float(np.median(r)) if r.size else None,
                "replicate_sd": float(np.std(r, ddof=1)) if r.size > 1 else None}


def _q8(x: npt.NDArray[np.float64], probs: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """R's ``quantile(type = 8)`` (median-unbiased), which SparseMSE uses."""
    p = np.clip(np.asarray(probs, dtype=float), 0.0, 1.0)
    return np.quantile(np.sort(x), p, method="median_unbiased")


def bca_quantiles(reps: npt.NDArray[np.float64], estimate: float, ahat: float,
                  alphas: Sequence[float]) -> npt.NDArray[np.float64]:
    """BCa quantiles of the replicates (SparseMSE ``bcaconfvalues``)."""
    share = float(np.mean(reps < estimate))
    share = min(max(share, 0.5 / reps.size), 1 - 0.5 / reps.size)  # keep z0 finite
    z0 = float(stats.norm.ppf(share))
    za = stats.norm.ppf(np.asarray(alphas, dtype=float))
    za0 = za + z0
    zq = stats.norm.cdf(z0 + za0 / (1 - ahat * za0))
    return _q8(reps, zq)


def percentile_quantiles(reps: npt.NDArray[np.float64], alphas: Sequence[float]) -> npt.NDArray[np.float64]:
    """Plain percentile quantiles (type 8)."""
    return _q8(reps, alphas)


def _estimate(tab: _Table, counts: npt.NDArray[np.float64], select: str, terms: Model,
              pthresh: float) -> float:
    if select == "stepwise" and pthresh > 0:
        # compiled path; it hands back to the general one when a linear program is needed
        status, logdark = stepwise_log_dark(tab.x_all, counts, tab.t, pthresh)
        if status == 0 and math.isfinite(logdark):
            return float(counts.sum()) + math.exp(min(logdark, 700.0))
    t2 = tab.with_counts(counts, tol=1e-10)
    try:
        return select_model(t2, select, terms, pthresh).estimate
    except NotEstimableError:
        return math.nan


def jackknife_acceleration(tab: _Table, select: str, terms: Model, pthresh: float) -> float:
    """SparseMSE's jackknife acceleration: one case removed from each observed pattern in turn."""
    counts = tab.counts
    jack = np.zeros(len(counts))
    for c in np.flatnonzero(counts > 0):
        cc = counts.copy()
        cc[c] -= 1
        jack[c] = _estimate(tab, cc, select, terms, pthresh)
    w = counts
    ok = np.isfinite(jack) | (w == 0)
    if not ok.all():
        w = np.where(ok, w, 0.0)
        jack = np.where(ok, jack, 0.0)
    jr = np.sum(w * jack) / np.sum(w) - jack
    den = 6 * np.sum(w * jr**2) ** 1.5
    return float(np.sum(w * jr**3) / den) if den > 0 else 0.0


def bootstrap_interval(tab: _Table, select: str, terms: Model, pthresh: float, sel: _Selection, *, B: int,
                       method: str = "nonparametric", kind: str = "bca", level: float = 0.95,
                       seed: int | None = None) -> BootstrapResult:
    """Bootstrap the whole estimation (selection included) ``B`` times and return the interval."""
    if B < 2:
        raise EstimationError("bootstrap needs at least 2 replicates")
    rng = np.random.default_rng(seed)
    nobs = round(tab.nobs)
    if method == "nonparametric":
        draws = rng.multinomial(nobs, tab.counts / tab.nobs, size=B)
    elif method == "parametric":
        mu = np.where(sel.fit.mask, sel.fit.mu, 0.0)
        n_hat = sel.fit.estimate(tab.nobs)
        n_draw = rng.binomial(round(n_hat), min(1.0, mu.sum() / n_hat), size=B)
        p = mu / mu.sum()
        draws = np.stack([rng.multinomial(int(k), p) for k in n_draw])
    else:
        raise EstimationError("bootstrap method must be 'parametric' or 'nonparametric'")
    reps = np.array([_estimate(tab, d.astype(np.float64), select, terms, pthresh) for d in draws])
    finite = np.isfinite(reps)
    good = reps[finite]
    if good.size < 2:
        raise NotEstimableError("the bootstrap replicates gave no finite estimates")
    a = (1 - level) / 2
    est = sel.estimate
    if kind == "bca":
        ahat = jackknife_acceleration(tab, select, terms, pthresh)
        lo, hi = bca_quantiles(good, est, ahat, [a, 1 - a])
    elif kind == "percentile":
        ahat = 0.0
        lo, hi = percentile_quantiles(good, [a, 1 - a])
    else:
        raise EstimationError("bootstrap interval must be 'bca' or 'percentile'")
    share = min(max(float(np.mean(good < est)), 0.5 / good.size), 1 - 0.5 / good.size)
    return BootstrapResult(lower=float(lo), upper=float(hi) if math.isfinite(hi) else None, replicates=reps,
                           ahat=ahat, z0=float(stats.norm.ppf(share)), n_nonfinite=int((~finite).sum()),
                           method=method, kind=kind, level=level)
