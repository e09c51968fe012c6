"""The catalog's storage: the only package of refman that speaks SQL (a test greps the rest for it).

`Store` (refman.store.protocol) is what the domain modules take: a narrow interface grouped by use
(transactions, sources, notes import, fetch jobs and records, the search index, citation keys and exports).
`SqliteStore` (refman.store.sqlite) implements it on the standard library's sqlite3; `PostgresStore`
(refman.store.postgres) with SQLAlchemy Core statements on the sqlmodel models (refman.models), run by psycopg.
`open_store` opens either by location: a file path, or a `postgresql://` URL.

This module stays light: `refman search` and `refman list` import it on their start-up path."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from refman.store.revisions import HEAD_REVISION, known_revisions
from refman.store.sqlite.connection import (
    apply_pragmas,
    connect,
    is_read_only,
    schema_revision,
)
from refman.store.sqlite.connection import translate_error as _translate_sqlite_error

if TYPE_CHECKING:
    from refman.errors import RefmanError
    from refman.store.protocol import Store

__all__ = [
    "HEAD_REVISION",
    "Store",
    "apply_pragmas",
    "catalog_status",
    "connect",
    "is_read_only",
    "is_storage_error",
    "known_revisions",
    "open_store",
    "schema_revision",
    "translate_error",
]


def open_store(location: Path | str, *, create: bool = True, wait_s: float | None = None,
               user: str | None = None) -> Store:
    """The store of the catalog at `location`, created or upgraded first. A string is read as `--db` reads it
    (`~` expanded, `sqlite:///PATH`, a `postgresql://` URL; another backend's URL refused without echoing it); a
    Path is the file itself. `wait_s`: how long a SQLite writer waits for another's lock. Close the store when
    done, or use it as a context manager. `user`: who its writes are recorded as (default:
    refman.config.user_name())."""
    from refman.config import catalog_location

    where = catalog_location(location) if isinstance(location, str) else Path(location)
    store: Store
    if isinstance(where, str):
        from refman.store.postgres import open_postgres_store

        store = open_postgres_store(where, create=create, wait_s=wait_s)
    else:
        from refman.store.sqlite import SqliteStore

        store = SqliteStore(connect(where, create=create, wait_s=wait_s), where)
    if user is not None and user.strip():
        store.user = user.strip()
    return store


def translate_error(exc: BaseException, location: Path | str | None) -> RefmanError | None:
    """The refman error that a database driver's error (raw, or wrapped by SQLAlchemy as `.orig`) means for
    the user, by the backend that raised it; None when `exc` is not a database error."""
    if _from_psycopg(exc):
        from refman.store.postgres import translate_error as translate_postgres_error

        return translate_postgres_error(exc, location if isinstance(location, str) else None)
    return _translate_sqlite_error(exc, location)


def is_storage_error(exc: BaseException) -> bool:
    """Whether `exc` is a database driver's error (SQLite's or psycopg's), raw or wrapped by SQLAlchemy."""
    import sqlite3

    return isinstance(getattr(exc, "orig", None) or exc, sqlite3.Error) or _from_psycopg(exc)


def _from_psycopg(exc: BaseException) -> bool:
    """Whether psycopg raised `exc` (or the error SQLAlchemy wrapped), told without importing psycopg."""
    return type(getattr(exc, "orig", None) or exc).__module__.startswith("psycopg")


def catalog_status(location: Path | str, *, check: bool = True) -> dict[str, Any]:
    """What `refman db status` says of the catalog at `location` (a file path or a PostgreSQL URL), read
    without writing anything: path, exists, revision, head, up_to_date, state (missing, empty, up to date,
    needs upgrade, too new, damaged), problem, read_only."""
    from refman.config import catalog_location

    where = catalog_location(location) if isinstance(location, str) else location
    if isinstance(where, str):
        from refman.store.postgres import catalog_status as postgres_status

        return postgres_status(where)
    from refman.store.sqlite.schema import catalog_status as sqlite_status

    return sqlite_status(where, check=check)


def __getattr__(name: str) -> object:
    if name == "Store":
        from refman.store.protocol import Store

        return Store
    raise AttributeError(name)
