"""Provenance: every result says which package version, which input (SHA-256) and which seed made it."""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._version import __version__

__all__ = ["Provenance", "sha256_bytes", "sha256_file"]


def sha256_bytes(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Provenance:
    """Where a result came from.

    Parameters
    ----------
    input_sha256 : str or None
        SHA-256 of the input (file bytes, or the canonical CSV of an in-memory table).
    seed : int or None
        The random seed actually used (``None`` for deterministic methods).
    settings : mapping
        The method's settings, JSON-serialisable.
    package_version : str
        darkfigure's version.
    created : str
        ISO-8601 UTC time the result was made.
    """

    input_sha256: str | None = None
    seed: int | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    package_version: str = __version__
    created: str = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {
            "package": "darkfigure",
            "package_version": self.package_version,
            "input_sha256": self.input_sha256,
            "seed": self.seed,
            "settings": dict(self.settings),
            "created": self.created,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Provenance:
        """Inverse of :meth:`to_dict`."""
        return cls(
            input_sha256=d.get("input_sha256"),
            seed=d.get("seed"),
            settings=dict(d.get("settings") or {}),
            package_version=d.get("package_version", __version__),
            created=d.get("created", _now()),
        )
