"""The database side of the fetch workers (refman.fetch.queue): procrastinate's connector, the per-host gate
every worker on every machine goes through, and the few reads the queue needs.

Everything lives in the `refman_queue` schema (migration 0011): procrastinate's tables and functions, and
`host_turn`. procrastinate's SQL names its objects without a schema, so its connections put `refman_queue` first
on their search path.

**The host gate.** An HTTP exchange with a host holds one of `per_host` session advisory locks
`(hashtext('refman-host:' || host), slot)` for its whole duration, on a connection of its own: at most `per_host`
exchanges to one host are in flight across all workers, and a worker that dies (SIGKILL, a lost machine) loses
its locks with its connections, at once. Once it holds a slot, the exchange reserves its start in `host_turn`
(`next_at = greatest(next_at, clock_timestamp()) + delay`, one atomic UPDATE) and sleeps until then: two request
starts to one host are at least `delay` apart whatever the number of workers. Times are the server's, so the
workers' clocks do not matter. Two host names whose hashes collide share one budget (stricter, never looser)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from refman.store.postgres.url import libpq_url

if TYPE_CHECKING:
    import psycopg_pool
    from procrastinate import PsycopgConnector

    from refman.store.postgres.store import PostgresStore

QUEUE_SCHEMA = "refman_queue"  # migrations/versions/0011_fetch_queue.py
_QUEUE_OPTIONS = f"-c search_path={QUEUE_SCHEMA}"

_TRY_SLOT = "SELECT pg_try_advisory_lock(hashtext('refman-host:' || %(host)s), %(slot)s)"
_UNLOCK_SLOT = "SELECT pg_advisory_unlock(hashtext('refman-host:' || %(host)s), %(slot)s)"
# Seconds until this exchange may start (≤ 0: now). The row's lock serialises concurrent reservations.
_RESERVE_TURN = f"""
INSERT INTO {QUEUE_SCHEMA}.host_turn AS t (host, next_at)
VALUES (%(host)s, clock_timestamp() + make_interval(secs => %(delay)s))
ON CONFLICT (host) DO UPDATE SET next_at = greatest(t.next_at, clock_timestamp()) + make_interval(secs => %(delay)s)
RETURNING extract(epoch FROM t.next_at - clock_timestamp())::float8 - %(delay)s"""
_LATEST_SNAPSHOTS = ("SELECT source_id, max(id) FROM snapshot WHERE source_id = ANY(%(ids)s) "
                     "GROUP BY source_id")
_BUSY_LOCKS = (f"SELECT queueing_lock FROM {QUEUE_SCHEMA}.procrastinate_jobs "
               "WHERE status IN ('todo', 'doing') AND queueing_lock = ANY(%(locks)s)")


def queue_connector(url: str, *, max_size: int = 4) -> PsycopgConnector:
    """procrastinate's connector on the catalog's database, its connections searching `refman_queue` first."""
    from procrastinate import PsycopgConnector

    return PsycopgConnector(conninfo=libpq_url(url), min_size=1, max_size=max(2, max_size),
                            kwargs={"options": _QUEUE_OPTIONS})


def latest_snapshot_ids(store: PostgresStore, source_ids: Sequence[int]) -> dict[int, int]:
    """source id → its newest snapshot's id (sources never fetched are absent)."""
    rows = store.execute(_LATEST_SNAPSHOTS, {"ids": list(source_ids)}).fetchall()
    return {int(sid): int(snap) for sid, snap in rows}


def busy_queueing_locks(store: PostgresStore, locks: Sequence[str]) -> set[str]:
    """Those of `locks` held by a job queued or running."""
    return {row[0] for row in store.execute(_BUSY_LOCKS, {"locks": list(locks)}).fetchall()}


class HostGate:
    """Per-host limits shared by every worker of a catalog (see the module's docstring). One connection per
    exchange in flight: `size` is the most exchanges this process runs at once."""

    POLL_FIRST_S = 0.005  # waiting for a busy host: first retry after this, growing to POLL_MAX_S
    POLL_MAX_S = 0.1

    def __init__(self, url: str, size: int) -> None:
        self.url = url
        self.size = max(1, size)
        self._pool: psycopg_pool.AsyncConnectionPool | None = None
        self.waits = 0  # exchanges that found every slot of their host taken, at least once

    async def __aenter__(self) -> HostGate:
        from psycopg_pool import AsyncConnectionPool

        self._pool = AsyncConnectionPool(libpq_url(self.url), min_size=1, max_size=self.size, open=False,
                                         kwargs={"autocommit": True})
        await self._pool.open(wait=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @contextlib.asynccontextmanager
    async def slot(self, host: str, per_host: int, delay: float) -> AsyncIterator[None]:
        """Hold one of `host`'s `per_host` slots, starting no sooner than `delay` seconds after the previous
        start of an exchange with `host` by any worker."""
        assert self._pool is not None, "use `async with HostGate(...)`"
        async with self._pool.connection() as conn:
            try:
                slot = await self._take(conn, host, per_host)
            except BaseException:  # cancelled mid-query, the lock may be ours: close, so that it goes with it
                with contextlib.suppress(Exception):
                    await conn.close()
                raise
            try:
                if delay > 0:
                    cur = await conn.execute(_RESERVE_TURN, {"host": host, "delay": float(delay)})
                    row = await cur.fetchone()
                    wait = float(row[0]) if row else 0.0
                    if wait > 0:
                        await asyncio.sleep(wait)
                yield
            finally:
                try:
                    await asyncio.shield(conn.execute(_UNLOCK_SLOT, {"host": host, "slot": slot}))
                except BaseException:
                    # The lock must not outlive this exchange: a connection whose unlock failed is closed (the
                    # server drops its locks with it) rather than returned to the pool still holding one.
                    with contextlib.suppress(Exception):
                        await conn.close()
                    raise

    async def _take(self, conn: Any, host: str, per_host: int) -> int:
        pause = self.POLL_FIRST_S
        first = random.randrange(per_host)  # spread the workers over the slots
        waited = False
        while True:
            for i in range(per_host):
                slot = (first + i) % per_host
                cur = await conn.execute(_TRY_SLOT, {"host": host, "slot": slot})
                row = await cur.fetchone()
                if row and row[0]:
                    return slot
            if not waited:
                waited = True
                self.waits += 1
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(self.POLL_MAX_S, pause * 1.5)
