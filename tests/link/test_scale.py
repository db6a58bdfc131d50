"""The linkage pipeline's large-input paths give the results of the plain ones (small inputs, fast)."""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd
import pytest
from synth import make_lists, pairwise_scores

from conftest import FAST
from darkfigure.link import RecordLinker, build_features
from darkfigure.link._features import _COUNTED, FEATURE_COLUMNS
from darkfigure.link._linker import _count_equi_join_pairs, _histogram, _pattern_weights, _prior_fixed_point


def test_features_per_distinct_name_equal_features_record_by_record(synth_lists) -> None:
    # build_features derives name features once per distinct name; one-record frames cannot share anything,
    # so they give the per-record result the shared path must reproduce (counted columns aside: they count
    # over all records by design)
    records, _ = synth_lists
    recs = records.copy()
    recs["aliases"] = [["Kim Yong Hui"] if i % 7 == 0 else None for i in range(len(recs))]
    whole = build_features(recs)
    one_by_one = pd.concat([build_features(recs.iloc[[i]]) for i in range(len(recs))], ignore_index=True)
    cols = [c for c in FEATURE_COLUMNS if c not in _COUNTED]
    assert whole["name_primary"].nunique() < len(whole)  # names do repeat in the test data
    pd.testing.assert_frame_equal(whole[cols], one_by_one[cols])
    # list cells are separate objects, so mutating one record's keys cannot touch another's
    keys = [k for k in whole["name_keys"] if k is not None]
    assert len({id(k) for k in keys}) == len(keys)


def test_pattern_weights_are_splinks_match_weights(fitted, synth_lists) -> None:
    # the final scoring adds up per-pattern weights in numpy; Splink's predict() with the same final model
    # must give the same weight for every pair
    from splink import DuckDBAPI, Linker

    from darkfigure.link._features import features_to_arrow

    records, _ = synth_lists
    con = duckdb.connect()
    con.register("t", features_to_arrow(build_features(records)))
    con.execute("CREATE TABLE df_features AS SELECT * FROM t")
    sdf = DuckDBAPI(connection=con).register("df_features")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = Linker(sdf, fitted.model_, log_level=None).inference.predict().as_pandas_dataframe()
    ours = fitted.pairs_.set_index(["unique_id_l", "unique_id_r"])["match_weight"]
    theirs = pred.set_index(["unique_id_l", "unique_id_r"])["match_weight"]
    assert len(ours) > 100
    assert np.allclose(theirs.reindex(ours.index).to_numpy(), ours.to_numpy(), atol=1e-9)
    # and every pair Splink keeps above the kept-pairs floor is among ours
    keep = fitted.settings_["darkfigure"]["keep_pairs_above"]
    assert set(
        pred.loc[pred["match_probability"] >= keep + 1e-9].set_index(["unique_id_l", "unique_id_r"]).index
    ) <= set(ours.index)
    assert fitted.diagnostics()["n_pairs_compared"] == len(pred)


def test_pattern_weights_use_splinks_level_numbering() -> None:
    # two comparisons: levels numbered k-1 (first) … 0 (last), -1 the null level (weight 0)
    model = {
        "probability_two_random_records_match": 0.2,
        "comparisons": [
            {
                "comparison_levels": [
                    {"is_null_level": True},
                    {"m_probability": 0.8, "u_probability": 0.1},
                    {"m_probability": 0.2, "u_probability": 0.9},
                ]
            },
            {
                "comparison_levels": [
                    {"m_probability": 0.5, "u_probability": 0.25},
                    {"m_probability": 0.5, "u_probability": 0.75},
                ]
            },
        ],
    }
    g = np.array([[1, 1], [0, 0], [-1, 1]])
    prior = np.log2(0.2 / 0.8)
    want = [prior + 3 + 1, prior + np.log2(0.2 / 0.9) + np.log2(0.5 / 0.75), prior + 1]
    assert np.allclose(_pattern_weights(model, g), want)


def test_weighted_prior_and_histogram_equal_the_expanded_ones() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(-5, 6, size=40)
    c = rng.integers(1, 30, size=40)
    expanded = np.repeat(w, c)
    assert _prior_fixed_point(w, 1e-3, 1e5, counts=c) == pytest.approx(
        _prior_fixed_point(expanded, 1e-3, 1e5)
    )
    assert _histogram(w, counts=c) == _histogram(expanded)


def test_equi_join_pair_count_is_exact() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "a": rng.integers(0, 5, 300).astype(float),
            "b": rng.integers(0, 3, 300),
        }
    )
    df.loc[::9, "a"] = None  # nulls never block together
    con = duckdb.connect()
    con.register("t", df)
    got = _count_equi_join_pairs(con, "t", "l.a = r.a AND l.b = r.b")
    x = df.dropna()
    brute = sum(
        1
        for i in range(len(x))
        for j in range(i + 1, len(x))
        if x.iloc[i]["a"] == x.iloc[j]["a"] and x.iloc[i]["b"] == x.iloc[j]["b"]
    )
    assert got == brute
    # sizes of other rules are not known cheaply: no sampling is applied to them
    assert _count_equi_join_pairs(con, "t", "l.a = r.a AND abs(l.b - r.b) <= 1") is None
    assert _count_equi_join_pairs(con, "t", "l.a = r.b") is None


def test_em_on_a_sample_of_a_large_rules_pairs_still_links() -> None:
    # a cap far below the "same birth year" rule's pairs: EM reads a hashed share of them, and the
    # linkage keeps its quality on the synthetic lists (the defaults sample only beyond 20 million pairs)
    records, truth = make_lists(300, seed=11)
    settings = {
        "darkfigure": {
            **FAST["darkfigure"],
            "training": {**FAST["darkfigure"]["training"], "em_max_pairs": 1000},
        }
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lk = RecordLinker(settings=settings).fit(records)
    share = lk.diagnostics()["em_pair_sample_share"]
    assert 0 < share["l.birth_year = r.birth_year"] < 0.5
    p, r = pairwise_scores(lk.person_ids_, truth)
    assert p >= 0.93 and r >= 0.93
    assert set(lk.diagnostics()["stage_seconds"]) >= {"features", "em", "predict", "cluster"}


def test_components_of_kept_pairs_and_reviewed_matches() -> None:
    # the contradiction list keeps only pairs inside one component of kept pairs + reviewed matches: no
    # threshold at or above the kept-pairs floor can put records of different components in one cluster
    from darkfigure.link._linker import _components_of

    ids = pd.Series(["a", "b", "c", "d", "e"])
    pairs = pd.DataFrame(
        {"unique_id_l": ["a", "c"], "unique_id_r": ["b", "zz"], "match_probability": [0.9, 0.9]}
    )
    comp = _components_of(ids, pairs, [("d", "e")]).set_index("id")["component"]
    assert comp["a"] == comp["b"] and comp["d"] == comp["e"]
    assert len({comp["a"], comp["c"], comp["d"]}) == 3  # an unknown id ("zz") joins nothing
