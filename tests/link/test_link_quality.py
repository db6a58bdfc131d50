"""Name rarity, outcome/venue features, the same-list comparison and the exact lower bound on u."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from darkfigure.link import build_features, load_settings


def _names(rows: list[dict[str, str | None]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df.insert(0, "record_id", [f"r{i}" for i in range(len(df))])
    df.insert(1, "source", ["a", "b"] * (len(df) // 2) + ["a"] * (len(df) % 2))
    return df


def test_name_n_counts_every_record_that_may_carry_the_name_in_any_script() -> None:
    # one rare name in three scripts, a common name on four records, a name on one record only
    f = build_features(
        _names(
            [
                {"name_hangul": "곽순덕"},
                {"name_romanised": "Kwak Sun-dok"},
                {"name_hanja": "郭順德"},
                {"name_hangul": "김영희"},
                {"name_hangul": "김영희"},
                {"name_romanised": "Kim Yong Hui"},
                {"name_hangul": "김영희"},
                {"name_hangul": "하은별"},
            ]
        )
    )
    n = f["name_n"].tolist()
    assert n[0] == n[1] == n[2] == 3
    assert n[3] == n[4] == n[5] == n[6] == 4
    assert n[7] == 1
    assert str(f["name_n"].dtype) == "Int64"


def test_pinyin_n_counts_equal_mandarin_readings_and_is_unknown_without_one() -> None:
    f = build_features(
        _names(
            [
                {"name_chinese": "金英姬"},
                {"name_chinese": "金莹基"},  # heard, not seen: same reading
                {"name_chinese": "Jin Yingji"},
                {"name_chinese": "李顺子"},
                {"name_hangul": "김영희"},
            ]
        )
    )
    assert f["pinyin_n"].tolist()[:4] == [3, 3, 3, 1]
    assert f["pinyin_n"].isna().tolist() == [False] * 4 + [True]


def test_a_name_missing_everywhere_has_no_count() -> None:
    f = build_features(_names([{"name_hangul": None}, {"name_hangul": "김영희"}]))
    assert pd.isna(f.loc[0, "name_n"]) and f.loc[1, "name_n"] == 1


def test_outcome_and_venue_are_read_as_codes() -> None:
    f = build_features(
        pd.DataFrame(
            {
                "record_id": ["x", "y"],
                "source": ["a", "b"],
                "outcome": ["Deported", None],
                "venue_type": [" KaraokeBar ", float("nan")],
            }
        )
    )
    assert f["outcome"].tolist() == ["Deported", None]
    assert f["venue"].tolist() == ["KaraokeBar", None]


def test_default_settings_use_the_new_features_in_their_levels() -> None:
    comps = {c["output_column_name"]: c for c in load_settings(None)["splink"]["comparisons"]}
    name_sql = " ".join(lv["sql_condition"] for lv in comps["name"]["comparison_levels"])
    assert "name_n_l" in name_sql and "pinyin_n_l" in name_sql
    # a rare-name level comes before the plain level of the same agreement (Splink takes the first match)
    labels = [lv.get("label_for_charts", "") for lv in comps["name"]["comparison_levels"]]
    rare = labels.index("same key from Hangul/Hanja, a rare name")
    assert rare < labels.index("same key from Hangul/Hanja")
    assert {"outcome", "venue", "same_list"} <= set(comps)


def _model(u: list[float]) -> dict:
    return {
        "probability_two_random_records_match": 1e-4,
        "comparisons": [
            {
                "output_column_name": "name",
                "comparison_levels": [
                    {"sql_condition": "a_l IS NULL", "is_null_level": True},
                    {"sql_condition": "rare", "m_probability": 0.3, "u_probability": u[0]},
                    {"sql_condition": "a_l = a_r", "m_probability": 0.6, "u_probability": u[1]},
                    {"sql_condition": "ELSE", "m_probability": 0.1, "u_probability": u[2]},
                ],
            }
        ],
    }


def test_u_is_raised_to_the_share_counted_among_compared_pairs() -> None:
    from darkfigure.link._linker import _u_at_least_compared

    # 1,000,000 pairs in all; the random sample never met the rare level (u floored at 1e-9) but 40
    # compared pairs reach it; the other levels' sampled u exceed their compared shares and stay
    # (up to renormalisation).  Splink numbers the three levels 2, 1, 0 (null: -1).
    gammas = np.array([[2], [1], [0], [-1]])
    counts = np.array([40.0, 500.0, 3000.0, 10.0])
    out = _u_at_least_compared(_model([1e-9, 0.001, 0.999 - 1e-9]), gammas, counts, 1_000_000.0)
    us = [lv["u_probability"] for lv in out["comparisons"][0]["comparison_levels"][1:]]
    assert sum(us) == pytest.approx(1.0)
    total = 4e-5 + 0.001 + (0.999 - 1e-9)
    assert us[0] == pytest.approx(4e-5 / total)
    assert us[1] == pytest.approx(0.001 / total)


def test_u_from_the_sample_is_kept_when_it_is_larger() -> None:
    from darkfigure.link._linker import _u_at_least_compared

    gammas = np.array([[2], [1], [0]])
    counts = np.array([1.0, 10.0, 10.0])
    before = [0.0001, 0.01, 0.9899]
    out = _u_at_least_compared(_model(list(before)), gammas, counts, 1_000_000.0)
    us = [lv["u_probability"] for lv in out["comparisons"][0]["comparison_levels"][1:]]
    assert us == pytest.approx(before)
