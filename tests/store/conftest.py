"""Fixtures for the store tests: a key, and a store URL per backend (SQLite file, PostgreSQL schema)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from darkfigure.store import Key

# the tests import their helpers as a plain module (pytest runs in importlib mode)
sys.path.insert(0, str(Path(__file__).parent))
from store_helpers import require_pg


@pytest.fixture
def key(tmp_path: Path) -> Key:
    return Key.from_file(Key.generate_file(tmp_path / "store.key"))


def _pg_schema_url(base: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}schema={schema}"
    engine = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh store location on each backend: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "cases.db")
    else:
        yield from _pg_schema_url(require_pg())
