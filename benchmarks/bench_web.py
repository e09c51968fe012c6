"""Web app benchmark at the size of a real catalog: `refman serve` on 100,000 sources with archived text.

    .venv/bin/python benchmarks/bench_web.py [--db PATH] [--sources 100000] [--rounds 5] [--no-browser]
                                             [--typing-floor]

Builds the catalog of benchmarks/bench_search.py (~5 KB of English or Chinese text per source) under /tmp, or
reuses --db PATH (built there if missing). Prints, with the machine's load average:
- GET /api/search server time (the app's Server-Timing header) and client time, p50/p95 over bench_search's
  query mix (targets: p50 < 20 ms, p95 < 60 ms);
- source page render (GET /sources/ID) server time (target < 100 ms);
- search as you type in chromium (Playwright): time from the last keystroke's input event to the settled
  results of that final query (target < 150 ms);
- idle CPU of the server process over 10 s (target < 1 %);
- serving while a `refman fetch` writes into the same catalog: searches and tag edits meanwhile, their errors
  (any 5xx, "database is locked") and latency.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from bench_search import QUERIES, TextMaker, build  # noqa: E402

REFMAN = Path(sys.executable).with_name("refman")
TOKEN = "bench-web-token"
TYPED = ["gpu market", "kubernetes latency", "transformer inference", "数据库", "推理优化", "RDMA 网络",
         "open source", "climate change", "分布式系统", "software engineering"]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def server_ms(resp: httpx.Response) -> float:
    timing = resp.headers["server-timing"]
    return float(timing.split("dur=", 1)[1])


def start(db: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([str(REFMAN), "--db", str(db), "serve", "--port", "0", "--token", TOKEN],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    started = time.perf_counter()
    first = proc.stdout.readline().strip()
    if not first.startswith("serving "):
        proc.kill()
        raise SystemExit(f"refman serve did not start: {first!r}")
    base = first.split()[1]
    ready = time.perf_counter() - started
    httpx.get(base, timeout=30)
    print(f"refman serve start-up: first line after {ready:.2f} s, first page served after "
          f"{time.perf_counter() - started:.2f} s")
    return proc, base


def bench_in_process(db: Path, rounds: int) -> None:
    """The same mix through refman.search in this process: the floor the server time is compared with."""
    from refman.search import search
    from refman.store import connect

    conn = connect(db)
    for q in QUERIES:
        search(conn, q)
    times = []
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            search(conn, q)
            times.append((time.perf_counter() - t0) * 1000)
    conn.close()
    print(f"refman.search in-process (same mix, for comparison): p50 {pct(times, 50):.1f} ms, "
          f"p95 {pct(times, 95):.1f} ms  (load {load()})")


def bench_search(client: httpx.Client, rounds: int) -> None:
    for q in QUERIES:  # warm the page cache and each worker thread's connection
        client.get("/api/search", params={"q": q})
    server: list[float] = []
    wall: list[float] = []
    per_query: dict[str, list[float]] = {}
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            resp = client.get("/api/search", params={"q": q})
            wall.append((time.perf_counter() - t0) * 1000)
            resp.raise_for_status()
            server.append(server_ms(resp))
            per_query.setdefault(q, []).append(server[-1])
    slow = sorted(((statistics.median(v), q) for q, v in per_query.items()), reverse=True)[:5]
    print(f"GET /api/search, {len(QUERIES)} queries x {rounds}: server p50 {pct(server, 50):.1f} ms, "
          f"p95 {pct(server, 95):.1f} ms, max {max(server):.1f} ms; client p50 {pct(wall, 50):.1f} ms, "
          f"p95 {pct(wall, 95):.1f} ms  (load {load()})")
    print("  slowest (median server ms): " + ", ".join(f"{q!r} {ms:.1f}" for ms, q in slow))


def bench_pages(client: httpx.Client, n_sources: int) -> None:
    rng = random.Random(7)
    ids = [rng.randint(1, n_sources) for _ in range(60)]
    for sid in ids[:10]:
        client.get(f"/sources/{sid}")
    times = []
    for sid in ids:
        resp = client.get(f"/sources/{sid}")
        resp.raise_for_status()
        times.append(server_ms(resp))
    home = [server_ms(client.get("/")) for _ in range(10)]
    print(f"GET /sources/ID (source page), {len(ids)} sources: server p50 {pct(times, 50):.1f} ms, "
          f"p95 {pct(times, 95):.1f} ms; search page without a query (facets) p50 {pct(home, 50):.1f} ms"
          f"  (load {load()})")


_WATCH = """() => {
  window.__settled = [];
  window.__lastInput = 0;
  document.querySelector("input[name=q]").addEventListener("input", () => { window.__lastInput = performance.now(); });
  document.body.addEventListener("htmx:afterSettle", (e) => {
    const xhr = e.detail.xhr;
    if (!xhr || !xhr.responseURL) return;
    window.__settled.push([new URL(xhr.responseURL).searchParams.get("q"), performance.now()]);
  });
}"""


def bench_browser(base: str) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("search as you type: skipped (chromium is not installed)")
        return
    from playwright.sync_api import sync_playwright

    latencies: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium)
        page = browser.new_page()
        page.goto(base)
        page.evaluate(_WATCH)
        box = page.locator("input[name=q]")
        for _round in range(2):
            for q in TYPED:
                box.fill("")
                page.wait_for_timeout(300)
                page.evaluate("() => { window.__settled = []; }")
                box.press_sequentially(q, delay=90)  # a brisk typist: ~11 characters per second
                for _ in range(200):
                    done = page.evaluate("(q) => window.__settled.filter(s => s[0] === q).map(s => s[1])", q)
                    if done:
                        break
                    page.wait_for_timeout(10)
                last_input = page.evaluate("window.__lastInput")
                if done:
                    latencies.append(done[-1] - last_input)
        browser.close()
    print(f"search as you type (chromium, loopback, {len(latencies)} typed queries, 60 ms debounce included): "
          f"last keystroke → results p50 {pct(latencies, 50):.0f} ms, p95 {pct(latencies, 95):.0f} ms, "
          f"max {max(latencies):.0f} ms  (load {load()})")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_idle(proc: subprocess.Popen[str], seconds: float = 10.0) -> None:
    time.sleep(1.0)
    before = cpu_seconds(proc.pid)
    time.sleep(seconds)
    used = cpu_seconds(proc.pid) - before
    print(f"idle: {used / seconds * 100:.2f} % of one core over {seconds:.0f} s  (load {load()})")


def bench_while_fetching(db: Path, client: httpx.Client, n_pages: int = 300) -> None:
    import logging

    from pytest_httpserver import HTTPServer
    from werkzeug import Request, Response

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per page served

    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    text = " ".join(["Archived words about networks, accelerators and databases."] * 60)

    def page(request: Request) -> Response:
        time.sleep(0.02)
        return Response(f"<html><head><title>Page {request.path}</title></head><body><article><h1>Page"
                        f" {request.path}</h1><p>{text}</p></article></body></html>", content_type="text/html")

    srv.expect_request("/robots.txt").respond_with_data("", status=404)
    run_id = int(time.time())
    urls = [f"http://127.0.0.1:{srv.port}/bench-{run_id}/{i}" for i in range(n_pages)]
    for url in urls:
        srv.expect_request(url.split(str(srv.port), 1)[1]).respond_with_handler(page)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    ids = [client.post("/api/sources", json={"url": u}, headers=auth).json()["source"]["id"] for u in urls]
    env = {k: v for k, v in os.environ.items() if k != "REFMAN_DB"}
    fetch = subprocess.Popen([str(REFMAN), "--db", str(db), "fetch", *map(str, ids), "--delay", "0",
                              "--per-host", "16", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    errors: list[str] = []
    times: list[float] = []
    edits = 0
    stop = threading.Event()

    def hammer() -> None:
        nonlocal edits
        rng = random.Random(3)
        with httpx.Client(base_url=client.base_url, timeout=30) as c:
            while not stop.is_set():
                q = rng.choice(QUERIES)
                r = c.get("/api/search", params={"q": q})
                times.append(server_ms(r) if "server-timing" in r.headers else float("nan"))
                if r.status_code != 200:
                    errors.append(f"search {q!r}: {r.status_code} {r.text[:100]}")
                sid = rng.choice(ids)
                r = c.patch(f"/api/sources/{sid}", json={"add_tags": [f"t{rng.randint(0, 9)}"]}, headers=auth)
                edits += 1
                if r.status_code != 200:
                    errors.append(f"tag #{sid}: {r.status_code} {r.text[:100]}")

    worker = threading.Thread(target=hammer)
    t0 = time.perf_counter()
    worker.start()
    out, err = fetch.communicate(timeout=600)
    stop.set()
    worker.join()
    srv.stop()
    locked = [e for e in errors if "locked" in e] + (["fetch: " + err.strip()] if "locked" in err else [])
    summary = json.loads(out) if out.strip() else {}
    print(f"while `refman fetch` archived {summary.get('ok', '?')}/{len(ids)} pages in "
          f"{time.perf_counter() - t0:.1f} s: {len(times)} searches (server p50 {pct(times, 50):.1f} ms, p95 "
          f"{pct(times, 95):.1f} ms) and {edits} tag edits, {len(errors)} errors, {len(locked)} 'database is "
          f"locked'; fetch exit {fetch.returncode}  (load {load()})")
    for e in errors[:5]:
        print("  " + e)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="build the catalog here if missing, reuse it otherwise")
    ap.add_argument("--sources", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--typing-floor", action="store_true",
                    help="also time search as you type on the tests' 5-source demo catalog: the cost of the"
                    " debounce, htmx and the browser without the search engine's")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="refman-bench-web-", dir="/tmp"))
    db = args.db or tmp / "catalog.db"
    try:
        if not db.exists():
            r = build(db, args.sources, TextMaker())
            print(f"built {args.sources} sources in {r['load_s'] + r['index_s']:.0f} s")
        from refman.store import connect

        n = connect(db).execute("SELECT count(*) FROM source").fetchone()[0]
        print(f"catalog {db}: {n} sources, {db.stat().st_size / 1e6:.0f} MB  (load {load()})")
        proc, base = start(db)
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                bench_in_process(db, args.rounds)
                bench_search(client, args.rounds)
                bench_pages(client, min(n, args.sources))
                if not args.no_browser:
                    bench_browser(base)
                bench_idle(proc)
                bench_while_fetching(db, client)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        if args.typing_floor:
            sys.path.insert(0, str(ROOT / "tests"))
            from web_demo import build_demo

            small, small_base = start(build_demo(tmp).db)
            try:
                print("on the 5-source demo catalog:", end=" ")
                bench_browser(small_base)
            finally:
                small.terminate()
                small.wait(timeout=10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
