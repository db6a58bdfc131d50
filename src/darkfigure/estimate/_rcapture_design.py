"""Design matrices and single-model fits of Rcapture's closed-population family.

Everything here follows Rcapture 1.4 (Baillargeon & Rivest 2007, *J. Stat. Softw.* 19(5); Rivest &
Lévesque 2001, *Canadian J. Statist.* 29) so that estimates, standard errors, deviances, AIC, BIC and the
``infoFit`` code match ``closedp.t``:

* the response is the vector of counts of the ``2**t - 1`` observable capture histories in Rcapture's
  order (``histpos.t``: histories read as binary numbers, first occasion most significant, descending);
* every model is a Poisson log-linear model with an intercept; ``N = n + exp(intercept)`` and
  ``se(N) = sqrt(exp(b0) + exp(2 b0) var(b0))`` except for Mb and Mbh, whose N and delta-method standard
  error come from their behavioural parametrisation;
* heterogeneity columns (functions of ``k``, the number of captures of the history): Chao (lower bound)
  ``max(k - j + 1, 0)`` for ``j = 3..t``; Poisson(θ) ``θ**k - 1``; Darroch ``k**2 / 2``; Gamma(θ)
  ``log θ - log(θ + k)``;
* Chao models constrain the η parameters to be non-negative: while an η estimate is negative the first
  negative one is removed and the model refitted (Rcapture's ``Chao.neg``);
* AIC is the Poisson ``-2 log L + 2 rank``; BIC is ``AIC + (log n - 2) rank`` with n the number observed;
* the asymptotic bias of ``exp(intercept)`` (Rivest & Lévesque 2001) is computed and a bias larger than a
  tenth of N is a fit problem; ``infoFit`` concatenates the codes 1 (no convergence or large bias),
  2 (design not of full rank), 3 (other fitting warning), 0 meaning the fit is fine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ._glm import PoissonGLMResult, fit_poisson_glm

__all__ = [
    "MODEL_SPECS",
    "ModelSpec",
    "RcaptureFit",
    "design",
    "fit_model",
    "histpos",
    "info_code",
    "rcapture_response",
]


@dataclass(frozen=True)
class ModelSpec:
    """One member of the closedp family: occasion structure ``m`` and heterogeneity ``h`` (with θ)."""

    name: str
    rcapture_name: str
    m: str  # "M0", "Mt", "Mh", "Mth", "Mb", "Mbh"
    h: str | None = None  # "Chao", "Poisson", "Darroch", "Gamma"
    theta: float | None = None


MODEL_SPECS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec("M0", "M0", "M0"),
        ModelSpec("Mt", "Mt", "Mt"),
        ModelSpec("Mh-chao", "Mh Chao (LB)", "Mh", "Chao"),
        ModelSpec("Mh-poisson", "Mh Poisson2", "Mh", "Poisson", 2.0),
        ModelSpec("Mh-darroch", "Mh Darroch", "Mh", "Darroch"),
        ModelSpec("Mh-gamma", "Mh Gamma3.5", "Mh", "Gamma", 3.5),
        ModelSpec("Mth-chao", "Mth Chao (LB)", "Mth", "Chao"),
        ModelSpec("Mth-poisson", "Mth Poisson2", "Mth", "Poisson", 2.0),
        ModelSpec("Mth-darroch", "Mth Darroch", "Mth", "Darroch"),
        ModelSpec("Mth-gamma", "Mth Gamma3.5", "Mth", "Gamma", 3.5),
        ModelSpec("Mb", "Mb", "Mb"),
        ModelSpec("Mbh", "Mbh", "Mbh"),
    )
}


def histpos(t: int) -> npt.NDArray[np.int8]:
    """All ``2**t - 1`` non-empty capture histories in Rcapture's order (descending binary).

    Examples
    --------
    >>> histpos(2).tolist()
    [[1, 1], [1, 0], [0, 1]]
    """
    values = np.arange(2**t - 1, 0, -1)
    bits = (values[:, None] >> np.arange(t - 1, -1, -1)[None, :]) & 1
    return bits.astype(np.int8)


def rcapture_response(patterns: npt.NDArray[np.int8],
                      counts: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Counts of every observable history, in :func:`histpos` order (unseen histories get 0)."""
    t = patterns.shape[1]
    weights = 1 << np.arange(t - 1, -1, -1)
    value = patterns.astype(np.int64) @ weights
    y = np.zeros(2**t - 1)
    np.add.at(y, (2**t - 1) - value, counts.astype(float))
    return y


def _heterogeneity(h: str, theta: float | None, nbcap: npt.NDArray[np.float64], t: int
                   ) -> tuple[npt.NDArray[np.float64], list[str]]:
    if h == "Chao":
        if t < 3:
            return np.zeros((nbcap.size, 1)), ["eta"]
        cols = np.column_stack([np.maximum(nbcap - j + 1, 0) for j in range(3, t + 1)])
        return cols, [f"eta{j}" for j in range(3, t + 1)]
    if h == "Poisson":
        assert theta is not None
        return (theta**nbcap - 1.0)[:, None], ["tau"]
    if h == "Darroch":
        return (nbcap**2 / 2.0)[:, None], ["tau"]
    if h == "Gamma":
        assert theta is not None
        return (-np.log(theta + nbcap) + math.log(theta))[:, None], ["tau"]
    raise ValueError(f"unknown heterogeneity {h!r}")


def design(spec: ModelSpec, t: int) -> tuple[npt.NDArray[np.float64], list[str]]:
    """Design matrix *without* the intercept column, rows in :func:`histpos` order, and column names."""
    hp = histpos(t).astype(float)
    nbcap = hp.sum(axis=1)
    if spec.m in ("M0", "Mh"):
        X, names = nbcap[:, None], ["beta"]
    elif spec.m in ("Mt", "Mth"):
        X, names = hp, [f"beta{j}" for j in range(1, t + 1)]
    elif spec.m in ("Mb", "Mbh"):
        # occasions before the first capture, and captures after the first one
        before = np.argmax(hp > 0, axis=1).astype(float)
        after = nbcap - 1.0
        if spec.m == "Mb":
            X, names = np.column_stack([before, after]), ["beta1", "beta2"]
        else:
            X, names = np.column_stack([1.0 - hp[:, 0], before, after]), ["eta", "beta1", "beta2"]
    else:
        raise ValueError(f"unknown model {spec.m!r}")
    if spec.h is not None:
        H, hn = _heterogeneity(spec.h, spec.theta, nbcap, t)
        X = np.column_stack([X, H])
        names = names + hn
    return X, names


def info_code(warnings: list[str]) -> int:
    """Rcapture's ``getInfo`` code of a list of fit warnings (0: none)."""
    if not warnings:
        return 0
    codes = set()
    for w in warnings:
        if "converge" in w or "bias is large" in w:
            codes.add(1)
        elif "design matrix not of full rank" in w:
            codes.add(2)
        elif "multinomial estimation" in w:
            codes.add(4)
        elif "lower bound" in w:
            codes.add(5)
        elif "upper bound" in w:
            codes.add(6)
        else:
            codes.add(3)
    return int("".join(str(c) for c in sorted(codes)))


def fit_with_chao_constraint(X: npt.NDArray[np.float64], names: list[str], y: npt.NDArray[np.float64],
                             n_core: int | None, offset: npt.NDArray[np.float64] | None = None,
                             start: npt.NDArray[np.float64] | None = None,
                             ) -> tuple[PoissonGLMResult, list[str], list[str], list[str]]:
    """Fit ``y ~ 1 + X``; for a Chao model (``n_core`` = number of leading coefficients, intercept included,
    that are not η) drop negative η one at a time, first one first, refitting each time.

    ``start`` (coefficients, intercept first) warm-starts the first fit when it has the right length.
    Returns the final fit, the kept column names, the removed η names and all glm warnings met.
    """
    Xi = np.column_stack([np.ones(y.size), X])
    if start is not None and (start.shape != (Xi.shape[1],) or not np.isfinite(start).all()):
        start = None
    fit = fit_poisson_glm(Xi, y, offset, start=start)
    warnings = list(fit.warnings)
    removed: list[str] = []
    kept = list(names)
    if n_core is None:
        return fit, kept, removed, warnings
    cols = X
    while True:
        eta = fit.coef[n_core:]
        neg = np.flatnonzero(~np.isnan(eta) & (eta < 0))
        if neg.size == 0:
            break
        pos = n_core - 1 + int(neg[0])  # column index in X (no intercept)
        cols = np.delete(cols, pos, axis=1)
        removed.append(kept.pop(pos))
        fit = fit_poisson_glm(np.column_stack([np.ones(y.size), cols]), y, offset)
        warnings.extend(fit.warnings)
        if fit.coef.size <= n_core:
            break
    return fit, kept, removed, warnings


@dataclass(frozen=True, eq=False)
class RcaptureFit:
    """One closedp model fitted to one table."""

    spec: ModelSpec
    n: int
    t: int
    estimate: float
    stderr: float
    deviance: float
    df: int
    aic: float
    bic: float
    bias: float
    info_fit: int
    warnings: tuple[str, ...]
    removed_eta: tuple[str, ...] = ()
    coef: dict[str, float] = field(default_factory=dict)
    glm: PoissonGLMResult | None = None


def _asymptotic_bias(fit: PoissonGLMResult, Xi: npt.NDArray[np.float64]) -> float:
    """Rivest & Lévesque (2001) asymptotic bias of ``exp(intercept)`` (Rcapture's ``bias``)."""
    if np.isnan(fit.coef).any() or np.isnan(fit.cov).any():
        return float("nan")
    V = fit.cov
    xi = -0.5 * np.einsum("ij,jk,ik->i", Xi, V, Xi)
    psi = -2.0 * Xi.T @ (fit.fitted * xi)
    psi[0] -= 1.0
    vec1 = -V @ psi
    return float(0.5 * np.exp(fit.coef[0]) * vec1[0])


def fit_model(spec: ModelSpec, y: npt.NDArray[np.float64]) -> RcaptureFit:
    """Fit one closedp model to the counts ``y`` (in :func:`histpos` order)."""
    t = round(math.log2(y.size + 1))
    n = round(float(y.sum()))
    X, names = design(spec, t)
    n_core = None
    if spec.h == "Chao":
        n_core = 2 if spec.m == "Mh" else t + 1
    fit, kept, removed, warnings = fit_with_chao_constraint(X, names, y, n_core)
    Xi = np.column_stack([np.ones(y.size), X[:, [names.index(k) for k in kept]]])
    b = fit.coef
    V = fit.cov
    ex = np.exp  # numpy's exp: a runaway coefficient gives inf/nan (reported as a fit problem), not an error
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if spec.m == "Mb":
            e1, e2 = ex(b[1]), ex(b[2])
            N = float(ex(b[0]) * (1 + e2) ** t / (1 + e2 - e1))
            v = N * np.array([1.0, e1 / (1 + e2 - e1), t * e2 / (1 + e2) - e2 / (1 + e2 - e1)])
            var = float(v @ V[:3, :3] @ v - N)
        elif spec.m == "Mbh":
            e0 = ex(b[0])
            d = 1 + ex(b[3]) - ex(b[2])
            g = ex(b[1] + b[2]) / d
            lead = e0 * (1 + ex(b[3])) ** (t - 1)
            N = float(lead * (1 + g))
            v = lead * np.array([
                1 + g,
                g,
                g + ex(b[1] + 2 * b[2]) / d**2,
                (t - 1) * ex(b[3]) / (1 + ex(b[3])) - ex(b[1] + b[2] + b[3]) / d**2,
            ])
            var = float(v @ V[:4, :4] @ v - N)
        else:
            f0 = float(ex(b[0]))
            N = n + f0
            var = float(f0 + f0**2 * V[0, 0])
        bias = _asymptotic_bias(fit, Xi)
    se = math.sqrt(var) if var >= 0 and math.isfinite(var) else float("nan")
    all_warn = list(warnings)
    if math.isfinite(bias) and abs(bias) > 0.1 * N:
        all_warn.append("the asymptotic bias is large")
    aic = fit.aic
    bic = aic + (math.log(n) - 2.0) * fit.rank
    return RcaptureFit(
        spec=spec, n=n, t=t, estimate=float(N), stderr=se, deviance=fit.deviance, df=fit.df_residual,
        aic=aic, bic=bic, bias=bias, info_fit=info_code(all_warn), warnings=tuple(all_warn),
        removed_eta=tuple(removed),
        coef={k: float(v) for k, v in zip(["Intercept", *kept], b, strict=True)}, glm=fit,
    )
