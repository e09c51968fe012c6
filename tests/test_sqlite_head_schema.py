"""A new SQLite catalog is created from the head schema (refman/store/sqlite/head_schema.py), not by replaying
the migrations: the file must be current, and what it creates must be exactly what the migrations create."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from refman.store.revisions import HEAD_REVISION
from refman.store.sqlite import head_schema
from refman.store.sqlite.connection import connect
from refman.store.sqlite.schema import downgrade_catalog, render_head_schema, upgrade_catalog

HEAD_FILE = Path(head_schema.__file__)


def _contents(path: Path) -> tuple[list[tuple[Any, ...]], dict[str, list[str]]]:
    """Every schema entry and the rows of every table (FTS5's shadow tables included)."""
    conn = sqlite3.connect(path)
    try:
        entries = sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        rows = {name: sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{name}"'))
                for kind, name, _table, _sql in entries if kind == "table"}
        return entries, rows
    finally:
        conn.close()


def _migrated(folder: Path) -> Path:
    path = folder / "migrated.db"
    if not path.exists():
        upgrade_catalog(path)
    return path


def test_the_head_schema_file_is_current() -> None:
    assert head_schema.REVISION == HEAD_REVISION, (
        "a migration was added: run `.venv/bin/python scripts/write_sqlite_head_schema.py`")
    assert HEAD_FILE.read_text(encoding="utf-8") == render_head_schema(), (
        "refman/store/sqlite/head_schema.py differs from what the migrations create: run "
        "`.venv/bin/python scripts/write_sqlite_head_schema.py`")


def test_a_new_catalog_equals_a_migrated_one(tmp_path: Path) -> None:
    created, migrated = tmp_path / "created.db", _migrated(tmp_path)
    connect(created).close()
    entries, rows = _contents(created)
    assert entries == _contents(migrated)[0]
    assert rows == _contents(migrated)[1]
    assert rows["alembic_version"] == [repr((HEAD_REVISION,))]
    assert any(name == "search_fts" for _kind, name, *_ in entries)


def test_a_created_catalog_follows_the_migration_history(tmp_path: Path) -> None:
    """alembic treats it as any catalog at head: down one revision and up again gives the migrated schema."""
    path = tmp_path / "c.db"
    connect(path).close()
    previous = f"{int(HEAD_REVISION) - 1:04d}"
    downgrade_catalog(path, previous)
    upgrade_catalog(path)
    assert _contents(path)[0] == _contents(_migrated(tmp_path))[0]


def test_catalogs_created_at_once_by_many_connections_are_one(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "c.db"  # the folders are created too
    errors: list[BaseException] = []
    counts: list[int] = []
    start = threading.Barrier(6)

    def open_it() -> None:
        try:
            start.wait()
            conn = connect(path)
            counts.append(conn.execute("SELECT count(*) FROM source").fetchone()[0])
            conn.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert counts == [0] * 6
    assert _contents(path)[0] == _contents(_migrated(tmp_path))[0]
