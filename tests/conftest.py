"""Shared test fixtures.

Tests never use real victim data: only the project's simulator and the public aggregate tables in
``shared/data/mse`` (found beside the repository, as CI lays it out).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DARKFIGURE_SHARED", REPO.parent / "shared"))
MSE_DIR = SHARED / "data" / "mse"
REFERENCE = SHARED / "reference" / "mse_peers.json"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def mse_dir() -> Path:
    """Folder of the 13 public capture-recapture tables."""
    if not MSE_DIR.is_dir():
        if IN_CI:
            pytest.fail(f"shared data not found at {MSE_DIR}")
        pytest.skip("shared/data/mse not available")
    return MSE_DIR


@pytest.fixture(scope="session")
def reference_path() -> Path:
    """The R packages' reference figures."""
    if not REFERENCE.is_file():
        if IN_CI:
            pytest.fail(f"reference figures not found at {REFERENCE}")
        pytest.skip("shared/reference not available")
    return REFERENCE


@pytest.fixture(autouse=True)
def _no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    # matplotlib must never try to open a window in tests
    monkeypatch.setenv("MPLBACKEND", "Agg")
