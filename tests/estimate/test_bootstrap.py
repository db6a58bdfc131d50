"""Bootstrap with the selection repeated: BCa machinery, parametric / non-parametric, percentile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from darkfigure.estimate.bootstrap import bca_quantiles, percentile_quantiles
from darkfigure.estimate.loglinear import LogLinearMSE
from darkfigure.histories import CaptureHistories


def test_type8_quantiles_match_r() -> None:
    """R: quantile(1:10, c(0.1, 0.5, 0.9), type = 8) = 1.366667 5.5 9.633333."""
    q = percentile_quantiles(np.arange(1.0, 11.0), [0.1, 0.5, 0.9])
    np.testing.assert_allclose(q, [1.3666667, 5.5, 9.6333333], rtol=1e-6)


def test_bca_reduces_to_percentile_without_bias_or_acceleration() -> None:
    reps = np.random.default_rng(0).normal(100, 10, 4001)
    est = float(np.median(reps))
    np.testing.assert_allclose(bca_quantiles(reps, est, 0.0, [0.025, 0.975]),
                               percentile_quantiles(reps, [0.025, 0.975]), rtol=1e-3)


@pytest.mark.parametrize("method", ["parametric", "nonparametric"])
@pytest.mark.parametrize("kind", ["bca", "percentile"])
def test_bootstrap_interval_brackets_estimate(mse_dir: Path, method: str, kind: str) -> None:
    h = CaptureHistories.from_csv(mse_dir / "UKdat_4.csv")
    r = LogLinearMSE(select="stepwise", bootstrap=150, bootstrap_method=method, bootstrap_interval=kind,
                     random_state=11).fit(h).result_
    assert r.lower < r.estimate < r.upper
    b = r.extra["bootstrap"]
    assert b["method"] == method and b["interval"] == kind and b["replicates"] == 150
    # the model-conditional interval is kept for comparison; the bootstrap one (selection repeated) is wider
    lo, hi = r.extra["model_conditional_interval"]
    assert (r.upper - r.lower) > 0.8 * (hi - lo)


def test_bootstrap_repeats_the_selection(mse_dir: Path) -> None:
    """Replicates differ in the selected model: their spread exceeds the fixed-model bootstrap's."""
    h = CaptureHistories.from_csv(mse_dir / "Ned_5.csv")
    sel = LogLinearMSE(select="stepwise", bootstrap=100, random_state=2,
                       bootstrap_interval="percentile").fit(h).result_
    fixed = LogLinearMSE(select="none", terms=list(sel.model), bootstrap=100, random_state=2,
                         bootstrap_interval="percentile").fit(h).result_
    assert sel.extra["bootstrap"]["replicate_sd"] > fixed.extra["bootstrap"]["replicate_sd"]
