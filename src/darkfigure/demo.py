"""``make demo``: the whole pipeline on the simulator's default scenario, ending in the HTML report.

simulate → create a store and import every organisation's file with its mapping → link → capture
histories → population estimates (log-linear, ``auto``, Rcapture models, latent class) → findings, claims
check, economic scale → results folder → report.

The demo knows the truth (it made the data), so it prints the true N next to every estimate. The store is
created with a throw-away passphrase (``DEMO_PASSPHRASE``) and fast key-derivation settings: it holds only
synthetic people, and the passphrase is printed here for that reason — never do this with real data.

A part of darkfigure that cannot be imported is skipped with a message; a stage that fails says why and the
demo goes on with what it has. Nothing is faked: when linkage is unavailable the capture histories come
from the simulator's truth, and the summary and provenance say so.

Run: ``python -m darkfigure.demo --out demo-output [--size N] [--seed S] [--fast]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._provenance import sha256_file
from ._version import __version__

__all__ = ["DEMO_PASSPHRASE", "DEMO_SIZE", "DemoOutcome", "main", "run_demo"]

#: The demo store's throw-away passphrase (synthetic data only).
DEMO_PASSPHRASE = "demo-only-throwaway-passphrase"
#: The demo's true population size. The scenario's own default (30,000 people, about 18,000 records) takes
#: several minutes to link on 2 cores; 5,000 keeps ``make demo`` under 3 minutes. ``--size 30000`` runs it.
DEMO_SIZE = 5000


@dataclass
class DemoOutcome:
    """What the demo did: each stage's status, the truth, the estimates and the report's path."""

    out_dir: Path
    report: Path | None = None
    stages: dict[str, str] = field(default_factory=dict)
    true_n: int | None = None
    estimates: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Skip(Exception):
    """A stage cannot run (a part is missing or an earlier stage failed)."""


@contextmanager
def _stage(outcome: DemoOutcome, name: str, say: Callable[[str], None]) -> Iterator[None]:
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except _Skip as exc:
            outcome.stages[name] = f"skipped: {exc}"
            say(f"  - {name}: skipped ({exc})")
            return
        except ImportError as exc:
            outcome.stages[name] = f"skipped: {exc.name or exc} is not available yet"
            say(f"  - {name}: skipped ({exc.name or exc} is not available yet)")
            return
        except Exception as exc:  # a failing stage is reported, and the demo goes on
            msg = " ".join(str(exc).split())[:300] or type(exc).__name__
            outcome.stages[name] = f"failed: {type(exc).__name__}: {msg}"
            say(f"  ! {name}: failed ({type(exc).__name__}: {msg})")
            return
    seen: set[str] = set()
    for w in caught:
        text = f"{name}: {w.category.__name__}: {' '.join(str(w.message).split())[:200]}"
        if text not in seen:
            seen.add(text)
            outcome.notes.append(text)
    outcome.stages[name] = f"done in {time.perf_counter() - t0:.1f} s"
    say(f"  + {name}: {outcome.stages[name]}")


def _data_file(org_dir: Path) -> Path | None:
    files = [p for p in sorted(org_dir.iterdir()) if p.is_file() and p.name != "mapping.yaml"]
    return files[0] if files else None


def run_demo(out_dir: str | Path = "demo-output", seed: int = 20190520, size: int | None = DEMO_SIZE,
             fast: bool = False, quiet: bool = False) -> DemoOutcome:
    """Run the whole pipeline and write ``out_dir/report.html``.

    Parameters
    ----------
    out_dir : path
        Output folder (``input/`` simulated files, ``store.db``, ``results/``, ``report.html``). Emptied
        first if it holds an earlier demo.
    seed : int
        Seed of the simulation and of every seeded step.
    size : int, optional
        True population size (default :data:`DEMO_SIZE`; ``None``: the scenario's own, 30,000).
    fast : bool
        Lighter settings (fewer bootstrap replicates and MCMC draws) for tests.
    quiet : bool
        Print nothing.

    Returns
    -------
    DemoOutcome
    """
    t_start = time.perf_counter()

    def say(msg: str) -> None:
        if not quiet:
            print(msg, flush=True)

    out = Path(out_dir)
    if out.exists() and (out / "results").is_dir():
        shutil.rmtree(out)  # only an earlier demo's folder (it has results/): start clean
    out.mkdir(parents=True, exist_ok=True)
    res = out / "results"
    (res / "estimates").mkdir(parents=True, exist_ok=True)
    outcome = DemoOutcome(out)
    ctx: dict[str, Any] = {}
    say(f"darkfigure {__version__} demo → {out}")

    with _stage(outcome, "simulate", say):
        from .simulate import simulate

        sim = simulate(seed=seed, size=size)
        sim.write(out / "input")
        ctx["sim"] = sim
        truth = sim.truth_summary()
        outcome.true_n = int(truth["N"])
        (res / "truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False), encoding="utf-8")

    with _stage(outcome, "store and import", say):
        if "sim" not in ctx:
            raise _Skip("no simulated files")
        from .store import KdfParams, Key, Store

        say(f"    demo store passphrase (throw-away, synthetic data only): {DEMO_PASSPHRASE}")
        db = out / "store.db"
        if db.exists():
            db.unlink()
        # fast key derivation: a demo store of synthetic people needs no Argon2id hardening
        store = Store.create(db, Key.from_passphrase(DEMO_PASSPHRASE),
                             kdf=KdfParams(memory_cost_kib=8192, iterations=1, lanes=1))
        ctx["store"] = store
        for org_dir in sorted(p for p in (out / "input").iterdir() if p.is_dir() and p.name != "truth"):
            f = _data_file(org_dir)
            if f is None:
                continue
            rep = store.import_file(f, source=org_dir.name, mapping=org_dir / "mapping.yaml")
            say(f"    {org_dir.name}: {rep.rows_read} rows → {rep.imported} imported, "
                f"{rep.quarantined} quarantined")
        summary = store.summary()
        reasons: dict[str, int] = {}
        for q in store.quarantine_rows():
            for p in q.reasons:
                key = f"{p.field} [{p.rule}]"
                reasons[key] = reasons.get(key, 0) + 1
        summary["quarantine_reasons"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
        (res / "data.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")

    with _stage(outcome, "link", say):
        if "store" not in ctx:
            raise _Skip("no store")
        from .link import RecordLinker

        store = ctx["store"]
        ident = store.records_frame(identifying=True)  # in memory only, for the linker
        lk = RecordLinker().fit(ident)
        del ident
        store.save_links(lk.person_ids_, lk.match_weights_, run_info=lk.provenance_.to_dict())
        diag = lk.diagnostics()
        (res / "linkage.json").write_text(json.dumps(diag, indent=2, default=str), encoding="utf-8")
        ctx["linked"] = True
        say(f"    {diag['n_records']} records → {diag['n_persons']} people")

    with _stage(outcome, "capture histories", say):
        if ctx.get("linked"):
            from .link import histories_from_links

            frame = ctx["store"].records_frame(identifying=False)
            h = histories_from_links(frame, ctx["store"].person_ids())
            ctx["histories_from"] = "linkage"
        elif "sim" in ctx:
            h = ctx["sim"].true_histories
            ctx["histories_from"] = "simulator truth (linkage did not run)"
            outcome.notes.append("capture histories come from the simulator's truth: linkage did not run")
        else:
            raise _Skip("no linked records")
        h.to_csv(res / "histories.csv")
        ctx["histories"] = h
        say(f"    {h.observed} people on {h.n_lists} lists ({ctx['histories_from']})")

    def estimate(name: str, make: Callable[[], Any]) -> None:
        with _stage(outcome, f"estimate: {name}", say):
            if "histories" not in ctx:
                raise _Skip("no capture histories")
            est = make().fit(ctx["histories"])
            r = est.result_
            (res / "estimates" / f"{name}.json").write_text(r.to_json(indent=2), encoding="utf-8")
            outcome.estimates[name] = r
            ctx.setdefault("results", {})[name] = r

    # fast: the model-averaged analytic interval only; else a percentile bootstrap (~0.3 s a replicate)
    boot = 0 if fast else 100

    def _auto() -> Any:
        from .estimate.auto import AutoMSE

        return AutoMSE(bootstrap=boot, random_state=seed)

    def _loglinear() -> Any:
        from .estimate.loglinear import LogLinearMSE

        return LogLinearMSE(select="stepwise")

    def _rcapture(model: str) -> Callable[[], Any]:
        def make() -> Any:
            from .estimate.classical import RcaptureModel

            return RcaptureModel(model, interval="loglog")

        return make

    def _latent() -> Any:
        from .estimate.latent_class import LatentClassMSE

        if fast:
            return LatentClassMSE(burn_in=500, n_samples=200, thin=2, chains=2, random_state=seed,
                                  ess_min=50, rhat_max=1.1)
        # LCMCR's reference settings (10,000 burn-in, 10,000 draws thinned by 10) in 4 chains: ~5 s once
        # compiled, and R-hat/ESS then say whether the simulated lists' posterior mixes (it often does
        # so slowly: the warnings are shown in the report, not hidden)
        return LatentClassMSE(burn_in=10000, n_samples=10000, thin=10, chains=4, random_state=seed)

    estimate("auto", _auto)
    estimate("loglinear", _loglinear)
    estimate("rcapture-Mt", _rcapture("Mt"))
    estimate("rcapture-Mth-chao", _rcapture("Mth-chao"))
    estimate("latent-class", _latent)

    with _stage(outcome, "findings and claims", say):
        if "store" not in ctx:
            raise _Skip("no store")
        from .estimate.claims import check_claims
        from .estimate.findings import compute_findings

        frame = ctx["store"].records_frame(identifying=False)
        persons = ctx["store"].person_ids() or None
        ctx["frame"], ctx["persons"] = frame, persons
        compute_findings(frame, persons).write_json(res / "findings.json")
        claims = check_claims(frame, person_ids=persons)
        claims.write_json(res / "claims.json")
        for c in claims.checks:
            say(f"    claim {c.claim.id}: {c.verdict}")

    with _stage(outcome, "economic scale", say):
        from .estimate.economic import EconomicModel

        model = EconomicModel.from_yaml(n_draws=5000 if fast else 20000, seed=seed)
        pop = (ctx.get("results") or {}).get("auto") or next(iter((ctx.get("results") or {}).values()), None)
        if pop is not None and pop.estimable and pop.upper is not None:
            model.with_population(pop)
        else:
            outcome.notes.append("economic model: no bounded population estimate; the YAML's number of "
                                 "women is used")
        if "frame" in ctx:
            model.with_shares_from(ctx["frame"], ctx["persons"])
        r = model.fit().result_
        r.write_json(res / "economic.json")
        say(f"    median {r.median / 1e6:,.1f}M USD a year (95% {r.interval95[0] / 1e6:,.1f}M – "
            f"{r.interval95[1] / 1e6:,.1f}M); the 2019 arithmetic: {r.point['prostitution'] / 1e6:,.1f}M")

    with _stage(outcome, "release manifest", say):
        from .release import ReleaseManifest

        released = [res / n for n in ("findings.json", "claims.json", "economic.json") if (res / n).is_file()]
        if not released:
            raise _Skip("nothing released")
        sup: dict[str, Any] = {}
        if (res / "findings.json").is_file():
            sup = json.loads((res / "findings.json").read_text(encoding="utf-8"))
        kanon = None
        if "frame" in ctx:
            from .estimate.findings import age_band
            from .release import check_k_anonymity

            # how identifying the coarse fields kept in clear are (class sizes only, never values)
            fr = ctx["frame"].assign(age_band=ctx["frame"]["age_at_exploitation"].map(age_band))
            qi = [c for c in ("home_province", "age_band", "year_left") if c in fr.columns]
            kanon = check_k_anonymity(fr, qi, k=5).to_dict() if qi else None
        ReleaseManifest.for_files(
            released, threshold=int(sup.get("suppression", {}).get("threshold", 5)),
            cells_suppressed=int(sup.get("suppression", {}).get("cells_primary", 0)),
            cells_secondary=int(sup.get("suppression", {}).get("cells_secondary", 0)),
            unit=str(sup.get("unit", "records")), k_anonymity=kanon).write(res / "release_manifest.json")

    if "store" in ctx:
        ctx["store"].close()

    prov = {
        "package_version": __version__, "seed": seed, "size": size, "fast": fast,
        "scenario": getattr(ctx.get("sim"), "scenario", None) and ctx["sim"].scenario.name,
        "histories_from": ctx.get("histories_from", "none"),
        "store": "throw-away demo store (synthetic data; passphrase printed by the demo)",
        "stages": dict(outcome.stages),
        "inputs_sha256": {str(p.relative_to(out / "input")): sha256_file(p)
                          for p in sorted((out / "input").rglob("*")) if p.is_file()
                          and p.parts[-2] != "truth"} if (out / "input").is_dir() else {},
        "notes": list(outcome.notes),
    }
    (res / "provenance.json").write_text(json.dumps(prov, indent=2, ensure_ascii=False, default=str),
                                         encoding="utf-8")

    with _stage(outcome, "report", say):
        from .report import build_report

        outcome.report = build_report(res, out / "report.html",
                                      title="darkfigure demo report (synthetic data)")

    outcome.seconds = time.perf_counter() - t_start
    _print_summary(outcome, say)
    return outcome


def _print_summary(o: DemoOutcome, say: Callable[[str], None]) -> None:
    say("")
    say("Summary")
    say("-------")
    if o.true_n is not None:
        say(f"true N (known only because this is a simulation): {o.true_n:,}")
    for name, r in o.estimates.items():
        if r.estimable and r.estimate is not None:
            hi = "unbounded" if r.upper is None else f"{r.upper:,.0f}"
            lo = "?" if r.lower is None else f"{r.lower:,.0f}"
            say(f"  {name:<20} {r.estimate:>10,.0f}   ({r.level:.0%} interval {lo} – {hi})")
        else:
            say(f"  {name:<20} not estimable")
    skipped = {k: v for k, v in o.stages.items() if not v.startswith("done")}
    for k, v in skipped.items():
        say(f"  {k}: {v}")
    for n in o.notes[:10]:
        say(f"  note: {n}")
    if o.report is not None:
        say(f"report: {o.report.resolve()}")
    say(f"({o.seconds:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``python -m darkfigure.demo``)."""
    ap = argparse.ArgumentParser(prog="python -m darkfigure.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="demo-output", help="output folder (default: demo-output)")
    ap.add_argument("--seed", type=int, default=20190520, help="seed (default: 20190520)")
    ap.add_argument("--size", type=int, default=DEMO_SIZE,
                    help=f"true population size (default: {DEMO_SIZE}; the scenario's own is 30000)")
    ap.add_argument("--fast", action="store_true", help="lighter settings (for tests)")
    ap.add_argument("--quiet", action="store_true", help="print nothing")
    a = ap.parse_args(argv)
    o = run_demo(a.out, seed=a.seed, size=a.size, fast=a.fast, quiet=a.quiet)
    return 0 if o.report is not None else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
