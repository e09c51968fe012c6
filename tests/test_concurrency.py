"""Two refman processes at once, and a refman killed: real processes, a real HTTP server on 127.0.0.1.

After each scenario: exit codes and one-line stderr, `refman db check` passes, no source has two snapshots of
one fetch, no claim is left, and no process of the run survives (found by an environment marker that the
processes and their pool workers inherit)."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REFMAN = str(Path(sys.executable).parent / "refman")


def make_vault(root: Path, notes: int, per_note: int = 5) -> None:
    for n in range(notes):
        folder = root / f"topic-{n % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        body = [f"# Note {n}\n"] + [f"[Page {n}-{i} about data]: https://site{i % 7}.example/{n}/{i}\n"
                                     for i in range(per_note)]
        (folder / f"note-{n}.md").write_text("\n".join(body), encoding="utf-8")


def marked_env(db: Path) -> tuple[dict[str, str], str]:
    mark = uuid.uuid4().hex
    env = dict(os.environ, REFMAN_DB=str(db), REFMAN_TEST_MARK=mark)
    env.pop("COLUMNS", None)
    return env, mark


def processes_with(mark: str) -> list[int]:
    """Pids of live processes whose environment carries the marker (zombies aside)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if f"REFMAN_TEST_MARK={mark}".encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


def wait_gone(mark: str, seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = processes_with(mark)
        if not left:
            return []
        time.sleep(0.2)
    return processes_with(mark)


def db_check(db: Path) -> dict[str, object]:
    proc = subprocess.run([REFMAN, "--db", str(db), "db", "check", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def one_line_or_none(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert len(stderr.strip().splitlines()) <= 1, stderr


needs_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find processes")


@needs_proc
def test_two_imports_at_once_both_succeed(tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    make_vault(vault, 400)  # above the pool threshold: both imports parse in their pools
    db = tmp_path / "c.db"
    env, mark = marked_env(db)
    subprocess.run([REFMAN, "db", "upgrade"], env=env, check=True, capture_output=True)
    procs = [subprocess.Popen([REFMAN, "import", "-q", str(vault)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        one_line_or_none(err)
    assert sorted("400 notes scanned" in out for out, _ in outs) == [False, True]  # the second saw the first's work
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM note").fetchone()[0] == 400
    assert conn.execute("SELECT count(*) FROM mention").fetchone()[0] == 2000
    conn.close()
    assert db_check(db)["ok"] is True
    assert wait_gone(mark) == []


@needs_proc
@pytest.mark.parametrize("trial", range(4))
def test_kill_9_of_import_leaves_no_worker_and_a_sound_catalog(tmp_path: Path, trial: int) -> None:
    vault = tmp_path / "vault"
    make_vault(vault, 3000, per_note=8)
    db = tmp_path / "c.db"
    env, mark = marked_env(db)
    subprocess.run([REFMAN, "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([REFMAN, "import", "-q", str(vault)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(random.Random(trial).uniform(0.6, 2.5))  # while it parses (or writes)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_gone(mark) == [], "pool workers outlived a killed import"
    assert db_check(db)["ok"] is True
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM note").fetchone()[0] in (0, 3000)  # it lands whole or not at all
    conn.close()
    again = subprocess.run([REFMAN, "import", "-q", str(vault)], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr


class _Pages(BaseHTTPRequestHandler):
    delay = 0.05

    def do_GET(self) -> None:
        time.sleep(self.delay)
        if self.path.startswith("/robots.txt"):
            self.send_response(404)
            self.end_headers()
            return
        body = (f"<html><head><title>Page {self.path}</title></head><body><article><p>"
                + "Archived text of the page, the same on every fetch. " * 20 + "</p></article></body></html>"
                ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def add_sources(db: Path, base: str, n: int) -> None:
    from refman.catalog import add_source
    from refman.store import open_store

    store = open_store(db)
    for i in range(n):
        add_source(store, f"{base}/page/{i}")
    store.close()


def snapshot_counts(db: Path) -> list[int]:
    conn = sqlite3.connect(db)
    rows = [r[0] for r in conn.execute(
        "SELECT (SELECT count(*) FROM snapshot WHERE source_id = s.id) FROM source s ORDER BY id")]
    conn.close()
    return rows


FETCH = ("fetch", "--json", "--delay", "0", "--per-host", "4", "--ignore-robots", "--timeout", "10")


@needs_proc
def test_two_fetches_at_once_fetch_each_source_once(tmp_path: Path, site: str) -> None:
    db = tmp_path / "c.db"
    add_sources(db, site, 60)
    env, mark = marked_env(db)
    first = subprocess.Popen([REFMAN, *FETCH], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    second = subprocess.Popen([REFMAN, *FETCH], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = []
    for p in (first, second):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        one_line_or_none(err)
        results.append(json.loads(out))
    assert sum(r["done"] for r in results) == 60
    assert snapshot_counts(db) == [1] * 60  # nobody fetched a source twice
    assert db_check(db)["ok"] is True
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM fetch_claim").fetchone()[0] == 0
    conn.close()
    # a re-fetch of identical content records the check, never a second copy of the body
    again = subprocess.run([REFMAN, *FETCH, "--all"], env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout)["unchanged"] == 60
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM snapshot WHERE unchanged = 0").fetchone()[0] == 60
    assert conn.execute("SELECT count(DISTINCT body_hash) FROM snapshot").fetchone()[0] == \
        conn.execute("SELECT count(*) FROM blob WHERE hash IN (SELECT body_hash FROM snapshot)").fetchone()[0]
    conn.close()
    assert wait_gone(mark) == []


@needs_proc
@pytest.mark.parametrize("trial", range(3))
def test_kill_9_of_fetch_then_another_fetch_finishes_the_work(tmp_path: Path, site: str, trial: int) -> None:
    db = tmp_path / "c.db"
    add_sources(db, site, 80)
    env, mark = marked_env(db)
    proc = subprocess.Popen([REFMAN, *FETCH, "--concurrency", "4"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(random.Random(trial).uniform(0.5, 2.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_gone(mark) == [], "extraction workers outlived a killed fetch"
    env2, mark2 = marked_env(db)
    rest = subprocess.run([REFMAN, *FETCH], env=env2, capture_output=True, text=True, timeout=120)
    assert rest.returncode == 0, rest.stderr
    assert json.loads(rest.stdout)["claimed_elsewhere"] == 0  # the dead run's claims were taken over
    assert snapshot_counts(db) == [1] * 80
    assert db_check(db)["ok"] is True
    assert wait_gone(mark2) == []


def test_offline_fetch_and_check_record_nothing(tmp_path: Path) -> None:
    """Every host refuses (nothing listens): the run stops early, says so, and records nothing."""
    import socket

    db = tmp_path / "c.db"
    from refman.catalog import add_source
    from refman.store import open_store

    ports = []
    for _ in range(8):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])  # closed again: connections are refused
    store = open_store(db)
    for i, port in enumerate(ports):
        add_source(store, f"http://127.0.0.{i + 2}:{port}/page")
    store.close()
    env = dict(os.environ, REFMAN_DB=str(db))
    for args in (("fetch", "--ignore-robots"), ("check", "--ignore-robots")):
        for _ in range(2):  # twice: nothing may accumulate into "dead"
            proc = subprocess.run([REFMAN, *args], env=env, capture_output=True, text=True, timeout=60)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert "network unreachable" in proc.stdout
            one_line_or_none(proc.stderr)
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM snapshot").fetchone()[0] == 0
    assert {r[0] for r in conn.execute("SELECT status FROM source")} == {"new"}
    conn.close()


def test_refused_hosts_are_failing_not_dead_when_others_answer(tmp_path: Path, site: str) -> None:
    import socket

    db = tmp_path / "c.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    from refman.catalog import add_source
    from refman.store import open_store

    store = open_store(db)
    add_source(store, f"{site}/page/ok")
    add_source(store, f"http://127.0.0.9:{closed}/gone")
    store.close()
    report = _checked(db, times=3)
    assert report["counts"]["failing"] == 1 and report["counts"]["dead"] == 0  # refused: never dead


def _checked(db: Path, times: int) -> dict[str, Any]:
    """The report of the last of `times` runs of `refman check --json` (each must succeed)."""
    env = dict(os.environ, REFMAN_DB=str(db))
    for _ in range(times):
        proc = subprocess.run([REFMAN, "check", "--json", "--ignore-robots", "--delay", "0", "--dead-after", "0"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def test_redirect_loop_is_one_failing_verdict(tmp_path: Path) -> None:
    """A redirect loop is `failing` (never dead, not also `redirected`), reported once per note."""
    from refman.catalog import add_source
    from refman.store import open_store
    from tests.httpfaults import FaultServer

    db = tmp_path / "c.db"
    with FaultServer() as faults:
        store = open_store(db)
        add_source(store, faults.url("/loop/a"))
        add_source(store, faults.url("/ok"))
        store.close()
        report = _checked(db, times=2)
    verdicts = [(item["url"], item["problem"]) for note in report["notes"] for item in note["sources"]]
    assert verdicts == [(faults.url("/loop/a"), "failing")], verdicts
    assert report["counts"] == {"dead": 0, "failing": 1, "redirected": 0, "changed": 0}
