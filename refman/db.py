"""SQLAlchemy engine and sessions for the write path; alembic upgrade on open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event

if TYPE_CHECKING:
    from sqlmodel import Session

from refman.errors import CatalogError
from refman.store import HEAD_REVISION, apply_pragmas, is_read_only, known_revisions, schema_revision, translate_error

_engines: dict[Path, Engine] = {}


def _alembic_config(connection: Any = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("refman.migrations")))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def make_engine(path: Path) -> Engine:
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
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlocks

    return engine


def upgrade_catalog(path: Path, revision: str = "head") -> None:
    """Create or upgrade the schema of the catalog at `path` to `revision`."""
    from alembic import command

    engine = make_engine(path)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
    except Exception as exc:  # alembic and sqlite raise many kinds; all mean the same to a user
        if isinstance(exc, CatalogError):
            raise
        raise translate_error(exc, path) or CatalogError(f"cannot upgrade catalog {path}: {exc}") from exc
    finally:
        engine.dispose()


def catalog_status(path: Path, *, check: bool = True) -> dict[str, Any]:
    """What `refman db status` says, read without writing anything: `state` is one of missing, empty,
    up to date, needs upgrade, too new (a newer refman wrote it), damaged (with `problem`); `read_only` tells
    whether refman could write it."""
    from urllib.parse import quote

    path = Path(path)
    current: str | None = None
    state, problem = "missing", None
    read_only = is_read_only(path)
    if path.exists():
        uri = f"file:{quote(str(path.absolute()))}?mode=ro"
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
            if current == HEAD_REVISION:
                state = "up to date"
            elif current is None:
                state = "empty"
            elif current not in known_revisions():
                state = "too new"
            else:
                state = "needs upgrade"
    return {"path": str(path), "exists": path.exists(), "revision": current, "head": HEAD_REVISION,
            "up_to_date": current == HEAD_REVISION and state == "up to date", "state": state, "problem": problem,
            "read_only": read_only}


def open_catalog(path: Path) -> Engine:
    """An engine on an up-to-date catalog (schema created or upgraded as needed). Cached per path."""
    path = Path(path).resolve() if Path(path).exists() else Path(path)
    engine = _engines.get(path)
    if engine is not None:
        return engine
    from refman.store import connect

    connect(path).close()  # creates or upgrades the schema, or says why it cannot
    engine = make_engine(path)
    _engines[path] = engine
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back on any exception."""
    from sqlmodel import Session  # pydantic comes with it: only the ORM write path pays for it

    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
