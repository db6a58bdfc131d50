from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synth import make_lists

# small training budgets keep the suite fast; the defaults are for real data sizes
FAST = {"darkfigure": {"training": {"u_max_pairs": 200_000}, "missed_by_blocking_sample": 20_000}}


@pytest.fixture(scope="session")
def synth_lists() -> tuple[pd.DataFrame, pd.DataFrame]:
    """300 synthetic people on four lists (Hangul, romanised, Chinese), truth known."""
    return make_lists(300, seed=11)


@pytest.fixture(scope="session")
def fitted(synth_lists):  # type: ignore[no-untyped-def]
    from darkfigure.link import RecordLinker

    records, _ = synth_lists
    return RecordLinker(settings=FAST).fit(records)
