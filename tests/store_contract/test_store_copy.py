"""Contract of the copy group of the Store (refman.store.copy.CopyStore): whole tables read in chunks and written
in batches with the store's own ids. Behaviour only; runs on every backend of the `store` fixture."""

from __future__ import annotations

import json
from typing import Any

import pytest

from refman.catalog import add_source
from refman.search import compose_row
from refman.store.copy import BLOB_COLUMNS, COPY_COLUMNS, COPY_KEYS, has_own_ids, write_columns
from refman.store.fetch import SNAPSHOT_COLUMNS
from refman.store.protocol import Store

NOW = "2026-01-01T00:00:00Z"


def _source(url: str | None, **columns: Any) -> list[Any]:
    row: dict[str, Any] = dict.fromkeys(write_columns("source"))
    row.update(url=url, url_as_written=url, host=None if url is None else url.split("/")[2], created_at=NOW,
               updated_at=NOW, added_by="note", status="new", fail_count=0, type="webpage")
    row.update(columns)
    return list(row.values())


def _snapshot(source_id: int, **columns: Any) -> list[Any]:
    row: dict[str, Any] = dict.fromkeys(SNAPSHOT_COLUMNS)
    row.update(source_id=source_id, fetched_at=NOW, outcome="ok", unchanged=False, origin="live")
    row.update(columns)
    return list(row.values())


def _all(store: Store, table: str, size: int = 5000) -> list[tuple[Any, ...]]:
    chunks = list(store.read_copy_rows(table, size))
    assert all(0 < len(chunk) <= size for chunk in chunks)
    return [tuple(row) for chunk in chunks for row in chunk]


def test_the_column_lists_are_the_models_columns() -> None:
    from refman import models

    tables = {m.__tablename__: m.__table__ for m in vars(models).values()  # type: ignore[attr-defined]
              if isinstance(m, type) and hasattr(m, "__table__")}
    for table, columns in COPY_COLUMNS.items():
        wanted = set(BLOB_COLUMNS) if table == "blob" else set(columns)
        assert {c.name for c in tables[table].columns} == wanted, table
        assert set(COPY_KEYS[table]) <= set(columns)
        assert has_own_ids(table) == (columns[0] == "id" and "id" not in write_columns(table))


def test_rows_written_get_the_stores_own_ids_and_are_read_back_in_chunks(store: Store) -> None:
    with store.transaction():
        first, _ = add_source(store, "https://before.example/")
    with store.transaction():
        ids = store.write_copy_rows("source", [_source(f"https://copy.example/{i}", title=f"T{i}") for i in range(5)])
    assert len(set(ids)) == 5 and first not in ids and ids == sorted(ids)
    with store.transaction():
        later, _ = add_source(store, "https://after.example/")  # the ids given are taken: the next one is free
    assert later not in ids
    rows = _all(store, "source", size=2)
    assert [r[0] for r in rows] == sorted([first, *ids, later])
    by_id = {r[0]: r for r in rows}
    url_at, title_at = COPY_COLUMNS["source"].index("url"), COPY_COLUMNS["source"].index("title")
    assert [(by_id[i][url_at], by_id[i][title_at]) for i in ids] == [(f"https://copy.example/{i}", f"T{i}")
                                                                      for i in range(5)]
    assert store.copy_counts()["source"] == 7


def test_rows_with_text_keys_are_each_read_once_whatever_their_case_and_script(store: Store) -> None:
    with store.transaction():
        (sid,) = store.write_copy_rows("source", [_source("https://tags.example/")])
        tags = ["b", "B2", "a", "Z", "é", "数据", "_x", "a-b", "a b"]
        store.write_copy_rows("source_tag", [(sid, tag, "ann") for tag in tags])
        store.write_copy_rows("field_value", [(sid, f, o, json.dumps(f), NOW, "bob")
                                              for f in ("title", "Title", "ißsued")
                                              for o in ("user", "label", "page:citation")])
    assert sorted(r[1] for r in _all(store, "source_tag", size=1)) == sorted(tags)
    assert len(set(_all(store, "field_value", size=2))) == 9
    assert store.copy_counts()["source_tag"] == 9
    assert {r[2] for r in _all(store, "source_tag")} == {"ann"}  # who wrote them comes along
    assert {r[5] for r in _all(store, "field_value")} == {"bob"}


def test_notes_mentions_snapshots_texts_and_blobs(store: Store) -> None:
    blob = ("ab" * 32, "identity", 3, 3, b"abc")
    with store.transaction():
        (note,) = store.write_copy_rows("note", [("/vault", "a.md", 10, 1, "f" * 64, "utf-8", "ok", None, NOW,
                                                   "ann")])
        (legacy,) = store.write_copy_rows("note", [("/old", "a.md", 10, 1, "f" * 64, "utf-8", "ok", None, NOW,
                                                     None)])
        (sid,) = store.write_copy_rows("source", [_source("https://m.example/", label_note=note)])
        mentions = store.write_copy_rows("mention", [(sid, note, i, i + 1, f"label {i}", None, None, None,
                                                      "definition", None) for i in range(3)])
        assert store.write_copy_rows("blob", [blob]) == []
        store.write_copy_rows("blob", [blob])  # already there: left as it is
        (snap,) = store.write_copy_rows("snapshot", [_snapshot(sid, body_hash=blob[0], unchanged=True)])
        store.write_copy_rows("source_text", [(sid, snap, "first text", None)])
        (snap2,) = store.write_copy_rows("snapshot", [_snapshot(sid, fetched_at="2026-02-01T00:00:00Z")])
        store.write_copy_rows("source_text", [(sid, snap2, "second text", blob[0])])  # replaces the first
    assert len(mentions) == 3
    # a note is (owner, root, path); one without owner (before 0013) is at that root and path for anyone
    assert store.notes_at([("ann", "/vault", "a.md"), ("ann", "/vault", "b.md"), ("ann", "/other", "a.md"),
                           ("bob", "/vault", "a.md"), ("bob", "/old", "a.md")]) == {
        ("ann", "/vault", "a.md"): (note, NOW), ("bob", "/old", "a.md"): (legacy, NOW)}
    assert store.notes_at([]) == {}
    assert [r[5] for r in _all(store, "mention", size=2)] == ["label 0", "label 1", "label 2"]
    assert _all(store, "blob") == [blob[:4]]
    assert store.blobs_present([blob[0], "cd" * 32]) == {blob[0]}
    assert store.read_blobs([blob[0], "cd" * 32]) == [blob]
    snapshots = _all(store, "snapshot")
    assert [r[0] for r in snapshots] == [snap, snap2]
    assert bool(snapshots[0][COPY_COLUMNS["snapshot"].index("unchanged")]) is True
    assert _all(store, "source_text") == [(sid, snap2, "second text", blob[0])]
    counts = store.copy_counts()
    assert (counts["note"], counts["mention"], counts["snapshot"], counts["blob"], counts["source_text"]) == (
        2, 3, 2, 1, 1)


def test_sources_written_by_a_copy_writer_are_in_the_search_index(store: Store) -> None:
    with store.transaction(), store.copy_writer(compose_row) as index:
        ids = store.write_copy_rows("source", [_source(f"https://s.example/{i}", title=f"Copied title {i}")
                                               for i in range(3)])
        store.write_copy_rows("source_tag", [(sid, "copied", None) for sid in ids])
        index.update(ids)
    check = store.check_catalog_integrity()
    assert check["search_index"] == "ok" and check["ok"], check


def test_a_failed_batch_writes_nothing(store: Store) -> None:
    with pytest.raises(Exception), store.transaction():  # noqa: B017 - the driver's own error type
        store.write_copy_rows("source", [_source("https://x.example/")])
        store.write_copy_rows("source", [_source("https://x.example/")])  # the same URL twice
    assert store.copy_counts()["source"] == 0
