"""The store commands end to end through ``darkfigure.cli.main.main`` (synthetic files only)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from darkfigure.cli.main import main

HEADER = ["source_record_id", "gender", "age_at_exploitation", "name_hangul", "name_romanised",
          "exploitation_types"]
ROWS = [
    ["A-1", "Female", "19", "가나다라", "Gana Darabcx", "SexualExploitation"],
    ["A-2", "Female", "22", "마바사아", "Maba Saaqwer", "ForcedMarriage"],
    ["A-3", "Female", "17", "자차카타", "Jacha Katazx", "SexualExploitation;ForcedLabour"],
]


def _csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    store, keyf = str(tmp_path / "cases.db"), str(tmp_path / "store.key")
    assert main(["init", "--store", store, "--key-file", keyf]) == 0
    return {"store": store, "key": keyf, "dir": str(tmp_path)}


def _run(env: dict[str, str], *args: str) -> int:
    return main([*args, "--store", env["store"], "--key-file", env["key"]])


def _read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _sql(path: str, *statements: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        rows: list[tuple[object, ...]] = []
        for st in statements:
            rows = conn.execute(st).fetchall()
        return rows


def _digest(path: str) -> str:
    h = hashlib.sha256()
    for suffix in ("", "-wal"):
        p = Path(path + suffix)
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_init_generates_an_owner_only_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keyf = tmp_path / "new.key"
    assert main(["init", "--store", str(tmp_path / "s.db"), "--key-file", str(keyf)]) == 0
    assert keyf.stat().st_mode & 0o077 == 0
    assert "created store s.db" in capsys.readouterr().out
    # a second init on the same store refuses, one line, exit 1, and leaves no stray new key file
    assert main(["init", "--store", str(tmp_path / "s.db"), "--key-file", str(tmp_path / "k2")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("darkfigure: error:") and err.count("\n") == 1
    assert not (tmp_path / "k2").exists()


def test_import_all_valid_then_reimport_changes_nothing(env: dict[str, str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    f = _csv(Path(env["dir"]) / "ngo.csv", ROWS)
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 0
    out = capsys.readouterr().out
    assert "rows read = imported + updated + unchanged + quarantined: 3 = 3 + 0 + 0 + 0" in out
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 0
    assert "3 = 0 + 0 + 3 + 0" in capsys.readouterr().out
    assert _run(env, "store", "summary", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sources"]["ngo_a"] == {"records": 3, "quarantined": 0, "files_imported": 1}


def test_quarantine_then_fix_and_reimport(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    bad = [*ROWS[:2], ["A-3", "Female", "999", "자차카타", "Jacha Katazx", "SexualExploitation"]]
    f = _csv(Path(env["dir"]) / "ngo.csv", bad)
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 3
    assert "3 = 2 + 0 + 0 + 1" in capsys.readouterr().out

    assert _run(env, "quarantine", "list") == 0
    listed = capsys.readouterr().out
    assert "age_at_exploitation" in listed and "ngo.csv" in listed and "999" not in listed

    out_csv = Path(env["dir"]) / "q.csv"
    assert _run(env, "quarantine", "export", "--output", str(out_csv)) == 0
    rows = _read_csv(out_csv)
    assert len(rows) == 1
    assert rows[0]["source_record_id"] == "A-3" and rows[0]["row"] == "3"
    assert rows[0]["reasons"].startswith("age_at_exploitation [")

    # the corrected file: one update (A-2 changed), the fixed row imported, quarantine empty
    fixed = [ROWS[0], ["A-2", "Female", "23", "마바사아", "Maba Saaqwer", "ForcedMarriage"], ROWS[2]]
    _csv(f, fixed)
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 0
    assert "3 = 1 + 1 + 1 + 0" in capsys.readouterr().out
    assert _run(env, "quarantine", "export") == 0
    assert capsys.readouterr().out.strip() == "file,row,source,source_record_id,reasons"
    assert _run(env, "audit", "verify") == 0
    assert "audit log OK" in capsys.readouterr().out


def test_wrong_key_one_line_exit_1_changes_nothing(env: dict[str, str], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    f = _csv(tmp_path / "ngo.csv", ROWS)
    before = _digest(env["store"])
    other = tmp_path / "other.key"
    other.write_text("an entirely different key file content\n")
    code = main(["import", "--store", env["store"], "--key-file", str(other), "--source", "ngo_a",
                 "--input", str(f)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("darkfigure: error: wrong") and err.count("\n") == 1
    assert _digest(env["store"]) == before


def test_missing_key_is_a_one_line_error(env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DARKFIGURE_PASSPHRASE", raising=False)
    assert main(["store", "summary", "--store", env["store"]]) == 1
    assert "DARKFIGURE_PASSPHRASE" in capsys.readouterr().err


def test_passphrase_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "p.db")
    monkeypatch.setenv("DARKFIGURE_PASSPHRASE", "correct horse battery staple")
    assert main(["init", "--store", store]) == 0
    f = _csv(tmp_path / "ngo.csv", ROWS[:1])
    assert main(["import", "--store", store, "--source", "ngo_a", "--input", str(f)]) == 0
    monkeypatch.setenv("DARKFIGURE_PASSPHRASE", "incorrect horse battery staple")
    capsys.readouterr()
    assert main(["audit", "verify", "--store", store]) == 1
    assert "wrong passphrase" in capsys.readouterr().err


@pytest.mark.parametrize("problem", ["missing_file", "bad_mapping", "unknown_field", "no_source"])
def test_nothing_imported_exit_1(env: dict[str, str], problem: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    d = Path(env["dir"])
    f = _csv(d / "ngo.csv", ROWS)
    args = ["import", "--source", "ngo_a", "--input", str(f)]
    if problem == "missing_file":
        args[-1] = str(d / "absent.csv")
    elif problem == "bad_mapping":
        (d / "m.yaml").write_text("mapping_version: 1\nrecord_id: id\ncolumns: [oops\n", encoding="utf-8")
        args += ["--mapping", str(d / "m.yaml")]
    elif problem == "unknown_field":
        (d / "m.yaml").write_text("mapping_version: 1\nrecord_id: source_record_id\n"
                                  "columns:\n  gender: no_such_field\n", encoding="utf-8")
        args += ["--mapping", str(d / "m.yaml")]
    else:
        args = ["import", "--input", str(f)]
    before = _digest(env["store"])
    assert _run(env, *args) == 1
    err = capsys.readouterr().err
    assert err.startswith("darkfigure: error:") and err.count("\n") == 1
    assert _digest(env["store"]) == before


def test_usage_error_exit_2(env: dict[str, str]) -> None:
    assert _run(env, "import", "--source", "ngo_a") == 2  # no --input


def test_import_with_mapping_and_cp949(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    d = Path(env["dir"])
    (d / "m.yaml").write_text(
        "mapping_version: 1\nsource: rescue_ngo\nencoding: cp949\nrecord_id: 번호\n"
        "columns:\n  번호: source_record_id\n  이름: name_hangul\n  성별: gender\n"
        "  나이: age_at_exploitation\n"
        "values:\n  gender:\n    여: Female\n", encoding="utf-8")
    (d / "ngo.csv").write_bytes("번호,이름,성별,나이\n1,가나다라,여,19\n2,마바사아,여,21\n".encode("cp949"))
    assert _run(env, "import", "--input", str(d / "ngo.csv"), "--mapping", str(d / "m.yaml")) == 0
    assert "2 = 2 + 0 + 0 + 0" in capsys.readouterr().out
    assert _run(env, "store", "summary", "--json") == 0
    assert json.loads(capsys.readouterr().out)["sources"]["rescue_ngo"]["records"] == 2


def test_audit_verify_reports_tampering(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    f = _csv(Path(env["dir"]) / "ngo.csv", ROWS)
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 0
    _sql(env["store"], "DROP TRIGGER audit_no_update",
         "UPDATE audit SET actor = 'someone else' WHERE seq = 3")
    capsys.readouterr()
    assert _run(env, "audit", "verify") == 1
    err = capsys.readouterr().err
    assert "entry 3" in err and err.count("\n") == 1


@pytest.mark.parametrize(("kind", "column"), [("htcds", "Organisation"), ("ctdc", None)])
def test_export_tables(env: dict[str, str], kind: str, column: str | None) -> None:
    d = Path(env["dir"])
    f = _csv(d / "ngo.csv", ROWS)
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 0
    out = d / f"{kind}.csv"
    assert _run(env, "export", kind, "--output", str(out)) == 0
    rows = _read_csv(out)
    assert len(rows) == 3
    if column:
        assert [r[column] for r in rows] == ["ngo_a"] * 3
    kinds = [k for (k,) in _sql(env["store"], "SELECT kind FROM audit ORDER BY seq")]
    assert kinds[-1] == "export"


def test_quarantine_csv_defuses_formulas(env: dict[str, str]) -> None:
    d = Path(env["dir"])
    f = _csv(d / "ngo.csv", [["=HYPERLINK(1)", "Female", "999", "가나다라", "Gana Darabcx", ""]])
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 3
    out = d / "q.csv"
    assert _run(env, "quarantine", "export", "--output", str(out)) == 0
    (row,) = _read_csv(out)
    assert row["source_record_id"].startswith("'=")


@pytest.mark.parametrize("tty", [True, False])
def test_progress_bar_only_on_a_terminal(env: dict[str, str], tty: bool, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    monkeypatch.setattr(Console, "is_terminal", property(lambda self: tty))
    f = _csv(Path(env["dir"]) / "ngo.csv", ROWS)
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 0
    err = capsys.readouterr().err
    assert ("importing" in err) is tty


def test_store_backup_command(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    d = Path(env["dir"])
    f = _csv(d / "ngo.csv", ROWS)
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 0
    assert _run(env, "store", "backup", "--output", str(d / "copy.db")) == 0
    assert main(["store", "summary", "--json", "--store", str(d / "copy.db"), "--key-file", env["key"]]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["records"] == 3


def test_store_rekey_command(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    d = Path(env["dir"])
    f = _csv(d / "ngo.csv", ROWS)
    assert _run(env, "import", "--source", "ngo_a", "--input", str(f)) == 0
    new_key = d / "new.key"
    assert _run(env, "store", "rekey", "--new-key-file", str(new_key)) == 0
    assert new_key.stat().st_mode & 0o077 == 0
    capsys.readouterr()
    assert _run(env, "audit", "verify") == 1  # the old key file no longer opens it
    assert "wrong" in capsys.readouterr().err
    assert main(["audit", "verify", "--store", env["store"], "--key-file", str(new_key)]) == 0


def test_cli_start_up_does_not_import_the_store() -> None:
    # --help and every non-store command would otherwise pay SQLAlchemy/Alembic's import time (~0.6 s)
    import subprocess
    import sys

    code = "import sys, darkfigure.cli.main; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
