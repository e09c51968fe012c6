"""SQLite implementation of refman.store.citation.CitationStore."""

from __future__ import annotations

from refman.store.sqlite.base import SqliteBase


class SqliteCitation(SqliteBase):
    pass
