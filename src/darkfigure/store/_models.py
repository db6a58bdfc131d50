"""SQLAlchemy 2 models of the case store.

The tables are created and changed only by the Alembic migrations in ``store/migrations`` (run
programmatically when a store is created or opened); a test checks that these models and the migrated
database agree.  Nothing here holds a plaintext identifier: identities are keyed HMACs and every record,
file name and organisation record id is an AES-GCM ciphertext.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Audit", "Base", "Import", "Link", "LinkRun", "Meta", "Pseudonym", "Quarantine", "Record"]


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""


class Meta(Base):
    """Store metadata: format, store id, KDF parameters and salt, key-check value, audit head."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Import(Base):
    """One run of ``import`` (the file name is encrypted; its SHA-256 is not a secret)."""

    __tablename__ = "imports"
    import_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    file_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    file_sha256: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(128))
    rows_read: Mapped[int] = mapped_column(Integer)
    imported: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    quarantined: Mapped[int] = mapped_column(Integer)


class Record(Base):
    """A case record: identity pseudonym, content digest and the encrypted record."""

    __tablename__ = "records"
    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    content_mac: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    schema_version: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))
    last_import_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Pseudonym(Base):
    """Keyed HMAC pseudonyms of a record's identifiers (for linkage and de-duplication)."""

    __tablename__ = "pseudonyms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("records.record_id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(64), index=True)


class Quarantine(Base):
    """A rejected row: where it came from (encrypted) and why (field + rule, in clear)."""

    __tablename__ = "quarantine"
    quarantine_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    qkey: Mapped[str] = mapped_column(String(64), unique=True)
    file_key: Mapped[str] = mapped_column(String(64), index=True)
    identity: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    import_id: Mapped[str] = mapped_column(String(32))
    row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reasons: Mapped[str] = mapped_column(Text)
    content_mac: Mapped[str] = mapped_column(String(64))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(String(40))


class LinkRun(Base):
    """One saved linkage (its settings encrypted: they may mention field names and thresholds only)."""

    __tablename__ = "link_runs"
    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(128))
    n_records: Mapped[int] = mapped_column(Integer)
    n_persons: Mapped[int] = mapped_column(Integer)
    info_enc: Mapped[bytes] = mapped_column(LargeBinary)


class Link(Base):
    """The current record -> person assignment (replaced by each saved linkage)."""

    __tablename__ = "links"
    record_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("records.record_id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    match_weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    run_id: Mapped[str] = mapped_column(String(32))


class Audit(Base):
    """Append-only, hash-chained audit log: who, when, what kind, which record id — never values."""

    __tablename__ = "audit"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
