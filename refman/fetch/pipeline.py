"""The fetch run: choose sources, fetch them politely, extract in a process pool, write in batches.

Three stages overlap:

* **network** (asyncio, one `Fetcher`): a dispatcher hands out URLs round-robin over hosts and only to a host
  with fewer than `per_host` fetches under way, so a long run of one site's URLs never holds the global slots
  while other sites wait (the Fetcher enforces the limits and the delay again, per HTTP exchange);
* **extraction** (CPU): `extract.extract` plus hashing and compression of the body run in a
  `ProcessPoolExecutor` sized to the cores (workers forked from a forkserver that preloaded trafilatura and
  its dependencies, so they share those pages and start at once). At most a few bodies per worker wait for it,
  which bounds memory whatever the speed of the network. Runs of a few sources (`refman add URL --fetch`)
  extract in a thread instead: starting the pool would cost more than the work;
* **catalog** (one writer thread, its own store: refman.fetch.writer): results are committed in batches, one
  short write transaction each, so a reader in another process (WAL) never waits and another writer waits at
  most one batch.

Consistency: a source's status, snapshot, blobs, text and evidence change in the same transaction, so Ctrl-C or
a kill loses at most the results not yet committed (the pages in flight and one batch at most), and a source
left `new` is simply fetched by the next run. On Ctrl-C or SIGTERM the run stops dispatching, cancels the
fetches under way, commits what was already extracted and returns a summary marked `interrupted`.

Each attempt is one `snapshot` row. A body whose hash equals the previous good snapshot's (or a 304 to our
conditional request) is recorded as `unchanged`, pointing at the stored blob: no copy, no re-extraction, the
page evidence is left as it is. A changed good body replaces the archived text (`source_text`, Markdown as a
blob) and the page's evidence (origins other than refman.fetch.writer.KEPT_ORIGINS: the user's, an imported
bibliography's, the notes'; pinned user values are never touched), then `refman.evidence.refresh_source`
recomputes the cached citation columns.

Status words: `source.status` is the latest attempt's outcome: ok, thin (archived, almost no text), unsupported,
empty, error (extraction failed) for pages that answered; dead (404/410), http_error, timeout, too_large, robots,
redirect_loop, too_many_redirects, dns, refused, reset, tls, truncated, error for fetches that did not, each with
a one-line `reason`. `fail_count` counts consecutive failed checks (the page could not be retrieved: FAILURES;
robots does not count, a page that answered resets it). `refman check` calls a source dead only when
`fail_count >= 2`, so one bad day of a server is not a dead link (refman.fetch.check).

What an attempt is and writes: refman.fetch.records; the writer thread: refman.fetch.writer."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import pickle
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from refman.errors import UsageError
from refman.fetch.pool import default_workers, make_pool
from refman.fetch.records import (
    GOOD,
    Job,
    Processed,
    Record,
    content_record,
    failure_record,
    never_reached,
    unchanged_record,
)
from refman.fetch.writer import Writer

if TYPE_CHECKING:
    from refman.fetch.client import FetchPolicy, FetchResult
    from refman.fetch.fallback import FallbackOptions
    from refman.store.fetch import FetchStore
    from refman.store.protocol import Store

log = logging.getLogger(__name__)

SMALL_RUN = 3  # up to this many sources, extract in a thread: a process pool takes ~1 s to start
# A run whose first requests to this many different hosts (or to all of its hosts, if fewer) all failed
# before reaching any server (DNS, refused, no route, connect timeout) stops: the network is down.
OFFLINE_HOSTS = 6

ProgressFn = Callable[[int, int, dict[str, Any]], None]  # done, total, counts and `waiting`


# ---------------------------------------------------------------------------------------------- selection


def select_source_ids(
    store: Store,
    targets: Sequence[str] = (),
    *,
    stale_days: float | None = None,
    failed: bool = False,
    all_sources: bool = False,
) -> list[int]:
    """Ids to fetch. Explicit `targets` (ids, citation keys or URLs) win; otherwise the never-fetched sources,
    plus those last fetched more than `stale_days` ago, plus those whose last attempt failed (`failed`);
    `all_sources` takes everything."""
    if targets:
        from refman.references import resolve_sources

        ids = list(dict.fromkeys(resolve_sources(store, targets)))
        return store.fetchable_among(ids)  # a work without URL (a book, a paper by DOI) is never fetched
    if stale_days is not None and stale_days < 0:
        raise UsageError("--stale takes a number of days ≥ 0")
    return store.sources_due_for_fetch(stale_days=stale_days, failed=failed, all_sources=all_sources)


def load_jobs(store: FetchStore, source_ids: Iterable[int]) -> list[Job]:
    """Jobs for `source_ids` (unknown ids are skipped), in the given order."""
    return [Job(source_id=p.source_id, url=p.url, host=(urlsplit(p.url).hostname or "").lower(),
                fail_count=p.fail_count, prev_hash=p.prev_hash, prev_outcome=p.prev_outcome,
                prev_reason=p.prev_reason, etag=p.etag, last_modified=p.last_modified)
            for p in store.previous_fetches(list(source_ids))]


# ---------------------------------------------------------------------------------------------- worker side


def process_body(body: bytes, digest: str, url: str, content_type: str | None,
                 header_charset: str | None) -> Processed:
    """Worker-process entry point: extract, then pack the body (and Markdown) when they are to be kept."""
    from refman.fetch.archive import content_hash, pack
    from refman.fetch.extract import extract

    ext = extract(body, url, content_type, header_charset)
    if ext.outcome in GOOD:  # `refman check` compares texts, not bodies: ads and tokens change every load
        ext.metadata["text_sha256"] = content_hash(ext.text.encode("utf-8"))
    keep_body = ext.outcome in ("ok", "thin", "error")  # unsupported and empty bodies are not archived
    packed = pack(body, digest) if keep_body else None
    md = pack(ext.markdown.encode("utf-8")) if ext.markdown and ext.outcome in GOOD else None
    return Processed(ext.outcome, ext.reason, ext.error_class, ext.kind, ext.charset, ext.text, ext.fields,
                     ext.metadata, packed, md)


async def record_for(job: Job, res: FetchResult,
                     extract: Callable[[bytes, str, str, str | None, str | None], Any]) -> Record:
    """The record of one fetch attempt (a local run's and a worker's): a 304 or the same body as the previous
    good snapshot is `unchanged`, a failure is recorded as such, a new body is extracted with `extract`."""
    from refman.fetch.archive import content_hash

    if res.outcome == "not_modified" and job.prev_hash:
        return unchanged_record(job, res)
    if res.outcome != "ok":
        return failure_record(job, res)
    body = res.body or b""
    digest = content_hash(body)
    if job.prev_hash and digest == job.prev_hash:
        return unchanged_record(job, res)
    proc = await extract(body, digest, res.final_url or job.url, res.content_type, res.header_charset)
    return content_record(job, res, digest, proc)


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class RunStats:
    total: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    unchanged: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    bytes_fetched: int = 0

    def counts(self) -> dict[str, int]:
        ok = sum(self.outcomes[w] for w in GOOD)
        return {"ok": ok, "failed": self.done - ok, "unchanged": self.unchanged}


async def _run(location: Path | str, jobs: list[Job], policy: FetchPolicy, progress: ProgressFn | None,
               workers: int | None, pool: Executor | None, fallbacks: Any = None,
               user: str | None = None) -> dict[str, Any]:
    from refman.fetch.client import Fetcher

    loop = asyncio.get_running_loop()
    stats = RunStats(total=len(jobs))
    writer = Writer(location, user)
    writer.start()
    own_pool = pool is None
    workers = workers or default_workers()
    if pool is None:
        pool = ThreadPoolExecutor(1) if len(jobs) <= SMALL_RUN else make_pool(workers)
    buffer = 2 * workers + 2  # fetched bodies allowed to wait for a worker: bounds memory

    pending: dict[str, collections.deque[Job]] = collections.defaultdict(collections.deque)
    for job in jobs:
        pending[job.host].append(job)
    ready: collections.deque[str] = collections.deque(pending)  # hosts that may start a fetch now
    fetching: collections.Counter[str] = collections.Counter()
    n_fetching = n_post = 0
    wake = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()
    interrupted = False

    def host_can_start(host: str) -> bool:
        return bool(pending[host]) and fetching[host] < policy.per_host

    async def handle(job: Job) -> None:
        nonlocal n_fetching, n_post
        inflight[job.source_id] = (job.url, time.monotonic())
        try:
            try:
                res = await fetcher.fetch(job.url, etag=job.etag if job.prev_hash else None,
                                          last_modified=job.last_modified if job.prev_hash else None)
            finally:
                inflight.pop(job.source_id, None)
                n_fetching -= 1
                fetching[job.host] -= 1
                if host_can_start(job.host) and fetching[job.host] == policy.per_host - 1:
                    ready.append(job.host)
                n_post += 1
                wake.set()
            stats.bytes_fetched += len(res.body or b"")
            unreached = never_reached(res)
            # a worker that dies (out of memory, killed) makes this page an error; the run goes on
            record = await record_for(job, res, extract)
            del res
            if not reached[0] and unreached:
                held.append(record)  # recorded only once some server answers: offline runs record nothing
                offline_hosts.add(job.host)
            else:
                if not reached[0]:
                    reached[0] = True
                    for early in held:
                        writer.put(early)
                    held.clear()
                writer.put(record)
                if fallbacks is not None and fallbacks.wanted(job, record):  # its own task: the live fetches go on
                    spawn(fallbacks.run(job, record, fetcher, extract, writer.put))
            stats.done += 1
            stats.outcomes[record.status] += 1
            stats.unchanged += int(record.unchanged)
            if progress is not None:
                progress(stats.done, stats.total, stats.counts() | {"waiting": waiting()})
        finally:
            n_post -= 1
            wake.set()

    def waiting() -> str:
        """The request in flight the longest: what the run is waiting on."""
        if not inflight:
            return ""
        url, started = min(inflight.values(), key=lambda v: v[1])
        return f"{url} ({time.monotonic() - started:.0f} s)"
    async def extract(body: bytes, digest: str, url: str, ctype: str | None, charset: str | None) -> Processed:
        try:
            return await loop.run_in_executor(pool, process_body, body, digest, url, ctype, charset)
        except (BrokenProcessPool, OSError, pickle.PicklingError) as exc:
            log.warning("extraction of %s failed: %s", url, exc)
            return Processed("error", f"extraction worker failed: {type(exc).__name__}", type(exc).__name__,
                             None, None, "", {}, {}, None, None)

    def spawn(coro: Any) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(finished)

    errors: list[BaseException] = []
    inflight: dict[int, tuple[str, float]] = {}  # source id → (url, start): for the progress line
    held: list[Record] = []  # failures that never reached a server, while no request has reached one
    offline_hosts: set[str] = set()
    reached = [False]
    n_hosts = len(pending)

    def finished(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            errors.append(task.exception())  # type: ignore[arg-type]
        wake.set()

    main_task = asyncio.current_task()
    stop_signals: list[int] = []

    def request_stop(signum: int) -> None:
        # Kept as a flag as well as a cancellation: Python 3.11's wait_for swallows a cancellation that arrives
        # as its inner future completes, and `wake` completes often.
        stop_signals.append(signum)
        wake.set()
        if len(stop_signals) == 1:  # a second Ctrl-C must not cancel the clean-up that commits what was fetched
            main_task.cancel()  # type: ignore[union-attr]

    handled = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a script that started us ignoring Ctrl-C meant it
        handled.append(signal.SIGINT)
    for signum in handled:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, request_stop, signum)
    try:
        async with contextlib.AsyncExitStack() as stack:
            robots_cache = None
            if policy.respect_robots:  # robots.txt read by other runs and workers in the last day (refman.fetch.robots)
                from refman.fetch.robots import CatalogRobots, CatalogThread

                robots_thread = CatalogThread(location, user)
                stack.callback(robots_thread.close)  # after the Fetcher has stored what it read
                robots_cache = CatalogRobots(robots_thread.call)
            fetcher = await stack.enter_async_context(Fetcher(policy, robots_cache=robots_cache))
            if fallbacks is not None:
                await stack.enter_async_context(fallbacks)
            while ready or tasks:
                if stop_signals:
                    raise asyncio.CancelledError
                if writer.error is not None:
                    raise writer.error
                if errors:
                    raise errors[0]
                while ready and n_fetching < policy.concurrency and n_fetching + n_post < policy.concurrency + buffer:
                    host = ready.popleft()
                    if not host_can_start(host):
                        continue
                    job = pending[host].popleft()
                    fetching[host] += 1
                    n_fetching += 1
                    task = asyncio.create_task(handle(job))
                    tasks.add(task)
                    task.add_done_callback(finished)
                    if host_can_start(host):
                        ready.append(host)
                if not tasks and not ready:
                    break
                if not reached[0] and len(offline_hosts) >= min(OFFLINE_HOSTS, n_hosts):
                    break  # every host tried so far is unreachable: the network is down, stop early
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), 1.0)
                if progress is not None and inflight:  # slow pages: show what we wait on, every second
                    progress(stats.done, stats.total, stats.counts() | {"waiting": waiting()})
            if errors:  # a programming error in handle(): surface it rather than lose pages quietly
                raise errors[0]
            for task in list(tasks):  # stopped early (offline): what is under way is not waited for
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    except BaseException as exc:
        # Ctrl-C (asyncio.run cancels this task), SIGTERM, or an error: stop the fetches under way; what was
        # already fetched and extracted is still committed below.
        interrupted = isinstance(exc, asyncio.CancelledError) or bool(stop_signals)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not interrupted:
            raise
        if main_task is not None:
            main_task.uncancel()
    finally:
        for signum in handled:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
        if own_pool:
            pool.shutdown(wait=not interrupted, cancel_futures=True)
        # blocking, on purpose: what was fetched and extracted is committed before we return
        writer.close()
    if writer.error is not None:
        raise writer.error
    offline = not reached[0] and bool(held)
    elapsed = time.monotonic() - stats.started
    counts = stats.counts()
    return {
        "total": stats.total,
        "done": stats.done,
        "ok": counts["ok"],
        "failed": counts["failed"],
        "unchanged": counts["unchanged"],
        "outcomes": dict(sorted(stats.outcomes.items())),
        "interrupted": interrupted,
        "network_unreachable": offline,
        "not_recorded": len(held) if offline else 0,
        "elapsed_s": round(elapsed, 3),
        "pages_per_s": round(stats.done / elapsed, 2) if elapsed > 0 else 0.0,
        "bytes_fetched": stats.bytes_fetched,
        "stored_bytes_new": writer.new_blob_bytes,
        "requests": fetcher.stats.get("requests"),
        "robots_requests": fetcher.stats.get("robots_requests"),
        "robots_shared": fetcher.stats.get("robots_shared"),
        "max_in_flight": fetcher.stats.get("max_in_flight"),
        "max_in_flight_per_host": max(fetcher.stats.get("max_in_flight_per_host", {}).values(), default=0),
        **({"fallbacks": fallbacks.counts} if fallbacks is not None else {}),
    }


def fetch_sources(
    location: Path | str,
    source_ids: Iterable[int],
    policy: FetchPolicy | None = None,
    *,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    pool: Executor | None = None,
    fallback: FallbackOptions | None = None,
    still_due: Callable[[Store], Iterable[int]] | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """Fetch and archive the given sources; returns the run summary (see `_run`). The library entry point of
    `refman fetch` and of `refman add URL --fetch`. Blocking: runs its own event loop. A Ctrl-C ends the run
    early with `interrupted: true` in the summary, after committing what was already fetched. `fallback` says
    which of site adapters, rendering and the Internet Archive may help pages a plain fetch cannot archive
    (refman.fetch.fallback); None: adapters only.

    Sources another live run has claimed are left to it (`claimed_elsewhere` in the summary): see
    refman.fetch.claims. `still_due(store)`, asked once the claims are taken, gives the ids that still need a
    fetch (another run may have fetched some since they were selected). `user`: who the snapshots and page
    evidence are recorded as (None: refman.config.user_name)."""
    from refman.fetch.claims import claim, release
    from refman.fetch.client import FetchPolicy
    from refman.fetch.fallback import FallbackOptions, Fallbacks
    from refman.store import open_store

    fallback = fallback or FallbackOptions()
    policy = policy or FetchPolicy()
    with open_store(location, user=user) as store:  # creates or upgrades the schema before the writer opens it
        ids, elsewhere = claim(store, list(dict.fromkeys(source_ids)))
        if still_due is not None and ids:
            due = set(still_due(store))
            done_meanwhile = [sid for sid in ids if sid not in due]
            release(store, done_meanwhile)
            ids = [sid for sid in ids if sid in due]
        jobs = load_jobs(store, ids)
        fallbacks = Fallbacks.for_run(store, fallback, policy, [j.source_id for j in jobs]) if fallback.any else None
    empty = {"total": 0, "done": 0, "ok": 0, "failed": 0, "unchanged": 0, "outcomes": {}, "interrupted": False,
             "network_unreachable": False, "not_recorded": 0, "elapsed_s": 0.0, "pages_per_s": 0.0}
    try:
        summary = (asyncio.run(_run(location, jobs, policy, progress, workers, pool, fallbacks, user)) if jobs
                   else empty)
    finally:
        if ids:  # what this run claimed and did not record (interrupted, offline) is free again
            with open_store(location, user=user) as store:
                release(store)
    summary["claimed_elsewhere"] = elsewhere
    return summary


def run_fetch(
    location: Path | str,
    targets: Sequence[str] = (),
    *,
    stale_days: float | None = None,
    failed: bool = False,
    all_sources: bool = False,
    policy: FetchPolicy | None = None,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    fallback: FallbackOptions | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """Select sources as `refman fetch` does, then fetch them (those another run is not fetching). `user`: who
    the snapshots and page evidence are recorded as (None: refman.config.user_name)."""
    from refman.store import open_store

    def select(store: Store) -> list[int]:
        return select_source_ids(store, targets, stale_days=stale_days, failed=failed, all_sources=all_sources)

    with open_store(location) as store:
        ids = select(store)
    return fetch_sources(location, ids, policy, progress=progress, workers=workers, fallback=fallback,
                         still_due=None if targets or all_sources else select, user=user)


def fetch_backlog(store: FetchStore) -> dict[str, Any]:
    """Why a default `refman fetch` has nothing to do: {sources, never_fetched, failed, claimed, oldest_fetch}."""
    return asdict(store.fetch_backlog())
