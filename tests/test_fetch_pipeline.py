"""The fetch pipeline against a real HTTP server on 127.0.0.1: snapshots, dedup, pinned fields, status words,
the dead-after-two rule, interruption and resumption, concurrent readers, and the CLI end to end."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from support import fetch_policy
from werkzeug import Request, Response

from refman.fetch.check import check_report
from refman.fetch.client import FetchPolicy
from refman.fetch.pipeline import fetch_sources, run_fetch, select_source_ids
from refman.notes.importer import import_vault
from refman.store import connect, open_store
from refman.store.fetch import FetchAttempt
from refman.store.sources import NewEvidence

REFMAN = Path(sys.executable).with_name("refman")
NOW = "2026-01-01T00:00:00Z"


def page(title: str, words: str = "archived text") -> bytes:
    paras = "".join(
        f"<p>Paragraph {i} of the page {title} with enough {words} to be the main content of an article.</p>"
        for i in range(6)
    )
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta name='citation_title' content='{title}'></head>"
            f"<body><article><h1>{title}</h1>{paras}</article></body></html>").encode()


@pytest.fixture
def server(site: HTTPServer) -> HTTPServer:
    """The local site of conftest.py (the extraction `pool` fixture is conftest.py's too)."""
    return site


def policy(**kw: Any) -> FetchPolicy:
    return fetch_policy(**kw)


def add_source(db: Path, url: str) -> int:
    """A source for `url` exactly as given (a note's, never fetched)."""
    from urllib.parse import urlsplit

    with open_store(db) as store, store.transaction():
        return store.insert_source(url, url, urlsplit(url).hostname, NOW, added_by="note")


def record_fetch(db: Path, sid: int, status: str, fetched_at: str) -> None:
    """A fetch attempt of `sid` that ended in `status` at `fetched_at`, as the pipeline records it."""
    good = status in ("ok", "thin")
    with open_store(db) as store:
        store.record_fetch_attempt(FetchAttempt(
            source_id=sid, fetched_at=fetched_at, status=status, reason=None, failed=not good, reachable=good,
            definitive=False, snapshot={"outcome": status, "http_status": 200 if good else None}))


def row(db: Path, sql: str, *params: Any) -> Any:
    conn = connect(db)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def rows(db: Path, sql: str, *params: Any) -> list[Any]:
    conn = connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_fetch_records_snapshot_text_and_evidence(db_path: Path, server: HTTPServer, pool: Any) -> None:
    server.expect_request("/a").respond_with_data(page("Alpha page"), content_type="text/html; charset=utf-8",
                                                  headers={"ETag": '"v1"'})
    sid = add_source(db_path, server.url_for("/a"))
    summary = fetch_sources(db_path, [sid], policy(), pool=pool)
    assert summary["ok"] == 1 and summary["failed"] == 0 and not summary["interrupted"]
    src = row(db_path, "SELECT * FROM source WHERE id = ?", sid)
    assert src["status"] == "ok" and src["fail_count"] == 0 and src["fetched_at"] and src["last_ok_at"]
    snap = row(db_path, "SELECT * FROM snapshot WHERE source_id = ?", sid)
    assert snap["outcome"] == "ok" and snap["http_status"] == 200 and snap["unchanged"] == 0
    assert snap["final_url"] == server.url_for("/a") and snap["content_type"] == "text/html"
    assert snap["size"] == len(page("Alpha page")) and snap["etag"] == '"v1"' and snap["elapsed_ms"] >= 0
    meta = json.loads(snap["metadata_json"])
    assert meta["kind"] == "html" and meta["text_sha256"]
    blob = row(db_path, "SELECT * FROM blob WHERE hash = ?", snap["body_hash"])
    assert blob["size"] == snap["size"] and blob["stored_size"] < blob["size"]
    text = row(db_path, "SELECT * FROM source_text WHERE source_id = ?", sid)
    assert text["snapshot_id"] == snap["id"] and "Paragraph 3 of the page Alpha page" in text["text"]
    assert row(db_path, "SELECT 1 FROM blob WHERE hash = ?", text["markdown_hash"]) is not None
    assert src["title"] == "Alpha page"
    # the search index was kept up to date, and its triggers are back after the batch
    body = row(db_path, "SELECT body FROM search_fts WHERE rowid = ?", sid)
    assert body is not None and "Paragraph 3" in body[0]
    assert row(db_path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search%'")[0] >= 12
    assert row(db_path, "SELECT origin FROM field_value WHERE source_id = ? AND field = 'title'", sid)[0] != "user"


def test_identical_refetch_is_unchanged_without_new_blob(db_path: Path, server: HTTPServer, pool: Any) -> None:
    server.expect_request("/same").respond_with_data(page("Same page"), content_type="text/html")
    sid = add_source(db_path, server.url_for("/same"))
    fetch_sources(db_path, [sid], policy(), pool=pool)
    blobs = row(db_path, "SELECT COUNT(*) FROM blob")[0]
    summary = fetch_sources(db_path, [sid], policy(), pool=pool)
    assert summary["unchanged"] == 1
    snaps = rows(db_path, "SELECT * FROM snapshot WHERE source_id = ? ORDER BY id", sid)
    assert len(snaps) == 2 and snaps[1]["unchanged"] == 1 and snaps[1]["body_hash"] == snaps[0]["body_hash"]
    assert row(db_path, "SELECT COUNT(*) FROM blob")[0] == blobs
    assert row(db_path, "SELECT snapshot_id FROM source_text WHERE source_id = ?", sid)[0] == snaps[1]["id"]


def test_not_modified_records_the_check(db_path: Path, server: HTTPServer, pool: Any) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(page("Conditional"), content_type="text/html", headers={"ETag": '"v1"'})

    server.expect_request("/c").respond_with_handler(handler)
    sid = add_source(db_path, server.url_for("/c"))
    fetch_sources(db_path, [sid], policy(), pool=pool)
    fetch_sources(db_path, [sid], policy(), pool=pool)
    last = row(db_path, "SELECT * FROM snapshot WHERE source_id = ? ORDER BY id DESC", sid)
    assert last["http_status"] == 304 and last["outcome"] == "ok" and last["unchanged"] == 1
    assert last["body_hash"] is not None
    assert row(db_path, "SELECT status FROM source WHERE id = ?", sid)[0] == "ok"


def test_pinned_user_fields_survive_a_fetch(db_path: Path, server: HTTPServer, pool: Any) -> None:
    server.expect_request("/p").respond_with_data(page("Page title"), content_type="text/html")
    sid = add_source(db_path, server.url_for("/p"))
    with open_store(db_path) as store, store.transaction():
        store.put_field_evidence([
            NewEvidence(sid, "title", "user", "My own title", NOW), NewEvidence(sid, "publisher", "label", "Lbl", NOW),
            NewEvidence(sid, "abstract", "page:og", "stale page evidence", NOW)])
    fetch_sources(db_path, [sid], policy(), pool=pool)
    assert row(db_path, "SELECT title FROM source WHERE id = ?", sid)[0] == "My own title"
    kept = {(r[0], r[1]) for r in rows(db_path, "SELECT field, origin FROM field_value WHERE source_id = ?", sid)}
    assert ("title", "user") in kept and ("publisher", "label") in kept
    assert ("abstract", "page:og") not in kept  # previous page evidence replaced
    assert row(db_path, "SELECT value FROM field_value WHERE source_id = ? AND origin = 'user'", sid)[0] == \
        json.dumps("My own title")


def test_dead_only_after_two_failed_checks(db_path: Path, server: HTTPServer, pool: Any) -> None:
    state = {"alive": False}

    def handler(request: Request) -> Response:
        if state["alive"]:
            return Response(page("Back again"), content_type="text/html")
        return Response("gone", status=404)

    server.expect_request("/d").respond_with_handler(handler)
    sid = add_source(db_path, server.url_for("/d"))
    fetch_sources(db_path, [sid], policy(), pool=pool)
    src = row(db_path, "SELECT status, fail_count, reason FROM source WHERE id = ?", sid)
    assert (src[0], src[1]) == ("dead", 1) and "404" in src[2]
    with open_store(db_path) as store:
        assert check_report(store, [sid])["counts"]["dead"] == 0
        assert check_report(store, [sid])["counts"]["failing"] == 1
    fetch_sources(db_path, [sid], policy(), pool=pool)
    assert row(db_path, "SELECT fail_count FROM source WHERE id = ?", sid)[0] == 2
    with open_store(db_path) as store:
        assert check_report(store, [sid])["counts"]["dead"] == 0  # two 404s minutes apart: not yet a day
        report = check_report(store, [sid], dead_after_days=0)
    assert report["counts"]["dead"] == 1
    assert report["notes"][0]["path"] == "(no note)" and report["notes"][0]["sources"][0]["problem"] == "dead"
    state["alive"] = True
    fetch_sources(db_path, [sid], policy(), pool=pool)
    assert tuple(row(db_path, "SELECT status, fail_count FROM source WHERE id = ?", sid)) == ("ok", 0)
    assert row(db_path, "SELECT COUNT(*) FROM snapshot WHERE source_id = ?", sid)[0] == 3


def test_status_words(db_path: Path, server: HTTPServer, pool: Any) -> None:
    server.expect_request("/500").respond_with_data("oops", status=500)
    server.expect_request("/410").respond_with_data("gone", status=410)
    server.expect_request("/png").respond_with_data(b"\x89PNG\r\n\x1a\n" + b"\x00" * 300, content_type="image/png")
    server.expect_request("/empty").respond_with_data(b"", content_type="text/html")
    server.expect_request("/bin").respond_with_data(os.urandom(3000) + b"\x00\x00", content_type="text/html")
    server.expect_request("/js").respond_with_data(
        b"<html><head><title>x</title><script src=app.js></script></head><body><div id=root></div></body></html>",
        content_type="text/html")
    server.expect_request("/txt").respond_with_data(("plain text line\n" * 20).encode(), content_type="text/plain")

    def slow(_: Request) -> Response:
        time.sleep(2.5)
        return Response(page("late"), content_type="text/html")

    server.expect_request("/slow").respond_with_handler(slow)
    expected = {"/500": "http_error", "/410": "dead", "/png": "unsupported", "/empty": "empty", "/bin": "unsupported",
                "/js": "thin", "/txt": "ok", "/slow": "timeout"}
    ids = {path: add_source(db_path, server.url_for(path)) for path in expected}
    t0 = time.monotonic()
    summary = fetch_sources(db_path, list(ids.values()), policy(deadline=1.0, read_timeout=1.0, per_host=8),
                            pool=pool)
    assert time.monotonic() - t0 < 10
    got = {path: row(db_path, "SELECT status FROM source WHERE id = ?", sid)[0] for path, sid in ids.items()}
    assert got == expected
    for path, sid in ids.items():
        src = row(db_path, "SELECT status, reason FROM source WHERE id = ?", sid)
        if src[0] != "ok":
            assert src[1], f"{path} has no reason"
    assert summary["outcomes"]["unsupported"] == 2
    # a failure keeps no body; thin keeps its body and text
    assert row(db_path, "SELECT body_hash FROM snapshot WHERE source_id = ?", ids["/500"])[0] is None
    assert row(db_path, "SELECT body_hash FROM snapshot WHERE source_id = ?", ids["/js"])[0] is not None
    assert row(db_path, "SELECT fail_count FROM source WHERE id = ?", ids["/png"])[0] == 0
    assert row(db_path, "SELECT fail_count FROM source WHERE id = ?", ids["/slow"])[0] == 1


def test_robots_disallow_is_a_status_not_a_failure(db_path: Path, server: HTTPServer, pool: Any) -> None:
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n",
                                                           content_type="text/plain")
    server.expect_request("/private/x").respond_with_data(page("secret"), content_type="text/html")
    sid = add_source(db_path, server.url_for("/private/x"))
    fetch_sources(db_path, [sid], policy(respect_robots=True), pool=pool)
    src = row(db_path, "SELECT status, reason, fail_count FROM source WHERE id = ?", sid)
    assert src[0] == "robots" and "robots.txt" in src[1] and src[2] == 0


def test_robots_txt_is_read_once_for_runs_of_a_day(db_path: Path, server: HTTPServer, pool: Any) -> None:
    """A second run (the same day) and another process use the robots.txt the first run stored in the catalog:
    the site is not asked again, and what it disallowed stays disallowed."""
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n",
                                                           content_type="text/plain")
    for name in ("a", "b", "private/x"):
        server.expect_request(f"/{name}").respond_with_data(page(name), content_type="text/html")
    a, b, private = (add_source(db_path, server.url_for(f"/{name}")) for name in ("a", "b", "private/x"))

    def robots_asked() -> int:
        return sum(1 for request, _ in server.log if request.path == "/robots.txt")

    first = fetch_sources(db_path, [a, private], policy(respect_robots=True), pool=pool)
    assert first["outcomes"] == {"ok": 1, "robots": 1}
    assert (first["robots_requests"], first["robots_shared"]) == (1, 0) and robots_asked() == 1
    second = fetch_sources(db_path, [b], policy(respect_robots=True), pool=pool)
    assert second["outcomes"] == {"ok": 1}
    assert (second["robots_requests"], second["robots_shared"]) == (0, 1) and robots_asked() == 1
    # another process, after the site lifted its rule: the stored answer (less than a day old) still holds
    server.clear_all_handlers()
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/private/x").respond_with_data(page("x"), content_type="text/html")
    proc = run_cli(db_path, "fetch", "--json", "--delay", "0", "--timeout", "5", str(private))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcomes"] == {"robots": 1} and robots_asked() == 1
    assert tuple(row(db_path, "SELECT outcome, http_status FROM robots_txt")) == ("parsed", 200)
    # --ignore-robots neither asks the catalog nor the site
    ignored = fetch_sources(db_path, [private], policy(respect_robots=False), pool=pool)
    assert ignored["outcomes"] == {"ok": 1} and ignored["robots_requests"] == 0 and ignored["robots_shared"] == 0


def test_redirect_and_change_are_reported_per_note(db_path: Path, server: HTTPServer, pool: Any,
                                                   tmp_path: Path) -> None:
    server.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    server.expect_request("/new").respond_with_data(page("Moved page"), content_type="text/html")
    version = {"n": 1}
    server.expect_request("/live").respond_with_handler(
        lambda _: Response(page(f"Live page version {version['n']}", words=f"v{version['n']}"),
                           content_type="text/html"))
    moved = add_source(db_path, server.url_for("/old"))
    live = add_source(db_path, server.url_for("/live"))
    note = tmp_path / "v" / "notes" / "a.md"  # one note cites both
    note.parent.mkdir(parents=True)
    note.write_text(f"[x]: {server.url_for('/old')}\n[y]: {server.url_for('/live')}\n", encoding="utf-8")
    with open_store(db_path) as store:
        import_vault(store, [tmp_path / "v"])
    fetch_sources(db_path, [moved, live], policy(), pool=pool)
    version["n"] = 2
    fetch_sources(db_path, [moved, live], policy(), pool=pool)
    snap = row(db_path, "SELECT final_url, redirects FROM snapshot WHERE source_id = ? ORDER BY id DESC", moved)
    assert snap[0] == server.url_for("/new")
    assert json.loads(snap[1]) == [{"url": server.url_for("/old"), "status": 301}]
    with open_store(db_path) as store:
        report = check_report(store, [moved, live])
    assert report["counts"] == {"dead": 0, "failing": 0, "redirected": 1, "changed": 1}
    assert [n["path"] for n in report["notes"]] == ["notes/a.md"]
    problems = {(i["id"], i["problem"]) for i in report["notes"][0]["sources"]}
    assert problems == {(moved, "redirected"), (live, "changed")}


def test_selection(db_path: Path) -> None:
    ids = [add_source(db_path, f"https://example.org/{i}") for i in range(4)]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record_fetch(db_path, ids[1], "ok", "2020-01-01T00:00:00Z")
    record_fetch(db_path, ids[2], "ok", now)
    record_fetch(db_path, ids[3], "timeout", now)
    with open_store(db_path) as store:
        assert select_source_ids(store) == [ids[0]]
        assert select_source_ids(store, stale_days=30) == [ids[0], ids[1]]
        assert select_source_ids(store, failed=True) == [ids[0], ids[3]]
        assert select_source_ids(store, all_sources=True) == ids
        assert select_source_ids(store, [str(ids[2]), "https://example.org/3"]) == [ids[2], ids[3]]


def test_concurrent_reader_never_sees_locked(db_path: Path, server: HTTPServer, pool: Any) -> None:
    for i in range(40):
        server.expect_request(f"/r{i}").respond_with_data(page(f"Reader page {i}"), content_type="text/html")
    ids = [add_source(db_path, server.url_for(f"/r{i}")) for i in range(40)]
    errors: list[BaseException] = []
    reads = [0]
    stop = threading.Event()

    def reader() -> None:
        conn = sqlite3.connect(db_path, timeout=5)
        try:
            while not stop.is_set():
                conn.execute("SELECT s.id, s.title, s.status, length(t.text) FROM source s "
                             "LEFT JOIN source_text t ON t.source_id = s.id").fetchall()
                conn.execute("SELECT status, count(*) FROM source GROUP BY status").fetchall()
                reads[0] += 1
        except sqlite3.OperationalError as exc:
            errors.append(exc)
        finally:
            conn.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        summary = fetch_sources(db_path, ids, policy(per_host=4), pool=pool)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert reads[0] > 10
    assert summary["ok"] == 40


# ------------------------------------------------------------------------------------------- CLI (subprocess)


def run_cli(db: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REFMAN), "--db", str(db), *args], capture_output=True, text=True, timeout=timeout)


def test_cli_fetch_json_quiet_when_piped(db_path: Path, server: HTTPServer) -> None:
    for i in range(5):
        server.expect_request(f"/cli{i}").respond_with_data(page(f"CLI page {i}"), content_type="text/html")
    server.expect_request("/missing").respond_with_data("no", status=404)
    for i in range(5):
        add_source(db_path, server.url_for(f"/cli{i}"))
    add_source(db_path, server.url_for("/missing"))
    proc = run_cli(db_path, "fetch", "--json", "--delay", "0", "--ignore-robots", "--timeout", "5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar in a pipe
    summary = json.loads(proc.stdout)
    assert summary["total"] == 6 and summary["ok"] == 5 and summary["outcomes"]["dead"] == 1
    again = run_cli(db_path, "fetch", "--json", "--delay", "0")
    assert json.loads(again.stdout)["total"] == 0  # nothing new left
    check = run_cli(db_path, "check", "--offline", "--json")
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["counts"]["failing"] == 1
    human = run_cli(db_path, "fetch", "--failed", "--delay", "0", "--ignore-robots")
    assert human.returncode == 0 and "fetched 1 of 1" in human.stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_is_consistent_and_resumes(db_path: Path, server: HTTPServer, sig: int) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.25)
        return Response(page(f"Slow {request.path}"), content_type="text/html")

    n = 40
    for i in range(n):
        server.expect_request(f"/s{i}").respond_with_handler(slow)
    for i in range(n):
        add_source(db_path, server.url_for(f"/s{i}"))
    out_path = db_path.with_suffix(".out")
    with out_path.open("w") as out_file:
        proc = subprocess.Popen(
            [str(REFMAN), "--db", str(db_path), "fetch", "--json", "--delay", "0", "--ignore-robots",
             "--per-host", "2"], stdout=out_file, stderr=subprocess.DEVNULL, text=True)
    # wait until something was committed, then interrupt mid-run
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(0.2)
        done = row(db_path, "SELECT COUNT(*) FROM source WHERE status != 'new'")[0]
        if done >= 4:
            break
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert json.loads(out_path.read_text())["interrupted"] is True
    assert row(db_path, "PRAGMA integrity_check")[0] == "ok"
    assert row(db_path, "PRAGMA foreign_key_check") is None
    assert row(db_path, "SELECT COUNT(*) FROM source s WHERE status = 'ok' AND NOT EXISTS "
                        "(SELECT 1 FROM snapshot WHERE source_id = s.id)")[0] == 0
    assert row(db_path, "SELECT COUNT(*) FROM source s WHERE status != 'new' AND NOT EXISTS "
                        "(SELECT 1 FROM snapshot WHERE source_id = s.id)")[0] == 0
    fetched = row(db_path, "SELECT COUNT(*) FROM source WHERE status != 'new'")[0]
    assert 0 < fetched < n
    resumed = run_cli(db_path, "fetch", "--json", "--delay", "0", "--ignore-robots", "--per-host", "4")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["total"] == n - fetched
    assert row(db_path, "SELECT COUNT(*) FROM source WHERE status = 'ok'")[0] == n
    assert row(db_path, "SELECT COUNT(*) FROM snapshot")[0] == n  # nothing fetched twice


def test_run_fetch_nothing_to_do(db_path: Path) -> None:
    connect(db_path).close()
    assert run_fetch(db_path)["total"] == 0


def test_single_source_extracts_in_process(db_path: Path, server: HTTPServer) -> None:
    """`refman add URL --fetch` path: one source, no process pool to start."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_extract_tests", Path(__file__).with_name("test_fetch_extract.py"))
    helpers = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(helpers)  # type: ignore[union-attr]
    data = helpers.make_pdf(["A PDF served over HTTP for the single-source path", "with a second line of text."])
    server.expect_request("/doc.pdf").respond_with_data(data, content_type="application/pdf")
    sid = add_source(db_path, server.url_for("/doc.pdf"))
    t0 = time.monotonic()
    summary = fetch_sources(db_path, [sid], policy())
    assert time.monotonic() - t0 < 5
    assert summary["ok"] == 1
    snap = row(db_path, "SELECT content_type, metadata_json FROM snapshot WHERE source_id = ?", sid)
    assert snap[0] == "application/pdf" and json.loads(snap[1])["kind"] == "pdf"
    assert "single-source path" in row(db_path, "SELECT text FROM source_text WHERE source_id = ?", sid)[0]


def test_writer_failing_on_its_last_batch_still_closes(db_path: Path) -> None:
    from refman.fetch.writer import Writer
    from refman.store.sqlite.schema import upgrade_catalog

    upgrade_catalog(db_path)
    writer = Writer(db_path)
    writer.start()
    writer.put(object())  # type: ignore[arg-type]  # not a record: applying it fails
    # close() sends the closing None at once, so it lands in the failing batch: close must not wait for another.
    closer = threading.Thread(target=writer.close, daemon=True)
    closer.start()
    closer.join(timeout=20)
    assert not closer.is_alive(), "Writer.close() hung after the writer failed"
    assert isinstance(writer.error, AttributeError)


def _stderr_on_a_terminal(db: Path, *args: str) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    from terminal import run_on_a_terminal

    return run_on_a_terminal([str(REFMAN), "--db", str(db), *args], "stderr")


def test_cli_fetch_bar_on_a_terminal_but_not_with_json(db_path: Path, server: HTTPServer) -> None:
    for i in range(3):
        server.expect_request(f"/tty{i}").respond_with_data(page(f"TTY page {i}"), content_type="text/html")
        add_source(db_path, server.url_for(f"/tty{i}"))
    proc, drawn = _stderr_on_a_terminal(db_path, "fetch", "--delay", "0", "--ignore-robots")
    assert proc.returncode == 0 and b"fetched 3 of 3" in proc.stdout
    assert b"fetch" in drawn and b"3/3" in drawn and b"3 ok" in drawn and b"0 failed" in drawn
    proc, drawn = _stderr_on_a_terminal(db_path, "fetch", "--all", "--json", "--delay", "0", "--ignore-robots")
    assert proc.returncode == 0 and json.loads(proc.stdout)["total"] == 3
    assert drawn == b""  # --json: quiet even on a terminal


def test_a_changed_fetch_keeps_the_evidence_of_an_imported_bibliography(db_path: Path, server: HTTPServer,
                                                                         pool: Any, tmp_path: Path) -> None:
    from refman.catalog import import_bibliographies
    from refman.references import resolve_source

    url = server.url_for("/imported")
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{curated, title = {The Curated Title}, author = {Doe, Jane}, year = {2019},"
                   f" url = {{{url}}}}}\n", encoding="utf-8")
    with open_store(db_path) as store:
        import_bibliographies(store, [bib])
        sid = resolve_source(store, "curated")
    server.expect_request("/imported").respond_with_data(page("Page Title v1"), content_type="text/html")
    fetch_sources(db_path, [sid], policy(), pool=pool)
    server.clear()
    server.expect_request("/imported").respond_with_data(page("Page Title v2", "changed text"),
                                                         content_type="text/html")
    fetch_sources(db_path, [sid], policy(), pool=pool)  # a changed page: its evidence is replaced, not the import's
    origins = {r[0] for r in rows(db_path, "SELECT origin FROM field_value WHERE source_id = ? AND field = 'title'",
                                  sid)}
    assert "import" in origins and len(origins) > 1  # the user's bibliography and the page's own metadata
    assert row(db_path, "SELECT title FROM source WHERE id = ?", sid)[0] == "The Curated Title"
    assert "Page Title v2" in row(db_path, "SELECT text FROM source_text WHERE source_id = ?", sid)[0]
