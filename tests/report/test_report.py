"""The HTML report: every section, plots inline, nothing external, everything escaped."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from darkfigure.cli.main import main
from darkfigure.report import SECTIONS, build_report

from .conftest import INJECTION


def test_every_section_and_plot_present(report_path: Path):
    html = report_path.read_text(encoding="utf-8")
    for sid, title in SECTIONS:
        assert f'<section id="{sid}"' in html, sid
        assert title in html
    assert 'class="missing"' not in html  # every input was given
    for plot in ("upset", "weights", "forest", "histogram", "tornado", "findings-exploitation_types"):
        assert f'data-plot="{plot}"' in html, plot
    assert "(recommended)" in html and "auto" in html
    assert "Two lists barely overlap" in html  # warnings in plain words
    assert "$105.1M" in html  # the point-value check
    assert "no upper limit" in html  # the unbounded latent-class interval


def test_small_overlap_patterns_are_not_drawn(report_path: Path, mse_dir: Path):
    from darkfigure.histories import CaptureHistories

    h = CaptureHistories.from_csv(mse_dir / "UKdat.csv")
    rare = [int(c) for c in h.counts if 0 < c < 5]
    assert rare  # UKdat has patterns seen 1 to 4 times
    html = report_path.read_text(encoding="utf-8")
    assert f"{len(rare)} rarer pattern(s), each seen fewer than 5 times, are not drawn" in html


def test_recommended_estimate_first(report_path: Path):
    html = report_path.read_text(encoding="utf-8")
    pop = html[html.index('id="population"'):html.index('id="findings"')]
    assert pop.index("auto") < pop.index("latent-class")


def test_self_contained_no_network(report_path: Path):
    html = report_path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:|//)', html, re.IGNORECASE)
    assert "@import" not in html and "url(http" not in html
    assert "default-src 'none'" in html  # CSP forbids any load
    assert '<meta name="viewport"' in html and "@media print" in html


def test_missing_inputs_are_said_plainly(tmp_path: Path):
    out = build_report(tmp_path, tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    for sid, _ in SECTIONS:
        assert f'<section id="{sid}"' in html
    assert html.count('class="missing"') >= 7
    assert "No population estimates were given" in html


def test_injection_is_escaped(tmp_path: Path, results_dir: Path):
    root = tmp_path / "res"
    shutil.copytree(results_dir, root)
    (root / "economic.json").unlink()  # not needed here: keeps the test fast
    data = json.loads((root / "data.json").read_text(encoding="utf-8"))
    data["sources"][INJECTION] = data["sources"].pop("rescue_ngo")
    (root / "data.json").write_text(json.dumps(data), encoding="utf-8")
    # also through an estimate's method and warning, and a claim statement
    est = json.loads((root / "estimates" / "auto.json").read_text(encoding="utf-8"))
    est["method"] = INJECTION
    est["warnings"] = [{"code": "x", "message": INJECTION}]
    (root / "estimates" / "auto.json").write_text(json.dumps(est), encoding="utf-8")
    claims = json.loads((root / "claims.json").read_text(encoding="utf-8"))
    claims["claims"][0]["statement"] = INJECTION
    (root / "claims.json").write_text(json.dumps(claims), encoding="utf-8")
    html = build_report(root, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    # the forest plot labels the injected method name, drawn as paths: nothing executable in the SVG
    assert "onerror" not in html.replace("&lt;img src=x onerror", "")


def test_unreadable_input_reported_not_fatal(tmp_path: Path, results_dir: Path):
    root = tmp_path / "res"
    root.mkdir()
    shutil.copy(results_dir / "data.json", root / "data.json")
    (root / "claims.json").write_text("{not json", encoding="utf-8")
    html = build_report(root, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "claims.json could not be read" in html
    assert "No claims check was given" in html


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "cli.html"
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "truth.json").write_text('{"N": 10}', encoding="utf-8")
    assert main(["report", "--input", str(tmp_path / "res"), "--output", str(out)]) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert main(["report", "--input", str(tmp_path / "nope"), "--output", str(out)]) == 1
    assert "darkfigure: error:" in capsys.readouterr().err


def test_unexpected_layout_is_named_not_half_rendered(tmp_path: Path):
    (tmp_path / "findings.json").write_text('{"questions": []}', encoding="utf-8")
    (tmp_path / "economic.json").write_text("[1, 2]", encoding="utf-8")
    html = build_report(tmp_path, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "findings.json does not have the expected layout" in html
    assert "economic.json does not have the expected layout" in html
    assert "No findings were given" in html and "No economic model was given" in html


def test_stratified_histories_are_pooled_for_the_overlap_plot(tmp_path: Path):
    (tmp_path / "histories.csv").write_text(
        "region,A,B,count\nnorth,1,0,40\nnorth,0,1,30\nnorth,1,1,10\nsouth,1,0,20\nsouth,1,1,6\n",
        encoding="utf-8")
    html = build_report(tmp_path, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'data-plot="upset"' in html
    assert "106 people were seen by at least one of 2 lists" in html


def test_people_by_number_of_records_never_shows_a_small_count(tmp_path: Path, results_dir: Path):
    # a small row hidden alone could be recovered from the number of people: the tail is merged instead
    res = tmp_path / "res"
    shutil.copytree(results_dir, res)
    link = json.loads((res / "linkage.json").read_text(encoding="utf-8"))
    link["cluster_sizes"] = {"1": 225, "2": 30, "3": 3, "4": 1, "5": 1}
    (res / "linkage.json").write_text(json.dumps(link), encoding="utf-8")
    html = build_report(res, tmp_path / "r.html").read_text(encoding="utf-8")
    table = html.split("People by number of records", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<td>([^<]*)</td><td class=\"num\">([^<]*)</td>", table)
    assert cells == [("1", "225"), ("2", "30"), ("3 or more", "5")]
    assert "≈ 2" in html  # the estimate of matches missed by blocking (1.5) is rounded, not shown as 1.50
