"""What one fetch attempt is and writes: the outcome words, the job, the worker's extraction, the record.

A `Record` is built on the event loop from what the network and the extraction worker returned (the builders
below) and written by the run's writer thread (refman.fetch.writer.apply_record)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from refman.timeutil import utc_now
from refman.vocabulary import GOOD_OUTCOMES

if TYPE_CHECKING:
    from refman.fetch.client import FetchResult
    from refman.store.fetch import PackedBlob

# Fetch outcomes that mean the page could not be retrieved: they count towards "dead after two checks".
# robots (we did not ask), too_large (the server answered) and the content outcomes do not.
FAILURES = frozenset({
    "dead", "http_error", "timeout", "redirect_loop", "too_many_redirects", "dns", "refused", "reset", "tls",
    "truncated", "error",
})
GOOD = GOOD_OUTCOMES  # outcomes whose body is the source's archived content (refman.vocabulary)
# Failures that say the page is gone (404/410 are `dead`; `dns` is a host that no longer resolves while other
# hosts do, since a run where every host fails records nothing). Only these, repeated at least
# refman.fetch.check.DEAD_AFTER_DAYS apart, make `refman check` call a source dead; 429, 5xx, timeouts and
# refused connections are "failing".
DEFINITIVE = frozenset({"dead", "dns"})


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


def base_snapshot(res: FetchResult) -> dict[str, Any]:
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
    snap = base_snapshot(res) | {"outcome": word}
    if word == "not_modified":  # a 304 we did not ask for: there is no content to point at
        word = snap["outcome"] = snap["error_class"] = "http_error"
        snap["reason"] = "HTTP 304 Not Modified to an unconditional request"
    return Record(job=job, fetched_at=utc_now(), status=word, reason=snap["reason"], failed=word in FAILURES,
                  reachable=word == "too_large", snapshot=snap)


def unchanged_record(job: Job, res: FetchResult) -> Record:
    """304 Not Modified, or a body with the hash of the previous good snapshot: the check, not a copy."""
    snap = base_snapshot(res) | {
        "outcome": job.prev_outcome or "ok", "body_hash": job.prev_hash, "unchanged": True,
        "reason": None if job.prev_outcome == "ok" else job.prev_reason, "error_class": None,
    }
    if res.http_status == 304:  # the 304 carries no type or size of its own
        snap.update(content_type=None, size=None)
    return Record(job=job, fetched_at=utc_now(), status=job.prev_outcome or "ok", reason=snap["reason"],
                  failed=False, reachable=True, snapshot=snap, unchanged=True)


def content_record(job: Job, res: FetchResult, digest: str, proc: Processed) -> Record:
    """A body that was extracted (whatever the extraction outcome)."""
    snap = base_snapshot(res) | {
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
    return Record(job=job, fetched_at=utc_now(), status=proc.outcome, reason=proc.reason, failed=False,
                  reachable=True, snapshot=snap, blobs=blobs, content_changed=good, text=proc.text if good else None,
                  markdown_hash=proc.markdown.hash if proc.markdown is not None and good else None,
                  fields=proc.fields if good else {})
