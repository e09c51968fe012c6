"""The SQLite catalog file: opening it (a plain sqlite3 connection with the catalog's pragmas, created or
upgraded on open) and the one translation of SQLite's errors into refman.errors.

`refman search` and `refman list` open catalogs through this so that they start fast; SQLAlchemy, sqlmodel and
alembic are only imported when the schema must be created or upgraded (refman.store.sqlite.schema).

Read-only catalogs: when the file or its folder cannot be written (a shared read-only mount, an immutable
file), the catalog is opened with `mode=ro` (and `immutable=1` when not even SQLite's shared-memory file can be
created beside it), the journal mode is left alone, and reads work; a write then fails with
CatalogReadOnlyError."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from refman.errors import (
    CatalogBusyError,
    CatalogCorruptError,
    CatalogError,
    CatalogMissingError,
    CatalogReadOnlyError,
    CatalogTooNewError,
    DiskFullError,
    RefmanError,
)
from refman.store.revisions import HEAD_REVISION, busy_timeout_ms, known_revisions

BUSY_TIMEOUT_MS = busy_timeout_ms()

_RECOVER = "`refman db check` tells what; restore a backup to repair it"


def translate_error(exc: BaseException, path: Path | str | None) -> RefmanError | None:
    """The refman error that a SQLite error (raw, or wrapped by SQLAlchemy as `.orig`) means for the user, or
    None when `exc` is not a database error."""
    orig = exc if isinstance(exc, sqlite3.Error) else getattr(exc, "orig", None)
    if not isinstance(orig, sqlite3.Error):
        return None
    where = f" {path}" if path else ""
    name = getattr(orig, "sqlite_errorname", "") or ""
    text = str(orig).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text or "busy" in text:
        return CatalogBusyError(f"catalog{where} is busy (another refman is writing); try again when it is done")
    if name.startswith("SQLITE_READONLY") or "readonly database" in text or "read-only" in text:
        return CatalogReadOnlyError(f"catalog{where} is read-only: nothing was changed")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text:
        return CatalogCorruptError(f"catalog{where} is damaged ({orig}): {_RECOVER}")
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return DiskFullError(f"disk full while writing catalog{where}: nothing was changed; free some space")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return CatalogError(f"cannot open catalog{where}: {orig}")
    if isinstance(orig, sqlite3.IntegrityError):
        error = RefmanError(f"catalog{where} refused a change ({orig}); nothing was changed")
        return error
    return CatalogError(f"catalog{where}: {orig}")


def apply_pragmas(conn: sqlite3.Connection, *, read_only: bool = False) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if read_only:  # no journal change: that would be a write
        return
    conn.execute("PRAGMA synchronous = NORMAL")
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "wal":
        conn.execute("PRAGMA journal_mode = WAL")


def schema_revision(conn: sqlite3.Connection) -> str | None:
    """The catalog's alembic revision; None for an empty file. A damaged file raises (sqlite3.DatabaseError)."""
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    except UnicodeDecodeError as exc:  # SQLite's message about a damaged schema quotes bytes Python cannot decode
        raise sqlite3.DatabaseError("database disk image is malformed (its schema cannot be read)") from exc
    return row[0] if row else None


def is_read_only(path: Path) -> bool:
    """True when SQLite could not write the catalog: the file or its folder is not writable (journal and WAL
    files are created beside it)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        return True
    return folder.exists() and not os.access(folder, os.W_OK)


def connect(path: Path, *, create: bool = True, wait_s: float | None = None) -> sqlite3.Connection:
    """Open the catalog at `path`, creating or upgrading its schema first when it is not at HEAD_REVISION.

    With `create=False` (commands that only read) a missing catalog is CatalogMissingError and nothing is
    created. A catalog that cannot be written is opened read-only (see the module's docstring). `wait_s`: how
    long this connection's writes wait for another writer's lock (default: BUSY_TIMEOUT_MS)."""
    conn = _connect(Path(path), create)
    if wait_s is not None:
        conn.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
    return conn


def _connect(path: Path, create: bool) -> sqlite3.Connection:
    if not path.exists():
        if not create:
            raise CatalogMissingError(f"no catalog at {path} (`refman import` or `refman add` creates one)")
        created = _create(path)
        if created is not None:
            return created
    else:
        read_only = is_read_only(path)
        conn = _raw_connect(path, read_only=read_only)
        try:
            revision = schema_revision(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise translate_error(exc, path) or exc from exc
        if revision == HEAD_REVISION:
            return conn
        conn.close()
        if revision is not None and revision not in known_revisions():
            raise CatalogTooNewError(f"catalog {path} has schema revision {revision}, newer than this refman knows"
                                     f" ({HEAD_REVISION}): upgrade refman")
        if read_only:
            raise CatalogReadOnlyError(f"catalog {path} is read-only and needs a schema upgrade (revision "
                                       f"{revision or 'none'}, head {HEAD_REVISION}): make it writable once")
    from refman.store.sqlite.schema import upgrade_catalog

    upgrade_catalog(path)
    return _raw_connect(path)


def _create(path: Path) -> sqlite3.Connection | None:
    """A new catalog at `path`, created from the head schema (refman.store.sqlite.head_schema) in one
    transaction, without importing alembic; None when that schema is not this refman's head (a migration was
    added and the file not regenerated: the caller replays the migrations)."""
    from refman.store.sqlite.head_schema import REVISION, STATEMENTS

    if REVISION != HEAD_REVISION:
        return None
    make_catalog_folder(path)
    conn = _raw_connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        # another process may have created it since we looked: then it is theirs, whatever its revision
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            for statement in STATEMENTS:
                conn.execute(statement)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.close()
        raise translate_error(exc, path) or CatalogError(f"cannot create catalog {path}: {exc}") from exc
    conn.close()
    return _connect(path, create=True)


def make_catalog_folder(path: Path) -> None:
    """The folder of a catalog about to be created, with its parents; CatalogError when it cannot be made."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create the catalog folder {path.parent}: {exc.strerror}") from exc


def _raw_connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    try:
        if read_only:
            uri = f"file:{quote(str(path.absolute()))}?mode=ro"
            if not Path(f"{path}-shm").exists() and not os.access(path.parent, os.W_OK):
                uri += "&immutable=1"  # no shared-memory file and no way to create one: nobody can write it
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        else:
            # check_same_thread off: the notes import hands its connection to a writer thread while it waits
            # (one thread at a time; SQLite serialises access to a connection anyway)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        conn.row_factory = sqlite3.Row
        apply_pragmas(conn, read_only=read_only)
    except sqlite3.Error as exc:
        raise translate_error(exc, path) or CatalogError(f"cannot open catalog {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        # SQLite's message about a damaged schema quotes the garbage, which Python cannot decode
        raise CatalogCorruptError(f"catalog {path} is damaged (its schema cannot be read): {_RECOVER}") from exc
    return conn
