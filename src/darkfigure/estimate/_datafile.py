"""Reading a YAML data file that darkfigure ships a default of (claims, economic assumptions)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..exceptions import InputError


def read_yaml_file(path: str | Path | None, default: str, what: str) -> tuple[bytes, Any]:
    """Return the raw bytes (for provenance hashes) and the parsed YAML of ``path``.

    Without ``path`` the packaged ``estimate/<default>`` is read. Errors name ``what`` and the file name only.
    """
    if path is None:
        raw = resources.files("darkfigure.estimate").joinpath(default).read_bytes()
    else:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {what} {Path(path).name}: {exc.strerror}") from None
    try:
        return raw, yaml.safe_load(raw)
    except yaml.YAMLError:
        raise InputError(f"the {what} is not valid YAML") from None
