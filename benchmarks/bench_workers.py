"""Throughput of `refman worker` on a PostgreSQL catalog: 1, 2 and 3 worker processes on the same queue.

    .venv/bin/python benchmarks/bench_workers.py                 # 590 URLs, 40 hosts, 100 ms latency
    .venv/bin/python benchmarks/bench_workers.py --urls 200      # quicker

Needs PostgreSQL on 127.0.0.1:5432 (or REFMAN_TEST_PG, as the tests) and procrastinate. The loopback corpus is
benchmarks/bench_fetch.py's: the 295 real pages of ../shared/corpus/web/pages served twice (590 URLs, each body
with its own tail) by threaded servers on 127.0.0.1 … 127.0.0.N, every answer after `--latency-ms`; the
servers count requests in flight per host.

For each number of workers: a fresh copy of one catalog holding the URLs (imported from a note), `refman fetch
--enqueue`, then that many `refman worker --once --per-host P --delay 0 --concurrency C` processes at once.
C is 1 by default so that the network, not the CPU, is the limit, as issue #17 asks: a job takes ≈ 200 ms (the
100 ms answer, ≈ 70 ms of extraction CPU, the commit), so one worker records ≈ 5 pages/s and three ≈ 15, which
needs about one of the two cores for extraction; at C = 2, three workers would already reach the CPU ceiling.
Throughput is pages recorded per second from the first page request the servers see to the moment every
source has its snapshot (the workers' start-up before their first request is left out; their extraction pools'
start is in). Printed: pages/s, the ratio to one worker, CPU used by the machine in that window (/proc/stat: how
close to the 2 cores' ceiling the run is), the highest number of requests in flight to one host over all
workers (must be ≤ P), and the robots.txt requests the servers saw (one per host when the workers share them
through the catalog; each run starts from a catalog that has none). REFMAN_BENCH_CORPUS names the corpus
folder when the checkout is not beside ../shared (a worktree).

The CPU ceiling is measured too: refman's extraction step (extract + hash + compress) alone, on 2 processes, with
no network and no database, is the most pages/s any number of workers can record on this machine."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from bench_fetch import (  # noqa: E402
    CORPUS,
    MemorySampler,
    Servers,
    _refman_worker_step,
    ceiling,
    cpu_seconds,
    load_pages,
    raw_html,
)


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def refman(url: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "refman", "--db", url, *args], capture_output=True, text=True,
                          env=env, check=True)


def run_workers(template: str, servers: Servers, n_urls: int, n_workers: int, args: argparse.Namespace,
                env: dict[str, str]) -> dict[str, float]:
    from pg import fresh_database, query

    with fresh_database(template) as sa_url:
        url = "postgresql://" + sa_url.partition("://")[2]
        queued = json.loads(refman(url, "fetch", "--enqueue", "--json", env=env).stdout)["queued"]
        assert queued == n_urls, queued
        servers.stats.requests.clear()
        servers.stats.max_in_flight.clear()
        servers.stats.other_requests.clear()
        cmd = [sys.executable, "-m", "refman", "--db", url, "worker", "--once", "--json", "--delay", "0",
               "--per-host", str(args.per_host), "--concurrency", str(args.concurrency)]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
                 for _ in range(n_workers)]
        samplers = [MemorySampler(p.pid) for p in procs]  # CPU time of each worker's process tree
        for sampler in samplers:
            sampler.start()
        db_cpu: dict[int, float] = {}  # the PostgreSQL backends serving this database
        database = sa_url.rsplit("/", 1)[1]
        try:
            while not sum(servers.stats.requests.values()):
                time.sleep(0.005)
            t0, cpu0 = time.monotonic(), cpu_busy()
            worker_cpu0 = sum(s.cpu_total for s in samplers)
            while True:
                for (pid,) in query(sa_url, "SELECT pid FROM pg_stat_activity WHERE datname = :d", {"d": database}):
                    db_cpu[pid] = max(db_cpu.get(pid, 0.0), cpu_seconds(pid))
                done = query(sa_url, "SELECT count(DISTINCT source_id) FROM snapshot")[0][0]
                if done >= n_urls:
                    break
                if all(p.poll() is not None for p in procs):
                    raise RuntimeError(f"the workers stopped with {done} of {n_urls} pages recorded")
                time.sleep(0.05)
            wall, cpu1 = time.monotonic() - t0, cpu_busy()
            worker_cpu = sum(s.cpu_total for s in samplers) - worker_cpu0
            summaries = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
        finally:
            for sampler in samplers:
                sampler.stop = True
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        ok = query(sa_url, "SELECT count(*) FROM source WHERE status IN ('ok', 'thin')")[0][0]
    return {"pages_per_s": n_urls / wall, "wall_s": wall, "cpu_busy": (cpu1[0] - cpu0[0]) / (cpu1[1] - cpu0[1]),
            "max_in_flight_per_host": max(servers.stats.max_in_flight.values()), "archived": ok,
            "fetched": sum(s["fetched"] for s in summaries), "worker_cpu_ms": worker_cpu * 1000 / n_urls,
            "db_cpu_ms": sum(db_cpu.values()) * 1000 / n_urls,
            "robots_requests": servers.stats.other_requests["/robots.txt"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=590)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="jobs under way in each worker")
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the extraction ceiling (≈15 s)")
    args = parser.parse_args()

    from pg import _admin, fresh_database, skip_unless_postgres  # noqa: F401

    pages = load_pages()
    servers = Servers(args.hosts, pages, args.latency_ms / 1000)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               REFMAN_WORKER_POLL="0.2")
    urls = [servers.url(n) for n in range(args.urls)]
    print(f"{args.urls} URLs over {args.hosts} hosts, {args.latency_ms:.0f} ms latency, --per-host {args.per_host}, "
          f"--concurrency {args.concurrency} per worker ({'corpus' if CORPUS.is_dir() else 'generated pages'})",
          flush=True)
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="refman-bench-workers-") as tmp, fresh_database() as template_sa:
        vault = Path(tmp) / "vault"
        vault.mkdir()
        (vault / "links.md").write_text("# Links\n\n" + "".join(f"See [page {i}][p{i}].\n" for i in range(len(urls)))
                                        + "\n" + "".join(f"[p{i}]: {u}\n" for i, u in enumerate(urls)))
        template_url = "postgresql://" + template_sa.partition("://")[2]
        refman(template_url, "import", str(vault), "-q", env=env)
        template = template_sa.rsplit("/", 1)[1]
        for n in [int(x) for x in args.workers.split(",")]:
            results[n] = run_workers(template, servers, len(urls), n, args, env)
            r = results[n]
            print(f"  {n} worker{'s' if n > 1 else ' '}: {r['pages_per_s']:6.1f} pages/s ({r['wall_s']:.1f} s, "
                  f"{r['archived']} archived), machine CPU busy {r['cpu_busy'] * 100:.0f}%, max in flight per host "
                  f"{r['max_in_flight_per_host']}; CPU per page: workers {r['worker_cpu_ms']:.0f} ms, PostgreSQL "
                  f"≥ {r['db_cpu_ms']:.0f} ms; robots.txt requests {r['robots_requests']}", flush=True)
    servers.close()
    base = results[min(results)]["pages_per_s"]
    for n, r in results.items():
        if n != min(results):
            print(f"  {n} workers / {min(results)}: {r['pages_per_s'] / base:.2f}×")
    network_bound = args.hosts * args.per_host / (args.latency_ms / 1000)
    print(f"network limit of the servers: {network_bound:.0f} pages/s (hosts × per-host / latency); one worker's "
          f"own: {args.concurrency / (args.latency_ms / 1000):.0f} pages/s (concurrency / latency)")
    if not args.no_ceiling:
        bodies = [raw_html(p) for p in pages]
        rate, cpu = ceiling(_refman_worker_step, bodies, 2)
        print(f"CPU ceiling: refman's extraction step alone on 2 processes: {rate:.1f} pages/s "
              f"({cpu * 1000:.0f} ms CPU per page)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
