"""The case store on SQLite and PostgreSQL: create/open, keys, import semantics, quarantine, links, audit."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from store_helpers import FAST_KDF, Outcome, make_record

from darkfigure.exceptions import InputError, Problem, StoreError, WrongKeyError
from darkfigure.schema.records import IDENTIFYING_FIELDS, CaseRecord
from darkfigure.store import ImportReport, Key, Store
from darkfigure.store._models import Base


def _arith(r: ImportReport) -> bool:
    return r.rows_read == r.imported + r.updated + r.unchanged + r.quarantined


def _file_digest(path: Path) -> dict[str, str]:
    out = {}
    for suffix in ("", "-wal"):
        p = Path(str(path) + suffix)
        if p.exists():
            out[suffix] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# ------------------------------------------------------------------------------------------ life cycle
def test_create_open_roundtrip(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store:
        store_id = store.store_id
        rep = store.import_records([make_record("A-1"), make_record("A-2")], source="ngo_a")
        assert (rep.imported, rep.rows_read) == (2, 2)
    with Store.open(store_url, key) as store:
        assert store.store_id == store_id
        got = {r.source_record_id: r.record for r in store.records()}
        assert got == {"A-1": make_record("A-1"), "A-2": make_record("A-2")}
        assert store.verify_audit().ok


def test_create_refuses_existing_store(store_url: str, key: Key) -> None:
    Store.create(store_url, key).close()
    with pytest.raises(StoreError, match="already exists"):
        Store.create(store_url, key)
    # and the first store is intact
    with Store.open(store_url, key) as store:
        assert store.verify_audit().ok


def test_open_missing_sqlite_store_creates_nothing(tmp_path: Path, key: Key) -> None:
    target = tmp_path / "nope.db"
    with pytest.raises(StoreError, match="no store"):
        Store.open(target, key)
    assert not target.exists()


def test_open_non_store_file_is_refused_and_left_untouched(tmp_path: Path, key: Key) -> None:
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    with conn:
        conn.execute("create table t (x)")
    conn.close()
    text = tmp_path / "notes.txt"
    text.write_bytes(b"not a database at all " * 100)
    for path in (other, text):
        before = path.read_bytes()
        with pytest.raises(StoreError, match="not a darkfigure store"):
            Store.open(path, key)
        assert path.read_bytes() == before  # e.g. not switched to WAL mode
    assert not (tmp_path / "notes.txt-wal").exists()


def test_wrong_key_is_refused_and_changes_nothing(tmp_path: Path, key: Key) -> None:
    db = tmp_path / "cases.db"
    with Store.create(db, key) as store:
        store.import_records([make_record("A-1")], source="ngo_a")
    before = _file_digest(db)
    other = Key.from_file(Key.generate_file(tmp_path / "other.key"))
    with pytest.raises(WrongKeyError) as err:
        Store.open(db, other)
    assert "\n" not in str(err.value)
    with pytest.raises(WrongKeyError, match="key file"):
        Store.open(db, Key.from_passphrase("a passphrase, not the file"))
    assert _file_digest(db) == before


def test_wrong_passphrase_on_postgres_changes_nothing(store_url: str) -> None:
    good = Key.from_passphrase("correct horse battery staple")
    with Store.create(store_url, good, kdf=FAST_KDF) as store:
        store.import_records([make_record("A-1")], source="ngo_a")
        n_audit = store.summary()["audit_entries"]
    with pytest.raises(WrongKeyError, match="wrong passphrase"):
        Store.open(store_url, Key.from_passphrase("incorrect horse battery staple"))
    with Store.open(store_url, good) as store:
        assert store.summary()["audit_entries"] == n_audit


def test_default_kdf_passphrase_store(tmp_path: Path) -> None:
    # the real Argon2id parameters once (the other tests use FAST_KDF to stay fast)
    key = Key.from_passphrase("correct horse battery staple")
    Store.create(tmp_path / "s.db", key).close()
    with Store.open(tmp_path / "s.db", key) as store:
        assert store.verify_audit().ok


def test_sqlite_store_file_is_owner_only(tmp_path: Path, key: Key) -> None:
    db = tmp_path / "cases.db"
    Store.create(db, key).close()
    assert db.stat().st_mode & 0o077 == 0


def test_migrated_schema_matches_models(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store, store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn)
        diffs = compare_metadata(ctx, Base.metadata)
        # tables, columns, types, nullability, indexes and constraints all agree
        assert diffs == [], diffs
        assert ctx.get_current_revision() == "0001"


def test_bad_urls_are_input_errors(key: Key) -> None:
    with pytest.raises(InputError):
        Store.open("mysql://x/y", key)
    with pytest.raises(InputError):
        Store.open("postgresql://u@h/db?schema=bad;name", key)


# ------------------------------------------------------------------------------------------ import
def test_reimport_same_records_changes_nothing(store_url: str, key: Key) -> None:
    recs = [make_record(f"A-{i}") for i in range(5)]
    with Store.create(store_url, key) as store:
        first = store.import_records(recs, source="ngo_a", file_name="a.csv")
        frame1 = store.records_frame(identifying=True)
        second = store.import_records(recs, source="ngo_a", file_name="a.csv")
        frame2 = store.records_frame(identifying=True)
        assert (first.imported, first.unchanged) == (5, 0)
        assert (second.imported, second.updated, second.unchanged, second.quarantined) == (0, 0, 5, 0)
        assert frame1.equals(frame2)
        assert store.count() == 5


def test_corrected_file_updates_and_audits_without_values(store_url: str, key: Key) -> None:
    recs = [make_record(f"A-{i}") for i in range(3)]
    with Store.create(store_url, key) as store:
        store.import_records(recs, source="ngo_a")
        ids_before = {r.source_record_id: r.record_id for r in store.records()}
        fixed = [recs[0], recs[1].model_copy(update={"age_at_exploitation": 17, "name_romanised": "Xq Zz"}),
                 recs[2]]
        rep = store.import_records(fixed, source="ngo_a")
        assert (rep.imported, rep.updated, rep.unchanged) == (0, 1, 2)
        after = {r.source_record_id: r for r in store.records()}
        assert len(after) == 3
        assert {k: v.record_id for k, v in after.items()} == ids_before  # same identity, same record id
        assert after["A-1"].record.age_at_exploitation == 17
        updates = [e for e in store.audit_entries() if e["kind"] == "update"]
        assert len(updates) == 1
        assert updates[0]["record_id"] == ids_before["A-1"]
        assert updates[0]["detail"]["changed_fields"] == ["age_at_exploitation", "name_romanised"]
        assert "Xq Zz" not in str(store.audit_entries())


def test_same_id_in_two_sources_are_two_records(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store:
        store.import_records([make_record("X-1", source="ngo_a")], source="ngo_a")
        store.import_records([make_record("X-1", source="ngo_b")], source="ngo_b")
        assert store.count() == 2
        assert store.summary()["sources"]["ngo_b"]["records"] == 1


def test_invalid_rows_go_to_quarantine_with_field_and_rule_only(store_url: str, key: Key) -> None:
    outcomes = [
        Outcome(1, "A-1", make_record("A-1")),
        Outcome(2, "A-2", None, [Problem("date_of_birth", "date", row=2, message="impossible date")]),
        Outcome(3, None, None, [Problem("source_record_id", "required", row=3)]),
        Outcome(4, "A-4", make_record("A-4")),
    ]
    with Store.create(store_url, key) as store:
        rep = store.import_outcomes(outcomes, source="ngo_a", file_name="/some/folder/a.csv")
        assert _arith(rep)
        assert (rep.rows_read, rep.imported, rep.quarantined) == (4, 2, 2)
        rows = store.quarantine_rows()
        assert [(q.file, q.row, q.source, q.source_record_id) for q in rows] == [
            ("a.csv", 2, "ngo_a", "A-2"), ("a.csv", 3, "ngo_a", None)]
        assert rows[0].reasons_text == "date_of_birth [date]"
        assert store.summary()["sources"]["ngo_a"] == {"records": 2, "quarantined": 2, "files_imported": 1}
        # re-importing the same file leaves the quarantine as it was
        again = store.import_outcomes(outcomes, source="ngo_a", file_name="a.csv")
        assert (again.unchanged, again.quarantined) == (2, 2)
        assert store.quarantine_rows() == rows


def test_fixed_rows_leave_the_quarantine(store_url: str, key: Key) -> None:
    bad = [Outcome(1, "A-1", make_record("A-1")),
           Outcome(2, "A-2", None, [Problem("gender", "vocabulary", row=2)])]
    good = [Outcome(1, "A-1", make_record("A-1")), Outcome(2, "A-2", make_record("A-2"))]
    with Store.create(store_url, key) as store:
        store.import_outcomes(bad, source="ngo_a", file_name="a.csv")
        assert len(store.quarantine_rows()) == 1
        rep = store.import_outcomes(good, source="ngo_a", file_name="a.csv")
        assert (rep.imported, rep.unchanged, rep.quarantined) == (1, 1, 0)
        assert store.quarantine_rows() == []
        # fixed in a differently named file: resolved through the record identity
        store.import_outcomes([Outcome(1, "A-3", None, [Problem("gender", "vocabulary", row=1)])],
                              source="ngo_a", file_name="b.csv")
        assert len(store.quarantine_rows()) == 1
        store.import_records([make_record("A-3")], source="ngo_a", file_name="b_fixed.csv")
        assert store.quarantine_rows() == []
        kinds = [e["kind"] for e in store.audit_entries()]
        assert kinds.count("quarantine_resolved") == 2
        assert store.verify_audit().ok


def test_duplicate_ids_within_a_file_never_duplicate_records(store_url: str, key: Key) -> None:
    a = make_record("A-1")
    b = make_record("A-1", age_at_exploitation=29)
    with Store.create(store_url, key) as store:
        rep = store.import_outcomes([Outcome(1, "A-1", a), Outcome(2, "A-1", b)], source="ngo_a",
                                    file_name="a.csv")
        assert (rep.imported, rep.quarantined) == (1, 1)
        assert store.count() == 1
        assert store.quarantine_rows()[0].reasons_text == "source_record_id [duplicate_in_file]"


def test_import_is_one_transaction(store_url: str, key: Key) -> None:
    # a failure in the middle of writing (here: a progress callback that raises) rolls back everything
    recs = [make_record(f"A-{i}") for i in range(1200)]
    with Store.create(store_url, key) as store:
        store.import_records(recs[:10], source="ngo_a")
        n_audit = store.summary()["audit_entries"]

        def boom(done: int, total: int) -> None:
            if done > 600:
                raise RuntimeError("interrupted")

        with pytest.raises(RuntimeError):
            store.import_records(recs, source="ngo_a", progress=boom)
        assert store.count() == 10
        assert store.summary()["audit_entries"] == n_audit
        assert store.verify_audit().ok


def test_source_name_is_checked(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store, pytest.raises(InputError, match="source name"):
        store.import_records([make_record("A-1")], source="has space")


def test_record_takes_the_import_source(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store:
        store.import_records([make_record("A-1", source="other")], source="ngo_a")
        (only,) = list(store.records())
        assert only.source == only.record.source == "ngo_a"


# ------------------------------------------------------------------------------------------ reading
def test_records_frame_hides_identifying_fields_by_default(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store:
        empty = store.records_frame()
        assert list(empty.columns[:3]) == ["record_id", "source", "source_record_id"]
        assert len(empty) == 0
        store.import_records([make_record("A-1"), make_record("A-2")], source="ngo_a")
        frame = store.records_frame()
        assert not set(IDENTIFYING_FIELDS) & set(frame.columns)
        assert frame["exploitation_types"].iloc[0] == ["SexualExploitation"]
        full = store.records_frame(identifying=True)
        assert set(IDENTIFYING_FIELDS) <= set(full.columns)
        expected = set(CaseRecord.model_fields) | {"record_id"}
        assert set(full.columns) == expected
        assert full["name_hangul"].tolist() == [make_record(s).name_hangul for s in ("A-1", "A-2")]
        reads = [e for e in store.audit_entries() if e["kind"] == "read"]
        assert [e["detail"]["identifying"] for e in reads] == [False, False, True]


def test_records_filter_by_source(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store:
        store.import_records([make_record("A-1")], source="ngo_a")
        store.import_records([make_record("B-1", source="ngo_b")], source="ngo_b")
        assert [r.source for r in store.records(sources=["ngo_b"])] == ["ngo_b"]


def test_pseudonyms_match_equal_names_across_sources(store_url: str, key: Key) -> None:
    a = make_record("A-1", name_romanised="Kim Min-Ji Example")
    b = make_record("B-7", source="ngo_b", name_romanised="kim minji  EXAMPLE")
    with Store.create(store_url, key) as store:
        store.import_records([a], source="ngo_a")
        store.import_records([b], source="ngo_b")
        ps = store.pseudonyms_frame()
        rom = ps[ps.field == "name_romanised"]
        assert rom.pseudonym.nunique() == 1 and len(rom) == 2
        hangul = ps[ps.field == "name_hangul"]
        assert hangul.pseudonym.nunique() == 2


# ------------------------------------------------------------------------------------------ linkage
def test_save_links_and_person_ids(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store:
        assert store.person_ids() == {}
        store.import_records([make_record(f"A-{i}") for i in range(3)], source="ngo_a")
        ids = [r.record_id for r in store.records()]
        store.save_links({ids[0]: "p1", ids[1]: "p1", ids[2]: "p2"}, {ids[1]: 12.5},
                         {"threshold": 0.9, "model": "fellegi-sunter"})
        assert store.person_ids() == {ids[0]: "p1", ids[1]: "p1", ids[2]: "p2"}
        assert store.link_runs()[0]["run_info"] == {"threshold": 0.9, "model": "fellegi-sunter"}
        assert store.summary()["persons"] == 2
        # a new linkage replaces the old one
        store.save_links({i: "p9" for i in ids})
        assert set(store.person_ids().values()) == {"p9"}
        links = [e for e in store.audit_entries() if e["kind"] == "link"]
        assert len(links) == 6 and {e["record_id"] for e in links} == set(ids)
        with pytest.raises(StoreError, match="not in this store"):
            store.save_links({"nope": "p1"})
        with pytest.raises(InputError, match="JSON"):
            store.save_links({ids[0]: "p1"}, run_info={"x": object()})
        assert set(store.person_ids().values()) == {"p9"}


# ------------------------------------------------------------------------------------------ audit
def test_every_write_is_audited(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store:
        store.import_outcomes([Outcome(1, "A-1", make_record("A-1")),
                               Outcome(2, "A-2", None, [Problem("gender", "vocabulary", row=2)])],
                              source="ngo_a", file_name="a.csv")
        entries = store.audit_entries()
        assert [e["kind"] for e in entries] == ["create", "insert", "quarantine", "import"]
        assert [e["seq"] for e in entries] == [1, 2, 3, 4]
        assert all(e["actor"] for e in entries)
        assert entries[3]["detail"]["rows_read"] == 2
        report = store.verify_audit()
        assert (report.ok, report.entries, report.first_bad_entry) == (True, 4, None)


def test_audit_log_is_append_only_in_the_database(store_url: str, key: Key) -> None:
    with Store.create(store_url, key) as store:
        for stmt in ("UPDATE audit SET kind = 'x'", "DELETE FROM audit"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
                conn.exec_driver_sql(stmt)
        assert store.verify_audit().ok


def _force(store: Store, sql: str) -> None:
    """Tamper as an attacker with database access would: switch off the append-only triggers first."""
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER USER")
            conn.exec_driver_sql(sql)
            conn.exec_driver_sql("ALTER TABLE audit ENABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_no_delete")
            conn.exec_driver_sql(sql)


@pytest.mark.parametrize(("sql", "bad", "reason"), [
    ("UPDATE audit SET kind = 'delete' WHERE seq = 3", 3, "altered"),
    ("UPDATE audit SET detail = '{}' WHERE seq = 2", 2, "altered"),
    ("DELETE FROM audit WHERE seq = 2", 2, "missing"),
    ("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)", 4, "truncated"),
])
def test_tampering_is_detected(store_url: str, key: Key, sql: str, bad: int, reason: str) -> None:
    with Store.create(store_url, key) as store:
        store.import_records([make_record("A-1"), make_record("A-2")], source="ngo_a")
        assert store.verify_audit().entries == 4
        _force(store, sql)
        report = store.verify_audit()
        assert not report.ok
        assert report.first_bad_entry == bad
        assert reason in (report.reason or "")


def test_rewritten_chain_without_the_key_is_detected(tmp_path: Path, key: Key) -> None:
    # an attacker who recomputes plain SHA-256 links cannot forge the keyed chain
    db = tmp_path / "cases.db"
    with Store.create(db, key) as store:
        store.import_records([make_record("A-1")], source="ngo_a")
        _force(store, "UPDATE audit SET hash = '" + hashlib.sha256(b"forged").hexdigest() + "' WHERE seq = 2")
        assert store.verify_audit().first_bad_entry == 2


def test_ciphertext_moved_between_records_fails_loudly(tmp_path: Path, key: Key) -> None:
    db = tmp_path / "cases.db"
    with Store.create(db, key) as store:
        store.import_records([make_record("A-1"), make_record("A-2")], source="ngo_a")
        with store.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE records SET payload = (SELECT payload FROM records WHERE seq = 1) "
                                 "WHERE seq = 2")
        with pytest.raises(StoreError, match="failed authentication"):
            list(store.records())


def test_closed_store_refuses_work(tmp_path: Path, key: Key) -> None:
    store = Store.create(tmp_path / "c.db", key)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count()


def test_unreachable_server_is_a_one_line_store_error(key: Key) -> None:
    with pytest.raises(StoreError, match="database error") as err:
        Store.open("postgresql://nobody@127.0.0.1:1/none", key)
    assert "\n" not in str(err.value)


def test_sqlite_url_and_plain_path_name_the_same_store(tmp_path: Path, key: Key) -> None:
    db = tmp_path / "cases.db"
    with Store.create(f"sqlite:///{db}", key) as store:
        store.import_records([make_record("A-1")], source="ngo_a")
    with Store.open(db, key) as store:
        assert store.count() == 1


def test_backup_is_a_complete_encrypted_copy(tmp_path: Path, key: Key) -> None:
    db, copy = tmp_path / "cases.db", tmp_path / "backup.db"
    with Store.create(db, key) as store:
        store.import_records([make_record(f"A-{i}") for i in range(5)], source="ngo_a")
        assert store.backup(copy) == copy
        with pytest.raises(StoreError, match="already exists"):
            store.backup(copy)
        n_audit = store.summary()["audit_entries"]
    assert copy.stat().st_mode & 0o077 == 0
    assert not Path(str(copy) + "-wal").exists()
    with Store.open(copy, key) as restored:
        assert [r.record for r in restored.records()] == [make_record(f"A-{i}") for i in range(5)]
        assert restored.audit_entries()[n_audit - 1]["kind"] == "backup"
        assert restored.verify_audit().ok
    with pytest.raises(WrongKeyError):
        Store.open(copy, Key.from_file(Key.generate_file(tmp_path / "other.key")))


def test_backup_of_postgres_store_points_to_pg_dump(store_url: str, key: Key, tmp_path: Path) -> None:
    with Store.create(store_url, key) as store:
        if store.engine.dialect.name == "postgresql":
            with pytest.raises(StoreError, match="pg_dump"):
                store.backup(tmp_path / "b.db")
        else:
            assert store.backup(tmp_path / "b.db").is_file()


def test_concurrent_writers_keep_one_linear_audit_chain(store_url: str, key: Key) -> None:
    import threading

    Store.create(store_url, key).close()
    errors: list[BaseException] = []

    def writer(source: str) -> None:
        try:
            with Store.open(store_url, key) as st:
                for batch in range(3):
                    recs = [make_record(f"{source}-{batch}-{i}", source=source) for i in range(40)]
                    st.import_records(recs, source=source, file_name=f"{batch}.csv")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in ("ngo_a", "ngo_b", "ngo_c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store.open(store_url, key) as st:
        assert st.count() == 3 * 3 * 40
        report = st.verify_audit()
        assert report.ok and report.entries == 1 + 9 * (40 + 1)


def test_rekey_changes_which_key_opens_the_store(store_url: str, key: Key) -> None:
    new = Key.from_passphrase("a brand new passphrase")
    with Store.create(store_url, key) as store:
        store.import_records([make_record("A-1")], source="ngo_a")
        store.rekey(new, kdf=FAST_KDF)
        assert [r.source_record_id for r in store.records()] == ["A-1"]  # still usable
    with pytest.raises(WrongKeyError):
        Store.open(store_url, key)
    with pytest.raises(WrongKeyError):
        Store.open(store_url, Key.from_passphrase("not the new passphrase"))
    with Store.open(store_url, new) as store:
        names = store.records_frame(identifying=True)["name_hangul"].tolist()
        assert names == [make_record("A-1").name_hangul]
        assert "rekey" in [e["kind"] for e in store.audit_entries()]
        assert store.verify_audit().ok
