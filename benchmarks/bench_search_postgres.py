"""Search on PostgreSQL versus SQLite, on the same catalog: server-side latency p50/p95 of the same 50 queries,
in process, both backends warm.

    .venv/bin/python benchmarks/bench_search_postgres.py --db /tmp/search100k.db [--pg postgresql://postgres@127.0.0.1/postgres]

--db is a SQLite catalog built by benchmarks/bench_search.py (`--db PATH` keeps it). Its sources, snapshots,
archived texts and tags are copied into a fresh PostgreSQL database (dropped afterwards unless --keep), the
PostgreSQL search index is rebuilt (`refman db reindex`'s code), the database vacuumed and analyzed (as autovacuum
soon would), and every query runs three times per backend (the median counts). Prints index build time,
p50/p95/max per backend and the slowest queries. `--keep` keeps the loaded database; `--reuse URL` measures a
kept one again without loading (after a change to the search code, say).
"""

from __future__ import annotations

import argparse
import secrets
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search import QUERIES, pct, query_latencies  # noqa: E402

from refman.search import rebuild_index  # noqa: E402
from refman.store import open_store  # noqa: E402

COPIED = {  # table → columns copied as they are (ids kept: the benchmark compares like with like)
    "source": ("id", "url", "url_as_written", "host", "created_at", "updated_at", "title", "issued", "author",
               "status"),
    "snapshot": ("id", "source_id", "fetched_at", "outcome"),
    "source_text": ("source_id", "snapshot_id", "text"),
    "source_tag": ("source_id", "tag"),
}


def load(sqlite_path: Path, url: str) -> float:
    """Copy the benchmark catalog's rows into the PostgreSQL catalog at `url` (schema created by refman)."""
    import psycopg

    from refman.store.postgres import nul_free_strings

    open_store(url).close()  # creates the schema
    src = sqlite3.connect(sqlite_path)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        nul_free_strings(conn)
        for table, columns in COPIED.items():
            names = ", ".join(columns)
            with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {names} FROM {table}"):
                    copy.write_row(row)
        for table in ("source", "snapshot"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    src.close()
    return time.perf_counter() - started


def latencies(location: Path | str) -> tuple[list[float], dict[str, int]]:
    with open_store(location) as store:
        return query_latencies(store)


def report(name: str, times: list[float]) -> None:
    slow = sorted(zip(times, QUERIES, strict=True), reverse=True)[:5]
    print(f"{name}: p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms, max {max(times):.1f} ms;"
          " slowest: " + ", ".join(f"{q!r} {t:.0f} ms" for t, q in slow))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, required=True, help="a SQLite catalog built by bench_search.py --db")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1/postgres", help="a database to create ours from")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    ap.add_argument("--prefix", default="refman_bench", help="the new database's name: PREFIX_<random>")
    ap.add_argument("--reuse", metavar="URL", help="a database kept by an earlier --keep run: measure, do not load")
    args = ap.parse_args()
    if args.reuse:
        measure(args.db, args.reuse)
        return
    import psycopg

    name = f"{args.prefix}_{secrets.token_hex(4)}"
    admin = psycopg.connect(args.pg, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.pg.rpartition('/')[0]}/{name}"
    try:
        copy_s = load(args.db, url)
        with open_store(url) as store:
            started = time.perf_counter()
            count = rebuild_index(store)
            index_s = time.perf_counter() - started
        print(f"PostgreSQL: {count} sources copied in {copy_s:.1f} s, search index built in {index_s:.1f} s")
        # What autovacuum does soon after a bulk load: statistics for the planner (`source` had none: COPY does
        # not analyze), and the dead rows of the load's triggers and of the rebuild made reusable.
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")
        measure(args.db, url)
    finally:
        if not args.keep:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        else:
            print(f"kept: {url}")
        admin.close()


def measure(sqlite_path: Path, url: str) -> None:
    """Latency of QUERIES on both backends, and the queries whose first page differs in size."""
    pg_times, pg_counts = latencies(url)
    sqlite_times, sqlite_counts = latencies(sqlite_path)
    report("SQLite (FTS5)", sqlite_times)
    report("PostgreSQL (tsvector)", pg_times)
    differ = [q for q in QUERIES if pg_counts[q] != sqlite_counts[q]]
    print(f"queries whose first page differs in size: {differ or 'none'}")


if __name__ == "__main__":
    main()
