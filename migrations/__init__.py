"""Alembic migrations of the refman catalog, installed as the package refman.migrations."""
