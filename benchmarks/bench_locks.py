"""Write-lock benchmark: how long does another writer wait while a long writer runs?

    .venv/bin/python benchmarks/bench_locks.py [--notes 10000] [--defs-per-note 10]

Generates bench_import.py's vault (100,000 definitions by default), runs `refman import` on it, and meanwhile
a probe process tries a tiny write transaction (what `refman tag` does) every 50 ms, with a long busy
timeout, timing how long each one waited for the lock. Prints the import's wall time and the longest and
median waits: the longest write lock the import held, as another writer feels it."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import REFMAN, make_vault


def probe(db: Path, stop: threading.Event, waits: list[float]) -> None:
    conn = sqlite3.connect(db, timeout=600, isolation_level=None)
    while not stop.is_set():
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        waits.append(time.perf_counter() - started)
        conn.execute("UPDATE alembic_version SET version_num = version_num")
        conn.execute("COMMIT")
        time.sleep(0.05)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--defs-per-note", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="refman-bench-locks-"))
    try:
        vault = work / "vault"
        total = make_vault(vault, args.notes, args.defs_per_note)
        db = work / "catalog.db"
        subprocess.run([REFMAN, "--db", str(db), "db", "upgrade"], check=True, capture_output=True)
        for label, cmd in (("full import", ["import", "-q", str(vault)]),
                           ("unchanged re-import", ["import", "-q", str(vault)])):
            waits: list[float] = []
            stop = threading.Event()
            thread = threading.Thread(target=probe, args=(db, stop, waits))
            started = time.perf_counter()
            proc = subprocess.Popen([REFMAN, "--db", str(db), *cmd], stdout=subprocess.DEVNULL)
            thread.start()
            proc.wait()
            wall = time.perf_counter() - started
            stop.set()
            thread.join()
            print(f"{label} of {total} definitions: {wall:.2f} s wall; another writer waited at most"
                  f" {max(waits):.2f} s (median {statistics.median(waits) * 1000:.0f} ms, {len(waits)} probes)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
