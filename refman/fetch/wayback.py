"""The Internet Archive's Wayback Machine: the capture closest to the day a note cited a page, and Save Page Now.

**Closest capture.** The availability API (`GET {availability_url}?url=URL&timestamp=YYYYMMDD…`) answers
`{"archived_snapshots": {"closest": {"available": true, "url": "http://web.archive.org/web/20130919044612/
http://example.com/", "timestamp": "20130919044612", "status": "200"}}}`, or `{"archived_snapshots": {}}` when
it holds nothing (https://archive.org/help/wayback_api.php). The timestamp asked for is the day the note cited
the page (`cited_dates`): the label's date (`[Title (6/24/2024)]`), else when a note first cited it, else the
citing note's modification time, else when the source was added. The capture is fetched in raw mode, the
`id_` form of its URL (`/web/20130919044612id_/http://example.com/`): the archived bytes as the site sent
them, without the replay banner or rewritten links, so extraction sees the page as it was.

**Outages.** archive.org rate-limits (429 with `Retry-After`) and has bad days. Its requests go through their own
`Fetcher` with a low concurrency (`concurrency`, default 2) and its own delay, so they never take the live
fetches' slots; `Retry-After` is honoured up to `MAX_RETRY_AFTER`; an answer that is not the documented shape,
a 429 or 5xx after retries, or no answer at all is "wayback unavailable" for that source, and after
`BREAKER` such answers in a row the archive is not asked again during the run (each remaining source records
"wayback unavailable" at once), so one slow archive never stalls a run.

**Save Page Now 2** (https://docs.google.com/document/d/1Nsv52MvSjbLb2PCpHlat0gkzw0EvtSgpKHu4mk0MnrA):
`POST {save_url}` with form field `url` (header `Authorization: LOW access:secret` when the user has keys,
`Accept: application/json`) answers `{"url": …, "job_id": …}`; `GET {save_url}/status/{job_id}` answers
`{"status": "pending"}`, then `{"status": "success", "timestamp": "20180326070330", "original_url": …}` or
`{"status": "error", "status_ext": "error:…", "message": …}`. The new memento is
`{web}/web/{timestamp}/{original_url}`. Saves are throttled to `saves_per_minute` (4 by default, the rate the
service allows anonymous users) and run only when the user asks (`refman wayback save`).

Endpoints and keys are settings: `[wayback]` in the settings file (`availability_url`, `save_url`,
`access_key`, `secret_key`, `saves_per_minute`, `concurrency`, `delay`), `$REFMAN_WAYBACK_URL` (one base URL
for all endpoints: `{base}/wayback/available`, `{base}/save`; tests point it at a local fake),
`$REFMAN_IA_ACCESS_KEY` and `$REFMAN_IA_SECRET_KEY`."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from refman.fetch.memento import MEMENTO, memento_timestamp, plain_memento
from refman.timeutil import utc_text

if TYPE_CHECKING:
    from refman.fetch.client import FetchPolicy, FetchResult
    from refman.store.fetch import FetchStore
    from refman.store.protocol import Store

log = logging.getLogger(__name__)

AVAILABILITY_URL = "https://archive.org/wayback/available"
SAVE_URL = "https://web.archive.org/save"
ENV_URL = "REFMAN_WAYBACK_URL"
ENV_ACCESS = "REFMAN_IA_ACCESS_KEY"
ENV_SECRET = "REFMAN_IA_SECRET_KEY"
MAX_RETRY_AFTER = 120.0  # archive.org asks for a minute or two when it is busy; longer → unavailable
BREAKER = 3  # unavailable answers in a row after which the run stops asking

# A memento URL: {prefix}/web/{1-14 digits}{optional modifier like id_ or im_}/{original URL}


class WaybackError(Exception):
    """The archive answered something that is not the documented shape, or refused."""


@dataclass
class WaybackSettings:
    availability_url: str = AVAILABILITY_URL
    save_url: str = SAVE_URL
    access_key: str | None = None
    secret_key: str | None = None
    saves_per_minute: float = 4.0
    concurrency: int = 2
    delay: float = 1.0  # between requests to one archive host
    poll_seconds: float = 5.0  # between SPN2 status requests of one job
    save_timeout: float = 300.0  # give up on a capture job after this long

    @classmethod
    def load(cls, settings: dict[str, Any] | None = None) -> WaybackSettings:
        """From the settings file's `[wayback]` table, then the environment (which wins)."""
        from refman.config import load_settings, setting

        settings = load_settings() if settings is None else settings
        out = cls()
        for name, kind in (("availability_url", str), ("save_url", str), ("access_key", str), ("secret_key", str),
                           ("saves_per_minute", float), ("concurrency", int), ("delay", float),
                           ("poll_seconds", float), ("save_timeout", float)):
            value = setting(settings, "wayback", name)
            if value is not None:
                setattr(out, name, kind(value))
        base = os.environ.get(ENV_URL)
        if base:
            base = base.rstrip("/")
            out.availability_url = f"{base}/wayback/available"
            out.save_url = f"{base}/save"
        out.access_key = os.environ.get(ENV_ACCESS) or out.access_key
        out.secret_key = os.environ.get(ENV_SECRET) or out.secret_key
        from refman.errors import UsageError

        if out.saves_per_minute <= 0 or out.concurrency < 1 or out.delay < 0 or out.poll_seconds <= 0:
            raise UsageError("[wayback] saves_per_minute, concurrency and poll_seconds must be positive, delay ≥ 0")
        return out

    @property
    def web_base(self) -> str:
        """Where mementos live: the save endpoint's origin (`https://web.archive.org`)."""
        return self.save_url.rstrip("/").removesuffix("/save")

    def auth_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.access_key and self.secret_key:
            headers["Authorization"] = f"LOW {self.access_key}:{self.secret_key}"
        return headers

    def policy(self, live: FetchPolicy) -> FetchPolicy:
        """The archive's fetch policy: the live one's manners and caps, lower concurrency, longer patience."""
        from dataclasses import replace

        return replace(live, concurrency=self.concurrency, per_host=self.concurrency, delay=self.delay,
                       max_retry_after=max(live.max_retry_after, MAX_RETRY_AFTER),
                       deadline=max(live.deadline, 90.0), respect_robots=False)


# ---------------------------------------------------------------------------------------------- timestamps


def wayback_timestamp(date: str | None) -> str | None:
    """The Wayback form of an ISO date or time: "2024-06-24" → "20240624", "2024-06" → "202406",
    "2024-06-24T10:00:00Z" → "20240624100000". None for anything else."""
    if not date:
        return None
    m = re.match(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?)?)?", date.strip())
    if not m:
        return None
    return "".join(part for part in m.groups() if part)


def memento_time(ts: str) -> str | None:
    """ISO 8601 UTC of a Wayback timestamp (14 digits; shorter ones are padded as the archive does)."""
    if not ts.isdigit() or not 4 <= len(ts) <= 14:
        return None
    full = ts + "0101000000"[len(ts) - 4:] if len(ts) < 14 else ts
    try:
        when = datetime.strptime(full, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return utc_text(when)


def raw_memento(url: str) -> str:
    """The `id_` (raw) form of a memento URL: the archived bytes without the replay banner or rewriting."""
    m = MEMENTO.match(url)
    if not m:
        raise WaybackError(f"not a memento URL: {url}")
    return f"{m['prefix']}{m['ts']}id_/{m['original']}"


# ---------------------------------------------------------------------------------------------- the cited day


def cited_dates(store: FetchStore, source_ids: Iterable[int]) -> dict[int, str]:
    """{source id: the day its notes cited it, as a Wayback timestamp}: the label's date, else the first time
    a note cited it, else the oldest modification time of a citing note, else when it was added."""
    out: dict[int, str] = {}
    for sid, label_date, first_cited, mtime_ns, created in store.cited_day_evidence(list(source_ids)):
        candidates: list[str | None] = []
        if label_date:
            with contextlib.suppress(ValueError):
                candidates.append(json.loads(label_date))
        candidates.append(first_cited)
        if mtime_ns:
            candidates.append(utc_text(datetime.fromtimestamp(mtime_ns / 1e9, UTC)))
        candidates.append(created)
        for value in candidates:
            ts = wayback_timestamp(value if isinstance(value, str) else None)
            if ts:
                out[sid] = ts
                break
    return out


# ---------------------------------------------------------------------------------------------- availability


@dataclass(frozen=True)
class Capture:
    url: str  # the memento URL as the API gave it
    timestamp: str
    status: str | None


def availability_query(settings: WaybackSettings, url: str, timestamp: str | None) -> str:
    params = {"url": url}
    if timestamp:
        params["timestamp"] = timestamp
    sep = "&" if "?" in settings.availability_url else "?"
    return f"{settings.availability_url}{sep}{urlencode(params)}"


def parse_availability(body: bytes) -> Capture | None:
    """The closest capture in an availability API answer; None when the archive holds none (or only an error
    page); WaybackError for an answer that is not the documented shape."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WaybackError(f"the availability API answered something that is not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("archived_snapshots"), dict):
        raise WaybackError("the availability API answer has no archived_snapshots")
    closest = data["archived_snapshots"].get("closest")
    if closest is None:
        return None
    if not isinstance(closest, dict) or not isinstance(closest.get("url"), str):
        raise WaybackError("the availability API answer has a closest capture without a url")
    if closest.get("available") is False:
        return None
    status = str(closest.get("status")) if closest.get("status") is not None else None
    if status and status[:1] in ("4", "5"):  # the archive holds only the site's error page
        return None
    ts = str(closest.get("timestamp") or memento_timestamp(closest["url"]) or "")
    if not ts.isdigit():
        raise WaybackError("the availability API answer has a capture without a timestamp")
    return Capture(url=closest["url"], timestamp=ts, status=status)


@dataclass
class Lookup:
    """The outcome of asking the archive for one source: a fetched capture, or why there is none."""

    word: str  # ok | not_archived | unavailable
    reason: str | None = None
    capture: Capture | None = None
    result: FetchResult | None = None  # the raw memento's fetch, when word == "ok"

    @property
    def memento_url(self) -> str | None:
        """The replay URL of the capture (what a reader opens), from the URL the capture was finally read at."""
        if self.capture is None:
            return None
        return plain_memento(self.result.final_url if self.result and self.result.final_url else self.capture.url)


@dataclass
class Archive:
    """The archive as one run sees it: its own fetcher, and a breaker that stops asking after repeated
    unavailability."""

    settings: WaybackSettings
    fetcher: Any  # refman.fetch.client.Fetcher with settings.policy(...)
    failures_in_a_row: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def down(self) -> bool:
        return self.failures_in_a_row >= BREAKER

    async def lookup(self, url: str, timestamp: str | None) -> Lookup:
        if self.down:
            return Lookup("unavailable", "wayback unavailable: the archive did not answer the previous "
                                         f"{BREAKER} requests of this run")
        found = await self._lookup(url, timestamp)
        if found.word == "unavailable":
            self.failures_in_a_row += 1
        else:
            self.failures_in_a_row = 0
        return found

    async def _lookup(self, url: str, timestamp: str | None) -> Lookup:
        res = await self.fetcher.fetch(availability_query(self.settings, url, timestamp),
                                       headers={"Accept": "application/json"})
        if not res.ok:
            return Lookup("unavailable", f"wayback unavailable: {res.reason or res.outcome}")
        try:
            capture = parse_availability(res.body or b"")
        except WaybackError as exc:
            return Lookup("unavailable", f"wayback unavailable: {exc}")
        if capture is None:
            return Lookup("not_archived", "the Internet Archive holds no capture of this page")
        try:
            raw = raw_memento(capture.url)
        except WaybackError as exc:
            return Lookup("unavailable", f"wayback unavailable: {exc}")
        memento = await self.fetcher.fetch(raw)
        if memento.outcome == "dead":
            return Lookup("not_archived", f"the capture of {capture.timestamp} is not served ({memento.reason})",
                          capture)
        if not memento.ok:
            return Lookup("unavailable", f"wayback unavailable: capture {capture.timestamp}: "
                                         f"{memento.reason or memento.outcome}", capture)
        # The archive redirects a capture to the nearest one it holds: the final URL names the real one.
        ts = memento_timestamp(memento.final_url or "") or capture.timestamp
        return Lookup("ok", None, Capture(capture.url, ts, capture.status), memento)


# ---------------------------------------------------------------------------------------------- Save Page Now


@dataclass
class SaveResult:
    source_id: int
    url: str
    status: str  # saved | error
    reason: str | None = None
    memento_url: str | None = None
    memento_at: str | None = None
    job_id: str | None = None


def save_pages(
    targets: list[tuple[int, str]],
    settings: WaybackSettings,
    *,
    user_agent: str | None = None,
    on_result: Callable[[SaveResult], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SaveResult]:
    """Ask Save Page Now to capture each (source id, URL), at most `saves_per_minute` requests a minute, and poll
    the jobs until each succeeds, fails or times out. A 429 waits for its `Retry-After` and tries again (three
    times); other refusals are that page's error. Results come back in the order the jobs finish."""
    import httpx

    from refman.fetch.client import DEFAULT_USER_AGENT

    interval = 60.0 / settings.saves_per_minute
    queue = list(targets)
    tries: dict[int, int] = {}
    pending: dict[str, tuple[int, str, float, float]] = {}  # job → (sid, url, started, next poll)
    results: list[SaveResult] = []
    next_post = time.monotonic()

    def done(result: SaveResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    headers = settings.auth_headers() | {"User-Agent": user_agent or DEFAULT_USER_AGENT}
    with httpx.Client(timeout=httpx.Timeout(30.0), headers=headers, follow_redirects=True) as client:
        while queue or pending:
            now = time.monotonic()
            if queue and now >= next_post:
                sid, url = queue.pop(0)
                next_post = now + interval
                try:
                    resp = client.post(settings.save_url, data={"url": url})
                except httpx.HTTPError as exc:
                    done(SaveResult(sid, url, "error", f"Save Page Now unreachable: {type(exc).__name__}: {exc}"))
                    continue
                if resp.status_code == 429 and tries.get(sid, 0) < 3:
                    tries[sid] = tries.get(sid, 0) + 1
                    from refman.fetch.client import _parse_retry_after

                    wait = _parse_retry_after(resp.headers.get("retry-after", "")) or interval
                    next_post = time.monotonic() + max(wait, interval)
                    queue.insert(0, (sid, url))
                    continue
                job, error = _job_id(resp)
                if job is None:
                    done(SaveResult(sid, url, "error", error))
                else:
                    pending[job] = (sid, url, now, now + settings.poll_seconds)
                continue
            for job, (sid, url, started, due) in list(pending.items()):
                if now < due:
                    continue
                result = _poll(client, settings, job, sid, url)
                if result is None and now - started > settings.save_timeout:
                    result = SaveResult(sid, url, "error", f"capture job {job} still pending after "
                                                           f"{settings.save_timeout:g} s", job_id=job)
                if result is None:
                    pending[job] = (sid, url, started, now + settings.poll_seconds)
                else:
                    del pending[job]
                    done(result)
            wakes = [due for (_s, _u, _t, due) in pending.values()]
            if queue:
                wakes.append(next_post)
            if wakes:
                sleep(max(0.0, min(wakes) - time.monotonic()))
    return results


def _job_id(resp: Any) -> tuple[str | None, str | None]:
    try:
        data = resp.json()
    except ValueError:
        data = None
    if resp.status_code >= 400 or not isinstance(data, dict):
        detail = data.get("message") if isinstance(data, dict) else None
        return None, f"Save Page Now refused: HTTP {resp.status_code}" + (f": {detail}" if detail else "")
    if data.get("job_id"):
        return str(data["job_id"]), None
    return None, f"Save Page Now refused: {data.get('message') or data.get('status_ext') or 'no job id'}"


def _poll(client: Any, settings: WaybackSettings, job: str, sid: int, url: str) -> SaveResult | None:
    import httpx

    try:
        resp = client.get(f"{settings.save_url.rstrip('/')}/status/{job}")
        data = resp.json()
    except (httpx.HTTPError, ValueError):
        return None  # a missed poll is retried; the job's timeout bounds it
    if not isinstance(data, dict):
        return None
    status = data.get("status")
    if status == "success" and str(data.get("timestamp", "")).isdigit():
        original = data.get("original_url") or url
        memento = f"{settings.web_base}/web/{data['timestamp']}/{original}"
        return SaveResult(sid, url, "saved", None, memento, memento_time(str(data["timestamp"])), job)
    if status == "error":
        why = data.get("message") or data.get("status_ext") or "unknown error"
        return SaveResult(sid, url, "error", f"Save Page Now failed: {why}", job_id=job)
    return None  # pending (or a shape we do not know yet: keep polling until the timeout)


def record_save(store: FetchStore, result: SaveResult, fetched_at: str) -> int:
    """One `wayback` snapshot for a Save Page Now request: `saved` with the new memento, or `error` with why.
    Bodiless: the capture is the archive's; the source's status and text are left alone."""
    return store.add_snapshot({
        "source_id": result.source_id, "fetched_at": fetched_at, "outcome": result.status,
        "reason": result.reason, "origin": "wayback", "memento_url": result.memento_url,
        "memento_at": result.memento_at, "final_url": result.url,
        "metadata_json": json.dumps({"spn2_job": result.job_id}) if result.job_id else None,
    })


def archived_copy(store: FetchStore, source_id: int) -> dict[str, str | None] | None:
    """The source's newest Internet Archive copy (`{"url", "at"}`: the replay URL and the capture time), from a
    fallback fetch or a Save Page Now request; None when it has none."""
    found = store.newest_archive_copy(source_id)
    if found is None:
        return None
    return {"url": plain_memento(found[0]), "at": found[1]}


def save_sources(
    store: Store,
    refs: Iterable[str] = (),
    *,
    all_ok: bool = False,
    settings: WaybackSettings | None = None,
    on_result: Callable[[SaveResult], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SaveResult]:
    """`refman wayback save`: ask Save Page Now to capture the named sources (ids, keys, URLs) or, with
    `all_ok`, every source whose last fetch succeeded; each result is recorded as soon as it is known (one
    short transaction each), so an interruption keeps what was already saved."""
    from refman.errors import UsageError
    from refman.references import resolve_sources
    from refman.timeutil import utc_now

    if all_ok:
        ids = store.sources_last_fetched_ok()
        ids += [i for i in resolve_sources(store, refs) if i not in set(ids)] if refs else []
    elif refs:
        ids = list(dict.fromkeys(resolve_sources(store, refs)))
    else:
        raise UsageError("name the sources to save (ids, citation keys or URLs), or use --all-ok")
    urls = store.fetch_urls(ids)
    targets = [(sid, urls[sid]) for sid in ids if sid in urls]

    def record(result: SaveResult) -> None:
        with store.transaction():
            record_save(store, result, utc_now())
        if on_result is not None:
            on_result(result)

    return save_pages(targets, settings or WaybackSettings.load(), on_result=record, sleep=sleep)
