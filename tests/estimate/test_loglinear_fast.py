"""The compiled stepwise path used in the bootstrap must choose exactly what the general path chooses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import special

from darkfigure.estimate._fast import _pois_two_sided_min, stepwise_log_dark
from darkfigure.estimate.loglinear import _Table, select_model
from darkfigure.exceptions import NotEstimableError
from darkfigure.histories import CaptureHistories


def test_poisson_tail_matches_scipy() -> None:
    """Both tails to 1e-9 relative, down to 1e-290 (stepwise compares tiny p-values with each other)."""
    rng = np.random.default_rng(0)
    for _ in range(3000):
        n = float(rng.integers(0, 3000))
        lam = float(np.exp(rng.uniform(-3, 8.5)))
        ref = min(special.pdtr(n, lam), special.pdtrc(n - 1, lam) if n > 0 else 1.0)
        if ref > 1e-290:
            assert _pois_two_sided_min(n, lam) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("name", ["Ned", "UKdat", "Western", "NewOrl"])
def test_compiled_stepwise_equals_general_path_on_bootstrap_draws(mse_dir: Path, name: str) -> None:
    h = CaptureHistories.from_csv(mse_dir / f"{name}.csv")
    tab = _Table(*h.full_table())
    draws = np.random.default_rng(1).multinomial(int(tab.nobs), tab.counts / tab.nobs, size=60)
    compared = 0
    for d in draws.astype(float):
        status, logdark = stepwise_log_dark(tab.x_all, d, tab.t, 0.02)
        if status:  # handed back to the general path: nothing to compare
            continue
        try:
            ref = select_model(tab.with_counts(d, tol=1e-10), "stepwise", (), 0.02).estimate
        except NotEstimableError:
            continue
        assert d.sum() + math.exp(logdark) == pytest.approx(ref, rel=1e-6)
        compared += 1
    assert compared >= 30
