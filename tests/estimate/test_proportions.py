"""Proportion intervals and quartiles, against hand-computed values and statsmodels' proportion_confint."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.proportion import proportion_confint

from darkfigure.estimate.proportions import proportion, proportion_ci, quantile_summary
from darkfigure.exceptions import InputError

GRID = [(0, 1), (1, 1), (0, 7), (3, 7), (7, 7), (6, 10), (1, 30), (29, 30), (48, 80), (5, 500), (250, 500)]


def test_wilson_6_of_10_matches_hand_computation():
    # z = 1.959964; centre = (6 + z²/2)/(10 + z²); half = z/(10 + z²)·sqrt(6·4/10 + z²/4)
    z = 1.959963984540054
    centre = (6 + z * z / 2) / (10 + z * z)
    half = z / (10 + z * z) * math.sqrt(6 * 4 / 10 + z * z / 4)
    lo, hi = proportion_ci(6, 10, "wilson", 0.95)
    assert lo == pytest.approx(centre - half, abs=1e-12)
    assert hi == pytest.approx(centre + half, abs=1e-12)
    # the same to 4 places as written by hand: 0.3127 – 0.8318
    assert (round(lo, 4), round(hi, 4)) == (0.3127, 0.8318)


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(("ours", "theirs"), [("wilson", "wilson"), ("clopper-pearson", "beta"),
                                              ("jeffreys", "jeffreys")])
def test_intervals_match_statsmodels_proportion_confint(ours, theirs, level):
    # same formulas: agreement to floating-point noise (1e-9)
    for k, n in GRID:
        lo, hi = proportion_ci(k, n, ours, level)
        slo, shi = proportion_confint(k, n, alpha=1 - level, method=theirs)
        assert lo == pytest.approx(float(slo), abs=1e-9), (k, n)
        assert hi == pytest.approx(float(shi), abs=1e-9), (k, n)


def test_boundaries_are_exact():
    assert proportion_ci(0, 20, "wilson")[0] == 0.0
    assert proportion_ci(20, 20, "wilson")[1] == 1.0
    assert proportion_ci(0, 20, "clopper-pearson")[0] == 0.0
    # Clopper–Pearson upper at k = 0 is 1 - (α/2)^(1/n)
    assert proportion_ci(0, 20, "clopper-pearson")[1] == pytest.approx(1 - 0.025 ** (1 / 20), abs=1e-12)


def test_intervals_contain_estimate_and_shrink_with_n():
    for m in ("wilson", "clopper-pearson", "jeffreys"):
        w_small = proportion_ci(3, 10, m)
        w_big = proportion_ci(300, 1000, m)
        assert w_small[0] < 0.3 < w_small[1]
        assert (w_big[1] - w_big[0]) < (w_small[1] - w_small[0])


def test_clopper_pearson_is_wider_than_wilson():
    cp = proportion_ci(12, 40, "clopper-pearson")
    wi = proportion_ci(12, 40, "wilson")
    assert cp[1] - cp[0] > wi[1] - wi[0]


def test_proportion_object_and_aliases():
    p = proportion(30, 50, method="exact", level=0.9, missing=4)
    assert (p.k, p.n, p.estimate, p.method, p.missing) == (30, 50, 0.6, "clopper-pearson", 4)
    assert p.to_dict()["lower"] == pytest.approx(float(proportion_confint(30, 50, 0.1, "beta")[0]))


@pytest.mark.parametrize(("k", "n", "method", "level"), [(-1, 5, "wilson", 0.95), (6, 5, "wilson", 0.95),
                                                         (0, 0, "wilson", 0.95), (1, 5, "wald", 0.95),
                                                         (1, 5, "wilson", 1.0)])
def test_bad_input_raises(k, n, method, level):
    with pytest.raises(InputError):
        proportion_ci(k, n, method, level)


def test_quartiles_match_r_type_7_by_hand():
    # R: quantile(c(1, 2, 3, 4), c(.25, .5, .75)) -> 1.75 2.5 3.25 (type 7: h = (n-1)p)
    s = quantile_summary([4, 1, 3, 2])
    assert (s.q1, s.median, s.q3) == (1.75, 2.5, 3.25)
    s = quantile_summary([12, 15, None, 19, float("nan"), 22, 29])
    # sorted 12 15 19 22 29: q1 at h = 1 -> 15, median 19, q3 at h = 3 -> 22
    assert (s.n, s.missing, s.q1, s.median, s.q3) == (5, 2, 15.0, 19.0, 22.0)
    assert s.mean == pytest.approx((12 + 15 + 19 + 22 + 29) / 5)


def test_quartiles_of_nothing():
    s = quantile_summary([None, None])
    assert (s.n, s.missing, s.median) == (0, 2, None)
