"""Reading the archive (refman.reader, `refman read`) and captures from the browser (refman.capture,
`refman capture`), on a real catalog fetched from a local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from web_demo import Demo

from refman.capture import capture_page, page_facts
from refman.errors import InvalidURLError, NotFoundError, UsageError
from refman.reader import (
    diff_snapshots,
    link_health,
    note_bibliography,
    note_links,
    pick_snapshot,
    raw_page,
    read_text,
)
from refman.store import open_store
from refman.store.sqlite import SqliteStore

REFMAN = Path(sys.executable).with_name("refman")


@pytest.fixture
def store(demo: Demo) -> Iterator[SqliteStore]:
    with open_store(demo.db) as s:
        yield s


def run(db: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REFMAN_DB", "COLUMNS")}
    return subprocess.run([str(REFMAN), "--db", str(db), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)


def singlefile(url: str, saved: str, body: str = "") -> bytes:
    text = body or " ".join(["Words behind a login wall, saved in the browser."] * 20)
    return (f"<!DOCTYPE html> <html lang=en><!--\n Page saved with SingleFile \n url: {url} \n"
            f" saved date: {saved}\n--><head><meta charset=utf-8><title>Saved story</title></head>"
            f"<body><article><h1>Saved story</h1><p>{text}</p></article></body></html>").encode()


# --- reading -----------------------------------------------------------------------------------------------


def test_latest_copy_and_older_copies(store: SqliteStore, demo: Demo) -> None:
    sid = demo.ids["/gpu-market"]
    latest = read_text(store, sid)
    assert latest.origin == "live" and latest.title == "The GPU market in 2024"
    assert "prices already fell" in latest.markdown and "Analysts expect" not in latest.markdown
    older = read_text(store, sid, "2")  # not stored as text: extracted again from the archived body
    assert "Analysts expect prices to fall" in older.markdown and older.snapshot_id != latest.snapshot_id
    assert read_text(store, sid, latest.fetched_at[:10]).snapshot_id == latest.snapshot_id
    with pytest.raises(NotFoundError, match="2 archived copies, not 3"):
        pick_snapshot(store, sid, "3")
    with pytest.raises(NotFoundError, match="on or before 1999"):
        pick_snapshot(store, sid, "1999")
    with pytest.raises(UsageError):
        pick_snapshot(store, sid, "last tuesday")
    with pytest.raises(NotFoundError, match="no archived copy yet"):
        read_text(store, demo.ids["/gone"])


def test_diff_between_copies(store: SqliteStore, demo: Demo) -> None:
    diff = diff_snapshots(store, demo.ids["/gpu-market"], "2", "1")
    assert diff.added == 1 and diff.removed == 1
    assert "-Analysts expect prices to fall once new fabs open, but not before the end of next year." in diff.lines
    assert "+Update: prices already fell in the autumn, earlier than analysts expected." in diff.lines
    same = diff_snapshots(store, demo.ids["/inference"], "1", "1")
    assert same.lines == [] and same.added == same.removed == 0


def test_raw_page_is_the_archived_body(store: SqliteStore, demo: Demo) -> None:
    body, content_type, _snap = raw_page(store, demo.ids["/inference"])
    assert content_type.startswith("text/html") and b"<h1>Inference optimisation in practice</h1>" in body


def test_note_bibliography_in_note_order_with_lines(store: SqliteStore, demo: Demo) -> None:
    bib = note_bibliography(store, "GPU Market.md")
    assert bib["note"] == "AI/GPU Market.md"
    assert [s["id"] for s in bib["sources"]] == [demo.ids[p] for p in ("/gpu-market", "/inference", "/gone")]
    assert bib["sources"][0]["lines"] == [5]
    with pytest.raises(NotFoundError):
        note_bibliography(store, "no such note.md")


def test_link_health_groups_by_note_with_check_date(store: SqliteStore, demo: Demo) -> None:
    report = link_health(store)
    assert report["counts"]["dead"] == 1 and report["counts"]["changed"] == 1
    by_note = {n["path"]: n["sources"] for n in report["notes"]}
    dead = next(s for s in by_note["AI/GPU Market.md"] if s["problem"] == "dead")
    assert dead["id"] == demo.ids["/gone"] and dead["fetched_at"]
    assert {s["problem"] for s in by_note["中文/网络.md"]} == {"changed"}


def test_obsidian_links_for_an_obsidian_vault(store: SqliteStore, demo: Demo) -> None:
    links = note_links(store, demo.ids["/datacenter"])
    vault = demo.vault.name
    assert links[0]["obsidian"] == f"obsidian://open?vault={vault}&file=%E4%B8%AD%E6%96%87%2F%E7%BD%91%E7%BB%9C"
    assert links[0]["line"] == 3


# --- captures ----------------------------------------------------------------------------------------------


def test_singlefile_comment_gives_url_and_utc_date() -> None:
    html = singlefile("https://example.org/story?id=1", "Thu Dec 07 2023 10:20:30 GMT+0100 (Central European Time)")
    facts = page_facts(html)
    assert facts.url == "https://example.org/story?id=1" and facts.saved_at == "2023-12-07T09:20:30Z"


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
       st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15))
def test_singlefile_dates_round_trip(when: datetime, offset_minutes: int) -> None:
    sign = "+" if offset_minutes >= 0 else "-"
    zone = f"GMT{sign}{abs(offset_minutes) // 60:02d}{abs(offset_minutes) % 60:02d}"
    shown = when.replace(microsecond=0).strftime("%a %b %d %Y %H:%M:%S ") + zone + " (Somewhere)"
    expected = (when.replace(microsecond=0) - timedelta(minutes=offset_minutes)).replace(tzinfo=UTC)
    assert page_facts(singlefile("https://e.org/", shown)).saved_at == expected.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_save_page_as_files_name_their_url() -> None:
    og = b"<html><head><meta property='og:url' content='https://news.example/a'></head><body>x</body></html>"
    canonical = b"<html><head><link rel='canonical' href='https://news.example/b'></head><body>x</body></html>"
    assert page_facts(og).url == "https://news.example/a"
    assert page_facts(canonical).url == "https://news.example/b"
    assert page_facts(b"<html><body>nothing</body></html>").url is None


def test_capture_archives_text_and_metadata_without_touching_live_status(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    store = open_store(db)
    conn = store.conn
    from refman.catalog import add_source
    from refman.store.fetch import FetchAttempt

    dead_id, _ = add_source(store, "https://example.org/paywalled")
    for day in ("2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z"):  # two 404s in a row: dead, fail count 2
        store.record_fetch_attempt(FetchAttempt(
            source_id=dead_id, fetched_at=day, status="dead", reason="HTTP 404", failed=True, reachable=True,
            definitive=True, snapshot={"outcome": "dead", "http_status": 404}))
    store = SqliteStore(conn)
    result = capture_page(store, singlefile("https://example.org/paywalled", "Sun Jan 05 2025 08:00:00 GMT+0000"))
    assert (result.id, result.created, result.outcome) == (dead_id, False, "ok")
    row = conn.execute("SELECT status, fail_count, fetched_at, title FROM source WHERE id = ?", (dead_id,)).fetchone()
    assert tuple(row) == ("dead", 2, "2026-01-01T00:00:00Z", "Saved story")
    snap = conn.execute("SELECT origin, memento_at, outcome FROM snapshot WHERE id = ?",
                        (result.snapshot_id,)).fetchone()
    assert tuple(snap) == ("capture", "2025-01-05T08:00:00Z", "ok")
    text = read_text(SqliteStore(conn), dead_id)
    assert text.origin == "capture" and "login wall" in text.markdown
    from refman.search import search

    assert [h.id for h in search(store, "login wall")] == [dead_id]
    fresh = capture_page(store, singlefile("https://example.org/new", "x"), url="https://example.org/given")
    assert fresh.created and fresh.url == "https://example.org/given" and fresh.saved_at is None
    status = conn.execute("SELECT status FROM source WHERE id = ?", (fresh.id,)).fetchone()[0]
    assert status == "ok"  # a never-fetched source has an archived copy now
    with pytest.raises(UsageError, match="does not say its URL"):
        capture_page(store, b"<html><body><p>no url here</p></body></html>")
    with pytest.raises(InvalidURLError):
        capture_page(store, b"<html><body>x</body></html>", url="javascript:alert(1)")
    with pytest.raises(UsageError, match="empty"):
        capture_page(store, b"  ")


# --- the CLI -----------------------------------------------------------------------------------------------


def test_cli_read_plain_json_snapshot_diff_and_html(demo: Demo, tmp_path: Path) -> None:
    sid = str(demo.ids["/gpu-market"])
    out = run(demo.db, "read", sid)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "The GPU market in 2024" and lines[1].endswith("/gpu-market")
    assert lines[2].startswith("archived ") and lines[2].endswith("(live copy)")
    assert "prices already fell" in out.stdout
    older = json.loads(run(demo.db, "read", sid, "--snapshot", "2", "--json").stdout)
    assert older["origin"] == "live" and "Analysts expect" in older["markdown"]
    diff = run(demo.db, "read", sid, "--diff", "2", "1")
    assert diff.returncode == 0 and "+Update: prices already fell" in diff.stdout
    html = run(demo.db, "read", sid, "--html", cwd=tmp_path)
    assert html.returncode == 0, html.stderr
    written = list(tmp_path.glob(f"refman-{sid}-*.html"))
    assert len(written) == 1 and b"<h1>The GPU market in 2024</h1>" in written[0].read_bytes()
    target = tmp_path / "page.html"
    assert run(demo.db, "read", sid, "--html", "-o", str(target)).returncode == 0 and target.stat().st_size > 0


@pytest.mark.parametrize(("args", "code", "message"), [
    (("read", "99"), 3, "no source matches '99'"),
    (("read", "1", "--snapshot", "9"), 3, "2 archived copies, not 9"),
    (("read", "1", "--snapshot", "soon"), 2, "--snapshot wants"),
])
def test_cli_read_errors_are_one_line(demo: Demo, args: tuple[str, ...], code: int, message: str) -> None:
    out = run(demo.db, *args)
    assert out.returncode == code and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_cli_capture_files(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    one = tmp_path / "one.html"
    one.write_bytes(singlefile("https://example.org/one", "Mon Feb 03 2025 12:00:00 GMT+0800"))
    two = tmp_path / "two.html"
    two.write_bytes(b"<html><head><link rel=canonical href='https://example.org/two'><title>Two</title></head>"
                    b"<body><article><p>" + b"Saved with the browser's own save command. " * 20 +
                    b"</p></article></body></html>")
    bad = tmp_path / "bad.html"
    bad.write_bytes(b"<html><body>no url</body></html>")
    out = run(db, "capture", str(one), str(two), str(bad), "--json")
    assert out.returncode == 1  # one file failed, the others were archived
    assert "bad.html: the saved page does not say its URL" in out.stderr
    results = json.loads(out.stdout)
    assert [r["url"] for r in results] == ["https://example.org/one", "https://example.org/two"]
    assert results[0]["saved_at"] == "2025-02-03T04:00:00Z"
    assert run(db, "read", "https://example.org/two").stdout.splitlines()[0] == "Two"
    usage = run(db, "capture", str(one), str(two), "--url", "https://example.org/x")
    assert usage.returncode == 2 and "one file" in usage.stderr
    missing = run(db, "capture", str(tmp_path / "nope.html"))
    assert missing.returncode == 3


def test_cli_read_on_a_terminal_renders_markdown(demo: Demo) -> None:
    from terminal import run_on_a_terminal

    env = {k: v for k, v in os.environ.items() if k not in ("REFMAN_DB", "COLUMNS")}
    env.update(PAGER="cat", TERM="xterm-256color")
    proc, shown = run_on_a_terminal([str(REFMAN), "--db", str(demo.db), "read", str(demo.ids["/inference"])],
                                    env=env)
    text = shown.decode("utf-8", "replace")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" in text  # styled by rich
    assert "Inference optimisation in practice" in text and "archived " in text
    assert "# Inference" not in text  # the heading is rendered, not printed as Markdown
