"""Search: the index triggers, CJK handling, the query language, filters and ranking, on real SQLite files."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refman.errors import QueryError
from refman.search import SearchFilters, compose_row, rebuild_index, search, unspace
from refman.search_query import cjk_space, parse_query
from refman.store import connect, open_store
from refman.store.sqlite import SqliteStore
from refman.store.sqlite.search import fts5_query

NOW = "2025-01-01T00:00:00Z"
FILLER = [f"Filler page number {i} about cooking, gardening and travel in the mountains." for i in range(12)]


class Catalog:
    """Writes catalog rows the way other modules do: plain SQL, unaware of the index."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._note_ids: dict[str, int] = {}

    def add(self, url: str, title: str | None = None, text: str | None = None, *, issued: str | None = None,
            host: str | None = None, tags: tuple[str, ...] = (), note: str | None = None,
            author: object = None, status: str = "ok", container: str | None = None,
            cited_in: tuple[str, ...] = ()) -> int:
        host = host or url.split("/")[2]
        cur = self.conn.execute(
            "INSERT INTO source(url, url_as_written, host, created_at, updated_at, title, issued, user_note, author,"
            " status, container_title) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (url, url, host, NOW, NOW, title, issued, note, None if author is None else json.dumps(author),
             status, container))
        sid = int(cur.lastrowid or 0)
        for tag in tags:
            self.tag(sid, tag)
        if text is not None:
            self.set_text(sid, text)
        for path in cited_in:
            self.mention(sid, path, label=f"label {sid}")
        return sid

    def tag(self, sid: int, tag: str) -> None:
        self.conn.execute("INSERT INTO source_tag(source_id, tag) VALUES (?, ?)", (sid, tag))

    def set_text(self, sid: int, text: str) -> None:
        snap = self.conn.execute("INSERT INTO snapshot(source_id, fetched_at, outcome) VALUES (?, ?, 'ok')",
                                 (sid, NOW)).lastrowid
        self.conn.execute("INSERT INTO source_text(source_id, snapshot_id, text) VALUES (?, ?, ?) ON CONFLICT"
                          "(source_id) DO UPDATE SET text = excluded.text, snapshot_id = excluded.snapshot_id",
                          (sid, snap, text))

    def mention(self, sid: int, path: str, label: str = "label", annotation: str | None = None,
                root: str = "/vault") -> int:
        note_id = self._note_ids.get(path)
        if note_id is None:
            note_id = int(self.conn.execute(
                "INSERT INTO note(root, path, size, mtime_ns, sha256, imported_at) VALUES (?, ?, 0, 0, '', ?)",
                (root, path, NOW)).lastrowid or 0)
            self._note_ids[path] = note_id
        return int(self.conn.execute(
            "INSERT INTO mention(source_id, note_id, ordinal, line, label, annotation) VALUES (?, ?, 0, 1, ?, ?)",
            (sid, note_id, label, annotation)).lastrowid or 0)

    def filler(self) -> None:
        for i, text in enumerate(FILLER):
            self.add(f"https://filler{i}.example.org/", f"Filler {i}", text)


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with open_store(db_path) as s:
        yield s


@pytest.fixture
def conn(store: SqliteStore) -> sqlite3.Connection:
    return store.conn


@pytest.fixture
def cat(conn: sqlite3.Connection) -> Catalog:
    catalog = Catalog(conn)
    catalog.filler()  # bm25 needs a corpus: with two rows every idf is about zero
    return catalog


def ids(store: SqliteStore, query: str | None, **filters: object) -> list[int]:
    return [h.id for h in search(store, query, SearchFilters(**filters), limit=100)]  # type: ignore[arg-type]


def index_rows(conn: sqlite3.Connection) -> dict[int, tuple[object, ...]]:
    return {r[0]: tuple(r[1:]) for r in conn.execute(
        "SELECT rowid, title, authors, site, tags, notes, body FROM search_fts ORDER BY rowid")}


# --- CJK -------------------------------------------------------------------------------------------------


def test_chinese_words_of_2_3_and_6_characters(store: SqliteStore, conn: sqlite3.Connection, cat: Catalog) -> None:
    a = cat.add("https://zhuanlan.zhihu.com/p/1", "数仓笔记", "数据库与数据仓库的区别：大模型推理优化与网络传输。")
    b = cat.add("https://www.zhihu.com/q/2", "知乎问答", "知乎上关于数据的讨论")
    c = cat.add("https://c.example.cn/3", "无关", "今天天气很好，适合散步。")
    assert ids(store, "数据") == [a, b] or sorted(ids(store, "数据")) == sorted([a, b])
    assert ids(store, "知乎") == [b]
    assert ids(store, "仓库") == [a]
    assert ids(store, "数据库") == [a]
    assert ids(store, "推理优化") == [a]
    assert ids(store, "大模型推理优化") == [a]  # 7 characters, one phrase
    assert ids(store, "数据仓库与") == []  # characters present, but not in that order
    assert ids(store, "天气") == [c]


def test_mixed_queries(store: SqliteStore, conn: sqlite3.Connection, cat: Catalog) -> None:
    a = cat.add("https://a.cn/1", "RDMA 调优", "RDMA网络在数据中心的应用")
    b = cat.add("https://b.cn/2", "网络基础", "TCP 网络 协议")
    assert ids(store, "RDMA 网络") == [a]
    assert ids(store, "RDMA网络") == [a]
    assert sorted(ids(store, "网络")) == sorted([a, b])
    assert ids(store, "tcp 协议") == [b]


def test_chinese_snippet_reads_naturally(store: SqliteStore, conn: sqlite3.Connection, cat: Catalog) -> None:
    cat.add("https://a.cn/1", "标题", "我们讨论数据库与数据仓库的区别，以及 RDMA 网络。")
    [hit] = search(store, "数据仓库")
    assert hit.snippet == "我们讨论数据库与\x02数据仓库\x03的区别，以及 RDMA 网络。"
    assert hit.matched_fields == ["text"]
    assert hit.to_json()["snippet"] == "我们讨论数据库与**数据仓库**的区别，以及 RDMA 网络。"


@given(st.text(alphabet=st.sampled_from(list("ab 数据库网络。,\n𠀀かカ한x\t")), max_size=200))
@settings(max_examples=200, deadline=None)
def test_sql_spacing_equals_python_spacing(text: str) -> None:
    """The triggers' SQL spacing (migration 0002) and cjk_space agree byte for byte; unspace undoes it."""
    import importlib

    mig = importlib.import_module("refman.migrations.versions.0002_search_index")
    c = sqlite3.connect(":memory:")
    assert c.execute("SELECT " + mig._spaced("?"), (text,)).fetchone()[0] == cjk_space(text)
    assert unspace(cjk_space(text)) == " ".join(text.split())


# --- the index follows the catalog --------------------------------------------------------------------


def test_triggers_keep_index_in_sync(store: SqliteStore, conn: sqlite3.Connection) -> None:
    cat = Catalog(conn)
    sid = cat.add("https://a.com/x", "Original title", author=[{"family": "Lovelace", "given": "Ada"},
                                                               {"literal": "数据组"}])
    assert ids(store, "original") == [sid]
    assert ids(store, "author:lovelace") == [sid]
    assert ids(store, "author:数据组") == [sid]
    conn.execute("UPDATE source SET title = '新的标题' WHERE id = ?", (sid,))
    assert ids(store, "original") == [] and ids(store, "标题") == [sid]
    cat.tag(sid, "gpu market")
    assert ids(store, 'tag:"gpu market"') == [sid]
    conn.execute("DELETE FROM source_tag WHERE source_id = ?", (sid,))
    assert ids(store, 'tag:"gpu market"') == []
    mid = cat.mention(sid, "notes/a.md", label="rdma-paper", annotation="读过，讲网络")
    assert ids(store, "rdma paper") == [sid] and ids(store, "note:网络") == [sid]
    conn.execute("UPDATE mention SET annotation = 'changed' WHERE id = ?", (mid,))
    assert ids(store, "网络") == [] and ids(store, "changed") == [sid]
    conn.execute("DELETE FROM mention WHERE id = ?", (mid,))
    assert ids(store, "changed") == []
    conn.execute("UPDATE source SET user_note = 'my own note' WHERE id = ?", (sid,))
    assert ids(store, "notes:own") == [sid]
    cat.set_text(sid, "archived body about kubernetes")
    assert ids(store, "kubernetes") == [sid]
    cat.set_text(sid, "second fetch about 容器")
    assert ids(store, "kubernetes") == [] and ids(store, "容器") == [sid]
    conn.execute("DELETE FROM source_text WHERE source_id = ?", (sid,))
    assert ids(store, "容器") == []
    cat.set_text(sid, "body again")
    cat.tag(sid, "t1")
    cat.mention(sid, "notes/b.md")
    conn.execute("DELETE FROM source WHERE id = ?", (sid,))  # cascades to tags, mentions, text
    assert index_rows(conn) == {}
    assert ids(store, "again") == []


def test_moving_mentions_between_sources(store: SqliteStore, conn: sqlite3.Connection) -> None:
    """Merging duplicates moves mentions: both sources' notes are recomputed."""
    cat = Catalog(conn)
    a, b = cat.add("https://a.com/", "A"), cat.add("https://b.com/", "B")
    mid = cat.mention(a, "n.md", label="merged-label")
    conn.execute("UPDATE mention SET source_id = ? WHERE id = ?", (b, mid))
    assert ids(store, "merged label") == [b]


def test_triggers_and_reindex_produce_the_same_rows(store: SqliteStore, conn: sqlite3.Connection, cat: Catalog) -> None:
    a = cat.add("https://a.cn/1", "数据库 Title", "正文 body 数据", tags=("数据", "db"), note="用户笔记",
                author=[{"family": "王", "given": "小明"}, {"literal": "ACME 团队"}], container="知乎专栏",
                cited_in=("notes/x.md",))
    cat.mention(a, "notes/y.md", label="标签", annotation="注释 text")
    cat.add("https://b.com/2", None, None, author="not json")
    before = index_rows(conn)
    reports: list[tuple[int, int]] = []
    assert rebuild_index(store, progress=lambda done, total: reports.append((done, total))) == len(before)
    assert reports[0] == (0, len(before)) and reports[-1] == (len(before), len(before))
    assert index_rows(conn) == before
    assert ids(store, "数据库 title") == [a]


def test_compose_row_matches_stored_row(store: SqliteStore, conn: sqlite3.Connection) -> None:
    cat = Catalog(conn)
    sid = cat.add("https://a.com/", "T", "body", tags=("x",), note="n")
    [source] = store.sources_to_index([sid])
    assert source.tags == ["x"] and source.text == "body"
    assert compose_row(source)[1:] == index_rows(conn)[sid]


def test_plain_sqlite3_connection_keeps_index_in_sync(store: SqliteStore, db_path: Path) -> None:
    """No user function is needed: a bare connection (like the sqlite3 shell) writes through the triggers."""
    connect(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute("INSERT INTO source(url, url_as_written, host, created_at, updated_at, title) "
                "VALUES ('https://x.cn/', 'https://x.cn/', 'x.cn', '', '', '推理优化指南')")
    raw.commit()
    raw.close()
    assert len(ids(store, "推理")) == 1


# --- ranking -------------------------------------------------------------------------------------------


def test_title_match_beats_body_match(store: SqliteStore, conn: sqlite3.Connection, cat: Catalog) -> None:
    body = cat.add("https://a.com/1", "Something else", "A long page that mentions kubernetes once. " * 3)
    title = cat.add("https://b.com/2", "Kubernetes in practice", "A long page about containers. " * 3)
    assert ids(store, "kubernetes") == [title, body]


def test_phrase_beats_scattered_words(store: SqliteStore, conn: sqlite3.Connection, cat: Catalog) -> None:
    scattered = cat.add("https://a.com/1", "One", "market analysis says the gpu supply is short.")
    together = cat.add("https://b.com/2", "Two", "analysis of the gpu market says supply is short.")
    assert ids(store, "gpu market") == [together, scattered]
    assert ids(store, '"gpu market"') == [together]


def test_describing_matches_come_before_body_only_matches(store: SqliteStore, conn: sqlite3.Connection,
                                                          cat: Catalog) -> None:
    heavy = cat.add("https://a.com/1", "Something else", "raft raft raft raft consensus raft raft. " * 5)
    noted = cat.add("https://b.com/2", "Distributed systems", "logs and clocks", note="read for raft")
    tagged = cat.add("https://c.com/3", "Consensus", "paxos", tags=("raft",))
    titled = cat.add("https://d.com/4", "Raft explained", "a leader and followers")
    assert ids(store, "raft")[-1] == heavy
    assert set(ids(store, "raft")[:3]) == {noted, tagged, titled}
    # NOT applies to every column in both tiers.
    assert ids(store, "raft -paxos")[-1] == heavy and tagged not in ids(store, "raft -paxos")
    assert set(ids(store, "raft -consensus")) == {noted, titled}


def test_pages_across_both_tiers_are_complete_and_disjoint(store: SqliteStore, conn: sqlite3.Connection,
                                                           cat: Catalog) -> None:
    made = [cat.add(f"https://t.com/{i}", f"Raft note {i}", "x") for i in range(5)]
    made += [cat.add(f"https://b.com/{i}", f"Other {i}", "raft " * (i + 1)) for i in range(6)]
    everything = ids(store, "raft")
    assert sorted(everything) == sorted(made)
    for size in (1, 2, 3, 4, 7):
        pages = [search(store, "raft", SearchFilters(), limit=size, offset=off) for off in range(0, 13, size)]
        assert [hit.id for page in pages for hit in page] == everything


def test_scores_are_positive_even_when_every_row_matches(store: SqliteStore, conn: sqlite3.Connection,
                                                         cat: Catalog) -> None:
    # bm25 gives a term found in every row an IDF of 1e-6: the score must still be a positive, ordered number.
    cat.add("https://a.com/1", "Kubernetes notes", "kubernetes")
    cat.add("https://b.com/2", "Kubernetes in practice", "kubernetes kubernetes")
    hits = search(store, "kubernetes", SearchFilters())
    assert all(hit.score is not None and hit.score > 0 for hit in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


# --- query language ------------------------------------------------------------------------------------


def test_prefix_not_or_phrase_and_fields(store: SqliteStore, conn: sqlite3.Connection, cat: Catalog) -> None:
    a = cat.add("https://arxiv.org/1", "Transformers for vision", "attention is all you need", tags=("ml",),
                author=[{"family": "Vaswani", "given": "Ashish"}])
    b = cat.add("https://blog.example.com/2", "Transport layer notes", "tcp congestion control", tags=("net",))
    c = cat.add("https://example.com/3", "Vision pipelines", "cameras and attention", tags=("ml", "cv"))
    assert sorted(ids(store, "trans*")) == sorted([a, b])
    assert ids(store, "vision -transformers") == [c]
    assert ids(store, "vision NOT transformers") == [c]
    assert sorted(ids(store, "tcp OR cameras")) == sorted([b, c])
    assert ids(store, '"all you need"') == [a]
    assert ids(store, '"you all need"') == []
    assert ids(store, "title:vision attention") == sorted([a, c], key=lambda i: ids(store, "title:vision").index(i))
    assert ids(store, "title:attention") == []
    assert ids(store, "author:vaswani") == [a]
    assert ids(store, "tag:ml -tag:cv") == [a]
    assert ids(store, "tag:c") == []  # tags match whole
    assert sorted(ids(store, "site:example.com")) == sorted([b, c])
    assert sorted(ids(store, "(tcp OR cameras) -tag:cv")) == [b]
    assert ids(store, 'title:"transport layer"') == [b]
    negated = ids(store, "-attention")  # negations only: everything else
    assert b in negated and a not in negated and c not in negated


@pytest.mark.parametrize("query", ["OR", "AND NOT", "()", '""', "-", "***", "^", "(((", "\"'", "   "])
def test_nothing_searchable_is_a_query_error(store: SqliteStore, conn: sqlite3.Connection, query: str) -> None:
    with pytest.raises(QueryError):
        search(store, query)


def test_lenient_parsing(store: SqliteStore, conn: sqlite3.Connection, cat: Catalog) -> None:
    a = cat.add("https://a.com/1", "Rust async", "tokio runtime internals")
    assert ids(store, '"tokio runtime') == [a]  # unbalanced quote
    assert ids(store, "(rust async") == [a]
    assert ids(store, "rust) async)") == [a]
    assert ids(store, "rust OR") == [a]
    assert ids(store, "NEAR(rust async)") == []  # NEAR is just a word here
    assert ids(store, "rust^ async:") == [a]
    assert ids(store, "title:rust AND async") == [a]


QUERY_ALPHABET = [*'abc xyz()"*^:-+.,;\'{}[]~|&!?/\\ ', "OR", "AND", "NOT", "NEAR", "title:", "tag:", "author:",
                  "site:", "rank", "rowid", "数据", "网络", "😀", "\x00", "\ue000", "\u3000"]


@given(st.lists(st.sampled_from(QUERY_ALPHABET), max_size=30).map("".join) | st.text(max_size=60))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_queries_never_raise_anything_but_query_error(store: SqliteStore, conn: sqlite3.Connection,
                                                             query: str) -> None:
    with contextlib.suppress(QueryError):
        search(store, query, limit=5)


# --- filters -------------------------------------------------------------------------------------------


def test_filters(store: SqliteStore, conn: sqlite3.Connection) -> None:
    cat = Catalog(conn)
    a = cat.add("https://www.example.com/a", "GPU prices", "gpu", issued="2023-11-02", tags=("GPU", "market"),
                status="ok", cited_in=("notes/GPU Market.md",))
    b = cat.add("https://blog.example.com/b", "GPU supply", "gpu", issued="2024", tags=("gpu",), status="dead",
                cited_in=("notes/sub/Other.md",))
    c = cat.add("https://notexample.com/c", "GPU news", "gpu", issued="2024-06-30", status="ok",
                cited_in=("notes2/x.md",))
    d = cat.add("https://example.com/d", "GPU undated", "gpu")
    assert sorted(ids(store, "gpu", tags=["gpu"])) == [a, b]
    assert ids(store, "gpu", tags=["gpu", "market"]) == [a]
    assert sorted(ids(store, "gpu", since="2024")) == [b, c]
    assert sorted(ids(store, "gpu", until="2023")) == [a]
    assert sorted(ids(store, "gpu", since="2024-01", until="2024-06")) == [b, c]
    assert sorted(ids(store, "gpu", until="2024-06-29")) == [a, b]
    assert sorted(ids(store, "gpu", site="example.com")) == [a, b, d]
    assert ids(store, "gpu", site="https://blog.example.com/path") == [b]
    assert sorted(ids(store, "gpu", status="ok")) == [a, c, d]
    assert ids(store, "gpu", cited_in="notes/GPU Market.md") == [a]
    assert sorted(ids(store, "gpu", cited_in="notes/")) == [a, b]
    assert sorted(ids(store, "gpu", cited_in="notes")) == [a, b]  # a folder, not notes2/
    assert ids(store, "gpu", cited_in="/vault/notes2") == [c]  # absolute path
    # Filters alone list sources, newest first.
    assert ids(store, None, site="example.com") == [b, a, d]
    assert ids(store, "", status="dead") == [b]
    with pytest.raises(QueryError):
        search(store, "gpu", SearchFilters(since="last year"))
    with pytest.raises(QueryError):
        search(store, None)


def test_limit_and_offset(store: SqliteStore, conn: sqlite3.Connection) -> None:
    cat = Catalog(conn)
    for i in range(5):
        cat.add(f"https://e.com/{i}", f"Page {i}", "common words")
    first = [h.id for h in search(store, "common", limit=2)]
    second = [h.id for h in search(store, "common", limit=2, offset=2)]
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)


def test_parse_query_quotes_every_term() -> None:
    match, exclude = fts5_query(parse_query('a OR title:"x y" NEAR* rank: -(b "c'))
    assert exclude is None
    assert match == '("a" OR ((title : "x y" AND "NEAR"* AND "rank:") NOT (("b" AND "c"))))'

