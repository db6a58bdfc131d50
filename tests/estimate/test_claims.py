"""Claims check on known inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from darkfigure.estimate.claims import Claim, check_claims, judge, load_claims
from darkfigure.estimate.findings import Indicator
from darkfigure.estimate.proportions import proportion_ci
from darkfigure.exceptions import InputError


def _records(n_sex: int, n_other: int, n_abducted: int, ages: list[int]) -> pd.DataFrame:
    n = n_sex + n_other
    et = [["SexualExploitation"]] * n_sex + [["ForcedLabour"]] * n_other
    rm = [["Abduction"]] * n_abducted + [["DeceptionWork"]] * (n - n_abducted)
    age = (ages + [None] * n)[:n]
    return pd.DataFrame({"record_id": [f"r{i}" for i in range(n)], "source": "s",
                         "exploitation_types": et, "recruitment_means": rm,
                         "sex_exploitation_subtypes": [["Prostitution"]] * n_sex + [[]] * n_other,
                         "age_at_exploitation": age})


def test_judge_rules():
    assert judge(0.55, 0.70, 100, (0.55, 0.65)) == ("consistent", "the interval meets the claimed range")
    assert judge(0.66, 0.80, 100, (0.55, 0.65))[0] == "inconsistent"
    assert judge(0.66, 0.80, 100, (0.55, 0.65))[1] == "the interval lies above the claimed range"
    assert judge(0.5, 0.6, 29, (0.55, 0.65), min_n=30)[0] == "not enough data"
    assert judge(0.2, 0.7, 500, (0.55, 0.65), max_width=0.4)[0] == "not enough data"


def test_default_claims_are_the_2019_reports():
    cs = load_claims()
    ids = [c.id for c in cs.claims]
    assert ids == ["sex_trade", "prostitution", "forced_marriage", "cybersex", "deception", "abduction",
                   "age_12_29"]
    by = {c.id: c for c in cs.claims}
    assert by["sex_trade"].claimed == 0.60 and by["abduction"].claimed == 0.18
    assert by["age_12_29"].claimed_text() == "most" and by["age_12_29"].claimed_range == (0.5, 1.0)
    assert "2019" in cs.source and cs.path_sha256


def test_verdicts_on_known_data():
    # 120 records: 72 in the sex trade (60%), 48 abducted (40%, claim 18%), ages known for only 20
    df = _records(72, 48, 48, list(range(14, 34)))
    rep = check_claims(df, threshold=5)
    assert rep.verdict("sex_trade") == "consistent"
    assert rep.verdict("abduction") == "inconsistent"
    assert rep.verdict("age_12_29") == "not enough data"  # n = 20 < min_n 30
    c = next(c for c in rep.checks if c.claim.id == "sex_trade")
    assert (c.k, c.n) == (72, 120)
    assert (c.lower, c.upper) == proportion_ci(72, 120, "wilson")
    d = rep.to_dict()
    assert d["claims"][0]["verdict"] in ("consistent", "inconsistent", "not enough data")


def test_among_restricts_the_denominator():
    df = _records(72, 48, 48, [])
    rep = check_claims(df)
    c = next(c for c in rep.checks if c.claim.id == "prostitution")
    # everyone in the sex trade here is in prostitution: 72 of 72 -> far above "nearly 50%"
    assert c.n == 72 and c.verdict == "inconsistent"
    assert c.suppressed is False


def test_small_counts_are_hidden_but_judged():
    df = _records(60, 0, 1, [])
    rep = check_claims(df, threshold=5)
    c = next(c for c in rep.checks if c.claim.id == "abduction")
    assert c.k == "<5" and c.estimate is None and c.suppressed
    # 1 of 60: the Wilson interval 0.3%–8.9% lies below the claimed 13%–23%
    assert c.verdict == "inconsistent"
    assert c.n == 60


def test_unknown_question_is_not_enough_data():
    claim = Claim("x", "A claim on a field not in the records", Indicator("harms", any_of=("STI",)),
                  claimed=0.3)
    rep = check_claims(_records(10, 10, 5, []), [claim])
    assert rep.checks[0].verdict == "not enough data"


def test_bad_claims_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("claims:\n  - id: a\n    question: {field: x, any_of: [A]}\n", encoding="utf-8")
    with pytest.raises(InputError, match="claimed"):
        load_claims(p)
    p.write_text("nothing: here\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_claims(p)
