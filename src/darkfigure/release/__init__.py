"""Disclosure control: only aggregates leave the store, and small cells never do.

Small-cell suppression (primary and secondary), k-anonymity checks, optional differential privacy for
counts (OpenDP) and a release manifest.
"""

from .dp import DPCounts, dp_counts
from .kanon import KAnonymityReport, check_k_anonymity
from .manifest import ReleaseManifest
from .suppression import (
    DEFAULT_THRESHOLD,
    SuppressionResult,
    is_small,
    suppress_frequencies,
    suppress_share,
    suppress_table,
    suppressed_label,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "DPCounts",
    "KAnonymityReport",
    "ReleaseManifest",
    "SuppressionResult",
    "check_k_anonymity",
    "dp_counts",
    "is_small",
    "suppress_frequencies",
    "suppress_share",
    "suppress_table",
    "suppressed_label",
]
