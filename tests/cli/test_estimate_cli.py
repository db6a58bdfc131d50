"""The ``darkfigure estimate`` contract: methods, options, JSON lines, --output, strata, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from darkfigure.cli.main import main
from darkfigure.histories import CaptureHistories

KEYS = {"method", "estimate", "lower", "upper", "level", "observed", "lists", "model", "models", "warnings",
        "provenance"}


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_loglinear_json_one_line_per_input(mse_dir: Path, capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    out_file = tmp_path / "r.json"
    code = main(["estimate", "loglinear", "--input", str(mse_dir / "UKdat.csv"), "--input",
                 str(mse_dir / "Artificial_3.csv"), "--json", "--output", str(out_file)])
    assert code == 0
    rows = _lines(capsys.readouterr().out)
    assert len(rows) == 2
    for r in rows:
        assert set(r) >= KEYS
        assert r["method"] == "loglinear" and r["level"] == 0.95
        assert r["provenance"]["input_sha256"]
    assert rows[0]["estimate"] == pytest.approx(11417.99109, rel=1e-6)  # SparseMSE stepwise on UKdat
    assert "non_overlapping_lists" in {w["code"] for w in rows[1]["warnings"]}
    written = json.loads(out_file.read_text())
    assert isinstance(written, list) and written[0]["estimate"] == pytest.approx(rows[0]["estimate"])


def test_loglinear_select_terms_level_bootstrap_seed(mse_dir: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "loglinear", "--input", str(mse_dir / "UKdat_4.csv"), "--select", "none",
                 "--terms", "LA:NG,NG:GO", "--level", "0.9", "--json"]) == 0
    r = _lines(capsys.readouterr().out)[0]
    assert sorted(r["model"]) == ["LA:NG", "NG:GO"] and r["level"] == 0.9
    assert main(["estimate", "loglinear", "--input", str(mse_dir / "UKdat_4.csv"), "--select", "aic",
                 "--bootstrap", "40", "--seed", "5", "--json"]) == 0
    r = _lines(capsys.readouterr().out)[0]
    assert r["provenance"]["seed"] == 5 and r["bootstrap"]["replicates"] == 40


def test_rcapture_chapman_chao(mse_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["estimate", "rcapture", "--model", "Mth-chao", "--input", str(mse_dir / "HIV.csv"),
                 "--json"]) == 0
    r = _lines(capsys.readouterr().out)[0]
    assert r["method"] == "rcapture" and r["model"] == "Mth-chao" and set(r) >= KEYS
    assert main(["estimate", "chao", "--input", str(mse_dir / "HIV.csv"), "--json"]) == 0
    assert _lines(capsys.readouterr().out)[0]["estimate"] > 1896
    two = tmp_path / "two.csv"
    two.write_text("A,B,count\n1,0,40\n0,1,30\n1,1,10\n")
    assert main(["estimate", "chapman", "--input", str(two), "--json"]) == 0
    r = _lines(capsys.readouterr().out)[0]
    # n1 = 50, n2 = 40, m = 10
    assert r["method"] == "chapman" and r["estimate"] == pytest.approx(51 * 41 / 11 - 1, rel=1e-9)


def test_auto_shows_alternatives(mse_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "auto", "--input", str(mse_dir / "UKdat_4.csv"), "--bootstrap", "30",
                 "--seed", "1", "--json"]) == 0
    r = _lines(capsys.readouterr().out)[0]
    assert r["method"] == "auto"
    kinds = {m.get("kind") for m in r["models"]}
    assert kinds == {"candidate", "alternative"}
    assert r["lower"] < r["estimate"] < r["upper"]


def test_strata_one_line_per_stratum_and_not_estimable_goes_on(mse_dir: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    uk = CaptureHistories.from_csv(mse_dir / "UKdat_4.csv")
    lines = ["area," + ",".join(uk.lists) + ",count"]
    for pat, c in zip(uk.patterns.tolist(), uk.counts.tolist(), strict=True):
        lines.append("big," + ",".join(map(str, pat)) + f",{c}")
    lines.append("small,1,0,0,0,3")
    p = tmp_path / "s.csv"
    p.write_text("\n".join(lines) + "\n")
    for method in ("loglinear", "rcapture", "auto"):
        assert main(["estimate", method, "--input", str(p), "--strata", "area", "--json"]) == 0
        rows = _lines(capsys.readouterr().out)
        assert [r["stratum"] for r in rows] == ["big", "small"]
        assert rows[0]["estimable"] and rows[1]["estimable"] is False and rows[1]["estimate"] is None


def test_readable_table_and_errors(mse_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "loglinear", "--input", str(mse_dir / "NewOrl.csv")]) == 0
    out = capsys.readouterr().out
    assert "estimate" in out and "non_overlapping_lists" in out
    assert main(["estimate", "loglinear", "--input", "does-not-exist.csv"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("darkfigure: error:")
    assert main(["estimate", "loglinear", "--input", str(mse_dir / "UKdat.csv"), "--select", "magic"]) == 1
    assert main(["estimate", "rcapture", "--input", str(mse_dir / "UKdat.csv"), "--model", "Mx"]) == 1
    assert main(["estimate", "nonsense"]) == 2
