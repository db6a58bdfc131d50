"""``darkfigure estimate auto``: the recommended default, chosen from the honesty study.

The study (:mod:`darkfigure.estimate.study`; table in ``docs/methods/loglinear.md``) compares the coverage
of the 95% intervals of every log-linear approach on scenarios with list dependence, heterogeneous
catchability, sparse lists and small totals. Intervals conditional on one selected model (stepwise, best
AIC/BIC) cover the truth far less often than they claim; intervals that carry the model uncertainty do
better. ``auto`` therefore averages over models (:data:`AUTO_CHOICE`), and widens the pool beyond the two-
list log-linear models: Rcapture's heterogeneity models ``Mth`` (Chao, Poisson, Darroch, Gamma) are Poisson
log-linear models on the same cells, so their AIC is directly comparable (checked: ``Mt`` has the same AIC
as the independence model, and our ``Mth-darroch`` column gives Rcapture's AIC). The Poisson, Darroch and
Gamma heterogeneity columns are also combined with two-list terms (chosen by the same AIC search), so that
heterogeneity and list dependence can be modelled together. Under heterogeneous catchability — where every
two-list model is biased low — these models take weight and the mixture interval widens. The estimate is the
median of the AIC-weighted mixture of the pooled models' sampling distributions; the interval is the
weighted mixture of their log-normal sampling distributions for the unseen count (``se`` of the Rcapture
models by the delta method from their ``stderr``). ``bootstrap=B`` adds a non-parametric percentile
bootstrap of the whole procedure. The alternatives are listed side by side in ``result_.models`` (entries
whose ``kind`` is ``"alternative"``), so a reader sees how much the number depends on the method.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from ..exceptions import DarkfigureError
from ..histories import CaptureHistories
from ._base import BasePopulationEstimator
from ._result import EstimateResult, ModelFit, ResultWarning
from .identifiability import term_name
from .loglinear import _UNBOUNDED_FACTOR, LogLinearMSE, _akaike_weights, _mixture_interval, _Table

__all__ = ["AUTO_CHOICE", "AutoMSE"]

#: Rcapture models added to the averaging pool (heterogeneity)
HETEROGENEITY_MODELS = ("Mth-chao", "Mth-poisson", "Mth-darroch", "Mth-gamma")

#: The approach ``auto`` uses (see the module docstring and the coverage table for why).
AUTO_CHOICE: Mapping[str, Any] = {"select": "average",
                                  "pool": ("loglinear two-list models", *HETEROGENEITY_MODELS),
                                  "bootstrap_interval": "percentile", "bootstrap_method": "nonparametric"}

#: Alternatives fitted and shown next to the chosen estimate.
ALTERNATIVES: Mapping[str, Mapping[str, Any]] = {
    "stepwise (SparseMSE, normal interval)": {"select": "stepwise"},
    "best AIC model (normal interval)": {"select": "aic"},
    "best BIC model (normal interval)": {"select": "bic"},
    "independence model (normal interval)": {"select": "none"},
}


class AutoMSE(BasePopulationEstimator):
    """Recommended population-size estimate with the alternatives alongside.

    Parameters
    ----------
    level : float
        Interval level.
    bootstrap : int
        Bootstrap replicates for the chosen approach (0 = the model-averaged analytic interval only).
    random_state : int or None
        Seed (recorded).
    alternatives : bool
        Also fit and list the alternative methods.
    criterion : {"aic", "bic"}
        Weights of the pooled models (AIC: the default, best coverage in the study; BIC: narrower intervals,
        lower coverage under dependence + heterogeneity).

    Examples
    --------
    >>> h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 40, (0, 1, 0): 30, (0, 0, 1): 20,
    ...                                                 (1, 1, 0): 6, (0, 1, 1): 3, (1, 0, 1): 4})
    >>> r = AutoMSE(bootstrap=0).fit(h).result_
    >>> r.method, r.estimate > r.observed
    ('auto', True)
    """

    def __init__(self, level: float = 0.95, bootstrap: int = 0, random_state: int | None = None,
                 alternatives: bool = True, criterion: str = "aic") -> None:
        self.level = level
        self.bootstrap = bootstrap
        self.random_state = random_state
        self.alternatives = alternatives
        self.criterion = criterion

    def fit(self, histories: CaptureHistories) -> AutoMSE:
        """Fit; ``results_`` holds one result per stratum for stratified input."""
        self.random_state_ = (int(np.random.SeedSequence().entropy % (2**31))  # type: ignore[operator]
                              if self.random_state is None and self.bootstrap > 0 else self.random_state)
        if histories.is_stratified:
            self.results_ = [self._fit_one(h, lab) for lab, h in histories.by_stratum()]
            self.result_ = self._fit_one(histories.pooled(), None)
        else:
            self.result_ = self._fit_one(histories, None)
            self.results_ = [self.result_]
        return self

    def _fit_one(self, h: CaptureHistories, stratum: str | None) -> EstimateResult:
        base = LogLinearMSE(select="average", level=self.level).fit(h).result_
        if stratum is not None:
            base = replace(base, stratum=stratum)
        if not base.estimable or base.estimate is None:
            return self._decorate(base, h)
        nobs = float(h.observed)
        pool = _pool(h, base, self.level)
        est, lower, upper, weights = _combine(pool, nobs, self.level, self.criterion)
        extra = dict(base.extra)
        extra["interval_method"] = "model-averaged mixture over log-linear and heterogeneity models"
        warnings = [w for w in base.warnings if w.code != "unbounded_upper"]
        if self.bootstrap > 0:
            rng = np.random.default_rng(self.random_state_)
            cells, counts = h.full_table()
            reps = []
            for draw in rng.multinomial(int(nobs), counts / nobs, size=int(self.bootstrap)):
                keep = draw > 0
                try:
                    hb = CaptureHistories(h.lists, cells[keep], draw[keep].astype(np.int64))
                    rb = LogLinearMSE(select="average", level=self.level).fit(hb).result_
                    if rb.estimable:
                        reps.append(_combine(_pool(hb, rb, self.level), float(hb.observed), self.level,
                                             self.criterion)[0])
                except DarkfigureError:
                    continue
            good = np.array([x for x in reps if math.isfinite(x)])
            if good.size >= 10:
                a = (1 - self.level) / 2
                extra["model_conditional_interval"] = [lower, upper]
                lower, upper = (float(v) for v in np.quantile(good, [a, 1 - a], method="median_unbiased"))
                extra["interval_method"] += (f"; percentile bootstrap, {good.size} of {self.bootstrap} "
                                             "replicates")
        if not math.isfinite(upper) or upper > _UNBOUNDED_FACTOR * nobs:
            extra["upper_computed"] = upper if math.isfinite(upper) else None
            upper_opt: float | None = None
            warnings.append(ResultWarning(
                "unbounded_upper",
                f"The data put no useful upper limit on the total: the {self.level:.0%} interval is "
                f"{lower:,.0f} or more. Report it as a lower bound only."))
        else:
            upper_opt = upper
        models = []
        for entry, w in zip(pool, weights, strict=True):
            mf = entry.fit
            models.append(ModelFit(model=mf.model, estimate=mf.estimate, aic=mf.aic, bic=mf.bic,
                                   deviance=mf.deviance, df=mf.df, weight=float(w), lower=mf.lower,
                                   upper=mf.upper, extra={**dict(mf.extra), "kind": "candidate"}))
        models.sort(key=lambda m: -(m.weight or 0.0))
        r = replace(base, estimate=est, lower=lower, upper=upper_opt, models=tuple(models),
                    warnings=tuple(warnings), extra=extra)
        return self._decorate(r, h)

    def _decorate(self, r: EstimateResult, h: CaptureHistories) -> EstimateResult:
        alts: list[ModelFit] = []
        warnings = list(r.warnings)
        if self.alternatives and r.estimable:
            for name, kw in ALTERNATIVES.items():
                try:
                    a = LogLinearMSE(level=self.level, **kw).fit(h).result_
                except DarkfigureError:
                    continue
                if not a.estimable:
                    alts.append(ModelFit(model=name, estimate=None, extra={"kind": "alternative"}))
                    continue
                alts.append(ModelFit(model=name, estimate=a.estimate, aic=a.extra.get("AIC"),
                                     bic=a.extra.get("BIC"), deviance=a.extra.get("deviance"),
                                     df=a.extra.get("df"), lower=a.lower, upper=a.upper,
                                     extra={"kind": "alternative", "terms": list(a.model or ())}))
            try:
                from .classical import ChaoLowerBound

                c = ChaoLowerBound(level=self.level).fit(h).result_
                alts.append(ModelFit(model="Chao lower bound (heterogeneity)", estimate=c.estimate,
                                     lower=c.lower, upper=c.upper, extra={"kind": "alternative"}))
            except (DarkfigureError, ImportError):
                pass
            ests = [a.estimate for a in alts if a.estimate]
            if r.estimate and ests and (max(ests) > 2 * r.estimate or min(ests) < r.estimate / 2):
                warnings.append(ResultWarning(
                    "method_sensitivity",
                    f"Other reasonable methods give totals from {min(ests):,.0f} to {max(ests):,.0f} "
                    f"(see the alternatives); the data cannot pin the total down well."))
        models = tuple(ModelFit(**{**m.__dict__, "extra": {**dict(m.extra), "kind": "candidate"}})
                       for m in r.models) + tuple(alts)
        extra = dict(r.extra)
        extra["auto_choice"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in AUTO_CHOICE.items()} \
            | {"bootstrap": self.bootstrap}
        return replace(r, method="auto", models=models, warnings=tuple(warnings), extra=extra)


@dataclass(frozen=True)
class _PoolEntry:
    fit: ModelFit
    theta: float  # log of the unseen count
    se: float


def _pool(h: CaptureHistories, base: EstimateResult, level: float) -> list[_PoolEntry]:
    """Candidate models of the log-linear average plus Rcapture's Mth heterogeneity models."""
    nobs = float(h.observed)
    z = float(stats.norm.ppf(0.5 + level / 2))
    out: list[_PoolEntry] = []
    for m in base.models:
        if m.estimate is None or m.lower is None or m.upper is None or m.aic is None:
            continue
        dark, lo, hi = m.estimate - nobs, m.lower - nobs, m.upper - nobs
        if dark <= 0 or lo <= 0 or hi <= 0:
            continue
        # the normal interval is exp(theta +- z se): recover se exactly
        out.append(_PoolEntry(m, math.log(dark), (math.log(hi) - math.log(lo)) / (2 * z)))
    try:
        from .classical import RcaptureModel
    except ImportError:  # pragma: no cover - the classical module is part of the package
        return out
    # heterogeneity + dependence: each Rcapture heterogeneity form (Poisson(2), Darroch, Gamma(3.5)) as an
    # extra column of the log-linear model, two-list terms chosen by the same AIC search; with no terms
    # these are exactly Rcapture's Mth models
    cells, counts = h.full_table()
    nbcap = cells.sum(axis=1).astype(float)
    for name, col in (("Mth-poisson", 2.0**nbcap - 1.0), ("Mth-darroch", nbcap**2 / 2.0),
                      ("Mth-gamma", -np.log(3.5 + nbcap) + math.log(3.5))):
        tab = _Table(cells, counts, het=col)
        try:
            if tab.ierr(()) > 0:
                continue
            _, cands, _ = tab.search("aic")
        except (DarkfigureError, np.linalg.LinAlgError):
            continue
        for c in cands:
            if not (math.isfinite(c.aic) and math.isfinite(c.se_log) and c.converged and c.dark > 0):
                continue
            terms = [term_name(tab.pairs[k], h.lists) for k in c.model]
            lo, hi = c.normal_interval(nobs, level)
            fit = ModelFit(model=" + ".join([name, *terms]), estimate=c.estimate(nobs), aic=c.aic, bic=c.bic,
                           deviance=c.deviance, df=c.df, lower=lo, upper=hi,
                           extra={"terms": terms, "family": "heterogeneity + two-list terms"})
            out.append(_PoolEntry(fit, math.log(c.dark), c.se_log))
    for name in ("Mth-chao",):  # Chao's form has constraints: fitted by the Rcapture implementation
        try:
            r = RcaptureModel(model=name, level=level, interval="wald").fit(h).result_
        except DarkfigureError:
            continue
        if r.estimate is None or any(w.code == "fit_problem" for w in r.warnings):
            continue
        se_n, aic = r.extra.get("stderr"), r.extra.get("AIC")
        dark = r.estimate - nobs
        if se_n is None or aic is None or not (dark > 0 and math.isfinite(se_n) and se_n > 0):
            continue
        se = se_n / dark  # delta method: se(log(N - n)) = se(N) / (N - n)
        theta = math.log(dark)
        out.append(_PoolEntry(ModelFit(model=name, estimate=r.estimate, aic=aic, bic=r.extra.get("BIC"),
                                       deviance=r.extra.get("deviance"), df=r.extra.get("df"),
                                       lower=nobs + math.exp(min(theta - z * se, 700.0)),
                                       upper=nobs + math.exp(min(theta + z * se, 700.0)),
                                       extra={"terms": [], "family": "rcapture heterogeneity"}),
                              theta, se))
    return out


def _combine(pool: list[_PoolEntry], nobs: float, level: float, criterion: str = "aic"
             ) -> tuple[float, float, float, npt.NDArray[np.float64]]:
    if criterion == "bic" and all(e.fit.bic is not None for e in pool):
        w = _akaike_weights([e.fit.bic for e in pool])  # type: ignore[misc]
    else:
        w = _akaike_weights([e.fit.aic for e in pool])  # type: ignore[misc]
    thetas = np.array([e.theta for e in pool])
    ses = np.array([e.se for e in pool])
    lo, hi = _mixture_interval(thetas, ses, w, nobs, level)
    # point estimate: the median of the same mixture (a weighted mean of totals is at the mercy of one
    # barely-identified model with an enormous estimate)
    est = _mixture_interval(thetas, ses, w, nobs, 1e-9)[0]
    return est, lo, hi, w
