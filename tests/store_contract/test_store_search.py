"""Contract of the store's search group (refman.store.search.SearchStore): any backend passes these.

A second backend adds a fixture: `store` here is a SqliteStore on a fresh catalog. The catalog is seeded
through the library (refman.catalog, refman.capture, refman.maintenance), which still takes a connection:
`_conn` is the one place that reaches for it, until those modules take a store."""

from __future__ import annotations

from typing import Any

import pytest

from refman.errors import QueryError
from refman.search import SearchFilters, bulk_upkeep, compose_row, count_matches, rebuild_index, search
from refman.search_query import parse_query
from refman.store.protocol import Store
from refman.store.search import SourceFilter


def add(store: Store, url: str, title: str | None = None, *, tags: tuple[str, ...] = (), note: str | None = None
        ) -> int:
    from refman.catalog import add_source

    sid, _created = add_source(store, url, title=title, tags=tags, note=note)
    return sid


def archive(store: Store, url: str, title: str, text: str) -> int:
    """Archive a page (as a browser capture) whose main text is `text`; returns its source id."""
    from refman.capture import capture_page

    html = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title></head><body>"
            f"<article><h1>{title}</h1>" + f"<p>{text}</p>" * 6 + "</article></body></html>").encode()
    return capture_page(store, html, url).id


def ids(store: Store, query: str | None, **filters: Any) -> list[int]:
    return [h.id for h in search(store, query, SearchFilters(**filters), limit=100)]


def test_an_archived_text_is_found_with_its_snippet(store: Store) -> None:
    sid = archive(store, "https://example.org/raft", "Consensus notes",
                  "The raft protocol elects a leader and replicates a log across servers.")
    add(store, "https://example.org/other", "Cooking with herbs")
    [hit] = search(store, "replicates")
    assert hit.id == sid and hit.url == "https://example.org/raft" and hit.matched_fields == ["text"]
    assert "\x02replicates\x03" in hit.snippet and hit.score is not None and hit.score > 0
    assert count_matches(store, "replicates") == 1


def test_describing_columns_rank_before_the_text(store: Store) -> None:
    body_only = archive(store, "https://a.org/1", "Something else", "gardening " * 30)
    titled = add(store, "https://b.org/2", "Gardening for beginners")
    assert ids(store, "gardening") == [titled, body_only]


def test_filters_alone_and_with_a_query(store: Store) -> None:
    a = add(store, "https://news.example.com/a", "GPU prices", tags=("hardware",))
    b = add(store, "https://example.com/b", "GPU supply", tags=("hardware", "supply"))
    c = add(store, "https://other.org/c", "GPU news", tags=("Hardware",))
    assert sorted(ids(store, "gpu", site="example.com")) == [a, b]
    assert sorted(ids(store, None, tags=["HARDWARE"])) == [a, b, c]  # tags compare case-insensitively
    assert ids(store, "gpu", tags=["supply"]) == [b]
    assert ids(store, None, site="https://EXAMPLE.com/path") and ids(store, None, status="nothing") == []
    with pytest.raises(QueryError):
        ids(store, "gpu", since="yesterday")


def test_negations_only_list_the_rest(store: Store) -> None:
    keep = add(store, "https://a.org/1", "Alpha draft")
    other = add(store, "https://b.org/2", "Beta final")
    assert ids(store, "-draft") == [other]
    assert ids(store, "alpha -final") == [keep]
    assert count_matches(store, "-draft") == 1


def test_chinese_words_match_inside_runs(store: Store) -> None:
    zh = add(store, "https://zhuanlan.zhihu.com/p/1", "数据库与数据仓库的区别", note="大模型推理优化")
    add(store, "https://example.cn/2", "今天天气很好")
    assert ids(store, "数据") == [zh] and ids(store, "仓库") == [zh] and ids(store, "推理优化") == [zh]
    assert ids(store, "库与仓") == []  # the characters occur, not in that order
    [hit] = search(store, "仓库")
    assert hit.snippet == "数据库与数据\x02仓库\x03的区别"  # shown without the indexing spaces


def test_field_and_tag_terms(store: Store) -> None:
    a = add(store, "https://a.org/1", "Networks", tags=("rdma",), note="about storage")
    b = add(store, "https://b.org/2", "Storage systems", tags=("rdma-extra",))
    assert ids(store, "tag:rdma") == [a]  # a whole tag, not a prefix of another
    assert sorted(ids(store, "tag:rdma*")) == [a, b]
    assert ids(store, "title:storage") == [b]


def test_deleted_sources_leave_the_index(store: Store) -> None:
    from refman.maintenance import delete_sources

    sid = archive(store, "https://example.org/gone", "Vanishing page", "ephemeral words here")
    assert ids(store, "ephemeral") == [sid]
    delete_sources(store, [sid])
    assert ids(store, "ephemeral") == [] and list(store.sources_to_index([sid])) == []
    rebuild_index(store)
    assert ids(store, "ephemeral") == []


def test_rebuild_gives_what_the_writes_gave(store: Store) -> None:
    sid = archive(store, "https://example.org/zh", "中文标题", "正文内容 about data")
    add(store, "https://example.org/tagged", "Tagged", tags=("数据",), note="笔记")
    before = {q: ids(store, q) for q in ("中文", "data", "tag:数据", "笔记")}
    assert rebuild_index(store, optimize=False) == 2
    assert {q: ids(store, q) for q in before} == before and before["data"] == [sid]


def test_index_batch_indexes_on_exit_and_restores_upkeep(store: Store) -> None:
    with store.transaction(), bulk_upkeep(store) as batch:
        sid = add(store, "https://example.org/batch", "Batched title")
        batch.add(sid)
    assert ids(store, "batched") == [sid]
    [source] = store.sources_to_index([sid])
    assert compose_row(source)[:2] == (sid, "Batched title")
    with pytest.raises(RuntimeError), store.transaction(), bulk_upkeep(store):
        raise RuntimeError("the writer failed")
    later = add(store, "https://example.org/later", "Indexed by the ordinary upkeep")
    assert ids(store, "ordinary") == [later]


def test_the_store_takes_a_parsed_query_and_a_filter(store: Store) -> None:
    a = add(store, "https://a.example.com/1", "Gpu market", tags=("x",))
    add(store, "https://b.org/2", "Gpu market")
    hits = store.search_sources(parse_query("gpu market"), SourceFilter(domain="example.com", tags=("X",)), 10, 0)
    assert [h.id for h in hits] == [a]
    assert store.count_search_matches(parse_query("gpu"), SourceFilter()) == 2


def test_reading_the_archive(store: Store) -> None:
    sid = archive(store, "https://example.org/read", "Readable", "A page worth keeping for later reading.")
    [copy] = store.archived_copies(sid)
    assert copy.source_id == sid and copy.origin == "capture" and store.archived_copy(copy.id) == copy
    current = store.current_text(sid)
    assert current is not None and current.body_hash == copy.body_hash
    heading = store.source_heading(sid)
    assert heading is not None and heading.url == "https://example.org/read"
    assert store.source_heading(sid + 1000) is None and store.archived_copy(copy.id + 1000) is None
    assert [a["origin"] for a in store.fetch_attempts(sid, 10)] == ["capture"]
    assert store.catalog_counts() == {"sources": 1, "archived": 1, "notes": 0}
    facets = store.facet_counts(5)
    assert facets.sites == [("example.org", 1)] and facets.notes == []
