"""Schema: the migrations build it, the package ships them, opening upgrades it (tests/test_schema_models.py:
the models define it)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from refman.store import HEAD_REVISION, connect
from refman.store.sqlite import SqliteStore
from refman.store.sqlite.schema import alembic_config, catalog_status, downgrade_catalog, upgrade_catalog

REPO = Path(__file__).resolve().parents[1]


def test_head_revision_constant_matches_alembic() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads == [HEAD_REVISION]


def test_open_creates_schema_with_pragmas(db_path: Path) -> None:
    conn = connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert catalog_status(db_path)["up_to_date"]


def test_upgrade_is_idempotent_and_keeps_data(db_path: Path) -> None:
    conn = connect(db_path)
    conn.execute("INSERT INTO source (url, url_as_written, host, created_at, updated_at)"
                 " VALUES ('https://a.org/', 'https://a.org', 'a.org', 'now', 'now')")
    conn.close()
    upgrade_catalog(db_path)
    assert connect(db_path).execute("SELECT count(*) FROM source").fetchone()[0] == 1


def test_downgrade_to_base_and_back(db_path: Path) -> None:
    upgrade_catalog(db_path)
    upgrade_catalog(db_path)  # no-op
    _downgrade(db_path, "base")
    names = {r[0] for r in sqlite3.connect(db_path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "source" not in names
    upgrade_catalog(db_path)
    assert catalog_status(db_path)["up_to_date"]


def test_corrupt_catalog_is_a_clear_error(tmp_path: Path) -> None:
    from refman.errors import CatalogError

    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError):
        connect(bad)


@pytest.mark.slow
def test_wheel_ships_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
         str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    wheel = next(tmp_path.glob("refman-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "refman/migrations/env.py" in names
    assert "refman/migrations/script.py.mako" in names
    assert any(n.startswith("refman/migrations/versions/0001") for n in names)


def test_upgrade_0002_catalog_with_data_to_0003(db_path: Path) -> None:
    """A catalog written by the 0002 code (label_note as a hidden evidence row) keeps everything, and learns how
    each source entered and whether notes ever cited it."""
    upgrade_catalog(db_path, "0002")
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    t0, t1 = "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"
    conn.execute("INSERT INTO note (id, root, path, size, mtime_ns, sha256, imported_at) VALUES"
                 " (7, '/v', 'a.md', 1, 1, 'h', ?)", (t0,))
    for sid, url, title in ((1, "https://note.example.com/", "From a note"), (2, "https://hand.example.com/", None),
                            (3, "https://bib.example.com/", "From a bib"), (4, "https://gone.example.com/", "Gone"),
                            (5, "https://handcited.example.com/", "Pinned")):
        conn.execute("INSERT INTO source (id, url, url_as_written, host, created_at, updated_at, title)"
                     " VALUES (?, ?, ?, 'example.com', ?, ?, ?)", (sid, url, url, t0, t0, title))
    evidence = [(1, "title", "label", '"From a note"', t0), (1, "label_note", "label", "7", t0),
                (3, "title", "import", '"From a bib"', t0),
                (4, "title", "label", '"Gone"', t0), (4, "label_note", "label", "7", t0),
                (5, "title", "user", '"Pinned"', t0), (5, "title", "label", '"cited later"', t1),
                (5, "label_note", "label", "7", t1)]
    conn.executemany("INSERT INTO field_value VALUES (?, ?, ?, ?, ?)", evidence)
    conn.executemany("INSERT INTO mention (source_id, note_id, ordinal, line, label) VALUES (?, 7, ?, ?, ?)",
                     [(1, 0, 1, "From a note"), (5, 1, 2, "cited later")])
    conn.execute("INSERT INTO source_tag VALUES (2, 'keep')")
    index_before = conn.execute("SELECT rowid, title, tags, notes FROM search_fts ORDER BY rowid").fetchall()
    conn.close()

    upgrade_catalog(db_path)
    conn = connect(db_path)
    rows = {r["id"]: r for r in conn.execute("SELECT * FROM source")}
    assert {sid: rows[sid]["added_by"] for sid in rows} == {1: "note", 2: "add", 3: "bibliography", 4: "note",
                                                            5: "add"}
    assert {sid: rows[sid]["label_note"] for sid in rows} == {1: 7, 2: None, 3: None, 4: 7, 5: 7}
    assert {sid: rows[sid]["first_cited_at"] for sid in rows} == {1: t0, 2: None, 3: None, 4: t0, 5: t1}
    kept = conn.execute("SELECT source_id, field, origin, value FROM field_value ORDER BY 1, 2, 3").fetchall()
    assert [tuple(r) for r in kept] == [(e[0], e[1], e[2], e[3]) for e in sorted(evidence) if e[1] != "label_note"]
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'field_value'").fetchone()[0]
    assert "WITHOUT ROWID" in sql
    assert [r[0] for r in conn.execute("SELECT kind FROM mention")] == ["definition", "definition"]
    assert [tuple(r) for r in conn.execute("SELECT rowid, title, tags, notes FROM search_fts ORDER BY rowid")] == \
        index_before
    from refman.catalog import list_sources

    store = SqliteStore(conn)  # until the tests of this module open a store
    assert [s["id"] for s in list_sources(store, orphans=True)] == [4]  # cited once (by a.md), no longer
    assert list_sources(store, tag="keep")[0]["added_by"] == "add"
    conn.close()

    # and back: 0002 gets its label_note rows again
    _downgrade(db_path, "0002")
    raw = sqlite3.connect(db_path)
    assert sorted(raw.execute("SELECT source_id, value FROM field_value WHERE field = 'label_note'")) == [
        (1, "7"), (4, "7"), (5, "7")]
    assert "added_by" not in {r[1] for r in raw.execute("PRAGMA table_info(source)")}


def test_upgrade_0003_catalog_to_0004_and_back(db_path: Path) -> None:
    upgrade_catalog(db_path, "0003")
    raw = sqlite3.connect(db_path)
    raw.execute("INSERT INTO source (url, url_as_written, host, created_at, updated_at) VALUES "
                "('https://a.example/', 'https://a.example/', 'a.example', 't', 't')")
    raw.commit()
    raw.close()
    conn = connect(db_path)  # opening upgrades to the head
    assert conn.execute("SELECT url FROM source").fetchall()[0][0] == "https://a.example/"
    conn.execute("INSERT INTO source_alias (url, source_id, created_at) VALUES ('https://b.example/', 1, 't')")
    conn.close()
    _downgrade(db_path, "0003")
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'source_alias'").fetchone() is None
    assert raw.execute("SELECT count(*) FROM source").fetchone()[0] == 1
    raw.close()


def test_upgrade_0004_catalog_to_0005_and_back(db_path: Path) -> None:
    upgrade_catalog(db_path, "0004")
    raw = sqlite3.connect(db_path)
    raw.execute("INSERT INTO source (url, url_as_written, host, created_at, updated_at) VALUES "
                "('https://a.example/', 'https://a.example/', 'a.example', 't', 't')")
    raw.execute("INSERT INTO snapshot (source_id, fetched_at, outcome, http_status, unchanged) "
                "VALUES (1, '2026-01-01T00:00:00Z', 'ok', 200, 0)")
    raw.commit()
    raw.close()
    conn = connect(db_path)  # opening upgrades to the head
    # every snapshot taken before 0005 was a live fetch
    rows = conn.execute("SELECT origin, memento_url, memento_at FROM snapshot").fetchall()
    assert [tuple(r) for r in rows] == [("live", None, None)]
    conn.execute("INSERT INTO snapshot (source_id, fetched_at, outcome, origin, memento_url, memento_at) VALUES "
                 "(1, '2026-01-02T00:00:00Z', 'ok', 'wayback', 'https://web.archive.org/web/2020id_/https://a.example/',"
                 " '2020-01-01T00:00:00Z')")
    conn.close()
    _downgrade(db_path, "0004")
    raw = sqlite3.connect(db_path)
    assert "origin" not in {r[1] for r in raw.execute("PRAGMA table_info(snapshot)")}
    assert raw.execute("SELECT count(*) FROM snapshot").fetchone()[0] == 2
    raw.close()


def _downgrade(db_path: Path, revision: str) -> None:
    downgrade_catalog(db_path, revision)


def _previous(revision: str) -> str:
    """The revision a migration revises, read from alembic (the lead re-chains the branches' migrations)."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_revision(revision).down_revision)


def test_upgrade_catalog_to_0007_and_back(db_path: Path) -> None:
    previous = _previous("0007")
    upgrade_catalog(db_path, previous)
    raw = sqlite3.connect(db_path)
    raw.executescript(
        "INSERT INTO source (url, url_as_written, host, created_at, updated_at, status, fail_count, fetched_at)"
        " VALUES ('https://a.example/', 'https://a.example/', 'a.example', 't', 't', 'dead', 1,"
        " '2026-01-02T00:00:00Z'),"
        " ('https://b.example/', 'https://b.example/', 'b.example', 't', 't', 'timeout', 2, '2026-01-03T00:00:00Z'),"
        " ('https://c.example/', 'https://c.example/', 'c.example', 't', 't', 'ok', 0, '2026-01-04T00:00:00Z');"
    )
    raw.commit()
    raw.close()
    conn = connect(db_path)  # opening upgrades to the head
    rows = conn.execute("SELECT url, failing_since FROM source ORDER BY id").fetchall()
    # a streak of 404s under way began at the last fetch; a timeout streak is not a "gone" streak
    assert [tuple(r) for r in rows] == [("https://a.example/", "2026-01-02T00:00:00Z"),
                                        ("https://b.example/", None), ("https://c.example/", None)]
    conn.execute("INSERT INTO fetch_claim (source_id, machine, pid, claimed_at, heartbeat_at)"
                 " VALUES (1, 'h', 1, 't', 't')")
    conn.execute("DELETE FROM source WHERE id = 1")  # claims go with their source
    assert conn.execute("SELECT count(*) FROM fetch_claim").fetchone()[0] == 0
    conn.close()
    _downgrade(db_path, previous)
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT name FROM sqlite_master WHERE name = 'fetch_claim'").fetchone() is None
    assert "failing_since" not in {r[1] for r in raw.execute("PRAGMA table_info(source)")}
    assert raw.execute("SELECT count(*) FROM source").fetchone()[0] == 2
def test_upgrade_to_0008_and_back(db_path: Path, tmp_path: Path) -> None:
    """0008 adds mention.link_text and marks every note for one re-read; the next import fills link texts and
    judges labels that are link ids. From whatever revision 0008 follows (the lead re-chains migrations)."""
    from alembic.script import ScriptDirectory

    from refman.notes.importer import import_vault
    from refman.store.sqlite import SqliteStore

    previous = ScriptDirectory.from_config(alembic_config()).get_revision("0008").down_revision
    assert isinstance(previous, str)

    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "n.md").write_text("See the [setup guide][docs].\n\n[docs]: https://example.com/setup\n"
                                "[A real title]: https://example.com/a\n", encoding="utf-8")
    upgrade_catalog(db_path, previous)
    raw = sqlite3.connect(db_path)
    raw.execute("INSERT INTO note (id, root, path, size, mtime_ns, sha256, imported_at) VALUES "
                f"(1, '{vault}', 'n.md', 1, 1, 'abc', 't')")
    raw.execute("INSERT INTO source (id, url, url_as_written, host, created_at, updated_at, title) VALUES "
                "(1, 'https://example.com/setup', 'https://example.com/setup', 'example.com', 't', 't', 'docs')")
    raw.execute("INSERT INTO field_value VALUES (1, 'title', 'label', '\"docs\"', 't')")
    raw.execute("INSERT INTO mention (source_id, note_id, ordinal, line, label) VALUES (1, 1, 0, 3, 'docs')")
    raw.commit()
    raw.close()
    conn = connect(db_path)  # opening upgrades to the head
    assert conn.execute("SELECT label, link_text FROM mention").fetchall()[0][:] == ("docs", None)
    assert conn.execute("SELECT sha256, mtime_ns FROM note").fetchone()[:] == ("", 0)
    report = import_vault(SqliteStore(conn), [vault])
    assert report.notes_scanned == 1
    rows = dict(conn.execute("SELECT url, title FROM source").fetchall())
    assert rows == {"https://example.com/setup": "setup guide", "https://example.com/a": "A real title"}
    assert conn.execute("SELECT link_text FROM mention WHERE label = 'docs'").fetchone()[0] == "setup guide"
    conn.close()
    _downgrade(db_path, previous)
    raw = sqlite3.connect(db_path)
    assert "link_text" not in {r[1] for r in raw.execute("PRAGMA table_info(mention)")}
    assert raw.execute("SELECT count(*) FROM mention").fetchone()[0] == 2
    raw.close()
