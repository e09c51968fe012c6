"""The catalog side of a fetch run: one writer thread, its own store, results committed in batches.

Results are committed every `BATCH_SIZE` records or `BATCH_SECONDS`, one short write transaction each, so a
reader in another process (WAL) never waits and another writer waits at most one batch. A source's status,
snapshot, blobs, text and evidence change in the same transaction (`apply_record`)."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from refman.errors import NotFoundError
from refman.fetch.records import DEFINITIVE, Record

if TYPE_CHECKING:
    from refman.store.protocol import Store

log = logging.getLogger(__name__)

BATCH_SIZE = 50
BATCH_SECONDS = 1.0
# Page evidence is replaced on every changed fetch; these origins are not the page's and are kept: the user's
# values, a bibliography the user imported, the notes' labels and link texts.
KEPT_ORIGINS = ("user", "import", "label", "link-text")


class Writer(threading.Thread):
    """The only writer of a run: batches of records, one transaction each, on its own store (connection)."""

    def __init__(self, location: Path | str, user: str | None = None) -> None:
        super().__init__(name="refman-writer", daemon=True)
        self.location = location  # a SQLite file or a PostgreSQL URL
        self.user = user  # who the records are written as (None: refman.config.user_name)
        self.queue: queue.Queue[Record | None] = queue.Queue()
        self.error: BaseException | None = None
        self.committed = 0
        self.failed_records = 0
        self.new_blob_bytes = 0  # stored bytes written by this run

    def put(self, record: Record) -> None:
        self.queue.put(record)

    def close(self) -> None:
        """Commit what is queued and stop (blocks until done)."""
        self.queue.put(None)
        self.join()

    def run(self) -> None:
        from refman.fetch.claims import HEARTBEAT_SECONDS, heartbeat
        from refman.store import open_store

        try:
            store = open_store(self.location, user=self.user)
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
                    heartbeat(store)
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
                self._commit(store, batch)
        except BaseException as exc:  # disk full, catalog damaged: stop the run, keep what is committed
            log.error("catalog writer failed: %s", exc)
            self.error = exc
            if not done:  # the closing None is still to come: take records until then so close() returns
                self._drain()
        finally:
            store.close()

    def _drain(self) -> None:
        while self.queue.get() is not None:
            pass

    def _commit(self, store: Store, batch: list[Record]) -> None:
        from refman.fetch.claims import heartbeat
        from refman.search import bulk_upkeep

        # The search index triggers space CJK text in SQL: 0.7 s for a 20,000-character Chinese page, and
        # twice per source (text, then merged title). bulk_upkeep suspends them for this transaction and
        # re-indexes the batch's sources once, in Python (13 ms for that page).
        with store.transaction(), bulk_upkeep(store) as touched:
            for record in batch:
                try:
                    apply_record(store, record, self)
                except NotFoundError as exc:  # e.g. the source was deleted meanwhile
                    log.warning("source %d not recorded: %s", record.job.source_id, exc)
                    self.failed_records += 1
                touched.add(record.job.source_id)
            heartbeat(store)
        self.committed += len(batch)


def apply_record(store: Store, rec: Record, writer: Writer | None = None) -> int:
    """Write one attempt (in one savepoint, or one transaction of its own): blobs, snapshot, archived text, page
    evidence, merged fields, source status; returns the snapshot id. Raises NotFoundError if the source is gone.

    A copy that is not the live URL's answer (`rec.keep_status`: an archive capture, an adapter's article, a page
    saved in the user's browser) leaves the source's status, fail count and fetch date alone, since they describe
    the live URL, except that a never-fetched source becomes `ok`."""
    from refman.evidence import refresh_source
    from refman.store.fetch import FetchAttempt

    sid = rec.job.source_id
    attempt = FetchAttempt(
        source_id=sid, fetched_at=rec.fetched_at, status=rec.status, reason=rec.reason, failed=rec.failed,
        reachable=rec.reachable, definitive=rec.status in DEFINITIVE, snapshot=rec.snapshot, blobs=rec.blobs,
        content_changed=rec.content_changed, unchanged=rec.unchanged, text=rec.text,
        markdown_hash=rec.markdown_hash,
        evidence=[(name, origin, json.dumps(value, ensure_ascii=False))
                  for name, (value, origin) in rec.fields.items()] if rec.content_changed else (),
        kept_origins=KEPT_ORIGINS, keep_status=rec.keep_status,
    )
    with store.transaction():
        written = store.record_fetch_attempt(attempt)
        if written.evidence_replaced:
            refresh_source(store, sid)
    if writer is not None:
        writer.new_blob_bytes += written.new_blob_bytes
    return written.snapshot_id
