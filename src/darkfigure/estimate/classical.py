"""Classical population-size estimators: two lists (Lincoln–Petersen, Chapman), Chao's lower bound, and
Rcapture's closed-population family of log-linear models (M0, Mt, Mh, Mth, Mb, Mbh).

Every estimator follows the scikit-learn contract of :class:`~darkfigure.estimate.BasePopulationEstimator`:
``__init__`` stores parameters, ``fit(histories)`` validates and returns ``self`` with ``result_`` (a frozen
:class:`~darkfigure.estimate.EstimateResult`).  Warnings are carried *inside* the result as
:class:`~darkfigure.estimate.ResultWarning` (code + plain-language message); they are not emitted as Python
warnings, so a batch over strata or files never stops on them.

Warning codes used here:

``no_overlap``           the two lists have nobody in common (the data carry no information on N's size)
``unbounded_upper``      the interval has no finite upper limit (``upper`` is ``None``)
``lower_at_observed``    the likelihood does not fall enough below the estimate: the lower limit is the
                         number observed
``fit_problem``          the model fit has a problem (Rcapture's ``infoFit`` ≠ 0: no convergence, a large
                         asymptotic bias, a design that is not of full rank, another fitting warning)
``impossible_estimate``  the model gives an estimate below the number observed or not finite
``profile_unavailable``  the profile-likelihood interval is not defined for this model; another is used
``boundary_estimate``    the model puts the number missed by every list at essentially zero (a boundary
                         value: the maximum-likelihood estimate does not really exist)
``lower_bound_estimator`` the estimate is a lower bound under heterogeneous catchability (Chao)
``sparse_recaptures``    nobody was seen by exactly two lists (Chao's bias-corrected form is used)
``unbounded_estimate``   the estimate runs off to infinity (over a million times the number observed)
``estimate_from_profile`` the Poisson fit failed; the profile-likelihood maximiser is shown instead
``not_estimable``        nothing was observed

See ``docs/methods/classical.md`` for the equations, references and when to trust each estimator.

Examples
--------
>>> from darkfigure.histories import CaptureHistories
>>> h = CaptureHistories.from_dict(["A", "B"], {(1, 0): 60, (0, 1): 40, (1, 1): 20})
>>> round(Chapman().fit(h).result_.estimate, 2)
234.29
>>> LincolnPetersen().fit(h).n_hat_
240.0
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from .._provenance import Provenance
from ..exceptions import InputError
from ..histories import CaptureHistories
from ._base import BasePopulationEstimator
from ._profile import ProfileInterval, profile_interval
from ._rcapture_design import MODEL_SPECS, RcaptureFit, design, fit_model, rcapture_response
from ._result import EstimateResult, ModelFit, ResultWarning

__all__ = [
    "RCAPTURE_MODELS",
    "ChaoLowerBound",
    "Chapman",
    "LincolnPetersen",
    "RcaptureModel",
    "closedp",
]

#: Names of the closed-population models, in Rcapture's ``closedp`` order.
RCAPTURE_MODELS: tuple[str, ...] = (
    "M0", "Mt", "Mh-chao", "Mh-poisson", "Mh-darroch", "Mh-gamma",
    "Mth-chao", "Mth-poisson", "Mth-darroch", "Mth-gamma", "Mb", "Mbh",
)
assert tuple(MODEL_SPECS) == RCAPTURE_MODELS

_TWO_LIST_MODELS = ("M0", "Mt", "Mb")  # what Rcapture fits when there are only two occasions


# ---------------------------------------------------------------------------------------------- helpers
def _check_level(level: float) -> float:
    try:
        lv = float(level)
    except (TypeError, ValueError):
        raise InputError("level must be a number between 0 and 1, e.g. 0.95") from None
    if not 0.0 < lv < 1.0:
        raise InputError("level must be between 0 and 1 (exclusive), e.g. 0.95")
    return lv


def _check_histories(histories: Any, who: str) -> CaptureHistories:
    if not isinstance(histories, CaptureHistories):
        raise InputError(f"{who}.fit expects CaptureHistories (e.g. CaptureHistories.from_csv(path))")
    if histories.is_stratified:
        raise InputError(f"{who} fits one table at a time: this one is stratified; fit each stratum "
                         "(for label, h in histories.by_stratum(): ...) or pool them (histories.pooled())")
    return histories


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def _wald(n_hat: float, se: float, observed: int, level: float) -> tuple[float, float]:
    z = _z(level)
    return max(float(observed), n_hat - z * se), n_hat + z * se


def _loglog(n_hat: float, se: float, observed: int, level: float) -> tuple[float, float]:
    """Chao (1987) log-transformed interval on the unseen count ``f0 = N - n``; never below ``n``."""
    f0 = n_hat - observed
    if f0 <= 0 or not math.isfinite(se):
        return float(observed), float(observed) if f0 <= 0 else math.inf
    c = math.exp(_z(level) * math.sqrt(math.log(1.0 + se**2 / f0**2)))
    return observed + f0 / c, observed + f0 * c


def _provenance(histories: CaptureHistories, settings: dict[str, Any]) -> Provenance:
    return Provenance(input_sha256=histories.sha256, seed=None, settings=settings)


def _two_lists(histories: CaptureHistories, who: str) -> tuple[int, int, int]:
    if histories.n_lists != 2:
        raise InputError(
            f"{who} needs exactly 2 lists; this table has {histories.n_lists} "
            f"({', '.join(histories.lists)}). Collapse it to two lists first — e.g. 'on list "
            f"{histories.lists[0]}' against 'on any other list' — or use a multi-list method "
            "(RcaptureModel, or the log-linear models)."
        )
    pats, counts = histories.patterns, histories.counts
    n1 = int(counts[pats[:, 0] == 1].sum())
    n2 = int(counts[pats[:, 1] == 1].sum())
    m = int(counts[(pats[:, 0] == 1) & (pats[:, 1] == 1)].sum())
    return n1, n2, m


# ---------------------------------------------------------------------------------------------- two lists
class _TwoListEstimator(BasePopulationEstimator):
    _method = ""
    _label = ""

    def __init__(self, level: float = 0.95, interval: str = "wald") -> None:
        self.level = level
        self.interval = interval

    def _point(self, n1: int, n2: int, m: int) -> tuple[float | None, float]:  # pragma: no cover
        raise NotImplementedError

    def fit(self, histories: CaptureHistories) -> _TwoListEstimator:
        """Fit to a two-list table; returns ``self`` with ``result_``."""
        level = _check_level(self.level)
        if self.interval not in ("wald", "loglog"):
            raise InputError("interval must be 'wald' or 'loglog'")
        h = _check_histories(histories, type(self).__name__)
        n1, n2, m = _two_lists(h, type(self).__name__)
        self.n1_, self.n2_, self.m_ = n1, n2, m
        self.result_ = self._result(h, n1, n2, m, level)
        return self

    def _result(self, h: CaptureHistories, n1: int, n2: int, m: int, level: float) -> EstimateResult:
        observed = n1 + n2 - m
        warnings: list[ResultWarning] = []
        est, se = self._point(n1, n2, m)
        lower: float | None
        upper: float | None
        if m == 0:
            warnings.append(ResultWarning(
                "no_overlap",
                f"Lists {h.lists[0]} and {h.lists[1]} have nobody in common, so the data say nothing "
                "about how many people both missed: there is no finite upper limit and any point estimate is "
                "arbitrary."))
        if est is None:
            lower, upper = float(observed), None
            warnings.append(ResultWarning("unbounded_upper",
                                          "The interval has no finite upper limit; only the lower limit "
                                          "(the number observed) is reported."))
        else:
            lo, hi = (_wald if self.interval == "wald" else _loglog)(est, se, observed, level)
            lower, upper = lo, (hi if math.isfinite(hi) else None)
            if m == 0:
                upper = None
                warnings.append(ResultWarning("unbounded_upper",
                                              "The interval has no finite upper limit; only its lower limit "
                                              "is reported."))
        self.stderr_ = se
        mf = ModelFit(model=self._label, estimate=est, stderr=se if math.isfinite(se) else None,
                      lower=lower, upper=upper, extra={"n1": n1, "n2": n2, "m": m})
        return EstimateResult(
            method=self._method, estimate=est, lower=lower, upper=upper, level=level, observed=observed,
            lists=tuple(h.lists), model=self._label, models=(mf,), warnings=tuple(warnings),
            provenance=_provenance(h, {"level": level, "interval": self.interval}),
            estimable=est is not None,
            extra={"stderr": se if math.isfinite(se) else None, "n1": n1, "n2": n2, "m": m,
                   "interval": self.interval},
        )

    def _conf_int_at(self, level: float) -> tuple[float | None, float | None]:
        r = self._check_fitted()
        saved = self.level
        try:
            self.level = level
            alt = self._result(_two_list_table(r), self.n1_, self.n2_, self.m_, _check_level(level))
        finally:
            self.level = saved
        return alt.conf_int()


def _two_list_table(r: EstimateResult) -> CaptureHistories:
    """The two-list table behind a result (to recompute its interval at another level)."""
    n1, n2, m = r.extra["n1"], r.extra["n2"], r.extra["m"]
    return CaptureHistories.from_dict(list(r.lists), {(1, 0): n1 - m, (0, 1): n2 - m, (1, 1): m})


class LincolnPetersen(_TwoListEstimator):
    """Lincoln–Petersen estimator for two lists: ``N = n1 n2 / m``.

    Parameters
    ----------
    level : float
        Interval level.
    interval : {"wald", "loglog"}
        ``"wald"``: ``N ± z se`` with Seber's variance ``n1 n2 (n1 - m)(n2 - m) / m**3`` (lower limit not
        below the number observed); ``"loglog"``: Chao's (1987) log-transformed interval on ``N - n``.

    Notes
    -----
    Assumes the two lists are independent and everyone is equally catchable; biased upward for small
    ``m`` (use :class:`Chapman`).  Not estimable when ``m = 0``.

    Examples
    --------
    >>> from darkfigure.histories import CaptureHistories
    >>> h = CaptureHistories.from_dict(["A", "B"], {(1, 0): 60, (0, 1): 40, (1, 1): 20})
    >>> est = LincolnPetersen().fit(h)
    >>> est.n_hat_, [round(x) for x in est.conf_int()]
    (240.0, [166, 314])
    """

    _method = "lincoln-petersen"
    _label = "Lincoln-Petersen"

    def _point(self, n1: int, n2: int, m: int) -> tuple[float | None, float]:
        if m == 0:
            return None, math.inf
        var = n1 * n2 * (n1 - m) * (n2 - m) / m**3
        return n1 * n2 / m, math.sqrt(var)


class Chapman(_TwoListEstimator):
    """Chapman's nearly unbiased two-list estimator ``N = (n1 + 1)(n2 + 1)/(m + 1) - 1``.

    Parameters
    ----------
    level : float
        Interval level.
    interval : {"wald", "loglog"}
        ``"wald"``: ``N ± z se`` with Seber's (1970) variance
        ``(n1 + 1)(n2 + 1)(n1 - m)(n2 - m) / ((m + 1)**2 (m + 2))`` (lower limit not below the number
        observed); ``"loglog"``: Chao's (1987) log-transformed interval on ``N - n``.

    Notes
    -----
    When the lists do not overlap (``m = 0``) the estimate is still computed but the upper limit is
    reported as unbounded, with a warning.

    Examples
    --------
    >>> from darkfigure.histories import CaptureHistories
    >>> h = CaptureHistories.from_dict(["A", "B"], {(1, 0): 60, (0, 1): 40, (1, 1): 20})
    >>> est = Chapman(interval="loglog").fit(h)
    >>> round(est.n_hat_, 2), [round(x) for x in est.conf_int()]
    (234.29, [184, 325])
    """

    _method = "chapman"
    _label = "Chapman"

    def _point(self, n1: int, n2: int, m: int) -> tuple[float | None, float]:
        est = (n1 + 1) * (n2 + 1) / (m + 1) - 1
        var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
        return float(est), math.sqrt(var)


# ---------------------------------------------------------------------------------------------- Chao
class ChaoLowerBound(BasePopulationEstimator):
    """Chao's (1987) lower bound for N under heterogeneous catchability (model Mh).

    With ``f_k`` people seen by exactly ``k`` of the ``t`` lists and ``A = (t - 1)/t``:
    ``N = n + A f1**2 / (2 f2)``; the bias-corrected form ``n + A f1 (f1 - 1) / (2 (f2 + 1))`` is used when
    ``bias_corrected=True`` or ``f2 = 0``.  The interval is Chao's log-transformed interval on ``N - n``.

    Parameters
    ----------
    level : float
        Interval level.
    bias_corrected : bool
        Always use the bias-corrected form.

    Examples
    --------
    >>> from darkfigure.histories import CaptureHistories
    >>> h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 30, (0, 1, 0): 20, (0, 0, 1): 10,
    ...                                                   (1, 1, 0): 8, (0, 1, 1): 4, (1, 1, 1): 3})
    >>> est = ChaoLowerBound().fit(h)
    >>> round(est.n_hat_, 2), est.f_
    (175.0, {1: 60, 2: 12, 3: 3})
    """

    def __init__(self, level: float = 0.95, bias_corrected: bool = False) -> None:
        self.level = level
        self.bias_corrected = bias_corrected

    def fit(self, histories: CaptureHistories) -> ChaoLowerBound:
        """Fit; returns ``self`` with ``result_`` and ``f_`` (frequencies of capture counts)."""
        level = _check_level(self.level)
        h = _check_histories(histories, "ChaoLowerBound")
        t = h.n_lists
        k = h.patterns.sum(axis=1)
        f = {j: int(h.counts[k == j].sum()) for j in range(1, t + 1)}
        self.f_ = f
        self.result_ = self._result(h, f, level)
        return self

    def _result(self, h: CaptureHistories, f: dict[int, int], level: float) -> EstimateResult:
        t = h.n_lists
        n = h.observed
        a = (t - 1) / t
        f1, f2 = f.get(1, 0), f.get(2, 0)
        bc = self.bias_corrected or f2 == 0
        if not bc:
            r = f1 / f2
            f0 = a * f1**2 / (2 * f2)
            var = f2 * (a / 2 * r**2 + a**2 * r**3 + a**2 / 4 * r**4)
        else:
            f0 = a * f1 * (f1 - 1) / (2 * (f2 + 1))
            var = (a * f1 * (f1 - 1) / (2 * (f2 + 1)) + a**2 * f1 * (2 * f1 - 1) ** 2 / (4 * (f2 + 1) ** 2)
                   + a**2 * f1**2 * f2 * (f1 - 1) ** 2 / (4 * (f2 + 1) ** 4))
        est = n + f0
        se = math.sqrt(max(var, 0.0))
        lower, upper = _loglog(est, se, n, level)
        warnings = [ResultWarning(
            "lower_bound_estimator",
            "Chao's estimator is a lower bound: when some people are much harder to reach than others the "
            "true total can be larger than the interval suggests.")]
        if f2 == 0:
            warnings.append(ResultWarning(
                "sparse_recaptures",
                "Nobody was seen by exactly two lists, so the bias-corrected form was used; the estimate "
                "rests on very little information."))
        mf = ModelFit(model="Chao LB", estimate=est, stderr=se, lower=lower, upper=upper,
                      extra={"f": {str(j): c for j, c in f.items()}, "bias_corrected": bc})
        return EstimateResult(
            method="chao", estimate=est, lower=lower, upper=upper, level=level, observed=n,
            lists=tuple(h.lists), model="Chao LB", models=(mf,), warnings=tuple(warnings),
            provenance=_provenance(h, {"level": level, "bias_corrected": self.bias_corrected}),
            extra={"stderr": se, "f": {str(j): c for j, c in f.items()}, "bias_corrected": bc},
        )

    def _conf_int_at(self, level: float) -> tuple[float | None, float | None]:
        r = self._check_fitted()
        return _loglog(r.estimate or float(r.observed), float(r.extra["stderr"]), r.observed,
                       _check_level(level))


# ---------------------------------------------------------------------------------------------- Rcapture
_INFO_TEXT = {
    "converge": "the model fit did not converge (the maximum-likelihood estimate may not exist)",
    "bias is large": "the asymptotic bias of the estimate is large (over 10% of the estimate)",
    "not of full rank": "some model parameters cannot be estimated from these data (design not of full rank)",
    "numerically 0": "some fitted counts are numerically zero (the estimate sits on a boundary)",
    "boundary": "the fit stopped at a boundary value",
}


def _fit_problem_warning(fit: RcaptureFit) -> ResultWarning | None:
    if fit.info_fit == 0:
        return None
    parts: list[str] = []
    for key, text in _INFO_TEXT.items():
        if any(key in w for w in fit.warnings) and text not in parts:
            parts.append(text)
    if not parts:
        parts.append("the fitting routine reported a problem")
    return ResultWarning("fit_problem",
                         f"Model {fit.spec.name}: " + "; ".join(parts) +
                         f" (Rcapture infoFit code {fit.info_fit}). Read this estimate with care.")


def _model_fit(fit: RcaptureFit, lower: float | None = None, upper: float | None = None,
               selected: bool = False) -> ModelFit:
    def num(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return ModelFit(
        model=fit.spec.name, estimate=num(fit.estimate), aic=num(fit.aic), bic=num(fit.bic),
        deviance=num(fit.deviance), df=fit.df, stderr=num(fit.stderr), lower=lower, upper=upper,
        extra={"info_fit": fit.info_fit, "rcapture_name": fit.spec.rcapture_name, "bias": num(fit.bias),
               "fit_warnings": list(fit.warnings), "removed_eta": list(fit.removed_eta),
               "estimable": bool(math.isfinite(fit.estimate) and fit.estimate >= fit.n),
               "selected": selected},
    )


def _response(h: CaptureHistories) -> np.ndarray:
    return rcapture_response(h.patterns, h.counts)


def _check_t(h: CaptureHistories, model: str) -> None:
    t = h.n_lists
    if t == 2 and model not in _TWO_LIST_MODELS:
        raise InputError(f"model {model} needs at least 3 lists; with 2 lists use M0, Mt or Mb "
                         "(or the Chapman estimator)")
    if t > 16:
        raise InputError(f"{t} lists give 2**{t} capture histories: too many for the Rcapture models "
                         "(at most 16 lists)")


class RcaptureModel(BasePopulationEstimator):
    """One of Rcapture's closed-population models, fitted as a Poisson log-linear model.

    Parameters
    ----------
    model : str
        One of :data:`RCAPTURE_MODELS`: ``M0`` (equal catchability), ``Mt`` (list effects; independence),
        ``Mh-*`` (heterogeneous catchability: Chao lower bound, Poisson(2), Darroch, Gamma(3.5)),
        ``Mth-*`` (both), ``Mb`` / ``Mbh`` (behavioural response; meaningful only when lists are ordered
        occasions).
    level : float
        Interval level.
    interval : {"profile", "wald", "loglog"}
        ``"profile"``: Rcapture's multinomial profile-likelihood interval (``closedpCI.t``; not defined for
        Mb/Mbh, which fall back to ``"loglog"`` with a warning); ``"wald"``: ``N ± z se``;
        ``"loglog"``: Chao's (1987) log-transformed interval.

    Attributes
    ----------
    result_ : EstimateResult
        ``method="rcapture"``, ``model=<name>``; ``models`` lists every closedp model side by side (the
        fitted one, with its interval, has ``extra["selected"] = True``); ``estimate`` is the Poisson-fit N
        (closedp's ``abundance``)
        and ``extra`` holds ``stderr``, ``deviance``, ``df``, ``AIC``, ``BIC``, ``info_fit``, ``bias`` and,
        for the profile interval, ``profile_estimate`` (the multinomial maximiser, closedpCI's
        ``abundance``).
    fit_ : RcaptureFit
        The underlying fit (coefficients, GLM).
    profile_ : ProfileInterval or None
        The profile-likelihood computation, when used.

    Examples
    --------
    >>> from darkfigure.histories import CaptureHistories
    >>> h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 30, (0, 1, 0): 20, (0, 0, 1): 10,
    ...                                                   (1, 1, 0): 8, (0, 1, 1): 4, (1, 1, 1): 3})
    >>> est = RcaptureModel("Mt").fit(h)
    >>> r = est.result_
    >>> r.method, r.model, round(r.estimate, 1), r.extra["df"]
    ('rcapture', 'Mt', 142.0, 3)
    """

    fit_: RcaptureFit | None
    profile_: ProfileInterval | None
    _side_by_side: bool = True  # closedp(intervals=True) turns it off: it builds the table itself

    def __init__(self, model: str = "Mt", level: float = 0.95, interval: str = "profile") -> None:
        self.model = model
        self.level = level
        self.interval = interval

    def fit(self, histories: CaptureHistories) -> RcaptureModel:
        """Fit the model; returns ``self`` with ``result_``, ``fit_`` and ``profile_``."""
        if self.model not in RCAPTURE_MODELS:
            raise InputError(f"unknown model {self.model!r}; choose one of {', '.join(RCAPTURE_MODELS)}")
        if self.interval not in ("profile", "wald", "loglog"):
            raise InputError("interval must be 'profile', 'wald' or 'loglog'")
        level = _check_level(self.level)
        h = _check_histories(histories, "RcaptureModel")
        _check_t(h, self.model)
        if h.observed == 0:
            self.fit_ = None
            self.profile_ = None
            self.result_ = EstimateResult(
                method="rcapture", estimate=None, lower=None, upper=None, level=level, observed=0,
                lists=tuple(h.lists), model=self.model, estimable=False,
                warnings=(ResultWarning("not_estimable", "Nobody was observed: there is nothing to estimate "
                                        "from."),),
                provenance=_provenance(h, self._settings(level)))
            return self
        self._histories = h
        self.fit_ = fit_model(MODEL_SPECS[self.model], _response(h))
        self.result_ = self._result(h, level)
        return self

    def _settings(self, level: float) -> dict[str, Any]:
        return {"model": self.model, "level": level, "interval": self.interval}

    def _interval(self, h: CaptureHistories, fit: RcaptureFit, level: float
                  ) -> tuple[float | None, float | None, ProfileInterval | None, list[ResultWarning], str]:
        """Interval limits, the profile computation, warnings and the interval kind actually used."""
        warnings: list[ResultWarning] = []
        kind = self.interval
        n = h.observed
        if kind == "profile" and fit.spec.m in ("Mb", "Mbh"):
            warnings.append(ResultWarning(
                "profile_unavailable",
                f"The profile-likelihood interval is not defined for the behavioural model {fit.spec.name}; "
                "the log-transformed (Chao 1987) interval is shown instead."))
            kind = "loglog"
        if kind == "profile" and fit.glm is not None and not fit.glm.full_rank:
            warnings.append(ResultWarning(
                "profile_unavailable",
                "Some parameters of this model cannot be estimated from these data, so no profile-likelihood "
                "interval can be computed; only the lower limit (the number observed) is given."))
            return float(n), None, None, warnings, kind
        if kind == "profile":
            t = h.n_lists
            X, names = design(fit.spec, t)
            n_core = None if fit.spec.h != "Chao" else (2 if fit.spec.m == "Mh" else t + 1)
            base = fit.estimate if math.isfinite(fit.estimate) and fit.estimate > n else float(n) + 1.0
            prof = profile_interval(_response(h), X, names, n_core, base, level=level)
            if prof.lower_at_observed:
                warnings.append(ResultWarning(
                    "lower_at_observed",
                    "The likelihood does not fall enough below the estimate: the lower limit is the number "
                    "observed."))
            if prof.upper is None:
                warnings.append(ResultWarning(
                    "unbounded_upper",
                    f"The likelihood stays high however large N is (searched up to {prof.searched_to:,.0f}): "
                    "the data cannot rule out a much larger population, so no upper limit is given — only "
                    "the lower limit is reported."))
            return prof.lower, prof.upper, prof, warnings, kind
        se = fit.stderr
        if not (math.isfinite(fit.estimate) and math.isfinite(se)):
            return float(n), None, None, warnings, kind
        lo, hi = (_wald if kind == "wald" else _loglog)(fit.estimate, se, n, level)
        return lo, (hi if math.isfinite(hi) else None), None, warnings, kind

    def _result(self, h: CaptureHistories, level: float) -> EstimateResult:
        fit = self.fit_
        assert fit is not None
        warnings: list[ResultWarning] = []
        fp = _fit_problem_warning(fit)
        if fp is not None:
            warnings.append(fp)
        estimable = math.isfinite(fit.estimate) and fit.estimate >= h.observed
        runaway = estimable and fit.estimate > 1e6 * max(h.observed, 1)
        if runaway:
            estimable = False
        if estimable and fit.spec.m not in ("Mb", "Mbh") and fit.estimate - h.observed < 0.5:
            # Rcapture's infoFit does not catch this: an intercept running to minus infinity "converges"
            # in deviance, and its tiny standard error looks like certainty when it is a failure.
            warnings.append(ResultWarning(
                "boundary_estimate",
                f"Model {fit.spec.name} puts the number of people missed by every list at essentially zero. "
                "That is a boundary value: its standard error means nothing and the interval must be read "
                "with care; it "
                "usually means the model cannot be estimated from these data, not that nobody was "
                "missed."))
        lower: float | None
        upper: float | None
        prof: ProfileInterval | None = None
        kind = self.interval
        recaptured = int(h.counts[h.patterns.sum(axis=1) >= 2].sum())
        if recaptured == 0:
            # nobody is on two lists: the likelihood keeps rising with N, the MLE is infinite and whatever
            # number IRLS stopped at means nothing; the lower limit is still informative
            warnings.append(ResultWarning(
                "no_overlap",
                "No one appears on more than one list, so the lists give no information on how many people "
                "they all missed: there is no estimate and no upper limit, only a lower limit."))
            estimable = False
            if self.interval == "profile" and fit.spec.m not in ("Mb", "Mbh"):
                lower, upper, prof, iw, kind = self._interval(h, fit, level)
                warnings.extend(w for w in iw if w.code != "unbounded_upper")
            else:
                lower, upper = float(h.observed), None
            upper = None
            warnings.append(ResultWarning("unbounded_upper", "The interval has no finite upper limit; only "
                                          "its lower limit is reported."))
        elif runaway:
            warnings.append(ResultWarning(
                "unbounded_estimate",
                f"Model {fit.spec.name}'s estimate grows without limit (over a million times the number "
                "observed): the maximum-likelihood estimate does not exist, so no estimate or upper limit "
                "is reported."))
            lower, upper = float(h.observed), None
            if self.interval == "profile" and fit.spec.m not in ("Mb", "Mbh"):
                lower, _, prof, iw, kind = self._interval(h, fit, level)
                warnings.extend(w for w in iw if w.code != "unbounded_upper")
            warnings.append(ResultWarning("unbounded_upper", "The interval has no finite upper limit; only "
                                          "its lower limit is reported."))
        elif not estimable:
            warnings.append(ResultWarning(
                "impossible_estimate",
                f"Model {fit.spec.name} gives an estimate that is not a possible population size "
                "(below the number observed, or not finite); it is not reported."))
            lower = upper = None
        else:
            lower, upper, prof, iw, kind = self._interval(h, fit, level)
            warnings.extend(iw)
        estimate: float | None = fit.estimate if estimable else None
        if (estimate is not None and prof is not None and lower is not None and upper is not None
                and not lower <= estimate <= upper):
            # the Poisson fit failed (its N is outside its own likelihood interval): show the profile
            # maximiser, which is consistent with the interval, and say so
            warnings.append(ResultWarning(
                "estimate_from_profile",
                f"The Poisson fit of model {fit.spec.name} failed (its estimate {estimate:,.0f} lies outside "
                "the likelihood interval); the estimate shown is the maximum of the profile likelihood."))
            estimate = prof.estimate
        self.profile_ = prof

        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        extra: dict[str, Any] = {
            "stderr": num(fit.stderr), "deviance": num(fit.deviance), "df": fit.df, "AIC": num(fit.aic),
            "BIC": num(fit.bic), "info_fit": fit.info_fit, "bias": num(fit.bias),
            "rcapture_name": fit.spec.rcapture_name, "interval": kind,
        }
        if prof is not None:
            extra["profile_estimate"] = prof.estimate
        if estimate is None or estimate != fit.estimate:
            extra["raw_estimate"] = num(fit.estimate)
        # every closedp model side by side (cheap: no intervals), the fitted one with its interval
        names = _TWO_LIST_MODELS if h.n_lists == 2 else RCAPTURE_MODELS
        if not self._side_by_side:
            names = (fit.spec.name,)
        y = _response(h)
        models = tuple(
            _model_fit(fit, lower, upper, selected=True) if m == fit.spec.name
            else _model_fit(fit_model(MODEL_SPECS[m], y))
            for m in names
        )
        return EstimateResult(
            method="rcapture", estimate=estimate, lower=lower, upper=upper,
            level=level, observed=h.observed, lists=tuple(h.lists), model=fit.spec.name,
            models=models, warnings=tuple(warnings),
            provenance=_provenance(h, self._settings(level)), estimable=estimable, extra=extra,
        )

    def _conf_int_at(self, level: float) -> tuple[float | None, float | None]:
        self._check_fitted()
        if self.fit_ is None:
            return (None, None)
        lv = _check_level(level)
        saved = self.profile_
        try:
            return self._result(self._histories, lv).conf_int()
        finally:
            self.profile_ = saved


def closedp(histories: CaptureHistories, intervals: bool = False, level: float = 0.95) -> list[ModelFit]:
    """Fit every closed-population model, as Rcapture's ``closedp.t`` table.

    Parameters
    ----------
    histories : CaptureHistories
        One unstratified table (2 lists: only M0, Mt and Mb are fitted, as Rcapture does).
    intervals : bool
        Also compute each model's profile-likelihood interval (log-transformed for Mb/Mbh); costs one
        profile search per model.
    level : float
        Interval level when ``intervals`` is true.

    Returns
    -------
    list of ModelFit
        In :data:`RCAPTURE_MODELS` order, with ``estimate`` (raw, as Rcapture reports it — it can be
        negative for a failing Mb/Mbh fit; ``extra["estimable"]`` says whether it is a possible size),
        ``stderr``, ``deviance``, ``df``, ``aic``, ``bic`` and ``extra`` keys ``info_fit``,
        ``rcapture_name``, ``bias``, ``fit_warnings``, ``removed_eta``, ``estimable``, ``selected``.

    Examples
    --------
    >>> from darkfigure.histories import CaptureHistories
    >>> h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 30, (0, 1, 0): 20, (0, 0, 1): 10,
    ...                                                   (1, 1, 0): 8, (0, 1, 1): 4, (1, 1, 1): 3})
    >>> table = closedp(h)
    >>> [m.model for m in table][:3], len(table)
    (['M0', 'Mt', 'Mh-chao'], 12)
    """
    h = _check_histories(histories, "closedp")
    if h.n_lists > 16:
        _check_t(h, "M0")
    names = _TWO_LIST_MODELS if h.n_lists == 2 else RCAPTURE_MODELS
    if h.observed == 0:
        return [ModelFit(model=m, estimate=None, extra={"estimable": False}) for m in names]
    if not intervals:
        y = _response(h)
        return [_model_fit(fit_model(MODEL_SPECS[m], y)) for m in names]
    out = []
    for m in names:
        est = RcaptureModel(m, level=level, interval="profile")
        est._side_by_side = False
        out.append(est.fit(h).result_.models[0])
    return out
