"""What every PostgreSQL store mixin stands on: the connection, transactions, closing, and running statements.

Statements are SQLAlchemy Core built on refman.models' tables (the one schema definition), compiled once for
PostgreSQL's psycopg dialect and run on the psycopg connection (no SQLAlchemy engine or session in between: the
store owns its transactions, as the SQLite store does). A plain string is PostgreSQL SQL, for what Core would
hide (full-text search, advisory locks). Lists bind as arrays: write `col = ANY(%(ids)s)` / `col == any_(...)`,
never an IN list built per call."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from types import TracebackType
from typing import TYPE_CHECKING, Any

from refman.store.recorded_user import RecordedUser

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy.sql.expression import Executable


@lru_cache(maxsize=1024)
def compile_statement(statement: Executable) -> tuple[str, dict[str, Any]]:
    """PostgreSQL SQL (psycopg's `%(name)s` parameters) for a Core statement, and its bound default values.
    Cached by the statement object: build statements once (module constants or cached builders)."""
    from sqlalchemy.dialects.postgresql import psycopg as pg_dialect

    compiled = statement.compile(dialect=pg_dialect.dialect())  # type: ignore[attr-defined,no-untyped-call]
    params = dict(compiled.params)
    table = getattr(statement, "table", None)
    if getattr(statement, "is_insert", False) and table is not None:
        # An INSERT on a model's table binds the model's Python-side defaults (status, kind, …), which SQLAlchemy
        # computes only when it executes the statement itself: give them their scalar value here.
        for column in table.columns:
            default = column.default
            if column.key in params and params[column.key] is None and default is not None and default.is_scalar:
                params[column.key] = default.arg
    return str(compiled), params


class PostgresBase(RecordedUser):
    """A catalog in one PostgreSQL database, on one psycopg connection in autocommit mode: transactions are
    explicit (`transaction()`), as in the SQLite store."""

    backend = "postgresql"

    def __init__(self, conn: psycopg.Connection[Any], url: str) -> None:
        self.conn = conn
        self.url = url
        self._user: str | None = None

    @property
    def location(self) -> str:
        return self.url

    @property
    def display_url(self) -> str:
        """The catalog's URL for messages: without its password."""
        from refman.store.postgres.url import without_password

        return without_password(self.url)

    def execute(self, statement: Executable | str, params: Mapping[str, Any] | None = None) -> psycopg.Cursor[Any]:
        """Run one statement; a Core statement's own bound values are the defaults `params` override."""
        if isinstance(statement, str):
            return self.conn.execute(statement, params)
        sql, defaults = compile_statement(statement)
        return self.conn.execute(sql, {**defaults, **params} if params else defaults)

    def executemany(self, statement: Executable | str, rows: list[Mapping[str, Any]]) -> None:
        """Run one statement for many parameter sets (psycopg pipelines them: one round trip per batch)."""
        if not rows:
            return
        sql, defaults = (statement, {}) if isinstance(statement, str) else compile_statement(statement)
        with self.conn.cursor() as cur:
            cur.executemany(sql, [{**defaults, **row} for row in rows] if defaults else rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: BEGIN … COMMIT, or ROLLBACK on any error. Inside an open transaction it joins it under
        a savepoint: an error undoes the block's own writes and propagates, the owner commits or rolls back."""
        with self.conn.transaction():  # psycopg nests with SAVEPOINT / RELEASE / ROLLBACK TO
            yield

    @property
    def in_transaction(self) -> bool:
        from psycopg import pq

        return self.conn.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PostgresBase:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
