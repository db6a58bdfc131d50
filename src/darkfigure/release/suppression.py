"""Small-cell suppression: counts under a threshold never leave the store.

Primary suppression hides every count ``c`` with ``0 < c < threshold`` (shown as ``"<5"`` for the default
threshold of 5; CTDC used 11). Zeros are shown: "none of the n" is a statement about the group, and hiding it
would hide most of the structure of sparse tables.

Secondary suppression hides further cells when a suppressed cell could be recovered from the totals that are
shown: in an additive table (cells that partition their margin), a row or column with exactly one hidden cell
gets its smallest other non-zero cell hidden too, repeated until no row or column has a single hidden cell.
For a yes/no share (``k`` of ``n``), the complement ``n - k`` is also a cell: a share is hidden when either
``k`` or ``n - k`` is small ("all but 2 of the 40" identifies the 2 as much as "2 of the 40").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..exceptions import ReleaseError

__all__ = [
    "DEFAULT_THRESHOLD",
    "SuppressionResult",
    "is_small",
    "suppress_frequencies",
    "suppress_share",
    "suppress_table",
    "suppressed_label",
]

DEFAULT_THRESHOLD = 5


def _check_threshold(threshold: int) -> None:
    if int(threshold) != threshold or threshold < 1:
        raise ReleaseError("the suppression threshold must be a positive integer")


def suppressed_label(threshold: int = DEFAULT_THRESHOLD) -> str:
    """How a hidden count is shown, e.g. ``"<5"``.

    Examples
    --------
    >>> suppressed_label(11)
    '<11'
    """
    return f"<{threshold}"


def is_small(count: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """True when ``count`` must be hidden (``0 < count < threshold``).

    Examples
    --------
    >>> is_small(0), is_small(4), is_small(5)
    (False, True, False)
    """
    return 0 < int(count) < threshold


def suppress_share(k: int, n: int, threshold: int = DEFAULT_THRESHOLD) -> bool:
    """True when the share ``k / n`` must be hidden: ``k`` or ``n - k`` is small, or ``n`` itself is.

    Examples
    --------
    >>> suppress_share(20, 40), suppress_share(3, 40), suppress_share(38, 40)
    (False, True, True)
    """
    _check_threshold(threshold)
    return is_small(k, threshold) or is_small(n - k, threshold) or is_small(n, threshold)


@dataclass(frozen=True)
class SuppressionResult:
    """Which cells of a table are hidden, and why."""

    primary: npt.NDArray[np.bool_]
    secondary: npt.NDArray[np.bool_]

    @property
    def hidden(self) -> npt.NDArray[np.bool_]:
        """All hidden cells."""
        return self.primary | self.secondary

    @property
    def n_primary(self) -> int:
        return int(self.primary.sum())

    @property
    def n_secondary(self) -> int:
        return int(self.secondary.sum())


def _complete_secondary(values: npt.NDArray[np.int64], hidden: npt.NDArray[np.bool_],
                        groups: list[npt.NDArray[np.intp]]) -> npt.NDArray[np.bool_]:
    """Hide more cells until no additive group has exactly one hidden cell."""
    hidden = hidden.copy()
    changed = True
    while changed:
        changed = False
        for idx in groups:
            h = hidden[idx]
            if h.sum() != 1:
                continue
            # candidates: shown cells of the group; non-zero ones first (a zero hides nothing), smallest first
            cand = [i for i in idx if not hidden[i]]
            if not cand:
                continue
            nz = [i for i in cand if values[i] > 0]
            pick = min(nz or cand, key=lambda i: (values[i], i))
            hidden[pick] = True
            changed = True
    return hidden


def suppress_frequencies(counts: Mapping[str, int], threshold: int = DEFAULT_THRESHOLD,
                         additive: bool = True) -> SuppressionResult:
    """Suppress a one-way frequency table.

    Parameters
    ----------
    counts : mapping of category to count
    threshold : int
        Counts ``0 < c < threshold`` are hidden.
    additive : bool
        True when the categories partition a total that is shown (single-select questions): then one hidden
        cell forces a second one. False for multi-select questions, where counts do not add up.

    Returns
    -------
    SuppressionResult
        Masks in the order of ``counts``.

    Examples
    --------
    >>> r = suppress_frequencies({"a": 3, "b": 10, "c": 20})
    >>> r.primary.tolist(), r.secondary.tolist()
    ([True, False, False], [False, True, False])
    """
    _check_threshold(threshold)
    vals = np.array([int(v) for v in counts.values()], dtype=np.int64)
    prim = (vals > 0) & (vals < threshold)
    if not additive or len(vals) == 0:
        return SuppressionResult(prim, np.zeros_like(prim))
    hidden = _complete_secondary(vals, prim, [np.arange(len(vals))])
    return SuppressionResult(prim, hidden & ~prim)


def suppress_table(table: npt.ArrayLike, threshold: int = DEFAULT_THRESHOLD,
                   additive: bool = True) -> SuppressionResult:
    """Suppress a two-way table whose row and column totals (and grand total) are published.

    Parameters
    ----------
    table : array of shape (r, c)
        Cell counts (without margins).
    threshold : int
        Counts ``0 < c < threshold`` are hidden.
    additive : bool
        True when the cells partition the margins (single-select × single-select). For multi-select questions
        cells do not add up to any published total and only primary suppression applies.

    Returns
    -------
    SuppressionResult
        Masks of shape ``(r + 1, c + 1)``: the last row holds the column totals, the last column the row
        totals, the corner the grand total. Margins are suppressed like cells; a hidden margin is treated as
        one more cell of the margin row/column for secondary suppression.

    Examples
    --------
    >>> r = suppress_table([[2, 10], [10, 10]])
    >>> r.hidden.astype(int).tolist()
    [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    """
    _check_threshold(threshold)
    t = np.asarray(table, dtype=np.int64)
    if t.ndim != 2:
        raise ReleaseError("suppress_table needs a two-way table")
    r, c = t.shape
    full = np.zeros((r + 1, c + 1), dtype=np.int64)
    full[:r, :c] = t
    full[:r, c] = t.sum(axis=1)
    full[r, :c] = t.sum(axis=0)
    full[r, c] = t.sum()
    prim = (full > 0) & (full < threshold)
    if not additive:
        # without additivity only the cells are published (no margins): hide the small ones
        prim[:r, c] = False
        prim[r, :] = False
        return SuppressionResult(prim, np.zeros_like(prim))
    flat = full.ravel()
    ncol = c + 1
    groups = [np.array([i * ncol + j for j in range(c + 1)], dtype=np.intp) for i in range(r + 1)]
    groups += [np.array([i * ncol + j for i in range(r + 1)], dtype=np.intp) for j in range(c + 1)]
    hidden = _complete_secondary(flat, prim.ravel(), groups).reshape(full.shape)
    return SuppressionResult(prim, hidden & ~prim)
