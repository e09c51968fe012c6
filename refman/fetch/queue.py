"""Fetch workers for a team catalog on PostgreSQL: `refman fetch --enqueue` queues, `refman worker` fetches.

The queue is procrastinate's (PostgreSQL-native: jobs taken with `FOR UPDATE SKIP LOCKED`, LISTEN/NOTIFY for
new jobs, worker heartbeats), its schema created by migration 0011 in the `refman_queue` schema.

* **Enqueue.** One job per selected source (the selection of `refman fetch`), task TASK on queue QUEUE, with the
  queueing lock `source:ID`: a source already queued or running is not queued again. Jobs are deferred in
  host-interleaved order, so that workers taking jobs in order find different hosts, not a run of one site's
  pages waiting for its `--per-host` slots. Each job carries `after`, the id of the source's newest snapshot
  when it was queued.
* **A job** fetches one source exactly as `refman fetch` does: the same Fetcher (client, robots.txt, retries,
  redirects), the same extraction (refman.fetch.pipeline.process_body in a process pool), the same record
  builders (refman.fetch.records) and the same write (refman.fetch.writer.apply_record), so the archive and
  the evidence are those of a local fetch. The job ends only once its record is committed.
* **Politeness across workers.** Every HTTP exchange (each redirect hop, retry and robots.txt request) goes
  through the database's host gate (refman.store.postgres.queue.HostGate): at most `per_host` in flight to one
  host and starts at least `delay` apart, over all workers on all machines. robots.txt is shared through the
  catalog (refman.fetch.robots): a site's is read by one worker and used by all for a day.
* **A worker killed mid-job** (SIGKILL, a lost machine) stops sending heartbeats; after `stalled_s` any other
  worker puts its running jobs back in the queue (procrastinate's stalled-job retry, run by every worker every
  few seconds). A retried job whose source got a snapshot newer than `after` meanwhile (the killed worker
  committed it just before dying) ends without fetching: only pages that were in flight are fetched again.
* **Claims.** A job claims its source as `refman fetch` does (refman.fetch.claims), so a worker and a local
  `refman fetch` running at once never fetch one page twice: a source another live run holds is tried again
  later (by then that run has recorded it, and the job ends without fetching, or its claim has expired). The
  record's commit ends the claim; a job that fails releases it; the claim of a job whose worker went silent is
  dropped when that job is put back in the queue. Each worker keeps its claims alive with the same heartbeat.
* **A job that fails** (the catalog busy or unreachable for a moment, any unexpected error) is retried by
  procrastinate with exponential backoff (`retry_wait_s`, doubled each attempt, at most `retries` times), then
  left failed in the queue (`procrastinate jobs` shows it). A page that cannot be fetched is not a failure:
  its outcome (dead, timeout, …) is recorded like any other.
* **Stopping.** SIGTERM or Ctrl-C: no new job is taken; jobs under way get `graceful_s` seconds to finish,
  then are cancelled and put back in the queue for another worker. `once`: stop when no job is queued or
  running anywhere (jobs of dead workers are requeued first)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refman.errors import UsageError
from refman.fetch.client import Fetcher
from refman.fetch.robots import CatalogRobots

if TYPE_CHECKING:
    from procrastinate import App

    from refman.fetch.client import FetchPolicy, RobotsCache
    from refman.fetch.fallback import FallbackOptions, Fallbacks
    from refman.fetch.records import Job, Processed, Record
    from refman.store.postgres.queue import HostGate
    from refman.store.postgres.store import PostgresStore
    from refman.store.protocol import Store

log = logging.getLogger(__name__)

QUEUE = "refman_fetch"
TASK = "refman.fetch_source"
ENQUEUE_BATCH = 500
NEEDS_POSTGRES = ("workers need a PostgreSQL catalog (--db postgresql://USER@HOST/DB): this catalog is a SQLite "
                  "file; run `refman fetch` instead")


def require_postgres(location: Path | str | None) -> str:
    """The catalog's URL, or a UsageError when it is not a PostgreSQL catalog."""
    from refman.store.postgres.url import is_postgres_url

    if not isinstance(location, str) or not is_postgres_url(location):
        raise UsageError(NEEDS_POSTGRES)
    return location


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass
class WorkerOptions:
    """How one `refman worker` runs. Heartbeat, stall, poll and retry times read REFMAN_WORKER_HEARTBEAT,
    REFMAN_WORKER_STALLED, REFMAN_WORKER_POLL and REFMAN_WORKER_RETRY_WAIT when set (tests shorten them)."""

    policy: FetchPolicy
    concurrency: int = 8  # jobs (= pages) under way in this worker at once
    once: bool = False
    extract_processes: int | None = None  # None: one per core; 0: extract in a thread
    heartbeat_s: float = field(default_factory=lambda: _env_float("REFMAN_WORKER_HEARTBEAT", 10.0))
    stalled_s: float = field(default_factory=lambda: _env_float("REFMAN_WORKER_STALLED", 60.0))
    poll_s: float = field(default_factory=lambda: _env_float("REFMAN_WORKER_POLL", 2.0))
    graceful_s: float = 10.0
    fallback: FallbackOptions | None = None  # None: site adapters only, as `refman fetch`
    retries: int = 5  # attempts after the first, for a job that raised
    # seconds before the first retry of a job that raised (then doubled) or of one whose source was claimed
    retry_wait_s: float = field(default_factory=lambda: _env_float("REFMAN_WORKER_RETRY_WAIT", 30.0))


# ---------------------------------------------------------------------------------------------- enqueue


def interleave_hosts(jobs: Sequence[Job]) -> list[Job]:
    """`jobs` round-robin over their hosts (each host's own order kept)."""
    by_host: dict[str, collections.deque[Job]] = collections.defaultdict(collections.deque)
    for job in jobs:
        by_host[job.host].append(job)
    out: list[Job] = []
    while by_host:
        for host in list(by_host):
            out.append(by_host[host].popleft())
            if not by_host[host]:
                del by_host[host]
    return out


def enqueue_fetch(store: Store, targets: Sequence[str] = (), *, stale_days: float | None = None,
                  failed: bool = False, all_sources: bool = False) -> dict[str, Any]:
    """Queue one fetch job per source of the PostgreSQL catalog `store` that `refman fetch` would select.
    Returns {selected, queued, already_queued}."""
    from procrastinate import App, exceptions
    from procrastinate.jobs import Job as QueueJob

    from refman.fetch.pipeline import load_jobs, select_source_ids
    from refman.store.postgres.queue import busy_queueing_locks, latest_snapshot_ids, queue_connector

    url = require_postgres(store.location)
    pg: PostgresStore = store  # type: ignore[assignment]
    ids = select_source_ids(store, targets, stale_days=stale_days, failed=failed, all_sources=all_sources)
    jobs = interleave_hosts(load_jobs(store, ids))
    latest = latest_snapshot_ids(pg, [j.source_id for j in jobs])
    busy = busy_queueing_locks(pg, [_lock(j.source_id) for j in jobs])
    todo = [QueueJob(queue=QUEUE, lock=None, queueing_lock=_lock(j.source_id), task_name=TASK,
                     task_kwargs={"source_id": j.source_id, "after": latest.get(j.source_id)})
            for j in jobs if _lock(j.source_id) not in busy]
    queued = 0
    app = App(connector=queue_connector(url, max_size=2))
    with app.open():
        for start in range(0, len(todo), ENQUEUE_BATCH):
            chunk = todo[start:start + ENQUEUE_BATCH]
            try:
                queued += len(app.job_manager.batch_defer_jobs(chunk))
            except exceptions.AlreadyEnqueued:  # another enqueue raced us: one by one, skipping what it queued
                for one in chunk:
                    with contextlib.suppress(exceptions.AlreadyEnqueued):
                        app.job_manager.defer_job(one)
                        queued += 1
    return {"selected": len(jobs), "queued": queued, "already_queued": len(jobs) - queued}


def _lock(source_id: int) -> str:
    return f"source:{source_id}"


class ClaimedElsewhere(Exception):
    """The job's source is being fetched by another live run (a `refman fetch`): try again later."""


def retry_strategy(opts: WorkerOptions) -> Any:
    """procrastinate's retry decision for a job that raised: a job cancelled at shutdown goes back at once; one
    whose source another run holds, after `retry_wait_s`; any other failure with exponential backoff from
    `retry_wait_s`, at most `retries` times. (A page that cannot be fetched does not raise: it is recorded.)"""
    from procrastinate.retry import BaseRetryStrategy, RetryDecision

    class JobRetry(BaseRetryStrategy):
        def get_retry_decision(self, *, exception: BaseException, job: Any) -> RetryDecision | None:
            attempts = job.attempts
            later = RetryDecision(retry_in={"milliseconds": round(opts.retry_wait_s * 1000)})
            if isinstance(exception, asyncio.CancelledError):
                return RetryDecision(retry_in={"seconds": 0}) if attempts < 20 else None
            if isinstance(exception, ClaimedElsewhere):
                return later if attempts < 20 else None
            if attempts > opts.retries:
                log.warning("job %s failed %d times, left failed: %s", job.id, attempts, exception)
                return None
            wait = min(opts.retry_wait_s * 2 ** max(attempts - 1, 0), 3600.0)
            log.warning("job %s failed (%s); retrying in %.1f s", job.id, exception, wait)
            return RetryDecision(retry_in={"milliseconds": round(wait * 1000)})

    return JobRetry()


# ---------------------------------------------------------------------------------------------- a job


class GatedFetcher(Fetcher):
    """refman's Fetcher whose every exchange also holds the database's host gate: its own per-host and global
    limits still apply within this process; the delay between request starts is the gate's (robots.txt's
    Crawl-delay, which raises this Fetcher's per-host delay, raises the gate's too)."""

    def __init__(self, policy: FetchPolicy, gate: HostGate, robots_cache: RobotsCache | None = None) -> None:
        super().__init__(replace(policy, delay=0.0), robots_cache=robots_cache)
        self.shared_delay = policy.delay
        self.gate = gate

    async def __aenter__(self) -> GatedFetcher:
        await super().__aenter__()
        # Warm what httpx does on its first connection (anyio imports its asyncio backend, the resolver starts
        # its thread), so that a worker's first request does not reach the server tens of ms after its turn.
        import anyio

        await anyio.sleep(0)
        await asyncio.get_running_loop().getaddrinfo("127.0.0.1", 80)
        return self

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        async with super()._slot(host):
            delay = max(self.shared_delay, self._host(host).delay)
            async with self.gate.slot(host, self.policy.per_host, delay):
                yield


class _Worker:
    """One worker process's state: the fetcher, the extraction pool, the catalog connection that reads jobs
    and commits records (one thread), and the counts."""

    def __init__(self, url: str, opts: WorkerOptions, gate: HostGate, pool: Executor,
                 fallbacks: Fallbacks | None) -> None:
        self.url = url
        self.opts = opts
        # robots.txt read by any worker or run in the last day, through this worker's catalog connection
        robots = CatalogRobots(self._in_db) if opts.policy.respect_robots else None
        self.fetcher = GatedFetcher(opts.policy, gate, robots)
        self.pool = pool
        self.fallbacks = fallbacks
        self.db = ThreadPoolExecutor(1, thread_name_prefix="refman-worker-db")
        self.store: PostgresStore | None = None
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.skipped = 0

    async def _in_db(self, fn: Callable[[PostgresStore], Any]) -> Any:
        def call() -> Any:
            if self.store is None:
                from refman.store import open_store

                self.store = open_store(self.url)  # type: ignore[assignment]
            return fn(self.store)  # type: ignore[arg-type]

        return await asyncio.get_running_loop().run_in_executor(self.db, call)

    def close(self) -> None:
        def close_store() -> None:
            if self.store is not None:
                self.store.close()

        self.db.submit(close_store).result()
        self.db.shutdown()

    async def extract(self, body: bytes, digest: str, url: str, ctype: str | None, charset: str | None) -> Processed:
        from concurrent.futures.process import BrokenProcessPool

        from refman.fetch.pipeline import process_body
        from refman.fetch.records import Processed

        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, process_body, body, digest, url,
                                                                    ctype, charset)
        except (BrokenProcessPool, OSError) as exc:
            log.warning("extraction of %s failed: %s", url, exc)
            return Processed("error", f"extraction worker failed: {type(exc).__name__}", type(exc).__name__,
                             None, None, "", {}, {}, None, None)

    async def fetch_source(self, source_id: int, after: int | None = None) -> str:
        """The task: claim, fetch, extract and record one source; returns its outcome (or why nothing was done)."""
        from refman.fetch.claims import claim
        from refman.fetch.pipeline import load_jobs
        from refman.store.postgres.queue import latest_snapshot_ids

        def load(store: PostgresStore) -> tuple[bool, int | None, list[Job]]:
            mine, _elsewhere = claim(store, [source_id])
            if not mine:
                return False, None, []
            if self.fallbacks is not None and self.fallbacks.options.wayback:
                from refman.fetch.wayback import cited_dates

                self.fallbacks.cited.update(cited_dates(store, [source_id]))
            return True, latest_snapshot_ids(store, [source_id]).get(source_id), load_jobs(store, [source_id])

        t0 = time.perf_counter()
        claimed, latest, jobs = await self._in_db(load)
        if not claimed:
            raise ClaimedElsewhere(f"source {source_id} is being fetched by another run")
        try:
            return await self._fetch(source_id, after, latest, jobs, t0)
        except BaseException:
            with contextlib.suppress(Exception):  # free for another run; a dead database frees it by expiry
                await asyncio.shield(self._release(source_id))
            raise

    async def _release(self, source_id: int) -> None:
        """End this worker's claim on a source it did not record (another run may take it now)."""
        from refman.fetch.claims import release

        await self._in_db(lambda store: release(store, [source_id]))

    async def _fetch(self, source_id: int, after: int | None, latest: int | None, jobs: list[Job],
                     t0: float) -> str:
        if latest is not None and (after is None or latest > after):
            self.skipped += 1
            await self._release(source_id)
            return "already fetched since queued"
        if not jobs:
            self.skipped += 1
            await self._release(source_id)
            return "not fetchable (deleted, or no URL)"
        job = jobs[0]
        t1 = time.perf_counter()
        res = await self.fetcher.fetch(job.url, etag=job.etag if job.prev_hash else None,
                                       last_modified=job.last_modified if job.prev_hash else None)
        t2 = time.perf_counter()
        from refman.fetch.pipeline import record_for

        record = await record_for(job, res, self.extract)
        t3 = time.perf_counter()
        await self._in_db(lambda store: _commit(store, [record]))
        log.debug("source %d: read %.0f ms, fetch %.0f ms, extract %.0f ms, commit %.0f ms", source_id,
                  (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000, (time.perf_counter() - t3) * 1000)
        self.outcomes[record.status] += 1
        if self.fallbacks is not None and self.fallbacks.wanted(job, record):
            # after the live attempt is committed: a worker dying here loses only the fallback's attempts
            more: list[Record] = []
            await self.fallbacks.run(job, record, self.fetcher, self.extract, more.append)
            if more:
                await self._in_db(lambda store: _commit(store, more))
        return record.status


def _commit(store: Store, records: list[Record]) -> None:
    """A job's records, one transaction. Not under refman.search.bulk_upkeep as the run's writer batches are: for one
    source the index triggers cost less than suspending them, which on PostgreSQL locks the indexed tables
    against every other worker's commit until this one's."""
    from refman.fetch.writer import apply_record

    with store.transaction():
        for record in records:
            apply_record(store, record)


# ---------------------------------------------------------------------------------------------- the worker


def run_worker(location: Path | str | None, opts: WorkerOptions,
               started: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run fetch jobs until stopped (SIGTERM, Ctrl-C) or, with `opts.once`, until no job is queued or running.
    Blocking. Returns {jobs, fetched, ok, failed, skipped, outcomes, requeued, interrupted, stopped, elapsed_s,
    pages_per_s, host_waits}."""
    url = require_postgres(location)
    from refman.store import open_store

    with open_store(url):  # the schema (and its queue) is created or upgraded before the worker starts
        pass
    return asyncio.run(_work(url, opts, started))


async def _work(url: str, opts: WorkerOptions, started: Callable[[], None] | None) -> dict[str, Any]:
    from procrastinate import App
    from procrastinate.worker import Worker

    from refman.fetch.fallback import FallbackOptions, Fallbacks
    from refman.fetch.pool import make_pool
    from refman.store.postgres.queue import HostGate, queue_connector

    t0 = time.monotonic()
    app = App(connector=queue_connector(url, max_size=4))
    pool: Executor = ThreadPoolExecutor(1) if opts.extract_processes == 0 else make_pool(opts.extract_processes)
    stop_signals: list[int] = []
    requeued = [0]
    fallback = opts.fallback or FallbackOptions()
    async with app.open_async(), HostGate(url, opts.concurrency) as gate:
        state = _Worker(url, opts, gate, pool, None)
        if fallback.any:  # the cited days the Internet Archive needs are read per job
            state.fallbacks = await state._in_db(lambda store: Fallbacks.for_run(store, fallback, opts.policy, []))
        app.task(name=TASK, queue=QUEUE, retry=retry_strategy(opts))(state.fetch_source)
        worker: Any = Worker(app, queues=[QUEUE], concurrency=opts.concurrency, install_signal_handlers=False,
                             update_heartbeat_interval=opts.heartbeat_s, stalled_worker_timeout=opts.stalled_s,
                             fetch_job_polling_interval=opts.poll_s, shutdown_graceful_timeout=opts.graceful_s,
                             delete_jobs="successful")
        loop = asyncio.get_running_loop()

        def request_stop(signum: int) -> None:
            stop_signals.append(signum)
            worker.stop()

        handled = [signal.SIGTERM]
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            handled.append(signal.SIGINT)
        for signum in handled:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, request_stop, signum)
        try:
            async with state.fetcher, (state.fallbacks or contextlib.nullcontext()):
                run = asyncio.create_task(worker.run())
                watch = asyncio.create_task(_watch(app, worker, state, requeued))
                if started is not None:
                    started()
                try:
                    await run
                finally:
                    watch.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watch
        finally:
            for signum in handled:
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(signum)
            pool.shutdown(wait=False, cancel_futures=True)
            await asyncio.get_running_loop().run_in_executor(None, state.close)
    from refman.fetch.records import GOOD

    done = sum(state.outcomes.values())
    ok = sum(n for word, n in state.outcomes.items() if word in GOOD)
    elapsed = time.monotonic() - t0
    return {"jobs": done + state.skipped, "fetched": done, "ok": ok, "failed": done - ok, "skipped": state.skipped,
            "outcomes": dict(sorted(state.outcomes.items())), "requeued": requeued[0],
            "interrupted": signal.SIGINT in stop_signals, "stopped": bool(stop_signals),
            "elapsed_s": round(elapsed, 3), "pages_per_s": round(done / elapsed, 2) if elapsed > 0 else 0.0,
            "host_waits": gate.waits}


def _drop_claim(store: PostgresStore, source_id: int) -> None:
    store.drop_fetch_claims([source_id])


async def _watch(app: App, worker: Any, state: _Worker, requeued: list[int]) -> None:
    """Every `poll_s`: put the running jobs of workers silent for `stalled_s` back in the queue; keep this
    worker's fetch claims alive; with `once`, stop the worker when no job is queued or running."""
    from refman.fetch.claims import HEARTBEAT_SECONDS, heartbeat

    opts = state.opts
    manager = app.job_manager
    beaten = time.monotonic()
    while True:
        try:
            for job in await manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=opts.stalled_s):
                try:
                    await manager.retry_job(job)
                    requeued[0] += 1
                    log.info("job %s of a silent worker put back in the queue", job.id)
                except Exception as exc:  # another worker requeued it first
                    log.debug("job %s not requeued: %s", job.id, exc)
                    continue
                # the silent worker's claim on the source goes with its job (its lease is the queue's heartbeat)
                sid = job.task_kwargs.get("source_id")
                if isinstance(sid, int):
                    await state._in_db(functools.partial(_drop_claim, source_id=sid))
            if time.monotonic() - beaten >= HEARTBEAT_SECONDS:
                await state._in_db(heartbeat)
                beaten = time.monotonic()
            if opts.once:
                counts = list(await manager.list_queues_async(queue=QUEUE))
                if not any(q["todo"] or q["doing"] for q in counts):
                    worker.stop()
                    return
        except Exception as exc:  # the database went away for a moment: try again next time
            log.warning("worker upkeep failed: %s", exc)
        await asyncio.sleep(opts.poll_s)
