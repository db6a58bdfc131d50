"""``darkfigure estimate latent-class``: the Bayesian latent-class model (LCMCR) from capture histories.

::

    darkfigure estimate latent-class --input H.csv [--json] [--output R.json] [--level 0.95] [--seed N]
        [--strata COL] [--chains C] [--samples S] [--burn-in B] [--thin T] [--K K] [--jobs J]
        [--init lcmcr|dispersed]

The JSON keys are those of every estimator (``method`` = ``"latent-class"``, ``estimate`` = posterior median,
``lower``, ``upper``, ``level``, ``observed``, ``lists``, ``warnings``, ``provenance``...) plus ``rhat`` and
``ess`` (for N and alpha), ``chains``, ``posterior_mean``, ``hpd`` and ``k_star``.  Poor convergence is
reported in ``warnings`` (codes ``rhat_high``, ``ess_low``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import typer

from ..exceptions import ConvergenceWarning, InputError
from ..histories import CaptureHistories

__all__ = ["register_latent_class"]


def _read(inputs: Sequence[Path], strata: str | None) -> list[CaptureHistories]:
    try:
        from .estimate_cmds import read_inputs
    except ImportError:  # pragma: no cover - the estimate commands' module is another part's
        read_inputs = None  # type: ignore[assignment]
    if read_inputs is not None:
        return read_inputs(inputs, strata)
    out = []
    for p in inputs:  # pragma: no cover
        if not Path(p).is_file():
            raise InputError(f"input file not found: {p}")
        out.append(CaptureHistories.from_csv(p, stratum_column=strata))
    return out


def _emit(results: list, json_: bool, output: Path | None, labels: list[str]) -> None:
    try:
        from .estimate_cmds import emit_results
    except ImportError:  # pragma: no cover
        emit_results = None  # type: ignore[assignment]
    if emit_results is not None:
        emit_results(results, json_, output, labels)
        return
    dicts = [r.to_dict() for r in results]  # pragma: no cover - same keys as emit_results
    for d in dicts:  # pragma: no cover
        typer.echo(json.dumps(d, ensure_ascii=False) if json_ else str(d))
    if output is not None:  # pragma: no cover
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(dicts[0] if len(dicts) == 1 else dicts, ensure_ascii=False,
                                           indent=2) + "\n", encoding="utf-8")


def register_latent_class(estimate_app: typer.Typer) -> None:
    """Add the ``latent-class`` command to the ``darkfigure estimate`` group."""

    @estimate_app.command("latent-class")
    def latent_class_cmd(
        input: list[Path] = typer.Option(..., "--input", "-i", help="Capture-history CSV (repeatable)."),
        json_: bool = typer.Option(False, "--json", help="One JSON object per input (per stratum) per line."),
        output: Path | None = typer.Option(None, "--output", "-o",
                                           help="Also write the results to this file."),
        level: float = typer.Option(0.95, "--level", help="Credible level.", min=0.5, max=0.999),
        seed: int | None = typer.Option(None, "--seed", help="Random seed; recorded in the provenance.",
                                        min=0),
        strata: str | None = typer.Option(None, "--strata", help="Stratum column: one model per stratum."),
        chains: int = typer.Option(4, "--chains", help="Independent chains.", min=1),
        samples: int = typer.Option(1000, "--samples", help="Draws kept per chain.", min=4),
        burn_in: int = typer.Option(10_000, "--burn-in", help="Iterations discarded per chain.", min=0),
        thin: int = typer.Option(10, "--thin", help="Iterations per kept draw.", min=1),
        k: int = typer.Option(10, "--K", "-K", help="Maximum number of latent classes.", min=2),
        jobs: int | None = typer.Option(None, "--jobs", help="Worker processes (default: one per chain, "
                                                              "at most one per CPU).", min=1),
        init: str = typer.Option("lcmcr", "--init", help="Chain starts: 'lcmcr' (no unseen people, as "
                                 "LCMCR) or 'dispersed' (every other chain far above, so R-hat shows "
                                 "a multimodal posterior)."),
    ) -> None:
        """Bayesian latent-class model (LCMCR, Manrique-Vallier 2016): posterior median and interval."""
        from ..estimate.latent_class import LatentClassMSE

        tables = _read(input, strata)
        results, labels = [], []
        for p, h in zip(input, tables, strict=True):
            est = LatentClassMSE(K=k, burn_in=burn_in, n_samples=samples, thin=thin, chains=chains,
                                 level=level, random_state=seed, n_jobs=jobs, init=init)
            with warnings.catch_warnings():
                # convergence problems are reported in each result's warnings (and so in the output)
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(h)
            rs = list(est.results_)
            results += rs
            labels += [Path(p).name] * len(rs)
        _emit(results, json_, output, labels)
