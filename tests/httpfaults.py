"""A raw-socket HTTP/1.1 server on loopback that misbehaves on purpose, for testing fetch code.

pytest-httpserver answers politely; this one can also never answer, trickle one byte at a time, reset the
connection mid-body, send an endless body, lie about Content-Length, serve compression bombs and speak plain
text to a TLS client. It runs its own asyncio loop in a daemon thread, listens only on 127.0.0.x addresses
(several at once, so that tests can tell "hosts" apart), records what it saw (hits per path, requests in
flight per host, request arrival times), and stops itself after `max_lifetime` seconds whatever happens.

Routes (query parameters in brackets; every unknown path serves a small HTML page):

    /sleep[ms]              page after a pause             /hang                   read the request, never answer
    /trickle[n, interval]   n bytes, one per interval      /loop/a, /loop/b        redirect to each other
    /chain[n]               n redirects, then a page        /status[code]           that status, tiny body
    /retry[code, times, after, key]                         `code` (429/503) with Retry-After `times` times, then ok
    /flaky[times, key]      500 `times` times, then ok      /gzip-bomb[mb], /br-bomb[mb]  small body, inflates to mb
    /endless                body that never ends            /huge-declared          Content-Length: 10 GB, then idles
    /lying-length           declares 1000, sends 100, closes
    /reset                  declares 100000, sends 1000, then a TCP reset
    /close                  closes without answering        /binary, /empty, /text  as named
    /robots.txt             `server.robots` (404 if None)  /cond                   ETag/Last-Modified, 304 when matched
    /html[charset]          bytes from `server.pages[...]` with a given Content-Type charset
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gzip
import socket
import struct
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qs, urlsplit

LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
ETAG = '"v1"'


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    host: str  # Host header without the port
    arrived: float  # time.monotonic()


Handler = Callable[["FaultServer", Request, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class FaultServer:
    hosts: tuple[str, ...] = ("127.0.0.1",)
    max_lifetime: float = 120.0
    robots: str | None = None
    pages: dict[str, bytes] = field(default_factory=dict)
    # what was seen
    hits: collections.Counter[str] = field(default_factory=collections.Counter)
    requests: list[Request] = field(default_factory=list)
    max_in_flight_per_host: dict[str, int] = field(default_factory=dict)
    max_in_flight: int = 0
    bytes_sent: collections.Counter[str] = field(default_factory=collections.Counter)

    def __post_init__(self) -> None:
        for h in self.hosts:
            if not h.startswith("127."):
                raise ValueError("loopback addresses only")
        self.ports: dict[str, int] = {}
        self.routes: dict[str, Handler] = dict(ROUTES)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._in_flight_total = 0
        self._counters: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FaultServer:
        self._thread = threading.Thread(target=self._run, name="httpfaults", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault server did not start")
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._shutdown()))
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str = "/", host: str | None = None) -> str:
        host = host or self.hosts[0]
        return f"http://{host}:{self.ports[host]}{path}"

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def count(self, key: str) -> int:
        """Increment and return a named counter (used by retry/flaky routes)."""
        with self._lock:
            self._counters[key] += 1
            return self._counters[key]

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        try:
            port = 0
            for host in self.hosts:
                try:
                    server = await asyncio.start_server(self._handle, host, port)
                except OSError:  # the port of the first address is taken on this one: any port will do
                    server = await asyncio.start_server(self._handle, host, 0)
                self._servers.append(server)
                self.ports[host] = server.sockets[0].getsockname()[1]
                port = port or self.ports[host]
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._done = asyncio.Event()
        asyncio.get_running_loop().call_later(self.max_lifetime, lambda: asyncio.ensure_future(self._shutdown()))
        self._ready.set()
        await self._done.wait()

    async def _shutdown(self) -> None:
        for s in self._servers:
            s.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._done.set()

    # ------------------------------------------------------------------ connection handling

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        host = ""
        try:
            first = await asyncio.wait_for(reader.read(1), 10)
            if first == b"\x16":  # a TLS ClientHello: answer in plain text, as a misconfigured port would
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            req = _parse(head)
            if req is None:
                return
            host = req.host
            with self._lock:
                self.hits[req.path] += 1
                self.requests.append(req)
                self._in_flight[host] += 1
                self._in_flight_total += 1
                self.max_in_flight_per_host[host] = max(self.max_in_flight_per_host.get(host, 0), self._in_flight[host])
                self.max_in_flight = max(self.max_in_flight, self._in_flight_total)
            handler = self.routes.get(req.path) or self.routes.get(_prefix(req.path)) or page
            await handler(self, req, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, OSError):
            pass
        finally:
            if host:
                with self._lock:
                    self._in_flight[host] -= 1
                    self._in_flight_total -= 1
            with contextlib.suppress(Exception):
                writer.close()
            self._tasks.discard(task)

    def starts(self, host: str | None = None, path_prefix: str = "") -> list[float]:
        with self._lock:
            return [
                r.arrived for r in self.requests if (host is None or r.host == host) and r.path.startswith(path_prefix)
            ]


def _prefix(path: str) -> str:
    return "/" + path.strip("/").split("/")[0] + "/" if path.count("/") > 1 else path


def _parse(head: bytes) -> Request | None:
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    parts = urlsplit(target)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    host = headers.get("host", "").rsplit(":", 1)[0]
    return Request(method, parts.path or "/", query, headers, host, time.monotonic())


async def send(
    server: FaultServer,
    req: Request,
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    content_length: int | None = -1,
) -> None:
    """Write a whole response. content_length=-1: the real length; None: no header (close-delimited)."""
    reason = {200: "OK", 304: "Not Modified", 404: "Not Found", 410: "Gone", 500: "Internal Server Error"}
    lines = [f"HTTP/1.1 {status} {reason.get(status, 'Whatever')}"]
    hdrs = {"Content-Type": "text/html; charset=utf-8", "Connection": "close"}
    hdrs.update(headers or {})
    if content_length is not None:
        hdrs["Content-Length"] = str(len(body) if content_length == -1 else content_length)
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    server.bytes_sent[req.path] += len(body)
    await writer.drain()


async def _wait_for_close(reader: asyncio.StreamReader, limit: float = 60) -> None:
    with contextlib.suppress(TimeoutError, ConnectionError):
        await asyncio.wait_for(reader.read(), limit)


# ---------------------------------------------------------------------- routes


async def page(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    body = f"<!doctype html><title>{r.path}</title><p>Page at {r.path}</p>".encode()
    await send(s, r, w, 200, body)


async def sleep_page(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await asyncio.sleep(float(r.query.get("ms", "100")) / 1000)
    await page(s, r, rd, w)


async def hang(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await _wait_for_close(rd)


async def trickle(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    n, interval = int(r.query.get("n", "100")), float(r.query.get("interval", "1"))
    w.write(f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {n}\r\n\r\n".encode())
    for _ in range(n):
        await asyncio.sleep(interval)
        w.write(b"x")
        s.bytes_sent[r.path] += 1
        await w.drain()


async def loop_redirect(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    target = "/loop/b" if r.path.endswith("/a") else "/loop/a"
    await send(s, r, w, 302, b"", {"Location": target})


async def chain(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    n = int(r.query.get("n", "5"))
    if n <= 0:
        await page(s, r, rd, w)
    else:  # relative Location on purpose: the client must resolve it
        await send(s, r, w, 301 if n % 2 else 302, b"", {"Location": f"chain?n={n - 1}"})


async def status(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await send(s, r, w, int(r.query.get("code", "404")), b"<p>status page</p>")


async def retry(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    times = int(r.query.get("times", "1"))
    if s.count("retry:" + r.query.get("key", "")) <= times:
        code = int(r.query.get("code", "503"))
        await send(s, r, w, code, b"busy", {"Retry-After": r.query.get("after", "1")})
    else:
        await page(s, r, rd, w)


async def flaky(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    if s.count("flaky:" + r.query.get("key", "")) <= int(r.query.get("times", "2")):
        await send(s, r, w, 500, b"oops")
    else:
        await page(s, r, rd, w)


@cache
def bomb(encoding: str, mb: int) -> bytes:
    """`mb` MiB of zeros compressed, built 1 MiB at a time so the server itself stays small."""
    block = bytes(1024 * 1024)
    if encoding == "br":
        import brotli

        c = brotli.Compressor(quality=5)
        return b"".join(c.process(block) for _ in range(mb)) + c.finish()
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join(comp.compress(block) for _ in range(mb)) + comp.flush()


async def gzip_bomb(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    body = bomb("gzip", int(r.query.get("mb", "64")))
    await send(s, r, w, 200, body, {"Content-Encoding": "gzip"})


async def br_bomb(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    body = bomb("br", int(r.query.get("mb", "64")))
    await send(s, r, w, 200, body, {"Content-Encoding": "br"})


async def gzipped(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    body = gzip.compress(b"<p>" + b"hello " * 1000 + b"</p>")
    await send(s, r, w, 200, body, {"Content-Encoding": "gzip"})


async def endless(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
    block = b"<p>" + b"x" * 65530 + b"</p>"
    while True:  # ends when the client goes away (drain raises) or the server shuts down
        w.write(block)
        s.bytes_sent[r.path] += len(block)
        await w.drain()


async def huge_declared(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10000000000\r\n\r\n<p>")
    s.bytes_sent[r.path] += 3
    await w.drain()
    await _wait_for_close(rd)


async def lying_length(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n" + b"a" * 100)
    await w.drain()


async def reset(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000)
    await w.drain()
    await asyncio.sleep(0.05)
    sock = w.get_extra_info("socket")
    # SO_LINGER with a zero timeout turns close() into a TCP RST
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.transport.abort()


async def close_now(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    w.transport.close()


async def binary(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    body = bytes(range(256)) * 64
    await send(s, r, w, 200, body, {"Content-Type": r.query.get("ct", "text/html")})


async def empty(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await send(s, r, w, 200, b"")


async def text(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    await send(s, r, w, 200, b"plain text\n", {"Content-Type": "text/plain"})


async def robots(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    if s.robots is None:
        await send(s, r, w, 404, b"no robots")
    else:
        await send(s, r, w, 200, s.robots.encode(), {"Content-Type": "text/plain"})


async def cond(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
    if r.headers.get("if-none-match") == ETAG or r.headers.get("if-modified-since") == LAST_MODIFIED:
        await send(s, r, w, 304, b"", validators, content_length=None)
    else:
        await send(s, r, w, 200, b"<p>versioned</p>", validators)


async def html(s: FaultServer, r: Request, rd: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    charset = r.query.get("charset")
    ct = "text/html" + (f"; charset={charset}" if charset else "")
    await send(s, r, w, 200, s.pages.get(r.query.get("page", ""), b""), {"Content-Type": ct})


ROUTES: dict[str, Handler] = {
    "/sleep": sleep_page,
    "/hang": hang,
    "/trickle": trickle,
    "/loop/": loop_redirect,
    "/chain": chain,
    "/status": status,
    "/retry": retry,
    "/flaky": flaky,
    "/gzip-bomb": gzip_bomb,
    "/br-bomb": br_bomb,
    "/gzipped": gzipped,
    "/endless": endless,
    "/huge-declared": huge_declared,
    "/lying-length": lying_length,
    "/reset": reset,
    "/close": close_now,
    "/binary": binary,
    "/empty": empty,
    "/text": text,
    "/robots.txt": robots,
    "/cond": cond,
    "/html": html,
}


@contextlib.contextmanager
def serve(hosts: tuple[str, ...] = ("127.0.0.1",), max_lifetime: float = 120.0) -> Iterator[FaultServer]:
    """`with serve() as server:` — a started FaultServer, stopped on exit."""
    with FaultServer(hosts=hosts, max_lifetime=max_lifetime) as server:
        yield server


# ---------------------------------------------------------------------- HTTP/2 over TLS


def make_cert(directory: str) -> tuple[str, str] | None:
    """A self-signed certificate for 127.0.0.1 made with the openssl CLI; None when openssl is missing."""
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("openssl") is None:
        return None
    cert, key = str(Path(directory) / "cert.pem"), str(Path(directory) / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


class H2Server:
    """TLS server offering h2 (then http/1.1) by ALPN; answers every GET over HTTP/2 with a small page.

    Records the ALPN protocol each connection chose (`protocols`) and the paths requested (`paths`)."""

    def __init__(self, cert: str, key: str, *, gzip_body: bool = False, max_lifetime: float = 60.0) -> None:
        import ssl

        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.set_alpn_protocols(["h2", "http/1.1"])
        self.gzip_body = gzip_body
        self.max_lifetime = max_lifetime
        self.protocols: list[str | None] = []
        self.paths: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def url(self, path: str = "/") -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> H2Server:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("h2 server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ctx)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self.max_lifetime)
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import h2.config
        import h2.connection
        import h2.events

        ssl_object = writer.get_extra_info("ssl_object")
        proto = ssl_object.selected_alpn_protocol() if ssl_object else None
        self.protocols.append(proto)
        try:
            if proto != "h2":
                writer.write(b"HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            writer.write(conn.data_to_send())
            while data := await asyncio.wait_for(reader.read(65536), 10):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        headers = {k.decode() if isinstance(k, bytes) else k: v for k, v in event.headers}
                        path = headers[":path"]
                        path = path.decode() if isinstance(path, bytes) else path
                        self.paths.append(path)
                        status, body, extra = "200", f"<p>h2 page {path}</p>".encode(), []
                        if path == "/robots.txt":
                            status, body = "404", b""
                        elif self.gzip_body:
                            body, extra = gzip.compress(body * 50), [("content-encoding", "gzip")]
                        conn.send_headers(
                            event.stream_id,
                            [(":status", status), ("content-type", "text/html; charset=utf-8"),
                             ("content-length", str(len(body))), *extra],
                        )  # fmt: skip
                        conn.send_data(event.stream_id, body, end_stream=True)
                writer.write(conn.data_to_send())
                await writer.drain()
        except (ConnectionError, TimeoutError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
