"""A catalog in a PostgreSQL database (issue #17): the foundation of the second Store backend.

What is here: opening a catalog by URL (`postgresql://USER@HOST/DB`; the schema is created or upgraded with the
same alembic history as SQLite's, under an advisory lock so that two machines starting at once do not race),
refusing a schema newer than this refman, transactions with the SQLite store's join semantics, closing, and
the translation of psycopg's errors into refman.errors. Connection strings reach messages without their
password (refman.store.postgres.url).

The store groups (sources, notes, fetch, search, citation) are mixins in the modules beside this one, on
`PostgresBase` (refman.store.postgres.base): their statements are SQLAlchemy Core built on refman.models' tables,
compiled once for PostgreSQL and run by psycopg; hand-written PostgreSQL only where Core would hide what runs
(full-text search, locks).

psycopg, SQLAlchemy and the store's modules are imported when a catalog is opened, never by importing this
package or its url module.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from refman.errors import (
    CatalogBusyError,
    CatalogCorruptError,
    CatalogError,
    CatalogMissingError,
    CatalogReadOnlyError,
    CatalogTooNewError,
    DiskFullError,
    RefmanError,
    UsageError,
)
from refman.store.postgres.url import is_postgres_url, libpq_url, without_password

if TYPE_CHECKING:
    import psycopg

    from refman.store.postgres.store import PostgresStore

__all__ = ["PostgresStore", "catalog_status", "open_postgres_store", "translate_error", "without_password"]

# pg_advisory_xact_lock key held while the schema is upgraded ("refman" in ASCII).
SCHEMA_LOCK = 0x7265666D616E


def open_postgres_store(url: str, *, create: bool = True, connect_timeout_s: int = 10,
                        wait_s: float | None = None) -> PostgresStore:
    """The catalog in the database at `url`, its schema created (when `create`; an empty database is otherwise
    refused as missing) or upgraded to this refman's head first. A schema newer than head is refused. A write
    waits `wait_s` seconds (default REFMAN_BUSY_TIMEOUT, 10) for another writer's lock, then fails as busy."""
    if not is_postgres_url(url):
        raise UsageError(f"not a PostgreSQL URL: {without_password(url)}")
    try:
        import psycopg
    except ImportError:
        raise UsageError("PostgreSQL catalogs need psycopg: pip install 'refman[postgres]'") from None
    try:
        conn = psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=connect_timeout_s)
    except psycopg.Error as exc:
        if _no_such_database(exc):
            raise CatalogMissingError(f"no catalog at {without_password(url)}: the database does not exist (create"
                                      " it with createdb, then `refman db upgrade`)") from None
        raise translate_error(exc, url) or CatalogError(_message(exc, url)) from None
    nul_free_strings(conn)
    from refman.store.revisions import busy_timeout_ms

    lock_ms = busy_timeout_ms() if wait_s is None else max(0, int(wait_s * 1000))
    conn.execute(f"SET lock_timeout = {lock_ms}")  # an int: SET takes no parameters
    try:
        revision = _revision(conn)
        _check_known(revision, url)
        if revision is None and not create:
            raise CatalogMissingError(f"no catalog in {without_password(url)} (the database has no refman schema)")
        if revision != _head():
            upgrade_schema(url)
        from refman.store.postgres.store import PostgresStore

        return PostgresStore(conn, url)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, psycopg.Error):
            raise translate_error(exc, url) or CatalogError(_message(exc, url)) from exc
        raise


def nul_free_strings(conn: psycopg.Connection[Any]) -> None:
    """Make `conn` send a string's NUL characters as U+FFFD, as the notes scanner stores them: PostgreSQL text
    cannot hold NUL (SQLite can), and a page or a bibliography may carry one. Every statement and COPY of the
    store passes through these dumpers."""
    for dumper in _nul_free_dumpers():
        conn.adapters.register_dumper(str, dumper)


@cache
def _nul_free_dumpers() -> tuple[type, ...]:
    """psycopg's text and binary string dumpers, NUL replaced (built once: every catalog open registers them)."""
    from psycopg.abc import Buffer
    from psycopg.types.string import StrBinaryDumper, StrDumperUnknown

    def nul_free(obj: str) -> str:
        return obj.replace("\x00", "\ufffd") if "\x00" in obj else obj

    class NulFreeStr(StrDumperUnknown):
        def dump(self, obj: str) -> Buffer | None:
            return super().dump(nul_free(obj))

    class NulFreeStrBinary(StrBinaryDumper):
        def dump(self, obj: str) -> Buffer | None:
            return super().dump(nul_free(obj))

    return NulFreeStr, NulFreeStrBinary


def upgrade_schema(url: str, revision: str = "head") -> None:
    """Run the alembic migrations up to `revision` on the database at `url`, in one transaction, holding an
    advisory lock: a second process waits, then finds the schema at head and does nothing."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, pool

    engine = create_engine(f"postgresql+psycopg://{url.partition('://')[2]}", poolclass=pool.NullPool)
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("refman.migrations")))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
            _check_known(conn.exec_driver_sql(_VERSION_SQL).scalar() if _has_version(conn) else None, url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except RefmanError:
        raise
    except Exception as exc:  # alembic, SQLAlchemy and psycopg raise many kinds; storage ones are translated
        raise translate_error(exc, url) or CatalogError(f"cannot upgrade catalog {without_password(url)}: "
                                                        f"{_first_line(exc)}") from exc
    finally:
        engine.dispose()


def catalog_status(url: str) -> dict[str, Any]:
    """What `refman db status` says of the catalog in the database at `url`, written nothing: the same keys as
    the SQLite catalog's status (`path` is the URL without its password). A database that does not exist is
    "missing"; a server that cannot be reached is a CatalogError."""
    import psycopg

    from refman.store.revisions import HEAD_REVISION, schema_state

    shown = without_password(url)
    current: str | None = None
    exists, read_only, state = False, False, "missing"
    try:
        with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as conn:
            exists = True
            current = _revision(conn)
            table = "source" if current is not None else None
            row = conn.execute(
                "SELECT has_table_privilege(current_user, 'source', 'INSERT')" if table else
                "SELECT has_database_privilege(current_database(), 'CREATE')").fetchone()
            read_only = not (row and row[0])
    except psycopg.Error as exc:
        if not _no_such_database(exc):
            raise translate_error(exc, url) or CatalogError(_message(exc, url)) from None
    if exists:
        state = schema_state(current)
    return {"path": shown, "exists": exists, "revision": current, "head": HEAD_REVISION,
            "up_to_date": state == "up to date", "state": state, "problem": None, "read_only": read_only}


def translate_error(exc: BaseException, url: str | None) -> RefmanError | None:
    """The refman error that a psycopg error (raw, or wrapped by SQLAlchemy as `.orig`) means for the user, or
    None when `exc` is not one a user can act on."""
    try:
        import psycopg
        from psycopg import errors
    except ImportError:
        return None
    orig = exc if isinstance(exc, psycopg.Error) else getattr(exc, "orig", None)
    if not isinstance(orig, psycopg.Error):
        return None
    where = f" {without_password(url)}" if url else ""
    if isinstance(orig, errors.LockNotAvailable | errors.DeadlockDetected | errors.SerializationFailure):
        return CatalogBusyError(f"catalog{where} is busy (another writer holds what this needs); try again")
    if isinstance(orig, errors.ReadOnlySqlTransaction | errors.InsufficientPrivilege):
        return CatalogReadOnlyError(f"catalog{where} cannot be written by this user: nothing was changed")
    if isinstance(orig, errors.DiskFull):
        return DiskFullError(f"the PostgreSQL server of catalog{where} is out of disk space: the write was undone")
    if isinstance(orig, errors.DataCorrupted | errors.IndexCorrupted):
        return CatalogCorruptError(f"catalog{where} is damaged ({_message(orig, url)})")
    if isinstance(orig, psycopg.OperationalError):
        return CatalogError(f"cannot reach catalog{where}: {_message(orig, url)}")
    return None


_VERSION_SQL = "SELECT version_num FROM alembic_version"


def _has_version(conn: Any) -> bool:
    return bool(conn.exec_driver_sql("SELECT to_regclass('alembic_version') IS NOT NULL").scalar())


def _revision(conn: psycopg.Connection[Any]) -> str | None:
    """The database's alembic revision; None for a database without refman's schema."""
    exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute(_VERSION_SQL).fetchone()
    return str(row[0]) if row else None


def _head() -> str:
    from refman.store.revisions import HEAD_REVISION

    return HEAD_REVISION


def _check_known(revision: str | None, url: str) -> None:
    from refman.store.revisions import known_revisions

    if revision is not None and revision not in known_revisions():
        raise CatalogTooNewError(f"catalog {without_password(url)} was written by a newer refman (schema "
                                 f"{revision}); upgrade refman to use it")


def _no_such_database(exc: BaseException) -> bool:
    """Whether connecting failed because the URL's database does not exist. At connection time libpq gives no
    SQLSTATE (3D000 comes only once connected), so the server's message is read; a server that words it in
    another language gets the general "cannot reach" message instead."""
    from psycopg import errors

    return isinstance(exc, errors.InvalidCatalogName) or bool(
        re.search(r'database "[^"]*" does not exist', str(exc)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _message(exc: BaseException, url: str | None) -> str:
    """The first line of a driver message, with the URL's password masked should the driver have quoted it."""
    text = _first_line(exc)
    password = _password(url) if url else None
    return text.replace(password, "***") if password else text


def _password(url: str) -> str | None:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(libpq_url(url)).get("password")
    except psycopg.Error:  # an unparsable string has no password psycopg could have used
        return None
    return str(value) if value else None
