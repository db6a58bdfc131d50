"""The scenario YAML: validation (every problem listed at once) and sources for every number."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path

import pytest
import yaml

from darkfigure.exceptions import ScenarioError
from darkfigure.simulate import Scenario, builtin_scenarios, load_scenario
from darkfigure.simulate._scenario import scenario_from_dict


def _raw() -> dict:
    text = (resources.files("darkfigure.simulate") / "scenarios" / "nk-china-2019.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def test_default_scenario_loads_by_name_and_by_path(tmp_path: Path) -> None:
    s = load_scenario()
    assert isinstance(s, Scenario)
    assert "nk-china-2019" in builtin_scenarios()
    assert len(s.organisations) >= 5
    p = tmp_path / "copy.yaml"
    p.write_text(yaml.safe_dump(_raw(), allow_unicode=True), encoding="utf-8")
    assert load_scenario(p).sha256() == s.sha256()


def test_report_figures_are_the_defaults() -> None:
    # the figures from the 2019 report: ~60% sex trade; of those ~1/2 prostitution, ~1/3 forced
    # marriage, ~15% cybersex; recruitment ~40% deception, ~18% abduction
    s = load_scenario()
    sh = s.pathways.shares
    sex = sh["prostitution"] + sh["forced_marriage"] + sh["cybersex"] + sh["other_sex"]
    assert sex == pytest.approx(0.60)
    assert sh["prostitution"] / sex == pytest.approx(0.5)
    assert sh["forced_marriage"] / sex == pytest.approx(1 / 3, abs=0.01)
    assert sh["cybersex"] / sex == pytest.approx(0.15)
    r = s.recruitment.shares
    assert r["DeceptionFood"] + r["DeceptionWork"] + r["DeceptionPassage"] == pytest.approx(0.40)
    assert r["Abduction"] == pytest.approx(0.18)
    assert s.venues.entertainment.age_min == 15 and s.venues.entertainment.age_max == 25
    assert (s.venues.entertainment.clients_min, s.venues.entertainment.clients_max) == (2, 4)
    assert (s.venues.service.age_min, s.venues.service.age_max, s.venues.service.clients_max) == (17, 39, 9)
    assert s.prices.price_per_act_usd.median == 4.0 and s.prices.wife_price_usd.minimum == 146.0
    assert 10_000 <= s.population.size < 100_000  # "tens of thousands"


def test_every_block_of_numbers_cites_a_source() -> None:
    raw = _raw()
    assert "kfi2019" in raw["references"]
    for key in (
        "pathways",
        "ages",
        "venues",
        "prices",
        "recruitment",
        "control",
        "harms",
        "roles",
        "exploitation",
        "outcomes",
        "heterogeneity",
    ):
        src = raw[key]["source"]
        assert "kfi2019" in src or "assumption" in src, key
    assert "assumption" in raw["population"]["size_source"] or "kfi2019" in raw["population"]["size_source"]
    assert "source" in raw["population"]["provinces"]
    for org in raw["organisations"]:
        assert "assumption" in org["source"] or "kfi2019" in org["source"], org["name"]


def test_missing_source_is_rejected() -> None:
    raw = _raw()
    del raw["recruitment"]["source"]
    with pytest.raises(ScenarioError, match=r"recruitment\.source"):
        scenario_from_dict(raw)


def test_bad_scenario_lists_every_problem() -> None:
    raw = copy.deepcopy(_raw())
    raw["pathways"]["shares"]["prostitution"] = 0.5  # shares no longer sum to 1
    raw["organisations"][0]["writer"] = "fax_machine"  # unknown writer
    raw["organisations"][0]["depends_on"] = {"church_network": 1.0}  # depends on a later list
    raw["recruitment"]["shares"]["Bribery"] = 0.0  # unknown code
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw, "bad.yaml")
    msg = str(err.value)
    assert msg.startswith("bad.yaml: 4 problem(s)")
    assert "pathways: shares sum to" in msg
    assert "unknown writer 'fax_machine'" in msg
    assert "depends_on 'church_network'" in msg
    assert "unknown category 'Bribery'" in msg


def test_type_errors_are_all_reported() -> None:
    raw = copy.deepcopy(_raw())
    raw["population"]["size"] = "many"
    raw["heterogeneity"]["sd"] = -1
    raw["organisations"][1]["duplicate_rate"] = 2
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw)
    msg = str(err.value)
    assert "3 problem(s)" in msg
    assert "population.size" in msg and "heterogeneity.sd" in msg and "organisations.1.duplicate_rate" in msg


def test_unparseable_yaml_and_unknown_name(tmp_path: Path) -> None:
    p = tmp_path / "broken.yaml"
    p.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid YAML at line"):
        load_scenario(p)
    with pytest.raises(ScenarioError, match="no scenario file or built-in scenario"):
        load_scenario("no-such-scenario")
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(tmp_path / "absent.yaml")


def test_with_size() -> None:
    s = load_scenario()
    assert s.with_size(1234).population.size == 1234
    assert s.with_size(None) is s
    with pytest.raises(ScenarioError):
        s.with_size(0)
