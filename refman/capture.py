"""Pages saved in the user's browser, stored as snapshots of origin `capture`.

Some pages refuse a server's fetch (logins, paywalls, anti-bot walls, pages built by JavaScript); the user's
browser has them. A page saved by the SingleFile extension (one self-contained HTML file, sent to
`POST /api/capture` or given to `refman capture`) or by "Save page as" is archived like a fetched body: the
fetch pipeline's extractor (`process_body`) gives its text and metadata, `content_record` and
`refman.fetch.writer.apply_record`
write the blob, the snapshot, the text and the evidence, so a capture is read, searched and cited like any
other copy. The capture never changes what the catalog knows about the live URL (its status, fail count,
fetch date), except that a never-fetched source becomes `ok`.

The page's URL: given by the caller, else the comment SingleFile writes at the top of the file
(`url: …` and `saved date: …`), else the page's `og:url` or `<link rel=canonical>`."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from refman.errors import UsageError
from refman.timeutil import utc_text

if TYPE_CHECKING:
    from refman.store.protocol import Store

# SingleFile: "<!--\n Page saved with SingleFile \n url: https://… \n saved date: Thu Dec 07 2023 10:20:30
# GMT+0100 (Central European Standard Time)\n-->", near the top of the file.
_SINGLEFILE = re.compile(r"<!--\s*Page saved with SingleFile(?P<body>.*?)-->", re.S | re.I)
_SF_URL = re.compile(r"^\s*url:\s*(\S+)\s*$", re.M)
_SF_DATE = re.compile(r"^\s*saved date:\s*\w{3},?\s+(\w{3})\s+(\d{1,2})\s+(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})"
                      r"(?:\s*GMT([+-]\d{4}))?", re.M)
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                            "nov", "dec"))}
MAX_CAPTURE_BYTES = 50 * 1024 * 1024  # SingleFile inlines images: pages of tens of MB are common


@dataclass
class CaptureResult:
    id: int  # the source
    url: str
    created: bool  # a new source was registered for it
    snapshot_id: int
    outcome: str  # ok, thin (little text), empty, unsupported, error
    reason: str | None
    title: str | None
    saved_at: str | None  # when the browser saved it (UTC, ISO 8601), when the file says

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class PageFacts:
    url: str | None
    saved_at: str | None


def page_facts(html: bytes) -> PageFacts:
    """The original URL and save date a saved page carries (SingleFile comment, else og:url / canonical)."""
    head = html[:200_000].decode("utf-8", "replace")
    url = saved = None
    found = _SINGLEFILE.search(head[:20_000])
    if found:
        body = found.group("body")
        m = _SF_URL.search(body)
        url = m.group(1) if m else None
        saved = _singlefile_date(body)
    if url is None:
        url = _declared_url(html)
    return PageFacts(url=url, saved_at=saved)


def _singlefile_date(comment: str) -> str | None:
    m = _SF_DATE.search(comment)
    if not m or m.group(1).lower()[:3] not in _MONTHS:
        return None
    month = _MONTHS[m.group(1).lower()[:3]]
    try:
        local = datetime(int(m.group(3)), month, int(m.group(2)), int(m.group(4)), int(m.group(5)), int(m.group(6)))
    except ValueError:
        return None
    offset = m.group(7)
    if offset:
        sign = 1 if offset[0] == "+" else -1
        local -= sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
    return utc_text(local.replace(tzinfo=UTC))


def _declared_url(html: bytes) -> str | None:
    import lxml.html

    try:
        doc = lxml.html.fromstring(html[:2_000_000])
    except (ValueError, lxml.etree.ParserError):
        return None
    for xpath in ("//meta[@property='og:url']/@content", "//link[@rel='canonical']/@href"):
        for value in doc.xpath(xpath):
            value = str(value).strip()
            if value.startswith(("http://", "https://")):
                return value
    return None


def capture_page(store: Store, html: bytes, url: str | None = None) -> CaptureResult:
    """Archive a page saved in a browser as a `capture` snapshot of its source (registered if new)."""
    from refman.catalog import add_source
    from refman.fetch.archive import content_hash
    from refman.fetch.client import FetchResult
    from refman.fetch.pipeline import process_body
    from refman.fetch.records import Job, content_record
    from refman.fetch.writer import apply_record
    from refman.timeutil import utc_now
    from refman.urls import normalise_url

    if not html.strip():
        raise UsageError("the saved page is empty")
    if len(html) > MAX_CAPTURE_BYTES:
        raise UsageError(f"the saved page is larger than {MAX_CAPTURE_BYTES // 2**20} MB")
    facts = page_facts(html)
    page_url = (url or "").strip() or facts.url
    if not page_url:
        raise UsageError("the saved page does not say its URL (no SingleFile comment, og:url or canonical link):"
                         " give it with --url")
    ident = normalise_url(page_url)  # raises InvalidURLError for what cannot be a source
    digest = content_hash(html)
    proc = process_body(html, digest, page_url, "text/html", None)
    res = FetchResult(url=page_url, final_url=page_url, content_type="text/html", body=html, outcome="ok")
    with store.transaction():
        source_id, created = add_source(store, page_url)
        job = Job(source_id=source_id, url=ident.url, host=ident.host)
        rec = content_record(job, res, digest, proc)
        rec.fetched_at = utc_now()
        rec.snapshot.update(origin="capture", memento_at=facts.saved_at)
        rec.keep_status = True  # the live URL's status stays what its last fetch said
        snap_id = apply_record(store, rec)
    title = store.title_after_fetch(source_id)
    return CaptureResult(id=source_id, url=ident.url, created=created, snapshot_id=snap_id, outcome=proc.outcome,
                         reason=proc.reason, title=title, saved_at=facts.saved_at)
