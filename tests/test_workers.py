"""Fetch workers on PostgreSQL (issue #17 §3): `refman fetch --enqueue`, `refman worker`, migration 0011.

Real PostgreSQL (a fresh catalog database per test, tests/pg.py), a real HTTP server on 127.0.0.1…127.0.0.4 that
counts requests in flight per Host header and when each request started, and real `refman worker` processes, one
of them killed with SIGKILL mid-run. Heartbeats, the stall timeout and polling are shortened through
REFMAN_WORKER_* so the run takes seconds. Skipped in one line where PostgreSQL (or procrastinate) is absent."""

from __future__ import annotations

import collections
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pg import fresh_catalog_database, migrate, pg_url, query

__all__ = ["pg_url"]  # a fixture, imported for pytest

HOSTS = 4
LATENCY = 0.15
PER_HOST = 2
DELAY = 0.15
# The gate spaces the moments requests may start; the server sees them after the client's connection set-up (a
# new connection's address lookup runs in a thread) and its own thread's scheduling, which on a loaded 2-core
# machine can move one request by tens of ms. Each gap is checked within JITTER, and the average over all of a
# host's requests exactly.
JITTER = 0.06
FAST = {"REFMAN_WORKER_HEARTBEAT": "0.3", "REFMAN_WORKER_STALLED": "1.5", "REFMAN_WORKER_POLL": "0.2"}


class Server:
    """HTTP on 127.0.0.1…127.0.0.HOSTS (one port): pages after LATENCY, robots.txt `robots` (404 when None); counts
    per Host header."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.max_in_flight: collections.Counter[str] = collections.Counter()
        self.starts: dict[str, list[float]] = collections.defaultdict(list)
        self.hits: collections.Counter[str] = collections.Counter()
        self.robots: bytes | None = None  # the robots.txt of every host (None: 404)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                host = self.headers.get("Host", "").rsplit(":", 1)[0]
                with server.lock:
                    server.starts[host].append(time.monotonic())
                    server.in_flight[host] += 1
                    server.max_in_flight[host] = max(server.max_in_flight[host], server.in_flight[host])
                    server.hits[f"{host}{self.path}"] += 1
                try:
                    time.sleep(LATENCY)
                    if self.path == "/robots.txt":
                        body, status = (server.robots, 200) if server.robots else (b"no robots here", 404)
                    else:
                        body = (f"<html><head><title>Page {self.path}</title></head><body><article><h1>Page "
                                f"{self.path}</h1><p>{'Plain words of a test page. ' * 40}</p></article></body>"
                                "</html>").encode()
                        status = 200
                    self.send_response(status)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with server.lock:
                        server.in_flight[host] -= 1

        first = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = first.server_address[1]
        self.servers = [first] + [ThreadingHTTPServer((f"127.0.0.{h}", self.port), Handler)
                                  for h in range(2, HOSTS + 1)]
        for srv in self.servers:
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def url(self, n: int) -> str:
        return f"http://127.0.0.{n % HOSTS + 1}:{self.port}/p/{n}"

    def page_hits(self) -> dict[str, int]:
        with self.lock:
            return {k: v for k, v in self.hits.items() if "/p/" in k}

    def close(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def catalog_url() -> Iterator[str]:
    pytest.importorskip("procrastinate", reason="workers need procrastinate (pip install -e '.[postgres]')")
    with fresh_catalog_database() as url:
        yield url


def refman(url: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "refman", "--db", url, *args], capture_output=True, text=True,
                          env=_env(), timeout=120, **kwargs)


def _env() -> dict[str, str]:
    env = dict(os.environ, **FAST)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    return env


def _add_sources(url: str, urls: list[str]) -> None:
    from refman.api import Catalog

    with Catalog.open(url) as cat:
        for u in urls:
            cat.add(u)


def test_enqueue_twice_queues_once(catalog_url: str, server: Server) -> None:
    _add_sources(catalog_url, [server.url(n) for n in range(5)])
    first = refman(catalog_url, "fetch", "--enqueue", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"selected": 5, "queued": 5, "already_queued": 0}
    again = refman(catalog_url, "fetch", "--enqueue")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "queued 0 sources for `refman worker`; 5 sources already queued or being fetched"
    assert query(catalog_url, "SELECT count(*) FROM refman_queue.procrastinate_jobs") == [(5,)]
    named = refman(catalog_url, "fetch", "--enqueue", "--json", server.url(0))
    assert json.loads(named.stdout) == {"selected": 1, "queued": 0, "already_queued": 1}


def test_sqlite_catalog_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    for args in (("fetch", "--enqueue"), ("worker", "--once")):
        done = refman(db, *args)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "refman: workers need a PostgreSQL catalog (--db postgresql://USER@HOST/DB): this catalog is a SQLite "
            "file; run `refman fetch` instead"]
        assert not (tmp_path / "c.db").exists()


def test_three_workers_one_killed(catalog_url: str, server: Server) -> None:
    """Three workers, one SIGKILLed mid-run: every source recorded exactly once, only pages in flight fetched
    twice, per-host limit and delay held across the workers, the survivors exit 0 once the queue is empty."""
    n = 48
    _add_sources(catalog_url, [server.url(i) for i in range(n)])
    queued = refman(catalog_url, "fetch", "--enqueue", "--json")
    assert json.loads(queued.stdout)["queued"] == n
    cmd = [sys.executable, "-m", "refman", "--db", catalog_url, "worker", "--once", "--json", "--concurrency", "4",
           "--per-host", str(PER_HOST), "--delay", str(DELAY), "--processes", "0"]
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
               for _ in range(3)]
    try:
        deadline = time.monotonic() + 60
        while sum(server.page_hits().values()) < n // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        started_at_kill = set(server.page_hits())
        results = [w.communicate(timeout=90) for w in workers[1:]]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    for w, (_out, err) in zip(workers[1:], results, strict=True):
        assert w.returncode == 0, err
    summaries = [json.loads(out) for out, _ in results]

    # nothing lost: every source recorded, exactly once
    assert query(catalog_url, "SELECT count(*) FROM source WHERE status = 'ok'") == [(n,)]
    per_source = query(catalog_url, "SELECT source_id, count(*) FROM snapshot GROUP BY source_id")
    assert len(per_source) == n and {c for _, c in per_source} == {1}
    # only pages in flight in the killed worker (requested, not yet recorded: at most its 4 jobs) were fetched
    # twice
    hits = server.page_hits()
    assert len(hits) == n
    twice = [page for page, count in hits.items() if count > 1]
    assert all(count <= 2 for count in hits.values())
    assert len(twice) <= 4 and set(twice) <= started_at_kill
    # the killed worker's jobs went back to the queue; every job has ended
    assert sum(s["requeued"] for s in summaries) >= len(twice)
    assert query(catalog_url, "SELECT status, count(*) FROM refman_queue.procrastinate_jobs GROUP BY status") == []
    # politeness over all workers together
    assert max(server.max_in_flight.values()) <= PER_HOST
    for host, unsorted in server.starts.items():
        starts = sorted(unsorted)
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert min(gaps) >= DELAY - JITTER, (host, min(gaps))
        assert starts[-1] - starts[0] >= (len(starts) - 1) * DELAY - JITTER, host


def test_robots_txt_is_read_once_for_all_workers(catalog_url: str, server: Server) -> None:
    """A site's robots.txt is read by one worker and used by every worker after it, through the catalog, for a
    day: the three workers of a second round ask no site again, and keep honouring what the first read
    disallowed though the sites have dropped the rule since."""
    server.robots = b"User-agent: *\nDisallow: /p/8\n"  # one page of 127.0.0.1's (its URLs are /p/0, /p/4, …)
    cmd = [sys.executable, "-m", "refman", "--db", catalog_url, "worker", "--once", "--json", "--delay", "0",
           "--processes", "0"]
    _add_sources(catalog_url, [server.url(i) for i in range(HOSTS)])  # one page per host
    refman(catalog_url, "fetch", "--enqueue")
    first = refman(catalog_url, "worker", "--once", "--json", "--delay", "0", "--processes", "0")
    assert first.returncode == 0, first.stderr
    robots_hits = {host: n for host, n in server.hits.items() if host.endswith("/robots.txt")}
    assert sorted(robots_hits.values()) == [1] * HOSTS
    assert query(catalog_url, "SELECT outcome, http_status, count(*) FROM robots_txt GROUP BY 1, 2") == [
        ("parsed", 200, HOSTS)]

    server.robots = None
    n = 4 * HOSTS
    _add_sources(catalog_url, [server.url(i) for i in range(HOSTS, n)])
    refman(catalog_url, "fetch", "--enqueue")
    workers = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
               for _ in range(3)]
    try:
        results = [w.communicate(timeout=90) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    for w, (_out, err) in zip(workers, results, strict=True):
        assert w.returncode == 0, err
    assert {host: n for host, n in server.hits.items() if host.endswith("/robots.txt")} == robots_hits
    assert query(catalog_url, "SELECT status, count(*) FROM source GROUP BY status ORDER BY status") == [
        ("ok", n - 1), ("robots", 1)]
    assert query(catalog_url, "SELECT url FROM source WHERE status = 'robots'") == [(server.url(8),)]
    assert "127.0.0.1/p/8" not in server.page_hits()


def test_a_source_claimed_by_a_local_fetch_is_left_to_it_then_retried(catalog_url: str, server: Server) -> None:
    """A worker and a local `refman fetch` never fetch one page twice: a source another live run has claimed is
    tried again later; once that run lets it go unrecorded, the worker fetches it (exactly once)."""
    from refman.fetch.claims import claim, release
    from refman.store import open_store

    n = 4
    _add_sources(catalog_url, [server.url(i) for i in range(n)])
    refman(catalog_url, "fetch", "--enqueue")
    held = query(catalog_url, "SELECT id FROM source ORDER BY id LIMIT 1")[0][0]
    store = open_store(catalog_url)
    try:
        assert claim(store, [held]) == ([held], 0)  # this test process is the other, live run
        cmd = [sys.executable, "-m", "refman", "--db", catalog_url, "worker", "--once", "--json", "--delay", "0",
               "--processes", "0"]
        worker = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(_env(), REFMAN_WORKER_RETRY_WAIT="0.5"))
        try:
            deadline = time.monotonic() + 60
            while len(server.page_hits()) < n - 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.5)  # long enough for the held source's job to have been tried and put off at least once
            assert len(server.page_hits()) == n - 1 and server.url(0).split(f":{server.port}")[1] not in str(
                server.page_hits()), server.page_hits()
            assert worker.poll() is None  # waiting for the held source, not done
            release(store, [held])
            out, err = worker.communicate(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    finally:
        store.close()
    assert worker.returncode == 0, err
    assert json.loads(out)["fetched"] == n
    assert sorted(server.page_hits().values()) == [1] * n
    assert query(catalog_url, "SELECT count(*) FROM fetch_claim") == [(0,)]
    assert query(catalog_url, "SELECT count(*) FROM refman_queue.procrastinate_jobs") == [(0,)]


def test_a_job_that_fails_is_retried_with_backoff(catalog_url: str, server: Server) -> None:
    """A job that raises (here: the catalog busy past the lock timeout while another session holds a table lock)
    is retried after a wait and then recorded; the page is fetched once."""
    import psycopg

    n = 2
    _add_sources(catalog_url, [server.url(i) for i in range(n)])
    refman(catalog_url, "fetch", "--enqueue")
    cmd = [sys.executable, "-m", "refman", "--db", catalog_url, "worker", "--once", "--json", "--delay", "0",
           "--processes", "0"]
    with psycopg.connect(catalog_url) as locker:
        locker.execute("LOCK TABLE fetch_claim IN ACCESS EXCLUSIVE MODE")  # every job's claim waits for it
        worker = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=dict(_env(), REFMAN_WORKER_RETRY_WAIT="0.5", REFMAN_BUSY_TIMEOUT="0.3"))
        try:
            time.sleep(3)
            assert server.page_hits() == {} and worker.poll() is None
            locker.rollback()  # the lock goes; the retried jobs go through
            out, err = worker.communicate(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert worker.returncode == 0, err
    assert "retrying in" in err
    assert json.loads(out)["fetched"] == n
    assert sorted(server.page_hits().values()) == [1] * n
    assert query(catalog_url, "SELECT count(*) FROM refman_queue.procrastinate_jobs") == [(0,)]


def test_stopping_a_worker(catalog_url: str, server: Server) -> None:
    """Ctrl-C: the jobs under way finish and are recorded, the rest stay queued for another worker (exit 130);
    SIGTERM stops an idle worker with exit 0."""
    n = 12
    _add_sources(catalog_url, [server.url(i) for i in range(n)])
    refman(catalog_url, "fetch", "--enqueue")
    base = [sys.executable, "-m", "refman", "--db", catalog_url, "worker", "--concurrency", "2", "--delay", "0",
            "--processes", "0"]
    first = subprocess.Popen([*base, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env())
    deadline = time.monotonic() + 60
    while not server.page_hits() and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] and 1 <= summary["fetched"] < n
    assert query(catalog_url, "SELECT count(*) FROM refman_queue.procrastinate_jobs WHERE status <> 'todo'") == [(0,)]
    assert query(catalog_url, "SELECT count(*) FROM snapshot") == [(summary["fetched"],)]

    rest = refman(catalog_url, "worker", "--once", "--json", "--delay", "0", "--processes", "0")
    assert rest.returncode == 0, rest.stderr
    assert json.loads(rest.stdout)["fetched"] == n - summary["fetched"]
    assert sorted(server.page_hits().values()) == [1] * n  # nothing fetched twice

    idle = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert idle.stderr is not None
    assert idle.stderr.readline().startswith("worker started on postgresql://")
    idle.send_signal(signal.SIGTERM)
    out, err = idle.communicate(timeout=60)
    assert idle.returncode == 0, err
    assert out.startswith("worker: fetched 0 sources")


def test_migration_0011_on_a_populated_catalog(pg_url: str) -> None:
    """0011 adds the queue in its own schema (nothing in `public` changes), and its downgrade removes it."""
    pytest.importorskip("procrastinate", reason="workers need procrastinate (pip install -e '.[postgres]')")
    from test_migrations_postgres import _seed

    migrate(pg_url, "0010")
    _seed(pg_url, "0010")
    public = query(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    migrate(pg_url, "0011")
    assert query(pg_url, "SELECT version_num FROM alembic_version") == [("0011",)]
    assert query(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1") == public
    assert {r[0] for r in query(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'refman_queue'")} == {
        "procrastinate_jobs", "procrastinate_workers", "procrastinate_events", "procrastinate_periodic_defers",
        "host_turn"}
    assert query(pg_url, "SHOW search_path") == [('"$user", public',)]
    assert query(pg_url, "SELECT id, title FROM source ORDER BY id") == [(1, "Café society"),
                                                                          (2, "数据库与数据仓库")]
    migrate(pg_url, "0010", down=True)
    assert query(pg_url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'refman_queue'") == [(0,)]
    assert query(pg_url, "SELECT count(*) FROM source") == [(2,)]
    migrate(pg_url, "head")
    assert query(pg_url, "SELECT count(*) FROM refman_queue.procrastinate_jobs") == [(0,)]


def test_migration_0011_is_a_no_op_on_sqlite(tmp_path: Path) -> None:
    import sqlite3

    from test_migrations_sqlite_schema import _schema_at

    before = _schema_at(tmp_path / "a.db", "0010")
    after = _schema_at(tmp_path / "b.db", "0011")
    assert before == after
    with sqlite3.connect(tmp_path / "b.db") as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0011",)]
    conn.close()
