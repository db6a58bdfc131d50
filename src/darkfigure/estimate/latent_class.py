"""Bayesian non-parametric latent-class population estimation (the LCMCR model), with MCMC diagnostics.

People differ in how likely each list is to record them; the model of Manrique-Vallier (2016) captures this
with latent classes: within a class, list memberships are independent Bernoulli draws; the class weights
follow a truncated stick-breaking (Dirichlet-process) prior with ``K`` classes and concentration
``alpha ~ Gamma(a, b)``; the number of people missed by every list is imputed with the prior
``p(N) ∝ 1/N``, so that the posterior of ``N`` is the one of R's ``LCMCR::lcmCR``.  See
``docs/methods/latent_class.md`` and :mod:`darkfigure.estimate._lcmcr_sampler` for the sampler.

Besides the estimator this module provides the diagnostics it reports: :func:`split_rhat` (rank-normalised
split R-hat) and :func:`ess_bulk` (bulk effective sample size) of Vehtari, Gelman, Simpson, Carpenter &
Bürkner (2021), and :func:`hpd_interval`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from .._provenance import Provenance
from ..exceptions import ConvergenceWarning, EstimationError, InputError, NotFittedError
from ..histories import CaptureHistories
from ._base import BasePopulationEstimator
from ._result import EstimateResult, ResultWarning

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ._lcmcr_sampler import ChainDraws

__all__ = ["LatentClassMSE", "classic_split_rhat", "ess_bulk", "hpd_interval", "split_rhat"]

METHOD = "latent-class"


# ------------------------------------------------------------------------------------------ diagnostics
def _as_chains(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 4:
        raise EstimationError("diagnostics need an array of shape (chains, draws) with at least 4 draws")
    return a


def _split(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # halves of every chain; the middle draw of an odd-length chain is dropped (as Stan and ArviZ do)
    half = a.shape[1] // 2
    return np.concatenate([a[:, :half], a[:, a.shape[1] - half:]], axis=0)


def _z_scale(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # rank-normalisation: average ranks over all draws, then the normal quantile of (r - 3/8) / (S + 1/4)
    ranks = stats.rankdata(a, method="average").reshape(a.shape)
    return np.asarray(special.ndtri((ranks - 0.375) / (a.size + 0.25)))


def _rhat(a: npt.NDArray[np.float64]) -> float:
    n = a.shape[1]
    chain_var = a.var(axis=1, ddof=1)
    within = chain_var.mean()
    between = n * a.mean(axis=1).var(ddof=1)
    if within <= 0:
        return float("nan")
    return float(np.sqrt((between / within + n - 1) / n))


def classic_split_rhat(x: npt.ArrayLike) -> float:
    """Split R-hat of Gelman et al. (BDA3) on the raw draws (no rank-normalisation).

    Parameters
    ----------
    x : array of shape (chains, draws)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(classic_split_rhat(rng.normal(size=(4, 1000))), 2)
    1.0
    """
    a = _as_chains(x)
    if np.ptp(a) == 0:
        return 1.0
    return _rhat(_split(a))


def split_rhat(x: npt.ArrayLike) -> float:
    """Rank-normalised split R-hat (Vehtari et al. 2021): the larger of the bulk and the folded (tail) value.

    Values above 1.01 mean the chains have not mixed.

    Parameters
    ----------
    x : array of shape (chains, draws), or (draws,) for one chain

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bool(split_rhat(rng.normal(size=(4, 1000))) < 1.01)
    True
    >>> bool(split_rhat(rng.normal(size=(4, 1000)) + np.arange(4)[:, None]) > 1.1)
    True
    """
    a = _as_chains(x)
    if np.ptp(a) == 0:
        return 1.0
    s = _split(a)
    bulk = _rhat(_z_scale(s))
    folded = np.abs(s - np.median(s))
    tail = _rhat(_z_scale(folded)) if np.ptp(folded) > 0 else bulk
    return float(max(bulk, tail))


def _autocov(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # biased autocovariance of each chain by FFT (zero-padded to avoid circular wrap-around)
    n = a.shape[1]
    c = a - a.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(c, n=size, axis=1)
    return np.fft.irfft(f * np.conjugate(f), n=size, axis=1)[:, :n] / n


def _ess(a: npt.NDArray[np.float64]) -> float:
    # Geyer's initial monotone sequence estimator on the multi-chain autocorrelation (Stan's method)
    m, n = a.shape
    acov = _autocov(a)
    chain_var = acov[:, 0] * n / (n - 1.0)
    mean_var = chain_var.mean()
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus += a.mean(axis=1).var(ddof=1)
    if var_plus <= 0:
        return float(m * n)
    rho = np.zeros(n)
    rho[0] = 1.0
    rho_even = 1.0
    rho_odd = 1.0 - (mean_var - acov[:, 1].mean()) / var_plus
    rho[1] = rho_odd
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0.0:
        rho_even = 1.0 - (mean_var - acov[:, t + 1].mean()) / var_plus
        rho_odd = 1.0 - (mean_var - acov[:, t + 2].mean()) / var_plus
        if rho_even + rho_odd >= 0.0:
            rho[t + 1] = rho_even
            rho[t + 2] = rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:  # keeps the estimate stable for antithetic chains
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:  # make the sums of pairs monotone
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = (rho[t - 1] + rho[t]) / 2.0
            rho[t + 2] = rho[t + 1]
        t += 2
    total = float(m * n)
    tau = -1.0 + 2.0 * rho[: max_t + 1].sum() + rho[max_t + 1]
    tau = max(tau, 1.0 / np.log10(total))
    return total / tau


def ess_bulk(x: npt.ArrayLike) -> float:
    """Bulk effective sample size (Vehtari et al. 2021): ESS of the rank-normalised split chains.

    Parameters
    ----------
    x : array of shape (chains, draws), or (draws,) for one chain

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> bool(3000 < ess_bulk(rng.normal(size=(4, 1000))) < 5000)
    True
    """
    a = _as_chains(x)
    if np.ptp(a) == 0:
        return float(a.size)
    return _ess(_z_scale(_split(a)))


def hpd_interval(samples: npt.ArrayLike, level: float = 0.95) -> tuple[float, float]:
    """Shortest interval holding ``level`` of the draws (highest posterior density, for a unimodal posterior).

    Examples
    --------
    >>> hpd_interval(np.arange(101), 0.9)
    (0.0, 90.0)
    """
    s = np.sort(np.asarray(samples, dtype=float).ravel())
    n = s.size
    if n == 0:
        raise EstimationError("no draws")
    k = int(np.floor(level * n))
    if k >= n:
        return float(s[0]), float(s[-1])
    widths = s[k:] - s[: n - k]
    i = int(np.argmin(widths))
    return float(s[i]), float(s[i + k])


# ------------------------------------------------------------------------------------------ estimator
class LatentClassMSE(BasePopulationEstimator):
    """Bayesian non-parametric latent-class capture-recapture (Manrique-Vallier 2016; R package LCMCR).

    Parameters
    ----------
    K : int, default 10
        Truncation of the stick-breaking prior (maximum number of latent classes).
    a, b : float, default 0.25
        Shape and rate of the Gamma prior on the stick-breaking concentration ``alpha``.
    burn_in : int, default 10000
        Iterations discarded per chain (after LCMCR's fixed 500-iteration warm-up).
    n_samples : int, default 1000
        Draws kept per chain.
    thin : int, default 10
        Iterations per kept draw.
    chains : int, default 4
        Independent chains; R-hat needs at least 2 to compare them.
    level : float, default 0.95
        Credible level of the reported interval (equal-tailed; the HPD interval is in ``extra``).
    random_state : int, numpy SeedSequence or None
        Seed; each chain (and stratum) gets its own child ``SeedSequence``.  ``None``: fresh entropy,
        recorded in the result's provenance.
    n_jobs : int or None
        Worker processes for the chains (``None``: one per chain, at most one per CPU).  Draws do not
        depend on it.
    min_observed : int, default 10
        A table (or stratum) with fewer observed people is "not estimable".
    rhat_max : float, default 1.01
        Warn (``rhat_high``) when the split R-hat of N or alpha exceeds this.
    ess_min : float, default 400
        Warn (``ess_low``) when the bulk ESS of N or alpha is below this.
    init : {"lcmcr", "dispersed"}, default "lcmcr"
        Where chains start. ``"lcmcr"``: as LCMCR, with no unseen people. ``"dispersed"``: every other
        chain starts with ``10 n`` unseen people, so that R-hat reveals a multimodal posterior (UK 2013,
        Netherlands) that chains started on one side would each hide.

    Attributes
    ----------
    result_ : EstimateResult
        The estimate (the pooled table's, for stratified histories).
    results_ : list of EstimateResult
        One per stratum for stratified histories, else ``[result_]``.
    draws_ : ChainDraws
        Posterior draws behind ``result_``: ``N``, ``alpha``, ``k_star`` of shape (chains, n_samples).
    stratum_draws_ : dict
        Draws per stratum label (``None`` for an unstratified table); absent for not-estimable strata.
    random_state_ : int
        The seed actually used.

    Examples
    --------
    >>> from darkfigure.histories import CaptureHistories
    >>> h = CaptureHistories.from_dict(["A", "B", "C"], {(1, 0, 0): 60, (0, 1, 0): 50, (0, 0, 1): 40,
    ...     (1, 1, 0): 15, (1, 0, 1): 12, (0, 1, 1): 10, (1, 1, 1): 4})
    >>> m = LatentClassMSE(K=5, burn_in=500, n_samples=300, thin=2, chains=2, random_state=1, n_jobs=1,
    ...                    ess_min=0, rhat_max=2).fit(h)
    >>> m.result_.method, m.result_.observed, bool(m.result_.estimate > 191)
    ('latent-class', 191, True)
    """

    def __init__(self, K: int = 10, a: float = 0.25, b: float = 0.25, burn_in: int = 10_000,
                 n_samples: int = 1_000, thin: int = 10, chains: int = 4, level: float = 0.95,
                 random_state: int | np.random.SeedSequence | None = None, n_jobs: int | None = None,
                 min_observed: int = 10, rhat_max: float = 1.01, ess_min: float = 400,
                 init: str = "lcmcr") -> None:
        self.K = K
        self.a = a
        self.b = b
        self.burn_in = burn_in
        self.n_samples = n_samples
        self.thin = thin
        self.chains = chains
        self.level = level
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.min_observed = min_observed
        self.rhat_max = rhat_max
        self.ess_min = ess_min
        self.init = init

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        problems = []

        def intval(name: str, lo: int) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                problems.append(f"{name} must be an integer >= {lo}")

        if self.init not in ("lcmcr", "dispersed"):
            problems.append("init must be 'lcmcr' or 'dispersed'")
        intval("K", 2)
        intval("burn_in", 0)
        intval("n_samples", 4)
        intval("thin", 1)
        intval("chains", 1)
        intval("min_observed", 1)
        for name in ("a", "b"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not np.isfinite(v) or v <= 0:
                problems.append(f"{name} must be a positive number")
        if not isinstance(self.level, int | float) or not 0 < self.level < 1:
            problems.append("level must be between 0 and 1")
        if self.n_jobs is not None and (not isinstance(self.n_jobs, int) or self.n_jobs < 1):
            problems.append("n_jobs must be a positive integer or None")
        rs = self.random_state
        if rs is not None and not isinstance(rs, np.random.SeedSequence) and (
                isinstance(rs, bool) or not isinstance(rs, int | np.integer) or rs < 0):
            problems.append("random_state must be a non-negative integer, a SeedSequence or None")
        if problems:
            raise InputError("LatentClassMSE: " + "; ".join(problems))

    def _settings(self) -> dict[str, Any]:
        s = {k: v for k, v in self.get_params().items() if k != "random_state"}
        s["warmup"] = 500
        return s

    # ------------------------------------------------------------------ fitting
    def fit(self, histories: CaptureHistories) -> LatentClassMSE:
        """Run the chains on ``histories`` (stratified: one model per stratum, and one on the pooled table).

        Returns ``self``.
        """
        self._validate()
        if not isinstance(histories, CaptureHistories):
            raise EstimationError("LatentClassMSE.fit expects CaptureHistories")
        if isinstance(self.random_state, np.random.SeedSequence):
            root = self.random_state
        elif self.random_state is None:
            root = np.random.SeedSequence()
        else:
            root = np.random.SeedSequence(int(self.random_state))
        ent = root.entropy
        self.random_state_ = int(ent) if isinstance(ent, int | np.integer) else None
        self.stratum_draws_: dict[str | None, ChainDraws] = {}
        if histories.is_stratified:
            labels = histories.stratum_labels()
            children = root.spawn(len(labels) + 1)
            self.results_ = [self._fit_one(h, lab, children[i])
                             for i, (lab, h) in enumerate(histories.by_stratum())]
            self.result_ = self._fit_one(histories.pooled(), None, children[-1])
        else:
            self.result_ = self._fit_one(histories, None, root)
            self.results_ = [self.result_]
        self.draws_ = self.stratum_draws_.get(None)
        return self

    def _base_warnings(self, h: CaptureHistories) -> list[ResultWarning]:
        out = []
        if h.n_lists < 3:
            out.append(ResultWarning(
                "two_lists", "With two lists the latent-class model is not identifiable: the estimate "
                             "is driven by the prior."))
        return out

    def _not_estimable(self, h: CaptureHistories, stratum: str | None, why: str) -> EstimateResult:
        where = f" (stratum {stratum})" if stratum else ""
        return EstimateResult(
            method=METHOD, estimate=None, lower=None, upper=None, level=self.level, observed=h.observed,
            lists=h.lists, model=f"LCMCR K={self.K}",
            warnings=(*self._base_warnings(h),
                      ResultWarning("not_estimable", f"Not estimable{where}: {why}.")),
            provenance=Provenance(input_sha256=h.sha256, seed=self.random_state_, settings=self._settings()),
            stratum=stratum, estimable=False, extra={"chains": self.chains})

    def _fit_one(self, h: CaptureHistories, stratum: str | None,
                 seq: np.random.SeedSequence) -> EstimateResult:
        keep = h.counts > 0
        cells = h.patterns[keep].astype(np.int8)
        freq = h.counts[keep].astype(np.int64)
        if h.observed < self.min_observed:
            return self._not_estimable(h, stratum, f"fewer than {self.min_observed} people observed")
        if not (cells.sum(axis=1) >= 2).any():
            return self._not_estimable(h, stratum, "no one is on more than one list, so nothing tells how "
                                                   "the lists overlap")
        if (cells.sum(axis=0) == 0).any():
            # a list that holds nobody carries no information; drop its column (LCMCR would keep it and
            # estimate its capture probability at ~0, which changes nothing else)
            cols = cells.sum(axis=0) > 0
            cells = np.ascontiguousarray(cells[:, cols])
        from ._lcmcr_sampler import INIT_UNSEEN_FACTOR, default_jobs, run_chains  # lazy: numba on use

        n_jobs = self.n_jobs if self.n_jobs is not None else default_jobs(self.chains)
        # "dispersed": every other chain starts far above (10 n unseen) instead of at LCMCR's start (none
        # unseen). On multimodal posteriors (UK 2013, Netherlands) chains stay where they first settle for
        # 10^5 iterations; starting from both sides makes R-hat show it instead of hiding it.
        high = INIT_UNSEEN_FACTOR * int(freq.sum())
        starts = [high if (self.init == "dispersed" and i % 2 == 1) else 0 for i in range(int(self.chains))]
        draws = run_chains(cells, freq, K=int(self.K), a=float(self.a), b=float(self.b),
                           burn_in=int(self.burn_in), n_samples=int(self.n_samples), thin=int(self.thin),
                           seeds=seq.spawn(int(self.chains)), n_jobs=n_jobs, init_unseen=starts)
        self.stratum_draws_[stratum] = draws
        return self._summarise(h, stratum, draws)

    def _summarise(self, h: CaptureHistories, stratum: str | None, draws: ChainDraws) -> EstimateResult:
        n_all = draws.N.ravel().astype(float)
        tail = (1 - self.level) / 2
        lower, upper = np.quantile(n_all, [tail, 1 - tail])
        hpd = hpd_interval(n_all, self.level)
        rhat = {"N": split_rhat(draws.N), "alpha": split_rhat(draws.alpha)}
        ess = {"N": ess_bulk(draws.N), "alpha": ess_bulk(draws.alpha)}
        ks, kc = np.unique(draws.k_star.ravel(), return_counts=True)
        k_post = {str(int(k)): float(c) / draws.k_star.size for k, c in zip(ks, kc, strict=True)}
        where = f" (stratum {stratum})" if stratum else ""
        warns = self._base_warnings(h)
        bad_r = [f"{k} {v:.3f}" for k, v in rhat.items() if not np.isfinite(v) or v > self.rhat_max]
        if bad_r:
            warns.append(ResultWarning(
                "rhat_high", f"The chains disagree{where}: split R-hat {', '.join(bad_r)} exceeds "
                             f"{self.rhat_max}; run longer (more burn-in, samples or thinning)."))
        bad_e = [f"{k} {v:.0f}" for k, v in ess.items() if v < self.ess_min]
        if bad_e:
            warns.append(ResultWarning(
                "ess_low", f"Too few effective draws{where}: bulk ESS {', '.join(bad_e)} is below "
                           f"{self.ess_min:g}; run longer for a stable interval."))
        p_full = float((draws.k_star == self.K).mean())
        if p_full > 0.05:
            warns.append(ResultWarning(
                "classes_saturated", f"All {self.K} latent classes are occupied in {p_full:.0%} of the "
                                     f"draws{where}; increase K."))
        # LCMCR's sampler (and ours) redraws the unseen count until n0 <= N0_MAX_FACTOR * n. When the upper
        # limit of the interval lies in the last 10% below that bound, the limit is set by this arbitrary cut
        # and not by the data (Ned_5's ~140,000 region: a fifth of its draws; docs/methods/latent_class.md).
        from ._lcmcr_sampler import N0_MAX_FACTOR  # lazy, as in _fit_one: numba is imported on use

        near = h.observed * (1 + 0.9 * N0_MAX_FACTOR)
        near_bound = float((near < draws.N).mean())
        if upper > near:
            warns.append(ResultWarning(
                "truncation_bound", f"The upper limit{where} lies within 10% of the sampler's bound on N "
                                    f"({1 + N0_MAX_FACTOR} times the observed, as LCMCR's n0 <= "
                                    f"{N0_MAX_FACTOR} n; {near_bound:.0%} of the draws are that close): "
                                    f"it is set by the bound, not by the data, and understates the "
                                    f"uncertainty."))
        for w in warns:
            if w.code in ("rhat_high", "ess_low"):
                warnings.warn(w.message, ConvergenceWarning, stacklevel=4)
        extra: dict[str, Any] = {
            "rhat": rhat,
            "ess": ess,
            "chains": int(self.chains),
            "posterior_mean": float(n_all.mean()),
            "posterior_sd": float(n_all.std(ddof=1)),
            "hpd": [hpd[0], hpd[1]],
            "k_star": k_post,
            "alpha_median": float(np.median(draws.alpha)),
            "share_near_bound": near_bound,
            "draws": int(n_all.size),
            "seconds": [round(s, 4) for s in draws.seconds],
        }
        return EstimateResult(
            method=METHOD, estimate=float(np.median(n_all)), lower=float(lower), upper=float(upper),
            level=self.level, observed=h.observed, lists=h.lists, model=f"LCMCR K={self.K}",
            warnings=tuple(warns),
            provenance=Provenance(input_sha256=h.sha256, seed=self.random_state_, settings=self._settings()),
            stratum=stratum, estimable=True, extra=extra)

    # ------------------------------------------------------------------ results
    def __getattr__(self, name: str) -> Any:
        # fitted attributes (ending in "_") read before fit() raise NotFittedError, as the contract says
        if name.endswith("_") and not name.startswith("__"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")
        raise AttributeError(name)

    def _draws_for(self, stratum: str | None) -> ChainDraws:
        self._check_fitted()
        d = self.stratum_draws_.get(stratum)
        if d is None:
            raise EstimationError(f"no posterior draws for stratum {stratum!r} (not estimable?)")
        return d

    def _conf_int_at(self, level: float) -> tuple[float | None, float | None]:
        n_all = self._draws_for(None).N.ravel()
        tail = (1 - level) / 2
        lo, hi = np.quantile(n_all, [tail, 1 - tail])
        return float(lo), float(hi)

    def hpd_interval(self, level: float | None = None) -> tuple[float, float]:
        """Highest-posterior-density interval of N at ``level`` (default: the fitted level)."""
        lv = self._check_fitted().level if level is None else level
        return hpd_interval(self._draws_for(None).N, lv)

    def posterior_k_star(self) -> Mapping[int, float]:
        """Posterior probabilities of the number of occupied latent classes."""
        return {int(k): v for k, v in self._check_fitted().extra["k_star"].items()}

    def summary(self) -> str:
        """Plain-text summary with the convergence diagnostics."""
        r = self._check_fitted()
        text = r.summary()
        if not r.estimable:
            return text
        e = r.extra
        lines = [text,
                 f"mean       {e['posterior_mean']:,.0f}   HPD {e['hpd'][0]:,.0f} – {e['hpd'][1]:,.0f}",
                 f"R-hat      N {e['rhat']['N']:.3f}   alpha {e['rhat']['alpha']:.3f}",
                 f"bulk ESS   N {e['ess']['N']:.0f}   alpha {e['ess']['alpha']:.0f}   ({e['chains']} chains, "
                 f"{e['draws']} draws)",
                 "classes    " + ", ".join(f"{k}: {v:.2f}" for k, v in e["k_star"].items())]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Trace plot of N, one line per chain. Returns the Axes."""
        return self.plot_trace("N", ax=ax)

    def plot_trace(self, var: str = "N", ax: Axes | None = None, stratum: str | None = None) -> Axes:
        """Trace plot of ``var`` (``"N"``, ``"alpha"`` or ``"k_star"``), one line per chain."""
        if var not in ("N", "alpha", "k_star"):
            raise InputError("var must be 'N', 'alpha' or 'k_star'")
        d = self._draws_for(stratum)
        if ax is None:
            from matplotlib.figure import Figure  # no pyplot: no global state

            ax = Figure(figsize=(7, 3)).add_subplot(1, 1, 1)
        arr = getattr(d, var)
        for c in range(arr.shape[0]):
            ax.plot(np.arange(arr.shape[1]), arr[c], lw=0.6, alpha=0.8, label=f"chain {c + 1}")
        ax.set_xlabel("draw (after burn-in and thinning)")
        ax.set_ylabel(var)
        r = self._check_fitted()
        rh = r.extra.get("rhat", {}).get(var)
        title = f"{METHOD} trace of {var}" + (f"  (split R-hat {rh:.3f})" if rh is not None else "")
        ax.set_title(title)
        if arr.shape[0] > 1:
            ax.legend(fontsize="small", loc="upper right")
        return ax
