"""CLI commands of record linkage: ``link``, ``link review export``, ``link review import``, ``histories``.

Linkage decrypts identifiers in memory only and writes back person ids and match weights (to the store) and,
next to the store (``<store>.link/``, or ``--workdir``), the settings used, the trained model, the
diagnostics and the scored pairs — all keyed by opaque record ids.  The one file with personal data is the
review export, written only where the user asks, with a warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ..exceptions import DataValidationError, InputError, LinkageError, Problem

STORE_OPT = typer.Option(None, "--store", help="Store: a file path (SQLite) or a postgresql:// URL.")
KEY_OPT = typer.Option(None, "--key-file", help="Key file (default: passphrase from DARKFIGURE_PASSPHRASE).")
WORKDIR_OPT = typer.Option(
    None,
    "--workdir",
    help="Folder for the linkage model, diagnostics, scored pairs and review decisions "
    "(default: <store>.link next to a SQLite store; required for a database URL).",
)

link_app = typer.Typer(
    help="Link records across lists into persons (Splink on DuckDB).", invoke_without_command=True
)
review_app = typer.Typer(help="Clerical review of uncertain pairs.", no_args_is_help=True)
link_app.add_typer(review_app, name="review")


def _key(key_file: Path | None) -> Any:
    from ..store import Key

    return Key.from_file(key_file) if key_file is not None else Key.from_env()


def _workdir(store: str, workdir: Path | None) -> Path:
    if workdir is not None:
        return workdir
    if "://" in store:
        raise InputError("--workdir is needed when the store is a database URL")
    p = Path(store)
    return p.with_name(p.name + ".link")


def _echo_err(text: str) -> None:
    typer.echo(text, err=True)


def _require_store(store: str | None) -> str:
    if not store:
        raise typer.BadParameter("--store is required", param_hint="--store")
    return store


@link_app.callback()
def link(
    ctx: typer.Context,
    store: str | None = STORE_OPT,
    settings: Path | None = typer.Option(
        None, "--settings", help="Linkage settings YAML (e.g. hand/link.yaml)."
    ),
    threshold: float | None = typer.Option(
        None, "--threshold", min=0.0, max=1.0, help="Match probability at which records are linked."
    ),
    diagnostics: Path | None = typer.Option(
        None, "--diagnostics", help="Write the linkage diagnostics (linkage.json) here too."
    ),
    key_file: Path | None = KEY_OPT,
    workdir: Path | None = WORKDIR_OPT,
) -> None:
    """Link the store's records into persons; save person ids to the store, the model next to it."""
    if ctx.invoked_subcommand is not None:
        return
    import warnings

    from ..link import RecordLinker, load_decisions
    from ..store import Store

    store = _require_store(store)
    if threshold is not None and not 0 < threshold < 1:
        raise InputError("--threshold must be strictly between 0 and 1")
    if settings is not None and not settings.is_file():
        raise InputError(f"settings file {settings.name} does not exist")
    wd = _workdir(store, workdir)
    decisions = load_decisions(wd / "decisions.csv")
    with Store.open(store, _key(key_file)) as st:
        records = st.records_frame(identifying=True)
        if records.empty:
            raise LinkageError("the store holds no records to link")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lk = RecordLinker(settings=settings, threshold=threshold, decisions=decisions).fit(records)
        del records  # identifying values leave memory as soon as the features are built
        diag = lk.diagnostics()
        st.save_links(
            lk.person_ids_,
            lk.match_weights_,
            run_info={
                "diagnostics": diag,
                "settings": lk.settings_["darkfigure"],
                "provenance": lk.provenance_.to_dict(),
            },
        )
    lk.save(wd)
    if diagnostics is not None:
        diagnostics.parent.mkdir(parents=True, exist_ok=True)
        diagnostics.write_text(json.dumps(diag, indent=2), encoding="utf-8")
    for w in caught:
        _echo_err(f"darkfigure: warning: {w.message}")
    typer.echo(
        f"linked {diag['n_records']} records into {diag['n_persons']} persons "
        f"(threshold {diag['threshold']}, {diag['n_pairs_compared']} pairs compared, "
        f"{diag['n_links']} links, "
        f"about {diag['estimated_missed_by_blocking']:.1f} true matches estimated missed by blocking)"
    )
    typer.echo(f"model, diagnostics and scored pairs: {wd}")


@review_app.command("export")
def review_export(
    store: str | None = STORE_OPT,
    output: Path = typer.Option(..., "--output", help="pairs.csv or pairs.xlsx to write."),
    band: tuple[float, float] | None = typer.Option(None, "--band", help="Probability band LOW HIGH."),
    key_file: Path | None = KEY_OPT,
    workdir: Path | None = WORKDIR_OPT,
) -> None:
    """Write the uncertain pairs (with both records' identifying values) for a person to decide."""
    import pandas as pd
    import yaml

    from ..link import export_review, load_decisions
    from ..store import Store

    store = _require_store(store)
    wd = _workdir(store, workdir)
    pairs_file = wd / "pairs.csv.gz"
    if not pairs_file.exists():
        raise LinkageError("no scored pairs: run `darkfigure link` first")
    if band is None:
        used = wd / "settings_used.yaml"
        band = (
            tuple(yaml.safe_load(used.read_text(encoding="utf-8"))["darkfigure"]["review_band"])
            if used.exists()
            else (0.3, 0.9)
        )
    pairs = pd.read_csv(pairs_file, dtype={"unique_id_l": str, "unique_id_r": str})
    with Store.open(store, _key(key_file)) as st:
        records = st.records_frame(identifying=True)
        n = export_review(
            pairs,
            records,
            output,
            band=band,
            decisions=load_decisions(wd / "decisions.csv"),
        )
        st.record_export("link_review", n)
    _echo_err(
        f"darkfigure: warning: {output} contains personal data (names, dates of birth) of {2 * n} "
        "records: keep it on an encrypted disk, share it with no one, delete it after review"
    )
    typer.echo(f"wrote {n} pairs to review (match probability {band[0]}–{band[1]}) to {output}")


@review_app.command("import")
def review_import(
    store: str | None = STORE_OPT,
    input_file: Path = typer.Option(..., "--input", help="The reviewed pairs file (csv or xlsx)."),
    key_file: Path | None = KEY_OPT,
    workdir: Path | None = WORKDIR_OPT,
) -> None:
    """Apply reviewers' decisions (match / non-match); the next `darkfigure link` run obeys them."""
    from ..link import import_review, save_decisions
    from ..store import Store

    store = _require_store(store)
    wd = _workdir(store, workdir)
    dec = import_review(input_file)
    with Store.open(store, _key(key_file)) as st:
        known = set(st.records_frame(identifying=False)["record_id"].astype(str))
    problems = [
        Problem("record_id", "unknown", row=i + 1, message="not a record of this store")
        for i, (a, b) in enumerate(zip(dec["record_id_l"], dec["record_id_r"], strict=True))
        if a not in known or b not in known
    ]
    if problems:
        raise DataValidationError(problems, context=input_file.name)
    merged = save_decisions(dec, wd / "decisions.csv")
    n_match = int((dec["decision"] == "match").sum())
    typer.echo(
        f"recorded {n_match} match and {len(dec) - n_match} non-match decisions "
        f"({len(merged)} in all); run `darkfigure link` to apply them"
    )


def histories(
    store: str | None = STORE_OPT,
    output: Path = typer.Option(..., "--output", help="Capture-histories CSV to write."),
    strata: list[str] | None = typer.Option(
        None, "--strata", help="Stratify by this record field (repeat for several)."
    ),
    list_prefix: str = typer.Option("in_", "--list-prefix", help="Prefix of the list columns."),
    key_file: Path | None = KEY_OPT,
) -> None:
    """Capture histories of the linked persons (format of shared/data/mse), for `darkfigure estimate`."""
    from ..link import histories_from_links
    from ..store import Store

    store = _require_store(store)
    with Store.open(store, _key(key_file)) as st:
        pids = st.person_ids()
        if not pids:
            raise LinkageError("the store has no linkage yet: run `darkfigure link` first")
        records = st.records_frame(identifying=False)
    bad = [c for c in (strata or []) if c not in records.columns]
    if bad:
        raise InputError(f"unknown or identifying stratum column(s): {', '.join(bad)}")
    h = histories_from_links(records, pids, strata=strata or None, prefix=list_prefix)
    output.parent.mkdir(parents=True, exist_ok=True)
    h.to_csv(output)
    typer.echo(
        f"wrote capture histories of {h.observed} persons on {h.n_lists} lists to {output}",
    )


def register(app: typer.Typer) -> None:
    """Add the linkage commands to the root app."""
    app.add_typer(link_app, name="link")
    app.command("histories")(histories)
