"""What a fetch run does when the plain fetch of a page is not enough: site adapters, rendering, the archive.

The pipeline hands every finished live attempt to `Fallbacks.wanted`; when it says yes, `Fallbacks.run` runs as
its own task (the live fetches go on) and writes one more snapshot per way it tried, in this order, stopping at
the first that yields text:

1. **adapter** (on by default): the page's site has an adapter (`refman.fetch.adapters`) and the page answered;
   the site's JSON endpoint gives the article. A changed API is an `adapter_failed` snapshot; the live
   result is kept.
2. **render** (`--render` or `[fetch] render = true`): the page is thin because built by JavaScript; it is
   rendered in Chromium (`refman.fetch.render`) and the rendered DOM is extracted.
3. **wayback** (`--wayback` or `[fetch] wayback = true`): the page is dead (404/410, host gone, refused, …) or
   still thin; the Internet Archive's capture closest to the cited day is extracted (`refman.fetch.wayback`).

Adapter and render copies are the page as it is now: they set the source's status (`ok`) like a live fetch.
A wayback copy is the page as it was: it gives the source its text and metadata but leaves its status (a dead
link stays `dead` for `refman check`), and its capture time is never taken as the publication date."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from refman.fetch.client import Fetcher, FetchPolicy, FetchResult
    from refman.fetch.records import Job, Processed, Record
    from refman.fetch.wayback import Archive, WaybackSettings
    from refman.store.fetch import FetchStore

log = logging.getLogger(__name__)

# Live outcomes after which the archive is asked: the page is gone or its server does not answer. Not robots
# (the site asked us not to), too_large, unsupported or empty (the page is there; it is just not text).
WAYBACK_AFTER = frozenset({
    "dead", "http_error", "timeout", "redirect_loop", "too_many_redirects", "dns", "refused", "reset", "tls",
    "truncated", "thin",
})

ExtractFn = Callable[[bytes, str, str, "str | None", "str | None"], Awaitable["Processed"]]


@dataclass
class FallbackOptions:
    """Which fallbacks a run may use. `from_settings` applies the settings file, then the command line."""

    wayback: bool = False
    render: bool = False
    adapters: bool = True
    wayback_settings: WaybackSettings | None = None
    chromium: str | None = None
    render_concurrency: int = 1
    render_args: list[str] = field(default_factory=list)  # extra Chromium flags (a proxy, host rules)
    settings: dict[str, Any] | None = None  # the settings file (None: read it when needed)

    @classmethod
    def from_settings(cls, *, wayback: bool | None = None, render: bool | None = None,
                      adapters: bool | None = None, settings: dict[str, Any] | None = None) -> FallbackOptions:
        from refman.config import load_settings, setting

        settings = load_settings() if settings is None else settings
        out = cls(
            wayback=bool(setting(settings, "fetch", "wayback", False)) if wayback is None else wayback,
            render=bool(setting(settings, "fetch", "render", False)) if render is None else render,
            adapters=bool(setting(settings, "fetch", "adapters", True)) if adapters is None else adapters,
            chromium=setting(settings, "render", "chromium"), settings=settings,
            render_concurrency=max(1, int(setting(settings, "render", "concurrency", 1))),
            render_args=[str(a) for a in setting(settings, "render", "args", [])],
        )
        if out.wayback:
            from refman.fetch.wayback import WaybackSettings

            out.wayback_settings = WaybackSettings.load(settings)
        return out

    @property
    def any(self) -> bool:
        return self.wayback or self.render or self.adapters


@dataclass
class Fallbacks:
    """The fallbacks of one run: the archive's fetcher, the browser (started on first use), the counts."""

    options: FallbackOptions
    policy: FetchPolicy
    cited: dict[int, str] = field(default_factory=dict)  # source id → Wayback timestamp of the cited day
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    archive: Archive | None = None
    renderer: Any = None
    adapters: list[Any] = field(default_factory=list)
    _stack: contextlib.AsyncExitStack | None = None

    @classmethod
    def for_run(cls, store: FetchStore, options: FallbackOptions, policy: FetchPolicy,
                source_ids: list[int]) -> Fallbacks:
        cited: dict[int, str] = {}
        if options.wayback:
            from refman.fetch.wayback import cited_dates

            cited = cited_dates(store, source_ids)
        adapters: list[Any] = []
        if options.adapters:
            from refman.fetch.adapters import registry

            adapters = registry(options.settings)
        return cls(options, policy, cited, adapters=adapters)

    async def __aenter__(self) -> Fallbacks:
        self._stack = contextlib.AsyncExitStack()
        if self.options.wayback:
            from refman.fetch.client import Fetcher
            from refman.fetch.wayback import Archive, WaybackSettings

            settings = self.options.wayback_settings or WaybackSettings.load()
            fetcher = await self._stack.enter_async_context(Fetcher(settings.policy(self.policy)))
            self.archive = Archive(settings, fetcher)
        if self.options.render:
            from refman.fetch.render import Renderer

            self.renderer = Renderer(self.policy, self.options.chromium, self.options.render_concurrency,
                                     self.options.render_args)
            self._stack.push_async_callback(self.renderer.close)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    def count(self, way: str, word: str) -> None:
        bucket = self.counts.setdefault(way, {})
        bucket[word] = bucket.get(word, 0) + 1

    def wanted(self, job: Job, record: Record) -> bool:
        if self.options.wayback and record.status in WAYBACK_AFTER:
            return True
        return self._adapter(job, record) is not None or self._renders(record)

    def _renders(self, record: Record) -> bool:
        """Render a thin page built by JavaScript, or one whose kind is not known (an unchanged shell)."""
        if not self.options.render or record.status != "thin":
            return False
        kind = json.loads(record.snapshot.get("metadata_json") or "{}").get("thin_kind")
        return kind in ("script", None)

    def _adapter(self, job: Job, record: Record) -> tuple[Any, str] | None:
        """The adapter for this page and its article id, when the plain fetch calls for it."""
        if not self.adapters or record.status not in ("ok", "thin", "http_error"):
            return None
        from refman.fetch.adapters import adapter_for

        found = adapter_for(job.url, self.adapters)
        if found is None:
            return None
        # a shell-only site always; another only when its page came back thin or refused (a bot wall's 403)
        return found if found[0].always or record.status != "ok" else None

    async def run(self, job: Job, record: Record, fetcher: Fetcher, extract: ExtractFn,
                  put: Callable[[Record], None]) -> None:
        """Try the ways in order; each attempt is written with `put`. Never raises for a page's problems."""
        status = record.status
        found = self._adapter(job, record)
        if found is not None:
            rec = await self.from_adapter(job, record, found, fetcher, extract)
            put(rec)
            if rec.content_changed:
                return
        if self._renders(record):
            rec = await self.from_render(job, record, fetcher, extract)
            put(rec)
            if rec.status == "ok":
                return
        if self.options.wayback and status in WAYBACK_AFTER:
            rec = await self.from_wayback(job, record, extract)
            put(rec)

    # ------------------------------------------------------------------ rendering

    async def from_render(self, job: Job, live: Record, fetcher: Fetcher, extract: ExtractFn) -> Record:
        from refman.fetch.archive import content_hash
        from refman.fetch.client import FetchResult
        from refman.fetch.records import GOOD, content_record
        from refman.fetch.render import RenderUnavailable

        try:
            got = await self.renderer.render(job.url, fetcher)
        except RenderUnavailable as exc:
            self.count("render", "unavailable")
            return _note_record(job, "render", "render_unavailable", str(exc))
        if got.outcome != "ok" or got.html is None:
            self.count("render", "failed")
            return _note_record(job, "render", got.outcome, f"rendering failed: {got.reason}")
        digest = content_hash(got.html)
        proc = await extract(got.html, digest, got.final_url or job.url, "text/html", "utf-8")
        res = FetchResult(url=job.url, final_url=got.final_url, http_status=got.http_status,
                          content_type="text/html", header_charset="utf-8", body=got.html,
                          elapsed_ms=got.elapsed_ms, outcome="ok")
        rec = content_record(job, res, digest, proc)
        rec.snapshot.update(origin="render")
        # the raw response stays archived as the live snapshot; the rendered DOM points back at it
        _annotate(rec, {"raw_body_hash": live.snapshot.get("body_hash") or job.prev_hash,
                        "render_ms": got.elapsed_ms})
        self.count("render", proc.outcome if proc.outcome in GOOD else "no_text")
        if proc.outcome != "ok":  # still no text: stays thin, and says so
            rec.status = "thin" if proc.outcome == "thin" else live.status
            rec.reason = rec.snapshot["reason"] = f"rendered in a browser, still {proc.reason or proc.outcome}"
            _keep_text(rec)
        return rec

    # ------------------------------------------------------------------ adapters

    async def from_adapter(self, job: Job, live: Record, found: tuple[Any, str], fetcher: Fetcher,
                           extract: ExtractFn) -> Record:
        from refman.fetch.adapters import AdapterFailed, ApiCall
        from refman.fetch.archive import content_hash
        from refman.fetch.client import FetchResult
        from refman.fetch.records import GOOD, content_record

        adapter, article_id = found

        async def get(call: ApiCall) -> FetchResult:
            return await fetcher.fetch(call.url, method=call.method, content=call.body, headers=call.headers)

        try:
            art = await adapter.fetch(article_id, job.url, get)
        except AdapterFailed as exc:
            self.count("adapter", "failed")
            return _note_record(job, "adapter", "adapter_failed", f"adapter {adapter.name} failed: {exc}")
        except Exception as exc:  # a bug in one adapter must not end the run: it fails like a changed API
            log.warning("adapter %s failed on %s", adapter.name, job.url, exc_info=True)
            self.count("adapter", "failed")
            return _note_record(job, "adapter", "adapter_failed",
                                f"adapter {adapter.name} failed: {type(exc).__name__}: {exc}")
        body = article_document(art).encode("utf-8")
        digest = content_hash(body)
        proc = await extract(body, digest, job.url, "text/html", "utf-8")
        proc.fields = article_fields(art, f"adapter:{adapter.name}")
        res = FetchResult(url=art.api_url or job.url, final_url=art.api_url or job.url, http_status=200,
                          content_type="text/html", header_charset="utf-8", body=body, outcome="ok")
        rec = content_record(job, res, digest, proc)
        rec.snapshot.update(origin="adapter")
        _annotate(rec, {"adapter": adapter.name, "article_id": article_id})
        self.count("adapter", proc.outcome if proc.outcome in GOOD else "no_text")
        if proc.outcome != "ok":  # the API gave no more than the page: keep the page's result and status
            rec.keep_status = True
            _keep_text(rec)
        return rec

    # ------------------------------------------------------------------ wayback

    async def from_wayback(self, job: Job, live: Record, extract: ExtractFn) -> Record:
        from refman.fetch.archive import content_hash
        from refman.fetch.records import GOOD, content_record
        from refman.fetch.wayback import memento_time

        assert self.archive is not None
        found = await self.archive.lookup(job.url, self.cited.get(job.source_id))
        if found.word != "ok" or found.result is None:
            self.count("wayback", found.word)
            return _note_record(job, "wayback", found.word, found.reason, memento_url=found.memento_url,
                                memento_at=memento_time(found.capture.timestamp) if found.capture else None)
        res = found.result
        body = res.body or b""
        digest = content_hash(body)
        # Extract as the page it was: the original URL (not the archive's), the original media type.
        proc = await extract(body, digest, job.url, res.content_type, res.header_charset)
        rec = content_record(job, res, digest, proc)
        assert found.capture is not None
        rec.snapshot.update(origin="wayback", memento_url=found.memento_url,
                            memento_at=memento_time(found.capture.timestamp))
        _annotate(rec, {"memento": {"url": found.memento_url, "timestamp": found.capture.timestamp,
                                    "cited": self.cited.get(job.source_id)}})
        rec.keep_status = True
        self.count("wayback", proc.outcome if proc.outcome in GOOD else "no_text")
        # A thin capture never replaces the text of a page that has some; it is better than nothing for a dead one.
        if proc.outcome == "thin" and live.status in GOOD:
            _keep_text(rec)
        return rec


def article_document(art: Any) -> str:
    """An adapter's article as the HTML page it stands for (what is archived and extracted)."""
    import html

    lang = f" lang=\"{html.escape(art.language)}\"" if art.language else ""
    return (f"<!DOCTYPE html><html{lang}><head><meta charset=\"utf-8\"><title>{html.escape(art.title)}</title>"
            f"</head><body><article><h1>{html.escape(art.title)}</h1>\n{art.html}\n</article></body></html>")


def article_fields(art: Any, origin: str) -> dict[str, tuple[Any, str]]:
    """An adapter's article as citation evidence of `origin`."""
    from refman.metadata.authors import to_csl_name

    values: dict[str, Any] = {
        "title": art.title, "author": [to_csl_name(a) for a in art.authors] or None, "issued": art.issued,
        "container_title": art.container_title, "language": art.language, "abstract": art.abstract,
        "type": art.type,
    }
    return {name: (value, origin) for name, value in values.items() if value}


def _annotate(rec: Record, extra: dict[str, Any]) -> None:
    meta = json.loads(rec.snapshot.get("metadata_json") or "{}")
    meta.update(extra)
    rec.snapshot["metadata_json"] = json.dumps(meta, ensure_ascii=False, default=str)


def _keep_text(rec: Record) -> None:
    rec.content_changed = False
    rec.text = None
    rec.markdown_hash = None
    rec.fields = {}


def _note_record(job: Job, origin: str, word: str, reason: str | None, *, keep_status: bool = True,
                 memento_url: str | None = None, memento_at: str | None = None,
                 res: FetchResult | None = None) -> Record:
    """A bodiless snapshot saying why a way gave nothing (not archived, archive unavailable, adapter failed)."""
    from refman.fetch.records import Record, base_snapshot
    from refman.timeutil import utc_now

    snap = (base_snapshot(res) if res is not None else {}) | {
        "outcome": word, "reason": reason, "origin": origin, "memento_url": memento_url, "memento_at": memento_at,
        "size": None,
    }
    return Record(job=job, fetched_at=utc_now(), status=word, reason=reason, failed=False, reachable=False,
                  snapshot=snap, keep_status=keep_status)


# ---------------------------------------------------------------------------------------------- what show says

_COPY_NAMES = {
    "live": "the live page",
    "wayback": "the Internet Archive's capture",
    "render": "the page rendered in a browser",
    "adapter": "the site's article API",
    "capture": "a copy saved in your browser",
}


def copy_facts(store: FetchStore, source_id: int) -> dict[str, Any]:
    """What `show` says about a source's copies: `archive` (its newest Internet Archive copy, {url, at}, or
    None), `text_from` (where its archived text came from: {origin, memento_url, memento_at, fetched_at}, or
    None) and `thin` (for a thin source, why: {kind, why, advice}, see refman.fetch.thin; else None)."""
    from refman.fetch.memento import plain_memento
    from refman.fetch.thin import thin_facts
    from refman.fetch.wayback import archived_copy

    origin = store.text_origin(source_id)
    text_from = None
    if origin is not None:
        text_from = {"origin": origin.origin,
                     "memento_url": plain_memento(origin.memento_url) if origin.memento_url else None,
                     "memento_at": origin.memento_at, "fetched_at": origin.fetched_at}
    thin = None
    judged = store.thin_judgement(source_id)
    if judged is not None:
        try:
            thin = thin_facts(json.loads(judged))
        except ValueError:
            thin = None
    return {"archive": archived_copy(store, source_id), "text_from": text_from, "thin": thin}


def copy_lines(item: dict[str, Any]) -> list[str]:
    """Plain lines for `show`: where the text comes from when it is not the live page, the archived copy."""
    lines = []
    text_from = item.get("text_from")
    if text_from and text_from["origin"] != "live":
        name = _COPY_NAMES.get(text_from["origin"], text_from["origin"])
        when = (text_from["memento_at"] or text_from["fetched_at"] or "")[:10]
        lines.append(f"  text from: {name} of {when}")
    thin = item.get("thin")
    if thin:
        lines.append(f"   why thin: {thin['why']}")
        lines.append(f"    way out: {thin['advice']}")
    archive = item.get("archive")
    if archive:
        lines.append(f"   archived: the Internet Archive's copy of {(archive['at'] or '')[:10]}: {archive['url']}")
    return lines
