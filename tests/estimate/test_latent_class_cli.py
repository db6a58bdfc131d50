"""``darkfigure estimate latent-class``: options, JSON keys, output file, strata, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from darkfigure.cli.main import main

SHORT = ["--chains", "2", "--samples", "100", "--burn-in", "200", "--thin", "2", "--K", "5", "--jobs", "1"]


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


def test_json_output_has_the_contract_keys(mse_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["estimate", "latent-class", "--input", str(mse_dir / "UKdat_4.csv"), "--json", "--seed", "3",
                 *SHORT])
    assert code == 0
    (d,) = _json_lines(capsys.readouterr().out)
    for key in ("method", "estimate", "lower", "upper", "level", "observed", "lists", "warnings",
                "provenance", "rhat", "ess", "chains"):
        assert key in d
    assert d["method"] == "latent-class" and d["chains"] == 2 and d["observed"] == 2428
    assert d["provenance"]["seed"] == 3 and d["provenance"]["settings"]["n_samples"] == 100
    assert d["lower"] <= d["estimate"] <= d["upper"]
    # a 100-draw run is short: the diagnostics say so in the result
    assert {"ess_low"} <= {w["code"] for w in d["warnings"]}

    # same seed, same answer
    main(["estimate", "latent-class", "--input", str(mse_dir / "UKdat_4.csv"), "--json", "--seed", "3",
          *SHORT])
    (d2,) = _json_lines(capsys.readouterr().out)
    assert (d2["estimate"], d2["lower"], d2["upper"]) == (d["estimate"], d["lower"], d["upper"])


def test_output_file_level_and_table(mse_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "est" / "lc.json"
    code = main(["estimate", "latent-class", "-i", str(mse_dir / "hare.csv"), "--level", "0.9",
                 "--output", str(out), "--seed", "1", *SHORT])
    assert code == 0
    printed = capsys.readouterr().out
    assert "latent-class" in printed
    d = json.loads(out.read_text())
    assert d["level"] == 0.9 and d["observed"] == 68


def test_strata_one_result_each_and_not_estimable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "h.csv"
    f.write_text("region,A,B,C,count\n"
                 "north,1,0,0,60\nnorth,0,1,0,50\nnorth,0,0,1,40\nnorth,1,1,0,15\nnorth,1,0,1,12\n"
                 "north,0,1,1,10\nnorth,1,1,1,4\nsouth,1,0,0,2\nsouth,1,1,0,1\n")
    code = main(["estimate", "latent-class", "-i", str(f), "--strata", "region", "--json", "--seed", "2",
                 *SHORT])
    assert code == 0
    rows = {d["stratum"]: d for d in _json_lines(capsys.readouterr().out)}
    assert set(rows) == {"north", "south"}
    assert rows["north"]["estimable"] and rows["north"]["estimate"] >= 191
    assert not rows["south"]["estimable"] and rows["south"]["warnings"][-1]["code"] == "not_estimable"


def test_missing_input_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["estimate", "latent-class", "-i", str(tmp_path / "nope.csv")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("darkfigure: error:") and len(err.strip().splitlines()) == 1
