"""``darkfigure simulate``: synthetic organisations' lists with a known truth (the scenario simulator)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..exceptions import InputError


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the root app."""

    @app.command("simulate")
    def simulate_cmd(
        out: Path = typer.Option(..., "--out", help="Folder to write into (created if needed)."),
        seed: int = typer.Option(
            ..., "--seed", min=0, help="Random seed: the same seed writes the same bytes."
        ),
        scenario: str = typer.Option(
            "nk-china-2019", "--scenario", help="Scenario YAML file, or the name of a built-in scenario."
        ),
        size: int | None = typer.Option(
            None, "--size", min=1, help="True population size N (default: the scenario's)."
        ),
        histories_only: bool = typer.Option(
            False,
            "--histories-only",
            help="Write only the capture-history table (histories.csv) and truth/summary.json.",
        ),
    ) -> None:
        """Simulate organisations' files, their column mappings and the truth (see docs/simulator.md)."""
        from ..simulate import simulate, simulate_histories

        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out.name} exists and is not a folder")
        if histories_only:
            h, truth = simulate_histories(scenario, seed=seed, size=size)
            (out / "truth").mkdir(parents=True, exist_ok=True)
            h.to_csv(out / "histories.csv")
            (out / "truth" / "summary.json").write_text(
                json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            typer.echo(
                f"wrote {out / 'histories.csv'}: {h.n_lists} lists, {h.observed} people observed "
                f"of N = {truth['N']} (truth in {out / 'truth' / 'summary.json'})"
            )
            return
        sim = simulate(scenario, seed=seed, size=size)
        paths = sim.write(out)
        t = sim.truth_summary()
        typer.echo(
            f"wrote {len(paths)} files under {out}: {len(t['lists'])} organisations, "
            f"{t['records']} records ({t['broken_rows']} deliberately broken), "
            f"{t['observed']} people observed of N = {t['N']}"
        )
        for org, info in t["organisations"].items():
            typer.echo(f"  {org}: {info['file']} ({info['records']} records) + {org}/mapping.yaml")
