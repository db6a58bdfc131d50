"""The encrypted, audited case store (SQLite by default, PostgreSQL for a team)."""

from __future__ import annotations

import datetime as _dt
import functools
import getpass
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from .._version import __version__
from ..exceptions import (
    InputError,
    MigrationError,
    Problem,
    StoreError,
    WrongKeyError,
)
from ..schema.records import IDENTIFYING_FIELDS, CaseRecord
from . import _models as m
from ._crypto import KdfParams, Key, StoreKeys, b64, new_salt, unb64, unwrap_store_key, wrap_store_key

if TYPE_CHECKING:
    import pandas as pd
    from alembic.config import Config

__all__ = ["AuditReport", "ImportReport", "QuarantineRow", "Store", "StoredRecord"]

STORE_FORMAT = "darkfigure-store"
STORE_FORMAT_VERSION = "1"
_F = TypeVar("_F", bound=Callable[..., Any])
SCHEMA_HEAD = "0001"  # the newest migration in store/migrations/versions (a test checks they agree)
_GENESIS = "0" * 64
_CHUNK = 500
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_SOURCE_NAME = re.compile(r"^[\w.-]{1,64}$")
# identifiers kept as HMAC pseudonyms for linkage (aliases: one pseudonym per alias)
_PSEUDONYM_FIELDS = ("name_hangul", "name_hanja", "name_romanised", "name_chinese", "aliases",
                     "date_of_birth", "place_of_birth", "phone", "id_number")


# --------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class StoredRecord:
    """One record as read back from the store (decrypted in memory only).

    Parameters
    ----------
    record_id : str
        Opaque internal id (not the organisation's id).
    source : str
        The organisation / list.
    source_record_id : str
        The organisation's own id for the record.
    record : CaseRecord
        The record.
    """

    record_id: str
    source: str
    source_record_id: str
    record: CaseRecord


@dataclass(frozen=True)
class QuarantineRow:
    """A rejected input row, kept so it can be fixed and re-imported.

    ``reasons`` are :class:`~darkfigure.exceptions.Problem` objects with field and rule only: never the value.
    """

    quarantine_id: str
    file: str
    row: int | None
    source: str
    source_record_id: str | None
    reasons: tuple[Problem, ...]
    created_at: str = ""

    @property
    def reasons_text(self) -> str:
        """The reasons as ``field [rule]; ...``."""
        return "; ".join(f"{p.field} [{p.rule}]" for p in self.reasons)


@dataclass(frozen=True)
class ImportReport:
    """What one import did.  Always ``rows_read == imported + updated + unchanged + quarantined``.

    Examples
    --------
    >>> r = ImportReport(rows_read=3, imported=1, updated=1, unchanged=0, quarantined=1)
    >>> r.arithmetic()
    '3 = 1 + 1 + 0 + 1'
    """

    rows_read: int
    imported: int
    updated: int
    unchanged: int
    quarantined: int
    source: str = ""
    file_name: str = ""
    file_sha256: str = ""
    import_id: str = ""
    notes: tuple[str, ...] = ()
    quarantined_rows: tuple[QuarantineRow, ...] = ()

    def __post_init__(self) -> None:
        if self.rows_read != self.imported + self.updated + self.unchanged + self.quarantined:
            raise StoreError("import row arithmetic does not hold (this is a bug)")

    def arithmetic(self) -> str:
        """``rows read = imported + updated + unchanged + quarantined`` with the numbers."""
        return f"{self.rows_read} = {self.imported} + {self.updated} + {self.unchanged} + {self.quarantined}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (no record values, no file path)."""
        return {"rows_read": self.rows_read, "imported": self.imported, "updated": self.updated,
                "unchanged": self.unchanged, "quarantined": self.quarantined, "source": self.source,
                "file_name": self.file_name, "file_sha256": self.file_sha256, "import_id": self.import_id,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class AuditReport:
    """Result of checking the audit log's keyed hash chain.

    ``first_bad_entry`` is the sequence number of the first entry that does not verify (``None`` if ok).
    """

    ok: bool
    entries: int
    first_bad_entry: int | None = None
    reason: str | None = None


class _Outcome(Protocol):
    """What ``darkfigure.io.read_records`` yields per row (``RowOutcome``)."""

    @property
    def row(self) -> int: ...
    @property
    def source_record_id(self) -> str | None: ...
    @property
    def record(self) -> CaseRecord | None: ...
    @property
    def problems(self) -> list[Problem]: ...


@dataclass
class _RowOutcome:
    row: int
    source_record_id: str | None
    record: CaseRecord | None
    problems: list[Problem] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- helpers
def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _new_id() -> str:
    return uuid.uuid4().hex


def _actor() -> str:
    who = os.environ.get("DARKFIGURE_ACTOR")
    if not who:
        try:
            who = getpass.getuser()
        except Exception:  # no user database (containers): still audit, as "unknown"
            who = "unknown"
    return who[:128]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical(record: CaseRecord) -> bytes:
    # pydantic's serializer: fields in model order, so equal records give equal bytes for a schema version
    return record.model_dump_json().encode("utf-8")


def _audit_bytes(seq: int, ts: str, actor: str, kind: str, record_id: str | None, detail: str,
                 prev: str) -> bytes:
    return _dumps([seq, ts, actor, kind, record_id, detail, prev]).encode("utf-8")


def _db_errors(func: _F) -> _F:
    """Turn database-driver failures (server down, file locked, disk full) into one-line StoreErrors.

    Statement parameters are hidden by the engine (``hide_parameters``), so the message holds no values.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except sa.exc.SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            first = (str(orig) if orig is not None else str(exc)).strip().splitlines()
            detail = first[0][:200] if first else ""
            raise StoreError(f"database error ({type(orig or exc).__name__}): {detail}") from None

    return cast(_F, wrapper)


class _Target:
    """Where a store lives: a SQLite file (plain path or sqlite:// URL) or a PostgreSQL URL."""

    def __init__(self, url: str | Path) -> None:
        text = str(url)
        self.path: Path | None = None
        self.schema: str | None = None
        if "://" not in text:
            self.path = Path(text).expanduser().resolve()
            self.url = sa.engine.URL.create("sqlite", database=str(self.path))
            return
        try:
            u = make_url(text)
        except Exception:
            raise InputError("the store URL cannot be parsed") from None
        backend = u.get_backend_name()
        if backend == "sqlite":
            if not u.database or u.database == ":memory:":
                raise InputError("a SQLite store needs a file path")
            self.path = Path(u.database).expanduser().resolve()
            self.url = sa.engine.URL.create("sqlite", database=str(self.path))
        elif backend == "postgresql":
            if u.drivername in ("postgresql", "postgres"):
                u = u.set(drivername="postgresql+psycopg")
            schema = u.query.get("schema")
            if schema is not None:
                if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
                    raise InputError("the store URL's schema= must be a plain SQL identifier")
                self.schema = schema
                u = u.difference_update_query(["schema"])
            self.url = u
        else:
            raise InputError(f"unsupported store backend {backend!r} (use a file path or postgresql://)")

    @property
    def display(self) -> str:
        """The location without any password (safe for messages)."""
        if self.path is not None:
            return self.path.name
        shown = self.url.render_as_string(hide_password=True)
        return shown + (f" (schema {self.schema})" if self.schema else "")

    def engine(self) -> Engine:
        if self.path is not None:
            engine = sa.create_engine(self.url, hide_parameters=True, connect_args={"timeout": 60})

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                # Take transaction control away from pysqlite so that BEGIN/COMMIT are exactly ours
                # (SQLAlchemy's documented recipe); WAL + synchronous=FULL make a commit atomic and durable.
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "secure_delete=ON"):
                    cur.execute(f"PRAGMA {pragma}")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Connection) -> None:
                # writers take the write lock up front (BEGIN IMMEDIATE): a deferred transaction that
                # upgrades later can fail with SQLITE_BUSY_SNAPSHOT instead of waiting its turn
                immediate = conn.info.pop("darkfigure_immediate", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

            return engine
        args: dict[str, Any] = {}
        if self.schema:
            args["options"] = f"-csearch_path={self.schema}"
        return sa.create_engine(self.url, hide_parameters=True, connect_args=args, pool_pre_ping=True)


def _key_meta(key: Key, kdf: KdfParams | None, salt: bytes, wrapped: bytes) -> dict[str, str]:
    return {"key_kind": key.kind,
            "kdf": _dumps(kdf.to_dict() if kdf else {"algorithm": "hkdf-sha256"}),
            "salt": b64(salt),
            "wrapped_key": b64(wrapped)}


def _probe_sqlite(path: Path, display: str) -> None:
    """Check, read-only, that a file is a darkfigure store before the engine (which switches the file to
    WAL mode) touches it: a wrong path must not modify someone's other database."""
    import sqlite3

    try:
        conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error:
        raise StoreError(f"{display} cannot be opened") from None
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    if row is None or row[0] != STORE_FORMAT:
        raise StoreError(f"{display} is not a darkfigure store")


def _alembic_config(conn: Connection) -> Config:
    # alembic is imported only when a schema has to be created or migrated: it costs a CLI call ~0.3 s
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _upgrade(conn: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(conn), "head")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory(str(_MIGRATIONS)).walk_revisions()}


def _current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


# --------------------------------------------------------------------------------------------- the store
class Store:
    """An encrypted, audited store of case records.

    Create one with :meth:`create` or open one with :meth:`open`; a plain path means SQLite (WAL mode), a
    ``postgresql://`` URL a team server (``?schema=NAME`` selects a schema).  Every record is encrypted with
    AES-256-GCM; identities and identifiers are kept as keyed HMAC pseudonyms; every write is appended to a
    keyed hash-chained audit log.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from darkfigure.store import Key, Store
    >>> from darkfigure.schema.records import CaseRecord
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> key = Key.from_file(Key.generate_file(tmp / "store.key"))
    >>> store = Store.create(tmp / "cases.db", key)
    >>> rec = CaseRecord(source="ngo_a", source_record_id="A-1", name_romanised="Example Person")
    >>> store.import_records([rec], source="ngo_a", file_name="a.csv").imported
    1
    >>> [r.source_record_id for r in store.records()]
    ['A-1']
    >>> store.verify_audit().ok
    True
    >>> store.close()
    """

    def __init__(self, engine: Engine, keys: StoreKeys, target: _Target, store_id: str) -> None:
        # private: use Store.create / Store.open
        self._engine: Engine | None = engine
        self._keys = keys
        self._target = target
        self.store_id = store_id
        self._actor = _actor()

    # ------------------------------------------------------------------ life cycle
    @classmethod
    @_db_errors
    def create(cls, url: str | Path, key: Key, *, kdf: KdfParams | None = None) -> Store:
        """Create a new, empty store at ``url`` protected by ``key``.

        Parameters
        ----------
        url : str or Path
            A file path (SQLite) or a ``postgresql://`` URL.
        key : Key
            The passphrase or key file that will open the store.
        kdf : KdfParams, optional
            Argon2id parameters for a passphrase key (default: :class:`KdfParams`).

        Raises
        ------
        StoreError
            If a store (or any other file) already exists there.
        """
        if not isinstance(key, Key):
            raise InputError("key must be a darkfigure.store.Key")
        target = _Target(url)
        created_file = False
        if target.path is not None:
            if target.path.exists():
                raise StoreError(f"{target.display} already exists; not overwriting it")
            if not target.path.parent.is_dir():
                raise StoreError(f"folder for {target.display} does not exist")
            # create the file owner-only before SQLite opens it: its -wal/-shm inherit these permissions
            os.close(os.open(target.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            created_file = True
        engine = target.engine()
        try:
            salt = new_salt()
            kdf_params = (kdf or KdfParams()) if key.kind == "passphrase" else None
            store_id = _new_id()
            data_key = secrets.token_bytes(32)
            wrapped = wrap_store_key(key.derive_master(salt, kdf_params), data_key, store_id)
            keys = StoreKeys(data_key)
            with engine.begin() as conn:
                if target.schema:
                    conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"')
                if sa.inspect(conn).has_table("meta"):
                    raise StoreError(f"a store already exists at {target.display}")
                _upgrade(conn)
                meta = {
                    "format": STORE_FORMAT,
                    "format_version": STORE_FORMAT_VERSION,
                    "store_id": store_id,
                    "created_at": _now(),
                    "created_by_version": __version__,
                    **_key_meta(key, kdf_params, salt, wrapped),
                    "key_check": keys.check,
                    "audit_head": _dumps({"seq": 0, "hash": _GENESIS}),
                }
                conn.execute(sa.insert(m.Meta), [{"key": k, "value": v} for k, v in meta.items()])
                store = cls(engine, keys, target, store_id)
                store._append_audit(conn, [("create", None, {"key_kind": key.kind, "version": __version__})])
            return store
        except BaseException:
            engine.dispose()
            if created_file and target.path is not None:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    with suppress(OSError):
                        Path(str(target.path) + suffix).unlink()
            raise

    @classmethod
    @_db_errors
    def open(cls, url: str | Path, key: Key) -> Store:
        """Open an existing store; a wrong key raises :class:`WrongKeyError` and changes nothing.

        A store written by an older darkfigure is migrated (Alembic) after the key has been checked.
        """
        if not isinstance(key, Key):
            raise InputError("key must be a darkfigure.store.Key")
        target = _Target(url)
        if target.path is not None:
            if not target.path.is_file():
                raise StoreError(f"no store at {target.display}: create one with `darkfigure init`")
            _probe_sqlite(target.path, target.display)
        engine = target.engine()
        try:
            with engine.connect() as conn:
                if not sa.inspect(conn).has_table("meta"):
                    raise StoreError(f"{target.display} is not a darkfigure store")
                meta = dict(conn.execute(sa.select(m.Meta.key, m.Meta.value)).all())
                current = _current_revision(conn)
                conn.rollback()
            if meta.get("format") != STORE_FORMAT:
                raise StoreError(f"{target.display} is not a darkfigure store")
            if "wrapped_key" not in meta:
                raise StoreError(f"{target.display} was made by a pre-release darkfigure: create it again")
            if meta.get("key_kind") != key.kind:
                wanted = "a key file" if meta.get("key_kind") == "keyfile" else "a passphrase"
                raise WrongKeyError(f"wrong key: this store is opened with {wanted}")
            kdf_d = json.loads(meta["kdf"])
            kdf_params = KdfParams.from_dict(kdf_d) if key.kind == "passphrase" else None
            kek = key.derive_master(unb64(meta["salt"]), kdf_params)
            keys = StoreKeys(unwrap_store_key(kek, unb64(meta["wrapped_key"]), meta["store_id"]))
            if not _compare(keys.check, meta["key_check"]):  # belt and braces: the unwrap is authenticated
                raise WrongKeyError("wrong passphrase or key file for this store")
            store = cls(engine, keys, target, meta["store_id"])
            if current != SCHEMA_HEAD:
                if current not in _known_revisions():
                    raise MigrationError("this store was written by a newer darkfigure; upgrade darkfigure")
                with store._write() as wconn:
                    _upgrade(wconn)
                    store._append_audit(wconn, [("migrate", None, {"from": current, "to": SCHEMA_HEAD})])
            return store
        except BaseException:
            engine.dispose()
            raise

    @_db_errors
    def rekey(self, new_key: Key, *, kdf: KdfParams | None = None) -> None:
        """Change the passphrase or key file: the store's data key is re-wrapped under ``new_key``.

        One transaction, audited (``rekey``).  Records are not re-encrypted: someone who had the old
        secret *and* a copy of the store could have kept the data key; if that matters, create a new store
        and re-import.
        """
        if not isinstance(new_key, Key):
            raise InputError("new_key must be a darkfigure.store.Key")
        salt = new_salt()
        kdf_params = (kdf or KdfParams()) if new_key.kind == "passphrase" else None
        wrapped = wrap_store_key(new_key.derive_master(salt, kdf_params), self._keys.data_key, self.store_id)
        with self._write() as conn:
            for k, v in _key_meta(new_key, kdf_params, salt, wrapped).items():
                conn.execute(sa.update(m.Meta).where(m.Meta.key == k).values(value=v))
            self._append_audit(conn, [("rekey", None, {"key_kind": new_key.kind})])

    def close(self) -> None:
        """Release the database connections (the store object cannot be used afterwards)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._target.display!r})"

    @property
    def location(self) -> str:
        """Where the store is (file name or URL without password)."""
        return self._target.display

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for maintenance tools; everything in it is encrypted or pseudonymous)."""
        if self._engine is None:
            raise StoreError("the store is closed")
        return self._engine

    # ------------------------------------------------------------------ transactions and audit
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction; the first statement takes the store's write lock (audit head row)."""
        with self.engine.connect() as conn:
            conn.info["darkfigure_immediate"] = True
            with conn.begin():
                # a no-op update: PostgreSQL locks the head row (SQLite already holds its write lock), so
                # that audit appends (and the whole import) are serialised between concurrent writers
                conn.execute(sa.update(m.Meta).where(m.Meta.key == "audit_head").values(value=m.Meta.value))
                yield conn

    def _append_audit(self, conn: Connection,
                      entries: Sequence[tuple[str, str | None, Mapping[str, Any]]]) -> None:
        if not entries:
            return
        head = json.loads(conn.execute(
            sa.select(m.Meta.value).where(m.Meta.key == "audit_head")).scalar_one())
        seq, prev = int(head["seq"]), str(head["hash"])
        ts = _now()
        rows = []
        for kind, record_id, detail in entries:
            seq += 1
            d = _dumps(dict(detail))
            h = self._keys.audit_mac(_audit_bytes(seq, ts, self._actor, kind, record_id, d, prev))
            rows.append({"seq": seq, "ts": ts, "actor": self._actor, "kind": kind, "record_id": record_id,
                         "detail": d, "prev_hash": prev, "hash": h})
            prev = h
        for i in range(0, len(rows), _CHUNK):
            conn.execute(_table(m.Audit).insert(), rows[i:i + _CHUNK])
        head_mac = self._keys.audit_mac(f"head:{seq}:{prev}".encode())
        conn.execute(sa.update(m.Meta).where(m.Meta.key == "audit_head")
                     .values(value=_dumps({"seq": seq, "hash": prev, "mac": head_mac})))

    def _audit(self, kind: str, detail: Mapping[str, Any], record_id: str | None = None) -> None:
        with self._write() as conn:
            self._append_audit(conn, [(kind, record_id, detail)])

    @_db_errors
    def verify_audit(self) -> AuditReport:
        """Check the audit log: contiguous sequence, every keyed hash, the chain links and the head.

        Returns an :class:`AuditReport`; ``first_bad_entry`` names the first entry that fails.
        """
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(m.Audit).order_by(m.Audit.seq)).all()
            head = json.loads(conn.execute(
                sa.select(m.Meta.value).where(m.Meta.key == "audit_head")).scalar_one())
            conn.rollback()
        prev = _GENESIS
        for expected, r in enumerate(rows, start=1):
            if r.seq != expected:
                return AuditReport(False, len(rows), expected, f"entry {expected} is missing")
            if r.prev_hash != prev:
                return AuditReport(False, len(rows), r.seq, "chain broken (previous hash differs)")
            want = self._keys.audit_mac(_audit_bytes(r.seq, r.ts, r.actor, r.kind, r.record_id, r.detail,
                                                     r.prev_hash))
            if not _compare(want, r.hash):
                return AuditReport(False, len(rows), r.seq, "entry was altered (hash differs)")
            prev = r.hash
        n = len(rows)
        head_ok = (int(head.get("seq", -1)) == n and head.get("hash") == prev
                   and _compare(self._keys.audit_mac(f"head:{n}:{prev}".encode()), str(head.get("mac", ""))))
        if not head_ok:
            return AuditReport(False, n, n + 1 if int(head.get("seq", 0)) > n else n,
                               "log truncated or head altered (head does not match the last entry)")
        return AuditReport(True, n)

    @_db_errors
    def audit_entries(self) -> list[dict[str, Any]]:
        """The audit log as plain dicts (seq, ts, actor, kind, record_id, detail) — it holds no values."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(m.Audit).order_by(m.Audit.seq)).all()
        return [{"seq": r.seq, "ts": r.ts, "actor": r.actor, "kind": r.kind, "record_id": r.record_id,
                 "detail": json.loads(r.detail)} for r in rows]

    # ------------------------------------------------------------------ import
    def import_file(self, path: str | Path, source: str | None = None, mapping: Any = None, *,
                    progress: Callable[[int, int], None] | None = None) -> ImportReport:
        """Read a file (CSV/XLSX/JSON/JSONL) through an optional mapping and import it in one transaction.

        Valid rows are inserted, updated (same source and source record id, changed content) or left
        unchanged; invalid rows go to the quarantine.  Unreadable files and bad mappings raise
        :class:`~darkfigure.exceptions.InputError` / ``MappingError`` before anything is written.

        Parameters
        ----------
        path : str or Path
            The organisation's file.
        source : str, optional
            The source (organisation / list) name; default: the mapping's ``source``.
        mapping : darkfigure.io.Mapping, path or None
            The column mapping (a YAML path is loaded).
        progress : callable, optional
            Called as ``progress(done, total)`` while rows are written.
        """
        from ..io import Mapping as IoMapping
        from ..io import read_records

        if isinstance(mapping, str | Path):
            mapping = IoMapping.load(mapping)
        if source is None and mapping is not None:
            source = getattr(mapping, "source", None)
        if source is None:
            raise InputError("no source name: give --source or set `source` in the mapping")
        _check_source(source)
        result = read_records(Path(path), mapping=mapping, source=source)
        return self.import_outcomes(result.outcomes, source=source, file_name=Path(path).name,
                                    file_sha256=result.file_sha256, notes=result.notes, progress=progress)

    def import_records(self, records: Iterable[CaseRecord], *, source: str, file_name: str = "<records>",
                       file_sha256: str = "", progress: Callable[[int, int], None] | None = None,
                       ) -> ImportReport:
        """Import already-validated records (e.g. from the simulator), with the same semantics as a file."""
        outcomes = [_RowOutcome(i, r.source_record_id, r, []) for i, r in enumerate(records, start=1)]
        return self.import_outcomes(outcomes, source=source, file_name=file_name, file_sha256=file_sha256,
                                    progress=progress)

    @_db_errors
    def import_outcomes(self, outcomes: Iterable[_Outcome], *, source: str, file_name: str,
                        file_sha256: str = "", notes: Sequence[str] = (),
                        progress: Callable[[int, int], None] | None = None) -> ImportReport:
        """Import per-row outcomes (``darkfigure.io.RowOutcome``) in one transaction.

        This is the store half of :meth:`import_file`; every row ends up imported, updated, unchanged or
        quarantined, and a process killed before the commit leaves the store exactly as it was.
        """
        _check_source(source)
        file_name = Path(file_name).name  # never keep a folder path
        keys = self._keys
        rows = list(outcomes)
        file_key = keys.qkey("file", source, file_name)
        seen: dict[str, int] = {}
        valid: list[tuple[int, CaseRecord, str]] = []
        rejected: list[tuple[int, str | None, str | None, tuple[Problem, ...]]] = []
        for o in rows:
            if o.record is None or o.problems:
                sid = o.source_record_id
                ident = keys.identity(source, sid) if sid else None
                problems = tuple(o.problems) or (Problem("record", "invalid", row=o.row),)
                rejected.append((o.row, sid, ident, problems))
                continue
            rec = o.record if o.record.source == source else o.record.model_copy(update={"source": source})
            ident = keys.identity(source, rec.source_record_id)
            if ident in seen:
                rejected.append((o.row, rec.source_record_id, None, (Problem(
                    "source_record_id", "duplicate_in_file", row=o.row,
                    message=f"same source record id as row {seen[ident]}"),)))
                continue
            seen[ident] = o.row
            valid.append((o.row, rec, ident))

        import_id = _new_id()
        now = _now()
        total = len(valid) + len(rejected)
        counts = {"imported": 0, "updated": 0, "unchanged": 0}
        q_rows: list[QuarantineRow] = []
        with self._write() as conn:
            # identities and digests only: old payloads are fetched for the rows that actually change
            existing = {r.identity: r for r in conn.execute(
                sa.select(m.Record.identity, m.Record.record_id, m.Record.content_mac, m.Record.version)
                .where(m.Record.source == source))}
            seq = conn.execute(sa.select(sa.func.coalesce(sa.func.max(m.Record.seq), 0))).scalar_one()
            done = 0
            for start in range(0, len(valid), _CHUNK):
                chunk = valid[start:start + _CHUNK]
                inserts: list[dict[str, Any]] = []
                updates: list[dict[str, Any]] = []
                pseudo: list[dict[str, Any]] = []
                audits: list[tuple[str, str | None, Mapping[str, Any]]] = []
                digests = []
                for _row, rec, _ident in chunk:
                    canonical = _canonical(rec)
                    digests.append((canonical, keys.content(canonical)))
                changing = [existing[i].record_id
                            for (_r, _rec, i), (_c, cm) in zip(chunk, digests, strict=True)
                            if i in existing and not _compare(existing[i].content_mac, cm)]
                old_payloads = dict(conn.execute(sa.select(m.Record.record_id, m.Record.payload).where(
                    m.Record.record_id.in_(changing))).all()) if changing else {}
                for (_row, rec, ident), (canonical, cmac) in zip(chunk, digests, strict=True):
                    old = existing.get(ident)
                    if old is not None and _compare(old.content_mac, cmac):
                        counts["unchanged"] += 1
                        continue
                    rid = old.record_id if old is not None else _new_id()
                    payload = keys.encrypt(canonical, f"record:{rid}")
                    pseudo.extend(self._pseudonym_rows(rid, rec))
                    if old is None:
                        seq += 1
                        inserts.append({"record_id": rid, "seq": seq, "source": source, "identity": ident,
                                        "content_mac": cmac, "payload": payload,
                                        "schema_version": rec.schema_version, "version": 1,
                                        "created_at": now, "updated_at": now, "last_import_id": import_id})
                        audits.append(("insert", rid, {"import_id": import_id, "version": 1}))
                        counts["imported"] += 1
                    else:
                        before = json.loads(keys.decrypt(old_payloads[rid], f"record:{rid}"))
                        after = json.loads(canonical)
                        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
                        updates.append({"b_record_id": rid, "content_mac": cmac, "payload": payload,
                                        "schema_version": rec.schema_version, "version": old.version + 1,
                                        "updated_at": now, "last_import_id": import_id})
                        # field names only: the audit log says *what kind* of change, never the values
                        audits.append(("update", rid, {"import_id": import_id, "version": old.version + 1,
                                                       "changed_fields": changed}))
                        counts["updated"] += 1
                if inserts:
                    conn.execute(_table(m.Record).insert(), inserts)
                if updates:
                    conn.execute(sa.delete(m.Pseudonym).where(
                        m.Pseudonym.record_id.in_([u["b_record_id"] for u in updates])))
                    rt = _table(m.Record)
                    conn.execute(
                        rt.update().where(rt.c.record_id == sa.bindparam("b_record_id")).values(
                            content_mac=sa.bindparam("content_mac"), payload=sa.bindparam("payload"),
                            schema_version=sa.bindparam("schema_version"), version=sa.bindparam("version"),
                            updated_at=sa.bindparam("updated_at"),
                            last_import_id=sa.bindparam("last_import_id")),
                        updates)
                if pseudo:
                    conn.execute(_table(m.Pseudonym).insert(), pseudo)
                self._append_audit(conn, audits)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)

            # ---- quarantine: this file's rejected rows replace its earlier ones; accepted ids resolve theirs
            accepted = [ident for _r, _rec, ident in valid]
            q_audit: list[tuple[str, str | None, Mapping[str, Any]]] = []
            old_q = {r.qkey: r for r in conn.execute(
                sa.select(m.Quarantine.qkey, m.Quarantine.quarantine_id, m.Quarantine.content_mac)
                .where(m.Quarantine.file_key == file_key))}
            new_keys: set[str] = set()
            q_insert: list[dict[str, Any]] = []
            for row, sid, ident, problems in rejected:
                qkey = keys.qkey("row", source, file_name, str(row))
                new_keys.add(qkey)
                reasons = sorted({(p.field, p.rule) for p in problems})
                body = _dumps({"file": file_name, "row": row, "source_record_id": sid})
                cmac = keys.content(_dumps([body, reasons]).encode())
                prior = old_q.get(qkey)
                qid = prior.quarantine_id if prior is not None else _new_id()
                q_rows.append(QuarantineRow(qid, file_name, row, source, sid,
                                            tuple(Problem(f, r, row=row) for f, r in reasons), now))
                if prior is not None and _compare(prior.content_mac, cmac):
                    continue
                if prior is not None:
                    conn.execute(sa.delete(m.Quarantine).where(m.Quarantine.qkey == qkey))
                q_insert.append({"quarantine_id": qid, "qkey": qkey, "file_key": file_key, "identity": ident,
                                 "source": source, "import_id": import_id, "row": row,
                                 "reasons": _dumps([{"field": f, "rule": r} for f, r in reasons]),
                                 "content_mac": cmac,
                                 "payload": keys.encrypt(body.encode(), f"quarantine:{qid}"),
                                 "created_at": now})
                q_audit.append(("quarantine", None, {"import_id": import_id, "quarantine_id": qid,
                                                     "fields": sorted({f for f, _ in reasons})}))
            gone = [r.quarantine_id for k, r in old_q.items() if k not in new_keys]
            for i in range(0, len(accepted), _CHUNK):
                gone.extend(conn.execute(sa.select(m.Quarantine.quarantine_id).where(
                    m.Quarantine.identity.in_(accepted[i:i + _CHUNK]),
                    m.Quarantine.file_key != file_key)).scalars())
            for i in range(0, len(gone), _CHUNK):
                conn.execute(sa.delete(m.Quarantine).where(
                    m.Quarantine.quarantine_id.in_(gone[i:i + _CHUNK])))
            q_audit.extend(("quarantine_resolved", None, {"import_id": import_id, "quarantine_id": qid})
                           for qid in gone)
            if q_insert:
                conn.execute(sa.insert(m.Quarantine), q_insert)

            report = ImportReport(rows_read=len(rows), imported=counts["imported"], updated=counts["updated"],
                                  unchanged=counts["unchanged"], quarantined=len(rejected), source=source,
                                  file_name=file_name, file_sha256=file_sha256, import_id=import_id,
                                  notes=tuple(notes), quarantined_rows=tuple(q_rows))
            conn.execute(sa.insert(m.Import).values(
                import_id=import_id, source=source,
                file_name_enc=keys.encrypt(file_name.encode(), f"import:{import_id}"),
                file_sha256=file_sha256, started_at=now, actor=self._actor, rows_read=report.rows_read,
                imported=report.imported, updated=report.updated, unchanged=report.unchanged,
                quarantined=report.quarantined))
            q_audit.append(("import", None, {"import_id": import_id, "source": source,
                                             "file_sha256": file_sha256, "rows_read": report.rows_read,
                                             "imported": report.imported, "updated": report.updated,
                                             "unchanged": report.unchanged,
                                             "quarantined": report.quarantined}))
            self._append_audit(conn, q_audit)
            if progress is not None:
                progress(total, total)
        return report

    def _pseudonym_rows(self, record_id: str, rec: CaseRecord) -> list[dict[str, Any]]:
        out = []
        for name in _PSEUDONYM_FIELDS:
            value = getattr(rec, name)
            values = value if isinstance(value, list) else [value]
            for v in values:
                if v:
                    out.append({"record_id": record_id, "field": name,
                                "value": self._keys.pseudonym(name, str(v))})
        return out

    # ------------------------------------------------------------------ reading
    @_db_errors
    def _load(self, sources: Iterable[str] | None, kind: str, detail: Mapping[str, Any]) -> list[Any]:
        q = sa.select(m.Record.record_id, m.Record.source, m.Record.payload).order_by(m.Record.seq)
        if sources is not None:
            q = q.where(m.Record.source.in_(list(sources)))
        with self._write() as conn:
            rows = conn.execute(q).all()
            self._append_audit(conn, [(kind, None, {**detail, "n_records": len(rows)})])
        return list(rows)

    def _decrypt_record(self, record_id: str, payload: bytes) -> CaseRecord:
        data = self._keys.decrypt(payload, f"record:{record_id}")
        try:
            return CaseRecord.model_validate_json(data)
        except Exception:
            # no pydantic message here: it would quote the stored values
            raise StoreError(f"stored record {record_id} no longer validates against the schema") from None

    def records(self, sources: Iterable[str] | None = None) -> Iterator[StoredRecord]:
        """Yield every record (optionally of some sources), decrypted in memory only.  The read is audited."""
        src = None if sources is None else sorted(set(sources))
        rows = self._load(src, "read", {"api": "records", "sources": src})
        for r in rows:
            rec = self._decrypt_record(r.record_id, r.payload)
            yield StoredRecord(r.record_id, r.source, rec.source_record_id, rec)

    @_db_errors
    def records_frame(self, identifying: bool = False) -> pd.DataFrame:
        """One row per record: ``record_id``, ``source``, ``source_record_id`` and every CaseRecord field.

        Identifying fields (names, date of birth, ...) are included only with ``identifying=True``.  Lists
        stay Python lists.  The read is audited (with the ``identifying`` flag).
        """
        import pandas as pd

        fields = [f for f in CaseRecord.model_fields if f not in ("source", "source_record_id")]
        if not identifying:
            fields = [f for f in fields if f not in IDENTIFYING_FIELDS]
        columns = ["record_id", "source", "source_record_id", *fields]
        rows = self._load(None, "read", {"api": "records_frame", "identifying": bool(identifying)})
        data = []
        for r in rows:
            d = self._decrypt_record(r.record_id, r.payload).model_dump(mode="json")
            data.append([r.record_id, r.source, d["source_record_id"], *(d.get(f) for f in fields)])
        return pd.DataFrame(data, columns=columns)

    @_db_errors
    def pseudonyms_frame(self) -> pd.DataFrame:
        """Keyed HMAC pseudonyms of identifiers: columns ``record_id``, ``source``, ``field``, ``pseudonym``.

        Equal (normalised) identifiers have equal pseudonyms within one store, so exact-match blocking and
        de-duplication work without decrypting a name.
        """
        import pandas as pd

        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(m.Pseudonym.record_id, m.Record.source, m.Pseudonym.field, m.Pseudonym.value)
                .join(m.Record, m.Record.record_id == m.Pseudonym.record_id)
                .order_by(m.Record.seq, m.Pseudonym.id)).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["record_id", "source", "field", "pseudonym"])

    @_db_errors
    def count(self, source: str | None = None) -> int:
        """Number of records (of one source)."""
        q = sa.select(sa.func.count()).select_from(m.Record)
        if source is not None:
            q = q.where(m.Record.source == source)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    # ------------------------------------------------------------------ linkage
    @_db_errors
    def save_links(self, person_ids: Mapping[str, str], match_weights: Mapping[str, float] | None = None,
                   run_info: Mapping[str, Any] | None = None) -> None:
        """Save a linkage: ``record_id -> person_id`` (replacing the previous one), audited per record.

        Parameters
        ----------
        person_ids : mapping
            Every linked record's id and the person id it was assigned.
        match_weights : mapping, optional
            ``record_id -> match weight`` of the link that joined the record to its cluster.
        run_info : mapping, optional
            JSON-serialisable settings and diagnostics of the linkage run (kept encrypted).
        """
        pids = {str(k): str(v) for k, v in person_ids.items()}
        weights = {str(k): float(v) for k, v in (match_weights or {}).items()}
        try:
            info = _dumps(dict(run_info or {}))
        except (TypeError, ValueError):
            raise InputError("run_info must be JSON-serialisable") from None
        if set(weights) - set(pids):
            raise InputError("match_weights names records that have no person id")
        if any(not p or len(p) > 64 for p in pids.values()):
            raise InputError("person ids must be 1 to 64 characters")
        run_id = _new_id()
        with self._write() as conn:
            known = set(conn.execute(sa.select(m.Record.record_id)).scalars())
            unknown = set(pids) - known
            if unknown:
                raise StoreError(f"{len(unknown)} record id(s) passed to save_links are not in this store")
            conn.execute(sa.delete(m.Link))
            items = [{"record_id": rid, "person_id": pid, "match_weight": weights.get(rid), "run_id": run_id}
                     for rid, pid in pids.items()]
            for i in range(0, len(items), _CHUNK):
                conn.execute(sa.insert(m.Link), items[i:i + _CHUNK])
            n_persons = len(set(pids.values()))
            conn.execute(sa.insert(m.LinkRun).values(
                run_id=run_id, created_at=_now(), actor=self._actor, n_records=len(pids), n_persons=n_persons,
                info_enc=self._keys.encrypt(info.encode(), f"link_run:{run_id}")))
            entries: list[tuple[str, str | None, Mapping[str, Any]]] = [
                ("link", rid, {"run_id": run_id}) for rid in pids]
            entries.append(("link_run", None, {"run_id": run_id, "n_records": len(pids),
                                               "n_persons": n_persons}))
            self._append_audit(conn, entries)

    @_db_errors
    def person_ids(self) -> dict[str, str]:
        """``record_id -> person_id`` from the last saved linkage (``{}`` before any)."""
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(m.Link.record_id, m.Link.person_id)).all())

    @_db_errors
    def link_runs(self) -> list[dict[str, Any]]:
        """Saved linkage runs (oldest first) with their decrypted ``run_info``."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(m.LinkRun).order_by(m.LinkRun.created_at)).all()
        return [{"run_id": r.run_id, "created_at": r.created_at, "actor": r.actor, "n_records": r.n_records,
                 "n_persons": r.n_persons,
                 "run_info": json.loads(self._keys.decrypt(r.info_enc, f"link_run:{r.run_id}"))}
                for r in rows]

    # ------------------------------------------------------------------ quarantine, summary, export audit
    @_db_errors
    def quarantine_rows(self, sources: Iterable[str] | None = None) -> list[QuarantineRow]:
        """Every quarantined row (file, row, source, source record id, reasons), ordered by file and row."""
        q = sa.select(m.Quarantine)
        if sources is not None:
            q = q.where(m.Quarantine.source.in_(list(sources)))
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            body = json.loads(self._keys.decrypt(r.payload, f"quarantine:{r.quarantine_id}"))
            reasons = tuple(Problem(x["field"], x["rule"], row=r.row) for x in json.loads(r.reasons))
            out.append(QuarantineRow(r.quarantine_id, body["file"], r.row, r.source, body["source_record_id"],
                                     reasons, r.created_at))
        return sorted(out, key=lambda q: (q.source, q.file, q.row if q.row is not None else -1))

    @_db_errors
    def summary(self) -> dict[str, Any]:
        """Counts per source (records, quarantined, files imported) and in total — no record values."""
        with self.engine.connect() as conn:
            recs = dict(conn.execute(sa.select(m.Record.source, sa.func.count())
                                     .group_by(m.Record.source)).all())
            quar = dict(conn.execute(sa.select(m.Quarantine.source, sa.func.count())
                                     .group_by(m.Quarantine.source)).all())
            files = dict(conn.execute(sa.select(m.Import.source,
                                                sa.func.count(sa.distinct(m.Import.file_sha256)))
                                      .group_by(m.Import.source)).all())
            n_imports = conn.execute(sa.select(sa.func.count()).select_from(m.Import)).scalar_one()
            persons = conn.execute(sa.select(sa.func.count(sa.distinct(m.Link.person_id)))).scalar_one()
            audit_n = conn.execute(sa.select(sa.func.count()).select_from(m.Audit)).scalar_one()
            revision = _current_revision(conn)
        names = sorted(set(recs) | set(quar) | set(files))
        sources = {s: {"records": int(recs.get(s, 0)), "quarantined": int(quar.get(s, 0)),
                       "files_imported": int(files.get(s, 0))} for s in names}
        return {
            "store_id": self.store_id,
            "schema_revision": revision,
            "package_version": __version__,
            "sources": sources,
            "records": sum(v["records"] for v in sources.values()),
            "quarantined": sum(v["quarantined"] for v in sources.values()),
            "files_imported": sum(v["files_imported"] for v in sources.values()),
            "imports": int(n_imports),
            "persons": int(persons) if persons else None,
            "audit_entries": int(audit_n),
        }

    @_db_errors
    def backup(self, path: str | Path) -> Path:
        """Write a consistent copy of a SQLite store to ``path`` (SQLite's online backup; audited).

        The copy is as encrypted as the store and opens with the same key.  PostgreSQL stores are backed up
        with the server's tools (``pg_dump``).
        """
        import sqlite3

        if self._target.path is None:
            raise StoreError("back up a PostgreSQL store with pg_dump (see docs/store.md)")
        dest = Path(path).expanduser().resolve()
        if dest.exists():
            raise StoreError(f"{dest.name} already exists; not overwriting it")
        if dest == self._target.path:
            raise StoreError("the backup must be another file")
        self._audit("backup", {"format": "sqlite"})  # not the file name: it could name a person
        os.close(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            with self.engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                target = sqlite3.connect(dest)
                try:
                    raw.backup(target)  # type: ignore[union-attr]
                    # a self-contained file: no WAL to carry along
                    target.execute("PRAGMA journal_mode=DELETE")
                finally:
                    target.close()
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest

    @_db_errors
    def record_export(self, kind: str, n_rows: int) -> None:
        """Audit that record-level data left the store (e.g. an HTCDS/CTDC export)."""
        self._audit("export", {"format": kind, "n_rows": int(n_rows)})


def _table(model: type[m.Base]) -> sa.Table:
    # Core table of a model: executemany through Core skips the ORM's per-row bookkeeping
    return cast(sa.Table, model.__table__)


def _compare(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


def _check_source(source: str) -> None:
    if not isinstance(source, str) or not _SOURCE_NAME.match(source):
        raise InputError("the source name must be 1-64 letters, digits, '_', '-' or '.' (no spaces)")
