"""The catalog's storage: the only package of refman that speaks SQL (a test greps the rest for it).

`Store` (refman.store.protocol) is what the domain modules take: a narrow interface grouped by use
(transactions, sources, notes import, fetch jobs and records, the search index, citation keys and exports).
`SqliteStore` (refman.store.sqlite) implements it on the standard library's sqlite3; a second backend is one
more package beside it, built with SQLAlchemy Core on the sqlmodel models (refman.models).

This module stays light: `refman search` and `refman list` import it on their start-up path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from refman.store.sqlite.connection import (
    HEAD_REVISION,
    apply_pragmas,
    connect,
    is_read_only,
    known_revisions,
    schema_revision,
    translate_error,
)

if TYPE_CHECKING:
    from refman.store.protocol import Store
    from refman.store.sqlite import SqliteStore

__all__ = [
    "HEAD_REVISION",
    "Store",
    "apply_pragmas",
    "connect",
    "is_read_only",
    "known_revisions",
    "open_store",
    "schema_revision",
    "translate_error",
]


def open_store(path: Path | str, *, create: bool = True, wait_s: float | None = None) -> SqliteStore:
    """The store of the catalog at `path`, created or upgraded first (see `connect`). A string is read as `--db`
    reads it (`~` expanded, `sqlite:///PATH`; another backend's URL refused without echoing it); a Path is the
    file itself. Close the store when done, or use it as a context manager."""
    from refman.config import catalog_path
    from refman.store.sqlite import SqliteStore

    location = catalog_path(path) if isinstance(path, str) else Path(path)
    return SqliteStore(connect(location, create=create, wait_s=wait_s), location)


def __getattr__(name: str) -> object:
    if name == "Store":
        from refman.store.protocol import Store

        return Store
    raise AttributeError(name)
