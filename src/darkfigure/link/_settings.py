"""Linkage settings as data: the packaged ``default_settings.yaml`` plus an optional user file."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..exceptions import InputError, LinkageError

__all__ = ["default_settings", "load_settings"]

_KNOWN = {
    "threshold",
    "review_band",
    "keep_pairs_above",
    "max_cluster_size",
    "min_cluster_density",
    "contradiction_below",
    "seed",
    "training",
    "missed_by_blocking_sample",
    "duckdb_memory_limit",
}


def default_settings() -> dict[str, Any]:
    """The packaged settings (``darkfigure/link/default_settings.yaml``) as a dict."""
    text = (resources.files("darkfigure.link") / "default_settings.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_settings(user: str | Path | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge a user's settings over the defaults.

    Keys under ``darkfigure:`` replace the default one by one (``training`` too, key by key); a ``splink:``
    section replaces the default Splink settings as a whole.

    Parameters
    ----------
    user : path, mapping or None
        A YAML file (e.g. ``hand/link.yaml``) or an already-parsed mapping.

    Raises
    ------
    InputError
        If the file cannot be read or parsed, or names an unknown ``darkfigure`` key.

    Examples
    --------
    >>> s = load_settings({"darkfigure": {"threshold": 0.95}})
    >>> s["darkfigure"]["threshold"], s["darkfigure"]["review_band"]
    (0.95, [0.2, 0.8])
    """
    base = default_settings()
    if user is None:
        return base
    if isinstance(user, Mapping):
        over = copy.deepcopy(dict(user))
    else:
        p = Path(user)
        try:
            over = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise InputError(f"cannot read linkage settings {p.name}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise InputError(f"linkage settings {p.name} are not valid YAML: {exc}") from None
    if not isinstance(over, Mapping):
        raise InputError("linkage settings must be a mapping with 'darkfigure' and/or 'splink' keys")
    unknown_top = set(over) - {"darkfigure", "splink"}
    if unknown_top:
        raise InputError(f"unknown top-level linkage settings: {', '.join(sorted(unknown_top))}")
    dk = over.get("darkfigure") or {}
    unknown = set(dk) - _KNOWN
    if unknown:
        raise InputError(f"unknown darkfigure linkage settings: {', '.join(sorted(unknown))}")
    for k, v in dk.items():
        if k == "training" and isinstance(v, Mapping):
            base["darkfigure"]["training"].update(v)
        else:
            base["darkfigure"][k] = v
    if "splink" in over:
        base["splink"] = over["splink"]
    check_settings(base)
    return base


def check_settings(s: Mapping[str, Any]) -> None:
    """Raise :class:`LinkageError` on settings that cannot work (all problems at once)."""
    d = s["darkfigure"]
    problems = []
    if not 0 < float(d["threshold"]) < 1:
        problems.append("threshold must be strictly between 0 and 1")
    band = d["review_band"]
    if len(band) != 2 or not 0 <= float(band[0]) < float(band[1]) <= 1:
        problems.append("review_band must be [low, high] with 0 <= low < high <= 1")
    if int(d["max_cluster_size"]) < 2:
        problems.append("max_cluster_size must be at least 2")
    if "comparisons" not in s.get("splink", {}):
        problems.append("the splink section needs comparisons")
    if problems:
        raise LinkageError("linkage settings: " + "; ".join(problems))
