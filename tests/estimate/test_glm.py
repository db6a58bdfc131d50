"""The numpy Poisson IRLS against statsmodels (the oracle), and its behaviour on hard designs."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from darkfigure.estimate._glm import fit_poisson_glm, poisson_deviance, poisson_loglik


def _random_problem(seed: int, n: int = 40, p: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    beta = rng.normal(scale=0.4, size=p)
    beta[0] = 1.5
    offset = rng.normal(scale=0.2, size=n)
    y = rng.poisson(np.exp(X @ beta + offset)).astype(float)
    return X, y, offset


@pytest.mark.parametrize("seed", range(5))
def test_matches_statsmodels_with_offset_and_weights(seed: int) -> None:
    X, y, offset = _random_problem(seed)
    w = np.random.default_rng(100 + seed).uniform(0.5, 2.0, size=y.size)
    ours = fit_poisson_glm(X, y, offset=offset, weights=w)
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset, var_weights=w).fit(tol=1e-12)
    # Both converge to the same optimum; 1e-6 relative leaves room for the two stopping rules (R's
    # deviance criterion 1e-8 here, a tighter one in statsmodels).
    assert ours.converged
    np.testing.assert_allclose(ours.coef, ref.params, rtol=1e-6, atol=1e-8)
    # R (and we) report the covariance with the weights of the last WLS step, which lag the final fit by
    # one iteration: under R's deviance rule that is about sqrt(1e-8) = 1e-4 relative, so 2e-3 here; a
    # tight convergence tolerance makes the two agree to 1e-7.
    scale = float(np.abs(ref.cov_params()).max())  # absolute slack for near-zero covariances
    np.testing.assert_allclose(ours.cov, ref.cov_params(), rtol=2e-3, atol=2e-3 * scale)
    tight = fit_poisson_glm(X, y, offset=offset, weights=w, tol=1e-15, max_iter=100)
    np.testing.assert_allclose(tight.cov, ref.cov_params(), rtol=1e-6, atol=1e-8 * scale)
    np.testing.assert_allclose(ours.deviance, ref.deviance, rtol=1e-8)
    np.testing.assert_allclose(ours.fitted, ref.fittedvalues, rtol=1e-6)
    assert ours.rank == 4 and ours.df_residual == y.size - 4


def test_loglik_and_aic_match_statsmodels() -> None:
    X, y, offset = _random_problem(7)
    ours = fit_poisson_glm(X, y, offset=offset)
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(tol=1e-12)
    np.testing.assert_allclose(ours.loglik, ref.llf, rtol=1e-9)
    np.testing.assert_allclose(ours.aic, ref.aic, rtol=1e-9)


def test_aliased_column_is_reported_and_rest_is_the_reduced_fit() -> None:
    X, y, _ = _random_problem(3)
    X_dup = np.column_stack([X[:, :2], X[:, 1] * 2.0 - X[:, 0], X[:, 2:]])  # col 2 = 2*col1 - col0
    full = fit_poisson_glm(X_dup, y)
    reduced = fit_poisson_glm(X, y)
    assert full.aliased.tolist() == [False, False, True, False, False]
    assert np.isnan(full.coef[2]) and np.isnan(full.cov[2]).all()
    assert "design matrix not of full rank" in full.warnings
    assert full.rank == 4 and full.df_residual == reduced.df_residual
    np.testing.assert_allclose(full.coef[[0, 1, 3, 4]], reduced.coef, rtol=1e-8)
    np.testing.assert_allclose(full.deviance, reduced.deviance, rtol=1e-10)


def test_non_existent_mle_is_flagged() -> None:
    # Complete separation: every count at x = 1 is zero, so the slope runs to minus infinity.
    X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1]])
    y = np.array([3.0, 5.0, 4.0, 0.0, 0.0, 0.0])
    fit = fit_poisson_glm(X, y)
    # R's glm "converges" here (the deviance stops changing) without any warning; we expose the cells
    # whose fitted counts collapse to zero so callers can say the MLE does not exist.
    assert fit.coef[1] < -15
    assert fit.near_zero_fitted.tolist() == [False, False, False, True, True, True]
    well_posed = fit_poisson_glm(X, np.array([3.0, 5.0, 4.0, 1.0, 0.0, 2.0]))
    assert not well_posed.near_zero_fitted.any()


def test_zero_weight_rows_are_ignored() -> None:
    X, y, _ = _random_problem(11)
    w = np.ones(y.size)
    w[:5] = 0.0
    a = fit_poisson_glm(X, y, weights=w)
    b = fit_poisson_glm(X[5:], y[5:])
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-8)
    assert a.df_residual == b.df_residual


def test_step_halving_on_increase_reaches_the_same_optimum() -> None:
    X, y, _ = _random_problem(5)
    plain = fit_poisson_glm(X, y)
    start = plain.coef + np.array([3.0, -2.0, 2.0, -1.0])  # far away: full Newton steps overshoot
    halved = fit_poisson_glm(X, y, start=start, halve_on_increase=True, max_iter=100)
    assert halved.converged
    np.testing.assert_allclose(halved.coef, plain.coef, rtol=1e-5)


def test_invalid_inputs_raise() -> None:
    X = np.ones((3, 1))
    with pytest.raises(ValueError):
        fit_poisson_glm(X, np.array([1.0, -1.0, 2.0]))
    with pytest.raises(ValueError):
        fit_poisson_glm(X, np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        fit_poisson_glm(X, np.array([1.0, np.nan, 2.0]))


def test_deviance_and_loglik_helpers() -> None:
    y = np.array([0.0, 2.0, 5.0])
    mu = np.array([0.5, 2.5, 4.0])
    expected = 2 * (0.5 + (2 * np.log(2 / 2.5) - (2 - 2.5)) + (5 * np.log(5 / 4) - 1))
    assert poisson_deviance(y, mu) == pytest.approx(expected, rel=1e-12)
    assert poisson_deviance(y, y) == pytest.approx(0.0, abs=1e-12)
    from scipy.stats import poisson

    assert poisson_loglik(y, mu) == pytest.approx(poisson.logpmf(y, mu).sum(), rel=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60), min_size=6, max_size=12),
       st.integers(min_value=0, max_value=10_000))
def test_score_equations_hold_at_convergence(counts: list[int], seed: int) -> None:
    y = np.array(counts, dtype=float)
    if y.sum() == 0:
        return
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(y.size), rng.integers(0, 2, size=(y.size, 2))])
    fit = fit_poisson_glm(X, y, max_iter=100)
    kept = ~fit.aliased
    # With an intercept the fitted total equals the observed total; at an interior optimum the score
    # X'(y - mu) vanishes (up to the deviance-based stopping rule).
    assert fit.fitted.sum() == pytest.approx(y.sum(), rel=1e-6, abs=1e-6)
    if fit.converged and not fit.warnings:
        score = X[:, kept].T @ (y - fit.fitted)
        assert np.abs(score).max() < 1e-3 * max(1.0, y.sum())
