"""Polite, bounded HTTP fetching: one `Fetcher` per run, one `FetchResult` per URL.

Everything that can go wrong on the network comes back as data (`FetchResult.outcome`), never as an exception,
so the pipeline can record it. What the fetcher guarantees:

* **Concurrency.** At most `concurrency` HTTP exchanges in flight overall and at most `per_host` per host (the
  host name, lower-cased, without the port: `http://h` and `https://h:8443` share one budget, because they
  are the same machine to be polite to). Request starts to one host are at least `delay` seconds apart; a
  larger integer `Crawl-delay` in robots.txt raises it (capped at `MAX_CRAWL_DELAY`). Every exchange takes
  its own slot: each redirect hop, each retry and each robots.txt request, so a chain that crosses hosts is
  polite to each. A slot is never held while sleeping for back-off or while waiting for another host.
* **Redirects** are followed here (301/302/303/307/308, and a 2xx HTML page whose `<meta http-equiv=refresh>`
  sends the browser on within META_REFRESH_MAX_DELAY seconds: recorded as a hop with `refresh: true`, never
  archived as a thin "Redirecting…" page; at most `max_redirects` hops in all) so the chain is recorded,
  loops are detected (coming back to a URL already visited, except once just after a response that set a
  cookie) and robots.txt
  is checked for every hop. Cookies persist for the Fetcher's lifetime, as in a browser session, so that
  cookie-check bounces (A → B sets a cookie → A) work.
* **Time.** httpx's connect/read timeouts bound each network wait; `deadline` bounds the *total time a fetch
  spends in HTTP exchanges* (all hops and retries together, enforced with `asyncio.timeout`), so a server
  trickling one byte per second cannot hold a slot for long. Waiting for a slot and back-off sleeps are not
  counted (they depend on the rest of the run, not on this server). Worst-case wall time of one fetch is
  thus `deadline` + `retries` × `max_retry_after` + `ROBOTS_DEADLINE` per new origin + queueing.
* **Retries** (at most `retries` more attempts, exponential back-off with full jitter, base `backoff_base`)
  for connection failures (refused, reset, connect timeout, server closing before answering, DNS "try
  again") and for 429, 500, 502, 503, 504 and other 5xx. `Retry-After` (seconds or HTTP date) is honoured;
  when it asks for more than `max_retry_after` we give up at once instead of hammering early. Not retried:
  DNS "no such name", TLS errors, read timeouts and the deadline (a slow server stays slow), failures after
  the body started (the pipeline's `--failed` re-runs them later), and any other status.
* **Size.** The body is read raw and decompressed here (gzip, deflate, br, zstd) with an output limit per
  step, so neither the transferred nor the *decompressed* size can exceed `max_bytes` in memory; the
  connection is dropped as soon as the cap is passed. A `Content-Length` over the cap is refused before
  reading (it is the compressed size, so a smaller one proves nothing and the streaming count decides).
* **robots.txt** is read once per origin (scheme + host + port) with at most `ROBOTS_MAX_BYTES` and
  `ROBOTS_DEADLINE`, and kept `ROBOTS_MAX_AGE` (24 h, the most RFC 9309 §2.4 allows), or
  `ROBOTS_UNAVAILABLE_MAX_AGE` when it could not be read; the pages of one origin fetched at once wait for one
  reading. A 4xx robots.txt means "allow all" (RFC 9309; 429 counts as unavailable); 5xx, a timeout or an
  unreachable server also mean "allow": unlike RFC 9309's "assume disallow", because refman fetches a handful
  of pages a user cited, not a crawl, and the page fetch will report its own failure. With a `robots_cache`
  (refman.fetch.robots: the catalog's, shared by every run and worker on it) a fresh answer found there is used
  instead of asking the server, and each answer read is handed to it. The cache can only save requests: when
  it fails or is slow (`ROBOTS_CACHE_WAIT`), robots.txt is fetched as without it, and storing an answer never
  holds up a fetch.

Outcomes: "ok", "not_modified", "dead" (404/410), "http_error" (other 4xx, 5xx after retries, 3xx without a
usable Location), "timeout", "too_large", "redirect_loop", "too_many_redirects", "robots", "dns", "refused",
"reset" (connection reset or closed before any response), "tls", "truncated" (closed before the declared body
was complete, or a broken compressed stream), "error" (unsupported URL, anything unexpected).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import errno
import html as html_lib
import logging
import random
import re
import socket
import ssl
import time
import urllib.robotparser
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from typing import Any, Protocol

import httpx

from refman import __version__
from refman.vocabulary import FetchOutcome, RobotsOutcome

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"refman/{__version__} (+https://github.com/refman/refman; reference archiver)"
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 asks parsers to read at least 500 KiB; the rest is ignored
ROBOTS_DEADLINE = 10.0
ROBOTS_MAX_REDIRECTS = 5  # RFC 9309: follow at least five
MAX_CRAWL_DELAY = 30.0  # a robots.txt asking for more would stall the run; we go no slower than this
ROBOTS_MAX_AGE = 24 * 3600.0  # seconds a robots.txt read is used for (RFC 9309 §2.4: at most 24 hours)
ROBOTS_UNAVAILABLE_MAX_AGE = 3600.0  # one that could not be read (5xx, timeout, unreachable) is asked again sooner
ROBOTS_CACHE_WAIT = 2.0  # seconds to wait for the robots_cache's answer before fetching robots.txt anyway
ROBOTS_CACHE_DRAIN = 5.0  # seconds a closing Fetcher waits for answers still being handed to the robots_cache
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8,*/*;q=0.5"
# The method, body and extra headers of the current `fetch` (a site adapter POSTs JSON to an API): a context
# variable rather than a parameter threaded through every layer of the fetch loop.
_REQUEST: contextvars.ContextVar[tuple[str, bytes | None, dict[str, str]]] = contextvars.ContextVar(
    "refman_request", default=("GET", None, {}))


@dataclass
class FetchPolicy:
    """Limits and manners for one run. The defaults are for real sites; tests and benchmarks shrink them."""

    concurrency: int = 16  # global in-flight HTTP exchanges
    per_host: int = 2  # in-flight exchanges per host name
    delay: float = 1.0  # min seconds between request starts to one host
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # max wait for any single read
    deadline: float = 60.0  # total time in HTTP exchanges per fetch (all hops and retries)
    max_redirects: int = 10
    max_bytes: int = 20 * 1024 * 1024  # cap on the body, after decompression
    retries: int = 3  # extra attempts for connection errors, 429 and 5xx
    max_retry_after: float = 30.0  # longer Retry-After → give up instead of waiting
    backoff_base: float = 0.5  # back-off before retry n is uniform in [0, base * 2**(n-1)]
    user_agent: str = DEFAULT_USER_AGENT
    respect_robots: bool = True


@dataclass(frozen=True)
class RobotsAnswer:
    """What reading an origin's robots.txt gave: the outcome, when (aware, UTC), the last HTTP status (None when
    no answer came) and, for `parsed`, the text parsed."""

    outcome: RobotsOutcome
    fetched_at: datetime
    http_status: int | None = None
    body: str | None = None

    @property
    def max_age(self) -> float:
        """Seconds this answer may be used for."""
        return ROBOTS_UNAVAILABLE_MAX_AGE if self.outcome == RobotsOutcome.UNAVAILABLE else ROBOTS_MAX_AGE

    def fresh_for(self, now: datetime) -> float:
        """Seconds it may still be used for at `now` (≤ 0: stale). A time ahead of `now` (another machine's
        clock) counts as now."""
        return self.max_age - max(0.0, (now - self.fetched_at).total_seconds())


class RobotsCache(Protocol):
    """Where robots.txt answers outlive one Fetcher (refman.fetch.robots keeps them in the catalog). Either
    method may raise or be slow: the Fetcher then goes on as if there were no cache."""

    async def lookup(self, origin: str) -> RobotsAnswer | None:
        """The latest answer stored for `origin` (however old), or None."""
        ...

    async def remember(self, origin: str, answer: RobotsAnswer) -> None:
        """Store `answer` for `origin`."""
        ...


@dataclass
class _Rules:
    """Internal: an origin's robots.txt as this Fetcher uses it, until `expires` (time.monotonic())."""

    parser: urllib.robotparser.RobotFileParser | None  # None: allow all
    expires: float


@dataclass
class FetchResult:
    """What happened when fetching one URL. `redirects` lists each hop that redirected, in order, as
    {"url": the URL requested, "status": its 3xx status}; `final_url` is the URL last requested."""

    url: str
    final_url: str | None = None
    redirects: list[dict[str, Any]] = field(default_factory=list)
    http_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    header_charset: str | None = None
    body: bytes | None = None
    elapsed_ms: int = 0  # time spent in HTTP exchanges for this fetch (not queueing, not back-off)
    outcome: str = FetchOutcome.ERROR
    error_class: str | None = None
    reason: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    attempts: int = 0  # 1 + retries made (redirect hops are not attempts)

    @property
    def ok(self) -> bool:
        return self.outcome == FetchOutcome.OK


class _Failure(Exception):
    """Internal: a classified failure of one exchange."""

    def __init__(self, outcome: FetchOutcome, error_class: str, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.error_class = error_class
        self.reason = reason
        self.retryable = retryable


@dataclass
class _Response:
    """Internal: the parts of one HTTP response we keep."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes | None


class _Host:
    """Per-host politeness: a semaphore for in-flight exchanges and the earliest next request start."""

    def __init__(self, per_host: int, delay: float) -> None:
        self.sem = asyncio.Semaphore(per_host)
        self.delay = delay
        self.next_turn = 0.0  # reservation made before taking a global slot
        self.last_start = float("-inf")  # actual start of the latest exchange
        self.lock = asyncio.Lock()
        self.in_flight = 0


class Fetcher:
    """Async context manager owning the HTTP client, the schedulers and the robots.txt rules of one run.
    `robots_cache`: where robots.txt answers are shared beyond this Fetcher (None: nowhere)."""

    def __init__(self, policy: FetchPolicy | None = None, *, robots_cache: RobotsCache | None = None) -> None:
        self.policy = policy or FetchPolicy()
        p = self.policy
        if p.concurrency < 1 or p.per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        self._client: httpx.AsyncClient | None = None
        self._global = asyncio.Semaphore(p.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, asyncio.Future[_Rules]] = {}
        self.robots_cache = robots_cache
        self._remembering: set[asyncio.Task[None]] = set()
        self._cache_warned = False
        self._in_flight = 0
        self.stats: dict[str, Any] = {
            "requests": 0,  # HTTP exchanges started, robots.txt included
            "robots_requests": 0,  # robots.txt readings from the servers (each may take several exchanges)
            "robots_shared": 0,  # robots.txt answers taken from the robots_cache instead
            "retries": 0,
            "bytes": 0,  # decoded body bytes read
            "max_in_flight": 0,
            "max_in_flight_per_host": {},  # host → highest number in flight at once
        }

    async def __aenter__(self) -> Fetcher:
        p = self.policy
        self._client = httpx.AsyncClient(
            http2=True,
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=p.connect_timeout, read=p.read_timeout, write=p.read_timeout, pool=p.connect_timeout
            ),
            # Our semaphores do the limiting; the pool just has to never be the bottleneck (and keep a
            # connection per busy host alive between requests).
            limits=httpx.Limits(max_connections=max(64, p.concurrency * 4), max_keepalive_connections=64),
            headers={
                "User-Agent": p.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": _ACCEPT_ENCODING,
            },
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        for fut in self._robots.values():
            fut.cancel()
        if self._remembering:  # answers being stored: let them finish, briefly
            _done, late = await asyncio.wait(set(self._remembering), timeout=ROBOTS_CACHE_DRAIN)
            for task in late:
                task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ------------------------------------------------------------------ public

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    method: str = "GET", content: bytes | None = None,
                    headers: dict[str, str] | None = None) -> FetchResult:
        """Fetch `url` following redirects; never raises for network or HTTP problems. `method`, `content` and
        `headers` serve API calls (every hop of a redirect repeats them)."""
        if self._client is None:
            raise RuntimeError("use `async with Fetcher(...)` before fetch()")
        result = FetchResult(url=url)
        token = _REQUEST.set((method, content, headers or {}))
        try:
            await self._fetch(result, etag, last_modified)
        except _Failure as f:
            _fail(result, f)
        except Exception as e:  # a bug or an exotic failure must not end the run
            log.debug("unexpected error fetching %s", url, exc_info=True)
            _fail(result, _Failure(FetchOutcome.ERROR, type(e).__name__, _one_line(f"{type(e).__name__}: {e}")))
        finally:
            _REQUEST.reset(token)
        return result

    # ------------------------------------------------------------------ the fetch loop

    async def _fetch(self, result: FetchResult, etag: str | None, last_modified: str | None) -> None:
        p = self.policy
        current = _check_url(result.url)
        visits: dict[str, int] = {}
        budget = [p.deadline]  # seconds of exchange time left, shared by hops and retries
        conditional: dict[str, str] = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        while True:
            key = str(current)
            if p.respect_robots and not await self._allowed(current):
                result.final_url = key
                raise _Failure(FetchOutcome.ROBOTS, "RobotsDisallowed", f"disallowed by {_origin(current)}/robots.txt")
            visits[key] = visits.get(key, 0) + 1
            result.final_url = key
            resp = await self._with_retries(current, conditional, result, budget)
            result.http_status = resp.status
            if resp.status in REDIRECT_STATUSES and resp.headers.get("location"):
                result.redirects.append({"url": key, "status": resp.status})
                try:
                    nxt = _check_url(current.join(resp.headers["location"].strip()))
                except _Failure as f:
                    raise _Failure(FetchOutcome.ERROR, "BadRedirect", f"redirect to a bad URL: {f.reason}") from None
                nkey = str(nxt)
                # One revisit is allowed after a response that set a cookie (cookie-check bounces).
                seen = visits.get(nkey, 0)
                if seen >= 2 or (seen == 1 and "set-cookie" not in resp.headers):
                    raise _Failure(FetchOutcome.REDIRECT_LOOP, "RedirectLoop", f"redirect loop back to {nkey}")
                if len(result.redirects) > p.max_redirects:
                    raise _Failure(FetchOutcome.TOO_MANY_REDIRECTS, "TooManyRedirects",
                                   f"more than {p.max_redirects} redirects")
                current = nxt
                continue
            target = _meta_refresh(resp)
            if target is not None:
                refresh: httpx.URL | None
                try:
                    refresh = _check_url(current.join(target))
                except _Failure:
                    refresh = None  # a refresh to a bad URL: the page itself is what there is
                if refresh is not None and str(refresh) != key:
                    # a "Redirecting…" page: a browser goes on at once, so do we, within the same limits
                    result.redirects.append({"url": key, "status": resp.status, "refresh": True})
                    nkey = str(refresh)
                    if visits.get(nkey, 0) >= 1:
                        raise _Failure(FetchOutcome.REDIRECT_LOOP, "RedirectLoop", f"meta refresh loop back to {nkey}")
                    if len(result.redirects) > p.max_redirects:
                        raise _Failure(FetchOutcome.TOO_MANY_REDIRECTS, "TooManyRedirects",
                                       f"more than {p.max_redirects} redirects")
                    current = refresh
                    continue
            _fill_response(result, resp)
            return

    async def _with_retries(
        self, url: httpx.URL, conditional: dict[str, str], result: FetchResult, budget: list[float]
    ) -> _Response:
        p = self.policy
        tries = 0
        while True:
            tries += 1
            if tries > 1 or result.attempts == 0:  # 1 + retries; a redirect hop is not a new attempt
                result.attempts += 1
            failure: _Failure | None = None
            resp: _Response | None = None
            try:
                resp = await self._exchange(url, conditional, budget, result)
            except _Failure as f:
                failure = f
            if resp is not None:
                if not _retryable_status(resp.status):
                    return resp
                failure = _Failure(FetchOutcome.HTTP_ERROR, "HTTPStatusError", _status_reason(resp.status),
                                   retryable=True)
            assert failure is not None
            if not failure.retryable or tries > p.retries:
                if resp is not None:
                    return resp  # the caller turns the status into an outcome
                raise failure
            wait = random.uniform(0.0, p.backoff_base * 2 ** (tries - 1))
            if resp is not None and "retry-after" in resp.headers:
                ra = _parse_retry_after(resp.headers["retry-after"])
                if ra is not None:
                    if ra > p.max_retry_after:
                        return resp
                    wait = max(wait, ra)
            self.stats["retries"] += 1
            log.debug("retry %d for %s in %.2fs (%s)", tries, url, wait, failure.reason)
            await asyncio.sleep(wait)

    async def _exchange(
        self, url: httpx.URL, conditional: dict[str, str], budget: list[float], result: FetchResult
    ) -> _Response:
        """One request/response, holding a slot; body read only for final 2xx responses."""
        if budget[0] <= 0:
            raise _Failure(FetchOutcome.TIMEOUT, "DeadlineExceeded",
                           f"overall deadline of {self.policy.deadline:g}s passed")
        async with self._slot(url.host):
            t0 = time.monotonic()
            try:
                async with asyncio.timeout(budget[0]):
                    return await self._request(url, conditional, self.policy.max_bytes)
            except TimeoutError:
                raise _Failure(
                    FetchOutcome.TIMEOUT, "DeadlineExceeded", f"overall deadline of {self.policy.deadline:g}s passed"
                ) from None
            finally:
                spent = time.monotonic() - t0
                budget[0] -= spent
                result.elapsed_ms += int(spent * 1000)

    async def _request(
        self, url: httpx.URL, headers: dict[str, str], max_bytes: int, *, truncate: bool = False
    ) -> _Response:
        assert self._client is not None
        self.stats["requests"] += 1
        answered = False
        method, content, extra = _REQUEST.get()
        try:
            async with self._client.stream(method, url, headers={**extra, **headers}, content=content) as resp:
                answered = True
                status = resp.status_code
                body: bytes | None = None
                if 200 <= status < 300:
                    body = await self._read_body(resp, max_bytes, truncate=truncate)
                return _Response(str(resp.url), status, resp.headers, body)
        except _Failure:
            raise
        except (httpx.HTTPError, OSError) as e:  # OSError: should be wrapped by httpx, but be safe
            f = _classify(e)
            if answered:  # failed while reading the body: not retried, and a close there is a truncation
                f.retryable = False
                if f.outcome == FetchOutcome.RESET and isinstance(e, httpx.RemoteProtocolError):
                    f.outcome, f.reason = FetchOutcome.TRUNCATED, f"body truncated: {_one_line(str(e))}"
                elif f.outcome == FetchOutcome.TLS:  # the handshake succeeded; an SSL error now is a broken connection
                    f.outcome = FetchOutcome.RESET
            raise f from None

    async def _read_body(self, resp: httpx.Response, max_bytes: int, *, truncate: bool = False) -> bytes:
        """Stream and decode the body; over `max_bytes` → too_large (or, with `truncate`, the first bytes)."""
        cap_mb = _mb(max_bytes)
        declared = resp.headers.get("content-length")
        if not truncate and declared and declared.strip().isdigit() and int(declared) > max_bytes:
            raise _Failure(FetchOutcome.TOO_LARGE, "BodyTooLarge",
                           f"Content-Length {int(declared)} over the {cap_mb} cap")
        decoder = _make_decoder(resp.headers.get("content-encoding", ""))
        buf = BytesIO()  # getvalue() hands its buffer over without a copy
        total = 0

        def add(piece: bytes) -> bool:
            nonlocal total
            if total + len(piece) > max_bytes:
                if truncate:
                    buf.write(piece[: max_bytes - total])
                    total = max_bytes
                    return False
                raise _Failure(FetchOutcome.TOO_LARGE, "BodyTooLarge", f"body over the {cap_mb} cap{decoder.note}")
            total += len(piece)
            buf.write(piece)
            return True

        try:
            more = True
            async for raw in resp.aiter_raw():
                # Each decoded piece is at most cap + 1 bytes, and the generator stops being pulled as soon as
                # the cap is passed, so a compression bomb never inflates beyond that in memory.
                for piece in decoder.feed(raw, max_bytes + 1):
                    if not (more := add(piece)):
                        break
                if not more:
                    break
            if more:
                for piece in decoder.flush(max_bytes + 1):
                    if not add(piece):
                        break
        except _DecodeError as e:
            raise _Failure(FetchOutcome.TRUNCATED, "DecodingError", f"broken {e.encoding} body: {e}") from None
        self.stats["bytes"] += total
        return buf.getvalue()

    # ------------------------------------------------------------------ politeness

    def _host(self, host: str) -> _Host:
        h = self._hosts.get(host)
        if h is None:
            h = self._hosts[host] = _Host(self.policy.per_host, self.policy.delay)
        return h

    def slot(self, host: str) -> contextlib.AbstractAsyncContextManager[None]:
        """The slot of one exchange with `host` (global and per-host limits, the host's delay) for a request made
        by something other than this Fetcher: a browser rendering a page (refman.fetch.render)."""
        return self._slot(host)

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        """Hold a per-host and a global slot for one exchange, honouring the host's delay.

        The per-host semaphore is taken first and the politeness wait is reserved before the global slot, so
        global slots are not spent sleeping for a busy host; the actual start is re-checked afterwards (it can
        only be late if the global queue held the request back)."""
        h = self._host(host)
        async with h.sem:
            if h.delay > 0:
                now = time.monotonic()
                turn = max(now, h.next_turn)
                h.next_turn = turn + h.delay
                if turn > now:
                    await asyncio.sleep(turn - now)
            async with self._global:
                if h.delay > 0:
                    async with h.lock:
                        gap = h.last_start + h.delay - time.monotonic()
                        if gap > 0:
                            await asyncio.sleep(gap)
                        h.last_start = time.monotonic()
                h.in_flight += 1
                self._in_flight += 1
                per_host = self.stats["max_in_flight_per_host"]
                per_host[host] = max(per_host.get(host, 0), h.in_flight)
                self.stats["max_in_flight"] = max(self.stats["max_in_flight"], self._in_flight)
                try:
                    yield
                finally:
                    h.in_flight -= 1
                    self._in_flight -= 1

    async def _allowed(self, url: httpx.URL) -> bool:
        origin = _origin(url)
        fut = self._robots.get(origin)
        if fut is None or (fut.done() and (fut.cancelled() or fut.exception() is not None
                                           or fut.result().expires <= time.monotonic())):
            fut = self._robots[origin] = asyncio.ensure_future(self._rules(url, origin))
        # shield: one caller being cancelled must not cancel the shared robots fetch
        rules = await asyncio.shield(fut)
        if rules.parser is None:
            return True
        return rules.parser.can_fetch(self.policy.user_agent, str(url))

    async def _rules(self, url: httpx.URL, origin: str) -> _Rules:
        """The robots.txt rules of `url`'s origin: a fresh answer of the robots_cache, else the server's (then
        handed to the cache). Never raises."""
        answer = await self._shared_answer(origin)
        if answer is None:
            answer = await self._load_robots(url)
            if self.robots_cache is not None:
                task = asyncio.create_task(self._remember(origin, answer))
                self._remembering.add(task)
                task.add_done_callback(self._remembering.discard)
        else:
            self.stats["robots_shared"] += 1
        left = answer.fresh_for(datetime.now(UTC))
        parser = None
        if answer.outcome == RobotsOutcome.PARSED and answer.body is not None:
            parser = urllib.robotparser.RobotFileParser(f"{origin}/robots.txt")
            parser.parse(answer.body.splitlines())
            parser.modified()  # can_fetch() refuses everything until the parser thinks it has read the file
            delay = parser.crawl_delay(self.policy.user_agent)
            if delay:
                h = self._host(url.host)
                h.delay = max(h.delay, min(float(delay), MAX_CRAWL_DELAY))
        return _Rules(parser, time.monotonic() + max(left, 0.0))

    async def _shared_answer(self, origin: str) -> RobotsAnswer | None:
        """A fresh answer for `origin` from the robots_cache, or None (none, stale, or the cache failed)."""
        if self.robots_cache is None:
            return None
        try:
            async with asyncio.timeout(ROBOTS_CACHE_WAIT):
                answer = await self.robots_cache.lookup(origin)
        except Exception as exc:  # TimeoutError included: the cache is an optimisation, never a failure
            self._cache_failed("read", origin, exc)
            return None
        if answer is None or answer.fresh_for(datetime.now(UTC)) <= 0:
            return None
        return answer

    async def _remember(self, origin: str, answer: RobotsAnswer) -> None:
        assert self.robots_cache is not None
        try:
            await self.robots_cache.remember(origin, answer)
        except Exception as exc:
            self._cache_failed("stored", origin, exc)

    def _cache_failed(self, what: str, origin: str, exc: BaseException) -> None:
        message = _one_line(f"{type(exc).__name__}: {exc}") if str(exc) else type(exc).__name__
        level = logging.DEBUG if self._cache_warned else logging.WARNING
        self._cache_warned = True
        log.log(level, "robots.txt of %s not %s through the shared cache (%s); fetching it as usual", origin,
                what, message)

    async def _load_robots(self, url: httpx.URL) -> RobotsAnswer:
        """Read robots.txt of `url`'s origin from its server."""
        robots_url = url.copy_with(path="/robots.txt", query=None, fragment=None)
        self.stats["robots_requests"] += 1
        budget = [min(ROBOTS_DEADLINE, self.policy.deadline)]

        def answer(outcome: RobotsOutcome, status: int | None = None, body: str | None = None) -> RobotsAnswer:
            return RobotsAnswer(outcome, datetime.now(UTC), status, body)

        try:
            for _ in range(ROBOTS_MAX_REDIRECTS + 1):
                async with self._slot(robots_url.host):
                    t0 = time.monotonic()
                    try:
                        async with asyncio.timeout(budget[0]):
                            resp = await self._request(robots_url, {}, ROBOTS_MAX_BYTES, truncate=True)
                    finally:
                        budget[0] -= time.monotonic() - t0
                if resp.status in REDIRECT_STATUSES and resp.headers.get("location"):
                    try:
                        robots_url = _check_url(robots_url.join(resp.headers["location"].strip()))
                    except _Failure:  # a redirect to a bad URL: no robots.txt to be had there
                        return answer(RobotsOutcome.MISSING, resp.status)
                    continue
                break
            else:
                return answer(RobotsOutcome.MISSING, resp.status)  # too many redirects: as a 4xx (RFC 9309)
        except _Failure as f:
            log.info("robots.txt for %s unavailable (%s); allowing all", _origin(url), f.reason)
            return answer(RobotsOutcome.UNAVAILABLE)
        except TimeoutError:
            log.info("robots.txt for %s timed out; allowing all", _origin(url))
            return answer(RobotsOutcome.UNAVAILABLE)
        except Exception:  # never let robots.txt break the fetch of the page itself
            log.warning("robots.txt for %s could not be read; allowing all", _origin(url), exc_info=True)
            return answer(RobotsOutcome.UNAVAILABLE)
        if 200 <= resp.status < 300 and resp.body is not None:
            # NUL never matters to the rules, and a PostgreSQL text cannot hold it
            return answer(RobotsOutcome.PARSED, resp.status,
                          resp.body.decode("utf-8", errors="replace").replace("\x00", ""))
        if resp.status == 429 or resp.status >= 500:
            return answer(RobotsOutcome.UNAVAILABLE, resp.status)
        return answer(RobotsOutcome.MISSING, resp.status)


# ---------------------------------------------------------------------- helpers


def _check_url(url: str | httpx.URL) -> httpx.URL:
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as e:
        raise _Failure(FetchOutcome.ERROR, "InvalidURL", _one_line(f"invalid URL: {e}")) from None
    if u.scheme not in ("http", "https"):
        raise _Failure(FetchOutcome.ERROR, "UnsupportedScheme",
                       f"not an http(s) URL (scheme {u.scheme or 'missing'!r})")
    if not u.host:
        raise _Failure(FetchOutcome.ERROR, "InvalidURL", "URL has no host")
    return u


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


def _status_reason(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP {status} {phrase}".strip()


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    parts = value.split(";")
    media = parts[0].strip().lower() or None
    charset = None
    for part in parts[1:]:
        name, _, val = part.partition("=")
        if name.strip().lower() == "charset":
            charset = val.strip().strip("\"'").strip() or None
    return media, charset


META_REFRESH_MAX_DELAY = 5  # seconds: a longer refresh is a page reloading itself later, not a redirect
_META_TAG = re.compile(rb"<meta\b[^>]*?http-equiv\s*=\s*[\"']?\s*refresh\b[^>]*>", re.IGNORECASE)
_META_CONTENT = re.compile(rb"""\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_REFRESH = re.compile(r"^\s*(\d+(?:\.\d*)?)?\s*[;,]?\s*(?:url\s*=\s*)?(['\"]?)(.+?)\2\s*$", re.IGNORECASE | re.DOTALL)


def _meta_refresh(resp: _Response) -> str | None:
    """The target of a 2xx HTML page's `<meta http-equiv="refresh" content="0; url=…">` (in its first 16 KB)
    when the refresh is immediate enough to be a redirect (at most META_REFRESH_MAX_DELAY seconds)."""
    if not 200 <= resp.status < 300 or not resp.body:
        return None
    ctype = (resp.headers.get("content-type") or "text/html").lower()
    if "html" not in ctype:
        return None
    head = resp.body[:16384]
    tag = _META_TAG.search(head)
    if tag is None:
        return None
    content = _META_CONTENT.search(tag.group(0))
    if content is None:
        return None
    raw = next(g for g in content.groups() if g is not None).decode("latin-1")
    m = _REFRESH.match(html_lib.unescape(raw))
    if m is None or not m.group(3).strip():
        return None
    delay = float(m.group(1) or 0)
    return m.group(3).strip() if delay <= META_REFRESH_MAX_DELAY else None


def _fill_response(result: FetchResult, resp: _Response) -> None:
    status = resp.status
    result.headers = {k.lower(): v for k, v in resp.headers.items()}
    result.content_type, result.header_charset = _parse_content_type(resp.headers.get("content-type"))
    result.etag = resp.headers.get("etag")
    result.last_modified = resp.headers.get("last-modified")
    if 200 <= status < 300:
        result.outcome, result.body = FetchOutcome.OK, resp.body
        return
    result.reason = _status_reason(status)
    if status == 304:
        result.outcome = FetchOutcome.NOT_MODIFIED
    elif status in (404, 410):
        result.outcome, result.error_class = FetchOutcome.DEAD, "HTTPStatusError"
    else:
        result.outcome, result.error_class = FetchOutcome.HTTP_ERROR, "HTTPStatusError"
        if status in REDIRECT_STATUSES:
            result.reason += " without a Location"
        elif _retryable_status(status):
            ra = resp.headers.get("retry-after")
            extra = f" (Retry-After: {ra.strip()})" if ra else ""
            s = "" if result.attempts == 1 else "s"
            result.reason += f" after {result.attempts} attempt{s}{extra}"


def _fail(result: FetchResult, f: _Failure) -> None:
    result.outcome, result.error_class, result.reason = f.outcome, f.error_class, f.reason
    result.body = None


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes/contexts, and members of exception groups among them."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            stack.extend(e.exceptions)
        for nxt in (e.__cause__, e.__context__):
            if nxt is not None:
                stack.append(nxt)


def _classify(exc: BaseException) -> _Failure:
    """Map an httpx/OS exception to an outcome; httpx wraps the OS error as a cause, so search the chain."""
    name = type(exc).__name__
    msg = _one_line(str(exc) or name)
    chain = list(_causes(exc))
    if isinstance(exc, httpx.TimeoutException):
        # A connect timeout is worth retrying (a busy listen queue); a read timeout means a slow server.
        retry = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
        what = {"ConnectTimeout": "connect", "ReadTimeout": "read", "WriteTimeout": "write"}.get(name, "pool")
        return _Failure(FetchOutcome.TIMEOUT, name, f"{what} timed out", retryable=retry)
    for e in chain:
        if isinstance(e, socket.gaierror):
            again = e.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", -11))
            return _Failure(FetchOutcome.DNS, "DNSError", f"DNS lookup failed: {_one_line(str(e))}", retryable=again)
        if isinstance(e, ssl.SSLError | ssl.CertificateError):
            return _Failure(FetchOutcome.TLS, type(e).__name__, f"TLS error: {_one_line(str(e))}")
    for e in chain:
        if isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED:
            return _Failure(FetchOutcome.REFUSED, "ConnectionRefused", "connection refused", retryable=True)
        if isinstance(e, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return _Failure(FetchOutcome.RESET, "ConnectionReset", "connection reset by peer", retryable=True)
    low = msg.lower()
    if isinstance(exc, httpx.ConnectError):
        if "name or service not known" in low or "nodename nor servname" in low or "getaddrinfo" in low:
            return _Failure(FetchOutcome.DNS, "DNSError", f"DNS lookup failed: {msg}")
        if "ssl" in low or "certificate" in low or "tls" in low:
            return _Failure(FetchOutcome.TLS, "TLSError", f"TLS error: {msg}")
        if "refused" in low:
            return _Failure(FetchOutcome.REFUSED, "ConnectionRefused", "connection refused", retryable=True)
        return _Failure(FetchOutcome.ERROR, name, f"connection failed: {msg}", retryable=True)
    if isinstance(exc, httpx.RemoteProtocolError):
        if "without sending a response" in low or "disconnected" in low:
            return _Failure(FetchOutcome.RESET, name, "server closed the connection without answering", retryable=True)
        if "incomplete" in low or "complete message body" in low or "peer closed" in low:
            return _Failure(FetchOutcome.TRUNCATED, name, f"body truncated: {msg}")
        return _Failure(FetchOutcome.ERROR, name, f"protocol error: {msg}")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return _Failure(FetchOutcome.RESET, name, f"connection broken: {msg}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return _Failure(FetchOutcome.ERROR, name, msg)
    return _Failure(FetchOutcome.ERROR, name, msg)


# ---------------------------------------------------------------------- bounded decompression


class _DecodeError(Exception):
    def __init__(self, encoding: str, message: str) -> None:
        super().__init__(message)
        self.encoding = encoding


class _Decoder:
    """Content-Encoding decoder whose every step returns at most `limit` bytes (callers pass cap + 1, so
    producing `limit` bytes already proves the body is over the cap and nothing more is needed)."""

    note = " (decompressed)"

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        raise NotImplementedError

    def flush(self, limit: int) -> Iterator[bytes]:
        return iter(())


class _Identity(_Decoder):
    note = ""

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        if data:
            yield data


class _Zlib(_Decoder):
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # gzip: header required; deflate: zlib wrapper per RFC, but many servers send raw deflate.
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
        self._first = True

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        try:
            out = self._d.decompress(data, max(limit, 1))
        except zlib.error as e:
            if self.encoding == "deflate" and self._first:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                yield from self.feed(data, limit)
                return
            raise _DecodeError(self.encoding, str(e)) from None
        self._first = False
        # Output below the limit means all input was consumed; at the limit, the rest waits in
        # unconsumed_tail and is only inflated if the caller asks for more (it stops once over the cap).
        while True:
            if out:
                yield out
            tail = self._d.unconsumed_tail
            if not tail:
                return
            try:
                out = self._d.decompress(tail, max(limit, 1))
            except zlib.error as e:
                raise _DecodeError(self.encoding, str(e)) from None

    def flush(self, limit: int) -> Iterator[bytes]:
        try:
            out = self._d.flush()
        except zlib.error as e:
            raise _DecodeError(self.encoding, str(e)) from None
        if out:
            yield out


class _Brotli(_Decoder):
    def __init__(self) -> None:
        import brotli  # installed with httpx[brotli]

        self._brotli = brotli
        self._d = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        try:
            out = self._d.process(data, output_buffer_limit=max(limit, 1))
        except TypeError:  # brotli < 1.2 has no output limit: bounded by the chunk only
            out = self._d.process(data)
        except self._brotli.error as e:
            raise _DecodeError("br", str(e)) from None
        while True:
            if out:
                yield out
            if self._d.can_accept_more_data() if hasattr(self._d, "can_accept_more_data") else True:
                return
            try:
                out = self._d.process(b"", output_buffer_limit=max(limit, 1))
            except self._brotli.error as e:
                raise _DecodeError("br", str(e)) from None


class _Zstd(_Decoder):
    # We do not advertise zstd; if a server sends it anyway, feed small slices so that one step's output stays
    # bounded (a zstd block is at most 128 KiB, and a block needs at least a few input bytes).
    SLICE = 64

    def __init__(self) -> None:
        import zstandard

        self._zstd = zstandard
        self._d = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        for i in range(0, len(data), self.SLICE):
            try:
                out = self._d.decompress(data[i : i + self.SLICE])
            except self._zstd.ZstdError as e:
                raise _DecodeError("zstd", str(e)) from None
            if out:
                yield out


class _Chain(_Decoder):
    """Several encodings (`Content-Encoding: gzip, br` — applied in order, so undone in reverse)."""

    def __init__(self, decoders: list[_Decoder]) -> None:
        self._decoders = decoders

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        return self._run(iter((data,)), limit, 0, flush=False)

    def flush(self, limit: int) -> Iterator[bytes]:
        return self._run(iter(()), limit, 0, flush=True)

    def _run(self, pieces: Iterator[bytes], limit: int, i: int, *, flush: bool) -> Iterator[bytes]:
        if i == len(self._decoders):
            return pieces
        d = self._decoders[i]

        def stage() -> Iterator[bytes]:  # lazy, so the caller's cap check bounds every stage
            for p in pieces:
                yield from d.feed(p, limit)
            if flush:
                yield from d.flush(limit)

        return self._run(stage(), limit, i + 1, flush=flush)


def _zstd_available() -> bool:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        return False
    return True


_ACCEPT_ENCODING = "gzip, deflate, br"


def _make_decoder(content_encoding: str) -> _Decoder:
    names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
    decoders: list[_Decoder] = []
    for name in reversed(names):
        if name in ("identity", ""):
            continue
        if name in ("gzip", "x-gzip"):
            decoders.append(_Zlib("gzip"))
        elif name == "deflate":
            decoders.append(_Zlib("deflate"))
        elif name == "br":
            decoders.append(_Brotli())
        elif name == "zstd" and _zstd_available():
            decoders.append(_Zstd())
        else:
            # Unknown coding: keep the bytes as sent (the pipeline will see binary content).
            log.debug("unknown Content-Encoding %r left as is", name)
            return _Identity()
    if not decoders:
        return _Identity()
    return decoders[0] if len(decoders) == 1 else _Chain(decoders)
