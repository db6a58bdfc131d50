"""Helpers shared by the store tests: synthetic records (generated names, never real people), the
RowOutcome shape, a cheap KDF, and the PostgreSQL test server."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import pytest

from darkfigure.exceptions import Problem
from darkfigure.schema.records import CaseRecord
from darkfigure.store import KdfParams

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("DARKFIGURE_TEST_PG_URL")
# Argon2id made cheap for tests that are not about the KDF (the default costs ~0.5 s per derivation)
FAST_KDF = KdfParams(memory_cost_kib=1024, iterations=1, lanes=1)

_SYLLABLES = [chr(c) for c in range(0xAC00, 0xD7A4)]
_HANZI = [chr(c) for c in range(0x4E00, 0x9FA6)]
_LATIN = "abcdefghijklmnopqrstuvwxyz"


@dataclass
class Outcome:
    """The per-row shape `darkfigure.io.read_records` hands to the store (RowOutcome contract)."""

    row: int
    source_record_id: str | None
    record: CaseRecord | None
    problems: list[Problem] = field(default_factory=list)


def synthetic_names(rng: random.Random) -> dict[str, str]:
    """Random three-syllable Hangul, three-character Chinese and long romanised names (never real ones):
    long enough that a chance match in random ciphertext bytes is out of the question."""
    given = "".join(rng.choice(_LATIN) for _ in range(7))
    family = "".join(rng.choice(_LATIN) for _ in range(6))
    return {
        "name_hangul": "".join(rng.choice(_SYLLABLES) for _ in range(3)),
        "name_chinese": "".join(rng.choice(_HANZI) for _ in range(3)),
        "name_romanised": f"{family.title()} {given.title()}",
        "place_of_birth": "".join(rng.choice(_SYLLABLES) for _ in range(4)),
        "phone": "+8210" + "".join(rng.choice("0123456789") for _ in range(8)),
    }


def make_record(sid: str, source: str = "ngo_a", seed: int | None = None, **overrides: object) -> CaseRecord:
    """A plausible synthetic record (coded fields use vocabulary codes)."""
    rng = random.Random(f"{source}/{sid}" if seed is None else seed)
    data: dict[str, object] = {
        "source": source,
        "source_record_id": sid,
        "record_date": "2018-05",
        "language": "ko",
        "gender": "Female",
        "citizenship": "KP",
        "home_province": "NorthHamgyong",
        "age_at_exploitation": rng.randint(14, 30),
        "year_left": rng.randint(2005, 2018),
        "recruitment_means": ["DeceptionWork"],
        "exploitation_types": ["SexualExploitation"],
        "sex_exploitation_subtypes": ["Prostitution"],
        "venue_type": "KaraokeBar",
        "date_of_birth": f"{rng.randint(1985, 2000)}",
        "aliases": ["".join(rng.choice(_SYLLABLES) for _ in range(3))],
        **synthetic_names(rng),
    }
    data.update(overrides)
    return CaseRecord(**data)  # type: ignore[arg-type]




def require_pg() -> str:
    """The test server's URL; in CI a missing server is a failure, never a silent skip."""
    if not PG_URL:
        if IN_CI:
            pytest.fail("DARKFIGURE_TEST_PG_URL is not set (.ci/run starts PostgreSQL and sets it)")
        pytest.skip("DARKFIGURE_TEST_PG_URL not set (start PostgreSQL as .ci/run does to run these)")
    return PG_URL
