"""CLI commands of the case store: ``init``, ``import``, ``quarantine``, ``audit``, ``export``, ``store``.

The key comes from ``--key-file`` or the ``DARKFIGURE_PASSPHRASE`` environment variable (never from a
command-line argument, which other users of the machine could read).  Exit codes of ``import``: 0 every row
accepted, 3 some (or all) rows quarantined, 1 nothing done (unreadable file, wrong key, bad mapping), 2 usage.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..exceptions import InputError, StoreError

if TYPE_CHECKING:
    from ..store import ImportReport, Key, QuarantineRow, Store

# The store (SQLAlchemy, Alembic, cryptography) is imported inside each command, not here: every CLI
# command, ``--help`` included, imports this module, and those imports cost ~0.6 s of start-up.

STORE_OPT = typer.Option(..., "--store", help="Store: a file path (SQLite) or a postgresql:// URL.")
KEY_OPT = typer.Option(None, "--key-file", help="Key file (default: passphrase from DARKFIGURE_PASSPHRASE).")

quarantine_app = typer.Typer(help="Rows rejected by import: list them or export them to fix and re-import.",
                             no_args_is_help=True)
audit_app = typer.Typer(help="The store's hash-chained audit log.", no_args_is_help=True)
export_app = typer.Typer(
    help="Export records as an HTCDS- or CTDC-shaped table (record-level: handle with care).",
    no_args_is_help=True)
store_app = typer.Typer(help="Summary, backup and key change of a store.", no_args_is_help=True)


def _key(key_file: Path | None) -> Key:
    from ..store import Key

    return Key.from_file(key_file) if key_file is not None else Key.from_env()


def _open(store: str, key_file: Path | None) -> Store:
    """The store, opened with the command's key (use as a context manager)."""
    from ..store import Store

    return Store.open(store, _key(key_file))


def _out() -> Console:
    # created per command so that it writes to the current sys.stdout (tests capture it)
    return Console(file=sys.stdout, soft_wrap=True)


def _err() -> Console:
    return Console(file=sys.stderr, soft_wrap=True)


# ------------------------------------------------------------------------------------------- init
def init(store: str = STORE_OPT, key_file: Path | None = KEY_OPT) -> None:
    """Create a new encrypted store (a key file that does not exist yet is generated)."""
    from ..store import Key, Store

    err = _err()
    generated = False
    if key_file is not None and not key_file.exists():
        Key.generate_file(key_file)
        generated = True
    try:
        st = Store.create(store, _key(key_file))
    except BaseException:
        if generated and key_file is not None:
            key_file.unlink()  # a key for a store that was not created would only confuse
        raise
    with st:
        if generated:
            err.print(f"created key file {key_file} (keep it safe: without it the store cannot be opened)",
                      markup=False, highlight=False)
        _out().print(f"created store {st.location}", markup=False, highlight=False)


# ------------------------------------------------------------------------------------------- import
def import_cmd(
    store: str = STORE_OPT,
    source: str | None = typer.Option(None, "--source", help="Source (organisation / list) name."),
    input_file: Path = typer.Option(..., "--input", help="CSV, XLSX, JSON or JSONL file to import."),
    mapping: Path | None = typer.Option(None, "--mapping", help="Column-mapping YAML for this file."),
    key_file: Path | None = KEY_OPT,
) -> None:
    """Import an organisation's file: valid rows in one transaction, invalid rows to the quarantine."""
    from ..store import Store

    if not input_file.is_file():
        raise InputError(f"input file {input_file.name} does not exist or is not a file")
    key = _key(key_file)
    with Store.open(store, key) as st:
        err = _err()
        if err.is_terminal:
            from rich.progress import Progress

            with Progress(console=err, transient=True) as bar:
                task = bar.add_task("importing", total=None)

                def tick(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                report = st.import_file(input_file, source=source, mapping=mapping, progress=tick)
        else:
            report = st.import_file(input_file, source=source, mapping=mapping)
    for note in report.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    _print_report(report)
    if report.quarantined:
        raise typer.Exit(3)


def _print_report(report: ImportReport) -> None:
    out = _out()
    table = Table(title=escape(f"import of {report.file_name} into {report.source}"))
    for col in ("rows read", "imported", "updated", "unchanged", "quarantined"):
        table.add_column(col, justify="right")
    table.add_row(*(str(v) for v in (report.rows_read, report.imported, report.updated, report.unchanged,
                                     report.quarantined)))
    out.print(table)
    if report.quarantined:
        out.print(f"{report.quarantined} row(s) quarantined: see `darkfigure quarantine list`",
                  highlight=False)
    out.print(f"rows read = imported + updated + unchanged + quarantined: {report.arithmetic()}",
              highlight=False)


# ------------------------------------------------------------------------------------------- quarantine
def _cell(text: str) -> str:
    # never let a spreadsheet run a cell as a formula (CSV injection)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _quarantine_csv(rows: list[QuarantineRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "row", "source", "source_record_id", "reasons"])
    for q in rows:
        w.writerow([_cell(q.file), "" if q.row is None else q.row, _cell(q.source),
                    _cell(q.source_record_id or ""), q.reasons_text])
    return buf.getvalue()


@quarantine_app.command("list")
def quarantine_list(
    store: str = STORE_OPT,
    key_file: Path | None = KEY_OPT,
    output: Path | None = typer.Option(None, "--output", help="Write CSV here instead."),
) -> None:
    """Show the quarantined rows (file, row, source, source record id, reasons — never values)."""
    with _open(store, key_file) as st:
        rows = st.quarantine_rows()
    if output is not None:
        output.write_text(_quarantine_csv(rows), encoding="utf-8-sig")
        _err().print(f"wrote {len(rows)} quarantined row(s) to {output}", markup=False, highlight=False)
        return
    table = Table(title=f"{len(rows)} quarantined row(s)")
    for col in ("file", "row", "source", "source record id", "reasons"):
        table.add_column(col)
    for q in rows:
        # escape: "[rule]" and brackets in file names are text, not rich markup
        table.add_row(escape(q.file), "" if q.row is None else str(q.row), escape(q.source),
                      escape(q.source_record_id or ""), escape(q.reasons_text))
    _out().print(table)


@quarantine_app.command("export")
def quarantine_export(store: str = STORE_OPT, key_file: Path | None = KEY_OPT,
                      output: Path | None = typer.Option(None, "--output", help="CSV file (default: stdout).")
                      ) -> None:
    """Export the quarantined rows as CSV (UTF-8 with BOM, opens in Excel)."""
    with _open(store, key_file) as st:
        rows = st.quarantine_rows()
    text = _quarantine_csv(rows)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8-sig")
        _err().print(f"wrote {len(rows)} quarantined row(s) to {output}", markup=False, highlight=False)


# ------------------------------------------------------------------------------------------- audit
@audit_app.command("verify")
def audit_verify(store: str = STORE_OPT, key_file: Path | None = KEY_OPT) -> None:
    """Check the audit log's keyed hash chain; exit 1 and name the first bad entry on tampering."""
    with _open(store, key_file) as st:
        report = st.verify_audit()
    if report.ok:
        _out().print(f"audit log OK: {report.entries} entries verified", highlight=False)
        return
    typer.echo(f"darkfigure: error: audit log broken at entry {report.first_bad_entry}: {report.reason}",
               err=True)
    raise typer.Exit(1)


# ------------------------------------------------------------------------------------------- export
def _export(kind: str, store: str, output: Path, key_file: Path | None) -> None:
    try:
        from ..schema import export as schema_export
    except ImportError:
        raise StoreError(f"{kind.upper()} export is not available in this version") from None
    func = getattr(schema_export, f"to_{kind}_frame", None)
    if func is None:
        raise StoreError(f"{kind.upper()} export is not available in this version")
    with _open(store, key_file) as st:
        records = [r.record for r in st.records()]
        frame = func(records)
        frame.to_csv(output, index=False, encoding="utf-8-sig")
        st.record_export(kind, len(frame))
    _err().print(f"wrote {len(frame)} row(s) to {output} (record-level data: keep it encrypted)",
                 markup=False, highlight=False)


@export_app.command("htcds")
def export_htcds(store: str = STORE_OPT, output: Path = typer.Option(..., "--output", help="CSV file."),
                 key_file: Path | None = KEY_OPT) -> None:
    """Export records as an HTCDS 2.0-shaped CSV."""
    _export("htcds", store, output, key_file)


@export_app.command("ctdc")
def export_ctdc(store: str = STORE_OPT, output: Path = typer.Option(..., "--output", help="CSV file."),
                key_file: Path | None = KEY_OPT) -> None:
    """Export records as a CTDC-shaped CSV."""
    _export("ctdc", store, output, key_file)


# ------------------------------------------------------------------------------------------- store
@store_app.command("summary")
def store_summary(store: str = STORE_OPT, key_file: Path | None = KEY_OPT,
                  as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Records, quarantined rows and files imported per source."""
    with _open(store, key_file) as st:
        summary: dict[str, Any] = st.summary()
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return
    table = Table(title=f"store {summary['store_id'][:8]} (schema {summary['schema_revision']})")
    for col in ("source", "records", "quarantined", "files imported"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for name, s in summary["sources"].items():
        table.add_row(escape(name), str(s["records"]), str(s["quarantined"]), str(s["files_imported"]))
    table.add_row("total", str(summary["records"]), str(summary["quarantined"]),
                  str(summary["files_imported"]), style="bold")
    _out().print(table)
    if summary["persons"]:
        _out().print(f"linked: {summary['persons']} person(s)")


@store_app.command("backup")
def store_backup(store: str = STORE_OPT, output: Path = typer.Option(..., "--output", help="New file."),
                 key_file: Path | None = KEY_OPT) -> None:
    """Write a consistent copy of a SQLite store (safe while others use it; opens with the same key)."""
    with _open(store, key_file) as st:
        dest = st.backup(output)
    _out().print(f"backed up to {dest.name}; keep the key elsewhere", markup=False, highlight=False)


@store_app.command("rekey")
def store_rekey(
    store: str = STORE_OPT,
    key_file: Path | None = KEY_OPT,
    new_key_file: Path | None = typer.Option(
        None, "--new-key-file",
        help="New key file (generated if missing); default: new passphrase from DARKFIGURE_NEW_PASSPHRASE."),
) -> None:
    """Change the store's passphrase or key file (the records stay encrypted under the same data key)."""
    from ..store import Key

    generated = False
    if new_key_file is not None:
        if not new_key_file.exists():
            Key.generate_file(new_key_file)
            generated = True
        new_key = Key.from_file(new_key_file)
    else:
        value = os.environ.get("DARKFIGURE_NEW_PASSPHRASE")
        if not value:
            raise InputError("no new key: give --new-key-file or set DARKFIGURE_NEW_PASSPHRASE")
        new_key = Key.from_passphrase(value)
    try:
        with _open(store, key_file) as st:
            st.rekey(new_key)
    except BaseException:
        if generated and new_key_file is not None:
            new_key_file.unlink()
        raise
    _out().print("key changed: the old passphrase or key file no longer opens this store",
                 markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the store commands to the root app."""
    app.command("init")(init)
    app.command("import")(import_cmd)
    app.add_typer(quarantine_app, name="quarantine")
    app.add_typer(audit_app, name="audit")
    app.add_typer(export_app, name="export")
    app.add_typer(store_app, name="store")
