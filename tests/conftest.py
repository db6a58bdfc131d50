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


def pytest_configure(config: pytest.Config) -> None:
    """Drop numba cache files of ``estimate/`` that are older than a module they were compiled with.

    numba keys a cached function on its own source file only: the compiled sampler inlines or links
    ``_variates.py``, and after an edit there (with ``_lcmcr_sampler.py`` untouched) the old machine code
    would still be loaded, and the draw-for-draw test would compare new Python with old compiled code.
    An installed package has fresh files; this only matters in a working tree.
    """
    estimate = Path(__file__).resolve().parents[1] / "src" / "darkfigure" / "estimate"
    newest = max((f.stat().st_mtime for f in estimate.glob("*.py")), default=0.0)
    for cached in (estimate / "__pycache__").glob("*.nb[ic]"):
        if cached.stat().st_mtime < newest:
            cached.unlink(missing_ok=True)
