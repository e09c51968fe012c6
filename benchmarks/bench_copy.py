"""`refman db copy` benchmark: a catalog of 100,000 sources copied into an empty SQLite catalog and into an empty
PostgreSQL one, timed from the shell.

    .venv/bin/python benchmarks/bench_copy.py [--notes 10000] [--defs-per-note 10] [--archived 20000]

The catalog is built as benchmarks/bench_import.py builds its own (the import of its generated vault: 10,000
notes, 100,000 definitions), and `--archived` of its sources get a fetch record (a snapshot, a small body of
their own, an archived text and page evidence) written straight through the store, as `refman fetch` writes
them. PostgreSQL: a new database on $REFMAN_BENCH_PG (default postgresql://postgres@127.0.0.1:5432), created at
head with `refman db upgrade` and dropped at the end; skipped with one line when no server answers.

Prints, for each target: wall seconds of the `refman db copy --to … --json` run (start-up included), CPU seconds
of the refman process, the rows read (every table) and rows per second; then the same copy again into the same
target, where every source merges with itself (a copy that changes nothing), and the PostgreSQL catalog copied
back into a new SQLite file."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_import import REFMAN, make_vault

SERVER = os.environ.get("REFMAN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/")


def refman(*args: str) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, JSON output) of one refman run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([REFMAN, *args, "--json"], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(proc.stdout)


def archive_some(db: Path, count: int) -> None:
    """Give `count` sources a fetch record each: a snapshot, its compressed body, the archived text, evidence."""
    from refman.store import open_store
    from refman.store.fetch import FetchAttempt, PackedBlob

    with open_store(db) as store, store.transaction():
        ids = store.citable_source_ids()[:count]
        for sid in ids:
            text = f"Archived text of source {sid}: " + " ".join(["vector database latency cache"] * 40)
            body = f"<html><body><article><p>{text}</p></article></body></html>".encode()
            blob = PackedBlob(hash=hashlib.sha256(body).hexdigest(), codec="zlib", size=len(body),
                              data=zlib.compress(body))
            store.record_fetch_attempt(FetchAttempt(
                source_id=sid, fetched_at="2026-01-01T00:00:00Z", status="ok", reason=None, failed=False,
                reachable=True, definitive=False, blobs=[blob], content_changed=True, text=text,
                snapshot={"outcome": "ok", "http_status": 200, "body_hash": blob.hash, "size": len(body),
                          "content_type": "text/html"},
                evidence=[("title", "page:citation", json.dumps(f"Page {sid}"))], kept_origins=("user",)))


def rows_in(db: Path) -> int:
    from refman.store import open_store

    with open_store(db) as store:
        return sum(store.copy_counts().values())


def postgres_database() -> str | None:
    """A new empty database's URL, or None (and one line saying why) when no server answers."""
    try:
        import psycopg

        name = f"refman_bench_{secrets.token_hex(6)}"
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')  # type: ignore[arg-type]
    except Exception as exc:  # no driver, no server
        print(f"PostgreSQL skipped: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}")
        return None
    return f"{SERVER}/{name}"


def drop_database(url: str) -> None:
    import psycopg

    name = url.rpartition("/")[2]
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def report(label: str, wall: float, cpu: float, out: dict, rows: int) -> None:
    sources = out["counts"]["sources"]
    print(f"{label:<22} {wall:7.2f} s wall, {cpu:6.2f} s CPU, {sources['copied']} sources copied,"
          f" {sources['merged']} merged; {rows} rows read:"
          f" {rows / wall:,.0f} rows/s ({out['seconds']:.2f} s inside the copy)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--defs-per-note", type=int, default=10)
    parser.add_argument("--archived", type=int, default=20_000, help="sources given a fetch record")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="refman-bench-copy-"))
    url = None
    try:
        vault = work / "vault"
        make_vault(vault, args.notes, args.defs_per_note)
        db = work / "personal.db"
        t, _cpu, imported = refman("--db", str(db), "import", str(vault))
        start = time.perf_counter()
        archive_some(db, args.archived)
        rows = rows_in(db)
        print(f"catalog: {imported['sources_new']} sources, {imported['mentions']} mentions (import {t:.1f} s),"
              f" {args.archived} archived ({time.perf_counter() - start:.1f} s); {rows} rows in all")
        wall, cpu, out = refman("--db", str(db), "db", "copy", "--to", str(work / "team.db"))
        report("SQLite → SQLite", wall, cpu, out, rows)
        wall, cpu, out = refman("--db", str(db), "db", "copy", "--to", str(work / "team.db"))
        report("  again (all merge)", wall, cpu, out, rows)
        url = postgres_database()
        if url is not None:
            refman("--db", url, "db", "upgrade")
            wall, cpu, out = refman("--db", str(db), "db", "copy", "--to", url)
            report("SQLite → PostgreSQL", wall, cpu, out, rows)
            wall, cpu, out = refman("--db", str(db), "db", "copy", "--to", url)
            report("  again (all merge)", wall, cpu, out, rows)
            wall, cpu, out = refman("--db", str(work / "back.db"), "db", "copy", "--from", url)
            report("PostgreSQL → SQLite", wall, cpu, out, rows)
    finally:
        if url is not None:
            drop_database(url)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
