"""Alembic environment. refman.store.sqlite.schema passes an open connection in
`config.attributes["connection"]`; the alembic command line (developers only) builds one from alembic.ini.

The target metadata is refman.models: the sqlmodel tables are the one definition of the schema, and
`alembic revision --autogenerate` / `alembic check` compare a catalog against them (tests/test_schema_models.py
does the same for every table, column, type, key and index). Only those commands read it: when refman upgrades
a catalog on open, nothing is compared, and importing sqlmodel would cost ~0.3 s CPU for nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import context
from sqlalchemy import engine_from_config, pool

if TYPE_CHECKING:
    from sqlalchemy import Connection, MetaData

config = context.config


def target_metadata() -> MetaData:
    from refman.models import SQLModel

    return SQLModel.metadata


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """What autogenerate compares: not the FTS5 search index of SQLite (migration 0002) nor the shadow tables
    FTS5 keeps for it, which the models do not declare."""
    return not (type_ == "table" and name is not None and (name == "search_fts" or name.startswith("search_fts_")))


def run_with(connection: Connection, metadata: MetaData | None) -> None:
    # render_as_batch lets ALTER-style migrations work on SQLite (copy-and-move tables).
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      include_name=include_name, compare_server_default=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection, None)
else:
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as conn:
        run_with(conn, target_metadata())
