"""Claims: a source is fetched by one run at a time, even when two `refman fetch` run at once.

A run claims the sources it is about to fetch in `fetch_claim` (one row each: machine, pid, heartbeat) in one
write transaction, so of two runs started together each source goes to exactly one of them. A claim ends
when the run commits that source's result (in the same transaction: refman.fetch.writer.apply_record) or
when the run ends. A run killed with SIGKILL leaves its claims behind: they are taken over when the process is
gone (same machine) or its heartbeat is older than LEASE_SECONDS (another machine on a shared catalog, or a
reused pid). The writer thread of a live run refreshes its heartbeat every HEARTBEAT_SECONDS."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

from refman.timeutil import utc_now

if TYPE_CHECKING:
    from refman.store.fetch import FetchStore
    from refman.store.protocol import Store

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


def expire_claims(store: FetchStore) -> int:
    """Drop claims whose holder is dead or silent. Inside the caller's write transaction."""
    machine, _pid = me()
    stale = [c.source_id for c in store.fetch_claims()
             if c.heartbeat_age_s is None or c.heartbeat_age_s > LEASE_SECONDS
             or (c.machine == machine and not _alive(c.pid))]
    store.drop_fetch_claims(stale)
    return len(stale)


def claim(store: Store, source_ids: Sequence[int]) -> tuple[list[int], int]:
    """Claim the sources no live run holds. Returns (the ids now ours, in the given order; how many another
    run holds)."""
    machine, pid = me()
    with store.transaction():
        expire_claims(store)
        mine = store.take_fetch_claims(source_ids, machine, pid, utc_now())
    ours = [sid for sid in source_ids if sid in mine]
    return ours, len(source_ids) - len(ours)


def heartbeat(store: FetchStore) -> None:
    """Tell other runs this one is alive (its own short write)."""
    machine, pid = me()
    store.beat_fetch_claims(machine, pid, utc_now())


def release(store: FetchStore, source_ids: Sequence[int] | None = None) -> None:
    """Release this process's claims (all of them, or those of `source_ids`)."""
    machine, pid = me()
    store.release_fetch_claims(machine, pid, source_ids)
