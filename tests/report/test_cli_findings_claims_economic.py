"""The `findings`, `claims` and `economic` commands against a real (synthetic) store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from darkfigure.cli.main import main
from darkfigure.estimate import EstimateResult
from darkfigure.schema.records import CaseRecord
from darkfigure.store import Key, Store


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, Path]:
    key_file = Key.generate_file(tmp_path / "k")
    url = str(tmp_path / "s.db")
    recs = []
    for i in range(60):
        recs.append(CaseRecord(
            source="ngo_a" if i < 40 else "ngo_b", source_record_id=f"A{i}",
            name_hangul="김영희" if i == 0 else None,
            exploitation_types=["SexualExploitation"] if i % 3 else ["ForcedMarriage"],
            recruitment_means=["Abduction"] if i % 4 == 0 else ["DeceptionWork"],
            age_at_exploitation=15 + i % 20,
        ))
    with Store.create(url, Key.from_file(key_file)) as st:
        st.import_records([r for r in recs if r.source == "ngo_a"], source="ngo_a")
        st.import_records([r for r in recs if r.source == "ngo_b"], source="ngo_b")
    return url, key_file


def test_findings_command(store, tmp_path: Path):
    url, key = store
    out = tmp_path / "findings.json"
    assert main(["findings", "--store", url, "--key-file", str(key), "--output", str(out),
                 "--threshold", "11"]) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["unit"] == "records" and d["n_records"] == 60
    q = next(q for q in d["questions"] if q["field"] == "exploitation_types")
    rows = {r["code"]: r for r in q["rows"]}
    assert rows["ForcedMarriage"]["k"] == 20 and rows["SexualExploitation"]["k"] == 40
    assert d["suppression"]["shown_as"] == "<11"
    assert "김영희" not in out.read_text(encoding="utf-8")  # identifying fields are never read
    assert main(["findings", "--store", url, "--key-file", str(key), "--output", str(out),
                 "--unit", "persons"]) == 1  # no linkage yet


def test_claims_command(store, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url, key = store
    out = tmp_path / "claims.json"
    assert main(["claims", "--store", url, "--key-file", str(key), "--output", str(out)]) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    by = {c["id"]: c for c in d["claims"]}
    # every record is in the sex trade (sexual exploitation or forced marriage): 60 of 60 vs "about 60%"
    assert by["sex_trade"]["n"] == 60 and by["sex_trade"]["verdict"] == "inconsistent"
    assert "sex_trade: inconsistent" in capsys.readouterr().out


def test_economic_command(store, tmp_path: Path):
    url, key = store
    est = tmp_path / "est.json"
    est.write_text(EstimateResult(method="auto", estimate=900.0, lower=700.0, upper=1300.0, level=0.95,
                                  observed=60, lists=("ngo_a", "ngo_b")).to_json(), encoding="utf-8")
    out = tmp_path / "economic.json"
    assert main(["economic", "--output", str(out), "--estimate", str(est), "--store", url,
                 "--key-file", str(key), "--draws", "1000", "--seed", "5"]) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["provenance"]["seed"] == 5 and d["n_draws"] == 1000
    women = next(a for a in d["assumptions"] if a["name"] == "women")
    assert women["median"] == pytest.approx(900.0)
    share = next(a for a in d["assumptions"] if a["name"] == "share_sex_trade")
    assert share["distribution"] == {"type": "beta", "a": 60.5, "b": 0.5}
