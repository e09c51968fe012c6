"""PostgreSQL implementation of refman.store.citation.CitationStore."""

from __future__ import annotations

from refman.store.postgres.base import PostgresBase


class PostgresCitation(PostgresBase):
    pass
