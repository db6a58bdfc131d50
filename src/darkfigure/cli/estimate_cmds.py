"""``darkfigure estimate METHOD``: population size from capture histories.

Contract (other parts and outside checks rely on it)::

    darkfigure estimate METHOD --input H.csv [--input H2.csv ...] [--json] [--output R.json]
                               [--level 0.95] [--seed N] [--strata COL]

with METHOD in ``auto``, ``loglinear`` (``--select``, ``--terms``, ``--bootstrap``), ``rcapture``
(``--model``), ``chapman``, ``chao``.  Without ``--json``: a readable table.  With ``--json``: one JSON object
per input file per line (per stratum with ``--strata``), the keys of
:meth:`~darkfigure.estimate.EstimateResult.to_dict`.  ``--output`` writes the same results to a file (one
object, or a JSON list when there are several).  A stratum that cannot be estimated gives a result with
``"estimable": false`` and the batch goes on.

The latent-class commands (another module) register themselves on :data:`estimate_app` and reuse
:func:`emit_results` and :func:`read_inputs`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import typer

from ..exceptions import DarkfigureError, InputError
from ..histories import CaptureHistories

__all__ = ["emit_results", "estimate_app", "fit_per_stratum", "read_inputs", "register"]

estimate_app = typer.Typer(
    name="estimate",
    help="Estimate the total population (seen and unseen) from capture histories.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# ------------------------------------------------------------------ shared options
InputOpt = typer.Option(..., "--input", "-i", help="Capture-history CSV (repeatable).", exists=False)
JsonOpt = typer.Option(False, "--json", help="One JSON object per input (per stratum) per line.")
OutputOpt = typer.Option(None, "--output", "-o", help="Also write the results to this JSON file.")
LevelOpt = typer.Option(0.95, "--level", help="Interval level.", min=0.5, max=0.999)
SeedOpt = typer.Option(None, "--seed", help="Random seed (bootstrap); recorded in the provenance.")
StrataOpt = typer.Option(None, "--strata", help="Stratum column: one estimate per stratum.")
BootOpt = typer.Option(None, "--bootstrap", help="Bootstrap replicates (repeating the model selection).",
                       min=0)


def read_inputs(inputs: Sequence[Path], strata: str | None) -> list[CaptureHistories]:
    """Read every ``--input`` (errors name the file, never values)."""
    out = []
    for p in inputs:
        if not Path(p).is_file():
            raise InputError(f"input file not found: {p}")
        out.append(CaptureHistories.from_csv(p, stratum_column=strata))
    return out


def fit_per_stratum(h: CaptureHistories, fit: Callable[[CaptureHistories], object],
                    method: str, level: float) -> list:
    """Fit an estimator factory per stratum (or once); a stratum that fails is 'not estimable'."""
    from .._provenance import Provenance
    from ..estimate import EstimateResult, ResultWarning

    results = []
    for lab, hs in h.by_stratum():
        try:
            r = fit(hs).result_  # type: ignore[attr-defined]
            if lab is not None:
                from dataclasses import replace

                r = replace(r, stratum=lab)
        except DarkfigureError as exc:
            if lab is None:
                raise
            r = EstimateResult(method=method, estimate=None, lower=None, upper=None, level=level,
                               observed=hs.observed, lists=hs.lists, stratum=lab, estimable=False,
                               warnings=(ResultWarning("not_estimable", f"Stratum {lab} is not estimable: "
                                                                         f"{' '.join(str(exc).split())}"),),
                               provenance=Provenance(input_sha256=hs.sha256))
        results.append(r)
    return results


def _fmt(x: float | None) -> str:
    return "unbounded" if x is None else f"{x:,.0f}"


def emit_results(results: Sequence, json_: bool, output: Path | None,
                 labels: Sequence[str] | None = None) -> None:
    """Print results (JSON lines with ``json_``, else a rich table) and optionally write ``output``."""
    dicts = [r.to_dict() for r in results]
    if json_:
        for d in dicts:
            typer.echo(json.dumps(d, ensure_ascii=False))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Population size estimates", show_lines=False)
        # long model descriptions are listed under the table, not squeezed into a column
        for col, just in [("input", "left"), ("stratum", "left"), ("method", "left"), ("model", "left"),
                          ("estimate", "right"), ("lower", "right"), ("upper", "right"),
                          ("observed", "right")]:
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        notes: list[str] = []
        for k, r in enumerate(results):
            model = r.model if isinstance(r.model, str) or r.model is None else (
                " + ".join(r.model) or "independence")
            if r.extra.get("select") == "average":
                n_cand = sum(1 for m in r.models if m.extra.get("kind", "candidate") == "candidate")
                model = f"average of {n_cand} models"
            elif model and len(model) > 24:
                notes.append(f"[{labels[k] if labels else k + 1}{'/' + r.stratum if r.stratum else ''}] "
                             f"model: {model}")
                model = f"{len(r.model or ())} two-list terms"
            est = "not estimable" if not r.estimable or r.estimate is None else _fmt(r.estimate)
            table.add_row(labels[k] if labels else "", r.stratum or "", r.method, str(model or ""), est,
                          _fmt(r.lower) if r.estimable else "", _fmt(r.upper) if r.estimable else "",
                          f"{r.observed:,}")
            for w in r.warnings:
                notes.append(f"[{labels[k] if labels else k + 1}{'/' + r.stratum if r.stratum else ''}] "
                             f"{w.code}: {w.message}")
        console = Console(soft_wrap=True, width=max(Console().width, 110))
        console.print(table)
        lvl = results[0].level if results else 0.95
        console.print(f"{lvl:.0%} intervals. Estimates include the people already seen.")
        for n in notes:
            console.print(n if "] model: " in n else f"warning {n}", markup=False)
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        payload = dicts[0] if len(dicts) == 1 else dicts
        Path(output).write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _run(inputs: list[Path], strata: str | None, json_: bool, output: Path | None,
         one: Callable[[CaptureHistories], list]) -> None:
    tables = read_inputs(inputs, strata)
    results, labels = [], []
    for p, h in zip(inputs, tables, strict=True):
        rs = one(h)
        results += rs
        labels += [Path(p).name] * len(rs)
    emit_results(results, json_, output, labels)


@estimate_app.command("auto")
def auto_cmd(input: list[Path] = InputOpt, json_: bool = JsonOpt, output: Path | None = OutputOpt,
             level: float = LevelOpt, seed: int | None = SeedOpt, strata: str | None = StrataOpt,
             bootstrap: int | None = BootOpt) -> None:
    """Recommended estimate (best calibrated in the honesty study), with the alternatives alongside."""
    from ..estimate.auto import AutoMSE

    def one(h: CaptureHistories) -> list:
        est = AutoMSE(level=level, random_state=seed, bootstrap=bootstrap or 0).fit(h)
        return est.results_

    _run(input, strata, json_, output, one)


@estimate_app.command("loglinear")
def loglinear_cmd(input: list[Path] = InputOpt, json_: bool = JsonOpt, output: Path | None = OutputOpt,
                  level: float = LevelOpt, seed: int | None = SeedOpt, strata: str | None = StrataOpt,
                  select: str = typer.Option("stepwise", "--select",
                                             help="aic | bic | stepwise | average | none"),
                  terms: str | None = typer.Option(None, "--terms",
                                                   help='Two-list terms for --select none, e.g. "A:B,C:D" '
                                                        '(or "all").'),
                  pthresh: float = typer.Option(0.02, "--pthresh", help="Stepwise p-value threshold."),
                  interval: str = typer.Option("normal", "--interval", help="normal | profile"),
                  bootstrap: int | None = BootOpt,
                  bootstrap_method: str = typer.Option("nonparametric", "--bootstrap-method",
                                                       help="nonparametric | parametric"),
                  bootstrap_interval: str = typer.Option("bca", "--bootstrap-interval",
                                                         help="bca | percentile")) -> None:
    """Log-linear MSE with two-list interactions (SparseMSE's stepwise, AIC, BIC, averaging, fixed)."""
    from ..estimate.loglinear import SELECT_METHODS, LogLinearMSE

    if select not in SELECT_METHODS:
        raise InputError(f"--select must be one of {', '.join(SELECT_METHODS)}")
    if terms and select != "none":
        select = "none"  # explicit terms mean a fixed model

    def one(h: CaptureHistories) -> list:
        est = LogLinearMSE(terms=terms, select=select, pthresh=pthresh, interval=interval,
                           bootstrap=bootstrap or 0, bootstrap_method=bootstrap_method,
                           bootstrap_interval=bootstrap_interval, level=level, random_state=seed).fit(h)
        return est.results_

    _run(input, strata, json_, output, one)


@estimate_app.command("rcapture")
def rcapture_cmd(input: list[Path] = InputOpt, json_: bool = JsonOpt, output: Path | None = OutputOpt,
                 level: float = LevelOpt, seed: int | None = SeedOpt, strata: str | None = StrataOpt,
                 model: str = typer.Option("Mt", "--model",
                                           help="M0|Mt|Mh-chao|Mh-poisson|Mh-darroch|Mh-gamma|Mth-chao|"
                                                "Mth-poisson|Mth-darroch|Mth-gamma|Mb|Mbh")) -> None:
    """One of Rcapture's closed-population models (profile-likelihood interval)."""
    from ..estimate.classical import RCAPTURE_MODELS, RcaptureModel

    if model not in RCAPTURE_MODELS:
        raise InputError(f"--model must be one of {', '.join(RCAPTURE_MODELS)}")
    _run(input, strata, json_, output,
         lambda h: fit_per_stratum(h, lambda hs: RcaptureModel(model=model, level=level).fit(hs),
                                   "rcapture", level))


@estimate_app.command("chapman")
def chapman_cmd(input: list[Path] = InputOpt, json_: bool = JsonOpt, output: Path | None = OutputOpt,
                level: float = LevelOpt, seed: int | None = SeedOpt, strata: str | None = StrataOpt) -> None:
    """Chapman's two-list estimator."""
    from ..estimate.classical import Chapman

    _run(input, strata, json_, output,
         lambda h: fit_per_stratum(h, lambda hs: Chapman(level=level).fit(hs), "chapman", level))


@estimate_app.command("chao")
def chao_cmd(input: list[Path] = InputOpt, json_: bool = JsonOpt, output: Path | None = OutputOpt,
             level: float = LevelOpt, seed: int | None = SeedOpt, strata: str | None = StrataOpt) -> None:
    """Chao's lower bound under heterogeneous catchability."""
    from ..estimate.classical import ChaoLowerBound

    _run(input, strata, json_, output,
         lambda h: fit_per_stratum(h, lambda hs: ChaoLowerBound(level=level).fit(hs), "chao", level))


def register(app: typer.Typer) -> None:
    """Add ``darkfigure estimate ...`` to the root app (and the latent-class commands, when present)."""
    try:
        from . import latent_class_cmds as _lc
    except ImportError:  # that module belongs to another part and may not exist yet
        _lc = None  # type: ignore[assignment]
    if _lc is not None and hasattr(_lc, "register_latent_class"):
        _lc.register_latent_class(estimate_app)
    app.add_typer(estimate_app, name="estimate")
