"""PostgreSQL implementation of refman.store.sources.SourcesStore."""

from __future__ import annotations

from refman.store.postgres.base import PostgresBase


class PostgresSources(PostgresBase):
    pass
