"""A release manifest: what left the store, under which disclosure rules, with each file's SHA-256."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._provenance import _now, sha256_file
from .._version import __version__

__all__ = ["ReleaseManifest"]


@dataclass(frozen=True)
class ReleaseManifest:
    """The record of one release.

    Parameters
    ----------
    files : mapping of file name to SHA-256
    threshold : int
        Small-cell suppression threshold applied before writing.
    cells_suppressed : int
        Cells hidden by primary suppression.
    cells_secondary : int
        Cells hidden by secondary suppression.
    unit : str
        What was counted ("persons" or "records").
    differential_privacy : mapping or None
        Mechanism and epsilon, when noise was added.
    k_anonymity : mapping or None
        The k-anonymity check, when one was run.
    """

    files: Mapping[str, str]
    threshold: int
    cells_suppressed: int = 0
    cells_secondary: int = 0
    unit: str = "records"
    differential_privacy: Mapping[str, Any] | None = None
    k_anonymity: Mapping[str, Any] | None = None
    created: str = field(default_factory=_now)

    @classmethod
    def for_files(cls, paths: Iterable[str | Path], **kwargs: Any) -> ReleaseManifest:
        """Hash the given files and build a manifest."""
        return cls(files={Path(p).name: sha256_file(p) for p in paths}, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {"package": "darkfigure", "package_version": __version__, "created": self.created,
                "unit": self.unit,
                "suppression": {"threshold": self.threshold, "shown_as": f"<{self.threshold}",
                                "cells_primary": self.cells_suppressed,
                                "cells_secondary": self.cells_secondary},
                "differential_privacy": None if self.differential_privacy is None
                else dict(self.differential_privacy),
                "k_anonymity": None if self.k_anonymity is None else dict(self.k_anonymity),
                "files": dict(self.files)}

    def write(self, path: str | Path) -> Path:
        """Write the manifest as JSON."""
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return p
