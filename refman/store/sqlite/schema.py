"""The schema of a SQLite catalog file: alembic upgrades (and, for tests and developers, downgrades) and the
status `refman db status` reports.

The migrations in migrations/versions are the history of the schema; refman.models (the sqlmodel tables) is its
definition, alembic's `target_metadata`, and tests/test_schema_models.py checks that a freshly migrated catalog
and the models agree. SQLAlchemy and alembic are imported only here, and only when a schema must change:
opening an up-to-date catalog (refman.store.sqlite.connection) never imports them."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from refman.errors import CatalogError
from refman.store.revisions import HEAD_REVISION, schema_state
from refman.store.sqlite.connection import (
    apply_pragmas,
    is_read_only,
    schema_revision,
    translate_error,
)

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection, Engine


def alembic_config(connection: Connection | None = None) -> Config:
    """alembic's configuration for the migrations shipped in the package; `connection`, when given, is the
    connection migrations/env.py runs them on."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("refman.migrations")))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def sqlite_engine(path: Path) -> Engine:
    """A SQLAlchemy engine on the catalog file for alembic: the catalog's pragmas, and every transaction takes
    the write lock up front (BEGIN IMMEDIATE), so that two upgrades never deadlock. Dispose of it when done."""
    from sqlalchemy import create_engine, event

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create the catalog folder {path.parent}: {exc.strerror}") from exc
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN start transactions; pysqlite's implicit ones are off.
        dbapi_conn.isolation_level = None
        apply_pragmas(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upgrade_catalog(path: Path, revision: str = "head") -> None:
    """Create or upgrade the schema of the catalog at `path` to `revision`."""
    _migrate(path, revision, downgrade=False)


def downgrade_catalog(path: Path, revision: str) -> None:
    """Take the schema of the catalog at `path` back to `revision` ("base": nothing). refman itself never
    downgrades a catalog; the migration tests and developers do."""
    _migrate(path, revision, downgrade=True)


def _migrate(path: Path, revision: str, *, downgrade: bool) -> None:
    from alembic import command

    engine = sqlite_engine(path)
    try:
        with engine.begin() as conn:
            (command.downgrade if downgrade else command.upgrade)(alembic_config(conn), revision)
    except Exception as exc:  # alembic and sqlite raise many kinds; all mean the same to a user
        if isinstance(exc, CatalogError):
            raise
        raise translate_error(exc, path) or CatalogError(f"cannot migrate catalog {path}: {exc}") from exc
    finally:
        engine.dispose()


def catalog_status(path: Path, *, check: bool = True) -> dict[str, Any]:
    """What `refman db status` says, read without writing anything: `state` is one of missing, empty,
    up to date, needs upgrade, too new (a newer refman wrote it), damaged (with `problem`); `read_only` tells
    whether refman could write it."""
    path = Path(path)
    current: str | None = None
    state, problem = "missing", None
    read_only = is_read_only(path)
    if path.exists():
        uri = f"file:{quote(str(path.absolute()))}?mode=ro"
        conn: sqlite3.Connection | None
        try:
            conn = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as exc:
            conn, state, problem = None, "damaged", str(exc)
        if conn is not None:
            try:
                current = schema_revision(conn)
                verdict = conn.execute("PRAGMA quick_check(1)").fetchone()[0] if check else "ok"
                if verdict != "ok":
                    state, problem = "damaged", verdict
            except sqlite3.Error as exc:
                state, problem = "damaged", str(exc)
            finally:
                conn.close()
        if state != "damaged":
            state = schema_state(current)
    return {"path": str(path), "exists": path.exists(), "revision": current, "head": HEAD_REVISION,
            "up_to_date": current == HEAD_REVISION and state == "up to date", "state": state, "problem": problem,
            "read_only": read_only}
