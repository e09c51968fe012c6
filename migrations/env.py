"""Alembic environment. refman.db passes an open connection in `config.attributes["connection"]`;
the alembic command line (developers only) builds one from alembic.ini."""

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run_with(connection) -> None:  # type: ignore[no-untyped-def]
    # render_as_batch lets ALTER-style migrations work on SQLite (copy-and-move tables).
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as conn:
        run_with(conn)
