"""What every SQLite store mixin stands on: the connection, transactions, closing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from refman.store.recorded_user import RecordedUser


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error.

    Inside a transaction that is already open (the caller's), it joins it: no BEGIN and no COMMIT — the owner
    of the outer transaction commits or rolls back. The block still runs under a savepoint, so that an error
    in it undoes its own writes (and propagates) while leaving the caller's earlier writes to the caller."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT refman_joined")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled the whole transaction back
                conn.execute("ROLLBACK TO refman_joined")
                conn.execute("RELEASE refman_joined")
            raise
        conn.execute("RELEASE refman_joined")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled it back (disk full, I/O error)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class SqliteBase(RecordedUser):
    """A catalog in one SQLite file, on one sqlite3 connection (autocommit mode: transactions are explicit)."""

    backend = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None) -> None:
        self.conn = conn
        self.path = path
        self._user: str | None = None

    @property
    def location(self) -> Path | None:
        return self.path

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with transaction(self.conn):
            yield

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SqliteBase:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
