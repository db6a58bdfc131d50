"""Plots shared by results and the report. Every function takes ``ax=None`` and returns the Axes,
without touching matplotlib's global state."""

from __future__ import annotations

import itertools
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
    methods = [r.method for r in results]
    for r in results:
        label = r.method
        if methods.count(r.method) > 1 and isinstance(r.model, str):
            label += f" {r.model}"  # e.g. several Rcapture models side by side
        label += f" [{r.stratum}]" if r.stratum else ""
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


def _millions(x: float) -> str:
    return f"{x / 1e6:,.0f}M" if abs(x) >= 1e6 else f"{x:,.0f}"


def value_histogram(economic: dict, ax: Axes | None = None) -> Axes:
    """Histogram of the Monte Carlo annual value (``economic.json`` content), with median, 95% interval and
    the point-value figure marked."""
    ax = _new_axes(ax, height=3.2)
    edges = economic["histogram"]["edges"]
    counts = economic["histogram"]["counts"]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color="#6c8ebf", edgecolor="white", lw=0.3)
    ax.axvline(economic["median"], color="#222222", lw=1.5, label=f"median {_millions(economic['median'])}")
    lo, hi = economic["interval95"]
    ax.axvspan(lo, hi, color="#6c8ebf", alpha=0.12, label=f"95% interval {_millions(lo)}–{_millions(hi)}")
    pt = economic["point"]["prostitution"]
    ax.axvline(pt, color="#c06c84", ls="--", lw=1.5, label=f"point values, prostitution {_millions(pt)}")
    ax.set_xlabel("annual market value (USD)")
    ax.set_ylabel("draws")
    ax.xaxis.set_major_formatter(lambda x, _pos: _millions(x))
    ax.legend(fontsize=7, frameon=False)
    return ax


def tornado_plot(economic: dict, ax: Axes | None = None, top: int = 10) -> Axes:
    """Tornado plot: the total when each assumption moves to its 2.5% / 97.5% quantile, others at median."""
    rows = list(economic["tornado"])[:top]
    ax = _new_axes(ax, height=max(2.0, 0.35 * len(rows) + 1))
    base = rows[0]["base"] if rows else 0.0
    for i, t in enumerate(rows):
        y = len(rows) - 1 - i
        lo, hi = sorted((t["output_low"], t["output_high"]))
        ax.barh(y, hi - lo, left=lo, color="#6c8ebf", height=0.6)
    ax.axvline(base, color="#222222", lw=1)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([t["label"] for t in reversed(rows)], fontsize=7)
    ax.set_xlabel("annual market value (USD) when one assumption moves over its 95% range")
    ax.xaxis.set_major_formatter(lambda x, _pos: _millions(x))
    return ax


def upset_plot(lists: Sequence[str], patterns: Sequence[Sequence[int]], counts: Sequence[int],
               ax: Axes | None = None, top: int = 20) -> Axes:
    """UpSet-style plot of list overlaps: bars for the counts of each capture pattern (largest first) over a
    dot matrix showing which lists the pattern touches."""
    order = sorted(range(len(counts)), key=lambda i: -counts[i])[:top]
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 2.4 + 0.3 * len(lists)))
        gs = fig.add_gridspec(2, 1, height_ratios=[3, max(1, 0.45 * len(lists))], hspace=0.05)
        ax = fig.add_subplot(gs[0])
        mat = fig.add_subplot(gs[1], sharex=ax)
    else:
        mat = ax.inset_axes((0.0, -0.6, 1.0, 0.5), sharex=ax)
    xs = list(range(len(order)))
    ax.bar(xs, [counts[i] for i in order], color="#355c7d")
    for x, i in zip(xs, order, strict=True):
        ax.annotate(f"{counts[i]}", (x, counts[i]), ha="center", va="bottom", fontsize=6)
    ax.set_ylabel("people")
    ax.tick_params(axis="x", bottom=False, labelbottom=False)
    # one scatter for the grey grid, one for the filled dots, one vlines call: cheap to draw and to render
    gx = [x for x in xs for _ in lists]
    gy = [j for _ in xs for j in range(len(lists))]
    mat.scatter(gx, gy, color="#dddddd", s=18)
    on = [(x, j) for x, i in zip(xs, order, strict=True) for j, b in enumerate(patterns[i]) if b]
    mat.scatter([p[0] for p in on], [p[1] for p in on], color="#222222", s=18)
    spans = [(x, min(j for xx, j in on if xx == x), max(j for xx, j in on if xx == x)) for x in xs]
    spans = [s for s in spans if s[2] > s[1]]
    if spans:
        mat.vlines([s[0] for s in spans], [s[1] for s in spans], [s[2] for s in spans], color="#222222",
                   lw=1.2)
    mat.set_yticks(range(len(lists)))
    mat.set_yticklabels(list(lists), fontsize=7)
    mat.set_ylim(-0.5, len(lists) - 0.5)
    mat.invert_yaxis()
    mat.tick_params(axis="x", bottom=False, labelbottom=False)
    for s in ("top", "right", "bottom"):
        mat.spines[s].set_visible(False)
    return ax


def proportions_plot(rows: Sequence[dict], ax: Axes | None = None, title: str = "") -> Axes:
    """Dot-and-interval plot of released shares (``findings.json`` rows; suppressed rows are skipped)."""
    shown = [r for r in rows if not r.get("suppressed") and r.get("estimate") is not None and r.get("k")]
    ax = _new_axes(ax, height=max(1.6, 0.3 * len(shown) + 0.9))
    for i, r in enumerate(shown):
        y = len(shown) - 1 - i
        ax.plot([r["lower"], r["upper"]], [y, y], color="#355c7d", lw=2)
        ax.plot([r["estimate"]], [y], "o", color="#c06c84")
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([str(r.get("label") or r["code"]) for r in reversed(shown)], fontsize=7)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:.0%}")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def bar_plot(labels: Sequence[str], values: Sequence[float], ax: Axes | None = None, xlabel: str = "",
             ylabel: str = "") -> Axes:
    """Plain bar chart (e.g. match-weight histogram, cluster sizes)."""
    ax = _new_axes(ax, height=2.6)
    ax.bar(range(len(values)), values, color="#355c7d")
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(list(labels), fontsize=6, rotation=45 if len(labels) > 8 else 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
