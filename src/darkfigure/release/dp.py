"""Optional differential privacy for released counts, with OpenDP (``pip install 'darkfigure[privacy]'``).

Each count gets discrete Laplace (geometric) noise from OpenDP's vetted sampler. With sensitivity 1 (adding
or removing one person changes a count by at most 1) the noise scale is ``1 / epsilon`` and the release is
``epsilon``-differentially private per count; releasing ``m`` counts of disjoint groups costs ``epsilon``
in total, of overlapping groups up to ``m · epsilon`` (basic composition) — the manifest records both.
The noise comes from the operating system's secure random source and cannot be seeded: a seeded DP
release would be reproducible by an attacker too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..exceptions import OptionalDependencyError, ReleaseError

__all__ = ["DPCounts", "dp_counts"]


@dataclass(frozen=True)
class DPCounts:
    """Noisy counts and what they cost."""

    counts: dict[str, int]
    epsilon_per_count: float
    scale: float
    disjoint: bool

    @property
    def epsilon_total(self) -> float:
        """Privacy loss of the whole release (parallel composition if the groups are disjoint)."""
        return self.epsilon_per_count if self.disjoint else self.epsilon_per_count * len(self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "mechanism": "discrete Laplace (OpenDP)",
                "epsilon_per_count": self.epsilon_per_count, "epsilon_total": self.epsilon_total,
                "scale": self.scale, "disjoint": self.disjoint}


def _opendp() -> Any:
    try:
        import opendp.prelude as dp
    except ImportError:  # pragma: no cover - depends on the environment
        raise OptionalDependencyError("opendp", "privacy") from None
    dp.enable_features("contrib")
    return dp


def dp_counts(counts: Mapping[str, int], epsilon: float, disjoint: bool = True) -> DPCounts:
    """Add discrete Laplace noise to each count (sensitivity 1), clamping the result at zero.

    Parameters
    ----------
    counts : mapping of label to true count
    epsilon : float
        Privacy loss per count (> 0). Smaller is more private and noisier.
    disjoint : bool
        True when each person is in at most one of the counts (then the total loss is ``epsilon``).

    Returns
    -------
    DPCounts
    """
    if not epsilon > 0:
        raise ReleaseError("epsilon must be positive")
    dp = _opendp()
    scale = 1.0 / float(epsilon)
    meas = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=scale)
    # OpenDP's own privacy map is the check that the stated epsilon is what this mechanism gives
    if meas.map(1) > epsilon * (1 + 1e-9):
        raise ReleaseError("the noise mechanism does not meet the requested epsilon")
    noisy = {str(k): max(0, int(meas(int(v)))) for k, v in counts.items()}
    return DPCounts(noisy, float(epsilon), scale, disjoint)
