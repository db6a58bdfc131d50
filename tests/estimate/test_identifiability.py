"""Existence / identifiability of the MLE: the fast paths against SparseMSE's LP applied model by model."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from darkfigure.estimate._fast import all_pairs, design_matrix
from darkfigure.estimate.identifiability import (
    _all_models_bruteforce,
    _lp_no_mle,
    check_all_models,
    check_identifiability,
    ident_arrays,
    parse_terms,
)
from darkfigure.exceptions import EstimationError
from darkfigure.histories import CaptureHistories


def test_artificial_3_codes_as_in_sparsemse_help(mse_dir: Path) -> None:
    """SparseMSE's checkident examples on Artificial_3: all effects -> 2, A:B -> 1, A:C + B:C -> 0."""
    h = CaptureHistories.from_csv(mse_dir / "Artificial_3.csv")
    assert check_identifiability(h, "all").ierr == 2
    assert check_identifiability(h, "A:B").ierr == 1
    r = check_identifiability(h, "A:C,B:C")
    assert r.ierr == 0 and r.mle_exists and r.identifiable and r.empty_overlaps == ("A:C", "B:C")
    assert check_identifiability(h, None).ierr == 0


def _random_sparse_table(rng: np.random.Generator, t: int) -> CaptureHistories:
    pats = [p for p in itertools.product((0, 1), repeat=t) if any(p)]
    counts = {}
    for p in pats:
        k = sum(p)
        lam = 20.0 if k == 1 else (0.6 if k == 2 else 0.15)
        c = int(rng.poisson(lam))
        if c:
            counts[p] = c
    for j in range(t):  # every list non-empty
        e = tuple(int(i == j) for i in range(t))
        counts[e] = counts.get(e, 0) + 1
    return CaptureHistories.from_dict([chr(65 + j) for j in range(t)], counts)


def test_check_all_models_equals_one_lp_per_model_on_random_sparse_tables() -> None:
    """The null-space / unique-mask shortcut must give exactly what SparseMSE's LP gives model by model."""
    rng = np.random.default_rng(7)
    n_with_failures = 0
    for _ in range(12):
        h = _random_sparse_table(rng, 4)
        fast = check_all_models(h)
        slow = _all_models_bruteforce(h)
        assert fast == slow
        n_with_failures += bool(slow)
    assert n_with_failures >= 3  # the test must exercise models without an MLE


def test_rank_shortcut_agrees_with_lp_on_neworl(mse_dir: Path) -> None:
    """NewOrl: 'every model has an MLE' comes from the rank shortcut; check 150 random models by the LP."""
    h = CaptureHistories.from_csv(mse_dir / "NewOrl.csv")
    assert check_all_models(h) == []
    cells, counts = h.full_table()
    pairs = all_pairs(8)
    rng = np.random.default_rng(1)
    for _ in range(150):
        sub = [pairs[k] for k in rng.choice(28, size=int(rng.integers(1, 12)), replace=False)]
        keep = np.ones(len(counts), dtype=bool)
        eff = []
        for i, j in sub:
            both = (cells[:, i] == 1) & (cells[:, j] == 1)
            if counts[both].sum() == 0:
                keep &= ~both
            else:
                eff.append((i, j))
        x = design_matrix(cells[keep], eff)
        assert not _lp_no_mle(x.T, x.T @ counts[keep])
        assert ident_arrays(cells, counts, sub)[0] & 1 == 0


def test_parse_terms() -> None:
    assert parse_terms("all", ["A", "B", "C"]) == [(0, 1), (0, 2), (1, 2)]
    assert parse_terms(None, ["A", "B"]) == []
    assert parse_terms([(2, 0)], ["A", "B", "C"]) == [(0, 2)]
    with pytest.raises(EstimationError):
        parse_terms("A:A", ["A", "B"])
