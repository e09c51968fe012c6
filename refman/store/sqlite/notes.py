"""SQLite implementation of refman.store.notes.NotesStore."""

from __future__ import annotations

from refman.store.sqlite.base import SqliteBase


class SqliteNotes(SqliteBase):
    pass
