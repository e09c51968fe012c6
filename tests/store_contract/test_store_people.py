"""Contract of the "many people" part of the Store (issue #17 §5): every write records who made it
(`store.user`), user values that are replaced or removed stay in the field's history, and two writers of one
source's user value at once both keep theirs (last writer wins, the other in the history). Runs on every backend
of the `store` fixture; the concurrent case on two connections to one catalog."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from contract_backends import open_same

from refman.catalog import add_source, set_fields, show_source, unset_fields
from refman.duplicates import merge_sources
from refman.store.protocol import Store
from refman.store.sources import HistoryRow

NOW = "2026-01-01T00:00:00Z"


def _tags_added_by(store: Store) -> dict[tuple[int, str], str | None]:
    return {(r[0], r[1]): r[2] for chunk in store.read_copy_rows("source_tag") for r in chunk}


def test_each_write_records_who_made_it(store: Store) -> None:
    store.user = "alice"
    sid, _ = add_source(store, "https://who.example/a", title="Alice's title", tags=["ml"])
    people = store.source_people(sid)
    assert people is not None and (people.created_by, people.updated_by) == ("alice", "alice")
    assert [(r.field, r.origin, r.changed_by) for r in store.field_evidence_rows(sid)] == [
        ("title", "user", "alice")]
    assert _tags_added_by(store) == {(sid, "ml"): "alice"}
    with store.transaction():
        store.add_snapshot({"source_id": sid, "fetched_at": NOW, "outcome": "dead"})
    assert [s["fetched_by"] for s in store.recent_snapshots(sid, 5)] == ["alice"]

    store.user = "bob"
    set_fields(store, sid, ["issued=2024-06"])
    with store.transaction():
        store.add_source_tags(sid, ["infra"])
    people = store.source_people(sid)
    assert people is not None and (people.created_by, people.updated_by) == ("alice", "bob")
    assert {r.field: r.changed_by for r in store.field_evidence_rows(sid)} == {"title": "alice", "issued": "bob"}
    assert _tags_added_by(store) == {(sid, "ml"): "alice", (sid, "infra"): "bob"}
    shown = show_source(store, sid)
    assert {f: who["by"] for f, who in shown["set_by"].items()} == {"title": "alice", "issued": "bob"}
    assert shown["created_by"] == "alice" and shown["updated_by"] == "bob"
    assert shown["history"] == []


def test_replaced_and_removed_user_values_stay_in_the_history(store: Store) -> None:
    store.user = "alice"
    sid, _ = add_source(store, "https://who.example/h", title="First")
    set_fields(store, sid, ["title=First"])  # the same value again: nothing is replaced
    assert store.field_history(sid) == []
    store.user = "bob"
    set_fields(store, sid, ["title=Second", "author=Doe, Jane"])
    store.user = "carol"
    assert unset_fields(store, sid, ["author"]) == (["author"], [])
    history = store.field_history(sid)
    assert [(h.field, h.value, h.changed_by, h.replaced_by) for h in history] == [
        ("author", [{"family": "Doe", "given": "Jane"}], "bob", "carol"),
        ("title", "First", "alice", "bob")]
    assert all(isinstance(h, HistoryRow) and h.origin == "user" and h.changed_at and h.replaced_at
               for h in history)
    shown = show_source(store, sid)
    assert shown["title"] == "Second" and shown["set_by"]["title"]["by"] == "bob"
    assert [h["value"] for h in shown["history"]] == [[{"family": "Doe", "given": "Jane"}], "First"]


def test_a_merge_keeps_the_pin_it_discards_and_the_dropped_sources_history(store: Store) -> None:
    store.user = "alice"
    keep, _ = add_source(store, "https://who.example/keep", title="Kept title")
    drop, _ = add_source(store, "https://who.example/drop", title="Dropped title", tags=["t"])
    store.user = "bob"
    set_fields(store, drop, ["title=Dropped again"])  # alice's value of the dropped source goes to its history
    store.user = "carol"
    result = merge_sources(store, keep, [drop])
    assert [p["value"] for p in result["pins_discarded"]] == ["Dropped again"]
    history = store.field_history(keep)
    assert {(h.value, h.changed_by, h.replaced_by) for h in history} == {
        ("Dropped again", "bob", "carol"), ("Dropped title", "alice", "bob")}
    assert _tags_added_by(store) == {(keep, "t"): "alice"}  # a tag moves with who added it
    people = store.source_people(keep)
    assert people is not None and people.updated_by == "carol"


def test_two_writers_of_one_field_at_once_both_keep_their_value(store_location: Path | str) -> None:
    """alice's transaction writes the title and holds; bob's `set` of the same title starts meanwhile and must
    wait, then read alice's value as the one it replaces (without the wait, bob would read the value before
    alice's and hers would vanish without a trace)."""
    with open_same(store_location) as setup:
        setup.user = "carol"
        sid, _ = add_source(setup, "https://who.example/race", title="Original")
    alice = open_same(store_location)
    alice.user = "alice"
    errors: list[BaseException] = []

    def bob_sets() -> None:  # another connection, opened in its thread (a sqlite3 connection stays in one)
        try:
            with open_same(store_location) as bob:
                bob.user = "bob"
                set_fields(bob, sid, ["title=Bob's"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        with alice.transaction():
            set_fields(alice, sid, ["title=Alice's"])
            racer = threading.Thread(target=bob_sets)
            racer.start()
            time.sleep(0.5)
            assert racer.is_alive()  # bob waits for alice's transaction
        racer.join(30)
        assert not racer.is_alive() and not errors, errors
    finally:
        alice.close()
    with open_same(store_location) as check:
        assert show_source(check, sid)["title"] == "Bob's"
        assert [(h.value, h.changed_by, h.replaced_by) for h in check.field_history(sid)] == [
            ("Alice's", "alice", "bob"), ("Original", "carol", "alice")]
