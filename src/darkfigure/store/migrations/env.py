"""Alembic environment: always run with a connection handed over by :mod:`darkfigure.store`."""

from __future__ import annotations

from typing import Any

from alembic import context


def _run(config: Any) -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("darkfigure migrations run only through darkfigure.store")
    context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


_config: Any
try:
    _config = context.config
except AttributeError:  # imported outside Alembic (doc tools, module walkers): nothing to run
    _config = None
if _config is not None:
    _run(_config)
