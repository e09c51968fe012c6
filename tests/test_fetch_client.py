"""The fetcher against a real loopback server that misbehaves on purpose (tests/httpfaults.py).

Every test checks the recorded outcome and that wall time stays bounded; the policy is shrunk (sub-second
timeouts, 1 MiB cap, tiny back-off) so the whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import sqlite3
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from refman.fetch.client import (
    Fetcher,
    FetchPolicy,
    FetchResult,
    _classify,
    _parse_content_type,
    _parse_retry_after,
)
from tests.httpfaults import ETAG, LAST_MODIFIED, FaultServer, H2Server, bomb, make_cert, serve

CAP = 1024 * 1024


def policy(**kw: Any) -> FetchPolicy:
    base: dict[str, Any] = {
        "delay": 0.0,
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "deadline": 3.0,
        "retries": 2,
        "backoff_base": 0.01,
        "max_bytes": CAP,
        "max_retry_after": 2.0,
    }
    base.update(kw)
    return FetchPolicy(**base)


def fetch(url: str, pol: FetchPolicy | None = None, **kw: Any) -> tuple[FetchResult, float]:
    async def go() -> FetchResult:
        async with Fetcher(pol or policy()) as f:
            return await f.fetch(url, **kw)

    t0 = time.monotonic()
    result = asyncio.run(go())
    return result, time.monotonic() - t0


def fetch_many(urls: list[str], pol: FetchPolicy) -> tuple[list[FetchResult], dict[str, Any], float]:
    async def go() -> tuple[list[FetchResult], dict[str, Any]]:
        async with Fetcher(pol) as f:
            results = await asyncio.gather(*(f.fetch(u) for u in urls))
            return list(results), f.stats

    t0 = time.monotonic()
    results, stats = asyncio.run(go())
    return results, stats, time.monotonic() - t0


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with serve(max_lifetime=60) as s:
        yield s


@pytest.fixture
def hosts3() -> Iterator[FaultServer]:
    with serve(hosts=("127.0.0.1", "127.0.0.2", "127.0.0.3"), max_lifetime=60) as s:
        yield s


# ---------------------------------------------------------------------- plain success


def test_ok_page_records_http_facts(server: FaultServer) -> None:
    r, secs = fetch(server.url("/a/page"))
    assert r.outcome == "ok" and r.ok
    assert r.http_status == 200 and r.attempts == 1 and r.redirects == []
    assert r.final_url == server.url("/a/page")
    assert r.content_type == "text/html" and r.header_charset == "utf-8"
    assert r.body is not None and b"Page at /a/page" in r.body
    assert r.headers["content-type"].startswith("text/html") and all(k == k.lower() for k in r.headers)
    assert r.error_class is None and r.reason is None
    assert r.elapsed_ms < 2000 and secs < 2
    ua = server.requests[-1].headers["user-agent"]
    assert ua.startswith("refman/") and "reference archiver" in ua


def test_gzip_body_is_decoded(server: FaultServer) -> None:
    r, _ = fetch(server.url("/gzipped"))
    assert r.outcome == "ok" and r.body is not None and r.body.count(b"hello") == 1000


def test_binary_labelled_html_is_ok_here(server: FaultServer) -> None:
    r, _ = fetch(server.url("/binary?ct=text/html"))
    assert r.outcome == "ok" and r.body == bytes(range(256)) * 64 and r.content_type == "text/html"


def test_empty_body_is_ok_with_empty_bytes(server: FaultServer) -> None:
    r, _ = fetch(server.url("/empty"))
    assert r.outcome == "ok" and r.body == b""


# ---------------------------------------------------------------------- time bounds


def test_never_answering_times_out(server: FaultServer) -> None:
    r, secs = fetch(server.url("/hang"), policy(read_timeout=0.5))
    assert r.outcome == "timeout" and r.error_class == "ReadTimeout"
    assert r.attempts == 1 and r.body is None  # a silent server is not retried
    assert secs < 2


def test_one_byte_per_interval_hits_the_deadline(server: FaultServer) -> None:
    # each byte arrives well within read_timeout, so only the overall deadline can stop it
    r, secs = fetch(server.url("/trickle?n=100&interval=0.1"), policy(read_timeout=1.0, deadline=1.0))
    assert r.outcome == "timeout" and r.error_class == "DeadlineExceeded"
    assert 0.9 < secs < 2.5
    assert server.bytes_sent["/trickle"] < 30


# ---------------------------------------------------------------------- redirects


def test_redirect_loop(server: FaultServer) -> None:
    r, secs = fetch(server.url("/loop/a"))
    assert r.outcome == "redirect_loop" and r.error_class == "RedirectLoop"
    assert [h["url"] for h in r.redirects] == [server.url("/loop/a"), server.url("/loop/b")]
    assert server.hits["/loop/a"] == 1 and server.hits["/loop/b"] == 1
    assert secs < 2


def test_long_redirect_chain_is_capped(server: FaultServer) -> None:
    r, secs = fetch(server.url("/chain?n=11"))
    assert r.outcome == "too_many_redirects" and len(r.redirects) == 11
    assert server.hits["/chain"] == 11  # the 12th URL is never requested
    assert secs < 2


def test_redirect_chain_recorded(server: FaultServer) -> None:
    r, _ = fetch(server.url("/chain?n=5"))
    assert r.outcome == "ok" and r.http_status == 200
    assert [h["status"] for h in r.redirects] == [301, 302, 301, 302, 301]
    assert r.redirects[0]["url"] == server.url("/chain?n=5")
    assert r.final_url == server.url("/chain?n=0")
    assert r.attempts == 1


def test_ten_redirects_are_allowed(server: FaultServer) -> None:
    r, _ = fetch(server.url("/chain?n=10"))
    assert r.outcome == "ok" and len(r.redirects) == 10


# ---------------------------------------------------------------------- statuses and retries


@pytest.mark.parametrize("code", [404, 410])
def test_dead(server: FaultServer, code: int) -> None:
    r, secs = fetch(server.url(f"/status?code={code}"))
    assert r.outcome == "dead" and r.http_status == code and r.attempts == 1
    assert r.reason in ("HTTP 404 Not Found", "HTTP 410 Gone") and r.body is None
    assert server.hits["/status"] == 1 and secs < 2


def test_other_4xx_is_http_error_without_retry(server: FaultServer) -> None:
    r, _ = fetch(server.url("/status?code=403"))
    assert r.outcome == "http_error" and r.http_status == 403 and r.attempts == 1


def test_500_is_retried_then_http_error(server: FaultServer) -> None:
    r, secs = fetch(server.url("/status?code=500"), policy(retries=2))
    assert r.outcome == "http_error" and r.http_status == 500 and r.attempts == 3
    assert r.reason == "HTTP 500 Internal Server Error after 3 attempts"
    assert server.hits["/status"] == 3 and secs < 2


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_honoured(server: FaultServer, code: int) -> None:
    r, secs = fetch(server.url(f"/retry?code={code}&times=1&after=1"))
    assert r.outcome == "ok" and r.attempts == 2
    starts = server.starts(path_prefix="/retry")
    assert starts[1] - starts[0] >= 0.95  # waited as asked
    assert secs < 3


def test_retry_after_over_cap_gives_up_at_once(server: FaultServer) -> None:
    r, secs = fetch(server.url("/retry?code=503&times=5&after=3600"), policy(max_retry_after=2))
    assert r.outcome == "http_error" and r.http_status == 503 and r.attempts == 1
    assert "Retry-After: 3600" in (r.reason or "")
    assert secs < 1


def test_flaky_endpoint_succeeds_on_third_attempt(server: FaultServer) -> None:
    r, secs = fetch(server.url("/flaky?times=2"), policy(retries=3))
    assert r.outcome == "ok" and r.attempts == 3 and r.http_status == 200
    assert server.hits["/flaky"] == 3 and secs < 2


def test_retry_after_parsing() -> None:
    assert _parse_retry_after("7") == 7.0
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    future = _parse_retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 20)))
    assert future is not None and 15 < future <= 20
    assert _parse_retry_after("soon") is None


# ---------------------------------------------------------------------- size caps


@pytest.mark.parametrize("route", ["/gzip-bomb?mb=64", "/br-bomb?mb=64"])
def test_compression_bomb_is_stopped_with_memory_bounded(server: FaultServer, route: str) -> None:
    bomb("gzip", 64), bomb("br", 64)  # build the server side before measuring

    async def go() -> tuple[FetchResult, int]:
        async with Fetcher(policy()) as f:
            tracemalloc.reset_peak()  # not the client's own set-up (CA bundle, …)
            base = tracemalloc.get_traced_memory()[0]
            result = await f.fetch(server.url(route))
            return result, tracemalloc.get_traced_memory()[1] - base

    tracemalloc.start()
    t0 = time.monotonic()
    try:
        r, peak = asyncio.run(go())
    finally:
        tracemalloc.stop()
    assert r.outcome == "too_large" and r.error_class == "BodyTooLarge" and r.body is None
    assert "decompressed" in (r.reason or "")
    # 64 MiB of zeros behind a 1 MiB cap: at most the cap plus one decoded step (≤ cap + 1) is ever held
    assert peak < 3 * CAP, f"peak {peak} bytes above the baseline"
    assert server.bytes_sent[route.split("?")[0]] < 200_000 and time.monotonic() - t0 < 5


def test_endless_body_is_cut(server: FaultServer) -> None:
    r, secs = fetch(server.url("/endless"))
    assert r.outcome == "too_large" and r.body is None
    time.sleep(0.1)
    assert server.bytes_sent["/endless"] < CAP + 8 * 1024 * 1024  # the connection was dropped
    assert secs < 2


def test_declared_length_over_cap_is_refused_without_reading(server: FaultServer) -> None:
    r, secs = fetch(server.url("/huge-declared"))
    assert r.outcome == "too_large" and "Content-Length 10000000000" in (r.reason or "")
    assert secs < 1


# ---------------------------------------------------------------------- broken connections


def test_reset_mid_body(server: FaultServer) -> None:
    r, secs = fetch(server.url("/reset"))
    assert r.outcome in ("reset", "truncated") and r.body is None
    assert r.attempts == 1 and secs < 2


def test_lying_content_length_is_truncated(server: FaultServer) -> None:
    r, secs = fetch(server.url("/lying-length"))
    assert r.outcome == "truncated" and r.error_class == "RemoteProtocolError" and r.body is None
    assert r.attempts == 1 and secs < 2


def test_close_without_answer_is_reset_and_retried(server: FaultServer) -> None:
    r, secs = fetch(server.url("/close"), policy(retries=2))
    assert r.outcome == "reset" and r.attempts == 3 and server.hits["/close"] == 3
    assert secs < 2


def test_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r, secs = fetch(f"http://127.0.0.1:{port}/", policy(retries=1))
    assert r.outcome == "refused" and r.attempts == 2 and r.http_status is None
    assert secs < 2


def test_tls_error(server: FaultServer) -> None:
    r, secs = fetch(server.url("/").replace("http://", "https://"))
    assert r.outcome == "tls" and r.attempts == 1 and secs < 2


def test_dns_failure_is_classified() -> None:
    # No real lookup: the network is off limits, so build the exception httpx raises.
    gai = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    err = httpx.ConnectError("[Errno -2] Name or service not known")
    err.__cause__ = gai
    f = _classify(err)
    assert f.outcome == "dns" and not f.retryable
    again = httpx.ConnectError("temporary")
    again.__cause__ = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    assert _classify(again).retryable


@pytest.mark.parametrize("url", ["ftp://example.org/x", "mailto:a@example.org", "not a url", "http://"])
def test_non_http_urls_are_errors(url: str) -> None:
    r, secs = fetch(url)
    assert r.outcome == "error" and r.reason and r.attempts == 0 and secs < 1


# ---------------------------------------------------------------------- robots.txt


def test_robots_disallow(server: FaultServer) -> None:
    server.robots = "User-agent: *\nDisallow: /private\n"
    r, _ = fetch(server.url("/private/page"))
    assert r.outcome == "robots" and r.error_class == "RobotsDisallowed" and "robots.txt" in (r.reason or "")
    assert server.hits["/private/page"] == 0
    r, _ = fetch(server.url("/private/page"), policy(respect_robots=False))
    assert r.outcome == "ok" and server.hits["/private/page"] == 1


def test_robots_for_our_agent_only(server: FaultServer) -> None:
    server.robots = "User-agent: otherbot\nDisallow: /\n\nUser-agent: refman\nDisallow: /mine\n"
    assert fetch(server.url("/page"))[0].outcome == "ok"
    assert fetch(server.url("/mine"))[0].outcome == "robots"


def test_robots_fetched_once_per_host(server: FaultServer) -> None:
    server.robots = "User-agent: *\nDisallow: /private\n"
    urls = [server.url(f"/p{i}") for i in range(6)] + [server.url("/private/x")]
    results, stats, _ = fetch_many(urls, policy())
    assert [r.outcome for r in results] == ["ok"] * 6 + ["robots"]
    assert server.hits["/robots.txt"] == 1 and stats["robots_requests"] == 1


@pytest.mark.parametrize("code", [404, 500])
def test_robots_unavailable_allows(server: FaultServer, code: int) -> None:
    server.route("/robots.txt", lambda s, r, rd, w: _status(s, r, w, code))
    r, _ = fetch(server.url("/page"))
    assert r.outcome == "ok" and server.hits["/robots.txt"] == 1


async def _status(s: FaultServer, r: Any, w: asyncio.StreamWriter, code: int) -> None:
    from tests.httpfaults import send

    await send(s, r, w, code, b"nope")


def test_robots_checked_on_redirect_hop(hosts3: FaultServer) -> None:
    hosts3.robots = "User-agent: *\nDisallow: /private\n"
    target = hosts3.url("/private/x", host="127.0.0.2")

    async def redirect(s: FaultServer, r: Any, rd: Any, w: asyncio.StreamWriter) -> None:
        from tests.httpfaults import send

        await send(s, r, w, 302, b"", {"Location": target})

    hosts3.route("/go", redirect)
    hosts3.robots = "User-agent: *\nDisallow: /private\n"
    r, _ = fetch(hosts3.url("/go"))
    assert r.outcome == "robots" and r.redirects[0]["status"] == 302 and r.final_url == target
    assert hosts3.hits["/private/x"] == 0 and hosts3.hits["/robots.txt"] == 2  # one per origin


def test_crawl_delay_raises_host_delay(server: FaultServer) -> None:
    server.robots = "User-agent: *\nCrawl-delay: 1\n"
    _, _, secs = fetch_many([server.url("/x1"), server.url("/x2")], policy(delay=0.0))
    starts = server.starts(path_prefix="/x")
    assert len(starts) == 2 and abs(starts[1] - starts[0]) >= 0.95
    assert secs < 3


# ---------------------------------------------------------------------- robots.txt shared through a catalog


def fetch_shared(urls: list[str], catalog: Path, pol: FetchPolicy | None = None) -> tuple[list[FetchResult],
                                                                                         dict[str, Any]]:
    """One run (a Fetcher) whose robots.txt answers are shared through the catalog file `catalog`."""
    from refman.fetch.robots import CatalogRobots, CatalogThread

    async def go() -> tuple[list[FetchResult], dict[str, Any]]:
        thread = CatalogThread(catalog)
        try:
            async with Fetcher(pol or policy(), robots_cache=CatalogRobots(thread.call)) as f:
                return list(await asyncio.gather(*(f.fetch(u) for u in urls))), f.stats
        finally:
            thread.close()

    return asyncio.run(go())


def robots_rows(catalog: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(catalog)
    try:
        return conn.execute("SELECT origin, outcome, http_status, body FROM robots_txt ORDER BY origin").fetchall()
    finally:
        conn.close()


def seed_robots(catalog: Path, origin: str, age_s: float, outcome: str, status: int | None,
                body: str | None = None) -> None:
    """A robots.txt answer for `origin` read `age_s` seconds ago, as another run would have stored it."""
    from refman.store import open_store
    from refman.store.fetch import RobotsRow

    when = (datetime.now(UTC) - timedelta(seconds=age_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open_store(catalog) as store:
        store.put_robots_row(RobotsRow(origin, when, outcome, status, body))


def test_robots_read_by_one_run_serves_the_next(server: FaultServer, tmp_path: Path) -> None:
    catalog = tmp_path / "c.db"
    rules = "User-agent: *\nDisallow: /private\n"
    server.robots = rules
    urls = [server.url(f"/p{i}") for i in range(4)] + [server.url("/private/x")]
    results, stats = fetch_shared(urls, catalog)
    assert [r.outcome for r in results] == ["ok"] * 4 + ["robots"]
    assert stats["robots_requests"] == 1 and stats["robots_shared"] == 0
    origin = server.url("").rstrip("/")
    assert robots_rows(catalog) == [(origin, "parsed", 200, rules)]
    # the next run (another Fetcher, as another process would be) asks the catalog, not the server: the stored
    # disallow holds even though the site now allows everything, until the answer is a day old
    server.robots = "User-agent: *\nDisallow:\n"
    results, stats = fetch_shared(urls, catalog)
    assert [r.outcome for r in results] == ["ok"] * 4 + ["robots"]
    assert stats["robots_requests"] == 0 and stats["robots_shared"] == 1
    assert server.hits["/robots.txt"] == 1 and server.hits["/private/x"] == 0


@pytest.mark.parametrize("days", [0.99, 1.01])
def test_a_stored_disallow_holds_for_a_day(server: FaultServer, tmp_path: Path, days: float) -> None:
    catalog = tmp_path / "c.db"
    origin = server.url("").rstrip("/")
    seed_robots(catalog, origin, days * 86400, "parsed", 200, "User-agent: *\nDisallow: /private\n")
    server.robots = "User-agent: *\nDisallow:\n"  # the site no longer forbids it
    results, stats = fetch_shared([server.url("/private/x")], catalog)
    if days < 1:  # fresh: honoured without asking the site
        assert results[0].outcome == "robots" and server.hits["/robots.txt"] == 0 and stats["robots_shared"] == 1
    else:  # stale: read again, and the new answer stored
        assert results[0].outcome == "ok" and server.hits["/robots.txt"] == 1 and stats["robots_requests"] == 1
        assert robots_rows(catalog) == [(origin, "parsed", 200, "User-agent: *\nDisallow:\n")]


@pytest.mark.parametrize("hours", [0.9, 1.1])
def test_an_unavailable_robots_is_asked_again_sooner(server: FaultServer, tmp_path: Path, hours: float) -> None:
    catalog = tmp_path / "c.db"
    origin = server.url("").rstrip("/")
    seed_robots(catalog, origin, hours * 3600, "unavailable", 503)
    server.robots = "User-agent: *\nDisallow: /private\n"
    results, _ = fetch_shared([server.url("/private/x")], catalog)
    assert results[0].outcome == ("ok" if hours < 1 else "robots")
    assert server.hits["/robots.txt"] == (0 if hours < 1 else 1)


def test_an_unreadable_robots_is_stored_as_unavailable(server: FaultServer, tmp_path: Path) -> None:
    catalog = tmp_path / "c.db"
    server.route("/robots.txt", lambda s, r, rd, w: _status(s, r, w, 503))
    results, _ = fetch_shared([server.url("/page")], catalog, policy(retries=0))
    assert results[0].outcome == "ok" and robots_rows(catalog)[0][1:] == ("unavailable", 503, None)


def test_a_broken_catalog_never_breaks_a_fetch(server: FaultServer, tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    catalog = tmp_path / "not-a-catalog.db"
    catalog.write_bytes(b"this is not an SQLite database, " * 200)
    server.robots = "User-agent: *\nDisallow: /private\n"
    t0 = time.monotonic()
    with caplog.at_level("WARNING", logger="refman.fetch.client"):
        results, stats = fetch_shared([server.url("/p1"), server.url("/p2"), server.url("/private/x")], catalog)
    assert [r.outcome for r in results] == ["ok", "ok", "robots"]  # read from the server, as without a cache
    assert stats["robots_requests"] == 1 and stats["robots_shared"] == 0
    assert time.monotonic() - t0 < 3
    warned = [r.getMessage() for r in caplog.records if "shared cache" in r.getMessage()]
    assert len(warned) == 1 and "not read through the shared cache" in warned[0]  # once per run, not per origin


def test_a_long_run_reads_robots_again_when_it_is_stale(server: FaultServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("refman.fetch.client.ROBOTS_MAX_AGE", 0.3)
    server.robots = "User-agent: *\nDisallow: /private\n"

    async def go() -> dict[str, Any]:
        async with Fetcher(policy()) as f:
            assert (await f.fetch(server.url("/private/x"))).outcome == "robots"
            assert (await f.fetch(server.url("/p1"))).outcome == "ok"
            server.robots = "User-agent: *\nDisallow:\n"
            await asyncio.sleep(0.4)
            assert (await f.fetch(server.url("/private/x"))).outcome == "ok"
            return f.stats

    assert asyncio.run(go())["robots_requests"] == 2 and server.hits["/robots.txt"] == 2


# ---------------------------------------------------------------------- conditional requests


def test_conditional_refetch(server: FaultServer) -> None:
    first, _ = fetch(server.url("/cond"))
    assert first.outcome == "ok" and first.etag == ETAG and first.last_modified == LAST_MODIFIED
    by_etag, _ = fetch(server.url("/cond"), etag=first.etag)
    assert by_etag.outcome == "not_modified" and by_etag.http_status == 304 and by_etag.body is None
    by_date, _ = fetch(server.url("/cond"), last_modified=first.last_modified)
    assert by_date.outcome == "not_modified"
    cond = [r.headers for r in server.requests if r.path == "/cond"]
    assert "if-none-match" not in cond[0] and cond[1]["if-none-match"] == ETAG
    assert cond[2]["if-modified-since"] == LAST_MODIFIED


# ---------------------------------------------------------------------- politeness and limits


def test_per_host_limit_and_delay(server: FaultServer) -> None:
    urls = [server.url(f"/sleep?ms=150&i={i}") for i in range(10)]
    results, stats, secs = fetch_many(urls, policy(per_host=2, delay=0.05))
    assert all(r.outcome == "ok" for r in results)
    assert server.max_in_flight_per_host["127.0.0.1"] <= 2
    assert stats["max_in_flight_per_host"]["127.0.0.1"] == 2
    starts = sorted(server.starts(path_prefix="/sleep"))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The server sees a start when its thread gets to it: a request delayed by scheduling (a loaded machine)
    # shortens the gap after it by as much as it lengthened the one before. Without the delay two requests
    # would start together (gap 0); on average the gaps are the delay.
    assert min(gaps) >= 0.025, gaps
    assert sum(gaps) / len(gaps) >= 0.045, gaps
    assert secs < 3


def test_global_concurrency_limit(hosts3: FaultServer) -> None:
    urls = [hosts3.url(f"/sleep?ms=150&i={i}", host=h) for h in hosts3.hosts for i in range(6)]
    results, stats, secs = fetch_many(urls, policy(concurrency=3, per_host=2))
    assert all(r.outcome == "ok" for r in results)
    assert hosts3.max_in_flight <= 3 and stats["max_in_flight"] == 3
    assert all(n <= 2 for n in hosts3.max_in_flight_per_host.values())
    assert stats["requests"] == len(urls) + 3  # + one robots.txt per host
    assert secs < 3


def test_policy_defaults_are_polite() -> None:
    p = FetchPolicy()
    assert p.delay >= 1.0 and p.per_host == 2 and p.concurrency == 16 and p.respect_robots
    assert p.max_bytes == 20 * 1024 * 1024 and p.user_agent.startswith("refman/")


def test_content_type_parsing() -> None:
    assert _parse_content_type('Text/HTML; Charset="GBK"') == ("text/html", "GBK")
    assert _parse_content_type("application/pdf") == ("application/pdf", None)
    assert _parse_content_type(None) == (None, None)


# ---------------------------------------------------------------------- HTTP/2 and TLS


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    made = make_cert(str(tmp_path_factory.mktemp("tls")))
    if made is None:
        pytest.skip("openssl CLI not available")
    return made


def test_http2_is_used_when_offered(cert: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", cert[0])  # httpx trusts it (trust_env)
    with H2Server(*cert, gzip_body=True) as h2server:
        r, secs = fetch(h2server.url("/over-h2"))
        assert r.outcome == "ok", r.reason
        assert r.body == b"<p>h2 page /over-h2</p>" * 50  # gzip over HTTP/2, decoded by us
        assert h2server.protocols and set(h2server.protocols) == {"h2"}
        assert h2server.paths == ["/robots.txt", "/over-h2"]  # one connection, two streams
        assert len(h2server.protocols) == 1 and secs < 3


def test_untrusted_certificate_is_tls_outcome(cert: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with H2Server(*cert) as h2server:
        r, secs = fetch(h2server.url("/"))
        assert r.outcome == "tls" and "CERTIFICATE_VERIFY_FAILED" in (r.reason or "")
        assert r.attempts == 1 and secs < 3


# ---------------------------------------------------------------------- redirect corner cases


def test_cookie_bounce_is_not_a_loop(server: FaultServer) -> None:
    from tests.httpfaults import send

    async def bounce(s: FaultServer, r: Any, rd: Any, w: asyncio.StreamWriter) -> None:
        if "seen=1" in r.headers.get("cookie", ""):
            await send(s, r, w, 200, b"<p>welcome back</p>")
        else:
            await send(s, r, w, 302, b"", {"Location": "/set-cookie"})

    async def set_cookie(s: FaultServer, r: Any, rd: Any, w: asyncio.StreamWriter) -> None:
        await send(s, r, w, 302, b"", {"Location": "/bounce", "Set-Cookie": "seen=1; Path=/"})

    server.route("/bounce", bounce)
    server.route("/set-cookie", set_cookie)
    r, _ = fetch(server.url("/bounce"))
    assert r.outcome == "ok" and r.body == b"<p>welcome back</p>"
    assert [h["url"].rsplit("/", 1)[1] for h in r.redirects] == ["bounce", "set-cookie"]


def test_redirect_without_location_is_http_error(server: FaultServer) -> None:
    r, _ = fetch(server.url("/status?code=302"))
    assert r.outcome == "http_error" and r.http_status == 302 and "without a Location" in (r.reason or "")


def test_deadline_is_shared_by_hops_and_retries(server: FaultServer) -> None:
    # 3 hops of 0.4 s each against a 1 s budget: the third hop is cut short
    from tests.httpfaults import send

    async def slow_hop(s: FaultServer, r: Any, rd: Any, w: asyncio.StreamWriter) -> None:
        n = int(r.query.get("n", "0"))
        await asyncio.sleep(0.4)
        await send(s, r, w, 302, b"", {"Location": f"/slowhop?n={n + 1}"})

    server.route("/slowhop", slow_hop)
    r, secs = fetch(server.url("/slowhop"), policy(deadline=1.0, read_timeout=2.0))
    assert r.outcome == "timeout" and r.error_class == "DeadlineExceeded" and len(r.redirects) == 2
    assert secs < 1.8
