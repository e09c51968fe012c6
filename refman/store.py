"""The light read path: a plain sqlite3 connection with the catalog's pragmas.

`refman search` and `refman list` use this so that they start fast; SQLAlchemy, sqlmodel and alembic are
only imported when the schema must be created or upgraded (refman.db)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from refman.errors import CatalogError

# The newest alembic revision in migrations/versions. tests/test_db.py fails when it drifts from alembic's head.
HEAD_REVISION = "0009"
BUSY_TIMEOUT_MS = 10_000


def apply_pragmas(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        conn.execute("PRAGMA journal_mode = WAL")


def schema_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def connect(path: Path) -> sqlite3.Connection:
    """Open the catalog at `path`, creating or upgrading its schema first when it is not at HEAD_REVISION."""
    path = Path(path)
    if path.exists():
        conn = _raw_connect(path)
        if schema_revision(conn) == HEAD_REVISION:
            return conn
        conn.close()
    from refman.db import upgrade_catalog

    upgrade_catalog(path)
    return _raw_connect(path)


def _raw_connect(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        conn.row_factory = sqlite3.Row
        apply_pragmas(conn)
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"cannot open catalog {path}: {exc}") from exc
    return conn
