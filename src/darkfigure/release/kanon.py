"""k-anonymity check on quasi-identifiers before any record-level table could leave the store.

darkfigure releases aggregates only; this check is for the (rare) case where a partner asks for a
de-identified extract, and for documenting how identifying the coarse fields kept in clear are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..exceptions import ReleaseError

__all__ = ["KAnonymityReport", "check_k_anonymity"]


@dataclass(frozen=True)
class KAnonymityReport:
    """Result of :func:`check_k_anonymity` (counts only, never values).

    Attributes
    ----------
    k : int
        The required minimum class size.
    quasi_identifiers : tuple of str
        Columns whose combination was checked.
    smallest_class : int
        Size of the smallest equivalence class (0 for an empty frame).
    n_classes : int
        Number of distinct combinations.
    n_small_classes : int
        Classes with fewer than ``k`` records.
    n_records_at_risk : int
        Records in those classes.
    """

    k: int
    quasi_identifiers: tuple[str, ...]
    smallest_class: int
    n_classes: int
    n_small_classes: int
    n_records_at_risk: int

    @property
    def ok(self) -> bool:
        """True when every class has at least ``k`` records."""
        return self.n_small_classes == 0

    def to_dict(self) -> dict[str, Any]:
        return {"k": self.k, "quasi_identifiers": list(self.quasi_identifiers),
                "smallest_class": self.smallest_class, "n_classes": self.n_classes,
                "n_small_classes": self.n_small_classes, "n_records_at_risk": self.n_records_at_risk,
                "ok": self.ok}


def check_k_anonymity(frame: pd.DataFrame, quasi_identifiers: Sequence[str], k: int = 5) -> KAnonymityReport:
    """Check that every combination of ``quasi_identifiers`` is shared by at least ``k`` records.

    Missing values form their own class (a blank is as telling as a value). List-valued cells are compared
    as sorted tuples.

    Examples
    --------
    >>> df = pd.DataFrame({"province": ["A"] * 5 + ["B"], "age_band": ["18-20"] * 6})
    >>> r = check_k_anonymity(df, ["province", "age_band"], k=5)
    >>> r.ok, r.smallest_class, r.n_records_at_risk
    (False, 1, 1)
    """
    if k < 1:
        raise ReleaseError("k must be at least 1")
    missing = [q for q in quasi_identifiers if q not in frame.columns]
    if missing:
        raise ReleaseError(f"quasi-identifier column(s) not in the table: {', '.join(missing)}")
    if not quasi_identifiers:
        raise ReleaseError("name at least one quasi-identifier")
    if len(frame) == 0:
        return KAnonymityReport(k, tuple(quasi_identifiers), 0, 0, 0, 0)

    def norm(v: Any) -> Any:
        if isinstance(v, list | tuple | set):
            return tuple(sorted(map(str, v)))
        if v is None or (isinstance(v, float) and v != v):
            return "<missing>"
        return v

    keys = frame[list(quasi_identifiers)].map(norm)
    sizes = keys.groupby(list(quasi_identifiers), dropna=False).size()
    small = sizes[sizes < k]
    return KAnonymityReport(k, tuple(quasi_identifiers), int(sizes.min()), len(sizes), len(small),
                            int(small.sum()))
