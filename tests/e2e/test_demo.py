"""`make demo` end to end, at a small size: simulate → store → link → estimate → findings → report."""

from __future__ import annotations

import json
from pathlib import Path

from darkfigure.demo import main, run_demo
from darkfigure.report import SECTIONS


def test_demo_small_produces_the_report(tmp_path: Path):
    out = tmp_path / "demo"
    o = run_demo(out, seed=3, size=400, fast=True, quiet=True)
    # every stage ran or says plainly why not; none may fail
    failed = {k: v for k, v in o.stages.items() if v.startswith("failed")}
    assert not failed, failed
    assert o.report is not None and o.report.is_file()
    html = o.report.read_text(encoding="utf-8")
    for sid, _title in SECTIONS:
        assert f'<section id="{sid}"' in html, sid
    assert o.true_n == 400
    res = out / "results"
    for name in ("data.json", "findings.json", "claims.json", "economic.json", "truth.json",
                 "provenance.json"):
        assert (res / name).is_file(), name
    # the demo's parts that have landed all ran: the report has no "missing" section for them
    if o.stages.get("link", "").startswith("done"):
        assert (res / "linkage.json").is_file() and (res / "histories.csv").is_file()
        assert 'data-plot="upset"' in html
    if any(v.startswith("done") for k, v in o.stages.items() if k.startswith("estimate")):
        assert 'data-plot="forest"' in html and list((res / "estimates").glob("*.json"))
    # findings are released suppressed: no organisation record id reaches the results
    prov = json.loads((res / "provenance.json").read_text(encoding="utf-8"))
    assert prov["seed"] == 3 and prov["inputs_sha256"]
    manifest = json.loads((res / "release_manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {"findings.json", "claims.json", "economic.json"}
    assert manifest["suppression"]["threshold"] == 5
    findings_text = (res / "findings.json").read_text(encoding="utf-8")
    assert "source_record_id" not in findings_text


def test_demo_cli_usage_error(capsys):
    import pytest

    with pytest.raises(SystemExit) as e:
        main(["--size", "not-a-number"])
    assert e.value.code == 2
