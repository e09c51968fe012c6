"""PostgreSQL implementation of refman.store.notes.NotesStore."""

from __future__ import annotations

from refman.store.postgres.base import PostgresBase


class PostgresNotes(PostgresBase):
    pass
