"""Findings: hand-computed shares, denominators, suppression, person-level counting."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from darkfigure.estimate.findings import Indicator, age_band, compute_findings, person_frame
from darkfigure.estimate.proportions import proportion_ci


def _frame() -> pd.DataFrame:
    """20 synthetic records from two sources, hand-countable."""
    rows = []
    # 10 records: sexual exploitation only; 6: forced marriage only; 2: both; 2: unknown (empty list)
    et = ([["SexualExploitation"]] * 10 + [["ForcedMarriage"]] * 6
          + [["SexualExploitation", "ForcedMarriage"]] * 2 + [[]] * 2)
    # recruitment: 8 deception-work, 7 abduction, 5 unknown
    rm = [["DeceptionWork"]] * 8 + [["Abduction"]] * 7 + [[]] * 5
    # venue class: 12 Entertainment, 6 Service, 2 unknown; ages 14..33
    vc = ["Entertainment"] * 12 + ["Service"] * 6 + [None] * 2
    for i in range(20):
        rows.append({
            "record_id": f"r{i:02d}", "source": "ngo_a" if i < 12 else "ngo_b",
            "source_record_id": f"SECRET-ID-{i}",
            "exploitation_types": et[i], "recruitment_means": rm[i], "venue_class": vc[i],
            "age_at_exploitation": 14 + i, "clients_per_night": float(i % 5 + 1),
        })
    return pd.DataFrame(rows)


def test_multi_select_shares_hand_computed():
    f = compute_findings(_frame(), threshold=1)  # threshold 1: nothing hidden, to check the arithmetic
    q = f.question("exploitation_types")
    assert q["n"] == 18 and q["missing"] == 2 and q["kind"] == "multi"
    assert "more than 100%" in q["note"]
    rows = {r["code"]: r for r in q["rows"]}
    assert rows["SexualExploitation"]["k"] == 12
    assert rows["SexualExploitation"]["estimate"] == pytest.approx(12 / 18)
    assert rows["ForcedMarriage"]["k"] == 8
    lo, hi = proportion_ci(8, 18, "wilson")
    assert (rows["ForcedMarriage"]["lower"], rows["ForcedMarriage"]["upper"]) == (lo, hi)
    # shares of a multi-select question sum to more than 1
    assert rows["SexualExploitation"]["estimate"] + rows["ForcedMarriage"]["estimate"] > 1


def test_denominator_excludes_missing_and_says_so():
    f = compute_findings(_frame(), threshold=1)
    q = f.question("recruitment_means")
    assert (q["n"], q["missing"]) == (15, 5)
    assert "missing excluded" in q["denominator"]
    rows = {r["code"]: r for r in q["rows"]}
    assert rows["Abduction"]["estimate"] == pytest.approx(7 / 15)


def test_jeffreys_on_request():
    f = compute_findings(_frame(), threshold=1, method="jeffreys", level=0.9)
    rows = {r["code"]: r for r in f.question("recruitment_means")["rows"]}
    assert (rows["Abduction"]["lower"], rows["Abduction"]["upper"]) == proportion_ci(7, 15, "jeffreys", 0.9)


def test_small_cells_suppressed_before_release():
    df = _frame()
    df.loc[0, "recruitment_means"] = ["SoldByBroker"]  # one record: a cell of 1
    f = compute_findings(df, threshold=5)
    rows = {r["code"]: r for r in f.question("recruitment_means")["rows"]}
    assert rows["SoldByBroker"]["k"] == "<5"
    assert rows["SoldByBroker"]["estimate"] is None and rows["SoldByBroker"]["lower"] is None
    text = json.dumps(f.to_dict())
    assert f.to_dict()["suppression"]["cells_primary"] >= 1
    # CTDC-style threshold 11 hides more
    f11 = compute_findings(df, threshold=11)
    rows11 = {r["code"]: r for r in f11.question("recruitment_means")["rows"]}
    assert rows11["DeceptionWork"]["k"] == "<11"
    # nothing record-level leaves: the organisations' ids never appear
    assert "SECRET-ID" not in text and "r00" not in text


def test_single_select_secondary_suppression():
    df = _frame()
    df["venue_class"] = ["Entertainment"] * 17 + ["Service"] * 3  # Service = 3 -> hidden; then
    f = compute_findings(df, threshold=5)
    rows = {r["code"]: r for r in f.question("venue_class")["rows"]}
    # n = 20 is shown, so Entertainment (17) would reveal Service (3): it is hidden too
    assert rows["Service"]["k"] == "<5" and rows["Entertainment"]["k"] == "<5"
    assert f.to_dict()["suppression"]["cells_secondary"] >= 1


def test_crosstab_age_band_by_venue_class_has_margins():
    f = compute_findings(_frame(), threshold=1)
    x = next(t for t in f.to_dict()["crosstabs"] if t["rows_field"] == "age_band")
    assert x["additive"] is True
    # ages 14..31 with known venue (records 0..17): 9-17 -> 4, 18-20 -> 3, 21-23 -> 3, 24-26 -> 3, 27-29 -> 3,
    # 30-38 -> 2; venues: records 0..11 Entertainment, 12..17 Service
    table = dict(zip(x["row_codes"], x["cells"], strict=True))
    assert x["col_codes"] == ["Entertainment", "Service"]
    assert table["9-17"] == [4, 0]
    assert table["27-29"] == [0, 3]
    assert sum(x["row_totals"]) == x["total"] == 18
    assert x["col_totals"] == [12, 6]


def test_crosstab_multi_select_is_not_additive():
    f = compute_findings(_frame(), threshold=1)
    x = next(t for t in f.to_dict()["crosstabs"] if t["rows_field"] == "exploitation_types")
    assert x["additive"] is False and x["row_totals"] is None and "do not add up" in x["note"]


def test_quartiles_and_their_suppression():
    f = compute_findings(_frame(), threshold=5)
    s = f.numeric("age_at_exploitation")
    assert (s["n"], s["median"], s["q1"], s["q3"]) == (20, 23.5, 18.75, 28.25)  # ages 14..33, type 7
    small = compute_findings(_frame().head(8), threshold=5)
    assert small.numeric("age_at_exploitation")["suppressed"] is True
    assert small.numeric("age_at_exploitation")["median"] is None


def test_per_source_breakdown_counts_records_within_source():
    f = compute_findings(_frame(), threshold=1)
    b = next(x for x in f.to_dict()["by_source"] if x["field"] == "exploitation_types")
    assert set(b["sources"]) == {"ngo_a", "ngo_b"}
    a_rows = {r["code"]: r for r in b["sources"]["ngo_a"]["rows"]}
    assert b["sources"]["ngo_a"]["n"] == 12 and a_rows["SexualExploitation"]["k"] == 10


def test_linked_persons_count_once():
    df = _frame()
    # records 0 and 12 are the same woman (one in each list): she counts once
    persons = {"r00": "p1", "r12": "p1"}
    f = compute_findings(df, persons, threshold=1)
    assert f.to_dict()["unit"] == "persons" and f.to_dict()["n_units"] == 19
    q = f.question("exploitation_types")
    rows = {r["code"]: r for r in q["rows"]}
    # r00 (SexualExploitation) + r12 (ForcedMarriage) merge into one person with both
    assert rows["SexualExploitation"]["k"] == 12 and rows["ForcedMarriage"]["k"] == 8 and q["n"] == 17
    assert compute_findings(df, threshold=1).to_dict()["unit"] == "records"


def test_person_frame_merging_rules():
    df = pd.DataFrame({"record_id": ["a", "b", "c"], "source": ["x", "y", "y"],
                       "venue_class": ["Service", "Entertainment", "Service"],
                       "recruitment_means": [["Abduction"], [], ["DeceptionWork"]],
                       "clients_per_night": [2.0, 4.0, None]})
    p = person_frame(df, {"a": "P", "b": "P", "c": "P"})
    assert len(p) == 1
    row = p.iloc[0]
    assert row["sources"] == ["x", "y"] and row["n_records"] == 3
    assert row["venue_class"] == "Service"  # most frequent known value
    assert row["recruitment_means"] == ["Abduction", "DeceptionWork"]
    assert row["clients_per_night"] == 3.0  # median of known values


def test_indicator_among_and_between():
    df = _frame()
    ind = Indicator.from_dict({"field": "exploitation_types", "any_of": ["ForcedMarriage"],
                               "among": {"field": "exploitation_types",
                                         "any_of": ["SexualExploitation", "ForcedMarriage"]}})
    assert ind.counts(df) == (8, 18, 0)
    ages = Indicator.from_dict({"field": "age_at_exploitation", "between": [12, 29]})
    assert ages.counts(df) == (16, 20, 0)  # ages 14..29
    assert age_band(8) == "0-8" and age_band(18) == "18-20"


def test_per_source_cell_cannot_be_recovered_from_the_overall():
    df = _frame()
    # Abduction: 7 records, all in ngo_a except 2 in ngo_b -> ngo_b's 2 is hidden; 7 overall minus ngo_a's 5
    # would give it back, so ngo_a's cell is hidden too
    df["recruitment_means"] = [["Abduction"]] * 5 + [["DeceptionWork"]] * 7 + [["Abduction"]] * 2 + \
        [["DeceptionWork"]] * 6
    f = compute_findings(df, threshold=5)
    b = next(x for x in f.to_dict()["by_source"] if x["field"] == "recruitment_means")
    a_rows = {r["code"]: r for r in b["sources"]["ngo_a"]["rows"]}
    b_rows = {r["code"]: r for r in b["sources"]["ngo_b"]["rows"]}
    overall = {r["code"]: r for r in f.question("recruitment_means")["rows"]}
    assert overall["Abduction"]["k"] == 7
    assert b_rows["Abduction"]["k"] == "<5"
    assert a_rows["Abduction"]["k"] == "<5"


def test_provenance_names_the_records_not_their_contents():
    df = _frame()
    d = compute_findings(df).to_dict()["provenance"]
    assert len(d["input_sha256"]) == 64 and d["settings"]["threshold"] == 5
    # the digest depends on which records were used, not on their answers
    changed = df.assign(age_at_exploitation=30)
    assert compute_findings(changed).to_dict()["provenance"]["input_sha256"] == d["input_sha256"]
    assert compute_findings(df.head(19)).to_dict()["provenance"]["input_sha256"] != d["input_sha256"]
