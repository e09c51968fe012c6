"""Migration 0013 (who made each write, field_history, note owners) on populated catalogs, SQLite and PostgreSQL:
every row survives with NULL for who, the note's unique constraint becomes (owner, root, path), the first import
of a root claims its notes, and the downgrade goes back. From whatever revision 0013 follows (the lead re-chains
migrations)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pg import execute, migrate, pg_url, query

from refman.notes.importer import import_vault
from refman.store.sqlite.schema import alembic_config, downgrade_catalog, upgrade_catalog

__all__ = ["pg_url"]  # the fixture, imported for pytest

AT = "2026-01-02T03:04:05Z"


def _previous() -> str:
    from alembic.script import ScriptDirectory

    previous = ScriptDirectory.from_config(alembic_config()).get_revision("0013").down_revision
    assert isinstance(previous, str)
    return previous


def _seed_sql(vault: str) -> list[str]:
    """Two notes citing two sources, evidence, tags, a snapshot: a catalog as a refman before 0013 wrote it."""
    return [
        "INSERT INTO note (id, root, path, size, mtime_ns, sha256, imported_at) VALUES "
        f"(1, '{vault}', 'a.md', 1, 1, 'h1', '{AT}'), (2, '{vault}', 'b.md', 1, 1, 'h2', '{AT}')",
        "INSERT INTO source (id, url, url_as_written, host, created_at, updated_at, title) VALUES "
        f"(1, 'https://m.example/a', 'https://m.example/a', 'm.example', '{AT}', '{AT}', 'A'), "
        f"(2, 'https://m.example/b', 'https://m.example/b', 'm.example', '{AT}', '{AT}', 'B')",
        "INSERT INTO mention (source_id, note_id, ordinal, line, label) VALUES (1, 1, 0, 1, 'A'), (2, 2, 0, 1, 'B')",
        f"INSERT INTO field_value (source_id, field, origin, value, updated_at) VALUES (1, 'title', 'user', '\"A\"', "
        f"'{AT}'), (2, 'title', 'label', '\"B\"', '{AT}')",
        "INSERT INTO source_tag (source_id, tag) VALUES (1, 'ml'), (2, 'ml')",
        f"INSERT INTO snapshot (id, source_id, fetched_at, outcome) VALUES (1, 1, '{AT}', 'dead')",
    ]


_WHO = ("SELECT (SELECT count(*) FROM source WHERE created_by IS NULL AND updated_by IS NULL),"
        " (SELECT count(*) FROM field_value WHERE changed_by IS NULL),"
        " (SELECT count(*) FROM source_tag WHERE added_by IS NULL),"
        " (SELECT count(*) FROM snapshot WHERE fetched_by IS NULL),"
        " (SELECT count(*) FROM note WHERE owner IS NULL),"
        " (SELECT count(*) FROM mention), (SELECT count(*) FROM field_history)")


def _vault(tmp_path: Path) -> Path:
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "a.md").write_text("[A]: https://m.example/a\n", encoding="utf-8")
    (vault / "b.md").write_text("[B]: https://m.example/b\n", encoding="utf-8")
    return vault.resolve()


def test_sqlite_catalog_upgrades_to_0013_and_back(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    vault = _vault(tmp_path)
    previous = _previous()
    upgrade_catalog(db, previous)
    raw = sqlite3.connect(db)
    for sql in _seed_sql(str(vault)):
        raw.execute(sql)
    raw.commit()
    raw.close()

    upgrade_catalog(db)
    raw = sqlite3.connect(db)
    assert raw.execute(_WHO).fetchone() == (2, 2, 2, 1, 2, 2, 0)  # every row kept, who unknown
    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    # a note is (owner, root, path): bob's note at alice's place is another note; twice the same is refused
    raw.execute("UPDATE note SET owner = 'alice'")
    raw.execute(f"INSERT INTO note (root, path, size, mtime_ns, sha256, imported_at, owner) VALUES "
                f"('{vault}', 'a.md', 1, 1, 'h', '{AT}', 'bob')")
    with pytest.raises(sqlite3.IntegrityError):
        raw.execute(f"INSERT INTO note (root, path, size, mtime_ns, sha256, imported_at, owner) VALUES "
                    f"('{vault}', 'a.md', 1, 1, 'h', '{AT}', 'bob')")
    raw.execute("DELETE FROM note WHERE owner = 'bob'")
    raw.execute("UPDATE note SET owner = NULL")
    raw.commit()
    raw.close()

    from refman.store import open_store

    with open_store(db, user="alice") as store:  # the first import of the root takes its notes
        report = import_vault(store, [vault])
        assert report.notes_removed == 0 and report.mentions == 2  # re-read (the files differ), not duplicated
        assert [(n.path, n.owner) for n in store.note_summaries()] == [("a.md", "alice"), ("b.md", "alice")]

    downgrade_catalog(db, previous)
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT count(*) FROM note").fetchone()[0] == 2
    assert raw.execute("SELECT count(*) FROM mention").fetchone()[0] == 2
    assert "owner" not in {r[1] for r in raw.execute("PRAGMA table_info(note)")}
    assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'field_history'").fetchone() is None
    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    raw.close()


def _q(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in query(url, sql, params)]


def test_postgresql_catalog_upgrades_to_0013_and_back(pg_url: str, tmp_path: Path) -> None:
    vault = _vault(tmp_path)
    previous = _previous()
    migrate(pg_url, previous)
    for sql in _seed_sql(str(vault)):
        execute(pg_url, sql.replace(":", "\\:"))
    execute(pg_url, "SELECT setval(pg_get_serial_sequence('note', 'id'), 2)")
    execute(pg_url, "SELECT setval(pg_get_serial_sequence('source', 'id'), 2)")
    execute(pg_url, "SELECT setval(pg_get_serial_sequence('snapshot', 'id'), 1)")

    migrate(pg_url, "head")
    assert _q(pg_url, _WHO) == [(2, 2, 2, 1, 2, 2, 0)]
    execute(pg_url, "UPDATE note SET owner = 'alice'")
    execute(pg_url, "INSERT INTO note (root, path, size, mtime_ns, sha256, imported_at, owner) "
                    "VALUES (:root, 'a.md', 1, 1, 'h', 'x', 'bob')", {"root": str(vault)})
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        execute(pg_url, "INSERT INTO note (root, path, size, mtime_ns, sha256, imported_at, owner) "
                        "VALUES (:root, 'a.md', 1, 1, 'h', 'x', 'bob')", {"root": str(vault)})
    execute(pg_url, "DELETE FROM note WHERE owner = 'bob'")
    execute(pg_url, "UPDATE note SET owner = NULL")

    from refman.store import open_store

    with open_store("postgresql://" + pg_url.partition("://")[2], user="alice") as store:
        report = import_vault(store, [vault])
        assert report.notes_removed == 0 and report.mentions == 2
        assert [(n.path, n.owner) for n in store.note_summaries()] == [("a.md", "alice"), ("b.md", "alice")]

    migrate(pg_url, previous, down=True)
    assert _q(pg_url, "SELECT count(*) FROM note") == [(2,)]
    assert _q(pg_url, "SELECT count(*) FROM mention") == [(2,)]
    assert _q(pg_url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'note' "
                      "AND column_name = 'owner'") == [(0,)]
    migrate(pg_url, "head")
    assert _q(pg_url, "SELECT count(*) FROM note WHERE owner IS NULL") == [(2,)]
