"""The self-contained HTML report and the plots shared with results.

``build_report(results_dir, output)`` reads a results folder (``data.json``, ``linkage.json``,
``histories.csv``, ``estimates/*.json``, ``findings.json``, ``claims.json``, ``economic.json``,
``truth.json``, ``provenance.json``) and writes one HTML file with inline CSS and SVG, no scripts and no
network access.
"""

from .build import SECTIONS, build_report, load_results, render_report
from .plots import bar_plot, forest_plot, proportions_plot, tornado_plot, upset_plot, value_histogram

__all__ = [
    "SECTIONS",
    "bar_plot",
    "build_report",
    "forest_plot",
    "load_results",
    "proportions_plot",
    "render_report",
    "tornado_plot",
    "upset_plot",
    "value_histogram",
]
