"""SQLite implementation of refman.store.sources.SourcesStore."""

from __future__ import annotations

from refman.store.sqlite.base import SqliteBase


class SqliteSources(SqliteBase):
    pass
