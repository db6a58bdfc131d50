"""A complete results folder built from synthetic records and the public UKdat capture histories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from darkfigure.estimate import EstimateResult, ModelFit, ResultWarning
from darkfigure.estimate.claims import check_claims
from darkfigure.estimate.economic import EconomicModel
from darkfigure.estimate.findings import compute_findings
from darkfigure.histories import CaptureHistories

INJECTION = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def synthetic_frame(n: int = 300, seed: int = 5) -> pd.DataFrame:
    """Synthetic records (no real person) with the CaseRecord column names findings use."""
    rng = np.random.default_rng(seed)
    types = ["SexualExploitation", "ForcedMarriage", "ForcedLabour"]
    means = ["DeceptionWork", "DeceptionFood", "Abduction", "SoldByBroker"]
    rows = []
    for i in range(n):
        et = sorted(set(rng.choice(types, size=int(rng.integers(1, 3)), p=[0.5, 0.35, 0.15])))
        sexual = "SexualExploitation" in et
        sub = ["Prostitution"] if rng.random() < 0.6 else ["RemoteInteractiveServices"]
        rows.append({
            "record_id": f"rec{i}", "source": ["rescue_ngo", "church_network", "researcher"][i % 3],
            "source_record_id": f"ORG-{i}",
            "exploitation_types": et if rng.random() > 0.05 else [],
            "sex_exploitation_subtypes": sub if sexual else [],
            "recruitment_means": [str(rng.choice(means))] if rng.random() > 0.1 else [],
            "venue_class": str(rng.choice(["Entertainment", "Service"])) if sexual else None,
            "age_at_exploitation": int(rng.integers(13, 40)) if rng.random() > 0.1 else None,
            "clients_per_night": float(rng.integers(1, 8)) if sexual else None,
            "price_per_act_usd": float(rng.integers(2, 15)) if sexual else None,
        })
    return pd.DataFrame(rows)


def write_results(root: Path, mse_dir: Path, source_name: str = "rescue_ngo") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    frame = synthetic_frame()
    compute_findings(frame).write_json(root / "findings.json")
    check_claims(frame).write_json(root / "claims.json")
    h = CaptureHistories.from_csv(mse_dir / "UKdat.csv")
    h.to_csv(root / "histories.csv")
    (root / "estimates").mkdir(exist_ok=True)
    # estimate JSONs as the estimators write them (the report only reads the JSON contract)
    auto = EstimateResult(method="auto", estimate=11_200.0, lower=9_800.0, upper=13_100.0, level=0.95,
                          observed=h.observed, lists=h.lists, model=("A:B",),
                          models=(ModelFit("A:B", 11_200.0, aic=50.0, lower=9_800.0, upper=13_100.0),),
                          warnings=(ResultWarning("sparse", "Two lists barely overlap: read with care."),),
                          extra={"recommended": True})
    lc = EstimateResult(method="latent-class", estimate=12_500.0, lower=9_000.0, upper=None, level=0.95,
                        observed=h.observed, lists=h.lists)
    (root / "estimates" / "auto.json").write_text(auto.to_json(), encoding="utf-8")
    (root / "estimates" / "latent_class.json").write_text(lc.to_json(), encoding="utf-8")
    econ = EconomicModel(n_draws=2000, seed=11).with_population(auto).with_shares_from(frame).fit()
    econ.result_.write_json(root / "economic.json")
    data = {"records": len(frame), "quarantined": 7,
            "sources": {source_name: {"records": 100, "quarantined": 3, "files_imported": 1},
                        "church_network": {"records": 100, "quarantined": 4, "files_imported": 1},
                        "researcher": {"records": 100, "quarantined": 0, "files_imported": 1}},
            "quarantine_reasons": {"date_of_birth [date]": 4, "age_at_exploitation [range]": 3}}
    (root / "data.json").write_text(json.dumps(data), encoding="utf-8")
    linkage = {"n_records": 300, "n_persons": 260, "n_pairs_compared": 4_500,
               "match_weight_histogram": {"edges": list(range(-10, 21, 5)),
                                          "counts": [900, 2000, 1200, 300, 60, 40]},
               "cluster_sizes": {"1": 225, "2": 30, "3": 5}, "estimated_missed_by_blocking": 1.5,
               "threshold": 8.0, "per_source": {"rescue_ngo": 100}}
    (root / "linkage.json").write_text(json.dumps(linkage), encoding="utf-8")
    (root / "truth.json").write_text(json.dumps({"N": 12_000}), encoding="utf-8")
    (root / "provenance.json").write_text(json.dumps({"seed": 11, "scenario": "test"}), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory, mse_dir: Path) -> Path:
    return write_results(tmp_path_factory.mktemp("results"), mse_dir)


@pytest.fixture(scope="session")
def report_path(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from darkfigure.report import build_report

    return build_report(results_dir, tmp_path_factory.mktemp("report") / "report.html")
