"""The foundation of the PostgreSQL store (issue #17): opening by URL, transactions, errors, and connection
strings shown without their password. The database tests skip in one line without a server (tests/pg.py)."""

from __future__ import annotations

import threading
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pg import execute, pg_catalog_url, pg_url, query

from refman.errors import CatalogError, CatalogMissingError, CatalogTooNewError, UsageError
from refman.store import HEAD_REVISION
from refman.store.postgres import open_postgres_store
from refman.store.postgres.url import is_postgres_url, libpq_url, without_password

__all__ = ["pg_catalog_url", "pg_url"]  # the fixtures, imported for pytest

_PART = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12)
_WORD = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=10)


@given(scheme=st.sampled_from(["postgresql", "postgres", "postgresql+psycopg"]), user=_PART, password=_PART,
       hosts=st.lists(st.tuples(_WORD, st.none() | st.integers(1, 65535)), min_size=1, max_size=3),
       db=st.none() | _WORD, params=st.lists(st.tuples(_WORD.filter(lambda k: k != "password"), _WORD), max_size=3),
       query_password=st.none() | _PART, encode=st.booleans())
def test_a_url_is_shown_without_its_password(scheme: str, user: str, password: str, hosts: list[tuple[str, int | None]],
                                             db: str | None, params: list[tuple[str, str]],
                                             query_password: str | None, encode: bool) -> None:
    """Whatever the password (encoded as it should be, or raw with `@`, `:` and all), the URL shown is the URL
    as it would be without one."""
    pw = quote(password, safe="") if encode else password.replace("/", "").replace("?", "").replace("#", "") or "x"
    netloc = ",".join(h if p is None else f"{h}:{p}" for h, p in hosts)
    path = "" if db is None else f"/{db}"
    pairs = [f"{k}={v}" for k, v in params]
    secret_pairs = [*pairs, f"password={quote(query_password, safe='')}"] if query_password else pairs
    qs = f"?{'&'.join(pairs)}" if pairs else ""
    secret_qs = f"?{'&'.join(secret_pairs)}" if secret_pairs else ""
    with_it = f"{scheme}://{quote(user, safe='')}:{pw}@{netloc}{path}{secret_qs}"
    plain = f"{scheme}://{quote(user, safe='')}@{netloc}{path}{qs}"
    assert without_password(with_it) == plain
    assert without_password(plain) == plain


@given(password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
       before=st.lists(st.sampled_from(["host=h", "port=5432", "dbname=d", "user='a b'"]), max_size=3),
       after=st.lists(st.sampled_from(["sslmode=require", "user=u", "application_name='x y'"]), max_size=3))
def test_a_key_value_string_is_shown_without_its_password(password: str, before: list[str], after: list[str]) -> None:
    quoted = "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"
    conninfo = " ".join([*before, f"password = {quoted}", *after])
    assert without_password(conninfo) == " ".join([*before, *after])


def test_urls_are_recognised() -> None:
    assert is_postgres_url("postgresql://u@h/db") and is_postgres_url("POSTGRES://h")
    assert not is_postgres_url("/home/me/catalog.db") and not is_postgres_url("sqlite:///x.db")
    assert libpq_url("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"
    with pytest.raises(UsageError):
        open_postgres_store("/tmp/catalog.db")


def test_open_creates_the_schema_and_reopens(pg_url: str) -> None:
    with open_postgres_store(pg_url) as store:
        assert store.backend == "postgresql"
        assert store.conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD_REVISION,)
    with open_postgres_store(pg_url, create=False) as store:
        assert not store.in_transaction


def test_an_empty_database_is_not_a_catalog_when_nothing_may_be_created(pg_url: str) -> None:
    with pytest.raises(CatalogMissingError):
        open_postgres_store(pg_url, create=False)
    assert query(pg_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


def test_a_newer_schema_is_refused_and_left_alone(pg_url: str) -> None:
    open_postgres_store(pg_url).close()
    execute(pg_url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(CatalogTooNewError, match="newer refman"):
        open_postgres_store(pg_url)
    assert query(pg_url, "SELECT version_num FROM alembic_version") == [("9999",)]


def test_two_processes_opening_a_new_catalog_at_once_both_succeed(pg_url: str) -> None:
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_postgres_store(pg_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert query(pg_url, "SELECT version_num FROM alembic_version") == [(HEAD_REVISION,)]


def test_transactions_commit_roll_back_and_join(pg_url: str) -> None:
    def tags() -> list[str]:
        return [t for (t,) in query(pg_url, "SELECT tag FROM source_tag ORDER BY tag")]

    with open_postgres_store(pg_url) as store:
        store.conn.execute("INSERT INTO source (id, url, url_as_written, host, created_at, updated_at) "
                           "VALUES (1, 'https://e.org/', 'https://e.org/', 'e.org', 'x', 'x')")
        with store.transaction():
            assert store.in_transaction
            store.conn.execute("INSERT INTO source_tag VALUES (1, 'a')")
        assert tags() == ["a"] and not store.in_transaction
        with pytest.raises(RuntimeError), store.transaction():
            store.conn.execute("INSERT INTO source_tag VALUES (1, 'b')")
            raise RuntimeError
        assert tags() == ["a"]
        # An inner block joins the outer transaction: its error undoes its own writes only.
        with store.transaction():
            store.conn.execute("INSERT INTO source_tag VALUES (1, 'c')")
            with pytest.raises(RuntimeError), store.transaction():
                store.conn.execute("INSERT INTO source_tag VALUES (1, 'd')")
                raise RuntimeError
            assert tags() == ["a"]  # another connection sees nothing before the commit
        assert tags() == ["a", "c"]
        # An outer error undoes the inner block's writes too.
        with pytest.raises(RuntimeError), store.transaction():
            with store.transaction():
                store.conn.execute("INSERT INTO source_tag VALUES (1, 'e')")
            raise RuntimeError
        assert tags() == ["a", "c"]


def test_a_server_that_does_not_answer_is_one_error_without_the_password() -> None:
    pytest.importorskip("psycopg", reason="PostgreSQL tests skipped: psycopg is not installed")
    url = "postgresql://me:s3cr3t-pw@127.0.0.1:1/db?password=other-s3cr3t"
    with pytest.raises(CatalogError) as info:
        open_postgres_store(url, connect_timeout_s=2)
    assert "s3cr3t" not in str(info.value)
    assert "postgresql://me@127.0.0.1:1/db" in str(info.value)


def test_an_insert_on_a_model_table_gets_the_models_scalar_defaults(pg_catalog_url: str) -> None:
    """Core inserts on refman.models' tables bind the models' Python-side defaults (source.status, type, …):
    compile_statement gives them their values, so that a row inserted with only some columns is valid."""
    from sqlmodel import SQLModel

    import refman.models  # noqa: F401  (registers the tables)
    from refman.store.postgres import open_postgres_store

    source = SQLModel.metadata.tables["source"]
    insert = source.insert().values(url="https://example.org/a", url_as_written="https://example.org/a",
                                    host="example.org", created_at="2026-01-01", updated_at="2026-01-01")
    with open_postgres_store(pg_catalog_url) as store:
        store.execute(insert)
        row = store.execute("SELECT status, type FROM source").fetchone()
    assert row is not None and None not in row


def test_a_nul_character_is_stored_as_the_replacement_character(pg_catalog_url: str) -> None:
    """PostgreSQL text cannot hold NUL: a value carrying one (a page's title, a bibliography field) is stored
    with U+FFFD in its place, by statements and by COPY alike, instead of failing the whole write."""
    with open_postgres_store(pg_catalog_url) as store:
        store.execute("CREATE TEMP TABLE t (v text)")
        store.execute("INSERT INTO t VALUES (%(v)s)", {"v": "a\x00b"})
        with store.conn.cursor().copy("COPY t (v) FROM STDIN") as copy:
            copy.write_row(["c\x00d"])
        assert [r[0] for r in store.execute("SELECT v FROM t ORDER BY v")] == ["a\ufffdb", "c\ufffdd"]


def test_a_writer_waits_for_a_lock_then_says_busy(pg_catalog_url: str) -> None:
    """As SQLite's busy timeout: a write that cannot get its lock within wait_s (REFMAN_BUSY_TIMEOUT) fails as
    CatalogBusyError, named without a password, instead of waiting for ever."""
    import time

    from refman.errors import CatalogBusyError
    from refman.store import open_store, translate_error

    with open_store(pg_catalog_url) as holder, open_store(pg_catalog_url, wait_s=0.5) as waiter, \
            holder.transaction():
        holder.execute("LOCK TABLE source IN ACCESS EXCLUSIVE MODE")  # type: ignore[attr-defined]
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            waiter.count_sources()
        waited = time.monotonic() - started
    assert 0.4 < waited < 5
    assert isinstance(translate_error(caught.value, pg_catalog_url), CatalogBusyError)


def test_a_database_that_does_not_exist_is_no_catalog(pg_url: str) -> None:
    """As a missing file: `no catalog at URL` (exit 3 in the CLI), saying how to create it, and `db status`
    says "missing"; the password appears nowhere."""
    import secrets

    from refman.store import catalog_status, open_store

    server = pg_url.rpartition("/")[0].partition("://")[2]  # user@host:port
    with_password = server.replace("@", ":s3cret@", 1) if "@" in server else server
    absent = f"postgresql://{with_password}/absent_{secrets.token_hex(4)}"
    with pytest.raises(CatalogMissingError) as caught:
        open_store(absent)
    assert "the database does not exist" in str(caught.value) and "s3cret" not in str(caught.value)
    status = catalog_status(absent)
    assert (status["state"], status["exists"]) == ("missing", False) and "s3cret" not in status["path"]
