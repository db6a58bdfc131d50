"""Plots shared by results and the report. Every function takes ``ax=None`` and returns the Axes,
without touching matplotlib's global state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..estimate._result import EstimateResult


def _new_axes(ax: Axes | None, height: float = 3.0) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(7, height))
    return fig.add_subplot(1, 1, 1)


def forest_plot(results: Sequence[EstimateResult], ax: Axes | None = None) -> Axes:
    """Forest plot: one row per result (and per candidate model of a single result)."""
    rows: list[tuple[str, float | None, float | None, float | None]] = []
    for r in results:
        label = r.method + (f" [{r.stratum}]" if r.stratum else "")
        rows.append((label, r.estimate, r.lower, r.upper))
        if len(results) == 1:
            for m in r.models:
                rows.append((f"  {m.model}", m.estimate, m.lower, m.upper))
    ax = _new_axes(ax, height=max(2.0, 0.35 * len(rows) + 1))
    for i, (_label, est, lo, hi) in enumerate(rows):
        y = len(rows) - 1 - i
        if est is None:
            continue
        if lo is not None:
            right = hi if hi is not None else ax.get_xlim()[1] if ax.has_data() else est * 2
            ax.plot([lo, right], [y, y], color="#355c7d", lw=2)
            if hi is None:
                ax.annotate("→ unbounded", (right, y), fontsize=7, va="center")
        ax.plot([est], [y], "o", color="#c06c84")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in reversed(rows)], fontsize=8)
    ax.set_xlabel("population size N")
    return ax
