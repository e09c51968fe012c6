"""Contract of the sources group of the store (refman.store.sources.SourcesStore): what any backend must do.

Every test takes the `store` fixture; a second backend only adds a fixture (parametrise `store`)."""

from __future__ import annotations

import pytest

from refman.errors import NotFoundError, UsageError
from refman.store.protocol import Store
from refman.store.sources import LIST_SORTS, Evidence, EvidenceRow, NewEvidence

NOW = "2024-01-01T00:00:00Z"


def add(store: Store, url: str | None, *, added_by: str = "add", **fields: object) -> int:
    host = None if url is None else url.split("/")[2]
    with store.transaction():
        return store.insert_source(url, url, host, NOW, added_by=added_by, fields=fields or None)


def test_look_ups_by_id_key_url_and_alias(store: Store) -> None:
    a = add(store, "https://a.example.com/1")
    b = add(store, "https://b.example.com/2")
    assert store.source_exists(a) and not store.source_exists(b + 100)
    assert store.source_url(a) == "https://a.example.com/1"
    with pytest.raises(NotFoundError):
        store.source_url(b + 100)
    assert store.has_sources_without_citekey()
    with store.transaction():
        store.store_citekey(a, "Smith2024")
        store.store_citekey(b, "jones2023")
    assert not store.has_sources_without_citekey()
    assert store.source_with_citekey("Smith2024") == a
    assert store.source_with_citekey("smith2024") == a  # keys compare case-insensitively
    assert store.citekey_of(b) == "jones2023"
    assert store.source_with_url("https://b.example.com/2") == b
    assert store.source_with_url("nothing", "https://b.example.com/2") == b  # the URL as written
    assert store.source_for_url("https://c.example.com/") is None
    with store.transaction():  # b merged into a: its URL becomes an alias of a
        store.delete_merged_sources(a, [b], NOW)
    assert not store.source_exists(b)
    assert store.source_with_url("https://b.example.com/2") is None  # aliases are not URLs…
    assert store.source_for_url("https://b.example.com/2") == a  # …but lead to the source they were merged into


def test_works_without_url_match_by_doi_isbn_and_key(store: Store) -> None:
    paper = add(store, None, added_by="bibliography", doi="10.1/ABC", title="Paper", type="article-journal")
    book = add(store, None, added_by="bibliography", isbn="9780201134476", title="Book", type="book")
    page = add(store, "https://p.example.com/", doi="10.9/page")
    keyless = add(store, None, added_by="bibliography", title="Only a title", type="webpage", issued="2020")
    with store.transaction():
        store.store_citekey(keyless, "onlyKey")
    assert store.match_work(None, "10.1/abc", None, None) == paper
    assert store.match_work(None, None, "9780201134476", None) == book
    assert store.match_work("https://p.example.com/", None, None, None) == page
    assert store.match_work(None, None, None, "onlyKey") == keyless
    assert store.match_work(None, "10.1/none", None, "onlyKey") is None  # a key speaks only without identity
    assert store.match_keyless_bibliography_work("Only a title", "webpage", "2020") == keyless
    assert store.match_keyless_bibliography_work("Only a title", "webpage", None) is None
    assert store.other_urlless_source_with_doi(keyless, "10.1/abc") == paper
    assert store.other_urlless_source_with_doi(page, "10.1/abc") is None  # the page has a URL
    with store.transaction():
        store.give_url_if_none(book, "https://p.example.com/", "https://p.example.com/", "p.example.com")
        store.give_isbn_if_none(paper, "9780000000002")
        store.give_isbn_if_none(book, "9780000000002")
    assert store.source_url(book) is None  # another source has that URL
    assert store.match_work(None, None, "9780000000002", None) == paper
    assert store.match_work(None, None, "9780201134476", None) == book  # an ISBN is never replaced


def test_user_notes_and_urls(store: Store) -> None:
    sid = add(store, None, added_by="bibliography", title="Book")
    with store.transaction():
        assert not store.set_user_note(sid, None, NOW)  # nothing to clear
        store.set_user_note(sid, "read me", NOW)
        store.set_source_url(sid, "https://book.example.com/", "https://Book.example.com", "book.example.com", NOW)
    assert store.user_note(sid) == "read me"
    assert store.source_url(sid) == "https://book.example.com/"
    with store.transaction():
        assert store.set_user_note(sid, None, NOW)
        store.move_source_url(sid, "https://book.example.com/", "https://book.example.org/", "book.example.org", NOW)
    assert store.user_note(sid) is None
    assert store.source_url(sid) == "https://book.example.org/"
    assert store.source_for_url("https://book.example.com/") == sid  # the old URL is an alias now


def test_tags_are_case_insensitive_and_keep_the_first_spelling(store: Store) -> None:
    a = add(store, "https://a.example.com/")
    b = add(store, "https://b.example.com/")
    with store.transaction():
        store.add_source_tags(a, ["ML", "infra"])
        store.add_source_tags(b, ["ml", "数据"])
        store.add_source_tags(a, ["ml"])  # already there, in another case
    assert store.tag_counts() == [("infra", 1), ("ML", 2), ("数据", 1)]
    assert [s["tags"] for s in store.list_sources(ids=[a, b])] == [["infra", "ML"], ["ML", "数据"]]
    with store.transaction():
        assert store.remove_source_tag(a, "Ml")
        assert not store.remove_source_tag(a, "absent")
    assert store.tag_counts() == [("infra", 1), ("ML", 1), ("数据", 1)]
    with store.transaction():
        assert store.unite_tags(a, [b]) == ["ML", "数据"]
    assert store.list_sources(ids=[a])[0]["tags"] == ["infra", "ML", "数据"]
    assert store.list_sources(ids=[b])[0]["tags"] == []


def test_evidence_round_trips_values_and_replaces_by_field_and_origin(store: Store) -> None:
    sid = add(store, "https://e.example.com/")
    authors = [{"family": "Müller", "given": "J."}, {"literal": "数据 Lab"}]
    with store.transaction():
        store.put_field_evidence([NewEvidence(sid, "title", "page:og", "Old", NOW),
                                  NewEvidence(sid, "author", "import", authors, NOW),
                                  NewEvidence(sid, "title", "user", "Mine", NOW)])
        store.put_field_evidence([NewEvidence(sid, "title", "page:og", "New", "2024-02-01T00:00:00Z")])
    assert store.field_evidence_for([sid, sid + 1]) == {
        sid: [Evidence("author", "import", authors), Evidence("title", "page:og", "New"),
              Evidence("title", "user", "Mine")],
        sid + 1: []}
    assert store.field_evidence_rows(sid)[1] == EvidenceRow("title", "page:og", "New", "2024-02-01T00:00:00Z",
                                                            store.user)
    with store.transaction():
        assert store.delete_user_pin(sid, "title")
        assert not store.delete_user_pin(sid, "title")
    assert [e.origin for e in store.field_evidence_for([sid])[sid]] == ["import", "page:og"]
    other = add(store, "https://f.example.com/")
    with store.transaction():
        store.add_field_evidence_rows(other, store.field_evidence_rows(sid))
    assert store.field_evidence_for([other])[other] == store.field_evidence_for([sid])[sid]


def test_cached_fields_show_in_listings(store: Store) -> None:
    sid = add(store, "https://c.example.com/")
    with store.transaction():
        store.write_cached_fields([(sid, {"title": "Cached", "issued": "2024-06", "author": '[{"family": "Lee"}]',
                                          "type": "webpage"})])
    item = store.list_sources(ids=[sid])[0]
    assert (item["title"], item["issued"], item["author"], item["type"]) == (
        "Cached", "2024-06", [{"family": "Lee"}], "webpage")
    assert item["mentions"] == [] and item["added_by"] == "add" and item["url_as_written"] == "https://c.example.com/"


def test_listing_filters_sorts_and_pages(store: Store) -> None:
    ids = [add(store, f"https://l.example.com/{i}") for i in range(5)]
    with store.transaction():
        store.write_cached_fields([(sid, {"title": t, "issued": d}) for sid, t, d in zip(
            ids, ["b", "A", None, "c", "a2"], ["2020", None, "2024-01", "2019", "2024"], strict=True)])
        store.add_source_tags(ids[1], ["keep"])
        store.add_source_tags(ids[3], ["Keep"])
    assert set(LIST_SORTS) == {"added", "issued", "title", "cited"}
    assert [s["id"] for s in store.list_sources()] == ids
    assert [s["id"] for s in store.list_sources(sort="title")] == [ids[1], ids[4], ids[0], ids[3], ids[2]]
    assert [s["id"] for s in store.list_sources(sort="issued")] == [ids[2], ids[4], ids[0], ids[3], ids[1]]
    assert [s["id"] for s in store.list_sources(limit=2, offset=1)] == ids[1:3]
    assert [s["id"] for s in store.list_sources(tag="KEEP")] == [ids[1], ids[3]]
    assert [s["id"] for s in store.list_sources(status="new")] == ids
    assert store.list_sources(orphans=True) == [] and store.count_sources(orphans=True) == 0
    assert store.count_sources() == 5
    with pytest.raises(UsageError):
        store.list_sources(sort="nonsense")
    assert store.list_sources(ids=[]) == []


def test_listing_takes_search_filters(store: Store) -> None:
    from refman.search import SearchFilters

    old = add(store, "https://x.example.com/old")
    new = add(store, "https://sub.x.example.com/new")
    add(store, "https://y.example.org/")
    with store.transaction():
        store.write_cached_fields([(old, {"issued": "2019"}), (new, {"issued": "2024-06"})])
    site = SearchFilters(site="x.example.com")
    assert [s["id"] for s in store.list_sources(filters=site)] == [old, new]
    assert store.count_sources(filters=site) == 2
    assert [s["id"] for s in store.list_sources(filters=SearchFilters(since="2024"))] == [new]


def test_statistics_and_summaries(store: Store) -> None:
    a = add(store, "https://s.example.com/a", doi=" 10.5/X ")
    b = add(store, "https://s.example.com/b", doi="10.5/x")
    add(store, "https://t.example.com/")
    with store.transaction():
        store.add_source_tags(a, ["one", "two"])
    stats = store.catalog_statistics()
    assert (stats["sources"], stats["tags"], stats["notes"], stats["snapshots"], stats["orphans"]) == (3, 2, 0, 0, 0)
    assert stats["by_status"] == {"new": 3}
    assert stats["top_hosts"] == {"s.example.com": 2, "t.example.com": 1}
    assert store.sources_with_doi() == [(a, "10.5/x"), (b, "10.5/x")]
    assert store.source_urls()[b] == "https://s.example.com/b"
    assert store.source_summaries([a])[a] == {"id": a, "url": "https://s.example.com/a", "title": None,
                                              "citekey": None, "status": "new", "mentions": 0}
    assert list(store.latest_live_fetches(("ok", "thin"))) == []
    assert list(store.latest_canonical_urls(("ok", "thin"))) == []
    assert store.mentions_of(a) == [] and store.recent_snapshots(a, 5) == [] and store.archived_chars(a) == 0


def test_merging_rows_and_deleting_the_merged(store: Store) -> None:
    keep = add(store, "https://m.example.com/keep")
    drop = add(store, "https://m.example.com/drop")
    with store.transaction():
        store.store_citekey(drop, "dropKey")
    rows = store.merge_rows([keep, drop, drop + 1])
    assert set(rows) == {keep, drop}
    assert (rows[drop].url, rows[drop].citekey, rows[drop].status, rows[drop].created_at) == (
        "https://m.example.com/drop", "dropKey", "new", NOW)
    with store.transaction():
        assert store.move_mentions(keep, [drop]) == 0
        assert store.move_snapshots(keep, [drop]) == 0
        assert store.archived_text_times([keep, drop]) == {}
        store.keep_archived_text(keep, None, [drop])
        store.clear_citekeys([drop])
        store.update_merged_source(keep, {"citekey": "dropKey", "user_note": "both", "updated_at": NOW})
        store.delete_merged_sources(keep, [drop], NOW)
    assert store.source_with_citekey("dropKey") == keep
    assert store.user_note(keep) == "both"
    assert store.source_for_url("https://m.example.com/drop") == keep
    assert not store.source_exists(drop)


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    sid = add(store, "https://r.example.com/")
    with pytest.raises(RuntimeError), store.transaction():
        store.add_source_tags(sid, ["gone"])
        store.put_field_evidence([NewEvidence(sid, "title", "user", "Gone", NOW)])
        raise RuntimeError("undo")
    assert store.tag_counts() == [] and store.field_evidence_for([sid]) == {sid: []}
