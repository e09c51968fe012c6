"""PostgreSQL search as made fast by migration 0012 (issue #17 §2) finds what SQLite finds: random catalogs and
queries on both backends give the same matches, counts, tiers and highlighted words; CJK words go through the
bigram lexemes; the second tier's bounded ranking pages completely; and 0012 upgrades and downgrades a populated
catalog.

Skipped in one line when PostgreSQL cannot be reached (see tests/pg.py)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg import fresh_catalog_database, migrate, pg_url, query, revisions

from refman.search import count_matches, search
from refman.search_query import parse_query
from refman.store import open_store
from refman.store.postgres import open_postgres_store
from refman.store.postgres.store import PostgresStore
from refman.store.protocol import Store
from refman.store.search import SourceFilter
from refman.store.sqlite import SqliteStore
from refman.store.sqlite.search import _DESCRIBING, fts5_query

__all__ = ["pg_url"]  # a fixture, imported for pytest

WORDS = ["gpu", "market", "data", "database", "index", "latency", "open", "source", "river", "stone"]
HAN = "数据库仓网络推理优化模型"
TAGS = ["hardware", "数据", "ml", "数据库", "net work"]


def _text(rng: random.Random, n: int) -> str:
    """Words and runs of Chinese characters (from few characters, so that words share them), some punctuation."""
    out = []
    for _ in range(n):
        if rng.random() < 0.45:
            out.append("".join(rng.choices(HAN, k=rng.randint(1, 5))) + rng.choice(["", "", "，", "。"]))
        else:
            out.append(rng.choice(WORDS) + rng.choice(["", "", ",", "."]))
    return " ".join(out)


def _seed(store: Store, seed: int, n: int = 45) -> None:
    from refman.capture import capture_page
    from refman.catalog import add_source

    rng = random.Random(seed)
    for i in range(n):
        url = f"https://site{i % 4}.example.com/p/{i}"
        title = _text(rng, rng.randint(1, 4))
        tags = tuple(rng.sample(TAGS, rng.randint(0, 2)))
        note = _text(rng, 3) if rng.random() < 0.3 else None
        if rng.random() < 0.7:
            body = _text(rng, rng.randint(5, 40))
            html = (f"<!DOCTYPE html><html><head><meta charset=utf-8><title>{title}</title></head><body><article>"
                    f"<h1>{title}</h1>" + f"<p>{body}</p>" * 3 + "</article></body></html>").encode()
            capture_page(store, html, url)
            if tags or note:
                add_source(store, url, tags=tags, note=note)
        else:
            add_source(store, url, title=title, tags=tags, note=note)


def _queries(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        kind = rng.random()
        han = "".join(rng.choices(HAN, k=rng.randint(1, 4)))
        word = rng.choice(WORDS)
        if kind < 0.25:
            out.append(han)
        elif kind < 0.35:
            out.append(f"{han} -{rng.choice(HAN)}")
        elif kind < 0.45:
            out.append(f'"{word} {rng.choice(WORDS)}"')
        elif kind < 0.55:
            out.append(f"{word[:3]}* {han}")
        elif kind < 0.65:
            out.append(f"{word} OR {han}")
        elif kind < 0.75:
            out.append(f"{rng.choice(['title', 'tag', 'site', 'notes', 'text'])}:{rng.choice([word, han, 'example'])}")
        elif kind < 0.85:
            out.append(f"{word} -{rng.choice(WORDS)}")
        else:
            out.append(f"{han[:2]}* {word}")
    return out


def _first_tier(store: Store, q: str) -> int:
    """How many sources match `q` in the describing columns (the first ranking tier)."""
    parsed = parse_query(q)
    if isinstance(store, PostgresStore):
        plan = store._plan(parsed)
        return 0 if plan.describing is None else store._count(plan.describing.sql, [], plan.params)
    assert isinstance(store, SqliteStore)
    match, _exclude = fts5_query(parsed)
    if match is None:
        return 0
    describing = f"{_DESCRIBING} : ({match})"  # as SqliteSearch._ranked builds it
    if " NOT " in match:
        describing = f"({match}) AND ({describing})"
    return store._count(describing, [], [])


def _hits(store: Store, q: str) -> list[tuple[int, list[str], list[str]]]:
    return [(h.id, h.matched_fields, re.findall("\x02(.+?)\x03", h.snippet)) for h in search(store, q, limit=500)]


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    with fresh_catalog_database() as url:
        sqlite, postgres = open_store(tmp_path / "c.db"), open_postgres_store(url)
        yield sqlite, postgres
        sqlite.close()
        postgres.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_random_catalogs_and_queries_find_the_same_on_both_backends(stores: tuple[Store, Store],
                                                                    seed: int) -> None:
    sqlite, postgres = stores
    for store in stores:
        _seed(store, seed)
    rng = random.Random(seed * 7)
    compared = 0
    for q in _queries(rng, 70):
        want, got = _hits(sqlite, q), _hits(postgres, q)
        n1 = _first_tier(sqlite, q)
        assert _first_tier(postgres, q) == n1, q
        # The same rows, fields and highlighted words; the first n1 are the first tier on both.
        assert sorted(got) == sorted(want), q
        assert {h[0] for h in got[:n1]} == {h[0] for h in want[:n1]}, q
        assert count_matches(postgres, q) == count_matches(sqlite, q) == len(want), q
        compared += bool(want)
    assert compared > 30  # the queries mostly find something


def test_cjk_words_use_their_bigrams(stores: tuple[Store, Store]) -> None:
    """A two-character word is its bigram lexeme (one GIN lookup, no recheck); the characters apart, or across
    two tags, are not the word; a longer word is its phrase, narrowed by its bigrams."""
    from refman.catalog import add_source

    _sqlite, postgres = stores
    a, _ = add_source(postgres, "https://a.org/1", title="数据库与数据仓库", tags=("数", "据"))
    b, _ = add_source(postgres, "https://b.org/2", title="据数", note="库仓")
    c, _ = add_source(postgres, "https://c.org/3", title="other", tags=("模型数据",))
    assert isinstance(postgres, PostgresStore)
    plan = postgres._plan(parse_query("数据"))
    assert plan.second == "(d.document @@ %(q0)s::tsquery) AND NOT (d.describing @@ %(q1)s::tsquery)"
    # No weight label: the index answers alone.
    assert (plan.params["q0"], plan.params["q1"]) == ("('\ue002数据' | '\ue003数据')", "'\ue002数据'")
    assert sorted(h.id for h in search(postgres, "数据")) == [a, c]
    assert [h.id for h in search(postgres, "tag:数据")] == []  # 数 and 据 are two tags of a
    assert [h.id for h in search(postgres, "tag:模型数据")] == [c]
    assert [h.id for h in search(postgres, "数据仓库")] == [a]
    assert [h.id for h in search(postgres, "text:数据")] == [] and [h.id for h in search(postgres, "title:数据")] == [a]
    assert [h.id for h in search(postgres, "库仓")] == [b]
    assert sorted(h.id for h in search(postgres, "据*")) == [a, b, c]  # a CJK prefix: the character itself
    assert postgres.count_search_matches(parse_query("数据 -仓库"), SourceFilter()) == 1


def test_the_second_tier_pages_completely_with_a_small_ranked_pool(stores: tuple[Store, Store]) -> None:
    """Beyond the ranked pool, the second tier goes on newest first: pages are complete and disjoint, and
    every hit has its score."""
    from refman.catalog import add_source

    _sqlite, postgres = stores
    assert isinstance(postgres, PostgresStore)
    _seed(postgres, 3, n=30)
    for i in range(5):
        add_source(postgres, f"https://t.org/{i}", title=f"gpu river {i}")
    postgres.ranked_pool = 4
    whole = [h.id for h in search(postgres, "river", limit=500)]
    assert len(whole) == count_matches(postgres, "river") > 10
    paged = [h.id for offset in range(0, len(whole), 3) for h in search(postgres, "river", limit=3, offset=offset)]
    assert paged == whole
    hits = search(postgres, "river", limit=500)
    assert all(h.score is not None and h.score > 0 for h in hits)
    postgres.ranked_pool = 10_000
    assert sorted(h.id for h in search(postgres, "river", limit=500)) == sorted(whole)


def _document_facts(url: str) -> list[Any]:
    return query(url, "SELECT source_id, document::text ~ '[\ue002\ue003]', "
                      "document = refman_search_document(title, authors, site, tags, notes, body) "
                      "FROM search_doc ORDER BY source_id")


def test_0012_on_a_populated_catalog(pg_url: str) -> None:
    from test_migrations_postgres import _assert_index_matches_python
    from test_migrations_postgres import _seed as seed_catalog

    before = revisions()[revisions().index("0012") - 1]
    migrate(pg_url, before)
    seed_catalog(pg_url, before)
    old = query(pg_url, "SELECT source_id, document::text FROM search_doc ORDER BY source_id")
    migrate(pg_url, "0012")
    # Both sources have Chinese text (2 in its title, mention and tag, 1 in its archived text): bigrams now, and
    # `describing` is the start of `document`.
    assert _document_facts(pg_url) == [(1, True, True), (2, True, True)]
    assert query(pg_url, "SELECT count(*) FROM search_doc WHERE document IS DISTINCT FROM "
                         "describing || refman_search_body_column(body)") == [(0,)]
    def having(vector: str, bigram: str) -> list[Any]:
        return query(pg_url, f"SELECT source_id FROM search_doc WHERE {vector} @@ CAST(:q AS tsquery)", {"q": bigram})

    assert having("describing", "\ue002数据") == having("document", "\ue002数据") == [(2,)]
    assert having("describing", "\ue003正文") == having("describing", "\ue002正文") == []
    assert having("document", "\ue003正文") == [(1,)]  # the body's bigram
    _assert_index_matches_python(pg_url)
    migrate(pg_url, before, down=True)
    assert query(pg_url, "SELECT source_id, document::text FROM search_doc ORDER BY source_id") == old
    assert query(pg_url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'search_doc' "
                         "AND column_name = 'describing'") == [(0,)]
