"""Migration 0014 (robots.txt shared through the catalog) on populated catalogs, SQLite and PostgreSQL: every row
survives, the new table works through the store (a fetch's robots.txt is stored and read back), and the
downgrade drops it and nothing else."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pg import execute, migrate, pg_url, query

from refman.store.fetch import RobotsRow
from refman.store.sqlite.schema import downgrade_catalog, upgrade_catalog

__all__ = ["pg_url"]  # the fixture, imported for pytest

AT = "2026-01-02T03:04:05Z"
SEED = [
    "INSERT INTO note (id, root, path, size, mtime_ns, sha256, imported_at) VALUES (1, '/v', 'a.md', 1, 1, 'h1', "
    f"'{AT}')",
    "INSERT INTO source (id, url, url_as_written, host, created_at, updated_at, title) VALUES "
    f"(1, 'https://m.example/a', 'https://m.example/a', 'm.example', '{AT}', '{AT}', 'A')",
    "INSERT INTO mention (source_id, note_id, ordinal, line, label) VALUES (1, 1, 0, 1, 'A')",
    f"INSERT INTO snapshot (id, source_id, fetched_at, outcome) VALUES (1, 1, '{AT}', 'robots')",
    f"INSERT INTO fetch_claim (source_id, machine, pid, claimed_at, heartbeat_at) VALUES (1, 'm', 1, '{AT}', '{AT}')",
]
COUNTS = ("SELECT (SELECT count(*) FROM note), (SELECT count(*) FROM source), (SELECT count(*) FROM mention),"
          " (SELECT count(*) FROM snapshot), (SELECT count(*) FROM fetch_claim)")
ROW = RobotsRow("https://m.example", AT, "parsed", 200, "User-agent: *\nDisallow: /a\n")


def test_sqlite_catalog_upgrades_to_0014_and_back(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    upgrade_catalog(db, "0013")
    raw = sqlite3.connect(db)
    for sql in SEED:
        raw.execute(sql)
    raw.commit()
    raw.close()

    upgrade_catalog(db, "0014")
    from refman.store import open_store

    with open_store(db) as store:
        assert store.robots_row(ROW.origin) is None
        store.put_robots_row(ROW)
        assert store.robots_row(ROW.origin) == ROW
    raw = sqlite3.connect(db)
    assert raw.execute(COUNTS).fetchone() == (1, 1, 1, 1, 1)
    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    raw.close()

    downgrade_catalog(db, "0013")
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'robots_txt'").fetchone() is None
    assert raw.execute(COUNTS).fetchone() == (1, 1, 1, 1, 1)
    assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [("0013",)]
    raw.close()
    upgrade_catalog(db)  # and up again, empty
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT count(*) FROM robots_txt").fetchone() == (0,)
    raw.close()


def test_postgresql_catalog_upgrades_to_0014_and_back(pg_url: str) -> None:
    migrate(pg_url, "0013")
    for sql in SEED:
        execute(pg_url, sql.replace(":", "\\:"))

    migrate(pg_url, "0014")
    from refman.store import open_store

    with open_store("postgresql://" + pg_url.partition("://")[2]) as store:
        assert store.robots_row(ROW.origin) is None
        store.put_robots_row(ROW)
        assert store.robots_row(ROW.origin) == ROW
    assert [tuple(r) for r in query(pg_url, COUNTS)] == [(1, 1, 1, 1, 1)]

    migrate(pg_url, "0013", down=True)
    assert [tuple(r) for r in query(pg_url, "SELECT to_regclass('robots_txt') IS NULL")] == [(True,)]
    assert [tuple(r) for r in query(pg_url, COUNTS)] == [(1, 1, 1, 1, 1)]
    migrate(pg_url, "head")
    assert [tuple(r) for r in query(pg_url, "SELECT count(*) FROM robots_txt")] == [(0,)]
