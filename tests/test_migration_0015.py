"""Migration 0015 (PostgreSQL): the archived text's CJK bigrams from a join of positions give 0012's tsvectors,
on thousands of generated texts and on edge cases; a populated catalog's rows are unchanged by the upgrade and
the downgrade, and rows written at 0015 are those 0012 writes.

Skipped in one line when PostgreSQL cannot be reached (see tests/pg.py)."""

from __future__ import annotations

import importlib
import random

from pg import execute, migrate, pg_url, query, revisions

from refman.search import cjk_space

__all__ = ["pg_url"]  # a fixture, imported for pytest

WORDS = ["gpu", "market", "data", "database", "index", "latency", "open", "source", "river", "stone"]

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
            piece = rng.choice([*WORDS, "Café", "naïve", "x86", "2026", "GPU-bound", "e.g."])
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
        None, "", " ", "，。", "数", "数据", "数 据", "数，据", "a 数 b 据 c", "数据库" * 3,
        "\ue000 数据 \ue001 \ue000 网络 \ue001",  # tags as the index has them
        "数" * 1000,  # one lexeme: PostgreSQL keeps 255 of its positions
        "数据" * 600, "数据库" * 400,  # pairs past the 255th position of a character
        "abc数据def", "数据abc", "Ｆｕｌｌ 数据 ｗｉｄｔｈ", "한국어 데이터", "ひらがな カタカナ",
        "\U00020000\U00020001",
        long_han, long_han[:16_381 * 2], long_han[:16_383],  # long, of 12 characters: 255 positions each
        "数 " * 16_382 + "据 库",  # around the last position (16383)
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
                          "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest(v) u "
                          "                               WHERE cardinality(u.positions) = 255)), "
                          "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest(v) u WHERE 16383 = ANY(u.positions))) "
                          "FROM (SELECT refman_search_body_column(t) AS v "
                          "      FROM unnest(CAST(:t AS text[])) AS x(t)) y",
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
