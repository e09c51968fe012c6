"""The change signal of a PostgreSQL catalog: did anyone commit a change to what exports show since the last look?

The twin of refman.store.sqlite.changes (`PRAGMA data_version` there). Migration 0010 makes every statement
that changes an export's tables notify `refman_catalog_changed`; PostgreSQL delivers the notification to
listening connections when (and only if) the transaction commits. This module listens on a connection of its
own, so commits made by the command's own store count too, as they do on SQLite."""

from __future__ import annotations

from typing import Any

CHANNEL = "refman_catalog_changed"  # migration 0010 sends it (a migration keeps its own copy: frozen)


class PostgresChanges:
    """Commits to the catalog at `url` since the last look. `conn` is None when the catalog cannot be reached
    (the command itself then reports why)."""

    backend = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        from refman.store.postgres.url import libpq_url

        self.conn: Any = None
        self._pending = False
        try:
            self.conn = psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10)
            self.conn.add_notify_handler(self._noted)
            self.conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error:
            self.close()

    def _noted(self, _notify: Any) -> None:
        self._pending = True

    def changed(self) -> bool:
        """True once for each batch of commits since the previous call (or since `rebaseline`)."""
        import psycopg

        if self.conn is None:
            return False
        try:
            self.conn.execute("SELECT 1")  # a round trip: the notifications that arrived meanwhile are handled
        except psycopg.Error:
            return False
        pending, self._pending = self._pending, False
        return pending

    def rebaseline(self) -> None:
        """Forget the changes so far (the caller has just brought the exports up to date itself)."""
        self.changed()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
