"""Alembic migrations of the case store, run programmatically by :mod:`darkfigure.store`."""
