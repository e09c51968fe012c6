"""Contract of the store's notes group (refman.store.notes.NotesStore): any backend passes these.

A second backend adds a fixture: `store` here is a SqliteStore on a fresh catalog. The catalog is seeded through
the import batch writer itself (write_import_rows), as the notes importer does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from contract_backends import open_same

from refman.store.notes import ImportIds
from refman.store.protocol import Store

NOW = "2026-01-02T03:04:05Z"


def note(root: str, path: str, size: int = 10, mtime: int = 1, sha: str = "h") -> tuple[Any, ...]:
    return (root, path, size, mtime, sha, "utf-8", "ok", None, NOW)


def source(url: str, label_note: int | None = None, title: str | None = None) -> tuple[Any, ...]:
    return (url, url, url.split("/")[2], NOW, NOW, label_note, NOW, title, None, None, None)


def mention(sid: int, nid: int, ordinal: int, label: str, kind: str = "definition",
            title: str | None = None) -> tuple[Any, ...]:
    return (sid, nid, ordinal, ordinal + 1, label, title, None, None, kind, None)


def seed(store: Store) -> ImportIds:
    """Two notes in /v (a.md cites x twice and y; sub/b.md cites y and, bare, z), one in /w (cites x)."""
    ids = ImportIds()
    with store.bulk_import():
        store.write_import_rows(
            ids,
            [note("/v", "a.md"), note("/v", "sub/b.md", size=20, mtime=2), note("/w", "c.md")],
            [source("https://x.example/1", label_note=-1, title="X"), source("https://y.example/2"),
             source("https://z.example/3")],
            [mention(-1, -1, 0, "X"), mention(-2, -1, 1, "Docs"), mention(-1, -1, 2, "x again"),
             mention(-2, -2, 0, "docs"), mention(-3, -2, 1, "z", kind="bare"), mention(-1, -3, 0, "DOCS")],
            [(-1, "title", '"X"', NOW)])
    return ids


def test_new_notes_and_sources_get_ids_in_order_and_the_batch_names_resolve(store: Store) -> None:
    ids = seed(store)
    assert len(ids.notes) == 3 and ids.notes == sorted(ids.notes) and len(set(ids.notes)) == 3
    assert len(ids.sources) == 3 and ids.sources == sorted(ids.sources)
    assert ids.source(-2) == ids.sources[1] and ids.source(ids.sources[0]) == ids.sources[0]
    assert store.source_ids_by_url() == {"https://x.example/1": ids.sources[0], "https://y.example/2": ids.sources[1],
                                         "https://z.example/3": ids.sources[2]}
    assert {n.path: (n.id, n.size, n.mtime_ns) for n in store.notes_in_root("/v")} == {
        "a.md": (ids.notes[0], 10, 1), "sub/b.md": (ids.notes[1], 20, 2)}
    assert sorted(store.mentions_of_notes([ids.notes[1]])) == sorted([
        (ids.sources[1], "docs", "definition"), (ids.sources[2], "z", "bare")])
    assert store.label_evidence([ids.sources[0], ids.sources[1]]) == {ids.sources[0]: [("title", "label", '"X"')]}


def test_a_later_batch_resolves_names_of_an_earlier_one(store: Store) -> None:
    ids = seed(store)
    with store.bulk_import():
        store.write_import_rows(ids, [note("/v", "d.md")], [source("https://new.example/4")],
                                [mention(-1, -4, 0, "again"), mention(-4, -4, 1, "new")], [])
    assert len(ids.notes) == 4 and len(ids.sources) == 4
    assert sorted(store.mentions_of_notes([ids.notes[3]])) == sorted([
        (ids.sources[0], "again", "definition"), (ids.sources[3], "new", "definition")])


def test_roots_summaries_and_sizes(store: Store) -> None:
    ids = seed(store)
    assert store.vault_roots() == ["/v", "/w"]
    assert store.note_size_and_mtime("/v", "sub/b.md") == (20, 2)
    assert store.note_size_and_mtime("/v", "nope.md") is None
    summaries = store.note_summaries()
    assert [(n.root, n.path, n.mentions) for n in summaries] == [("/v", "a.md", 3), ("/v", "sub/b.md", 2),
                                                                 ("/w", "c.md", 1)]
    assert summaries[0].id == ids.notes[0] and summaries[0].status == "ok" and summaries[0].encoding == "utf-8"
    assert store.sources_cited_per_root() == {(store.user, "/v"): 3, (store.user, "/w"): 1}


def test_moving_a_root_prefixes_its_notes(store: Store) -> None:
    seed(store)
    with store.transaction():
        store.move_vault_root("/v", "/big", "v/")
    assert store.vault_roots() == ["/big", "/w"]
    assert sorted(n.path for n in store.notes_in_root("/big")) == ["v/a.md", "v/sub/b.md"]


def test_updating_touching_and_forgetting_notes(store: Store) -> None:
    ids = seed(store)
    a, b, c = ids.notes
    with store.transaction():
        store.update_notes([(99, 7, "h2", "gb18030", "skipped", "why", NOW, a)])
        store.touch_notes([(8, b)])
        store.delete_mentions_of_notes([a])
        store.delete_notes([c])
    notes = {n.path: n for n in store.notes_in_root("/v")}
    assert (notes["a.md"].size, notes["a.md"].mtime_ns, notes["a.md"].sha256) == (99, 7, "h2")
    assert notes["sub/b.md"].mtime_ns == 8 and notes["sub/b.md"].sha256 == "h"
    assert store.mentions_of_notes([a]) == [] and len(store.mentions_of_notes([b])) == 2
    assert store.vault_roots() == ["/v"] and store.mentions_of_notes([c]) == []
    summary = next(n for n in store.note_summaries() if n.path == "a.md")
    assert (summary.status, summary.reason, summary.encoding) == ("skipped", "why", "gb18030")


def test_label_usage_counts_sources_per_casefolded_definition_label(store: Store) -> None:
    ids = seed(store)
    x, y, z = ids.sources
    # "Docs"/"docs"/"DOCS" name y twice and x once: two sources; "X", "x again" one each; bare lines do not count
    assert store.label_usage() == {"docs": 2}
    with store.bulk_import():
        store.write_import_rows(ids, [], [], [mention(z, ids.notes[2], 1, "STRASSE"), mention(y, ids.notes[2], 2,
                                                                                             "Straße")], [])
    assert store.label_usage() == {"docs": 2, "strasse": 2}
    assert store.sources_with_definition_labels(["docs"]) == {x, y}
    assert store.sources_with_definition_labels(["strasse", "nothing"]) == {y, z}


def test_labelled_mentions_are_definitions_and_titled_bare_lines(store: Store) -> None:
    ids = seed(store)
    z = ids.sources[2]
    assert store.labelled_mentions([z]) == []  # an untitled bare line gives no label
    with store.bulk_import():
        store.write_import_rows(ids, [], [], [mention(z, ids.notes[0], 5, "Z title", kind="bare", title="Z title")],
                                [])
    found = store.labelled_mentions([z])
    assert [(m.source_id, m.path, m.root, m.kind, m.label, m.host) for m in found] == [
        (z, "a.md", "/v", "bare", "Z title", "z.example")]
    assert len(store.labelled_mentions(ids.sources)) == 6


def test_label_report_rows_are_in_note_order(store: Store) -> None:
    ids = seed(store)
    rows = store.mentions_for_label_report(ids.sources[0])
    assert [(r.path, r.line, r.label, r.host) for r in rows] == [
        ("a.md", 1, "X", "x.example"), ("a.md", 3, "x again", "x.example"), ("c.md", 1, "DOCS", "x.example")]


def test_label_evidence_is_replaced_and_columns_set(store: Store) -> None:
    ids = seed(store)
    x, y, _z = ids.sources
    with store.transaction():
        store.replace_label_evidence([x, y], [(y, "title", "link-text", '"Y"', NOW), (y, "issued", "label", '"2020"',
                                                                                      NOW)])
        store.set_label_columns([("Y", None, "2020", None, y)])
    found = store.label_evidence([x, y])
    assert list(found) == [y] and sorted(found[y]) == [("issued", "label", '"2020"'), ("title", "link-text", '"Y"')]


def test_bulk_import_is_all_or_nothing(store: Store) -> None:
    seed(store)
    with pytest.raises(RuntimeError), store.bulk_import():
        store.write_import_rows(ImportIds(), [note("/q", "q.md")], [source("https://q.example/")], [], [])
        raise RuntimeError("interrupted")
    assert store.vault_roots() == ["/v", "/w"] and "https://q.example/" not in store.source_ids_by_url()


def test_commit_counter_moves_on_other_writers_commits_only(store: Store, store_location: Path | str) -> None:
    seed(store)
    before = store.catalog_commit_counter()
    with store.transaction():
        store.touch_notes([(5, store.notes_in_root("/w")[0].id)])
    assert store.catalog_commit_counter() == before
    with open_same(store_location) as other, other.transaction():
        other.move_vault_root("/w", "/w2", "")
    assert store.catalog_commit_counter() != before
