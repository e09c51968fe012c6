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
    make_catalog_folder,
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
    make_catalog_folder(path)
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


# --- the head schema, for creating a catalog without replaying its history --------------------------------

_FTS5_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")


def head_schema_statements() -> list[str]:
    """The statements that create an empty catalog at HEAD_REVISION: read from a catalog the migrations just
    created (sqlite_master in creation order, FTS5's shadow tables left to the virtual table that creates them,
    its options and the rows the migrations inserted). scripts/write_sqlite_head_schema.py writes them into
    refman/store/sqlite/head_schema.py; tests/test_sqlite_head_schema.py checks that file is current and that
    a catalog created from it equals a migrated one."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "head.db"
        upgrade_catalog(path)
        conn = sqlite3.connect(path)
        try:
            entries = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                                   "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid").fetchall()
            virtual = [name for kind, name, sql in entries if kind == "table" and sql.startswith("CREATE VIRTUAL")]
            shadows = {f"{v}{suffix}" for v in virtual for suffix in _FTS5_SHADOWS}
            statements = [sql for _kind, name, sql in entries if name not in shadows]
            for kind, name, _sql in entries:
                if kind != "table" or name in shadows or name in virtual:
                    continue
                columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]
                quoted = " || ', ' || ".join(f'quote("{c}")' for c in columns)
                rows = sorted(values for (values,) in conn.execute(f'SELECT {quoted} FROM "{name}"'))
                statements += [f'INSERT INTO "{name}" VALUES ({values})' for values in rows]
            for v in virtual:  # FTS5 options (rank, …): set through the table's special INSERT
                statements += [f'INSERT INTO "{v}"("{v}", rank) VALUES ({key}, {value})' for key, value in
                               conn.execute(f"SELECT quote(k), quote(v) FROM \"{v}_config\" WHERE k != 'version' "
                                            "ORDER BY k")]
        finally:
            conn.close()
    return statements


def render_head_schema() -> str:
    """The text of refman/store/sqlite/head_schema.py (see head_schema_statements)."""
    lines = [
        '"""The statements that create an empty SQLite catalog at the head revision, generated from the migrations',
        "by scripts/write_sqlite_head_schema.py: do not edit. A new catalog is created from these in one transaction",
        "(refman.store.sqlite.connection) instead of replaying every migration, which would import alembic and",
        'SQLAlchemy (~0.5 s). The migrations stay the history and refman.models the definition."""',
        "",
        "# ruff: noqa: E501",
        "",
        f"REVISION = {HEAD_REVISION!r}",
        "",
        "STATEMENTS = (",
        *(f"    {statement!r}," for statement in head_schema_statements()),
        ")",
        "",
    ]
    return "\n".join(lines)
