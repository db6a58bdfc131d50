"""Initial case-store schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY = "audit log is append-only"


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "imports",
        sa.Column("import_id", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("file_name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
    )
    op.create_index("ix_imports_source", "imports", ["source"])
    op.create_table(
        "records",
        sa.Column("record_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False, unique=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("identity", sa.String(64), nullable=False, unique=True),
        sa.Column("content_mac", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("schema_version", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("last_import_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_records_source", "records", ["source"])
    op.create_table(
        "pseudonyms",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.String(32), sa.ForeignKey("records.record_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
    )
    op.create_index("ix_pseudonyms_record_id", "pseudonyms", ["record_id"])
    op.create_index("ix_pseudonyms_value", "pseudonyms", ["value"])
    op.create_table(
        "quarantine",
        sa.Column("quarantine_id", sa.String(32), primary_key=True),
        sa.Column("qkey", sa.String(64), nullable=False, unique=True),
        sa.Column("file_key", sa.String(64), nullable=False),
        sa.Column("identity", sa.String(64), nullable=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("import_id", sa.String(32), nullable=False),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("content_mac", sa.String(64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_quarantine_file_key", "quarantine", ["file_key"])
    op.create_index("ix_quarantine_identity", "quarantine", ["identity"])
    op.create_index("ix_quarantine_source", "quarantine", ["source"])
    op.create_table(
        "link_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("n_records", sa.Integer(), nullable=False),
        sa.Column("n_persons", sa.Integer(), nullable=False),
        sa.Column("info_enc", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "links",
        sa.Column("record_id", sa.String(32), sa.ForeignKey("records.record_id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("person_id", sa.String(64), nullable=False),
        sa.Column("match_weight", sa.Float(), nullable=True),
        sa.Column("run_id", sa.String(32), nullable=False),
    )
    op.create_index("ix_links_person_id", "links", ["person_id"])
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # The database itself refuses to change or delete audit entries: tampering then needs deliberate
    # schema surgery, which the keyed hash chain detects.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION darkfigure_audit_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$ LANGUAGE plpgsql"
        )
        op.execute("CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
                   "FOR EACH ROW EXECUTE FUNCTION darkfigure_audit_append_only()")
        op.execute("CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
                   "FOR EACH STATEMENT EXECUTE FUNCTION darkfigure_audit_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_no_{event.lower()} BEFORE {event} ON audit "
                       f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END")


def downgrade() -> None:
    # A store is never downgraded in place (that would drop the audit log); restore a backup instead.
    raise NotImplementedError("darkfigure stores are not downgraded; restore a backup")
