"""SQLite implementation of refman.store.fetch.FetchStore."""

from __future__ import annotations

from refman.store.sqlite.base import SqliteBase


class SqliteFetch(SqliteBase):
    pass
