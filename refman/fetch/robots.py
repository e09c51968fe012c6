"""robots.txt shared through the catalog: every `refman fetch` run and every `refman worker` on a catalog uses the
robots.txt answers any of them read in the last 24 hours (table `robots_txt`, migration 0014).

Without it each process read each site's robots.txt itself: three workers made three times the robots.txt
requests, each waiting for its turn at the site like a page (the per-host gate), and a second `refman fetch` the
same day asked again. The Fetcher (refman.fetch.client) decides when an answer is fresh (ROBOTS_MAX_AGE,
ROBOTS_UNAVAILABLE_MAX_AGE), keeps its own in-memory answer per origin (the pages of one origin fetched at once
wait for one reading) and survives any failure of this cache; this module only reads and stores rows.

Two processes that need the same origin's robots.txt at the same moment may both read it from the server, once
each: no claim is taken, because a claim would cost every origin a write before its reading (the catalog's write
lock on SQLite is shared with imports and the run's writer) to save a request that is rare (jobs are queued
host-interleaved, so workers start on different sites) and harmless (one more request, as before). Of two
answers stored for one origin the later reading stays."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refman.fetch.client import RobotsAnswer
from refman.timeutil import utc_text
from refman.vocabulary import RobotsOutcome

if TYPE_CHECKING:
    from refman.store.fetch import FetchStore, RobotsRow
    from refman.store.protocol import Store

StoreCall = Callable[[Callable[["FetchStore"], Any]], Awaitable[Any]]  # runs fn(store) where the store lives


class CatalogRobots:
    """refman.fetch.client.RobotsCache on a catalog. `call(fn)` runs `fn(store)` on the thread that owns the
    store and returns its result: a worker's own catalog thread, or a CatalogThread."""

    def __init__(self, call: StoreCall) -> None:
        self._call = call

    async def lookup(self, origin: str) -> RobotsAnswer | None:
        row = await self._call(lambda store: store.robots_row(origin))
        return None if row is None else answer_of(row)

    async def remember(self, origin: str, answer: RobotsAnswer) -> None:
        from refman.store.fetch import RobotsRow

        row = RobotsRow(origin, utc_text(answer.fetched_at), str(answer.outcome), answer.http_status, answer.body)
        await self._call(lambda store: store.put_robots_row(row))


def answer_of(row: RobotsRow) -> RobotsAnswer | None:
    """The answer a stored row holds; None for a row this refman cannot read (an unknown outcome, a bad time)."""
    try:
        outcome = RobotsOutcome(row.outcome)
        when = datetime.fromisoformat(row.fetched_at)
    except ValueError:
        return None
    return RobotsAnswer(outcome, when if when.tzinfo else when.replace(tzinfo=UTC), row.http_status, row.body)


class CatalogThread:
    """A store of the catalog at `location` on a thread of its own, opened at the first call: for a `refman
    fetch` run, whose other connection belongs to its writer thread."""

    def __init__(self, location: Path | str, user: str | None = None) -> None:
        self.location = location
        self.user = user
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="refman-robots")
        self._store: Store | None = None

    async def call(self, fn: Callable[[FetchStore], Any]) -> Any:
        def run() -> Any:
            if self._store is None:
                from refman.store import open_store

                self._store = open_store(self.location, user=self.user)
            return fn(self._store)

        return await asyncio.get_running_loop().run_in_executor(self._thread, run)

    def close(self) -> None:
        """Close the store (on its thread, after what is queued there) and end the thread."""

        def close_store() -> None:
            if self._store is not None:
                self._store.close()
                self._store = None

        self._thread.submit(close_store)
        self._thread.shutdown(wait=True)
