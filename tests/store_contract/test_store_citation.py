"""Contract of the citation group of the Store (refman.store.citation.CitationStore): keys, selections, the export
stream, registered exports, maintenance. Behaviour only; a second backend adds its own `store` fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from contract_backends import open_same

from refman.catalog import add_source, set_fields
from refman.notes.importer import import_vault
from refman.store import open_store
from refman.store.citation import ExportRecord
from refman.store.protocol import Store


def _add(store: Store, url: str, title: str | None = None, tags: tuple[str, ...] = ()) -> int:
    sid, _created = add_source(store, url, title=title, tags=tags)
    return sid


def _vault(store: Store, tmp_path: Path) -> dict[str, int]:
    """Two notes citing three URLs; returns {url: source id}."""
    root = tmp_path / "vault"
    (root / "b").mkdir(parents=True)
    (root / "a.md").write_text("[one] [three]\n\n[one]: https://one.example/\n[three]: https://three.example/\n")
    (root / "b" / "c.md").write_text("[two] [one]\n\n[two]: https://two.example/\n[one]: https://one.example/\n")
    import_vault(store, [root])
    return {url: _add(store, url) for url in ("https://one.example/", "https://two.example/", "https://three.example/")}


def test_keys_are_stored_listed_and_unique_case_insensitively(store: Store) -> None:
    a, b, c = (_add(store, f"https://k.example/{i}") for i in range(3))
    assert store.has_keyless_sources()
    assert store.keyless_source_ids([c, a, 999]) == [a, c]
    with store.transaction():
        store.store_citekeys([("Smith2020", a), ("lee2021", b)])
    assert store.citekeys_of(None) == {a: "Smith2020", b: "lee2021"}
    assert store.citekeys_of([b, c]) == {b: "lee2021"}
    assert store.taken_citekeys() == {"smith2020", "lee2021"}
    assert store.citekey_holder("SMITH2020") == a
    assert store.citekey_holder("smith2020", other_than=a) is None
    assert store.citekey_of_source(c) is None
    with store.transaction():
        assert not store.set_citekey(c, "SMITH2020")  # taken, whatever the case
        assert store.set_citekey(c, "zed")
    assert store.citekey_of_source(c) == "zed" and not store.has_keyless_sources()


def test_citekey_of_an_unknown_source_is_not_found(store: Store) -> None:
    from refman.errors import NotFoundError

    with pytest.raises(NotFoundError):
        store.citekey_of_source(42)


def test_replace_citekeys_swaps_keys_within_the_batch(store: Store) -> None:
    a, b = _add(store, "https://s.example/a"), _add(store, "https://s.example/b")
    with store.transaction():
        store.store_citekeys([("one", a), ("two", b)])
    store.replace_citekeys([(a, "two"), (b, "one")])
    assert store.citekeys_of(None) == {a: "two", b: "one"}


def test_keyless_rows_come_in_id_order_and_pages(store: Store) -> None:
    ids = [_add(store, f"https://p.example/{i}", title=f"Page {i}") for i in range(5)]
    with store.transaction():
        store.store_citekeys([("kept", ids[2])])
    pages = list(store.keyless_key_rows(None, size=2))
    assert [len(p) for p in pages] == [2, 2]
    assert [row[0] for page in pages for row in page] == [ids[0], ids[1], ids[3], ids[4]]
    assert [row[0] for page in store.keyless_key_rows([ids[4], ids[0]]) for row in page] == [ids[0], ids[4]]
    assert pages[0][0][1] == "https://p.example/0"  # KEY_ROW_COLUMNS: id, url, …


def test_a_key_pinned_during_an_assignment_waits_and_finds_the_key_taken(store: Store,
                                                                         store_location: Path | str) -> None:
    import threading

    assigned, pinned = _add(store, "https://race.example/a"), _add(store, "https://race.example/b")
    outcome: list[bool] = []

    def pin() -> None:
        with open_same(store_location) as other:
            outcome.append(other.set_citekey(pinned, "Race2020"))

    with store.transaction():
        assert "race2020" not in store.taken_citekeys()  # what an assignment computes its keys from
        thread = threading.Thread(target=pin)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive() and not outcome  # the pin waits for the assignment's transaction
        store.store_citekeys([("race2020", assigned)])
    thread.join(30)
    assert outcome == [False]
    assert store.citekeys_of(None) == {assigned: "race2020"}


def test_citekey_order_is_case_insensitive_then_exact_then_id(store: Store) -> None:
    ids = [_add(store, f"https://o.example/{i}") for i in range(4)]
    with store.transaction():
        store.store_citekeys([("beta", ids[0]), ("Alpha", ids[1]), ("alphb", ids[2]), ("ALPHA2", ids[3])])
    assert [key for _sid, key in store.citekey_order()] == ["Alpha", "ALPHA2", "alphb", "beta"]


def test_selections_by_note_tag_and_all(store: Store, tmp_path: Path) -> None:
    urls = _vault(store, tmp_path)
    one, two, three = urls["https://one.example/"], urls["https://two.example/"], urls["https://three.example/"]
    notes = store.notes_by_path()
    assert [path for _id, _root, path in notes] == ["a.md", "b/c.md"]
    a_md, c_md = notes[0][0], notes[1][0]
    assert store.sources_cited_by_note([c_md, a_md]) == {c_md: [two, one], a_md: [one, three]}
    assert store.sources_cited_in([c_md, a_md]) == [two, one, three]
    tagged = _add(store, "https://t.example/", tags=("gpu",))
    assert store.sources_tagged(["gpu", "none"]) == [tagged]
    assert sorted(store.citable_source_ids()) == sorted([one, two, three, tagged])


def test_citation_rows_carry_columns_evidence_and_tags(store: Store) -> None:
    sid = _add(store, "https://r.example/", title="A Title", tags=("b-tag", "a-tag"))
    set_fields(store, sid, ["volume=12"])
    other = _add(store, "https://r.example/other")
    rows = store.citation_rows([sid], ["volume"])
    assert [row[0] for row in rows.sources] == [sid]
    assert rows.sources[0][1] == "https://r.example/"  # SOURCE_ROW_COLUMNS: id, url, …
    assert [(s, f, o) for s, f, o, _v in rows.evidence] == [(sid, "volume", "user")]
    assert rows.tags == [(sid, "a-tag"), (sid, "b-tag")]
    everything = store.citation_rows(None, [])
    assert [row[0] for row in everything.sources] == [sid, other] and everything.evidence == []
    assert not store.has_archived_copies()


def test_read_snapshot_sees_one_state(store: Store, store_location: Path | str, tmp_path: Path) -> None:
    _add(store, "https://snap.example/1")
    with open_same(store_location) as other, store.read_snapshot():
        before = store.citable_source_ids()
        _add(other, "https://snap.example/2")
        assert store.citable_source_ids() == before
    assert len(store.citable_source_ids()) == 2 and not store.in_transaction


def test_registered_exports_round_trip(store: Store) -> None:
    assert store.has_export_registry() and not store.registered_exports_exist()
    record = ExportRecord(None, "refs", "/tmp/refs.bib", "biblatex", False, '{"all": true}', None, None, None, "t0")
    with store.transaction():
        store.add_registered_export(record)
        store.add_registered_export(record._replace(name="notes", path="/tmp/notes", per_note=True))
    assert store.registered_exports_exist()
    assert [r.name for r in store.registered_exports()] == ["notes", "refs"]
    assert store.registered_export_at("/tmp/refs.bib") == "refs" and store.registered_export_at("/x") is None
    with store.transaction():
        store.record_export_written("refs", "abc", "t1", None)
    stored = store.registered_export_named("refs")
    assert stored is not None and stored.id is not None
    assert (stored.written_hash, stored.written_at, stored.options, stored.created_at) == ("abc", "t1",
                                                                                          '{"all": true}', "t0")
    with store.transaction():
        store.redefine_registered_export(stored._replace(format="csljson", files='{"a": "b"}'))
    again = store.registered_export_named("refs")
    assert again is not None and (again.format, again.files, again.written_hash) == ("csljson", '{"a": "b"}', None)
    store.remove_registered_export("refs")
    assert store.registered_export_named("refs") is None and [r.name for r in store.registered_exports()] == ["notes"]


def test_catalog_file_is_the_catalog(store: Store, tmp_path: Path) -> None:
    expected = None if store.backend == "postgresql" else (tmp_path / "catalog.db").resolve()  # a database: no file
    assert store.catalog_file() == expected


def test_check_and_delete(store: Store, tmp_path: Path) -> None:
    urls = _vault(store, tmp_path)
    one = urls["https://one.example/"]
    set_fields(store, one, ["title=Pinned"])
    report = store.check_catalog_integrity()
    assert report["ok"] and report["integrity"] == "ok" and report["search_index"] == "ok"
    assert report["foreign_keys"] == [] and report["skipped"] == []
    assert store.sources_to_delete([one, 999])[0].url == "https://one.example/"
    assert len(store.sources_to_delete([one, 999])) == 1
    assert store.source_dependents([one]) == (2, 0, 0, 1)  # mentions, tags, snapshots, pins
    store.delete_sources_cascading([one])
    assert one not in store.citable_source_ids()
    assert store.source_dependents([one]) == (0, 0, 0, 0)
    assert store.unreferenced_blobs() == (0, 0)
    store.delete_unreferenced_blobs()
    assert store.check_catalog_integrity()["ok"]


def test_check_passes_after_a_reindex(store: Store, tmp_path: Path) -> None:
    from refman.search import compose_row

    _vault(store, tmp_path)
    sid = _add(store, "https://cjk.example/", title="東京の本 Tōkyō", tags=("日本",))
    set_fields(store, sid, ['author=[{"family": "山田", "given": "太郎"}, {"literal": "ACME"}]'])
    with store.transaction():  # refman.search.rebuild_index, without its count (the rows read before writing)
        store.rebuild_search_index([compose_row(source) for source in store.sources_to_index()])
    assert store.check_catalog_integrity()["ok"]


def test_check_finds_a_source_missing_from_the_search_index(store: Store) -> None:
    sid = _add(store, "https://missing.example/", title="Gone from the index")
    conn: Any = store.conn  # type: ignore[attr-defined]
    if store.backend == "postgresql":
        conn.execute("DELETE FROM search_doc WHERE source_id = %s", (sid,))
    else:
        conn.execute("DELETE FROM search_fts WHERE rowid = ?", (sid,))
    report = store.check_catalog_integrity()
    assert not report["ok"] and report["search_index"] == ["1 sources missing from the search index"]


def test_garbage_collection_deletes_only_unreferenced_blobs(store: Store) -> None:
    sid = _add(store, "https://blob.example/")
    conn: Any = store.conn  # type: ignore[attr-defined]
    mark = "%s" if store.backend == "postgresql" else "?"
    with store.transaction():
        for digest, data in (("kept", b"body"), ("garbage", b"old body!")):
            conn.execute(f"INSERT INTO blob (hash, codec, size, stored_size, data) VALUES ({mark}, 'identity', "
                         f"{mark}, {mark}, {mark})", (digest, len(data), len(data), data))
        conn.execute(f"INSERT INTO snapshot (source_id, fetched_at, outcome, body_hash) VALUES ({mark}, 't', 'ok', "
                     f"{mark})", (sid, "kept"))
    assert store.unreferenced_blobs() == (1, 9)
    with store.transaction():
        store.delete_unreferenced_blobs()
    assert store.unreferenced_blobs() == (0, 0)
    assert store.source_dependents([sid]) == (0, 0, 1, 0)
    store.delete_sources_cascading([sid])  # the snapshot goes with its source, its body stays until collected
    assert store.unreferenced_blobs() == (1, 4)


def test_garbage_collection_waits_for_a_writer_reusing_an_unreferenced_blob(store: Store,
                                                                           store_location: Path | str) -> None:
    import threading

    sid = _add(store, "https://reuse.example/")
    conn: Any = store.conn  # type: ignore[attr-defined]
    mark = "%s" if store.backend == "postgresql" else "?"
    put_blob = (f"INSERT INTO blob (hash, codec, size, stored_size, data) VALUES ({mark}, 'identity', 4, 4, {mark}) "
                "ON CONFLICT (hash) DO NOTHING")
    with store.transaction():
        conn.execute(put_blob, ("old", b"body"))
    assert store.unreferenced_blobs() == (1, 4)
    errors: list[BaseException] = []

    def collect() -> None:
        try:
            with open_same(store_location) as other, other.transaction():
                other.delete_unreferenced_blobs()
        except BaseException as exc:  # reported below
            errors.append(exc)

    with store.transaction():  # a fetch storing a body that is already there, then its snapshot
        conn.execute(put_blob, ("old", b"body"))
        thread = threading.Thread(target=collect)
        thread.start()
        thread.join(0.5)
        conn.execute(f"INSERT INTO snapshot (source_id, fetched_at, outcome, body_hash) VALUES ({mark}, 't', 'ok', "
                     f"{mark})", (sid, "old"))
    thread.join(30)
    assert not thread.is_alive() and errors == []
    assert store.unreferenced_blobs() == (0, 0) and store.source_dependents([sid]).snapshots == 1


def test_backup_copies_the_catalog(store: Store, tmp_path: Path) -> None:
    if store.backend == "postgresql":
        pytest.skip("copies a catalog file; a PostgreSQL catalog is backed up with pg_dump")
    _vault(store, tmp_path)
    copy = tmp_path / "copy.db"
    assert store.copy_catalog_to(copy) > 0
    with open_store(copy, create=False) as restored:
        assert sorted(restored.citable_source_ids()) == sorted(store.citable_source_ids())


def test_postgresql_backup_points_at_pg_dump(store: Store, tmp_path: Path) -> None:
    if store.backend != "postgresql":
        pytest.skip("PostgreSQL has no catalog file to copy")
    from refman.errors import UsageError

    with pytest.raises(UsageError, match="pg_dump"):
        store.copy_catalog_to(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()


def _foreign_keys_to_blob(store: Store) -> set[tuple[str, str]]:
    """(table, column) of every foreign key to `blob` in the catalog."""
    conn: Any = store.conn  # type: ignore[attr-defined]
    if store.backend == "postgresql":
        return {(table, column) for table, column in conn.execute(
            "SELECT kcu.table_name, kcu.column_name FROM information_schema.referential_constraints rc "
            "JOIN information_schema.key_column_usage kcu ON kcu.constraint_schema = rc.constraint_schema "
            "AND kcu.constraint_name = rc.constraint_name "
            "JOIN information_schema.constraint_column_usage ccu "
            "ON ccu.constraint_schema = rc.unique_constraint_schema "
            "AND ccu.constraint_name = rc.unique_constraint_name "
            "WHERE rc.constraint_schema = current_schema() AND ccu.table_name = 'blob'")}
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {(table, fk[3]) for table in tables for fk in conn.execute(f"PRAGMA foreign_key_list({table})")
            if fk[2] == "blob"}


def test_garbage_collection_knows_every_reference_to_a_blob(store: Store) -> None:
    from refman.store.citation import BLOB_REFERENCES

    assert _foreign_keys_to_blob(store) == set(BLOB_REFERENCES)


def test_postgresql_check_finds_broken_references_and_a_stale_search_document(store: Store) -> None:
    if store.backend != "postgresql":
        pytest.skip("PostgreSQL's triggers: SQLite's own checks are PRAGMAs")
    sid = _add(store, "https://broken.example/", title="Indexed")
    conn: Any = store.conn  # type: ignore[attr-defined]
    with store.transaction():
        conn.execute("ALTER TABLE source_tag DISABLE TRIGGER ALL")  # foreign key and index upkeep off
        conn.execute("INSERT INTO source_tag (source_id, tag) VALUES (%s, 'orphan')", (sid + 1000,))
        conn.execute("ALTER TABLE search_doc DISABLE TRIGGER search_doc_bi")
        conn.execute("UPDATE search_doc SET title = 'changed' WHERE source_id = %s", (sid,))
        conn.execute("ALTER TABLE search_doc ENABLE TRIGGER search_doc_bi")
    report = store.check_catalog_integrity()
    assert not report["ok"]
    assert report["foreign_keys"] == [{"table": "source_tag", "rowid": [sid + 1000, "orphan"], "parent": "source"}]
    assert report["search_index"] == ["1 search index rows whose document does not match their text",
                                      "1 search index rows whose describing vector does not match their text"]
    assert [problem for problem in report["integrity"] if "source_tag" in problem]  # its disabled triggers


def test_postgresql_check_finds_a_damaged_describing_vector(store: Store) -> None:
    """`describing` (what searches of the describing columns read) is checked apart from `document`: a row whose
    `describing` alone is wrong is reported, and `refman db reindex` clears it."""
    if store.backend != "postgresql":
        pytest.skip("PostgreSQL's search index: SQLite has no describing vector")
    from refman.search import rebuild_index

    sid = _add(store, "https://describing.example/", title="数据库 indexing")
    conn: Any = store.conn  # type: ignore[attr-defined]
    assert store.check_catalog_integrity()["ok"]
    with store.transaction():
        conn.execute("ALTER TABLE search_doc DISABLE TRIGGER search_doc_bi")
        conn.execute("UPDATE search_doc SET describing = ''::tsvector WHERE source_id = %s", (sid,))
        conn.execute("ALTER TABLE search_doc ENABLE TRIGGER search_doc_bi")
    report = store.check_catalog_integrity()
    assert not report["ok"]
    assert report["search_index"] == ["1 search index rows whose describing vector does not match their text"]
    rebuild_index(store)
    assert store.check_catalog_integrity()["ok"]


def test_one_exports_refresh_at_a_time(store: Store, store_location: Path | str) -> None:
    """A second refresh of the same catalog (another process, another machine) waits for the first."""
    import threading
    import time

    entered = threading.Event()

    def second() -> None:
        with open_same(store_location) as other, other.exports_refresh_lock():
            entered.set()

    with store.exports_refresh_lock():
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)
        assert not entered.is_set()
    waiter.join(timeout=10)
    assert entered.is_set()
