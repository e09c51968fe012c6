"""Throughput, memory, politeness and archive size of `refman fetch` against a local server.

    .venv/bin/python benchmarks/bench_fetch.py              # 2,000 URLs over 20 hosts, 100 ms latency
    .venv/bin/python benchmarks/bench_fetch.py --urls 400   # quicker

A threaded HTTP server binds 127.0.0.1 … 127.0.0.N (all loopback on Linux: N distinct hosts to be polite to)
and answers every request after `--latency-ms`. It serves the 295 real pages of ../shared/corpus/web/pages
(gzipped ones with Content-Encoding: gzip, as stored) or generated pages when the corpus is absent; each URL's
body gets its own trailing comment so that identical-content dedup does not flatter the archive figure (the
gzipped pages keep identical bodies). The server counts requests in flight per host.

Measured:
* `refman fetch` (a subprocess, --per-host 2 --delay 0): pages/s over its wall time, peak memory of its process
  tree (RSS of the main process, and PSS summed over it and its workers, sampled every 0.1 s);
* two ceilings on the same pages with 2 processes and no network: refman's extraction step alone (extract:
  text + Markdown + metadata; and extract + hash + compress, what a worker does), and trafilatura alone
  (`extract(..., with_metadata=True, output_format="json")`, the corpus README's baseline);
* a sequential fetch-then-extract loop on a sample, extrapolated;
* the most requests ever in flight to one host (server side), and archive bytes per page against raw HTML.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ../shared/corpus/web/pages beside the checkout; REFMAN_BENCH_CORPUS names it for a checkout elsewhere (a worktree)
CORPUS = Path(os.environ.get("REFMAN_BENCH_CORPUS") or ROOT.parent / "shared" / "corpus" / "web" / "pages")
REFMAN = Path(sys.executable).with_name("refman")
sys.path.insert(0, str(ROOT))


# ------------------------------------------------------------------------------------------------ pages


def load_pages() -> list[tuple[bytes, bool]]:
    """(body as served, gzipped) for each distinct page."""
    if CORPUS.is_dir():
        pages = []
        for f in sorted(CORPUS.iterdir()):
            if f.name.endswith(".html.gz"):
                pages.append((f.read_bytes(), True))
            elif f.name.endswith(".html"):
                pages.append((f.read_bytes(), False))
        return pages
    words = ["archive", "reference", "note", "source", "page", "fetch", "text", "search", "citation", "metadata"]
    out = []
    for i in range(295):
        paras = "".join(
            "<p>" + " ".join(words[(i * 7 + j * 3 + k) % len(words)] for k in range(60)) + ".</p>" for j in range(30)
        )
        html = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Generated page {i}</title>"
                f"<meta name='citation_title' content='Generated page {i}'></head><body><nav>Home About</nav>"
                f"<article><h1>Generated page {i}</h1>{paras}</article><footer>Footer</footer></body></html>")
        out.append((html.encode(), False))
    return out


def raw_html(page: tuple[bytes, bool]) -> bytes:
    return gzip.decompress(page[0]) if page[1] else page[0]


# ------------------------------------------------------------------------------------------------ server


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.other_requests: Counter[str] = Counter()  # path → requests of anything but a page (robots.txt)
        self.bytes_raw = 0  # decoded HTML bytes of page responses


def make_handler(pages: list[tuple[bytes, bool]], latency: float, stats: Stats) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            host = self.server.server_address[0]
            with stats.lock:
                stats.in_flight[host] += 1
                stats.requests[host] += 1
                stats.max_in_flight[host] = max(stats.max_in_flight[host], stats.in_flight[host])
            try:
                time.sleep(latency)
                if not self.path.startswith("/p/"):
                    with stats.lock:
                        stats.other_requests[self.path] += 1
                    self._send(404, b"not found", "text/plain")
                    return
                n = int(self.path[3:])
                body, gz = pages[n % len(pages)]
                headers = {}
                if gz and "gzip" in self.headers.get("Accept-Encoding", ""):
                    headers["Content-Encoding"] = "gzip"
                    with stats.lock:
                        stats.bytes_raw += len(gzip.decompress(body))
                else:  # a unique tail per URL: no free dedup for the archive figure
                    body = gzip.decompress(body) if gz else body + f"\n<!-- copy {n} -->\n".encode()
                    with stats.lock:
                        stats.bytes_raw += len(body)
                self._send(200, body, "text/html", headers)  # no charset: the client finds it
            finally:
                with stats.lock:
                    stats.in_flight[host] -= 1

        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Servers:
    def __init__(self, hosts: int, pages: list[tuple[bytes, bool]], latency: float) -> None:
        self.stats = Stats()
        handler = make_handler(pages, latency, self.stats)
        first = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = first.server_address[1]
        self.servers = [first] + [
            ThreadingHTTPServer((f"127.0.0.{h}", self.port), handler) for h in range(2, hosts + 1)
        ]
        for srv in self.servers:
            srv.daemon_threads = True
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    def url(self, n: int) -> str:
        return f"http://127.0.0.{n % len(self.servers) + 1}:{self.port}/p/{n}"

    def close(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


# ------------------------------------------------------------------------------------------------ memory


def _tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except OSError:
            pass
    return out


def _kb(path: str, key: str) -> int:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (OSError, IndexError, ValueError):
        return 0.0


class MemorySampler(threading.Thread):
    """Peak memory and CPU time of a process tree, sampled every 0.1 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop, self.peak_main_rss, self.peak_tree_pss, self.peak_tree_rss = pid, False, 0, 0, 0
        self.cpu: dict[int, float] = {}  # last CPU seconds seen per process

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())

    @property
    def cpu_main(self) -> float:
        return self.cpu.get(self.pid, 0.0)

    def run(self) -> None:
        while not self.stop:
            pids = _tree(self.pid)
            for p in pids:
                self.cpu[p] = max(self.cpu.get(p, 0.0), cpu_seconds(p))
            self.peak_main_rss = max(self.peak_main_rss, _kb(f"/proc/{self.pid}/status", "VmRSS:"))
            self.peak_tree_pss = max(self.peak_tree_pss, sum(_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids))
            self.peak_tree_rss = max(self.peak_tree_rss, sum(_kb(f"/proc/{p}/status", "VmRSS:") for p in pids))
            time.sleep(0.1)


# ------------------------------------------------------------------------------------------------ ceilings


def _refman_extract(html: bytes) -> int:
    from refman.fetch.extract import extract

    return len(extract(html, "http://127.0.0.1/p", "text/html", None).text)


def _refman_worker_step(html: bytes) -> int:
    from refman.fetch.archive import content_hash
    from refman.fetch.pipeline import process_body

    return len(process_body(html, content_hash(html), "http://127.0.0.1/p", "text/html", None).text)


def _trafilatura(html: bytes) -> int:
    import trafilatura

    return len(trafilatura.extract(html, url="http://127.0.0.1/p", with_metadata=True, output_format="json") or "")


def ceiling(func: Any, bodies: list[bytes], procs: int = 2) -> tuple[float, float]:
    """(pages/s, CPU seconds per page) of `func` over `bodies` with `procs` worker processes (warmed up)."""
    from refman.fetch.pool import make_pool

    pool = make_pool(procs)
    try:
        list(pool.map(func, bodies[:procs * 2]))  # start and warm the workers
        pids = list(pool._processes)  # type: ignore[attr-defined]
        cpu0 = sum(cpu_seconds(p) for p in pids)
        t0 = time.perf_counter()
        list(pool.map(func, bodies, chunksize=1))
        wall = time.perf_counter() - t0
        cpu = sum(cpu_seconds(p) for p in pids) - cpu0
        return len(bodies) / wall, cpu / len(bodies)
    finally:
        pool.shutdown()


def sequential(servers: Servers, sample: int) -> float:
    """A plain loop: GET one page, extract it, next. Pages/s."""
    import httpx

    from refman.fetch.extract import extract

    with httpx.Client() as client:
        client.get(servers.url(0))
        t0 = time.perf_counter()
        for n in range(sample):
            resp = client.get(servers.url(n * 7))
            extract(resp.content, servers.url(n * 7), "text/html", None)
        return sample / (time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------------ main


def make_catalog(path: Path, urls: list[str]) -> None:
    from refman.store import connect
    from refman.urls import normalise_url

    conn = connect(path)
    now = "2026-01-01T00:00:00Z"
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO source (url, url_as_written, host, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        [(normalise_url(u).url, u, normalise_url(u).host, now, now) for u in urls])
    conn.execute("COMMIT")
    conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--urls", type=int, default=2000)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--latency-ms", type=float, default=100)
    ap.add_argument("--per-host", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--sample", type=int, default=40, help="pages of the sequential loop")
    ap.add_argument("--keep", action="store_true", help="keep the catalog (path printed)")
    args = ap.parse_args()

    pages = load_pages()
    bodies = [raw_html(p) for p in pages]
    print(f"pages: {len(pages)} distinct ({'corpus' if CORPUS.is_dir() else 'generated'}), "
          f"{sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB of HTML on average; "
          f"{args.urls} URLs over {args.hosts} hosts, {args.latency_ms:.0f} ms latency", flush=True)
    servers = Servers(args.hosts, pages, args.latency_ms / 1000)
    tmp = Path(tempfile.mkdtemp(prefix="refman-bench-"))
    db = tmp / "catalog.db"
    make_catalog(db, [servers.url(n) for n in range(args.urls)])

    # 1. the real thing, between two measurements of its ceiling (the machine is shared: load drifts)
    c_before, cpu_before = ceiling(_refman_extract, bodies)
    print(f"ceiling before: {c_before:.1f} pages/s, {cpu_before * 1000:.0f} ms CPU/page", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(REFMAN), "--db", str(db), "fetch", "--json", "--delay", "0", "--per-host", str(args.per_host),
         "--concurrency", str(args.concurrency)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = MemorySampler(proc.pid)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=1800)
    except BaseException:
        proc.send_signal(signal.SIGINT)
        raise
    wall = time.perf_counter() - t0
    sampler.stop = True
    if proc.returncode != 0:
        print(err, file=sys.stderr)
        return 1
    summary = json.loads(out)
    fetch_rate = args.urls / wall
    max_host = max(servers.stats.max_in_flight.values())
    raw_served = servers.stats.bytes_raw
    print(f"refman fetch: {wall:.1f} s wall, {summary['pages_per_s']:.1f} pages/s inside the run; "
          f"outcomes {summary['outcomes']}", flush=True)

    # 2. archive size
    conn = sqlite3.connect(db)
    body_stored, body_raw = conn.execute(
        "SELECT SUM(stored_size), SUM(size) FROM blob WHERE hash IN (SELECT body_hash FROM snapshot)").fetchone()
    all_stored = conn.execute("SELECT SUM(stored_size) FROM blob").fetchone()[0]
    text_bytes = conn.execute("SELECT SUM(length(CAST(text AS BLOB))) FROM source_text").fetchone()[0] or 0
    n_ok = conn.execute("SELECT COUNT(*) FROM source WHERE status IN ('ok', 'thin')").fetchone()[0]
    conn.close()
    db_size = sum(f.stat().st_size for f in tmp.iterdir() if f.name.startswith("catalog.db"))

    # 3. politeness under pressure: fewer hosts than the global limit allows, so the per-host limit binds
    polite = Servers(4, pages, args.latency_ms / 1000)
    db2 = tmp / "polite.db"
    make_catalog(db2, [polite.url(n) for n in range(200)])
    subprocess.run([str(REFMAN), "--db", str(db2), "fetch", "--json", "--delay", "0", "--per-host",
                    str(args.per_host), "--concurrency", str(args.concurrency)], capture_output=True, check=True)
    max_host_pressed = max(polite.stats.max_in_flight.values())
    polite.close()

    # 4. ceilings (no network, 2 processes) and the sequential loop
    c_after, cpu_after = ceiling(_refman_extract, bodies)
    c_extract, cpu_extract = (c_before + c_after) / 2, (cpu_before + cpu_after) / 2
    c_worker, cpu_worker = ceiling(_refman_worker_step, bodies)
    c_traf, cpu_traf = ceiling(_trafilatura, bodies)
    cpu_fetch = sampler.cpu_total / args.urls
    seq = sequential(servers, args.sample)
    servers.close()

    rows = [
        (f"refman fetch ({args.urls} URLs, wall incl. start-up)", f"{fetch_rate:.1f} pages/s",
         f"{summary['pages_per_s']:.1f} pages/s inside the run"),
        ("ceiling: refman extract alone, 2 procs (before/after)", f"{c_extract:.1f} pages/s",
         f"{c_before:.1f} / {c_after:.1f}; "
         f"fetch = {fetch_rate / c_extract * 100:.0f} % (target ≥ 80 %)"),
        ("ceiling: refman worker step (extract+hash+zstd), 2 procs", f"{c_worker:.1f} pages/s",
         f"fetch = {fetch_rate / c_worker * 100:.0f} %"),
        ("ceiling: trafilatura extract alone, 2 procs", f"{c_traf:.1f} pages/s",
         f"fetch = {fetch_rate / c_traf * 100:.0f} %"),
        (f"sequential fetch-then-extract ({args.sample} pages)", f"{seq:.2f} pages/s",
         f"fetch = {fetch_rate / seq:.0f}× (target ≥ 20×)"),
        ("CPU per page: refman fetch, whole process tree", f"{cpu_fetch * 1000:.0f} ms",
         f"main process {sampler.cpu_main / args.urls * 1000:.1f} ms/page"),
        ("CPU per page: extract alone / worker step / trafilatura",
         f"{cpu_extract * 1000:.0f} / {cpu_worker * 1000:.0f} / {cpu_traf * 1000:.0f} ms",
         f"load-independent efficiency: extract CPU / fetch CPU = {cpu_extract / cpu_fetch * 100:.0f} %"),
        ("peak RSS, refman main process", f"{sampler.peak_main_rss / 1024:.0f} MB", ""),
        ("peak memory, process tree (PSS / RSS sum)",
         f"{sampler.peak_tree_pss / 1024:.0f} / {sampler.peak_tree_rss / 1024:.0f} MB", "target < 400 MB"),
        ("max in flight per host, server side (20 hosts / 4 hosts)", f"{max_host} / {max_host_pressed}",
         f"limit {args.per_host}"),
        ("archive: body blobs stored / raw", f"{body_stored / body_raw * 100:.1f} %",
         f"{body_stored / 1e6:.1f} of {body_raw / 1e6:.1f} MB"),
        ("archive: all blobs (bodies + Markdown) per page / raw HTML per page",
         f"{all_stored / n_ok / 1024:.1f} / {raw_served / args.urls / 1024:.1f} KiB",
         f"{all_stored / n_ok / (raw_served / args.urls) * 100:.1f} % (target < 30 %)"),
        ("catalog file incl. uncompressed text (WAL checkpointed)", f"{db_size / 1e6:.1f} MB",
         f"text {text_bytes / 1e6:.1f} MB; served {raw_served / 1e6:.1f} MB"),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>16}  {note}")
    ok = max(max_host, max_host_pressed) <= args.per_host and sampler.peak_tree_pss < 400 * 1024
    if args.keep:
        print(f"\ncatalog kept at {db}")
    else:
        shutil.rmtree(tmp)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
