"""SQLite implementation of refman.store.search.SearchStore."""

from __future__ import annotations

from refman.store.sqlite.base import SqliteBase


class SqliteSearch(SqliteBase):
    pass
