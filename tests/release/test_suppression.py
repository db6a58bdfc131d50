"""Small-cell suppression: primary, secondary, and that hidden cells cannot be recovered."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darkfigure.exceptions import ReleaseError
from darkfigure.release import (
    is_small,
    suppress_frequencies,
    suppress_share,
    suppress_table,
    suppressed_label,
)


def test_primary_threshold_and_label():
    assert [is_small(c) for c in (0, 1, 4, 5, 11)] == [False, True, True, False, False]
    assert [is_small(c, 11) for c in (5, 10, 11)] == [True, True, False]
    assert suppressed_label() == "<5" and suppressed_label(11) == "<11"


def test_share_hides_small_complement():
    assert suppress_share(36, 40) is True  # 4 without: identifies them
    assert suppress_share(35, 40) is False
    assert suppress_share(0, 40) is False and suppress_share(40, 40) is False
    with pytest.raises(ReleaseError):
        suppress_share(1, 2, threshold=0)


def test_one_way_secondary():
    r = suppress_frequencies({"a": 2, "b": 30, "c": 7, "d": 0})
    assert r.primary.tolist() == [True, False, False, False]
    assert r.secondary.tolist() == [False, False, True, False]  # smallest non-zero other cell
    r = suppress_frequencies({"a": 2, "b": 3, "c": 30})
    assert r.n_secondary == 0  # two hidden already
    r = suppress_frequencies({"a": 2, "b": 30}, additive=False)
    assert r.n_secondary == 0


def test_two_way_table_hand_example():
    t = [[1, 9, 10], [8, 12, 15], [20, 20, 20]]
    r = suppress_table(t)
    h = r.hidden
    assert h[0, 0]  # primary
    # each row and column with margins has 0 or >= 2 hidden cells
    for i in range(h.shape[0]):
        assert h[i].sum() != 1
    for j in range(h.shape[1]):
        assert h[:, j].sum() != 1


def _recoverable(full: np.ndarray, hidden: np.ndarray) -> bool:
    """True when some hidden cell is the only hidden one in its row or column (so sums give it back)."""
    return any(hidden[i].sum() == 1 for i in range(hidden.shape[0])) or any(
        hidden[:, j].sum() == 1 for j in range(hidden.shape[1]))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4), st.integers(2, 4), st.data())
def test_no_hidden_cell_is_alone_in_a_row_or_column(r, c, data):
    t = np.array(data.draw(st.lists(st.integers(0, 30), min_size=r * c, max_size=r * c))).reshape(r, c)
    res = suppress_table(t)
    full = np.zeros((r + 1, c + 1), dtype=int)
    full[:r, :c] = t
    assert not _recoverable(full, res.hidden)
    # every primary cell stays hidden; no cell is hidden twice over
    assert not (res.primary & res.secondary).any()
    small = [(i, j) for i, j in itertools.product(range(r), range(c)) if 0 < t[i, j] < 5]
    assert all(res.hidden[i, j] for i, j in small)


def test_non_additive_table_only_primary():
    r = suppress_table([[1, 30], [30, 30]], additive=False)
    assert r.hidden[:2, :2].tolist() == [[True, False], [False, False]]
    assert r.n_secondary == 0
