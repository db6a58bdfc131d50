"""docs/simulator.md documents every parameter of the scenario (a parameter added without documentation
fails here)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def test_every_scenario_parameter_is_documented() -> None:
    raw = yaml.safe_load(
        (resources.files("darkfigure.simulate") / "scenarios" / "nk-china-2019.yaml").read_text("utf-8"))
    text = DOC.read_text(encoding="utf-8")
    missing = []
    for block, value in raw.items():
        if block in ("name", "description", "references", "organisations"):
            continue
        for key in value:
            if "source" in key:
                continue
            if f"`{block}.{key}" not in text:
                missing.append(f"{block}.{key}")
    for org in raw["organisations"]:
        if f"| {org['name']} |" not in text:
            missing.append(org["name"])
        for key in org:
            if key not in ("name", "source") and f"`{key}`" not in text:
                missing.append(f"organisations[].{key}")
    assert not missing, missing
