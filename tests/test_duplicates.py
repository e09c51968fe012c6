"""Duplicate sources: detection by evidence (redirects, canonical URL, DOI) with its guards, and merging that
loses no mention, tag, note, pin or snapshot, keeps the search index exact and is all-or-nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from catalog_checks import assert_index_and_columns_are_exact

from refman import evidence as evidence_module
from refman.catalog import add_source, find_duplicates, merge_sources, set_fields, tag_sources
from refman.duplicates import is_generic_for, merge_duplicates
from refman.errors import NotFoundError, UsageError
from refman.evidence import refresh_sources
from refman.fetch.writer import KEPT_ORIGINS
from refman.notes.importer import import_vault
from refman.references import resolve_source
from refman.search import search
from refman.store import open_store
from refman.store.fetch import FetchAttempt
from refman.store.sources import NewEvidence
from refman.store.sqlite import SqliteStore

A = "https://blog.example.com/2024/rise-of-ai"
B = "https://example.com/p/123"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with open_store(db_path) as opened:
        yield opened


def write_vault(root: Path, notes: dict[str, str]) -> Path:
    for rel, text in notes.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def sid_of(store: SqliteStore, url: str) -> int:
    found = store.source_with_url(url)
    assert found is not None, url
    return found


def snapshot(store: SqliteStore, sid: int, fetched_at: str, *, outcome: str = "ok", final_url: str | None = None,
             hops: list[str] | None = None, canonical: str | None = None, text: str | None = None,
             unchanged: bool = False) -> int:
    """A fetch attempt as the pipeline records it (final URL, redirect chain, canonical in metadata_json), and
    optionally the archived text it gave; the source's fetch columns follow. Archived text replaces the page
    evidence (as a fetch does): give evidence after it."""
    meta = None if unchanged else json.dumps({"kind": "html", "canonical_url": canonical})
    good = outcome in ("ok", "thin")
    written = store.record_fetch_attempt(FetchAttempt(
        source_id=sid, fetched_at=fetched_at, status=outcome, reason=None, failed=not good, reachable=good,
        definitive=False, snapshot={
            "outcome": outcome, "http_status": 200, "final_url": final_url, "unchanged": unchanged,
            "metadata_json": meta,
            "redirects": json.dumps([{"url": u, "status": 301} for u in hops]) if hops else None,
        }, content_changed=text is not None, unchanged=unchanged, text=text, kept_origins=KEPT_ORIGINS,
    ))
    if written.evidence_replaced:
        refresh_sources(store, [sid])
    return written.snapshot_id


def evidence(store: SqliteStore, sid: int, field: str, origin: str, value: Any) -> None:
    store.put_field_evidence([NewEvidence(sid, field, origin, value, "2024-01-01T00:00:00Z")])
    refresh_sources(store, [sid])


def dump(store: SqliteStore) -> list[str]:
    conn = store.conn
    return list(conn.iterdump())




@pytest.fixture
def two(tmp_path: Path, store: SqliteStore) -> tuple[int, int]:
    """Two sources for the same page, each with mentions, tags, a note, pins, evidence, snapshots and text."""
    write_vault(tmp_path / "vault", {
        "a.md": f"# A\n\n[The rise of AI (6/24/2024)]: {A}\n> my annotation on A\n\n[Other]: https://other.example.org/x\n",
        "b.md": f"# B\n\n[Other]: https://other.example.org/x\n\n[数据基础设施 | Example]: {B}\n- 我的笔记\n\n"
                f"🏠 {B}?utm_source=feed\n",
    })
    import_vault(store, [tmp_path / "vault"])
    a, b = sid_of(store, A), sid_of(store, B)
    tag_sources(store, [a], add=["ml", "infra"])
    tag_sources(store, [b], add=["infra", "zh"])
    set_fields(store, a, ["note=read again", "issued=2024-06-24"])
    set_fields(store, b, ["note=数据 note", "issued=2024-06", "publisher=Example Press", "citekey=exampleRise"])
    snapshot(store, a, "2024-07-01T00:00:00Z", text="old text of A")
    snapshot(store, b, "2024-08-01T00:00:00Z", final_url=A, hops=[B], text="newer archived text 仓库")
    snapshot(store, b, "2024-09-01T00:00:00Z", outcome="timeout")
    evidence(store, a, "title", "page:og", "The Rise of AI Data Infrastructure")
    evidence(store, b, "title", "page:og", "Rise of AI (mirror)")
    evidence(store, b, "abstract", "page:meta", "An abstract only the second copy has.")
    return a, b


def test_merge_keeps_every_mention_tag_note_pin_and_snapshot(store: SqliteStore, two: tuple[int, int]) -> None:
    conn = store.conn
    a, b = two
    mentions_before = sorted(tuple(r) for r in conn.execute(
        "SELECT note_id, ordinal, line, label, annotation, kind FROM mention WHERE source_id IN (?, ?)", (a, b)))
    snapshots_before = {r[0] for r in conn.execute("SELECT id FROM snapshot WHERE source_id IN (?, ?)", (a, b))}
    sources_before = conn.execute("SELECT count(*) FROM source").fetchone()[0]

    result = merge_sources(store, a, [b])

    assert result["kept"] == a and result["dropped"] == [b] and result["dropped_urls"] == [B]
    assert conn.execute("SELECT count(*) FROM source WHERE id = ?", (b,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM source").fetchone()[0] == sources_before - 1
    # every mention, with its note, ordinal, line, label and annotation
    mentions_after = sorted(tuple(r) for r in conn.execute(
        "SELECT note_id, ordinal, line, label, annotation, kind FROM mention WHERE source_id = ?", (a,)))
    assert mentions_after == mentions_before and result["mentions_moved"] == 2
    assert conn.execute("SELECT count(*) FROM mention WHERE source_id = ?", (b,)).fetchone()[0] == 0
    # tags united, notes concatenated
    assert [t for (t,) in conn.execute("SELECT tag FROM source_tag WHERE source_id = ? ORDER BY tag", (a,))] == \
        ["infra", "ml", "zh"]
    assert result["tags_added"] == ["zh"]
    row = conn.execute("SELECT * FROM source WHERE id = ?", (a,)).fetchone()
    assert row["user_note"] == "read again\n\n数据 note" and result["note_merged"]
    # pins: the kept one wins, a pin the kept source lacks is adopted, the conflict is reported
    pins = dict(conn.execute("SELECT field, value FROM field_value WHERE source_id = ? AND origin = 'user'", (a,)))
    assert json.loads(pins["issued"]) == "2024-06-24" and json.loads(pins["publisher"]) == "Example Press"
    assert result["pins_adopted"] == ["publisher"]
    assert result["pins_discarded"] == [{"id": b, "field": "issued", "value": "2024-06"}]
    assert row["issued"] == "2024-06-24" and row["publisher"] == "Example Press"
    # other evidence: only (field, origin) pairs the kept source lacked
    og = conn.execute("SELECT value FROM field_value WHERE source_id = ? AND field = 'title' AND origin = 'page:og'",
                      (a,)).fetchone()[0]
    assert json.loads(og) == "The Rise of AI Data Infrastructure"
    assert row["abstract"] == "An abstract only the second copy has."
    assert {"field": "abstract", "origin": "page:meta"} in result["evidence_adopted"]
    # snapshots moved; the newest good snapshot's text won; fetch dates combined
    assert {r[0] for r in conn.execute("SELECT id FROM snapshot WHERE source_id = ?", (a,))} == snapshots_before
    assert result["snapshots_moved"] == 2 and result["text_from"] == b
    assert conn.execute("SELECT text FROM source_text WHERE source_id = ?", (a,)).fetchone()[0] == \
        "newer archived text 仓库"
    assert row["fetched_at"] == "2024-09-01T00:00:00Z" and row["last_ok_at"] == "2024-08-01T00:00:00Z"
    assert row["status"] == "ok"  # the kept URL's own last fetch, not the dropped URL's timeout
    assert row["first_cited_at"] is not None and row["added_by"] == "note"
    # the dropped source's key moves to the kept one, which had none
    assert row["citekey"] == "exampleRise" and result["citekey"] == "exampleRise"
    assert result["dropped_citekeys"] == []
    # nothing of the dropped source is left anywhere
    for table in ("field_value", "source_tag", "snapshot", "source_text", "mention"):
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE source_id = ?", (b,)).fetchone()[0] == 0
    # the index follows: the dropped source's words now find the kept one
    assert_index_and_columns_are_exact(store.conn)
    assert [h.id for h in search(store, "仓库")] == [a]
    assert [h.id for h in search(store, "tag:zh")] == [a]
    assert [h.id for h in search(store, "我的笔记")] == [a]


def test_citation_keys(store: SqliteStore) -> None:
    conn = store.conn
    k1, _ = add_source(store, "https://k.example.com/1")
    k2, _ = add_source(store, "https://k.example.com/2")
    k3, _ = add_source(store, "https://k.example.com/3")
    set_fields(store, k1, ["citekey=keepMe"])
    set_fields(store, k2, ["citekey=dropMe"])
    set_fields(store, k3, ["citekey=alsoGone"])
    result = merge_sources(store, k1, [k2, k3])
    assert result["citekey"] == "keepMe" and result["dropped_citekeys"] == ["dropMe", "alsoGone"]
    assert conn.execute("SELECT citekey FROM source WHERE id = ?", (k1,)).fetchone()[0] == "keepMe"
    # a kept source without a key takes the first dropped key, even one differing only in case from it
    n1, _ = add_source(store, "https://n.example.com/1")
    n2, _ = add_source(store, "https://n.example.com/2")
    n3, _ = add_source(store, "https://n.example.com/3")
    set_fields(store, n3, ["citekey=Third"])
    set_fields(store, n2, ["citekey=second"])
    result = merge_sources(store, n1, [n3, n2])
    assert result["citekey"] == "Third" and result["dropped_citekeys"] == ["second"]
    assert conn.execute("SELECT citekey FROM source WHERE id = ?", (n1,)).fetchone()[0] == "Third"
    # the freed key can be used again
    other, _ = add_source(store, "https://n.example.com/4")
    set_fields(store, other, ["citekey=SECOND"])


def test_label_evidence_comes_with_its_note_only_when_the_kept_source_has_none(
        tmp_path: Path, store: SqliteStore) -> None:
    conn = store.conn
    kept, _ = add_source(store, "https://added.example.com/by-hand")
    write_vault(tmp_path / "v", {"n.md": "[Labelled title (2021)]: https://added.example.com/other\n"})
    import_vault(store, [tmp_path / "v"])
    dup = sid_of(store, "https://added.example.com/other")
    note_id = conn.execute("SELECT label_note FROM source WHERE id = ?", (dup,)).fetchone()[0]
    merge_sources(store, kept, [dup])
    row = conn.execute("SELECT * FROM source WHERE id = ?", (kept,)).fetchone()
    assert row["label_note"] == note_id and row["title"] == "Labelled title" and row["issued"] == "2021"
    assert row["added_by"] == "add" and row["first_cited_at"] is not None
    assert_index_and_columns_are_exact(store.conn)


def test_failures_leave_the_catalog_unchanged(store: SqliteStore, two: tuple[int, int],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = two
    before = dump(store)
    with pytest.raises(NotFoundError, match="9999"):
        merge_sources(store, a, [b, 9999])
    with pytest.raises(NotFoundError):
        merge_sources(store, 9999, [a])
    with pytest.raises(UsageError, match="itself"):
        merge_sources(store, a, [a])
    with pytest.raises(UsageError):
        merge_sources(store, a, [])
    assert dump(store) == before

    def broken(*_args: Any) -> None:  # fails after mentions, tags, evidence and snapshots were moved
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(evidence_module, "refresh_sources", broken)
    with pytest.raises(RuntimeError):
        merge_sources(store, a, [b])
    assert not store.in_transaction
    assert dump(store) == before


def test_merge_joins_the_callers_transaction(store: SqliteStore, two: tuple[int, int]) -> None:
    conn = store.conn
    a, b = two
    before = dump(store)
    conn.execute("BEGIN IMMEDIATE")
    merge_sources(store, a, [b])
    conn.execute("ROLLBACK")
    assert dump(store) == before


# --- detection ------------------------------------------------------------------------------------------


def groups_by_ids(store: SqliteStore) -> list[tuple[list[int], str]]:
    return [([g["keep"], *g["drop"]], g["reason"]) for g in find_duplicates(store)]


def test_detection_by_final_url_and_redirect_hops(store: SqliteStore) -> None:
    short, _ = add_source(store, "https://sho.rt/abc")
    article, _ = add_source(store, "https://news.example.com/2024/story")
    http, _ = add_source(store, "http://old.example.com/story?id=7&utm_source=x")
    alone, _ = add_source(store, "https://alone.example.com/page")
    # the short link lands on the article (tracking parameters in the final URL do not matter)
    snapshot(store, short, "2024-01-01T00:00:00Z", final_url="https://news.example.com/2024/story?utm_medium=s",
             hops=["https://sho.rt/abc"])
    # an old URL went through the short link's path (a hop) to another place
    snapshot(store, http, "2024-01-01T00:00:00Z", final_url="https://new.example.com/story/7",
             hops=["http://old.example.com/story?id=7", "https://sho.rt/abc"])
    snapshot(store, alone, "2024-01-01T00:00:00Z", final_url="https://alone.example.com/page")
    groups = find_duplicates(store)
    assert len(groups) == 1
    g = groups[0]
    assert g["keep"] == short and g["drop"] == [article, http] and g["reason"] == "redirect"
    assert {e["value"] for e in g["evidence"]} == {"https://news.example.com/2024/story", "https://sho.rt/abc"}
    assert [s["id"] for s in g["sources"]] == [short, article, http]
    assert set(g["sources"][0]) == {"id", "url", "title", "citekey", "status", "mentions"}


def test_only_the_latest_good_snapshot_speaks(store: SqliteStore) -> None:
    moved, _ = add_source(store, "https://a.example.com/moved")
    old_target, _ = add_source(store, "https://a.example.com/old-target")
    snapshot(store, moved, "2023-01-01T00:00:00Z", final_url="https://a.example.com/old-target")
    snapshot(store, moved, "2024-01-01T00:00:00Z", final_url="https://a.example.com/moved")
    snapshot(store, moved, "2024-02-01T00:00:00Z", outcome="dead", final_url="https://a.example.com/old-target")
    assert find_duplicates(store) == []
    # two sources landing on the same page that is not itself a source are duplicates too
    s1, _ = add_source(store, "https://b.example.com/x")
    s2, _ = add_source(store, "https://b.example.com/y")
    snapshot(store, s1, "2024-01-01T00:00:00Z", final_url="https://b.example.com/z")
    snapshot(store, s2, "2024-01-01T00:00:00Z", final_url="https://b.example.com/z")
    assert groups_by_ids(store) == [([s1, s2], "redirect")]
    del old_target


def test_detection_by_canonical_url(store: SqliteStore) -> None:
    amp, _ = add_source(store, "https://m.example.com/amp/story-1")
    story, _ = add_source(store, "https://example.com/story-1")
    page2, _ = add_source(store, "https://other.example.com/article?page=2")
    snapshot(store, amp, "2024-01-01T00:00:00Z", final_url="https://m.example.com/amp/story-1",
             canonical="https://example.com/story-1#top")
    # a canonical that names no page the catalog knows groups nothing
    snapshot(store, page2, "2024-01-01T00:00:00Z", canonical="https://other.example.com/article")
    # an `unchanged` re-check has no metadata: the canonical of the content snapshot still counts
    snapshot(store, amp, "2024-02-01T00:00:00Z", final_url="https://m.example.com/amp/story-1", unchanged=True)
    assert groups_by_ids(store) == [([amp, story], "canonical")]


def test_detection_by_doi(store: SqliteStore) -> None:
    pub, _ = add_source(store, "https://publisher.example.com/article/1")
    pdf, _ = add_source(store, "https://cdn.example.com/paper.pdf")
    other, _ = add_source(store, "https://publisher.example.com/article/2")
    evidence(store, pub, "doi", "page:citation", "10.1234/ABC.5")
    set_fields(store, pdf, ["doi=https://doi.org/10.1234/abc.5"])
    evidence(store, other, "doi", "page:citation", "10.1234/abc.6")
    groups = find_duplicates(store)
    assert [([g["keep"], *g["drop"]], g["reason"]) for g in groups] == [([pub, pdf], "doi")]
    assert groups[0]["evidence"] == [{"reason": "doi", "value": "10.1234/abc.5", "ids": [pub, pdf]}]


def test_groups_are_transitive_and_list_every_reason(store: SqliteStore) -> None:
    a, _ = add_source(store, "https://one.example.com/a")
    b, _ = add_source(store, "https://two.example.com/b")
    c, _ = add_source(store, "https://three.example.com/c")
    snapshot(store, b, "2024-01-01T00:00:00Z", final_url="https://one.example.com/a")
    evidence(store, b, "doi", "page:citation", "10.5555/x")
    evidence(store, c, "doi", "page:citation", "10.5555/X")
    assert groups_by_ids(store) == [([a, b, c], "redirect, doi")]


def test_home_pages_sections_and_generic_urls_merge_nothing(store: SqliteStore) -> None:
    home, _ = add_source(store, "https://site.example.com/")
    section, _ = add_source(store, "https://site.example.com/blog/")
    about, _ = add_source(store, "https://site.example.com/about")
    posts = [add_source(store, f"https://site.example.com/blog/post-{i}")[0] for i in range(8)]
    # every page names the home page as canonical (a template bug), one gone article redirects home (a soft 404),
    # another to its section; six more name the same fixed "about" page as canonical
    for i, sid in enumerate(posts):
        snapshot(store, sid, "2024-01-01T00:00:00Z", final_url=f"https://site.example.com/blog/post-{i}",
                 canonical="https://site.example.com/" if i == 0 else "https://site.example.com/about")
    snapshot(store, posts[0], "2024-02-01T00:00:00Z", final_url="https://site.example.com/",
             canonical="https://site.example.com/")
    snapshot(store, posts[1], "2024-02-01T00:00:00Z", final_url="https://site.example.com/blog/")
    assert find_duplicates(store) == []
    # a home page is a fine target for another home page (www / http variants)
    www, _ = add_source(store, "http://www.site.example.com/")
    snapshot(store, www, "2024-01-01T00:00:00Z", final_url="https://site.example.com/")
    assert groups_by_ids(store) == [([home, www], "redirect")]
    del section, about


def test_is_generic_for() -> None:
    assert is_generic_for("https://x.com/", "https://x.com/a/b")
    assert not is_generic_for("https://x.com/", "https://www.x.com/")
    assert is_generic_for("https://x.com/blog", "https://www.x.com/blog/post")
    assert not is_generic_for("https://x.com/blog?p=3", "https://x.com/blog/post")
    assert not is_generic_for("https://y.com/blog", "https://x.com/blog/post")
    assert not is_generic_for("https://x.com/questions/1", "https://x.com/q/1")
    assert not is_generic_for("https://x.com/?p=12", "https://x.com/2024/post")


def test_merge_duplicates_then_nothing_is_left(store: SqliteStore, two: tuple[int, int]) -> None:
    a, b = two
    c, _ = add_source(store, "https://doi.example.com/one")
    d, _ = add_source(store, "https://doi.example.com/two")
    evidence(store, c, "doi", "page:citation", "10.1/one")
    evidence(store, d, "doi", "page:citation", "10.1/ONE")
    groups = find_duplicates(store)
    assert [([g["keep"], *g["drop"]], g["reason"]) for g in groups] == [([a, b], "redirect"), ([c, d], "doi")]
    results = merge_duplicates(store, groups)
    assert [(r["kept"], r["dropped"]) for r in results] == [(a, [b]), (c, [d])]
    assert find_duplicates(store) == []
    assert_index_and_columns_are_exact(store.conn)


def test_reimport_after_a_merge(tmp_path: Path, store: SqliteStore, two: tuple[int, int]) -> None:
    """The dropped URL becomes an alias of the kept source: a changed note that still cites it, `refman add`
    and a lookup by that URL all lead to the kept source; nothing is re-created."""
    conn = store.conn
    a, b = two
    merge_sources(store, a, [b])
    vault = tmp_path / "vault"
    import_vault(store, [vault])  # unchanged notes: nothing moves back
    assert conn.execute("SELECT count(*) FROM source WHERE url = ?", (B,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM mention WHERE source_id = ?", (a,)).fetchone()[0] == 3
    note = vault / "b.md"
    note.write_text(note.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
    report = import_vault(store, [vault])
    assert report.sources_new == 0 and report.notes_scanned == 1
    assert conn.execute("SELECT count(*) FROM source WHERE url = ?", (B,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM mention WHERE source_id = ?", (a,)).fetchone()[0] == 3
    assert resolve_source(store, B) == a
    assert add_source(store, B) == (a, False)
    assert find_duplicates(store) == []
    assert_index_and_columns_are_exact(store.conn)


def test_merging_a_kept_source_carries_its_aliases(store: SqliteStore, two: tuple[int, int]) -> None:
    conn = store.conn
    a, b = two
    merge_sources(store, a, [b])
    c, created = add_source(store, "https://elsewhere.example.org/third")
    assert created
    merge_sources(store, c, [a])  # a's own URL and its alias B now both lead to c
    aliases = dict(conn.execute("SELECT url, source_id FROM source_alias"))
    assert aliases[B] == c and c in aliases.values() and len(aliases) == 2
    # deleting a source deletes its aliases (no dangling rows)
    store.delete_sources_cascading([c])
    assert conn.execute("SELECT count(*) FROM source_alias").fetchone()[0] == 0
