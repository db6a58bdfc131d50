"""Linkage on small synthetic lists with known truth; clustering guard; settings; histories."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from synth import pairwise_scores

from darkfigure.exceptions import InputError, LinkageError, LinkageWarning, NotFittedError
from darkfigure.link import (
    RecordLinker,
    build_features,
    cluster_pairs,
    histories_from_links,
    load_settings,
    person_id_of,
)


def test_precision_and_recall_on_synthetic_lists(fitted, synth_lists) -> None:
    # Bounds: the generator's noise (typos in 5% of romanised names, 3% wrong province or birth year,
    # within-list duplicates) leaves every true pair with a matching name key and a compatible birth year,
    # so a working pipeline links nearly all; 0.95 leaves room for EM's randomness, not for a broken step.
    _, truth = synth_lists
    precision, recall = pairwise_scores(fitted.person_ids_, truth)
    assert precision >= 0.95
    assert recall >= 0.95


def test_every_record_gets_a_person(fitted, synth_lists) -> None:
    records, _ = synth_lists
    assert set(fitted.person_ids_) == set(records["record_id"])
    assert set(fitted.match_weights_) <= set(fitted.person_ids_)


def test_diagnostics_follow_the_results_folder_contract(fitted, synth_lists) -> None:
    records, _ = synth_lists
    d = fitted.diagnostics()
    for key in (
        "n_records",
        "n_persons",
        "n_pairs_compared",
        "match_weight_histogram",
        "cluster_sizes",
        "estimated_missed_by_blocking",
        "threshold",
        "per_source",
    ):
        assert key in d
    assert d["n_records"] == len(records)
    assert sum(int(k) * v for k, v in d["cluster_sizes"].items()) == len(records)
    assert sum(d["per_source"].values()) == len(records)
    h = d["match_weight_histogram"]
    assert len(h["edges"]) == len(h["counts"]) + 1 and sum(h["counts"]) == d["n_pairs_compared"]
    assert 0 <= d["estimated_missed_by_blocking"] < 0.1 * d["estimated_matches_in_blocks"]
    json.dumps(d)  # JSON-serialisable


def test_trained_model_is_saved_with_settings(fitted, tmp_path) -> None:
    out = fitted.save(tmp_path / "run")
    model = json.loads((out / "model.json").read_text())
    assert model["comparisons"] and all(
        "m_probability" in lev
        for c in model["comparisons"]
        for lev in c["comparison_levels"]
        if not lev.get("is_null_level")
    )
    assert (out / "settings_used.yaml").exists() and (out / "pairs.csv.gz").exists()
    assert json.loads((out / "linkage.json").read_text())["provenance"]["package"] == "darkfigure"


def test_no_identifying_value_in_saved_files(fitted, synth_lists, tmp_path) -> None:
    records, _ = synth_lists
    out = fitted.save(tmp_path / "run")
    text = "".join(p.read_text(errors="ignore") for p in out.iterdir() if p.suffix in (".json", ".yaml"))
    for name in records["name_hangul"].dropna().head(50):
        assert name not in text


def test_histories_from_links(fitted, synth_lists) -> None:
    records, truth = synth_lists
    h = histories_from_links(records, fitted.person_ids_)
    true_h = histories_from_links(records, dict(zip(truth["record_id"], truth["person"], strict=True)))
    assert h.lists == ("in_china_record", "in_ngo_sheet", "in_researcher", "in_seoul_intake")
    assert abs(h.observed - true_h.observed) <= 0.05 * true_h.observed


def test_histories_strata_take_the_persons_most_common_value() -> None:
    recs = pd.DataFrame(
        {
            "record_id": ["a", "b", "c", "d"],
            "source": ["x", "y", "x", "y"],
            "year_left": [2010, 2010, None, 2012],
            "exploitation_types": [["F"], ["F"], [], []],
        }
    )
    h = histories_from_links(recs, {"a": "P1", "b": "P1", "c": "P2", "d": "P3"}, strata=["year_left"])
    assert h.stratum_name == "year_left"
    assert sorted(h.stratum_labels()) == ["2010", "2012", "unknown"]
    h2 = histories_from_links(recs, {"a": "P1", "b": "P1"}, strata=["exploitation_types", "year_left"])
    assert "F/2010" in h2.stratum_labels()


def test_histories_need_two_sources() -> None:
    with pytest.raises(LinkageError):
        histories_from_links(pd.DataFrame({"record_id": ["a"], "source": ["x"]}), {})


def test_chaining_guard_splits_a_weak_chain() -> None:
    # a-b-c-d-e-f linked in a line by barely-over-threshold pairs: a cluster of 6 with 5 of 15 pairs linked
    ids = list("abcdef")
    pairs = pd.DataFrame(
        {"unique_id_l": ids[:-1], "unique_id_r": ids[1:], "match_probability": [0.99, 0.99, 0.55, 0.99, 0.99]}
    )
    lab, stats = cluster_pairs(ids, pairs, 0.5, min_cluster_density=0.4)
    assert lab["a"] == lab["c"] and lab["d"] == lab["f"] and lab["a"] != lab["d"]
    assert stats["resplit_components"] >= 1


def test_max_cluster_size_guard() -> None:
    ids = [f"r{i}" for i in range(20)]
    rows = [(a, b, 0.97) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    pairs = pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "match_probability"])
    pairs.loc[
        pairs["unique_id_l"].isin(ids[:10]) & pairs["unique_id_r"].isin(ids[:10]), "match_probability"
    ] = 0.999
    pairs.loc[pairs["unique_id_l"].isin(ids[10:]), "match_probability"] = 0.999
    lab, _ = cluster_pairs(ids, pairs, 0.9, max_cluster_size=12)
    assert len(set(lab.values())) == 2


def test_review_decisions_override_the_model() -> None:
    ids = ["a", "b", "c"]
    pairs = pd.DataFrame({"unique_id_l": ["a"], "unique_id_r": ["b"], "match_probability": [0.99]})
    lab, _ = cluster_pairs(ids, pairs, 0.5, must_link=[("b", "c")], cannot_link=[("a", "b")])
    assert lab["b"] == lab["c"] != lab["a"]


def test_unresolvable_decisions_warn() -> None:
    pairs = pd.DataFrame({"unique_id_l": ["a"], "unique_id_r": ["b"], "match_probability": [0.1]})
    with pytest.warns(LinkageWarning):
        cluster_pairs(
            ["a", "b", "c"], pairs, 0.5, must_link=[("a", "c"), ("c", "b")], cannot_link=[("a", "b")]
        )


def test_person_id_is_stable_and_opaque() -> None:
    assert person_id_of(["x", "y"]) == person_id_of(["y", "x"]) != person_id_of(["x"])
    assert person_id_of(["x"]).startswith("P") and len(person_id_of(["x"])) == 16


def test_features_partial_dates_and_ages() -> None:
    recs = pd.DataFrame(
        {
            "record_id": ["a", "b", "c", "d"],
            "source": ["x"] * 4,
            "date_of_birth": ["1990-03-04", "1991-05", "1992", None],
            "age_at_recruitment": [None, None, None, 20],
            "year_left": [None, None, None, 2010],
            "age_at_exploitation": [None, None, None, None],
            "record_date": [None] * 4,
        }
    )
    f = build_features(recs)
    assert f["dob_full"].tolist()[:2] == ["1990-03-04", None]
    assert f["dob_ym"].tolist()[:3] == ["1990-03", "1991-05", None]
    assert f["birth_year"].tolist() == [1990, 1991, 1992, 1990]
    assert f["birth_year_from_age"].tolist() == [False, False, False, True]
    assert (f.loc[3, "birth_lo"], f.loc[3, "birth_hi"]) == (1989, 1991)


def test_age_with_only_the_record_date_gives_a_wide_interval() -> None:
    recs = pd.DataFrame(
        {"record_id": ["a"], "source": ["x"], "age_at_exploitation": [30], "record_date": ["2015-06-01"]}
    )
    f = build_features(recs)
    assert f.loc[0, "birth_lo"] < f.loc[0, "birth_year"] <= f.loc[0, "birth_hi"] == 1986


def test_duplicate_record_ids_are_refused() -> None:
    with pytest.raises(LinkageError):
        build_features(pd.DataFrame({"record_id": ["a", "a"], "source": ["x", "y"]}))


def test_settings_merge_and_validation(tmp_path) -> None:
    s = load_settings({"darkfigure": {"threshold": 0.7, "training": {"m_floor": 0.02}}})
    assert s["darkfigure"]["threshold"] == 0.7 and s["darkfigure"]["training"]["m_floor"] == 0.02
    assert s["darkfigure"]["training"]["em_blocking_rules"]  # untouched keys kept
    with pytest.raises(InputError):
        load_settings({"darkfigure": {"treshold": 0.7}})
    with pytest.raises(LinkageError):
        load_settings({"darkfigure": {"threshold": 1.5}})
    p = tmp_path / "link.yaml"
    p.write_text("darkfigure:\n  threshold: 0.8\n", encoding="utf-8")
    assert load_settings(p)["darkfigure"]["threshold"] == 0.8
    with pytest.raises(InputError):
        load_settings(tmp_path / "missing.yaml")


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        RecordLinker().diagnostics()


def test_empty_input_is_an_error() -> None:
    with pytest.raises(LinkageError):
        RecordLinker().fit(pd.DataFrame(columns=["record_id", "source"]))


def test_score_sql_agrees_with_splink(fitted, synth_lists) -> None:
    # the SQL scorer used for the missed-by-blocking estimate must give Splink's own weights
    import duckdb

    from darkfigure.link import score_sql
    from darkfigure.link._features import features_to_arrow

    sample = fitted.pairs_.head(200)
    recs_ids = set(sample["unique_id_l"]) | set(sample["unique_id_r"])
    assert recs_ids
    con = duckdb.connect()
    f = build_features(synth_lists[0])
    con.register("f", features_to_arrow(f))
    con.register("p", sample)
    cols = ", ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in f.columns if c != "unique_id")
    got = con.execute(
        f"SELECT splink, {score_sql(fitted.model_)} AS ours FROM "
        f"(SELECT p.match_weight AS splink, {cols} FROM p "
        f"JOIN f l ON l.unique_id = p.unique_id_l JOIN f r ON r.unique_id = p.unique_id_r)"
    ).df()
    # tolerance: float rounding of log2 sums only
    np.testing.assert_allclose(got["ours"], got["splink"], atol=1e-6)


def _toy_model(m_else: float) -> dict:
    return {
        "probability_two_random_records_match": 0.001,
        "comparisons": [
            {
                "output_column_name": "name",
                "comparison_levels": [
                    {"sql_condition": "a_l IS NULL", "is_null_level": True},
                    {"sql_condition": "a_l = a_r", "m_probability": 1 - m_else, "u_probability": 0.002},
                    {"sql_condition": "ELSE", "m_probability": m_else, "u_probability": 0.998},
                ],
            }
        ],
    }


def test_smoothing_caps_the_different_name_level_and_floors_m() -> None:
    from darkfigure.link._linker import _smooth

    levels = _smooth(_toy_model(0.3), floor=0.01, max_m_else={"name": 0.05})["comparisons"][0][
        "comparison_levels"
    ]
    assert levels[2]["m_probability"] == pytest.approx(0.05)
    assert levels[1]["m_probability"] == pytest.approx(0.95)
    levels = _smooth(_toy_model(0.0), floor=0.01)["comparisons"][0]["comparison_levels"]
    assert levels[2]["m_probability"] == pytest.approx(0.01 / 1.01)


def test_u_decontamination_removes_the_matches_in_the_random_sample() -> None:
    from darkfigure.link._linker import _decontaminate_u

    raw = _toy_model(0.05)
    out = _decontaminate_u(raw, raw, lam=0.001)
    u_agree = out["comparisons"][0]["comparison_levels"][1]["u_probability"]
    # u_raw = 0.002 of which lam * m = 0.00095 were matches
    assert u_agree == pytest.approx((0.002 - 0.001 * 0.95) / 0.999, rel=1e-3)
    assert raw["comparisons"][0]["comparison_levels"][1]["u_probability"] == 0.002  # input untouched


def test_mandarin_reading_meets_homophones_heard_not_seen() -> None:
    # A deportation clerk writes a name heard (英姬 -> 莹基): Korean readings differ (영희 / 영기) but the
    # Mandarin reading is one; written pinyin (any spacing, any case) and Hanja give the same reading;
    # 朴 is read "piao" as a family name.  Hangul alone has no Mandarin reading.
    recs = pd.DataFrame(
        {
            "record_id": ["a", "b", "c", "d", "e", "f", "g"],
            "source": ["x"] * 7,
            "name_chinese": ["金英姬", "金莹基", "JIN Ying Ji", "金英姬（Jin Yingji）", "朴莲美", None, None],
            "name_hanja": [None, None, None, None, None, "金英姬", None],
            "name_hangul": [None, None, None, None, None, "김영희", "김영희"],
        }
    )
    f = build_features(recs)
    assert f["name_pinyin"].tolist()[:4] == ["jinyingji"] * 4
    assert f.loc[4, "name_pinyin"] == "piaolianmei"
    assert f.loc[5, "name_pinyin"] == "jinyingji"
    assert f.loc[6, "name_pinyin"] is None
    assert f.loc[0, "name_hangul_key"] != f.loc[1, "name_hangul_key"]


def test_differing_full_dates_count_against_a_match(fitted) -> None:
    # Two full dates of birth that differ: EM must find this level rarer among matches than among
    # non-matches (the synthetic lists copy full dates without error when both lists hold one).
    birth = next(c for c in fitted.model_["comparisons"] if c["output_column_name"] == "birth")
    levels = birth["comparison_levels"]
    level = next(lv for lv in levels if lv["label_for_charts"].startswith("full dates differ"))
    assert level["m_probability"] < level["u_probability"]


def test_contradiction_splits_a_chain_of_three() -> None:
    # a–b and b–c clear the threshold, a–c is a near-certain non-match (e.g. different full dates of birth):
    # three records cannot be one woman; the density guard alone (4+ records) keeps them together.
    p = pd.DataFrame(
        {"unique_id_l": ["a", "b"], "unique_id_r": ["b", "c"], "match_probability": [0.97, 0.7]}
    )
    lab, _ = cluster_pairs(["a", "b", "c"], p, 0.5)
    assert lab["a"] == lab["b"] == lab["c"]
    lab, _ = cluster_pairs(["a", "b", "c"], p, 0.5, contradictions=[("a", "c")])
    assert lab["a"] == lab["b"] != lab["c"]
