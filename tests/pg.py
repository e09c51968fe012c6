"""A fresh PostgreSQL database per test, and alembic on any SQLAlchemy connection.

The project's machines run PostgreSQL 15 on 127.0.0.1:5432 with trust authentication (issue #17). A test that
takes the `pg_url` fixture gets the URL of an empty database `refman_test_<random>`, created for it and dropped
after it. Without psycopg, or when no server answers, the test is skipped with one line saying which.
`REFMAN_TEST_PG` overrides the server (`postgresql://user@host:port`, no database part). With
`REFMAN_TEST_PG_REQUIRED=1` (what CI on the project's machines sets) a missing server or driver fails the tests
instead of skipping them, so that CI never passes by skipping them silently.

Import the fixtures into a test module with `from pg import pg_url, pg_url_migrated`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

SERVER = os.environ.get("REFMAN_TEST_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


@cache
def _unavailable() -> str | None:
    """Why PostgreSQL tests cannot run here (None: they can). Asked once per session."""
    try:
        import psycopg
    except ImportError:
        return "PostgreSQL tests skipped: psycopg is not installed (pip install -e '.[postgres]')"
    try:
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3):
            return None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL tests skipped: no server answers at {_without_user(SERVER)} ({first})"


def _without_user(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # a database name: not a parameter


def skip_unless_postgres() -> None:
    """Skip the calling test with one line when PostgreSQL cannot be reached (fail it under
    REFMAN_TEST_PG_REQUIRED=1)."""
    reason = _unavailable()
    if reason and os.environ.get("REFMAN_TEST_PG_REQUIRED") == "1":
        pytest.fail(reason.replace("skipped", "required (REFMAN_TEST_PG_REQUIRED=1)"), pytrace=False)
    if reason:
        pytest.skip(reason)


@contextmanager
def fresh_database(template: str = "template0") -> Iterator[str]:
    """The SQLAlchemy URL (`postgresql+psycopg://…`) of a new database (empty, or a copy of `template`), dropped
    on exit; skips the calling test when PostgreSQL cannot be reached."""
    skip_unless_postgres()
    name = f"refman_test_{secrets.token_hex(6)}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" ENCODING \'UTF8\'')
    try:
        yield f"postgresql+psycopg://{SERVER.partition('://')[2]}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_templates: list[str] = []


def _catalog_template() -> str:
    """A database at head, made once per test session (and dropped at its end): copying it is much faster than
    migrating a new database for every test."""
    if not _templates:
        import atexit

        name = f"refman_template_{secrets.token_hex(6)}"
        _admin(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        atexit.register(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        migrate(f"postgresql+psycopg://{SERVER.partition('://')[2]}/{name}", "head")
        _templates.append(name)
    return _templates[0]


@contextmanager
def fresh_catalog_database() -> Iterator[str]:
    """The URL (`postgresql://…`) of a new database holding an empty catalog at head, dropped on exit."""
    skip_unless_postgres()
    with fresh_database(_catalog_template()) as url:
        yield "postgresql://" + url.partition("://")[2]


@pytest.fixture
def pg_catalog_url() -> Iterator[str]:
    """A fresh database holding an empty catalog at head, for one test."""
    with fresh_catalog_database() as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database for one test."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def pg_url_migrated() -> Iterator[str]:
    """One database at head shared by a module's tests that only read (property tests, for instance)."""
    with fresh_database() as url:
        migrate(url, "head")
        yield url


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic configuration for refman's migrations that runs on `connection` (as
    refman.store.sqlite.schema does)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("refman.migrations")))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) the database at `url` to `revision` in one transaction."""
    from alembic import command
    from sqlalchemy import create_engine, pool

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            (command.downgrade if down else command.upgrade)(alembic_config(conn), revision)
    finally:
        engine.dispose()


def revisions() -> list[str]:
    """Every revision from the first to head, in chain order."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def query(url: str, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of one read, for assertions."""
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params or {})]
    finally:
        engine.dispose()


def execute(url: str, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
    """One write, committed: seeding a database at an old revision, which no store version can write."""
    from sqlalchemy import create_engine, pool, text

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params or {})
    finally:
        engine.dispose()
