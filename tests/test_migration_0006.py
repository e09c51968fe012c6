"""Migration 0006 (works without URL): a populated 0004 catalog upgrades with every row, index and trigger kept,
and downgrades back (URL-less works with a DOI get their doi.org URL, the others cannot exist at 0004)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_db import _downgrade

from refman.catalog import import_bibliographies
from refman.search import search
from refman.store import open_store
from refman.store.sqlite import SqliteStore
from refman.store.sqlite.schema import upgrade_catalog


def _populate_0004(db_path: Path) -> None:
    upgrade_catalog(db_path, "0004")
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("INSERT INTO note (root, path, size, mtime_ns, sha256, imported_at) VALUES ('/v', 'a.md', 1, 1, 'x',"
                " 't')")
    for i in (1, 2):
        raw.execute("INSERT INTO source (url, url_as_written, host, created_at, updated_at, title, doi, citekey)"
                    " VALUES (?, ?, 'a.example', 't', 't', ?, ?, ?)",
                    (f"https://a.example/{i}", f"https://a.example/{i}", f"Page {i} zebra", "10.1/X" if i == 1
                     else None, f"key{i}"))
        raw.execute("INSERT INTO mention (source_id, note_id, ordinal, line, label) VALUES (?, 1, ?, ?, 'l')",
                    (i, i, i))
        raw.execute("INSERT INTO field_value (source_id, field, origin, value, updated_at) VALUES (?, 'title',"
                    " 'label', '\"x\"', 't')", (i,))
        raw.execute("INSERT INTO source_tag (source_id, tag) VALUES (?, 'ml')", (i,))
    raw.execute("INSERT INTO source_alias (url, source_id, created_at) VALUES ('https://old.example/', 1, 't')")
    raw.commit()
    raw.close()


def _counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("source", "mention", "field_value", "source_tag", "source_alias", "note")}


def test_upgrade_populated_0004_catalog_to_0006_and_back(db_path: Path, tmp_path: Path) -> None:
    _populate_0004(db_path)
    raw = sqlite3.connect(db_path)
    before = _counts(raw)
    triggers = raw.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name").fetchall()
    raw.close()
    store = open_store(db_path)  # opening upgrades to the head
    conn = store.conn
    assert _counts(conn) == before
    trigger_sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    assert [tuple(r) for r in conn.execute(trigger_sql)] == triggers
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert [h.id for h in search(SqliteStore(conn), "zebra")] == [1, 2]  # the search index and its triggers still work
    notnull = {r[1]: r[3] for r in conn.execute("PRAGMA table_info(source)")}
    assert (notnull["url"], notnull["url_as_written"], notnull["host"], notnull["isbn"]) == (0, 0, 0, 0)
    # works without URL now exist, unique by DOI (any case) and ISBN among themselves
    bib = tmp_path / "b.bib"
    bib.write_text("@book{b, title = {Book}, isbn = {0-201-13447-0}}\n@article{p, title = {Paper}, doi = {10.2/Y}}\n"
                   "@misc{k, title = {Key only}}\n", encoding="utf-8")
    import_bibliographies(store, [bib])
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO source (created_at, updated_at, doi) VALUES ('t', 't', '10.2/y')")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO source (created_at, updated_at, isbn) VALUES ('t', 't', '9780201134476')")
    conn.execute("INSERT INTO source (url, url_as_written, host, created_at, updated_at, doi) VALUES "
                 "('https://pdf.example/y.pdf', 'https://pdf.example/y.pdf', 'pdf.example', 't', 't', '10.2/Y')")
    conn.commit()
    conn.close()
    _downgrade(db_path, "0004")
    raw = sqlite3.connect(db_path)
    urls = [r[0] for r in raw.execute("SELECT url FROM source ORDER BY id")]
    assert urls == ["https://a.example/1", "https://a.example/2", "https://doi.org/10.2/y", "https://pdf.example/y.pdf"]
    assert raw.execute("SELECT count(*) FROM mention").fetchone()[0] == 2
    notnull = {r[1]: r[3] for r in raw.execute("PRAGMA table_info(source)")}
    assert (notnull["url"], notnull["url_as_written"], notnull["host"]) == (1, 1, 1) and "isbn" not in notnull
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    store = open_store(db_path)  # and up again
    conn = store.conn
    assert conn.execute("SELECT count(*) FROM source").fetchone()[0] == 4
