"""Multinomial profile-likelihood interval for N (Rcapture's ``closedpCI.t``; Cormack 1992).

For a candidate total ``N`` the unobserved cell gets the count ``n0 = N - n`` and the same log-linear model
is fitted to all ``2**t`` cells (the unobserved history has only the intercept).  The Poisson deviance of
that fit, corrected to the multinomial likelihood with Cormack's term

    ct(N) = log(n0**n0 N! / (N**N n0!))      (Stirling's form when N > 100, as Rcapture does)

gives the profile log-likelihood ``l(N) = -(dev(N) - 2 ct(N)) / 2``.  Its maximiser is the multinomial
estimate; the interval is ``{N : l(N) >= l_max - chi2_{1, level} / 2}``.  When the likelihood does not
drop far enough above the estimate the upper limit is unbounded and we say so rather than invent one;
when it does not drop far enough below it, the lower limit is the number observed (as Rcapture reports).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats
from scipy.special import gammaln

from ._rcapture_design import fit_with_chao_constraint

__all__ = ["ProfileInterval", "cormack_term", "profile_interval", "profile_loglik"]


def cormack_term(n0: float, total: float) -> float:
    """Cormack's correction ``log(n0**n0 N! / (N**N n0!))`` from the Poisson to the multinomial likelihood.

    Follows Rcapture: exact (log-gamma) when ``N <= 100``, Stirling's formula ``n0 - N - log(n0 / N) / 2``
    when ``N > 100`` (with ``n0`` = 0 or 1 special-cased).  One deliberate difference: for a fractional
    ``0 < n0 < 1`` Stirling's formula for ``n0!`` diverges and puts a spurious spike in the profile
    likelihood just above the number observed, so there we use the exact value.

    Examples
    --------
    >>> import math
    >>> math.isclose(cormack_term(0.0, 3.0), math.log(6 / 27))  # log(3! / 3**3)
    True
    """
    if total > 100 and (n0 == 0 or n0 >= 1):
        if n0 == 0 or n0 == 1:
            return -total + 0.5 * math.log(2 * math.pi * total)
        return n0 - total - 0.5 * math.log(n0 / total)
    n0_log_n0 = 0.0 if n0 <= 0 else n0 * math.log(n0)
    return float(n0_log_n0 + gammaln(total + 1) - total * math.log(total) - gammaln(n0 + 1))


def profile_loglik(N: float, y: npt.NDArray[np.float64], X: npt.NDArray[np.float64], names: list[str],
                   n_core: int | None, start: npt.NDArray[np.float64] | None = None) -> float:
    """Multinomial profile log-likelihood at ``N`` (``y``/``X``: observable cells, no intercept column).

    ``start`` warm-starts the log-linear fit (coefficients of a nearby ``N``); with ``n0 = 0`` the fit is
    always started cold, as R does, because there the MLE of the intercept does not exist and the value
    depends on where IRLS stops.
    """
    return _profile_fit(N, y, X, names, n_core, start)[0]


def _profile_fit(N: float, y: npt.NDArray[np.float64], X: npt.NDArray[np.float64], names: list[str],
                 n_core: int | None, start: npt.NDArray[np.float64] | None = None
                 ) -> tuple[float, npt.NDArray[np.float64] | None]:
    n = float(y.sum())
    n0 = max(float(N) - n, 0.0)
    ya = np.append(y, n0)
    Xa = np.vstack([X, np.zeros((1, X.shape[1]))])
    fit, kept, _, warns = fit_with_chao_constraint(Xa, names, ya, n_core, start=None if n0 == 0 else start)
    if start is not None and (warns or not fit.converged):
        # a warm start that ends in trouble is discarded: redo the fit exactly as R does (cold)
        fit, kept, _, warns = fit_with_chao_constraint(Xa, names, ya, n_core)
    ll = -(fit.deviance - 2.0 * cormack_term(n0, float(ya.sum()))) / 2.0
    clean = len(kept) == len(names) and fit.converged and not warns and np.abs(fit.coef).max() < 50
    coef = fit.coef if clean else None
    return ll, coef


@dataclass(frozen=True)
class ProfileInterval:
    """Result of :func:`profile_interval`."""

    estimate: float
    lower: float
    upper: float | None
    level: float
    loglik_max: float
    lower_at_observed: bool
    upper_unbounded: bool
    searched_to: float


def profile_interval(y: npt.NDArray[np.float64], X: npt.NDArray[np.float64], names: list[str],
                     n_core: int | None, poisson_n: float, level: float = 0.95,
                     fmax_upper: float = 3.0, extend_upper: float = 1000.0) -> ProfileInterval:
    """Maximise the profile likelihood on ``(n, 1.5 N)`` and find the limits.

    The upper limit is first searched on ``(N_max, fmax_upper * N)`` (Rcapture's ``fmaxSupCL = 3``); where
    Rcapture gives up (it prints ``">3N"``) we keep widening the bracket geometrically up to
    ``extend_upper * N`` before declaring the upper limit unbounded.
    """
    n = float(y.sum())
    # A runaway Poisson fit can put N at 1e200; beyond a million times the observed count the search is
    # meaningless (and its arithmetic overflows), so the search range is capped there.
    cap = 1e6 * max(n, 1.0)
    poisson_n = min(poisson_n, cap) if math.isfinite(poisson_n) else cap
    with np.errstate(all="ignore"):
        return _profile_interval(y, X, names, n_core, n, poisson_n, level, fmax_upper,
                                 min(extend_upper * poisson_n, cap) / poisson_n if poisson_n > 0 else 1.0)


def _profile_interval(y: npt.NDArray[np.float64], X: npt.NDArray[np.float64], names: list[str],
                      n_core: int | None, n: float, poisson_n: float, level: float, fmax_upper: float,
                      extend_upper: float) -> ProfileInterval:
    warm: dict[str, npt.NDArray[np.float64] | None] = {"coef": None}

    def ll(N: float) -> float:
        # Warm starts save most IRLS iterations; only clean full-model fits are reused as starts.
        value, coef = _profile_fit(N, y, X, names, n_core, warm["coef"])
        if coef is not None:
            warm["coef"] = coef
        return value

    hi = max(1.5 * poisson_n, n + 1.0)
    res = optimize.minimize_scalar(lambda v: -ll(v), bounds=(n, hi), method="bounded",
                                   options={"xatol": 1e-5 * max(1.0, n)})
    n_max = float(res.x)
    l_max = -float(res.fun)
    # the bounded search never evaluates the end point itself: the maximum may sit exactly at n
    l_n = ll(n)
    if l_n > l_max:
        n_max, l_max = n, l_n
    target = l_max - stats.chi2.ppf(level, 1) / 2.0

    def g(v: float) -> float:
        return ll(v) - target

    lower_at_observed = False
    if n_max > n and g(n) < 0:
        lower = float(optimize.brentq(g, n, n_max, xtol=1e-6 * max(1.0, n), rtol=1e-9))
    else:
        lower, lower_at_observed = n, True

    upper: float | None = None
    base = max(poisson_n, n_max, n + 1.0)
    a = n_max
    b = fmax_upper * base
    searched = b
    while True:
        if g(b) < 0:
            upper = float(optimize.brentq(g, a, b, xtol=1e-6 * max(1.0, n), rtol=1e-9))
            break
        if b >= extend_upper * base:
            break
        a, b = b, min(b * 4.0, extend_upper * base)
        searched = b
    return ProfileInterval(estimate=n_max, lower=lower, upper=upper, level=level, loglik_max=l_max,
                           lower_at_observed=lower_at_observed, upper_unbounded=upper is None,
                           searched_to=searched)
