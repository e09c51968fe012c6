"""`Store`: what the domain modules may ask of a catalog's storage, grouped by use.

Each group is a Protocol in its own module (refman.store.<group>), implemented for SQLite by a mixin in
refman.store.sqlite.<group>; `Store` is all of them. Domain modules type their parameter with the narrowest
group they use, or with `Store`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from refman.store.citation import CitationStore
from refman.store.copy import CopyStore
from refman.store.fetch import FetchStore
from refman.store.notes import NotesStore
from refman.store.search import SearchStore
from refman.store.sources import SourcesStore


class Transactions(Protocol):
    """Every write happens inside `with store.transaction():` — all of it or none of it. Inside an open
    transaction, a nested one joins it under a savepoint: an error in the block undoes the block and propagates."""

    backend: str  # "sqlite" or "postgresql"
    # Who the writes are recorded as (created_by, changed_by, a note's owner, …): refman.config.user_name unless
    # the opener set it (refman.Catalog.open(user=…)).
    user: str

    @property
    def location(self) -> Path | str | None:
        """Where the catalog is, for opening another connection to it: the SQLite file, or the PostgreSQL URL
        (with its password: name it in messages with refman.config.describe_catalog). None for a store on a
        connection alone."""
        ...

    def transaction(self) -> AbstractContextManager[None]: ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...


class Store(Transactions, SourcesStore, NotesStore, FetchStore, SearchStore, CitationStore, CopyStore,
            Protocol):
    """The whole storage interface of a catalog."""


__all__ = ["Store", "Transactions"]
