"""Contract of the fetch group of the store (refman.store.fetch.FetchStore): fetch jobs, claims, attempt
records, archive copies. Written against the `store` fixture only: a second backend adds a fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_backends import open_same

from refman.errors import NotFoundError
from refman.store.fetch import FetchAttempt, PackedBlob
from refman.store.protocol import Store
from refman.timeutil import utc_now

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-03T00:00:00Z"


@pytest.fixture
def second_store(store: Store, store_location: Path | str) -> Iterator[Store]:
    """Another store on the same catalog: what another `refman fetch` process would hold."""
    with open_same(store_location) as opened:
        yield opened


def add(store: Store, url: str) -> int:
    from refman.catalog import add_source

    with store.transaction():
        return add_source(store, url)[0]


def attempt(sid: int, **kw: Any) -> FetchAttempt:
    fields: dict[str, Any] = {"source_id": sid, "fetched_at": NOW, "status": "ok", "reason": None, "failed": False,
                              "reachable": True, "definitive": False, "snapshot": {"outcome": kw.get("status", "ok")}}
    return FetchAttempt(**(fields | kw))


def good_attempt(sid: int, text: str = "the archived text", **kw: Any) -> FetchAttempt:
    blob = PackedBlob(hash=f"{sid:064d}", codec="identity", size=5, data=b"<p/>!")
    snap = {"outcome": "ok", "http_status": 200, "body_hash": blob.hash, "size": 5, "etag": '"e1"'} | kw.pop(
        "snapshot", {})
    return attempt(sid, blobs=[blob], snapshot=snap, content_changed=True, text=text,
                   evidence=[("title", "page:citation", '"Page title"')], kept_origins=("user",), **kw)


# ---------------------------------------------------------------------------------------------- claims


def test_two_stores_on_one_catalog_cannot_both_claim_a_source(store: Store, second_store: Store) -> None:
    a, b, c = (add(store, f"https://example.org/{i}") for i in range(3))
    with store.transaction():
        assert store.take_fetch_claims([a, b], "host", 1, NOW) == {a, b}
    with second_store.transaction():
        assert second_store.take_fetch_claims([a, b, c], "host", 2, NOW) == {c}
    holders = {claim.source_id: claim.pid for claim in second_store.fetch_claims()}
    assert holders == {a: 1, b: 1, c: 2}
    with store.transaction():
        store.release_fetch_claims("host", 1, [a])
    with second_store.transaction():
        assert second_store.take_fetch_claims([a, b], "host", 2, NOW) == {a, c} & {a, b}
    with store.transaction():
        store.release_fetch_claims("host", 1)
    assert {claim.source_id: claim.pid for claim in store.fetch_claims()} == {a: 2, c: 2}


def test_claims_on_unknown_sources_are_not_taken_and_heartbeats_age(store: Store) -> None:
    sid = add(store, "https://example.org/")
    with store.transaction():
        assert store.take_fetch_claims([sid, sid + 100], "host", 1, "2020-01-01T00:00:00Z") == {sid}
    (old,) = store.fetch_claims()
    assert old.heartbeat_age_s is not None and old.heartbeat_age_s > 86400
    with store.transaction():
        store.beat_fetch_claims("host", 1, "2999-01-01T00:00:00Z")
    (fresh,) = store.fetch_claims()
    assert fresh.heartbeat_age_s is not None and fresh.heartbeat_age_s < 0
    with store.transaction():
        store.drop_fetch_claims([sid])
    assert store.fetch_claims() == []
    assert store.fetch_backlog().claimed == 0


def test_the_claims_module_takes_over_a_dead_holders_claims(store: Store, second_store: Store) -> None:
    from refman.fetch.claims import claim, me

    sid = add(store, "https://example.org/")
    machine, _ = me()
    with store.transaction():
        store.take_fetch_claims([sid], machine, 2**22 + 12345, NOW)  # a pid no process has
    assert claim(second_store, [sid]) == ([sid], 0)


# ---------------------------------------------------------------------------------------------- records


def test_robots_rows_are_shared_and_the_later_reading_stays(store: Store, second_store: Store) -> None:
    from refman.store.fetch import RobotsRow

    origin = "https://example.org:8443"
    assert store.robots_row(origin) is None
    rules = "User-agent: *\nDisallow: /private\n# 規則 ünïcode\n"
    store.put_robots_row(RobotsRow(origin, NOW, "parsed", 200, rules))
    assert second_store.robots_row(origin) == RobotsRow(origin, NOW, "parsed", 200, rules)  # committed at once
    second_store.put_robots_row(RobotsRow(origin, LATER, "missing", 404, None))
    store.put_robots_row(RobotsRow(origin, NOW, "unavailable", None, None))  # an older reading: ignored
    assert store.robots_row(origin) == RobotsRow(origin, LATER, "missing", 404, None)
    assert store.robots_row("https://example.org") is None  # another origin (the port differs)
    with store.transaction():  # inside a transaction, it is part of it
        store.put_robots_row(RobotsRow("http://a.example", NOW, "missing", 410, None))
    assert second_store.robots_row("http://a.example") == RobotsRow("http://a.example", NOW, "missing", 410, None)


def test_an_attempt_recorded_is_read_back(store: Store, second_store: Store) -> None:
    sid = add(store, "https://example.org/a")
    with store.transaction():
        store.take_fetch_claims([sid], "host", 1, NOW)
        written = store.record_fetch_attempt(good_attempt(sid))
    assert written.evidence_replaced and written.new_blob_bytes == 5
    assert second_store.fetch_claims() == []  # recording ends the claim
    (snap,) = second_store.snapshot_history(sid)
    assert snap["id"] == written.snapshot_id and snap["origin"] == "live" and snap["fetched_at"] == NOW
    assert second_store.latest_good_snapshot(sid) == snap
    assert second_store.blob_data(f"{sid:064d}") == ("identity", b"<p/>!")
    assert second_store.text_origin(sid) == ("live", None, None, NOW)
    (prev,) = second_store.previous_fetches([sid, sid + 100])
    assert (prev.source_id, prev.prev_hash, prev.prev_outcome, prev.etag) == (sid, f"{sid:064d}", "ok", '"e1"')
    (facts,) = second_store.check_facts([sid])
    assert (facts.status, facts.fail_count, facts.fetched_at) == ("ok", 0, NOW)
    assert second_store.sources_due_for_fetch() == []
    assert second_store.sources_last_fetched_ok() == [sid]
    with store.transaction():  # the same body again: no second copy
        assert store.record_fetch_attempt(good_attempt(sid)).new_blob_bytes == 0
    assert store.archive_stats() == {"blobs": 1, "raw_bytes": 5, "stored_bytes": 5}


def test_failures_count_and_a_definitive_streak_starts_once(store: Store) -> None:
    sid = add(store, "https://example.org/gone")
    for when in (NOW, LATER):
        with store.transaction():
            store.record_fetch_attempt(attempt(sid, fetched_at=when, status="dead", reason="HTTP 404", failed=True,
                                               reachable=False, definitive=True, snapshot={"outcome": "dead"}))
    (facts,) = store.check_facts([sid])
    assert (facts.status, facts.fail_count, facts.failing_since) == ("dead", 2, NOW)
    assert facts.failing_days == pytest.approx(2.0)
    assert store.sources_due_for_fetch(failed=True) == [sid]
    with store.transaction():  # a server error in between ends the streak, not the count
        store.record_fetch_attempt(attempt(sid, status="http_error", failed=True, reachable=False,
                                           snapshot={"outcome": "http_error"}))
    (facts,) = store.check_facts([sid])
    assert (facts.fail_count, facts.failing_since) == (3, None)
    with store.transaction():
        store.record_fetch_attempt(good_attempt(sid))
    assert store.check_facts([sid])[0].fail_count == 0


def test_a_copy_keeps_the_live_status_but_gives_a_new_source_an_archive(store: Store) -> None:
    fresh, dead = add(store, "https://example.org/new"), add(store, "https://example.org/dead")
    with store.transaction():
        store.record_fetch_attempt(attempt(dead, status="dead", failed=True, reachable=False, definitive=True,
                                           snapshot={"outcome": "dead"}))
        for sid in (fresh, dead):
            store.record_fetch_attempt(good_attempt(sid, fetched_at=LATER, keep_status=True,
                                                    snapshot={"origin": "wayback", "memento_url": "https://web."
                                                              "archive.org/web/2019/x", "memento_at": NOW}))
    assert [f.status for f in store.check_facts([fresh, dead])] == ["ok", "dead"]
    assert store.check_facts([dead])[0].fetched_at == NOW  # the live URL's last check
    assert store.text_origin(dead) == ("wayback", "https://web.archive.org/web/2019/x", NOW, LATER)
    assert store.newest_archive_copy(dead) == ("https://web.archive.org/web/2019/x", NOW)
    assert store.newest_archive_copy(fresh) is not None and store.live_snapshots(dead)[0].outcome == "dead"


def test_a_thin_live_page_never_replaces_a_fallbacks_text(store: Store) -> None:
    sid = add(store, "https://example.org/shell")
    with store.transaction():
        store.record_fetch_attempt(good_attempt(sid, text="the article", keep_status=True,
                                                snapshot={"origin": "render"}))
        written = store.record_fetch_attempt(good_attempt(sid, text="", status="thin",
                                                          snapshot={"outcome": "thin"}))
    assert not written.evidence_replaced
    assert store.text_origin(sid) is not None and store.text_origin(sid).origin == "render"  # type: ignore[union-attr]
    assert store.check_facts([sid])[0].status == "thin"


def test_an_attempt_for_a_deleted_source_writes_nothing(store: Store) -> None:
    sid = add(store, "https://example.org/x")
    with pytest.raises(NotFoundError), store.transaction():
        store.record_fetch_attempt(good_attempt(sid + 100))
    assert store.archive_stats()["blobs"] == 0 and store.snapshot_history(sid + 100) == []


def test_snapshot_rows_are_checked(store: Store) -> None:
    sid = add(store, "https://example.org/x")
    with pytest.raises(ValueError), store.transaction():
        store.add_snapshot({"source_id": sid, "fetched_at": NOW, "outcome": "ok", "bogus": 1})
    with pytest.raises(ValueError), store.transaction():
        store.add_snapshot({"source_id": sid, "fetched_at": NOW, "outcome": "ok", "origin": "elsewhere"})


# ---------------------------------------------------------------------------------------------- choosing


def test_choosing_what_to_fetch(store: Store) -> None:
    ids = [add(store, f"https://example.org/{i}") for i in range(3)]
    assert store.sources_due_for_fetch() == ids
    assert store.fetchable_among([ids[2], 999, ids[0]]) == [ids[2], ids[0]]
    assert store.fetch_urls([ids[1], 999]) == {ids[1]: "https://example.org/1"}
    with store.transaction():
        store.record_fetch_attempt(good_attempt(ids[0], fetched_at="2000-01-01T00:00:00Z"))
        store.record_fetch_attempt(good_attempt(ids[1], fetched_at=utc_now()))
    assert store.sources_due_for_fetch() == [ids[2]]
    assert store.sources_due_for_fetch(stale_days=30) == [ids[0], ids[2]]
    assert store.sources_due_for_fetch(all_sources=True) == ids
    backlog = store.fetch_backlog()
    assert (backlog.sources, backlog.never_fetched, backlog.failed, backlog.oldest_fetch) == (
        3, 1, 0, "2000-01-01T00:00:00Z")
    assert store.note_paths_citing(ids) == {}
    assert [e.source_id for e in store.cited_day_evidence(ids)] == ids
