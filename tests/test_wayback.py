"""The Internet Archive as a fallback and a second copy, against a local fake archive (tests/fakearchive.py) and
a local live server: the capture closest to the cited day, raw mementos, status kept, outages, Save Page Now."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakearchive import BANNER, FakeArchive
from fallback_helpers import add_source, q, quick_policy
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from refman.fetch.check import check_report
from refman.fetch.fallback import FallbackOptions
from refman.fetch.pipeline import fetch_sources
from refman.fetch.wayback import (
    WaybackError,
    WaybackSettings,
    cited_dates,
    memento_time,
    parse_availability,
    plain_memento,
    raw_memento,
    save_pages,
    wayback_timestamp,
)
from refman.store import connect
from refman.store.fetch import FetchAttempt
from refman.store.sqlite import SqliteStore

REFMAN = Path(sys.executable).with_name("refman")


def article(title: str, words: str, date: str | None = None) -> bytes:
    paras = "".join(f"<p>Paragraph {i} of {title}: {words} with enough words to be an article body.</p>"
                    for i in range(6))
    meta = f"<meta name='citation_publication_date' content='{date}'>" if date else ""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta name='citation_title' content='{title}'>{meta}</head>"
            f"<body><article><h1>{title}</h1>{paras}</article></body></html>").encode()


SHELL = (b"<!DOCTYPE html><html><head><title>App</title><script src='/app.js'></script></head>"
         b"<body><div id='app'>Loading...</div><noscript>Please enable JavaScript</noscript></body></html>")


@pytest.fixture
def archive() -> Iterator[FakeArchive]:
    with FakeArchive() as fake:
        yield fake


def options(archive: FakeArchive, **kw: Any) -> FallbackOptions:
    settings = WaybackSettings(availability_url=f"{archive.base}/wayback/available", save_url=f"{archive.base}/save",
                               delay=0.0, **kw)
    return FallbackOptions(wayback=True, adapters=False, wayback_settings=settings)


# ---------------------------------------------------------------------------------------------- pure helpers


def test_timestamps_and_memento_forms() -> None:
    assert wayback_timestamp("2024-06-24") == "20240624"
    assert wayback_timestamp("2024-06") == "202406" and wayback_timestamp("2024") == "2024"
    assert wayback_timestamp("2024-06-24T10:05:09Z") == "20240624100509"
    assert wayback_timestamp("June 2024") is None and wayback_timestamp(None) is None
    assert memento_time("20130919044612") == "2013-09-19T04:46:12Z"
    assert memento_time("2013") == "2013-01-01T00:00:00Z" and memento_time("20131399") is None
    m = "http://web.archive.org/web/20130919044612/http://example.com/a?b=1"
    assert raw_memento(m) == "http://web.archive.org/web/20130919044612id_/http://example.com/a?b=1"
    assert plain_memento(raw_memento(m)) == m
    assert raw_memento("https://web.archive.org/web/2013im_/http://x.org/") == "https://web.archive.org/web/2013id_/http://x.org/"
    with pytest.raises(WaybackError):
        raw_memento("https://example.com/not/a/memento")


@given(st.integers(1990, 2030), st.integers(1, 12), st.integers(1, 28), st.text(
    alphabet=st.characters(codec="ascii", exclude_characters="\x00\r\n "), min_size=1, max_size=40))
def test_memento_round_trip(year: int, month: int, day: int, path: str) -> None:
    ts = f"{year:04d}{month:02d}{day:02d}120000"
    url = f"https://web.archive.org/web/{ts}/https://example.org/{path}"
    raw = raw_memento(url)
    assert raw.endswith(f"/web/{ts}id_/https://example.org/{path}")
    assert plain_memento(raw) == url
    assert memento_time(ts) == f"{year:04d}-{month:02d}-{day:02d}T12:00:00Z"
    assert wayback_timestamp(f"{year:04d}-{month:02d}-{day:02d}") == ts[:8]


def test_availability_shapes() -> None:
    ok = parse_availability(json.dumps({"archived_snapshots": {"closest": {
        "available": True, "url": "http://web.archive.org/web/20060101064348/http://www.example.com:80/",
        "timestamp": "20060101064348", "status": "200"}}}).encode())
    assert ok is not None and ok.timestamp == "20060101064348"
    assert parse_availability(b'{"url": "x", "archived_snapshots": {}}') is None
    assert parse_availability(json.dumps({"archived_snapshots": {"closest": {
        "available": True, "url": "http://web.archive.org/web/2006/http://x/", "timestamp": "2006",
        "status": "404"}}}).encode()) is None  # only the site's error page was captured
    for bad in (b"<html>busy</html>", b'{"results": []}', b'{"archived_snapshots": {"closest": {"x": 1}}}'):
        with pytest.raises(WaybackError):
            parse_availability(bad)


def test_cited_day_prefers_label_then_first_citation_then_note_mtime(db_path: Path, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    vault.mkdir()
    note = vault / "n.md"
    note.write_text("[Dated page (6/24/2019)]: https://a.example/1\n[Plain page]: https://a.example/2\n")
    os.utime(note, (1262347200, 1262347200))  # 2010-01-01T12:00:00Z
    subprocess.run([str(REFMAN), "--db", str(db_path), "import", str(vault)], check=True, capture_output=True)
    conn = connect(db_path)
    try:
        ids = dict(conn.execute("SELECT url, id FROM source"))
        store = SqliteStore(conn)
        dates = cited_dates(store, ids.values())
        assert dates[ids["https://a.example/1"]] == "20190624"  # the label's date
        first = conn.execute("SELECT first_cited_at FROM source WHERE id = ?", (ids["https://a.example/2"],)).fetchone()[0]
        assert dates[ids["https://a.example/2"]] == wayback_timestamp(first)  # no label date: first citation
        conn.execute("UPDATE source SET first_cited_at = NULL")
        conn.commit()
        assert cited_dates(store, [ids["https://a.example/2"]])[ids["https://a.example/2"]] == "20100101120000"
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------- the fallback


def test_dead_page_gets_the_capture_closest_to_the_cited_day(db_path: Path, site: HTTPServer,
                                                             archive: FakeArchive, pool: Any) -> None:
    url = site.url_for("/gone")
    site.expect_request("/gone").respond_with_data("gone", status=404)
    archive.add(url, "20150101000000", article("Old version", "the 2015 words"))
    archive.add(url, "20190620093000", article("Cited version", "the words the note read", "2018-03-02"))
    archive.add(url, "20240101000000", article("Later version", "rewritten words"))
    sid = add_source(db_path, url, label_date="2019-06-24")
    summary = fetch_sources(db_path, [sid], quick_policy(), pool=pool, fallback=options(archive))
    assert summary["outcomes"] == {"dead": 1} and summary["fallbacks"]["wayback"] == {"ok": 1}
    src = q(db_path, "SELECT * FROM source WHERE id = ?", sid)[0]
    assert src["status"] == "dead" and src["fail_count"] == 1  # the link is still dead for `refman check`
    assert src["title"] == "Cited version" and src["issued"] == "2018-03-02"  # the page's own date
    snap = q(db_path, "SELECT * FROM snapshot WHERE source_id = ? AND origin = 'wayback'", sid)[0]
    assert snap["outcome"] == "ok" and snap["memento_at"] == "2019-06-20T09:30:00Z"
    assert snap["memento_url"] == f"{archive.base}/web/20190620093000/{url}"
    text = q(db_path, "SELECT t.text, t.snapshot_id FROM source_text t WHERE source_id = ?", sid)[0]
    assert "the words the note read" in text[0] and text[1] == snap["id"]
    assert "INJECTED" not in text[0]  # the raw (id_) memento: no replay banner
    body = q(db_path, "SELECT data, codec FROM blob WHERE hash = ?", snap["body_hash"])[0]
    from refman.fetch.archive import decompress

    assert BANNER not in decompress(body["codec"], body["data"])
    asked = archive.requests("/wayback/available")[0][2]
    assert "timestamp=20190624" in asked
    assert [r[2] for r in archive.requests("/web/")] == [f"/web/20190620093000id_/{url}"]
    # `refman check` compares live fetches only: still failing, not "redirected" to the archive
    conn = connect(db_path)
    try:
        report = check_report(SqliteStore(conn), [sid])
    finally:
        conn.close()
    assert report["counts"]["failing"] == 1 and report["counts"]["redirected"] == 0


def test_capture_date_is_not_the_publication_date(db_path: Path, site: HTTPServer, archive: FakeArchive,
                                                  pool: Any) -> None:
    url = site.url_for("/undated")
    site.expect_request("/undated").respond_with_data("", status=410)
    archive.add(url, "20200505050505", article("Undated page", "text without any date at all"))
    sid = add_source(db_path, url)
    fetch_sources(db_path, [sid], quick_policy(), pool=pool, fallback=options(archive))
    src = q(db_path, "SELECT status, issued, title FROM source WHERE id = ?", sid)[0]
    assert src["status"] == "dead" and src["title"] == "Undated page"
    assert src["issued"] is None or not src["issued"].startswith("2020-05-05")


def test_not_archived_and_unavailable_are_recorded_and_the_run_goes_on(db_path: Path, site: HTTPServer,
                                                                       archive: FakeArchive, pool: Any) -> None:
    for path in ("/a", "/b", "/c", "/d", "/e"):
        site.expect_request(path).respond_with_data("gone", status=404)
    site.expect_request("/fine").respond_with_data(article("Fine page", "live words"), content_type="text/html")
    ids = [add_source(db_path, site.url_for(p)) for p in ("/a", "/b", "/c", "/d", "/e", "/fine")]
    archive.availability_down = True
    summary = fetch_sources(db_path, ids, quick_policy(), pool=pool, fallback=options(archive))
    assert summary["done"] == 6 and summary["ok"] == 1 and not summary["interrupted"]
    assert summary["fallbacks"]["wayback"] == {"unavailable": 5}
    notes = q(db_path, "SELECT outcome, reason FROM snapshot WHERE origin = 'wayback'")
    assert len(notes) == 5 and all(n["outcome"] == "unavailable" for n in notes)
    assert all(n["reason"].startswith("wayback unavailable") for n in notes)
    # after three unavailable answers in a row the archive is not asked again this run (two were in flight)
    assert 3 <= len(archive.requests("/wayback/available")) <= 3 + 2 - 1
    archive.availability_down = False
    sid = add_source(db_path, site.url_for("/never-archived"))
    site.expect_request("/never-archived").respond_with_data("gone", status=404)
    summary = fetch_sources(db_path, [sid], quick_policy(), pool=pool, fallback=options(archive))
    assert summary["fallbacks"]["wayback"] == {"not_archived": 1}
    assert q(db_path, "SELECT status FROM source WHERE id = ?", sid)[0][0] == "dead"


def test_retry_after_is_honoured(db_path: Path, site: HTTPServer, archive: FakeArchive, pool: Any) -> None:
    url = site.url_for("/busy")
    site.expect_request("/busy").respond_with_data("gone", status=404)
    archive.add(url, "20210101000000", article("Busy page", "archived words"))
    archive.availability_failures = [(429, "1")]
    sid = add_source(db_path, url)
    opts = options(archive)
    started = time.monotonic()
    fetch_sources(db_path, [sid], quick_policy(retries=2), pool=pool, fallback=opts)
    asked = [r[0] for r in archive.requests("/wayback/available")]
    assert len(asked) == 2 and asked[1] - asked[0] >= 0.95  # waited the Retry-After second
    assert time.monotonic() - started >= 1.0
    assert q(db_path, "SELECT outcome FROM snapshot WHERE origin = 'wayback'")[0][0] == "ok"


def test_changed_api_shape_is_unavailable_not_a_crash(db_path: Path, site: HTTPServer, archive: FakeArchive,
                                                      pool: Any) -> None:
    site.expect_request("/x").respond_with_data("gone", status=404)
    archive.availability_body = b'{"results": [{"u": "moved"}]}'
    sid = add_source(db_path, site.url_for("/x"))
    fetch_sources(db_path, [sid], quick_policy(), pool=pool, fallback=options(archive))
    snap = q(db_path, "SELECT outcome, reason FROM snapshot WHERE origin = 'wayback'")[0]
    assert snap["outcome"] == "unavailable" and "archived_snapshots" in snap["reason"]


def test_thin_page_takes_a_better_capture_and_keeps_its_status(db_path: Path, site: HTTPServer,
                                                               archive: FakeArchive, pool: Any) -> None:
    url = site.url_for("/shell")
    site.expect_request("/shell").respond_with_data(SHELL, content_type="text/html")
    archive.add(url, "20220202000000", article("Server-rendered once", "what the page said in 2022"))
    sid = add_source(db_path, url)
    fetch_sources(db_path, [sid], quick_policy(), pool=pool, fallback=options(archive))
    assert q(db_path, "SELECT status FROM source WHERE id = ?", sid)[0][0] == "thin"
    assert "what the page said in 2022" in q(db_path, "SELECT text FROM source_text WHERE source_id = ?", sid)[0][0]
    # A later plain fetch of the same shell neither replaces that text nor re-asks the archive.
    fetch_sources(db_path, [sid], quick_policy(), pool=pool)
    assert "what the page said in 2022" in q(db_path, "SELECT text FROM source_text WHERE source_id = ?", sid)[0][0]
    assert len(archive.requests("/wayback/available")) == 1


def test_fetch_cli_with_wayback_and_show(db_path: Path, site: HTTPServer, archive: FakeArchive,
                                         cli_env: dict[str, str]) -> None:
    url = site.url_for("/cli-dead")
    site.expect_request("/cli-dead").respond_with_data("gone", status=404)
    archive.add(url, "20190101000000", article("CLI page", "archived for the command line"))
    env = cli_env | {"REFMAN_WAYBACK_URL": archive.base}
    run = lambda *a: subprocess.run([str(REFMAN), *a], env=env, capture_output=True, text=True)  # noqa: E731
    assert run("add", url).returncode == 0
    plain = run("fetch", "--delay", "0", "--json")
    assert json.loads(plain.stdout).get("fallbacks", {}).get("wayback") is None  # off unless asked
    out = run("fetch", "--all", "--wayback", "--delay", "0")
    assert out.returncode == 0, out.stderr
    assert "wayback: ok 1" in out.stdout
    shown = run("show", "1")
    assert "Internet Archive" in shown.stdout and "2019-01-01" in shown.stdout
    item = json.loads(run("show", "1", "--json").stdout)
    assert item["archive"] == {"url": f"{archive.base}/web/20190101000000/{url}", "at": "2019-01-01T00:00:00Z"}
    # exports carry the archived copy
    memento = f"{archive.base}/web/20190101000000/{url}"
    csl = json.loads(run("export", "--format", "csljson").stdout)[0]
    assert csl["archive"] == "Internet Archive" and csl["archive_location"] == memento
    import jsonschema

    schema = json.loads((Path(__file__).parent / "data" / "csl-data.json").read_text(encoding="utf-8"))
    jsonschema.validate([csl], schema)
    bib = run("export", "--format", "biblatex").stdout
    assert f"addendum = {{Archived at \\url{{{memento}}} on 2019-01-01}}" in bib
    md = run("export", "--format", "markdown").stdout
    assert f"(archived 2019-01-01)]: {memento}" in md
    # the settings file makes it the default
    cfg = Path(env["REFMAN_DB"]).with_name("config.toml")
    cfg.write_text("[fetch]\nwayback = true\n")
    env2 = env | {"REFMAN_CONFIG": str(cfg)}
    again = subprocess.run([str(REFMAN), "fetch", "--all", "--delay", "0", "--json"], env=env2,
                           capture_output=True, text=True)
    assert json.loads(again.stdout)["fallbacks"]["wayback"] == {"ok": 1}
    # `refman add --fetch` follows the same settings
    gone = site.url_for("/cli-dead-2")
    site.expect_request("/cli-dead-2").respond_with_data("gone", status=404)
    archive.add(gone, "20200101000000", article("Added page", "archived for refman add"))
    added = subprocess.run([str(REFMAN), "add", gone, "--fetch", "--json"], env=env2, capture_output=True,
                           text=True)
    assert json.loads(added.stdout)["fetch"]["fallbacks"]["wayback"] == {"ok": 1}
    cfg.write_text("[fetch\nwayback = ")
    bad = subprocess.run([str(REFMAN), "fetch", "--all"], env=env2, capture_output=True, text=True)
    assert bad.returncode == 2 and "settings file" in bad.stderr and "Traceback" not in bad.stderr


# ---------------------------------------------------------------------------------------------- Save Page Now


def test_save_page_now_throttled_authenticated_and_recorded(db_path: Path, archive: FakeArchive,
                                                            cli_env: dict[str, str]) -> None:
    archive.pending_polls = 2
    archive.save_errors = {"https://b.example/"}
    env = cli_env | {"REFMAN_WAYBACK_URL": archive.base, "REFMAN_IA_ACCESS_KEY": "ak",
                     "REFMAN_IA_SECRET_KEY": "sk", "REFMAN_CONFIG": str(db_path.with_name("c.toml"))}
    db_path.with_name("c.toml").write_text("[wayback]\npoll_seconds = 0.05\n")
    for url in ("https://a.example/", "https://b.example/", "https://c.example/"):
        subprocess.run([str(REFMAN), "add", url], env=env, check=True, capture_output=True)
    out = subprocess.run([str(REFMAN), "wayback", "save", "1", "2", "3", "--per-minute", "120", "--json"],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 1  # one capture failed
    results = {r["id"]: r for r in json.loads(out.stdout)}
    assert results[1]["status"] == "saved" and results[1]["memento_url"].startswith(f"{archive.base}/web/")
    assert results[1]["memento_url"].endswith("/https://a.example/") and results[1]["memento_at"]
    assert results[2]["status"] == "error" and "Couldn't resolve host" in results[2]["reason"]
    posts = [r for r in archive.log if r[1] == "POST"]
    assert len(posts) == 3 and all(r[3]["authorization"] == "LOW ak:sk" for r in posts)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(posts)]
    assert min(gaps) >= 0.45  # 120 a minute: one every 0.5 s
    snaps = q(db_path, "SELECT source_id, outcome, origin, memento_url FROM snapshot ORDER BY source_id")
    assert [(s[0], s[1], s[2]) for s in snaps] == [(1, "saved", "wayback"), (2, "error", "wayback"),
                                                   (3, "saved", "wayback")]
    assert q(db_path, "SELECT status FROM source WHERE id = 1")[0][0] == "new"  # a save is not a fetch
    item = json.loads(subprocess.run([str(REFMAN), "show", "1", "--json"], env=env, capture_output=True,
                                     text=True).stdout)
    assert item["archive"]["url"] == results[1]["memento_url"]
    nothing = subprocess.run([str(REFMAN), "wayback", "save"], env=env, capture_output=True, text=True)
    assert nothing.returncode == 2 and "--all-ok" in nothing.stderr


def test_save_waits_for_retry_after_on_429(archive: FakeArchive) -> None:
    archive.save_throttle = 1
    archive.pending_polls = 0
    settings = WaybackSettings(save_url=f"{archive.base}/save", saves_per_minute=600, poll_seconds=0.01)
    results = save_pages([(1, "https://a.example/")], settings)
    posts = [r[0] for r in archive.log if r[1] == "POST"]
    assert [r.status for r in results] == ["saved"] and len(posts) == 2 and posts[1] - posts[0] >= 0.95
    assert "authorization" not in archive.log[0][3]  # no keys: anonymous


def test_save_all_ok_takes_only_sources_fetched_fine(db_path: Path, archive: FakeArchive) -> None:
    from refman.fetch.wayback import save_sources

    archive.pending_polls = 0
    good, dead = add_source(db_path, "https://ok.example/"), add_source(db_path, "https://dead.example/")
    conn = connect(db_path)
    try:
        store = SqliteStore(conn)
        for sid, status in ((good, "ok"), (dead, "dead")):
            store.record_fetch_attempt(FetchAttempt(
                source_id=sid, fetched_at="2024-01-01T00:00:00Z", status=status, reason=None,
                failed=status == "dead", reachable=True, definitive=status == "dead",
                snapshot={"outcome": status, "http_status": 200 if status == "ok" else 404}))
        settings = WaybackSettings(save_url=f"{archive.base}/save", saves_per_minute=600, poll_seconds=0.01)
        results = save_sources(SqliteStore(conn), all_ok=True, settings=settings)
    finally:
        conn.close()
    assert [(r.source_id, r.status) for r in results] == [(good, "saved")]
    assert [p for _t, m, p, _h in archive.log if m == "POST"] == ["/save"]


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=20), inner,
                                                                                 max_size=3), max_leaves=10))
def test_any_availability_answer_is_a_capture_none_or_a_wayback_error(data: Any) -> None:
    for answer in (data, {"archived_snapshots": data}, {"archived_snapshots": {"closest": data}}):
        try:
            found = parse_availability(json.dumps(answer).encode())
        except WaybackError:
            continue
        assert found is None or (found.timestamp.isdigit() and isinstance(found.url, str))


def test_a_slow_archive_does_not_hold_up_the_live_fetches(db_path: Path, site: HTTPServer, archive: FakeArchive,
                                                          pool: Any) -> None:
    archive.latency = 0.5  # every archive request: 6 dead pages x 2 requests over 2 slots ≈ 3 s
    ids = []
    for i in range(6):
        site.expect_request(f"/dead{i}").respond_with_data("gone", status=404)
        archive.add(site.url_for(f"/dead{i}"), "20200101000000", article(f"Dead {i}", "archived words"))
        site.expect_request(f"/live{i}").respond_with_data(article(f"Live {i}", "live words"), content_type="text/html")
        ids += [add_source(db_path, site.url_for(f"/dead{i}")), add_source(db_path, site.url_for(f"/live{i}"))]
    site.expect_request("/warm").respond_with_data(article("Warm", "words"), content_type="text/html")
    fetch_sources(db_path, [add_source(db_path, site.url_for("/warm"))], quick_policy(), pool=pool)  # pool warm
    started = time.monotonic()
    live_done: list[float] = []

    def progress(done: int, total: int, _counts: dict[str, int]) -> None:
        if done == total:
            live_done.append(time.monotonic() - started)

    summary = fetch_sources(db_path, ids, quick_policy(), pool=pool, fallback=options(archive), progress=progress)
    assert summary["fallbacks"]["wayback"] == {"ok": 6} and live_done
    # every live page was done while most of the archive's 12 requests were still to come
    answered_before = [t for t, _m, _p, _h in archive.log if t - started < live_done[0]]
    assert len(archive.log) == 12 and len(answered_before) <= 6, (live_done, [t - started for t, *_ in archive.log])
    assert archive.max_in_flight <= 2  # the archive's own, lower concurrency
