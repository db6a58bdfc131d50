"""Log-linear multiple systems estimation with two-list interactions (as SparseMSE does it, and more).

The model: the expected count of capture pattern ``z`` (one 0/1 per list) is

    log mu_z = theta_0 + sum_i theta_i z_i + sum_{(i,j) in M} theta_ij z_i z_j,

fitted by Poisson maximum likelihood to the ``2**t - 1`` observable patterns (zero counts included).  The
unseen count is ``exp(theta_0)`` and the estimate of the total is ``N = n_obs + exp(theta_0)``.  A term
``(i, j)`` whose lists never share a case is handled as in SparseMSE (Chan, Silverman & Vincent 2021):
its parameter is fixed at minus infinity, i.e. every cell holding both lists is a structural zero and is
left out of the fit; AIC then counts the term as a parameter.

Model choice: ``"stepwise"`` reproduces SparseMSE's ``stepwisefit`` exactly (start from main effects; at each
cycle compute for every unused pair the one-sided Poisson p-value ``min(P(X <= n_ij), P(X >= n_ij))`` of its
observed overlap ``n_ij`` under the current fit, drop candidates whose model fails
:func:`~darkfigure.estimate.identifiability.check_identifiability`, add the smallest p-value if below
``pthresh``); ``"aic"``/``"bic"`` search the models by the criterion (all ``2**(t(t-1)/2)`` models up to
four lists, otherwise a forward-backward search); ``"average"`` averages the estimates of the candidate
models with smoothed-AIC weights (Buckland, Burnham & Augustin 1997) and takes the interval from the
weighted mixture of the models' log-normal sampling distributions; ``"none"`` fits ``terms``.

Intervals: ``"normal"`` (SparseMSE's normal interval on the log of the dark figure, conditional on the model),
``"profile"`` (profile likelihood for ``theta_0``), or a bootstrap that repeats the model selection in every
replicate (``bootstrap=B``; parametric or non-parametric, BCa or percentile) — the only one of these that
accounts for model choice (Chan, Silverman & Vincent 2021).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

from .._provenance import Provenance
from ..exceptions import EstimationError, NotEstimableError
from ..histories import CaptureHistories
from ._base import BasePopulationEstimator
from ._fast import all_pairs, design_matrix, fit_poisson, observed_full_rank
from ._result import EstimateResult, ModelFit, ResultWarning
from .identifiability import check_all_models, ident_arrays, parse_terms, term_name

__all__ = ["SELECT_METHODS", "LogLinearMSE"]

SELECT_METHODS = ("stepwise", "aic", "bic", "average", "none")
Model = tuple[int, ...]  # sorted indices into all_pairs(t)

# exhaustive search up to this many pairs (4 lists); beyond, forward-backward search (speed: 5 lists have
# 1024 models, too many to refit inside every bootstrap replicate)
_EXHAUSTIVE_MAX_PAIRS = 6
# an upper limit above this many times the observed count is reported as unbounded (upper = None)
_UNBOUNDED_FACTOR = 100.0


@dataclass
class _Fit:
    model: Model
    empty: tuple[int, ...]
    beta: npt.NDArray[np.float64]
    mu: npt.NDArray[np.float64]
    mask: npt.NDArray[np.bool_]
    deviance: float
    loglik: float
    aic: float
    bic: float
    df: int
    dark: float
    se_log: float
    converged: bool
    eff: tuple[int, ...] = ()

    def estimate(self, nobs: float) -> float:
        return nobs + self.dark

    def normal_interval(self, nobs: float, level: float) -> tuple[float, float]:
        z = stats.norm.ppf(0.5 + level / 2)
        b0 = float(self.beta[0])
        return (nobs + math.exp(min(b0 - z * self.se_log, 700.0)),
                nobs + math.exp(min(b0 + z * self.se_log, 700.0)))


class _Table:
    """One unstratified table with everything the fits share precomputed."""

    def __init__(self, cells: npt.NDArray[np.int8], counts: npt.ArrayLike,
                 ident_cache: dict[tuple[bytes, Model], int] | None = None, tol: float = 1e-12,
                 het: npt.NDArray[np.float64] | None = None) -> None:
        self.cells = np.asarray(cells, dtype=np.int8)
        self.t = self.cells.shape[1]
        self.pairs = all_pairs(self.t)
        self.npairs = len(self.pairs)
        x = design_matrix(self.cells, self.pairs)
        # optional heterogeneity columns (functions of the number of lists, 0 on the unseen cell) are always
        # in the model, between the main effects and the two-list terms
        self.nbase = 1 + self.t + (0 if het is None else het.reshape(len(x), -1).shape[1])
        if het is not None:
            x = np.hstack([x[:, : 1 + self.t], het.reshape(len(x), -1), x[:, 1 + self.t:]])
        self.x_all = np.ascontiguousarray(x)
        self.xmain = self.x_all[:, : self.nbase]
        self.xpair = self.x_all[:, self.nbase:]
        self.pairmask = self.xpair.astype(bool)
        self.tol = tol
        self.ident_cache = {} if ident_cache is None else ident_cache
        self._set_counts(counts)

    def _set_counts(self, counts: npt.ArrayLike) -> None:
        self.counts = np.ascontiguousarray(counts, dtype=np.float64)
        self.nobs = float(self.counts.sum())
        self.nstar = self.xpair.T @ self.counts
        obs = self.counts > 0
        self.support = np.packbits(obs).tobytes()
        self.x_obs = self.x_all[obs]
        self._fits: dict[Model, _Fit] = {}

    def with_counts(self, counts: npt.ArrayLike, tol: float | None = None) -> _Table:
        """A table on the same cells with other counts, sharing the design and the identifiability cache."""
        new = object.__new__(_Table)
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("_fits",)})
        if tol is not None:
            new.tol = tol
        new._set_counts(counts)
        return new

    def ierr(self, model: Model) -> int:
        key = (self.support, model)
        v = self.ident_cache.get(key)
        if v is None:
            cols = list(range(self.nbase)) + [self.nbase + k for k in model if self.nstar[k] > 0]
            if observed_full_rank(self.x_obs[:, cols]):
                v = 0  # fast path, see identifiability's module docstring
            else:
                v, _ = ident_arrays(self.cells, self.counts, [self.pairs[k] for k in model])
            self.ident_cache[key] = v
        return v

    def fit(self, model: Model, start: _Fit | None = None) -> _Fit:
        got = self._fits.get(model)
        if got is not None:
            return got
        empty = tuple(k for k in model if self.nstar[k] == 0)
        eff = tuple(k for k in model if self.nstar[k] > 0)
        mask: npt.NDArray[np.bool_] = (np.asarray(~self.pairmask[:, list(empty)].any(axis=1)) if empty
                                       else np.ones(len(self.counts), dtype=bool))
        x = self.x_all[:, list(range(self.nbase)) + [self.nbase + k for k in eff]]
        beta0 = None
        if start is not None:
            b = dict(zip(start.eff, start.beta[self.nbase:], strict=True))
            beta0 = np.concatenate([start.beta[: self.nbase], [b.get(k, 0.0) for k in eff]])
        beta, mu, cov, dev, ll, conv, _ = fit_poisson(x, self.counts, mask, beta0=beta0, tol=self.tol)
        if not conv and beta0 is not None:  # a warm start can, rarely, be a bad start
            beta, mu, cov, dev, ll, conv, _ = fit_poisson(x, self.counts, mask, tol=self.tol)
        p = x.shape[1]
        k = p + len(empty)
        if not np.isfinite(beta).all():
            ll = -math.inf
            beta = np.where(np.isfinite(beta), beta, 0.0)
            beta[0] = math.inf
            cov = np.full((p, p), math.inf)
        f = _Fit(model=model, empty=empty, beta=beta, mu=mu, mask=mask, deviance=dev, loglik=ll,
                 aic=-2 * ll + 2 * k, bic=-2 * ll + math.log(max(self.nobs, 1.0)) * k,
                 df=int(mask.sum()) - p,
                 dark=math.exp(min(float(beta[0]), 700.0)) if conv or math.isfinite(ll) else math.inf,
                 se_log=math.sqrt(max(float(cov[0, 0]), 0.0)), converged=conv, eff=eff)
        self._fits[model] = f
        return f

    # ------------------------------------------------------------------ selection
    def stepwise(self, pthresh: float) -> tuple[_Fit, list[_Fit], set[Model]]:
        """SparseMSE ``stepwisefit``: (final fit, path, models rejected for no MLE / identifiability)."""
        fit = self.fit(())
        path = [fit]
        rejected: set[Model] = set()
        if pthresh <= 0:
            return fit, path, rejected
        included: list[int] = []
        used = np.zeros(self.npairs, dtype=bool)
        nstar = self.nstar
        for _cycle in range(self.npairs):
            if used.all():
                break
            pstar = self.xpair.T @ np.where(fit.mask, fit.mu, 0.0)
            lo = special.pdtr(nstar, pstar)
            hi = np.where(nstar > 0, special.pdtrc(np.maximum(nstar - 1, 0), pstar), 1.0)
            pv = np.where(used, 1.0, np.minimum(lo, hi))
            # only candidates below the threshold can be chosen; check them in order (p, index) and stop at
            # the first that passes checkident — the same choice as testing every candidate
            below = np.flatnonzero(pv < pthresh)
            chosen = None
            for j in below[np.argsort(pv[below], kind="stable")]:
                m = tuple(sorted([*included, int(j)]))
                if self.ierr(m) > 0:
                    rejected.add(m)
                    continue
                chosen = int(j)
                break
            if chosen is None:
                break
            included.append(chosen)
            used[chosen] = True
            fit = self.fit(tuple(sorted(included)), start=fit)
            path.append(fit)
        return fit, path, rejected

    def search(self, criterion: str) -> tuple[_Fit, list[_Fit], set[Model]]:
        """Best model by AIC or BIC: exhaustive for <= 4 lists, else forward-backward from main effects."""
        crit: Callable[[_Fit], float] = (lambda f: f.aic) if criterion == "aic" else (lambda f: f.bic)
        rejected: set[Model] = set()
        fits: dict[Model, _Fit] = {}
        if self.npairs <= _EXHAUSTIVE_MAX_PAIRS:
            for bits in range(1 << self.npairs):
                m = tuple(k for k in range(self.npairs) if (bits >> k) & 1)
                if self.ierr(m) > 0:
                    rejected.add(m)
                    continue
                f = self.fit(m)
                if math.isfinite(f.aic):
                    fits[m] = f
        else:
            cur = self.fit(())
            fits[()] = cur
            while True:
                best = cur
                for k in range(self.npairs):
                    m = tuple(sorted(set(cur.model) ^ {k}))
                    if m in fits:
                        f = fits[m]
                    elif m in rejected:
                        continue
                    elif self.ierr(m) > 0:
                        rejected.add(m)
                        continue
                    else:
                        f = self.fit(m, start=cur)
                        if not math.isfinite(f.aic):
                            rejected.add(m)
                            continue
                        fits[m] = f
                    if crit(f) < crit(best) - 1e-9:
                        best = f
                if best is cur:
                    break
                cur = best
        allfits = sorted((f for f in fits.values() if math.isfinite(crit(f))), key=crit)
        if not allfits:
            raise NotEstimableError("no model could be fitted to these data")
        return allfits[0], allfits, rejected


def _akaike_weights(values: Sequence[float]) -> npt.NDArray[np.float64]:
    v = np.asarray(values, dtype=float)
    w = np.exp(-(v - v.min()) / 2)
    return w / w.sum()


def _mixture_interval(thetas: npt.NDArray[np.float64], ses: npt.NDArray[np.float64],
                      w: npt.NDArray[np.float64], nobs: float, level: float) -> tuple[float, float]:
    """Quantiles of the weighted mixture of the models' normal distributions for log(dark figure)
    (model-averaged tail areas, Turek & Fletcher 2012)."""
    a = (1 - level) / 2
    ses = np.maximum(ses, 1e-12)

    def cdf(x: float) -> float:
        return float(np.sum(w * stats.norm.cdf((x - thetas) / ses)))

    lo_b = float(np.min(thetas - 12 * ses))
    hi_b = float(np.max(thetas + 12 * ses))
    lo = optimize.brentq(lambda x: cdf(x) - a, lo_b, hi_b, xtol=1e-10)
    hi = optimize.brentq(lambda x: cdf(x) - (1 - a), lo_b, hi_b, xtol=1e-10)
    return nobs + math.exp(lo), nobs + math.exp(min(hi, 700.0))


@dataclass
class _Selection:
    """What one selection run produced (also used inside bootstrap replicates)."""

    estimate: float
    fit: _Fit
    candidates: list[_Fit]
    weights: npt.NDArray[np.float64] | None
    rejected: set[Model] = field(default_factory=set)


def select_model(tab: _Table, select: str, terms: Model = (), pthresh: float = 0.02) -> _Selection:
    """Run one selection method on a table (raises NotEstimableError when nothing can be fitted)."""
    sel = _select_model(tab, select, terms, pthresh)
    if not math.isfinite(sel.estimate) or not math.isfinite(sel.fit.se_log):
        raise NotEstimableError("the model fit failed (singular information: the data cannot separate the "
                                "model's parameters)")
    return sel


def _select_model(tab: _Table, select: str, terms: Model, pthresh: float) -> _Selection:
    if select == "none":
        if tab.ierr(terms) > 0:
            raise NotEstimableError("the maximum-likelihood estimate does not exist or is not identifiable "
                                    "for the requested model")
        f = tab.fit(terms)
        return _Selection(f.estimate(tab.nobs), f, [f], None)
    if tab.ierr(()) > 0:
        raise NotEstimableError("even the independence model has no maximum-likelihood estimate "
                                "(the lists do not overlap enough)")
    if select == "stepwise":
        f, path, rej = tab.stepwise(pthresh)
        return _Selection(f.estimate(tab.nobs), f, path, None, rej)
    if select in ("aic", "bic"):
        f, cands, rej = tab.search(select)
        return _Selection(f.estimate(tab.nobs), f, cands, None, rej)
    if select == "average":
        f, cands, rej = tab.search("aic")
        w = _akaike_weights([c.aic for c in cands])
        est = float(np.sum(w * np.array([c.estimate(tab.nobs) for c in cands])))
        return _Selection(est, f, cands, w, rej)
    raise EstimationError(f"unknown select {select!r}; choose one of {', '.join(SELECT_METHODS)}")


def _profile_interval(tab: _Table, fit: _Fit, level: float) -> tuple[float, float | None]:
    """Profile-likelihood interval for theta_0 = log(dark figure), all other parameters re-fitted."""
    target = float(stats.chi2.ppf(level, 1))
    x = np.hstack([tab.xmain, tab.xpair[:, list(fit.eff)]]) if fit.eff else tab.xmain
    xr = x[:, 1:]
    b_hat = float(fit.beta[0])

    def dev(theta0: float) -> float:
        off = np.full(len(tab.counts), theta0)
        r = fit_poisson(xr, tab.counts, fit.mask, offset=off, beta0=fit.beta[1:])
        if not r[5]:
            r = fit_poisson(xr, tab.counts, fit.mask, offset=off)
        d = r[3] - fit.deviance - target
        return d if math.isfinite(d) else 1e6

    se = max(fit.se_log, 1e-3)
    # lower side: the dark figure can go down to (almost) zero
    lo_edge = b_hat - se
    while dev(lo_edge) < 0 and lo_edge > b_hat - 60 * se - 50:
        lo_edge -= 2 * se
    lower = tab.nobs + (math.exp(optimize.brentq(dev, lo_edge, b_hat, xtol=1e-9))
                        if dev(lo_edge) > 0 else 0.0)
    hi_edge = b_hat + se
    cap = b_hat + max(40 * se, 15.0)
    while dev(hi_edge) < 0 and hi_edge < cap:
        hi_edge = min(hi_edge + 2 * se, cap)
    if dev(hi_edge) < 0:
        return lower, None
    return lower, tab.nobs + math.exp(optimize.brentq(dev, b_hat, hi_edge, xtol=1e-9))


class LogLinearMSE(BasePopulationEstimator):
    """Log-linear multiple systems estimation with two-list interactions.

    Parameters
    ----------
    terms : str or sequence, optional
        Two-list terms for ``select="none"`` (``"A:B,C:D"``, a list of ``"A:B"``, or ``"all"``);
        ``None`` = main effects only.
    select : {"stepwise", "aic", "bic", "average", "none"}
        Model choice (see the module docstring).
    pthresh : float
        Stepwise p-value threshold (SparseMSE's default 0.02).
    interval : {"normal", "profile"}
        Model-conditional interval when ``bootstrap == 0``.
    bootstrap : int
        Number of bootstrap replicates (0 = none); each replicate repeats the model selection.
    bootstrap_method : {"parametric", "nonparametric"}
    bootstrap_interval : {"bca", "percentile"}
    level : float
        Interval level.
    random_state : int or None
        Seed for the bootstrap (recorded in the provenance).

    Attributes
    ----------
    result_ : EstimateResult
        The result for the (pooled) table.
    results_ : list of EstimateResult
        One per stratum for stratified histories (``estimable=False`` where a stratum cannot be estimated);
        ``[result_]`` otherwise.

    Examples
    --------
    >>> h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 40, (0, 1, 0): 30, (0, 0, 1): 20,
    ...                                                 (1, 1, 0): 6})
    >>> m = LogLinearMSE(select="stepwise").fit(h)
    >>> round(m.result_.estimate, 2)   # SparseMSE's Artificial_3 stepwise estimate
    539.09
    >>> [w.code for w in m.result_.warnings][:2]
    ['non_overlapping_lists', 'mostly_single_list']
    """

    def __init__(self, terms: str | Sequence[str] | None = None, select: str = "stepwise",
                 pthresh: float = 0.02, interval: str = "normal", bootstrap: int = 0,
                 bootstrap_method: str = "nonparametric", bootstrap_interval: str = "bca",
                 level: float = 0.95, random_state: int | None = None) -> None:
        self.terms = terms
        self.select = select
        self.pthresh = pthresh
        self.interval = interval
        self.bootstrap = bootstrap
        self.bootstrap_method = bootstrap_method
        self.bootstrap_interval = bootstrap_interval
        self.level = level
        self.random_state = random_state

    # ------------------------------------------------------------------ API
    def fit(self, histories: CaptureHistories) -> LogLinearMSE:
        """Fit to capture histories (stratified: one result per stratum). Returns ``self``."""
        self._validate()
        if not isinstance(histories, CaptureHistories):
            raise EstimationError("LogLinearMSE.fit expects CaptureHistories")
        self.random_state_ = (int(np.random.SeedSequence().entropy % (2**31))  # type: ignore[operator]
                              if self.random_state is None and self.bootstrap > 0 else self.random_state)
        if histories.is_stratified:
            self.results_ = [self._fit_or_not_estimable(h, lab) for lab, h in histories.by_stratum()]
            self.result_ = self._fit_or_not_estimable(histories.pooled(), None)
        else:
            self.result_ = self._fit_or_not_estimable(histories, None)
            self.results_ = [self.result_]
        return self

    def _validate(self) -> None:
        if self.select not in SELECT_METHODS:
            raise EstimationError(f"select must be one of {', '.join(SELECT_METHODS)}")
        if self.interval not in ("normal", "profile"):
            raise EstimationError("interval must be 'normal' or 'profile'")
        if self.bootstrap_method not in ("parametric", "nonparametric"):
            raise EstimationError("bootstrap_method must be 'parametric' or 'nonparametric'")
        if self.bootstrap_interval not in ("bca", "percentile"):
            raise EstimationError("bootstrap_interval must be 'bca' or 'percentile'")
        if not 0 < self.level < 1:
            raise EstimationError("level must be between 0 and 1")
        if int(self.bootstrap) < 0:
            raise EstimationError("bootstrap must be >= 0")

    def _settings(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}

    def _fit_or_not_estimable(self, h: CaptureHistories, stratum: str | None) -> EstimateResult:
        try:
            return self._fit_one(h, stratum)
        except NotEstimableError as exc:
            return EstimateResult(
                method="loglinear", estimate=None, lower=None, upper=None, level=self.level,
                observed=h.observed, lists=h.lists, model=None,
                warnings=(*_data_warnings(h), ResultWarning(
                    "not_estimable", f"Not estimable{f' (stratum {stratum})' if stratum else ''}: {exc}.")),
                provenance=Provenance(input_sha256=h.sha256, seed=self.random_state_,
                                      settings=self._settings()),
                stratum=stratum, estimable=False)

    def _fit_one(self, h: CaptureHistories, stratum: str | None) -> EstimateResult:
        lists = h.lists
        if h.observed == 0:
            raise NotEstimableError("no cases")
        totals = h.list_totals()
        if sum(v > 0 for v in totals.values()) < 2:
            raise NotEstimableError("fewer than two lists hold any case")
        cells, counts = h.full_table()
        tab = _Table(cells, counts)
        terms = tuple(tab.pairs.index(p) for p in parse_terms(self.terms, lists)) if self.select == "none" \
            else ()
        sel = select_model(tab, self.select, terms, self.pthresh)
        fit = sel.fit
        nobs = tab.nobs
        level = self.level
        warnings = list(_data_warnings(h))
        extra: dict[str, Any] = {}
        # ------------------------------------------------ interval
        est = sel.estimate
        if self.select == "average" and sel.weights is not None:
            thetas = np.array([math.log(max(c.dark, 1e-300)) for c in sel.candidates])
            ses = np.array([c.se_log for c in sel.candidates])
            lower, upper = _mixture_interval(thetas, ses, sel.weights, nobs, level)
            upper_opt: float | None = upper
        elif self.interval == "profile":
            lower, upper_opt = _profile_interval(tab, fit, level)
        else:
            lower, upper = fit.normal_interval(nobs, level)
            upper_opt = upper
        extra["interval_method"] = "model-averaged mixture" if self.select == "average" else self.interval
        extra["stderr_log_dark"] = fit.se_log
        if self.bootstrap > 0:
            from .bootstrap import bootstrap_interval  # local: bootstrap imports this module

            bres = bootstrap_interval(tab, self.select, terms, self.pthresh, sel, B=int(self.bootstrap),
                                      method=self.bootstrap_method, kind=self.bootstrap_interval,
                                      level=level, seed=self.random_state_)
            extra["model_conditional_interval"] = [lower, upper_opt]
            lower, upper_opt = bres.lower, bres.upper
            extra["interval_method"] = f"{self.bootstrap_method} bootstrap ({self.bootstrap_interval}), " \
                                       f"{self.bootstrap} replicates, selection repeated"
            extra["bootstrap"] = bres.to_dict()
            if bres.n_nonfinite:
                warnings.append(ResultWarning(
                    "bootstrap_failures",
                    f"{bres.n_nonfinite} of {self.bootstrap} bootstrap replicates gave no "
                    "finite estimate and were left out; the interval may be too narrow."))
        if upper_opt is not None and math.isfinite(upper_opt) and upper_opt > _UNBOUNDED_FACTOR * nobs:
            # an upper limit more than 100 times the number seen is an artefact of the model's tail, not
            # information from the data: say so instead of printing it
            extra["upper_computed"] = upper_opt
            upper_opt = None
        if upper_opt is None or not math.isfinite(upper_opt):
            upper_opt = None
            warnings.append(ResultWarning(
                "unbounded_upper",
                f"The data put no useful upper limit on the total: the {level:.0%} interval "
                f"is {lower:,.0f} or more. Report it as a lower bound only."))
        # ------------------------------------------------ candidate table
        models = self._model_table(tab, sel, fit, lists)
        try:
            # bounded work: with more than 16 never-overlapping pairs (and observed patterns that do not
            # settle existence at once) the list of models without an MLE is skipped, not waited for
            no_mle = check_all_models(h, max_nonoverlapping=16)
        except EstimationError:
            no_mle = None
        extra["models_without_mle"] = no_mle
        warnings += _selection_warnings(tab, sel, fit, lists, models, est, no_mle)
        model_terms = tuple(term_name(tab.pairs[k], lists) for k in fit.model)
        extra["empty_overlaps_in_model"] = [term_name(tab.pairs[k], lists) for k in fit.empty]
        extra.update({"AIC": fit.aic, "BIC": fit.bic, "deviance": fit.deviance, "df": fit.df,
                      "select": self.select})
        return EstimateResult(
            method="loglinear", estimate=est, lower=lower, upper=upper_opt, level=level,
            observed=int(nobs), lists=lists, model=model_terms, models=tuple(models),
            warnings=tuple(warnings),
            provenance=Provenance(input_sha256=h.sha256, seed=self.random_state_, settings=self._settings()),
            stratum=stratum, estimable=True, extra=extra)

    def _model_table(self, tab: _Table, sel: _Selection, fit: _Fit, lists: Sequence[str]) -> list[ModelFit]:
        cands = list(sel.candidates)
        seen = {c.model for c in cands}
        if self.select in ("stepwise", "none"):
            # neighbours of the chosen model (one term more or less), to show how sensitive the estimate is
            for k in range(tab.npairs):
                m = tuple(sorted(set(fit.model) ^ {k}))
                if m not in seen and tab.ierr(m) == 0:
                    cands.append(tab.fit(m, start=fit))
                    seen.add(m)
        if sel.weights is not None:
            wmap = {c.model: float(w) for c, w in zip(sel.candidates, sel.weights, strict=True)}
        else:
            wmap = {m: float(w) for m, w in zip([c.model for c in cands],
                                                _akaike_weights([c.aic for c in cands]), strict=True)}
        cands.sort(key=lambda c: c.aic)
        if len(cands) > 200:  # keep the JSON readable: the 200 best by AIC (the chosen one always)
            keep = cands[:200]
            if fit not in keep:
                keep.append(fit)
            cands = keep
        out = []
        for c in cands:
            lo, hi = c.normal_interval(tab.nobs, self.level)
            name = " + ".join(term_name(tab.pairs[k], lists) for k in c.model) or "independence"
            out.append(ModelFit(model=name, estimate=c.estimate(tab.nobs), aic=c.aic, bic=c.bic,
                                deviance=c.deviance, df=c.df, weight=wmap.get(c.model), stderr=None,
                                lower=lo, upper=hi,
                                extra={"chosen": c.model == fit.model,
                                       "terms": [term_name(tab.pairs[k], lists) for k in c.model]}))
        return out


def _data_warnings(h: CaptureHistories) -> list[ResultWarning]:
    out = []
    ov = h.pair_overlaps()
    empty = [f"{a}–{b}" for (a, b), n in ov.items() if n == 0]
    if empty:
        out.append(ResultWarning(
            "non_overlapping_lists",
            f"{len(empty)} of {len(ov)} pairs of lists never share a case ({', '.join(empty[:8])}"
            f"{', …' if len(empty) > 8 else ''}). Interactions between them cannot be estimated and are "
            "fixed at 'no overlap possible'; estimates then depend strongly on the model chosen."))
    n = h.observed
    if n > 0:
        single = int(h.counts[h.patterns.sum(axis=1) == 1].sum())
        if single / n > 0.5:
            out.append(ResultWarning(
                "mostly_single_list",
                f"{single / n:.0%} of the cases were seen by only one list. The estimate of the unseen rests "
                "on few overlaps and on the model's assumptions; read the interval with care."))
    return out


def _selection_warnings(tab: _Table, sel: _Selection, fit: _Fit, lists: Sequence[str],
                        models: list[ModelFit], est: float, no_mle: list[str] | None) -> list[ResultWarning]:
    out: list[ResultWarning] = []
    bad = ["+".join(term_name(tab.pairs[k], lists) for k in m)
           for m in sorted(sel.rejected, key=lambda m: (len(m), m))]
    if no_mle:
        bad = list(dict.fromkeys([*no_mle, *bad]))
    full_ierr = tab.ierr(tuple(range(tab.npairs)))
    if bad or full_ierr & 1:
        shown = f" ({'; '.join(bad[:5])}{'; …' if len(bad) > 5 else ''})" if bad else ""
        out.append(ResultWarning(
            "mle_not_exist",
            f"For {len(bad) or 'some'} possible model(s){shown} the maximum-likelihood estimate does not "
            "exist (the estimate runs off to infinity); such models were left out of the choice."))
    if full_ierr & 2:
        out.append(ResultWarning(
            "not_identifiable",
            "The model with every two-list interaction is not identifiable from these data (too few lists "
            "overlap with each other); only simpler models can be estimated."))
    best = min((m.aic for m in models if m.aic is not None), default=None)
    if best is not None:
        close = [m.estimate for m in models if m.aic is not None and m.aic - best < 2 and m.estimate]
        if len(close) >= 2 and est > 0:
            lo, hi = min(close), max(close)
            if (hi - lo) / est > 0.2:
                out.append(ResultWarning(
                    "model_sensitivity",
                    "Models that fit about equally well (AIC within 2 of the best) give totals from "
                    f"{lo:,.0f} to {hi:,.0f}. The choice of model matters; prefer an interval that "
                    "accounts for it (model averaging or a bootstrap that repeats the selection)."))
    return out
