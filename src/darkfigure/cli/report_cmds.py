"""CLI commands ``report``, ``findings``, ``claims`` and ``economic``.

Each reads files and writes one file, so a Makefile can chain them. ``findings`` and ``claims`` open the
store (key from ``--key-file`` or the ``DARKFIGURE_PASSPHRASE`` environment variable) and write only
suppressed aggregates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..exceptions import InputError

_STORE = typer.Option(..., "--store", help="Store URL or SQLite path.")
_KEY = typer.Option(None, "--key-file",
                    help="Key file (else the DARKFIGURE_PASSPHRASE environment variable).")
_THRESHOLD = typer.Option(5, "--threshold", min=1, help="Small-cell suppression threshold (CTDC used 11).")
_METHOD = typer.Option("wilson", "--method", help="Interval method: wilson, clopper-pearson or jeffreys.")
_LEVEL = typer.Option(0.95, "--level", min=0.5, max=0.999, help="Interval level.")
_UNIT = typer.Option("auto", "--unit", help="Count 'persons' (needs linkage), 'records', or 'auto'.")


def _open_store(store: str, key_file: Path | None) -> Any:
    try:
        from ..store import Key, Store
    except ImportError as exc:  # pragma: no cover - the store part is another engineer's
        raise InputError(f"the store is not available in this installation ({exc.name})") from None
    key = Key.from_file(key_file) if key_file is not None else Key.from_env()
    return Store.open(store, key)


def _frame_and_persons(store: str, key_file: Path | None, unit: str) -> tuple[Any, dict[str, str] | None]:
    if unit not in ("auto", "persons", "records"):
        raise InputError("--unit must be auto, persons or records")
    st = _open_store(store, key_file)
    try:
        frame = st.records_frame(identifying=False)
        persons = st.person_ids() if unit != "records" else {}
    finally:
        st.close()
    if unit == "persons" and not persons:
        raise InputError("--unit persons needs linkage: run `darkfigure link` first")
    return frame, (persons or None)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""

    @app.command("report")
    def report_cmd(
        input: Path = typer.Option(..., "--input", help="Results folder (data.json, estimates/, ...)."),
        output: Path = typer.Option(Path("report.html"), "--output", help="HTML file to write."),
        title: str = typer.Option("darkfigure report", "--title", help="Report title."),
    ) -> None:
        """Build the self-contained HTML report from a results folder."""
        from ..report import build_report

        out = build_report(input, output, title=title)
        typer.echo(str(out))

    @app.command("findings")
    def findings_cmd(
        store: str = _STORE, key_file: Path | None = _KEY,
        output: Path = typer.Option(Path("findings.json"), "--output", help="JSON file to write."),
        threshold: int = _THRESHOLD, method: str = _METHOD, level: float = _LEVEL, unit: str = _UNIT,
    ) -> None:
        """Shares with intervals, cross-tabulations and quartiles (small cells suppressed)."""
        from ..estimate.findings import compute_findings

        frame, persons = _frame_and_persons(store, key_file, unit)
        f = compute_findings(frame, persons, threshold=threshold, method=method, level=level)
        f.write_json(output)
        typer.echo(str(output))

    @app.command("claims")
    def claims_cmd(
        store: str = _STORE, key_file: Path | None = _KEY,
        claims: Path | None = typer.Option(None, "--claims",
                                           help="Claims YAML (default: the 2019 report's)."),
        output: Path = typer.Option(Path("claims.json"), "--output", help="JSON file to write."),
        threshold: int = _THRESHOLD, method: str = _METHOD, level: float = _LEVEL, unit: str = _UNIT,
    ) -> None:
        """Check published claims against the records: estimate, interval, n and a verdict."""
        from ..estimate.claims import check_claims, load_claims

        frame, persons = _frame_and_persons(store, key_file, unit)
        rep = check_claims(frame, load_claims(claims), persons, method=method, level=level,
                           threshold=threshold)
        rep.write_json(output)
        for c in rep.checks:
            typer.echo(f"{c.claim.id}: {c.verdict}")

    @app.command("economic")
    def economic_cmd(
        output: Path = typer.Option(Path("economic.json"), "--output", help="JSON file to write."),
        assumptions: Path | None = typer.Option(None, "--assumptions", help="Assumptions YAML."),
        estimate: Path | None = typer.Option(None, "--estimate",
                                             help="EstimateResult JSON: the number of women."),
        store: str | None = typer.Option(None, "--store", help="Store: take the shares from the records."),
        key_file: Path | None = _KEY,
        draws: int | None = typer.Option(None, "--draws", min=100, help="Monte Carlo draws."),
        seed: int | None = typer.Option(None, "--seed", help="Random seed."),
    ) -> None:
        """Monte Carlo of the annual market value, with a sensitivity (tornado) analysis."""
        from ..estimate._result import EstimateResult
        from ..estimate.economic import EconomicModel

        model = EconomicModel.from_yaml(assumptions, n_draws=draws, seed=seed)
        if estimate is not None:
            try:
                d = json.loads(Path(estimate).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise InputError(f"cannot read estimate {Path(estimate).name}") from None
            model.with_population(EstimateResult.from_dict(d[0] if isinstance(d, list) else d))
        if store is not None:
            frame, persons = _frame_and_persons(store, key_file, "auto")
            model.with_shares_from(frame, persons)
        res = model.fit().result_
        res.write_json(output)
        typer.echo(res.summary())
