"""Shared test check: a catalog's derived data (search index rows, cached citation columns) equals what a full
recomputation gives: `refman db reindex` for the index, refman.evidence for the columns."""

from __future__ import annotations

import sqlite3

from refman.evidence import CACHED_FIELDS, refresh_sources
from refman.search import rebuild_index
from refman.store.sqlite import SqliteStore

INDEX_SQL = "SELECT rowid, title, authors, site, tags, notes, body FROM search_fts ORDER BY rowid"
CACHED_SQL = f"SELECT id, {', '.join(CACHED_FIELDS)}, label_note FROM source ORDER BY id"


def index_rows(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(INDEX_SQL)]


def assert_index_and_columns_are_exact(conn: sqlite3.Connection) -> None:
    indexed = index_rows(conn)
    cached = [tuple(r) for r in conn.execute(CACHED_SQL)]
    conn.execute("BEGIN")
    refresh_sources(SqliteStore(conn), [r[0] for r in conn.execute("SELECT id FROM source")])
    remerged = [tuple(r) for r in conn.execute(CACHED_SQL)]
    conn.execute("ROLLBACK")
    assert cached == remerged
    rebuild_index(SqliteStore(conn), optimize=False)
    assert indexed == index_rows(conn)
