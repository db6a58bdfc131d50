"""Proportions with honest intervals, and quartile summaries.

A share reported without its sample size and interval ("60% end up in the sex trade") cannot be judged.
Every proportion here carries ``k`` (records with the answer), ``n`` (records *with information on the
question* — missing answers are excluded from the denominator and counted separately) and an interval.

Interval methods (``level`` = 1 - alpha, two-sided):

``wilson`` (default)
    Wilson score interval: ``(k + z²/2) / (n + z²) ± z / (n + z²) · sqrt(k(n-k)/n + z²/4)``.
    Good coverage for small ``n`` and shares near 0 or 1 (Brown, Cai & DasGupta 2001).
``clopper-pearson``
    The "exact" interval from Beta quantiles, ``B(α/2; k, n-k+1)`` to ``B(1-α/2; k+1, n-k)``, with 0 and 1
    at the boundaries; conservative.
``jeffreys``
    Equal-tailed interval of the Beta(k + ½, n - k + ½) posterior (Jeffreys prior). As in statsmodels'
    ``proportion_confint(method="jeffreys")`` the limits are not adjusted at ``k = 0`` or ``k = n``.

Quartiles use numpy's default (linear interpolation, Hyndman & Fan type 7), the same as R's default
``quantile``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..exceptions import InputError

__all__ = ["METHODS", "Proportion", "QuantileSummary", "proportion", "proportion_ci", "quantile_summary"]

METHODS = ("wilson", "clopper-pearson", "jeffreys")
_ALIASES = {"wilson": "wilson", "clopper-pearson": "clopper-pearson", "clopper_pearson": "clopper-pearson",
            "exact": "clopper-pearson", "beta": "clopper-pearson", "jeffreys": "jeffreys"}


def _method(method: str) -> str:
    try:
        return _ALIASES[method.lower()]
    except KeyError:
        raise InputError(f"unknown interval method {method!r}; choose one of {', '.join(METHODS)}") from None


def proportion_ci(k: int, n: int, method: str = "wilson", level: float = 0.95) -> tuple[float, float]:
    """Two-sided interval for a binomial proportion ``k / n``.

    Parameters
    ----------
    k : int
        Number of records with the answer (``0 <= k <= n``).
    n : int
        Number of records with information on the question (``n >= 1``).
    method : {"wilson", "clopper-pearson", "jeffreys"}
        Interval method (see the module docstring).
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    (lower, upper) : tuple of float

    Examples
    --------
    >>> lo, hi = proportion_ci(6, 10)
    >>> round(lo, 4), round(hi, 4)
    (0.3127, 0.8318)
    >>> proportion_ci(0, 10, method="clopper-pearson")[0]
    0.0
    """
    m = _method(method)
    if not (0 < level < 1):
        raise InputError("level must be between 0 and 1")
    if n < 1 or k < 0 or k > n:
        raise InputError("need 0 <= k <= n and n >= 1")
    alpha = 1 - level
    if m == "wilson":
        z = float(stats.norm.isf(alpha / 2))
        z2 = z * z
        centre = (k + z2 / 2) / (n + z2)
        half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4)
        # at k = 0 (k = n) the limit is exactly 0 (1); rounding would otherwise leave 1e-18
        lo = 0.0 if k == 0 else max(0.0, centre - half)
        hi = 1.0 if k == n else min(1.0, centre + half)
        return (lo, hi)
    if m == "clopper-pearson":
        lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
        hi = 1.0 if k == n else float(stats.beta.isf(alpha / 2, k + 1, n - k))
        return (lo, hi)
    lo, hi = stats.beta.interval(level, k + 0.5, n - k + 0.5)
    return (float(lo), float(hi))


@dataclass(frozen=True)
class Proportion:
    """A share with its sample size and interval.

    Parameters
    ----------
    k, n : int
        Numerator and denominator (records with information on the question).
    estimate, lower, upper : float
        ``k / n`` and the interval limits.
    method : str
        Interval method.
    level : float
        Interval level.
    missing : int
        Records with no information on the question (excluded from ``n``).
    """

    k: int
    n: int
    estimate: float
    lower: float
    upper: float
    method: str = "wilson"
    level: float = 0.95
    missing: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "n": self.n, "estimate": self.estimate, "lower": self.lower,
                "upper": self.upper, "method": self.method, "level": self.level, "missing": self.missing}

    def __str__(self) -> str:
        return (f"{self.estimate:.1%} ({self.level:.0%} CI {self.lower:.1%}–{self.upper:.1%}; "
                f"{self.k}/{self.n})")


def proportion(k: int, n: int, method: str = "wilson", level: float = 0.95, missing: int = 0) -> Proportion:
    """Return a :class:`Proportion` for ``k`` of ``n``.

    Examples
    --------
    >>> str(proportion(30, 50))
    '60.0% (95% CI 46.2%–72.4%; 30/50)'
    """
    lo, hi = proportion_ci(k, n, method=method, level=level)
    return Proportion(int(k), int(n), k / n, lo, hi, _method(method), level, int(missing))


@dataclass(frozen=True)
class QuantileSummary:
    """Median and quartiles of a numeric question (min and max are not kept: they identify people)."""

    n: int
    missing: int
    q1: float | None
    median: float | None
    q3: float | None
    mean: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "missing": self.missing, "q1": self.q1, "median": self.median, "q3": self.q3,
                "mean": self.mean}


def quantile_summary(values: Iterable[Any]) -> QuantileSummary:
    """Median, quartiles and mean of the non-missing values (numpy's linear quantiles, R type 7).

    Examples
    --------
    >>> s = quantile_summary([1, 2, 3, 4, None, 5])
    >>> (s.n, s.missing, s.q1, s.median, s.q3)
    (5, 1, 2.0, 3.0, 4.0)
    """
    vals: list[float] = []
    missing = 0
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            missing += 1
        else:
            vals.append(float(v))
    if not vals:
        return QuantileSummary(0, missing, None, None, None, None)
    a = np.asarray(vals)
    q1, med, q3 = (float(x) for x in np.quantile(a, [0.25, 0.5, 0.75]))
    return QuantileSummary(len(vals), missing, q1, med, q3, float(a.mean()))
