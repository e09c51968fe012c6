"""Claims: a source is fetched by one run at a time, even when two `refman fetch` run at once.

A run claims the sources it is about to fetch in `fetch_claim` (one row each: machine, pid, heartbeat) in one
write transaction, so of two runs started together each source goes to exactly one of them. A claim ends
when the run commits that source's result (in the same transaction: refman.fetch.pipeline.apply_record) or
when the run ends. A run killed with SIGKILL leaves its claims behind: they are taken over when the process is
gone (same machine) or its heartbeat is older than LEASE_SECONDS (another machine on a shared catalog, or a
reused pid). The writer thread of a live run refreshes its heartbeat every HEARTBEAT_SECONDS."""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Sequence

from refman.timeutil import utc_now

LEASE_SECONDS = 120
HEARTBEAT_SECONDS = 20


def me() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def expire_claims(conn: sqlite3.Connection) -> int:
    """Drop claims whose holder is dead or silent. Inside the caller's write transaction."""
    machine, _pid = me()
    stale = [
        sid for sid, host, pid, beat_age in conn.execute(
            "SELECT source_id, machine, pid, (julianday('now') - julianday(heartbeat_at)) * 86400 FROM fetch_claim")
        if beat_age is None or beat_age > LEASE_SECONDS or (host == machine and not _alive(pid))
    ]
    conn.executemany("DELETE FROM fetch_claim WHERE source_id = ?", [(sid,) for sid in stale])
    return len(stale)


def claim(conn: sqlite3.Connection, source_ids: Sequence[int]) -> tuple[list[int], int]:
    """Claim the sources no live run holds. Returns (the ids now ours, in the given order; how many another
    run holds)."""
    from refman.store.sqlite.base import transaction

    machine, pid = me()
    now = utc_now()
    ours: list[int] = []
    with transaction(conn):
        expire_claims(conn)
        for start in range(0, len(source_ids), 500):
            chunk = list(source_ids[start:start + 500])
            conn.executemany(
                "INSERT OR IGNORE INTO fetch_claim (source_id, machine, pid, claimed_at, heartbeat_at)"
                " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM source WHERE id = ?)",
                [(sid, machine, pid, now, now, sid) for sid in chunk])
            marks = ",".join("?" * len(chunk))
            mine = {r[0] for r in conn.execute(
                f"SELECT source_id FROM fetch_claim WHERE machine = ? AND pid = ? AND source_id IN ({marks})",
                (machine, pid, *chunk))}
            ours += [sid for sid in chunk if sid in mine]
    return ours, len(source_ids) - len(ours)


def heartbeat(conn: sqlite3.Connection) -> None:
    """Tell other runs this one is alive (its own short write)."""
    machine, pid = me()
    conn.execute("UPDATE fetch_claim SET heartbeat_at = ? WHERE machine = ? AND pid = ?", (utc_now(), machine, pid))


def release(conn: sqlite3.Connection, source_ids: Sequence[int] | None = None) -> None:
    """Release this process's claims (all of them, or those of `source_ids`)."""
    machine, pid = me()
    if source_ids is None:
        conn.execute("DELETE FROM fetch_claim WHERE machine = ? AND pid = ?", (machine, pid))
        return
    conn.executemany("DELETE FROM fetch_claim WHERE source_id = ? AND machine = ? AND pid = ?",
                     [(sid, machine, pid) for sid in source_ids])
