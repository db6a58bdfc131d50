"""Compiled Poisson log-linear fitting for the model-selection and bootstrap loops.

The log-linear multiple systems estimation model is a Poisson GLM with log link on the ``2**t - 1``
observable capture patterns.  Model selection (stepwise, AIC/BIC search, averaging) fits hundreds of small
models, and a bootstrap repeats that a thousand times, so the generic fitter (:mod:`statsmodels`, or the
numpy IRLS of ``estimate/_glm.py``) would spend its time in Python overhead.  This module holds one
numba-compiled iteratively-reweighted-least-squares solver specialised to this problem (dense, tiny,
log link, canonical weights, a row mask for the structural zeros of non-overlapping pairs, a warm start),
plus the helpers that build design matrices.  The tests check it against statsmodels.

Only arrays go in and out; nothing here knows about lists' names.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["all_pairs", "design_matrix", "fit_poisson", "fit_poisson_statsmodels"]

FloatArray = npt.NDArray[np.float64]


def all_pairs(t: int) -> list[tuple[int, int]]:
    """All list pairs ``(i, j)``, ``i < j``, in SparseMSE's order ((1,2), (1,3), ..., (2,3), ...)."""
    return list(itertools.combinations(range(t), 2))


def design_matrix(cells: npt.ArrayLike, pairs: list[tuple[int, int]] | tuple[tuple[int, int], ...]
                  ) -> FloatArray:
    """Columns: intercept, one main effect per list, one product column per two-list term.

    Parameters
    ----------
    cells : array of shape (n_cells, t)
        0/1 capture patterns.
    pairs : sequence of (i, j)
        Two-list interaction terms.

    Returns
    -------
    ndarray of shape (n_cells, 1 + t + len(pairs))

    Examples
    --------
    >>> design_matrix([[1, 0], [0, 1], [1, 1]], [(0, 1)]).tolist()
    [[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]]
    """
    z = np.asarray(cells, dtype=np.float64)
    cols = [np.ones(z.shape[0]), *[z[:, k] for k in range(z.shape[1])]]
    cols += [z[:, i] * z[:, j] for i, j in pairs]
    return np.column_stack(cols)


@njit(cache=True)
def _irls(x: FloatArray, y: FloatArray, mask: npt.NDArray[np.bool_], offset: FloatArray,
          beta0: FloatArray, use_start: bool, maxit: int, tol: float):
    n, p = x.shape
    eta = np.empty(n)
    mu = np.empty(n)
    beta = beta0.copy()
    if use_start:
        for i in range(n):
            e = offset[i]
            for k in range(p):
                e += x[i, k] * beta[k]
            eta[i] = min(max(e, -700.0), 700.0)
            mu[i] = math.exp(eta[i])
    else:
        # R's glm start for the Poisson family: mu = y + 0.1
        for i in range(n):
            mu[i] = y[i] + 0.1
            eta[i] = math.log(mu[i])
    dev_old = 1e300
    converged = False
    xtwx = np.empty((p, p))
    xtwz = np.empty(p)
    it = 0
    for _ in range(maxit):
        it += 1
        xtwx[:, :] = 0.0
        xtwz[:] = 0.0
        for i in range(n):
            if not mask[i]:
                continue
            w = mu[i]
            z = eta[i] - offset[i] + (y[i] - mu[i]) / mu[i]
            for a in range(p):
                xa = x[i, a] * w
                if xa == 0.0:
                    continue
                xtwz[a] += xa * z
                for b in range(a, p):
                    xtwx[a, b] += xa * x[i, b]
        for a in range(p):
            for b in range(a):
                xtwx[a, b] = xtwx[b, a]
        beta = np.linalg.solve(xtwx, xtwz)  # type: ignore[assignment]
        dev = 0.0
        for i in range(n):
            e = offset[i]
            for k in range(p):
                e += x[i, k] * beta[k]
            if e > 700.0:
                e = 700.0
            elif e < -700.0:  # keep mu > 0 (R clamps mu at machine epsilon for the same reason)
                e = -700.0
            eta[i] = e
            mu[i] = math.exp(e)
            if mask[i]:
                if y[i] > 0:
                    dev += 2.0 * (y[i] * math.log(y[i] / mu[i]) - (y[i] - mu[i]))
                else:
                    dev += 2.0 * mu[i]
        if abs(dev - dev_old) / (abs(dev) + 0.1) < tol:
            converged = True
            dev_old = dev
            break
        dev_old = dev
    # final information matrix at the converged mu (the unscaled covariance is its inverse)
    xtwx[:, :] = 0.0
    loglik = 0.0
    for i in range(n):
        if not mask[i]:
            continue
        w = mu[i]
        for a in range(p):
            xa = x[i, a] * w
            if xa == 0.0:
                continue
            for b in range(a, p):
                xtwx[a, b] += xa * x[i, b]
        loglik += y[i] * math.log(mu[i]) - mu[i] - math.lgamma(y[i] + 1.0) if y[i] > 0 else -mu[i]
    for a in range(p):
        for b in range(a):
            xtwx[a, b] = xtwx[b, a]
    cov = np.linalg.inv(xtwx)
    return beta, mu, cov, dev_old, loglik, converged, it


def fit_poisson(x: FloatArray, y: npt.ArrayLike, mask: npt.ArrayLike | None = None,
                offset: npt.ArrayLike | None = None, beta0: npt.ArrayLike | None = None,
                maxit: int = 100, tol: float = 1e-12
                ) -> tuple[FloatArray, FloatArray, FloatArray, float, float, bool, int]:
    """Fit a Poisson log-linear model by IRLS (compiled).

    Parameters
    ----------
    x : ndarray (n, p)
        Design matrix of full column rank on the rows in ``mask``.
    y : array (n,)
        Counts.
    mask : bool array (n,), optional
        Rows taking part in the fit (rows outside are structural zeros); default all.
    offset : array (n,), optional
        Fixed part of the linear predictor (used by the profile likelihood).
    beta0 : array (p,), optional
        Warm start; default R's ``glm`` start ``mu = y + 0.1``.
    maxit, tol :
        Iteration cap and relative deviance tolerance (stricter than R's 1e-8 so that reference figures
        match to many digits).

    Returns
    -------
    beta, mu, cov_unscaled, deviance, loglik, converged, n_iter

    Examples
    --------
    >>> x = design_matrix([[1, 0], [0, 1], [1, 1]], [])
    >>> beta = fit_poisson(x, [40.0, 30.0, 10.0])[0]
    >>> round(float(np.exp(beta[0])), 6)  # Lincoln-Petersen dark figure 40*30/10
    120.0
    """
    xx = np.ascontiguousarray(x, dtype=np.float64)
    yy = np.ascontiguousarray(y, dtype=np.float64)
    n, p = xx.shape
    m = np.ones(n, dtype=np.bool_) if mask is None else np.ascontiguousarray(mask, dtype=np.bool_)
    off = np.zeros(n) if offset is None else np.ascontiguousarray(offset, dtype=np.float64)
    use = beta0 is not None
    b0 = np.zeros(p) if beta0 is None else np.ascontiguousarray(beta0, dtype=np.float64)
    try:
        beta, mu, cov, dev, ll, conv, it = _irls(xx, yy, m, off, b0, use, maxit, tol)
    except (np.linalg.LinAlgError, ZeroDivisionError):
        # singular information: the model is not estimable on these cells (reported, not raised, so that
        # selection loops can skip the model)
        nan_p = np.full(p, np.nan)
        return nan_p, np.full(n, np.nan), np.full((p, p), np.nan), math.inf, -math.inf, False, 0
    if not (np.isfinite(beta).all() and math.isfinite(dev)):
        conv = False
    return beta, mu, cov, float(dev), float(ll), bool(conv), int(it)


def fit_poisson_statsmodels(x: FloatArray, y: npt.ArrayLike, mask: npt.ArrayLike | None = None
                            ) -> tuple[FloatArray, FloatArray, float, float]:
    """The slow reference path: statsmodels' GLM (test oracle and benchmark baseline).

    Returns
    -------
    beta, cov_unscaled, deviance, loglik
    """
    import statsmodels.api as sm

    yy = np.asarray(y, dtype=np.float64)
    m = np.ones(len(yy), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    res = sm.GLM(yy[m], np.asarray(x)[m], family=sm.families.Poisson()).fit(tol=1e-12, maxiter=200)
    return (np.asarray(res.params), np.asarray(res.cov_params()), float(res.deviance), float(res.llf))


@njit(cache=True)
def _full_rank(a: FloatArray) -> bool:
    """Full column rank by Gaussian elimination with partial pivoting (0/1 design entries)."""
    m = a.copy()
    n, p = m.shape
    if n < p:
        return False
    for col in range(p):
        row = col  # one pivot per column (we stop at the first column without one)
        piv = row
        best = 0.0
        for r in range(row, n):
            v = abs(m[r, col])
            if v > best:
                best = v
                piv = r
        if best < 1e-9:
            return False
        if piv != row:
            for c in range(p):
                tmp = m[row, c]
                m[row, c] = m[piv, c]
                m[piv, c] = tmp
        for r in range(row + 1, n):
            f = m[r, col] / m[row, col]
            if f != 0.0:
                for c in range(col, p):
                    m[r, c] -= f * m[row, c]
    return True


def observed_full_rank(x_obs: FloatArray) -> bool:
    """Do the observed cells' rows of a design matrix have full column rank?

    When they do, the MLE exists and is identifiable (a strictly positive combination of spanning
    columns is interior to the cone), so the linear program can be skipped.

    Examples
    --------
    >>> observed_full_rank(design_matrix([[1, 0], [0, 1], [1, 1]], []))
    True
    >>> observed_full_rank(design_matrix([[1, 0], [0, 1]], []))
    False
    """
    return bool(_full_rank(np.ascontiguousarray(x_obs, dtype=np.float64)))


# ---------------------------------------------------------------------------------------------------------
# The whole of SparseMSE's stepwise selection for one table, compiled (used inside the bootstrap).
# Poisson tail probabilities via the regularised incomplete gamma function (series / continued fraction,
# as in Numerical Recipes' gammp/gammq), since scipy.special cannot be called from numba code.

@njit(cache=True)
def _gamma_pq(a: float, x: float) -> tuple[float, float]:
    """Regularised incomplete gamma ``(P(a, x), Q(a, x))``; the small one of the two is computed directly
    (series below ``a + 1``, continued fraction above) so that tiny tail probabilities keep full accuracy."""
    if x <= 0.0:
        return 0.0, 1.0
    lpre = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        ap = a
        s = 1.0 / a
        d = s
        for _ in range(100000):
            ap += 1.0
            d *= x / ap
            s += d
            if abs(d) < abs(s) * 1e-16:
                break
        pp = min(1.0, s * math.exp(lpre))
        return pp, 1.0 - pp
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        de = d * c
        h *= de
        if abs(de - 1.0) < 1e-16:
            break
    q = min(1.0, math.exp(lpre) * h)
    return 1.0 - q, q


@njit(cache=True)
def _pois_two_sided_min(n: float, lam: float) -> float:
    """min(P(X <= n), P(X >= n)) for X ~ Poisson(lam) (SparseMSE's stepwise p-value)."""
    if lam <= 0.0:
        return 1.0
    lo = _gamma_pq(n + 1.0, lam)[1]  # P(X <= n) = Q(n + 1, lam)
    hi = 1.0 if n <= 0.0 else _gamma_pq(n, lam)[0]  # P(X >= n) = P(n, lam)
    return min(lo, hi)


@njit(cache=True)
def _stepwise_core(x_all: FloatArray, y: FloatArray, t: int, pthresh: float, tol: float):
    """Returns (status, log dark figure, included pairs). status 0 = done; 1 = an identifiability check
    needs the linear program (caller falls back to the Python path); 2 = a fit failed."""
    n = x_all.shape[0]
    npairs = x_all.shape[1] - 1 - t
    included = np.zeros(npairs, dtype=np.bool_)
    nstar = np.zeros(npairs)
    for k in range(npairs):
        s = 0.0
        for i in range(n):
            s += x_all[i, 1 + t + k] * y[i]
        nstar[k] = s
    obs = y > 0
    n_obs_cells = 0
    for i in range(n):
        if obs[i]:
            n_obs_cells += 1
    # the independence model must have an MLE (select_model's guard); if the rank shortcut cannot show
    # it, hand back to the general path
    xo0 = np.empty((n_obs_cells, 1 + t))
    r0 = 0
    for i in range(n):
        if obs[i]:
            for c in range(1 + t):
                xo0[r0, c] = x_all[i, c]
            r0 += 1
    if not _full_rank(xo0):
        return 1, 0.0, included
    order = np.zeros(npairs, dtype=np.int64)  # columns in the order they were added
    n_inc = 0
    beta_full = np.zeros(1 + t + npairs)
    first = True
    mask = np.ones(n, dtype=np.bool_)
    mu = np.zeros(n)
    logdark = 0.0
    for _cycle in range(npairs + 1):
        # ---- fit the current model
        mask[:] = True
        cols = np.empty(1 + t + n_inc, dtype=np.int64)
        for c in range(1 + t):
            cols[c] = c
        p = 1 + t
        for q in range(n_inc):
            k = order[q]
            if nstar[k] == 0.0:
                for i in range(n):
                    if x_all[i, 1 + t + k] != 0.0:
                        mask[i] = False
            else:
                cols[p] = 1 + t + k
                p += 1
        x = np.empty((n, p))
        for i in range(n):
            for c in range(p):
                x[i, c] = x_all[i, cols[c]]
        b0 = np.empty(p)
        for c in range(p):
            b0[c] = beta_full[cols[c]]
        off = np.zeros(n)
        beta, mu, _cov, _dev, _ll, conv, _it = _irls(x, y, mask, off, b0, not first, 100, tol)
        first = False
        if not conv:
            return 2, 0.0, included
        for c in range(p):
            beta_full[cols[c]] = beta[c]
        logdark = beta[0]
        # ---- p-values of the candidates
        pv = np.ones(npairs)
        for k in range(npairs):
            if included[k]:
                continue
            lam = 0.0
            for i in range(n):
                if mask[i] and x_all[i, 1 + t + k] != 0.0:
                    lam += mu[i]
            pv[k] = _pois_two_sided_min(nstar[k], lam)
        # ---- candidates in order of (p, index); the first passing the identifiability check is added
        chosen = -1
        rejected = np.zeros(npairs, dtype=np.bool_)
        while True:
            best = -1
            bp = pthresh
            for k in range(npairs):
                if not included[k] and not rejected[k] and pv[k] < bp:
                    bp = pv[k]
                    best = k
            if best < 0:
                break
            # observed rows x (main effects + effective pairs of the candidate model) of full column rank?
            pc = 1 + t
            for q in range(n_inc):
                if nstar[order[q]] > 0.0:
                    pc += 1
            if nstar[best] > 0.0:
                pc += 1
            xo = np.empty((n_obs_cells, pc))
            r = 0
            for i in range(n):
                if not obs[i]:
                    continue
                c = 0
                for cc in range(1 + t):
                    xo[r, c] = x_all[i, cc]
                    c += 1
                for q in range(n_inc):
                    if nstar[order[q]] > 0.0:
                        xo[r, c] = x_all[i, 1 + t + order[q]]
                        c += 1
                if nstar[best] > 0.0:
                    xo[r, c] = x_all[i, 1 + t + best]
                r += 1
            if _full_rank(xo):
                chosen = best
                break
            return 1, 0.0, included
        if chosen < 0:
            return 0, logdark, included
        included[chosen] = True
        order[n_inc] = chosen
        n_inc += 1
    return 0, logdark, included


def stepwise_log_dark(x_all: FloatArray, y: FloatArray, t: int, pthresh: float, tol: float = 1e-10
                      ) -> tuple[int, float]:
    """Compiled stepwise selection: ``(status, log of the dark figure)``; see :func:`_stepwise_core`."""
    try:
        status, logdark, _ = _stepwise_core(x_all, np.ascontiguousarray(y, dtype=np.float64), t, pthresh, tol)
    except (np.linalg.LinAlgError, ZeroDivisionError):
        return 2, math.nan
    return int(status), float(logdark)
