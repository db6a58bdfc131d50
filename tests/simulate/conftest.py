"""Fixtures for the simulator tests: one small simulation, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from darkfigure.simulate import Simulation, simulate

SEED = 11
SIZE = 3000


@pytest.fixture(scope="session")
def small_sim() -> Simulation:
    """A 3,000-person world (big enough for a few deliberately broken rows in every file)."""
    return simulate(seed=SEED, size=SIZE)


@pytest.fixture(scope="session")
def small_dir(small_sim: Simulation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    small_sim.write(out)
    return out
