"""PostgreSQL search as made fast by migration 0012 (issue #17 §2) finds what SQLite finds: random catalogs and
queries on both backends give the same matches, counts, tiers and highlighted words; CJK words go through the
bigram lexemes; the second tier's bounded ranking pages completely; and 0012 upgrades and downgrades a populated
catalog.

Skipped in one line when PostgreSQL cannot be reached (see tests/pg.py)."""

from __future__ import annotations

import importlib
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg import execute, fresh_catalog_database, migrate, pg_url, query, revisions

from refman.search import cjk_space, count_matches, search
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


# --- migration 0015: the body's bigrams from a join of positions, the same tsvectors -------------------------

_M0015 = importlib.import_module("refman.migrations.versions.0015_pg_search_build_speed")
# 0012's body column function, created under another name in the test's database (it calls refman_cjk_pairs,
# which 0015 keeps as it was).
_BODY_COLUMN_0012 = _M0015._OLD_BODY_COLUMN.replace("refman_search_body_column", "refman_body_column_0012")
_MANY_HAN = [chr(0x4E00 + i) for i in range(0, 2500, 7)]  # ~360 characters, some much more frequent than others
_OTHER_CJK = "ひらがなカタカナー한국어글\U00020000\U0002A6D6\uF900\u3400"


def _body(rng: random.Random, chars: int) -> str:
    """Text as the benchmark's archived pages have it: runs of Chinese (Zipf-like), English words, other CJK
    scripts, punctuation (full-width and ASCII), digits."""
    out: list[str] = []
    size = 0
    while size < chars:
        kind = rng.random()
        if kind < 0.5:
            piece = "".join(rng.choices(_MANY_HAN, weights=[1 / (i + 1) for i in range(len(_MANY_HAN))],
                                        k=rng.randint(1, 12)))
        elif kind < 0.6:
            piece = "".join(rng.choices(_OTHER_CJK, k=rng.randint(1, 4)))
        elif kind < 0.9:
            piece = rng.choice(WORDS + ["Café", "naïve", "x86", "2026", "GPU-bound", "e.g."])
        else:
            piece = rng.choice(["，", "。", ", ", ". ", "「", "」", " — ", "\n", "123"])
        out.append(piece)
        size += len(piece)
        out.append(rng.choice(["", " ", " ", "，"]))
    return "".join(out)


def _edge_bodies() -> list[str | None]:
    han = "数据库仓网络推理优化模型"
    long_han = "".join(han[i % len(han)] + ("" if i % 17 else "，") for i in range(20_000))
    return [
        None, "", " ", "，。", "数", "数据", "数 据", "数，据", "a 数 b 据 c", "数据库" * 3, "\ue000 数据 \ue001 \ue000 网络 \ue001",
        "数" * 1000,  # one lexeme: PostgreSQL keeps 255 of its positions
        "数据" * 600, "数据库" * 400,  # pairs past the 255th position of a character
        "abc数据def", "数据abc", "Ｆｕｌｌ 数据 ｗｉｄｔｈ", "한국어 데이터", "ひらがな カタカナ", "\U00020000\U00020001",
        long_han,  # past position 16383: 0012's computation, kept
        long_han[:16_381 * 2], long_han[:16_383], "数 " * 16_382 + "据 库",  # around the last position
        "word " * 16_380 + "数 据 库 网", "word " * 16_381 + "数 据", "word " * 16_382 + "数 据",
        " ".join(han) * 3000,
        # Many CJK lexemes at 16383 (every later word is there): which one 0012's window pairs with the one at
        # 16382 depends on its sort; a join would pair it with all of them.
        "word " * 16_381 + " ".join(_MANY_HAN[:51]), " ".join(chr(0x4E00 + i * 7919 % 2500) for i in range(20_001)),
    ]


def test_0015_body_bigrams_are_0012s(pg_url: str) -> None:
    """The body column's tsvector of 0015 is the one of 0012, on thousands of generated archived texts (as
    stored: CJK characters spaced by refman_cjk_space, and as written) and on edge cases: empty, pure CJK,
    mixed, repeated characters (a lexeme keeps 255 positions), texts past the last tsvector position (16383),
    where 0015 keeps 0012's computation."""
    migrate(pg_url, "head")
    execute(pg_url, _BODY_COLUMN_0012)
    rng = random.Random(15)
    bodies = [_body(rng, rng.choice([40, 400, 1700, 5000])) for _ in range(1500)]
    texts: list[str | None] = [*bodies, *(cjk_space(b) for b in bodies[:1000]), *_edge_bodies(),
                               *(cjk_space(b) for b in _edge_bodies() if b)]
    differ = query(pg_url, "SELECT i FROM unnest(CAST(:t AS text[])) WITH ORDINALITY AS x(t, i) "
                           "WHERE refman_body_column_0012(t) IS DISTINCT FROM refman_search_body_column(t)",
                   {"t": texts})
    assert differ == []
    # The cases are what they claim: bigrams in most, the 255-position cap and the last position reached.
    facts = query(pg_url, "SELECT count(*) FILTER (WHERE v::text ~ '\ue003'), "
                          "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest(v) u WHERE cardinality(u.positions) = 255)), "
                          "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest(v) u WHERE 16383 = ANY(u.positions))) "
                          "FROM (SELECT refman_search_body_column(t) AS v FROM unnest(CAST(:t AS text[])) AS x(t)) y",
                  {"t": texts})
    bigrams, capped, last = facts[0]
    assert (bigrams > 1000, capped >= 4, last >= 8) == (True, True, True), facts


def test_0015_on_a_populated_catalog(pg_url: str) -> None:
    """0015 changes no row (its functions return 0012's tsvectors): the upgrade only replaces the body column's
    function, rows written after it are as 0012 writes them, and the downgrade restores 0012's function."""
    from test_migrations_postgres import _assert_index_matches_python
    from test_migrations_postgres import _seed as seed_catalog

    before = revisions()[revisions().index("0015") - 1]
    migrate(pg_url, before)
    seed_catalog(pg_url, before)
    execute(pg_url, "INSERT INTO snapshot (id, source_id, fetched_at, outcome) VALUES (2, 2, 'x', 'ok')")
    execute(pg_url, "INSERT INTO source_text (source_id, snapshot_id, text) VALUES (2, 2, :t)",
            {"t": "数据库的索引 and an English tail，数据仓库" * 50})
    old = query(pg_url, "SELECT source_id, document::text, describing::text FROM search_doc ORDER BY source_id")
    assert any("\ue003" in doc for _sid, doc, _describing in old)  # the body's bigrams are there to keep
    migrate(pg_url, "0015")
    assert query(pg_url, "SELECT source_id, document::text, describing::text FROM search_doc "
                         "ORDER BY source_id") == old
    assert query(pg_url, "SELECT count(*) FROM search_doc WHERE document IS DISTINCT FROM "
                         "describing || refman_search_body_column(body)") == [(0,)]
    assert query(pg_url, "SELECT prosrc ~ 'refman_cjk_pair_lexemes' FROM pg_proc "
                         "WHERE proname = 'refman_search_body_column'") == [(True,)]
    execute(pg_url, "UPDATE search_doc SET title = title")  # every row again, by 0015's functions
    assert query(pg_url, "SELECT source_id, document::text, describing::text FROM search_doc "
                         "ORDER BY source_id") == old
    _assert_index_matches_python(pg_url)
    migrate(pg_url, before, down=True)
    assert query(pg_url, "SELECT count(*) FROM pg_proc WHERE proname = 'refman_cjk_pair_lexemes'") == [(0,)]
    execute(pg_url, "UPDATE search_doc SET title = title")
    assert query(pg_url, "SELECT source_id, document::text, describing::text FROM search_doc "
                         "ORDER BY source_id") == old
