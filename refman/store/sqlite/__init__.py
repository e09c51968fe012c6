"""The SQLite store: refman's default backend, on the standard library's sqlite3 (fast reads and bulk writes,
FTS5 for search). One mixin per group of the Store protocol, each in its module beside this one."""

from __future__ import annotations

from refman.store.sqlite.base import SqliteBase
from refman.store.sqlite.citation import SqliteCitation
from refman.store.sqlite.copy import SqliteCopy
from refman.store.sqlite.fetch import SqliteFetch
from refman.store.sqlite.notes import SqliteNotes
from refman.store.sqlite.search import SqliteSearch
from refman.store.sqlite.sources import SqliteSources


class SqliteStore(SqliteSources, SqliteNotes, SqliteFetch, SqliteSearch, SqliteCitation, SqliteCopy,
                  SqliteBase):
    """refman.store.protocol.Store on SQLite."""

    def __enter__(self) -> SqliteStore:
        return self


__all__ = ["SqliteStore"]
