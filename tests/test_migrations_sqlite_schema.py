"""The migrations are dialect-aware (issue #17), and on SQLite they still do exactly what they did: the schema
after each revision is byte-identical to a snapshot taken from the migrations before they learnt PostgreSQL.

tests/data/sqlite_schema_by_revision.json holds, for each revision, `SELECT type, name, tbl_name, sql FROM
sqlite_master ORDER BY name` after a fresh upgrade to it. A migration added later is snapshotted once with
`python tests/test_migrations_sqlite_schema.py` (which adds missing revisions and never rewrites a stored one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pg import alembic_config, revisions

SNAPSHOT = Path(__file__).parent / "data" / "sqlite_schema_by_revision.json"


def _schema_at(path: Path, revision: str) -> list[list[str | None]]:
    import sqlite3

    from alembic import command
    from sqlalchemy import create_engine, event, pool

    engine = create_engine(f"sqlite:///{path}", poolclass=pool.NullPool)

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # as refman.store.sqlite.schema: SQLAlchemy's BEGIN starts transactions

    @event.listens_for(engine, "begin")
    def _begin(conn: object) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # type: ignore[attr-defined]

    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
    finally:
        engine.dispose()
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
    raw.close()
    return [list(r) for r in rows]


def _snapshots(tmp: Path, wanted: list[str]) -> dict[str, list[list[str | None]]]:
    """Each revision's schema, built upward in one catalog (each step as a user's catalog would take it)."""
    path = tmp / "catalog.db"
    return {rev: _schema_at(path, rev) for rev in wanted}


STORED: dict[str, list[list[str | None]]] = (json.loads(SNAPSHOT.read_text(encoding="utf-8"))
                                             if SNAPSHOT.exists() else {})


def test_every_revision_but_new_ones_is_snapshotted() -> None:
    chain = revisions()
    assert list(STORED) == chain[: len(STORED)], "snapshot revisions must follow the alembic chain"


def test_sqlite_schema_after_each_revision_is_unchanged(tmp_path: Path) -> None:
    got = _snapshots(tmp_path, list(STORED))
    for rev, rows in STORED.items():
        assert got[rev] == rows, f"the SQLite schema after {rev} changed"


@pytest.mark.parametrize("rev", list(STORED)[:-1])
def test_sqlite_schema_of_a_fresh_upgrade_to_each_revision(tmp_path: Path, rev: str) -> None:
    """A catalog created at an old revision in one step gets the same schema as one upgraded step by step."""
    assert _schema_at(tmp_path / "fresh.db", rev) == STORED[rev]


if __name__ == "__main__":
    import tempfile

    stored = dict(STORED)
    chain = revisions()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = _snapshots(Path(tmp), chain)
    added = [rev for rev in chain if rev not in stored]
    for rev in added:
        stored[rev] = fresh[rev]
    SNAPSHOT.write_text(json.dumps(stored, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"added {', '.join(added) or 'nothing'}", file=sys.stderr)
