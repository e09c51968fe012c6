"""PostgreSQL implementation of refman.store.fetch.FetchStore."""

from __future__ import annotations

from refman.store.postgres.base import PostgresBase


class PostgresFetch(PostgresBase):
    pass
