"""`PostgresStore`: refman.store.protocol.Store on PostgreSQL, one mixin per group of the protocol."""

from __future__ import annotations

from refman.store.postgres.base import PostgresBase
from refman.store.postgres.citation import PostgresCitation
from refman.store.postgres.copy import PostgresCopy
from refman.store.postgres.fetch import PostgresFetch
from refman.store.postgres.notes import PostgresNotes
from refman.store.postgres.search import PostgresSearch
from refman.store.postgres.sources import PostgresSources


class PostgresStore(PostgresSources, PostgresNotes, PostgresFetch, PostgresSearch, PostgresCitation, PostgresCopy,
                    PostgresBase):
    """A catalog in one PostgreSQL database, on one psycopg connection in autocommit mode: transactions are
    explicit (`transaction()`), as in the SQLite store."""

    def __enter__(self) -> PostgresStore:
        return self


__all__ = ["PostgresStore"]
