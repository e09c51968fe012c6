"""The notes importer's side: vault roots, notes and their mentions, the import batch writer.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.notes."""

from __future__ import annotations

from typing import Protocol


class NotesStore(Protocol):
    """(Filled in as the domain modules move their SQL here.)"""
