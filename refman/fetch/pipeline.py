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
* **catalog** (one writer thread, its own sqlite3 connection): results are committed in batches (every
  `BATCH_SIZE` results or `BATCH_SECONDS`), one short `BEGIN IMMEDIATE` transaction each, so a reader in
  another process (WAL) never waits and another writer waits at most one batch.

Consistency: a source's status, snapshot, blobs, text and evidence change in the same transaction, so Ctrl-C or
a kill loses at most the results not yet committed (the pages in flight and one batch at most), and a source
left `new` is simply fetched by the next run. On Ctrl-C or SIGTERM the run stops dispatching, cancels the
fetches under way, commits what was already extracted and returns a summary marked `interrupted`.

Each attempt is one `snapshot` row. A body whose hash equals the previous good snapshot's (or a 304 to our
conditional request) is recorded as `unchanged`, pointing at the stored blob: no copy, no re-extraction, the
page evidence is left as it is. A changed good body replaces the archived text (`source_text`, Markdown as a
blob) and the page's `field_value` evidence (origins other than `user` and `label`; pinned user values are
never touched), then `refman.evidence.refresh_source` recomputes the cached citation columns.

Status words: `source.status` is the latest attempt's outcome: ok, thin (archived, almost no text), unsupported,
empty, error (extraction failed) for pages that answered; dead (404/410), http_error, timeout, too_large, robots,
redirect_loop, too_many_redirects, dns, refused, reset, tls, truncated, error for fetches that did not, each with
a one-line `reason`. `fail_count` counts consecutive failed checks (the page could not be retrieved: FAILURES;
robots does not count, a page that answered resets it). `refman check` calls a source dead only when
`fail_count >= 2`, so one bad day of a server is not a dead link."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import pickle
import queue
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from refman.errors import UsageError

if TYPE_CHECKING:
    from refman.fetch.archive import PackedBlob
    from refman.fetch.client import FetchPolicy, FetchResult
    from refman.fetch.fallback import FallbackOptions

log = logging.getLogger(__name__)

BATCH_SIZE = 50
SMALL_RUN = 3  # up to this many sources, extract in a thread: a process pool takes ~1 s to start
BATCH_SECONDS = 1.0
# Fetch outcomes that mean the page could not be retrieved: they count towards "dead after two checks".
# robots (we did not ask), too_large (the server answered) and the content outcomes do not.
FAILURES = frozenset({
    "dead", "http_error", "timeout", "redirect_loop", "too_many_redirects", "dns", "refused", "reset", "tls",
    "truncated", "error",
})
GOOD = ("ok", "thin")
# Failures that say the page is gone (404/410 are `dead`; `dns` is a host that no longer resolves while other
# hosts do, since a run where every host fails records nothing). Only these, repeated at least DEAD_AFTER_DAYS
# apart, make `refman check` call a source dead; 429, 5xx, timeouts and refused connections are "failing".
DEFINITIVE = frozenset({"dead", "dns"})
DEAD_AFTER_DAYS = 1.0
# A run whose first requests to this many different hosts (or to all of its hosts, if fewer) all failed
# before reaching any server (DNS, refused, no route, connect timeout) stops: the network is down.
OFFLINE_HOSTS = 6  # outcomes whose body is the source's archived content
# Page evidence is replaced on every changed fetch; these origins are not the page's and are kept.
KEPT_ORIGINS = ("user", "label", "link-text")

ProgressFn = Callable[[int, int, dict[str, int]], None]


# ---------------------------------------------------------------------------------------------- selection


@dataclass
class Job:
    """One source to fetch, with what the previous good snapshot says (for 304s and "unchanged")."""

    source_id: int
    url: str
    host: str
    fail_count: int = 0
    prev_hash: str | None = None
    prev_outcome: str | None = None
    prev_reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None


def select_source_ids(
    conn: sqlite3.Connection,
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
        from refman.catalog import resolve_sources
        from refman.store.sqlite import SqliteStore

        ids = list(dict.fromkeys(resolve_sources(SqliteStore(conn), targets)))  # until pipeline takes a store
        with_url = {r[0] for r in conn.execute(
            f"SELECT id FROM source WHERE url IS NOT NULL AND id IN ({','.join('?' * len(ids))})", ids)}
        return [i for i in ids if i in with_url]  # a work without URL (a book, a paper by DOI) is never fetched
    if stale_days is not None and stale_days < 0:
        raise UsageError("--stale takes a number of days ≥ 0")
    if all_sources:
        return [r[0] for r in conn.execute("SELECT id FROM source WHERE url IS NOT NULL ORDER BY id")]
    where = ["fetched_at IS NULL"]
    params: list[Any] = []
    if stale_days is not None:
        where.append("fetched_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)")
        params.append(f"-{float(stale_days) * 86400:.0f} seconds")
    if failed:
        where.append("(fetched_at IS NOT NULL AND status NOT IN ('ok', 'new'))")
    sql = f"SELECT id FROM source WHERE url IS NOT NULL AND ({' OR '.join(where)}) ORDER BY id"
    return [r[0] for r in conn.execute(sql, params)]


def load_jobs(conn: sqlite3.Connection, source_ids: Iterable[int]) -> list[Job]:
    """Jobs for `source_ids` (unknown ids are skipped), in the given order."""
    jobs: list[Job] = []
    ids = list(source_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(
            f"""SELECT s.id, s.url, s.fail_count, g.body_hash, g.outcome, g.reason, g.etag, g.last_modified
                FROM source s LEFT JOIN snapshot g ON g.id = (
                    SELECT id FROM snapshot WHERE source_id = s.id AND body_hash IS NOT NULL
                    AND outcome IN ('ok', 'thin') AND origin = 'live' ORDER BY fetched_at DESC, id DESC LIMIT 1)
                WHERE s.id IN ({marks})""",
            chunk,
        ).fetchall()
        by_id = {r[0]: r for r in rows}
        for sid in chunk:
            r = by_id.get(sid)
            if r is None:
                continue
            jobs.append(Job(
                source_id=r[0], url=r[1], host=(urlsplit(r[1]).hostname or "").lower(), fail_count=r[2] or 0,
                prev_hash=r[3], prev_outcome=r[4], prev_reason=r[5], etag=r[6], last_modified=r[7],
            ))
    return jobs


# ---------------------------------------------------------------------------------------------- worker side


@dataclass
class Processed:
    """What a worker sends back: the extraction plus the blobs to store (compressed there)."""

    outcome: str
    reason: str | None
    error_class: str | None
    kind: str | None
    charset: str | None
    text: str
    fields: dict[str, tuple[Any, str]]
    metadata: dict[str, Any]
    body: PackedBlob | None
    markdown: PackedBlob | None


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


def _worker_init(parent_alive: Any = None, warm: bool = True) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what to do; workers just keep going.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_alive is not None:
        # Workers block on the pool's queue, whose write end they hold too: a parent killed with SIGKILL would
        # leave them (and the forkserver) running forever. The parent holds the only write end of this pipe.
        threading.Thread(target=_exit_with_parent, args=(parent_alive,), daemon=True).start()
    if not warm:
        return
    # Import the heavy modules now, not in the first task (no-op when the forkserver preloaded them).
    import refman.fetch.extract
    with contextlib.suppress(ImportError):
        import trafilatura  # noqa: F401

        import refman.metadata.html  # noqa: F401


def _exit_with_parent(conn: Any) -> None:
    with contextlib.suppress(BaseException):
        conn.recv()  # never sent to: returns only by EOF, when the parent is gone
    os._exit(0)


# Imported once in the forkserver, so workers share these pages instead of each loading ~90 MB of modules
# (dateparser, which trafilatura's date search pulls in lazily, is the biggest).
_PRELOAD = [
    "refman.fetch.extract", "refman.fetch.archive", "refman.fetch.charset", "refman.metadata", "refman.evidence",
    "lxml.html", "trafilatura", "trafilatura.core", "htmldate", "dateparser", "refman.metadata.html", "pypdf",
]


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def make_pool(workers: int | None = None, *, preload: Sequence[str] = tuple(_PRELOAD),
              warm: bool = True) -> ProcessPoolExecutor:
    """A process pool whose workers die with the parent, even one killed with SIGKILL: forkserver on Linux
    (workers start from a clean process that imported `preload` once, not from a parent with threads and
    sockets), spawn elsewhere. The extraction pool by default; `refman import` uses it with the parser's
    modules (`warm=False`: no trafilatura)."""
    import multiprocessing

    workers = workers or default_workers()
    try:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(preload))
    except ValueError:
        ctx = multiprocessing.get_context("spawn")
    alive_r, alive_w = ctx.Pipe(duplex=False)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                               initargs=(alive_r, warm))
    pool._refman_alive = (alive_r, alive_w)  # type: ignore[attr-defined]  # lives exactly as long as the pool
    return pool


# ---------------------------------------------------------------------------------------------- writer


@dataclass
class Record:
    """Everything one attempt writes, applied in one savepoint of a batch."""

    job: Job
    fetched_at: str
    status: str  # the source status word
    reason: str | None
    failed: bool  # counts as a failed check
    reachable: bool  # the server answered: resets fail_count
    snapshot: dict[str, Any]
    blobs: list[PackedBlob] = field(default_factory=list)
    content_changed: bool = False  # new text and evidence to store
    unchanged: bool = False  # same content as before: refresh the text's snapshot pointer only
    text: str | None = None
    markdown_hash: str | None = None
    fields: dict[str, tuple[Any, str]] = field(default_factory=dict)
    keep_status: bool = False  # an archive copy (refman.fetch.fallback): text and evidence, not the status


class Writer(threading.Thread):
    """The only writer of a run: batches of records, one transaction each, on its own connection."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(name="refman-writer", daemon=True)
        self.db_path = Path(db_path)
        self.queue: queue.Queue[Record | None] = queue.Queue()
        self.error: BaseException | None = None
        self.committed = 0
        self.failed_records = 0
        self.new_blob_bytes = 0  # stored bytes written by this run
        self._ready = threading.Event()

    def put(self, record: Record) -> None:
        self.queue.put(record)

    def close(self) -> None:
        """Commit what is queued and stop (blocks until done)."""
        self.queue.put(None)
        self.join()

    def run(self) -> None:
        from refman.fetch.claims import HEARTBEAT_SECONDS, heartbeat
        from refman.store import connect

        try:
            conn = connect(self.db_path)
        except BaseException as exc:
            self.error = exc
            self._drain()
            return
        done = False
        try:
            while not done:
                batch: list[Record] = []
                try:
                    first = self.queue.get(timeout=HEARTBEAT_SECONDS)
                except queue.Empty:  # slow pages: tell other runs that our claims are alive
                    heartbeat(conn)
                    continue
                if first is None:
                    break
                batch.append(first)
                deadline = time.monotonic() + BATCH_SECONDS
                while len(batch) < BATCH_SIZE:
                    try:
                        item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if item is None:
                        done = True
                        break
                    batch.append(item)
                self._commit(conn, batch)
        except BaseException as exc:  # disk full, catalog damaged: stop the run, keep what is committed
            log.error("catalog writer failed: %s", exc)
            self.error = exc
            if not done:  # the closing None is still to come: take records until then so close() returns
                self._drain()
        finally:
            conn.close()

    def _drain(self) -> None:
        while self.queue.get() is not None:
            pass

    def _commit(self, conn: sqlite3.Connection, batch: list[Record]) -> None:
        from refman.fetch.claims import heartbeat
        from refman.search import bulk_upkeep
        from refman.store.sqlite import SqliteStore
        from refman.store.sqlite.base import transaction

        # The search index triggers space CJK text in SQL: 0.7 s for a 20,000-character Chinese page, and
        # twice per source (text, then merged title). bulk_upkeep suspends them for this transaction and
        # re-indexes the batch's sources once, in Python (13 ms for that page).
        with transaction(conn), bulk_upkeep(SqliteStore(conn)) as touched:  # until the writer takes a store
            for record in batch:
                conn.execute("SAVEPOINT rec")
                try:
                    apply_record(conn, record, self)
                    conn.execute("RELEASE rec")
                except sqlite3.IntegrityError as exc:  # e.g. the source was deleted meanwhile
                    log.warning("source %d not recorded: %s", record.job.source_id, exc)
                    conn.execute("ROLLBACK TO rec")
                    conn.execute("RELEASE rec")
                    self.failed_records += 1
                touched.add(record.job.source_id)
            heartbeat(conn)
        self.committed += len(batch)


def apply_record(conn: sqlite3.Connection, rec: Record, writer: Writer | None = None) -> int:
    """Write one attempt: blobs, snapshot, archived text, page evidence, merged fields, source status.

    A copy that is not the live URL's answer (`rec.keep_status`: an archive capture, an adapter's article, a page
    saved in the user's browser) leaves the source's status, fail count and fetch date alone, since they describe
    the live URL, except that a never-fetched source becomes `ok`."""
    from refman.evidence import refresh_source
    from refman.fetch.archive import insert_snapshot, put_blob
    from refman.store.sqlite import SqliteStore

    sid = rec.job.source_id
    conn.execute("DELETE FROM fetch_claim WHERE source_id = ?", (sid,))  # done: another run may take it now
    for blob in rec.blobs:
        if put_blob(conn, blob) and writer is not None:
            writer.new_blob_bytes += blob.stored_size
    snap_id = insert_snapshot(conn, {**rec.snapshot, "source_id": sid, "fetched_at": rec.fetched_at})
    if rec.status == "thin" and _text_from_fallback(conn, sid):
        # a live shell never replaces the text a fallback (adapter, render, archive) found for it
        rec.content_changed = rec.unchanged = False
    if rec.content_changed:
        conn.execute(
            "INSERT INTO source_text (source_id, snapshot_id, text, markdown_hash) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(source_id) DO UPDATE SET snapshot_id = excluded.snapshot_id, text = excluded.text, "
            "markdown_hash = excluded.markdown_hash",
            (sid, snap_id, rec.text or "", rec.markdown_hash),
        )
        conn.execute(
            f"DELETE FROM field_value WHERE source_id = ? AND origin NOT IN ({', '.join('?' * len(KEPT_ORIGINS))})",
            (sid, *KEPT_ORIGINS),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO field_value (source_id, field, origin, value, updated_at) VALUES (?, ?, ?, ?, ?)",
            [
                (sid, name, origin, json.dumps(value, ensure_ascii=False), rec.fetched_at)
                for name, (value, origin) in rec.fields.items()
                if origin not in KEPT_ORIGINS  # never write over a pinned value
            ],
        )
        refresh_source(SqliteStore(conn), sid)  # until pipeline takes a store
    elif rec.unchanged:
        conn.execute("UPDATE source_text SET snapshot_id = ? WHERE source_id = ?", (snap_id, sid))
    if rec.keep_status:
        if rec.status in GOOD:  # a copy of a never-fetched source: it has an archive now
            conn.execute("UPDATE source SET status = CASE WHEN status = 'new' THEN ? ELSE status END, "
                         "last_ok_at = ?, updated_at = ? WHERE id = ?",
                         (rec.status, rec.fetched_at, rec.fetched_at, sid))
        return snap_id
    if rec.failed:
        fail_sql = "fail_count + 1"
    elif rec.reachable:
        fail_sql = "0"
    else:
        fail_sql = "fail_count"
    # The streak of definitive failures (404/410, a host that no longer exists) that `check` needs to span a
    # day before it calls a source dead; any other outcome ends it (a 503 in between is not "in a row").
    since_sql = "coalesce(failing_since, ?)" if rec.status in DEFINITIVE else "NULL"
    good = rec.status in GOOD
    conn.execute(
        f"UPDATE source SET status = ?, reason = ?, fetched_at = ?, fail_count = {fail_sql}, "
        f"failing_since = {since_sql}, "
        "last_ok_at = CASE WHEN ? THEN ? ELSE last_ok_at END, "
        "updated_at = CASE WHEN ? THEN ? ELSE updated_at END WHERE id = ?",
        (rec.status, rec.reason, rec.fetched_at, *((rec.fetched_at,) if rec.status in DEFINITIVE else ()), good,
         rec.fetched_at, rec.content_changed, rec.fetched_at, sid),
    )
    return snap_id


def _text_from_fallback(conn: sqlite3.Connection, source_id: int) -> bool:
    row = conn.execute("SELECT g.origin FROM source_text t JOIN snapshot g ON g.id = t.snapshot_id "
                       "WHERE t.source_id = ?", (source_id,)).fetchone()
    return row is not None and row[0] != "live"


# ---------------------------------------------------------------------------------------------- records


def _utc_now() -> str:
    from refman.timeutil import utc_now

    return utc_now()


def _base_snapshot(res: FetchResult) -> dict[str, Any]:
    return {
        "http_status": res.http_status,
        "final_url": res.final_url,
        "redirects": json.dumps(res.redirects, ensure_ascii=False) if res.redirects else None,
        "content_type": res.content_type,
        "charset": res.header_charset,
        "size": len(res.body) if res.body is not None else None,
        "elapsed_ms": res.elapsed_ms,
        "error_class": res.error_class,
        "reason": res.reason,
        "etag": res.etag,
        "last_modified": res.last_modified,
    }


def never_reached(res: FetchResult) -> bool:
    """The request failed before any server answered: DNS, refused, no route, connect timeout."""
    return res.outcome in ("dns", "refused") or res.error_class in ("ConnectError", "ConnectTimeout")


def failure_record(job: Job, res: FetchResult) -> Record:
    """The fetch itself failed (or was refused by robots.txt): a snapshot without a body."""
    word = res.outcome
    snap = _base_snapshot(res) | {"outcome": word}
    if word == "not_modified":  # a 304 we did not ask for: there is no content to point at
        word = snap["outcome"] = snap["error_class"] = "http_error"
        snap["reason"] = "HTTP 304 Not Modified to an unconditional request"
    return Record(job=job, fetched_at=_utc_now(), status=word, reason=snap["reason"], failed=word in FAILURES,
                  reachable=word == "too_large", snapshot=snap)


def unchanged_record(job: Job, res: FetchResult) -> Record:
    """304 Not Modified, or a body with the hash of the previous good snapshot: the check, not a copy."""
    snap = _base_snapshot(res) | {
        "outcome": job.prev_outcome or "ok", "body_hash": job.prev_hash, "unchanged": True,
        "reason": None if job.prev_outcome == "ok" else job.prev_reason, "error_class": None,
    }
    if res.http_status == 304:  # the 304 carries no type or size of its own
        snap.update(content_type=None, size=None)
    return Record(job=job, fetched_at=_utc_now(), status=job.prev_outcome or "ok", reason=snap["reason"],
                  failed=False, reachable=True, snapshot=snap, unchanged=True)


def content_record(job: Job, res: FetchResult, digest: str, proc: Processed) -> Record:
    """A body that was extracted (whatever the extraction outcome)."""
    snap = _base_snapshot(res) | {
        "outcome": proc.outcome,
        "charset": proc.charset or res.header_charset,
        "body_hash": proc.body.hash if proc.body is not None else None,
        "error_class": proc.error_class,
        "reason": proc.reason,
        "metadata_json": json.dumps(
            {"kind": proc.kind, "text_chars": len(proc.text),
             "fields": {k: [v, o] for k, (v, o) in proc.fields.items()}, **proc.metadata},
            ensure_ascii=False, default=str,
        ),
    }
    good = proc.outcome in GOOD
    blobs = [b for b in (proc.body, proc.markdown) if b is not None]
    return Record(job=job, fetched_at=_utc_now(), status=proc.outcome, reason=proc.reason, failed=False,
                  reachable=True, snapshot=snap, blobs=blobs, content_changed=good, text=proc.text if good else None,
                  markdown_hash=proc.markdown.hash if proc.markdown is not None and good else None,
                  fields=proc.fields if good else {})


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


async def _run(db_path: Path, jobs: list[Job], policy: FetchPolicy, progress: ProgressFn | None,
               workers: int | None, pool: Executor | None, fallbacks: Any = None) -> dict[str, Any]:
    from refman.fetch.archive import content_hash
    from refman.fetch.client import Fetcher

    loop = asyncio.get_running_loop()
    stats = RunStats(total=len(jobs))
    writer = Writer(db_path)
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
            if res.outcome == "not_modified" and job.prev_hash:
                record = unchanged_record(job, res)
            elif res.outcome != "ok":
                record = failure_record(job, res)
            else:
                body = res.body or b""
                digest = content_hash(body)
                if job.prev_hash and digest == job.prev_hash:
                    record = unchanged_record(job, res)
                else:
                    # a worker that dies (out of memory, killed) makes this page an error; the run goes on
                    proc = await extract(body, digest, res.final_url or job.url, res.content_type,
                                         res.header_charset)
                    record = content_record(job, res, digest, proc)
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
            fetcher = await stack.enter_async_context(Fetcher(policy))
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
        "max_in_flight": fetcher.stats.get("max_in_flight"),
        "max_in_flight_per_host": max(fetcher.stats.get("max_in_flight_per_host", {}).values(), default=0),
        **({"fallbacks": fallbacks.counts} if fallbacks is not None else {}),
    }


def fetch_sources(
    db_path: Path | str,
    source_ids: Iterable[int],
    policy: FetchPolicy | None = None,
    *,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    pool: Executor | None = None,
    fallback: FallbackOptions | None = None,
    still_due: Callable[[sqlite3.Connection], Iterable[int]] | None = None,
) -> dict[str, Any]:
    """Fetch and archive the given sources; returns the run summary (see `_run`). The library entry point of
    `refman fetch` and of `refman add URL --fetch`. Blocking: runs its own event loop. A Ctrl-C ends the run
    early with `interrupted: true` in the summary, after committing what was already fetched. `fallback` says
    which of site adapters, rendering and the Internet Archive may help pages a plain fetch cannot archive
    (refman.fetch.fallback); None: adapters only.

    Sources another live run has claimed are left to it (`claimed_elsewhere` in the summary): see
    refman.fetch.claims. `still_due(conn)`, asked once the claims are taken, gives the ids that still need a
    fetch (another run may have fetched some since they were selected)."""
    from refman.fetch.claims import claim, release
    from refman.fetch.client import FetchPolicy
    from refman.store import connect

    db_path = Path(db_path)
    from refman.fetch.fallback import FallbackOptions, Fallbacks

    conn = connect(db_path)  # creates or upgrades the schema before the writer thread opens it
    fallback = fallback or FallbackOptions()
    policy = policy or FetchPolicy()
    try:
        ids, elsewhere = claim(conn, list(dict.fromkeys(source_ids)))
        if still_due is not None and ids:
            due = set(still_due(conn))
            done_meanwhile = [sid for sid in ids if sid not in due]
            release(conn, done_meanwhile)
            ids = [sid for sid in ids if sid in due]
        jobs = load_jobs(conn, ids)
        fallbacks = Fallbacks.for_run(conn, fallback, policy, [j.source_id for j in jobs]) if fallback.any else None
    finally:
        conn.close()
    empty = {"total": 0, "done": 0, "ok": 0, "failed": 0, "unchanged": 0, "outcomes": {}, "interrupted": False,
             "network_unreachable": False, "not_recorded": 0, "elapsed_s": 0.0, "pages_per_s": 0.0}
    try:
        summary = asyncio.run(_run(db_path, jobs, policy, progress, workers, pool, fallbacks)) if jobs else empty
    finally:
        if ids:  # what this run claimed and did not record (interrupted, offline) is free again
            with contextlib.closing(connect(db_path)) as conn:
                release(conn)
    summary["claimed_elsewhere"] = elsewhere
    return summary


def run_fetch(
    db_path: Path | str,
    targets: Sequence[str] = (),
    *,
    stale_days: float | None = None,
    failed: bool = False,
    all_sources: bool = False,
    policy: FetchPolicy | None = None,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    fallback: FallbackOptions | None = None,
) -> dict[str, Any]:
    """Select sources as `refman fetch` does, then fetch them (those another run is not fetching)."""
    from refman.store import connect

    def select(conn: sqlite3.Connection) -> list[int]:
        return select_source_ids(conn, targets, stale_days=stale_days, failed=failed, all_sources=all_sources)

    conn = connect(Path(db_path))
    try:
        ids = select(conn)
    finally:
        conn.close()
    return fetch_sources(db_path, ids, policy, progress=progress, workers=workers, fallback=fallback,
                         still_due=None if targets or all_sources else select)


def fetch_backlog(conn: sqlite3.Connection) -> dict[str, Any]:
    """Why a default `refman fetch` has nothing to do: {sources, never_fetched, failed, claimed, oldest_fetch}."""
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE fetched_at IS NULL),"
        " count(*) FILTER (WHERE fetched_at IS NOT NULL AND status NOT IN ('ok', 'new')),"
        " min(fetched_at) FROM source").fetchone()
    claimed = conn.execute("SELECT count(*) FROM fetch_claim").fetchone()[0]
    return {"sources": row[0], "never_fetched": row[1], "failed": row[2], "claimed": claimed,
            "oldest_fetch": row[3]}


# ---------------------------------------------------------------------------------------------- check report


def check_report(conn: sqlite3.Connection, source_ids: Sequence[int],
                 dead_after_days: float = DEAD_AFTER_DAYS) -> dict[str, Any]:
    """Per note, the sources among `source_ids` that are dead, failing, redirected elsewhere (the final URL
    normalises to another source identity) or changed (the latest check found a text different from the
    previous good snapshot's); each source under one verdict. Dead: the page is gone (404/410) or its host no
    longer exists, on at least two checks in a row at least `dead_after_days` apart. Any other failed check
    (429, 5xx, timeouts, refused connections, TLS, redirect loops) is "failing", never dead. Sources no note
    cites are under "(no note)"."""
    from refman.urls import normalise_url

    problems: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(source_ids), 500):
        chunk = list(source_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        rows = conn.execute(
            f"SELECT id, url, status, reason, fail_count, failing_since, fetched_at,"
            f" (julianday(fetched_at) - julianday(failing_since)) FROM source WHERE id IN ({marks})", chunk
        ).fetchall()
        for sid, url, status, reason, fail_count, failing_since, fetched_at, span in rows:
            found: list[dict[str, Any]] = []
            base = {"id": sid, "url": url, "status": status, "fail_count": fail_count}
            if status in FAILURES:
                gone = (status in DEFINITIVE and failing_since is not None and fail_count >= 2
                        and (span or 0.0) >= dead_after_days)
                if gone:
                    found.append(base | {"problem": "dead", "detail": f"{status}: {reason} (since {failing_since},"
                                                                     f" {fail_count} failed checks)"})
                elif status in DEFINITIVE:
                    first = failing_since or fetched_at
                    found.append(base | {"problem": "failing", "detail": f"{status}: {reason} (dead if still so on"
                                         f" a check {dead_after_days:g} days or more after {first})"})
                else:
                    found.append(base | {"problem": "failing", "detail": f"{status}: {reason}"
                                         f" ({fail_count} failed checks; not a sign the page is gone)"})
            snaps = conn.execute(
                "SELECT outcome, final_url, redirects, body_hash, unchanged, metadata_json FROM snapshot "
                "WHERE source_id = ? AND origin = 'live' ORDER BY fetched_at DESC, id DESC LIMIT 50", (sid,),
            ).fetchall()
            if not found and snaps and snaps[0][0] in GOOD and snaps[0][2] and snaps[0][1]:
                try:
                    target = normalise_url(snaps[0][1]).url
                except UsageError:
                    target = snaps[0][1]
                if target != url:
                    found.append(base | {"problem": "redirected", "final_url": snaps[0][1],
                                         "detail": f"now at {snaps[0][1]}"})
            good = [s for s in snaps if s[0] in GOOD and s[3]]
            if snaps and len(good) >= 2 and snaps[0] is good[0] and not good[0][4]:
                before, after = _text_hash(good[1]), _text_hash(good[0])
                if before != after:
                    found.append(base | {"problem": "changed", "detail": "text differs from the previous snapshot"})
            if found:
                problems[sid] = found
    by_note: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    if problems:
        cited: dict[int, list[str]] = collections.defaultdict(list)
        ids = list(problems)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for sid, path in conn.execute(
                f"SELECT DISTINCT m.source_id, n.path FROM mention m JOIN note n ON n.id = m.note_id "
                f"WHERE m.source_id IN ({marks})", chunk,
            ):
                cited[sid].append(path)
        for sid, found in problems.items():
            for path in cited.get(sid) or ["(no note)"]:
                by_note[path].extend(found)
    counts = collections.Counter(item["problem"] for found in problems.values() for item in found)
    return {
        "notes": [{"path": path, "sources": sorted(items, key=lambda i: (i["problem"], i["id"]))}
                  for path, items in sorted(by_note.items())],
        "counts": {word: counts.get(word, 0) for word in ("dead", "failing", "redirected", "changed")},
    }


def _text_hash(snap: sqlite3.Row | tuple[Any, ...]) -> str | None:
    try:
        meta = json.loads(snap[5]) if snap[5] else {}
    except ValueError:
        meta = {}
    return meta.get("text_sha256") or snap[3]
