"""Poisson log-linear regression by iteratively reweighted least squares (IRLS), in numpy.

This is the fitting engine of the classical capture-recapture models (:mod:`darkfigure.estimate.classical`)
and the reference that faster, specialised fitters are tested against.  It follows R's ``glm.fit`` for the
Poisson family with log link step by step, because the published figures we must reproduce (Rcapture's
``closedp``) come from it:

* start from ``mu = y + 0.1`` (R's ``poisson()$initialize``), ``eta = log(mu)``;
* each iteration solves the weighted least-squares problem with working response
  ``z = eta - offset + (y - mu) / mu`` and weights ``w = prior_weight * mu``;
* a column whose weighted residual norm, after projecting out the columns kept before it, falls below
  ``rank_tol`` times its own norm is *aliased* (R's limited-pivoting QR, ``dqrdc2``): its coefficient is
  reported as NaN and it is left out of the fit — the design is rank deficient and we say so, we do not
  silently regularise;
* ``mu = max(exp(eta), machine epsilon)`` as in R's log link, and the fit stops when the relative change
  of deviance ``|dev - dev_old| / (|dev| + 0.1)`` is below ``tol`` (default ``1e-8``, at most 25 iterations);
* the covariance is ``(X' W X)^-1`` with the weights of the *last* WLS step (the ones R keeps), so that even
  fits that did not converge (an MLE that does not exist, e.g. an intercept running to minus infinity)
  reproduce R's reported standard errors;
* step-halving: if an iteration gives a non-finite deviance (R's rule), or — with ``halve_on_increase`` —
  a larger deviance than the previous one, the step is halved up to 30 times.

Examples
--------
>>> import numpy as np
>>> X = np.column_stack([np.ones(4), [0.0, 1.0, 2.0, 3.0]])
>>> fit = fit_poisson_glm(X, np.array([2.0, 3.0, 6.0, 7.0]))
>>> bool(fit.converged), fit.rank, fit.df_residual
(True, 2, 2)
>>> round(float(fit.fitted.sum()), 6)  # with an intercept, fitted totals equal observed totals
18.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.linalg import lapack
from scipy.special import gammaln, xlogy

__all__ = ["PoissonGLMResult", "fit_poisson_glm", "poisson_deviance", "poisson_loglik"]

_EPS = float(np.finfo(float).eps)


def poisson_deviance(y: npt.ArrayLike, mu: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Poisson deviance ``2 * sum(w * (y log(y/mu) - (y - mu)))`` with ``0 log 0 = 0``.

    Examples
    --------
    >>> poisson_deviance([1.0, 0.0], [1.0, 2.0])
    4.0
    """
    y_a = np.asarray(y, dtype=float)
    mu_a = np.asarray(mu, dtype=float)
    w = np.ones_like(y_a) if weights is None else np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(y_a > 0, xlogy(y_a, y_a / mu_a) - (y_a - mu_a), mu_a)
    return float(2.0 * np.sum(w * r))


def poisson_loglik(y: npt.ArrayLike, mu: npt.ArrayLike, weights: npt.ArrayLike | None = None) -> float:
    """Poisson log-likelihood ``sum(w * (y log mu - mu - log y!))`` (``log y!`` via the gamma function,
    so non-integer ``y`` gives the continuous extension rather than R's ``-Inf``).

    Examples
    --------
    >>> round(poisson_loglik([0.0], [1.0]), 6)
    -1.0
    """
    y_a = np.asarray(y, dtype=float)
    mu_a = np.asarray(mu, dtype=float)
    w = np.ones_like(y_a) if weights is None else np.asarray(weights, dtype=float)
    return float(np.sum(w * (xlogy(y_a, mu_a) - mu_a - gammaln(y_a + 1.0))))


@dataclass(frozen=True, eq=False)
class PoissonGLMResult:
    """The outcome of :func:`fit_poisson_glm`.

    Attributes
    ----------
    coef : ndarray (p,)
        Coefficients; NaN for aliased (non-identifiable) columns.
    cov : ndarray (p, p)
        Covariance of the coefficients (inverse Fisher information); NaN rows/columns for aliased columns.
    fitted : ndarray (n,)
        Fitted means ``mu``.
    linear_predictor : ndarray (n,)
        ``eta = X coef + offset``.
    deviance, loglik, aic : float
        Poisson deviance, log-likelihood and ``-2 loglik + 2 rank``.
    rank : int
        Number of estimable coefficients.
    df_residual : int
        Number of observations with positive weight minus ``rank``.
    converged : bool
        Whether the deviance criterion was met within ``max_iter`` iterations.
    iterations : int
        Iterations used.
    aliased : ndarray of bool (p,)
        Which columns were found linearly dependent on the columns before them.
    boundary : bool
        Whether step-halving was needed in the last iteration (R's "stopped at boundary value").
    warnings : tuple of str
        R-style warnings (``"algorithm did not converge"``, ``"fitted rates numerically 0 occurred"``,
        ``"design matrix not of full rank"``, ``"algorithm stopped at boundary value"``).
    weights : ndarray (n,)
        Working weights of the last WLS step.
    """

    coef: npt.NDArray[np.float64]
    cov: npt.NDArray[np.float64]
    fitted: npt.NDArray[np.float64]
    linear_predictor: npt.NDArray[np.float64]
    deviance: float
    loglik: float
    aic: float
    rank: int
    df_residual: int
    converged: bool
    iterations: int
    aliased: npt.NDArray[np.bool_]
    boundary: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)
    weights: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @property
    def stderr(self) -> npt.NDArray[np.float64]:
        """Standard errors of the coefficients (NaN where aliased)."""
        return np.sqrt(np.diag(self.cov))

    @property
    def near_zero_fitted(self) -> npt.NDArray[np.bool_]:
        """Cells whose fitted mean is below ``1e-6`` of the mean fitted count.

        Not one of R's warnings (R only warns below ``10 * machine epsilon``), but the usual sign of a
        maximum-likelihood estimate that does not exist: some coefficient is running off to infinity
        and IRLS stopped because the deviance no longer changes.
        """
        scale = float(self.fitted.mean()) if self.fitted.size else 0.0
        return self.fitted < 1e-6 * scale

    @property
    def full_rank(self) -> bool:
        """True when no column is aliased."""
        return not bool(self.aliased.any())


def _qr(a: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Householder QR by LAPACK ``dgeqrf`` (compact form), without numpy's per-call overhead."""
    qr, tau, _, info = lapack.dgeqrf(a)
    if info != 0:
        raise np.linalg.LinAlgError("QR factorisation failed")
    return qr, tau


def _wls(xw: npt.NDArray[np.float64], zw: npt.NDArray[np.float64], tol: float
         ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Solve a weighted least-squares step with R's left-to-right rank check (``dqrdc2``).

    A column is dropped (aliased) when its norm after removing the span of the columns before it — ``|R_jj|``
    of an unpivoted Householder QR — is below ``tol`` times its own norm.  Returns the kept-column mask and
    the coefficients of the kept columns.
    """
    n, p = xw.shape
    norms = np.sqrt(np.einsum("ij,ij->j", xw, xw))
    qr, tau = _qr(xw)
    k = min(n, p)
    diag = np.zeros(p)
    diag[:k] = np.abs(np.diagonal(qr)[:k])
    keep = (norms > 0) & (diag >= tol * norms)
    m = int(keep.sum())
    if m == 0:
        return keep, np.zeros(0)
    if not keep.all():
        qr, tau = _qr(xw[:, keep])
    qtz, _, info = lapack.dormqr("L", "T", qr, tau, zw[:, None], lwork=max(64, m))
    if info != 0:
        raise np.linalg.LinAlgError("applying Q failed")
    sol, info = lapack.dtrtrs(qr[:m, :m], qtz[:m])
    if info != 0:
        raise np.linalg.LinAlgError("singular triangular system")
    return keep, sol.ravel()


def _cov_from(xk: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``(X'WX)^-1`` from the QR of the weighted design (``chol2inv`` of R, as ``summary.glm``)."""
    m = xk.shape[1]
    qr, _ = _qr(xk)
    rinv, info = lapack.dtrtri(np.triu(qr[:m, :m]))
    if info != 0:
        raise np.linalg.LinAlgError("singular information matrix")
    return rinv @ rinv.T


def fit_poisson_glm(
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    offset: npt.ArrayLike | None = None,
    weights: npt.ArrayLike | None = None,
    *,
    start: npt.ArrayLike | None = None,
    max_iter: int = 25,
    tol: float = 1e-8,
    rank_tol: float = 1e-11,
    halve_on_increase: bool = False,
) -> PoissonGLMResult:
    """Fit a Poisson regression with log link by IRLS (R ``glm.fit`` semantics, see the module notes).

    Parameters
    ----------
    X : array (n, p)
        Design matrix; include a column of ones for an intercept.
    y : array (n,)
        Non-negative responses (need not be integers: the profile likelihood uses fractional counts).
    offset : array (n,), optional
        Known part of the linear predictor.
    weights : array (n,), optional
        Non-negative prior weights; rows with weight 0 are ignored (and do not count in ``df_residual``).
    start : array (p,), optional
        Starting coefficients; default starts from ``mu = y + 0.1`` as R does.
    max_iter : int
        Maximum IRLS iterations (R: 25).
    tol : float
        Relative deviance change for convergence (R: 1e-8).
    rank_tol : float
        Relative tolerance of the rank check (R: ``min(1e-7, tol / 1000)``).
    halve_on_increase : bool
        Also halve steps that increase the deviance (not R's default; useful for hard problems).

    Returns
    -------
    PoissonGLMResult

    Raises
    ------
    ValueError
        On shape mismatch, negative responses or weights, or non-finite inputs.

    Examples
    --------
    A saturated two-level model reproduces the data exactly:

    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> fit = fit_poisson_glm(X, np.array([4.0, 8.0]))
    >>> np.round(np.exp(fit.coef), 6).tolist(), abs(round(fit.deviance, 10))
    ([4.0, 2.0], 0.0)

    A repeated column is reported as aliased rather than silently dropped:

    >>> X2 = np.column_stack([X, X[:, 1]])
    >>> fit2 = fit_poisson_glm(X2, np.array([4.0, 8.0]))
    >>> fit2.aliased.tolist(), fit2.warnings
    ([False, False, True], ('design matrix not of full rank',))
    """
    Xa = np.asarray(X, dtype=float)
    ya = np.asarray(y, dtype=float)
    if Xa.ndim != 2 or ya.ndim != 1 or Xa.shape[0] != ya.shape[0]:
        raise ValueError("X must be (n, p) and y (n,) with the same n")
    n = Xa.shape[0]
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    pw = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if off.shape != (n,) or pw.shape != (n,):
        raise ValueError("offset and weights must have one value per row")
    if not all(np.isfinite(a).all() for a in (Xa, ya, off, pw)):
        raise ValueError("inputs must be finite")
    if (ya < 0).any() or (pw < 0).any():
        raise ValueError("responses and weights must be non-negative")

    good_rows = pw > 0
    if start is None:
        mu = ya + 0.1
        eta = np.log(mu)
        coef_old: npt.NDArray[np.float64] | None = None
    else:
        beta0 = np.asarray(start, dtype=float)
        eta = Xa @ beta0 + off
        with np.errstate(over="ignore"):
            mu = np.maximum(np.exp(eta), _EPS)
        coef_old = beta0.copy()
    dev_old = poisson_deviance(ya, mu, pw)
    with np.errstate(over="ignore", invalid="ignore"):
        # exp() may overflow on a wild step: the deviance is then not finite and the step is halved
        return _irls(Xa, ya, off, pw, good_rows, eta, mu, coef_old, dev_old, max_iter, tol, rank_tol,
                     halve_on_increase)


def _irls(Xa: npt.NDArray[np.float64], ya: npt.NDArray[np.float64], off: npt.NDArray[np.float64],
          pw: npt.NDArray[np.float64], good_rows: npt.NDArray[np.bool_], eta: npt.NDArray[np.float64],
          mu: npt.NDArray[np.float64], coef_old: npt.NDArray[np.float64] | None, dev_old: float,
          max_iter: int, tol: float, rank_tol: float, halve_on_increase: bool) -> PoissonGLMResult:
    n, p = Xa.shape
    beta = np.zeros(p)
    keep = np.ones(p, dtype=bool)
    w2 = np.zeros(n)
    converged = False
    boundary = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - iteration count is reported
        mu_eta = np.maximum(np.exp(eta), _EPS)
        good = good_rows & (mu_eta != 0)
        z = (eta - off)[good] + (ya - mu)[good] / mu_eta[good]
        w = np.sqrt(pw[good] * mu_eta[good] ** 2 / mu[good])
        xw = Xa[good] * w[:, None]
        try:
            keep, sol = _wls(xw, z * w, rank_tol)
        except np.linalg.LinAlgError:
            break
        if not np.isfinite(sol).all():
            break
        beta = np.zeros(p)
        beta[keep] = sol
        w2 = np.zeros(n)
        w2[good] = w**2
        eta = Xa @ beta + off
        mu = np.maximum(np.exp(eta), _EPS)
        dev = poisson_deviance(ya, mu, pw)
        boundary = False
        halvings = 0
        while (not math.isfinite(dev) or (halve_on_increase and dev > dev_old + 1e-12 * abs(dev_old))) \
                and coef_old is not None and halvings < 30:
            beta = (beta + coef_old) / 2.0
            eta = Xa @ beta + off
            mu = np.maximum(np.exp(eta), _EPS)
            dev = poisson_deviance(ya, mu, pw)
            boundary = True
            halvings += 1
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            break
        dev_old = dev
        coef_old = beta.copy()

    warn: list[str] = []
    if not converged:
        warn.append("algorithm did not converge")
    if boundary:
        warn.append("algorithm stopped at boundary value")
    if (mu[good_rows] < 10 * _EPS).any():
        warn.append("fitted rates numerically 0 occurred")
    aliased = ~keep
    if aliased.any():
        warn.append("design matrix not of full rank")

    cov = np.full((p, p), np.nan)
    xk = Xa[:, keep] * np.sqrt(w2)[:, None]
    try:
        if xk.shape[1] and xk.shape[0] >= xk.shape[1]:
            cov[np.ix_(keep, keep)] = _cov_from(xk)
    except np.linalg.LinAlgError:
        pass  # leave NaN: the information matrix is singular at the last iterate
    coef = beta.copy()
    coef[aliased] = np.nan
    rank = int(keep.sum())
    ll = poisson_loglik(ya, mu, pw)
    return PoissonGLMResult(
        coef=coef,
        cov=cov,
        fitted=mu,
        linear_predictor=eta,
        deviance=poisson_deviance(ya, mu, pw),
        loglik=ll,
        aic=-2.0 * ll + 2.0 * rank,
        rank=rank,
        df_residual=int(good_rows.sum()) - rank,
        converged=converged,
        iterations=it,
        aliased=aliased,
        boundary=boundary,
        warnings=tuple(warn),
        weights=w2,
    )
