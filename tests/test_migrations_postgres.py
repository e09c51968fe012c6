"""The alembic history on PostgreSQL (issue #17): a fresh database, a round trip to base, upgrades of populated
databases from every revision, and the search index's triggers agreeing with refman.search's Python.

Skipped in one line when psycopg is missing or no server answers on 127.0.0.1:5432 (see tests/pg.py)."""

from __future__ import annotations

import importlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg import execute, migrate, pg_url, pg_url_migrated, query, revisions

from refman.search import cjk_space, compose_row
from refman.store.search import IndexSource

_M0002 = importlib.import_module("refman.migrations.versions.0002_search_index")

__all__ = ["pg_url", "pg_url_migrated"]  # fixtures, imported for pytest

CHAIN = revisions()
HEAD = CHAIN[-1]
BIG_MTIME = 1_765_000_000_123_456_789  # nanoseconds: more than a 4-byte INTEGER holds


def _tables(url: str) -> set[str]:
    return {r[0] for r in query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_fresh_database_upgrades_to_head(pg_url: str) -> None:
    migrate(pg_url, "head")
    assert query(pg_url, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert {"source", "note", "mention", "source_tag", "field_value", "blob", "snapshot", "source_text",
            "search_doc", "source_alias", "registered_export", "fetch_claim"} <= _tables(pg_url)
    migrate(pg_url, "head")  # a no-op
    assert query(pg_url, "SELECT version_num FROM alembic_version") == [(HEAD,)]


def test_head_has_the_sqlite_columns_and_indexes(pg_url: str, tmp_path: Path) -> None:
    """Both backends' migrated schemas have the same tables, columns, nullability and named indexes (the search
    index aside: an FTS5 table there, `search_doc` here)."""
    import sqlite3

    from sqlalchemy import create_engine, inspect, pool
    from test_migrations_sqlite_schema import _schema_at

    _schema_at(tmp_path / "c.db", "head")
    migrate(pg_url, "head")
    columns = []
    for url in (f"sqlite:///{tmp_path / 'c.db'}", pg_url):
        engine = create_engine(url, poolclass=pool.NullPool)
        insp = inspect(engine)
        names = {t for t in insp.get_table_names() if not t.startswith("search_") and t != "alembic_version"}
        columns.append({t: {(c["name"], c["nullable"]) for c in insp.get_columns(t)} for t in names})
        engine.dispose()
    assert columns[0] == columns[1]
    with sqlite3.connect(tmp_path / "c.db") as raw:  # indexes declared by name (not those of constraints)
        sqlite_indexes = {r for r in raw.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' "
                                                 "AND sql IS NOT NULL")}
    raw.close()
    pg_indexes = set(query(pg_url, "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' "
                                   "AND indexname ~ '^(ix|ux)_' AND tablename NOT LIKE 'search%'"))
    assert sqlite_indexes == pg_indexes


def test_downgrade_to_base_and_back(pg_url: str) -> None:
    migrate(pg_url, "head")
    migrate(pg_url, "base", down=True)
    assert _tables(pg_url) == {"alembic_version"}
    assert query(pg_url, "SELECT proname FROM pg_proc WHERE proname LIKE 'refman%'") == []
    assert query(pg_url, "SELECT collname FROM pg_collation WHERE collname = 'NOCASE'") == []
    migrate(pg_url, "head")
    assert query(pg_url, "SELECT version_num FROM alembic_version") == [(HEAD,)]


def test_each_step_down_and_up_again(pg_url: str) -> None:
    """Every migration's downgrade runs on PostgreSQL, from a populated database."""
    migrate(pg_url, CHAIN[0])
    _seed(pg_url, CHAIN[0])
    migrate(pg_url, "head")
    for rev in reversed(CHAIN[:-1]):
        migrate(pg_url, rev, down=True)
        assert query(pg_url, "SELECT version_num FROM alembic_version") == [(rev,)]
    assert query(pg_url, "SELECT count(*) FROM source") == [(2,)]
    migrate(pg_url, "head")
    assert query(pg_url, "SELECT count(*) FROM mention") == [(2,)]


def _seed(url: str, rev: str) -> None:
    """Rows every revision can hold: two notes, two sources (one titled in Chinese) with evidence, tags,
    mentions, a snapshot and its archived text; the label row 0003 turns into `source.label_note`."""
    at = "2026-01-02T03:04:05Z"
    execute(url, "INSERT INTO note (id, root, path, size, mtime_ns, sha256, imported_at) VALUES "
                 "(1, '/v', 'a.md', 10, :big, 'h1', :at), (2, '/v', 'b.md', 20, 1, 'h2', :at)",
            {"big": BIG_MTIME, "at": at})
    execute(url, "INSERT INTO source (id, url, url_as_written, host, created_at, updated_at, title, author, "
                 "citekey, container_title) VALUES "
                 "(1, 'https://example.com/a', 'https://example.com/a', 'example.com', :at, :at, 'Café society', "
                 " :author, 'Doe2020', 'The Journal'), "
                 "(2, 'https://example.org/z', 'https://example.org/z', 'example.org', :at, :at, '数据库与数据仓库', "
                 " NULL, NULL, NULL)",
            {"at": at, "author": json.dumps([{"family": "Doe", "given": "Jane"}, {"literal": "ACME Lab"}])})
    execute(url, "SELECT setval(pg_get_serial_sequence('source', 'id'), 2)")
    execute(url, "SELECT setval(pg_get_serial_sequence('note', 'id'), 2)")
    execute(url, "INSERT INTO mention (source_id, note_id, ordinal, line, label, title) VALUES "
                 "(1, 1, 0, 3, 'cafe label', 'link title'), (2, 2, 0, 1, '数据', NULL)")
    execute(url, "INSERT INTO source_tag (source_id, tag) VALUES (1, 'zeta'), (1, 'alpha'), (2, '数据')")
    execute(url, "INSERT INTO field_value (source_id, field, origin, value, updated_at) VALUES "
                 "(1, 'title', 'page', 'Café society', :at)", {"at": at})
    if CHAIN.index(rev) < CHAIN.index("0003"):
        execute(url, "INSERT INTO field_value (source_id, field, origin, value, updated_at) VALUES "
                     "(1, 'label_note', 'label', '1', :at)", {"at": at})
    else:
        execute(url, "UPDATE source SET label_note = 1, first_cited_at = :at WHERE id = 1", {"at": at})
    execute(url, "INSERT INTO blob (hash, codec, size, stored_size, data) VALUES ('b1', 'zstd', 3, 3, :data)",
            {"data": b"abc"})
    execute(url, "INSERT INTO snapshot (id, source_id, fetched_at, outcome, body_hash) VALUES (1, 1, :at, 'ok', 'b1')",
            {"at": at})
    execute(url, "INSERT INTO source_text (source_id, snapshot_id, text) VALUES (1, 1, 'Archived body 正文 text')")


@pytest.mark.parametrize("rev", CHAIN[:-1])
def test_populated_database_upgrades_from_each_revision(pg_url: str, rev: str) -> None:
    migrate(pg_url, rev)
    _seed(pg_url, rev)
    assert query(pg_url, "SELECT mtime_ns FROM note WHERE id = 1") == [(BIG_MTIME,)]
    migrate(pg_url, "head")
    assert query(pg_url, "SELECT id, title, citekey FROM source ORDER BY id") == [
        (1, "Café society", "Doe2020"), (2, "数据库与数据仓库", None)]
    # 0008 marks notes for one re-read.
    assert query(pg_url, "SELECT sha256, mtime_ns FROM note WHERE id = 1") == [
        ("", 0) if CHAIN.index(rev) < CHAIN.index("0008") else ("h1", BIG_MTIME)]
    assert query(pg_url, "SELECT count(*) FROM mention WHERE kind = 'definition'") == [(2,)]
    assert query(pg_url, "SELECT source_id, tag FROM source_tag ORDER BY 1, 2") == [
        (1, "alpha"), (1, "zeta"), (2, "数据")]
    # 0003 moved the label row into source.label_note and dated the first citation.
    assert query(pg_url, "SELECT label_note, first_cited_at IS NOT NULL, added_by FROM source WHERE id = 1") == [
        (1, True, "note")]
    assert query(pg_url, "SELECT field FROM field_value") == [("title",)]
    assert query(pg_url, "SELECT data FROM blob") == [(b"abc",)]
    _assert_index_matches_python(pg_url)
    # The schema at head works: ids are numbered, a URL-less source is allowed, keys are unique case-insensitively.
    execute(pg_url, "INSERT INTO source (url, url_as_written, host, created_at, updated_at, doi, added_by) VALUES "
                    "(NULL, NULL, NULL, 'x', 'x', '10.1/X', 'bibliography')")
    execute(pg_url, "INSERT INTO registered_export (name, path, format, options, created_at) "
                    "VALUES ('n', '/p', 'bibtex', '{}', 'x')")
    assert query(pg_url, "SELECT id, per_note FROM registered_export") == [(1, False)]
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        execute(pg_url, "UPDATE source SET citekey = 'DOE2020' WHERE id = 2")


def _assert_index_matches_python(url: str) -> None:
    """Each search_doc row holds what refman.search.compose_row computes from the same rows."""
    columns = "id, title, author, host, container_title, publisher, user_note"
    for row in query(url, f"SELECT {columns} FROM source ORDER BY id"):
        source: dict[str, Any] = dict(zip(columns.split(", "), row, strict=True))
        sid = source["id"]
        tags = [t for (t,) in query(url, "SELECT tag FROM source_tag WHERE source_id = :s ORDER BY tag COLLATE \"C\"",
                                    {"s": sid})]
        mentions = query(url, "SELECT label, title, annotation FROM mention WHERE source_id = :s ORDER BY id",
                         {"s": sid})
        text = query(url, "SELECT text FROM source_text WHERE source_id = :s", {"s": sid})
        want = compose_row(IndexSource(**source, tags=tags, mentions=[tuple(m) for m in mentions],
                                       text=text[0][0] if text else None))
        got = query(url, "SELECT title, authors, site, tags, notes, body FROM search_doc WHERE source_id = :s",
                    {"s": sid})
        assert got == [want[1:]], sid  # want[0] is the source id


def test_index_follows_writes_and_searches(pg_url: str) -> None:
    migrate(pg_url, "head")
    _seed(pg_url, HEAD)
    _assert_index_matches_python(pg_url)
    execute(pg_url, "UPDATE source SET title = 'New title', user_note = 'mine' WHERE id = 1")
    execute(pg_url, "DELETE FROM source_tag WHERE tag = 'zeta'")
    execute(pg_url, "UPDATE mention SET source_id = 1 WHERE source_id = 2")
    execute(pg_url, "UPDATE source_text SET text = 'Другой текст' WHERE source_id = 1")
    _assert_index_matches_python(pg_url)
    execute(pg_url, "DELETE FROM source_text")
    _assert_index_matches_python(pg_url)

    def found(words: str, weights: str = "") -> list[int]:
        """Sources whose document has every word (as refman_search_text tokenises it)."""
        return [r[0] for r in query(
            pg_url, "SELECT source_id FROM search_doc, LATERAL (SELECT string_agg(t || :w, ' & ') AS q FROM "
                    "unnest(tsvector_to_array(to_tsvector('simple', refman_search_text(:words)))) t) x "
                    "WHERE document @@ to_tsquery('simple', x.q) ORDER BY source_id", {"words": words, "w": weights})]

    assert found("cafe") == [1]  # accents removed, as FTS5's remove_diacritics does
    assert found("数 据") == [1, 2]  # one token per CJK character (the mention moved to 1; 2 keeps its title)
    assert found("mine") == [1]
    assert found("new", ":A") == [1]  # the title is weight A
    assert found("example", ":C") == [1, 2]  # the host is site (C): example.com is two tokens, as in unicode61
    execute(pg_url, "DELETE FROM source WHERE id = 2")
    assert query(pg_url, "SELECT source_id FROM search_doc") == [(1,)]
    # A session whose search_path lacks the schema still keeps the index (the triggers carry their own path).
    from sqlalchemy import create_engine, pool

    engine = create_engine(pg_url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL search_path = pg_catalog")
        conn.exec_driver_sql("UPDATE public.source SET title = 'Über' WHERE id = 1")
    engine.dispose()
    assert query(pg_url, "SELECT title FROM search_doc") == [("Über",)]
    assert found("uber", ":A") == [1]


def test_a_book_sized_text_is_archived_and_its_beginning_indexed(pg_url: str) -> None:
    """A tsvector holds at most 1 MB: the first 250,000 characters of an archived text are indexed (0010),
    instead of the index trigger failing the write that archived it."""
    migrate(pg_url, "head")
    _seed(pg_url, HEAD)
    words = " ".join(f"{i:x}" for i in range(1_000_000))  # short distinct words: the largest tsvector per char
    execute(pg_url, "UPDATE source_text SET text = :t WHERE source_id = 1", {"t": "openingword " + words})
    hit = "SELECT source_id FROM search_doc WHERE document @@ to_tsquery('simple', :w)"
    assert query(pg_url, hit, {"w": "openingword"}) == [(1,)]
    assert query(pg_url, hit, {"w": f"{999_999:x}"}) == []  # beyond the indexed part


_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=80)
_CJKISH = st.text(st.sampled_from("ab 数据库、カナ한글\U00020000\U0002ffff\u3040\u30ff\uac00\ud7af"), max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(_TEXT, _CJKISH))
def test_cjk_space_in_sql_agrees_with_python(pg_url_migrated: str, text: str) -> None:
    assert query(pg_url_migrated, "SELECT refman_cjk_space(:t)", {"t": text}) == [(cjk_space(text),)]


_NAME = st.fixed_dictionaries({}, optional={"family": _TEXT, "given": _TEXT, "literal": _TEXT})
_SCALAR = st.one_of(st.text(max_size=10).filter(lambda s: "\x00" not in s), st.none(),
                    st.integers(-(2**63), 2**63 - 1))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.one_of(st.lists(st.one_of(_NAME, _SCALAR)), st.text(max_size=20).filter(lambda s: "\x00" not in s)))
def test_authors_text_in_sql_agrees_with_sqlite_triggers(pg_url_migrated: str, names: object) -> None:
    """The reference is migration 0002's SQL for SQLite (trim() there trims spaces only, where Python's
    str.strip in refman.search._authors_text trims every kind of whitespace: the two differ on `\\x1f`)."""
    author = names if isinstance(names, str) else json.dumps(names)
    with sqlite3.connect(":memory:") as raw:
        want = raw.execute(f"WITH a(v) AS (SELECT ?) SELECT {_M0002._authors('v')} FROM a", (author,)).fetchall()
    raw.close()
    assert query(pg_url_migrated, "SELECT refman_authors_text(:a)", {"a": author}) == want
