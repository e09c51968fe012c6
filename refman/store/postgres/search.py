"""PostgreSQL implementation of refman.store.search.SearchStore."""

from __future__ import annotations

from refman.store.postgres.base import PostgresBase


class PostgresSearch(PostgresBase):
    pass
