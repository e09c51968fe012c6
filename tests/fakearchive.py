"""A local fake of the Internet Archive on 127.0.0.1, following the documented shapes (see refman.fetch.wayback):
the availability API, the memento server (raw `id_` and replay forms, redirecting to the nearest capture as the
real one does) and Save Page Now 2. Used by the tests and by benchmarks/bench_archive_fallback.py."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BANNER = b"<div id='wm-ipp'>Wayback Machine banner: the replay toolbar INJECTED</div>"


def _pad(ts: str) -> int:
    return int((ts + "00000000000000")[:14]) if ts else 99999999999999



class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client closing a kept-alive connection is not news


@dataclass
class FakeArchive:
    captures: dict[str, list[tuple[str, bytes, str]]] = field(default_factory=dict)  # url → [(ts, body, type)]
    # statuses the availability API answers before answering properly: (status, Retry-After or None)
    availability_failures: list[tuple[int, str | None]] = field(default_factory=list)
    availability_down: bool = False  # 503 for ever
    availability_body: bytes | None = None  # answer this instead (a changed API shape)
    save_errors: set[str] = field(default_factory=set)  # URLs whose capture job ends in error
    save_throttle: int = 0  # the first N POST /save answer 429
    pending_polls: int = 1  # status polls answering "pending" before the result
    latency: float = 0.0
    log: list[tuple[float, str, str, dict[str, str]]] = field(default_factory=list)  # (time, method, path, headers)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0  # requests served at once, the most seen
    _ids: Any = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, url: str, ts: str, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.captures.setdefault(url, []).append((ts, body, content_type))

    def start(self) -> FakeArchive:
        archive = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with archive._lock:
                    archive.in_flight += 1
                    archive.max_in_flight = max(archive.max_in_flight, archive.in_flight)
                try:
                    archive._record(self)
                    archive._get(self)
                finally:
                    with archive._lock:
                        archive.in_flight -= 1

            def do_POST(self) -> None:
                archive._record(self)
                length = int(self.headers.get("content-length") or 0)
                archive._post(self, self.rfile.read(length))

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeArchive:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests(self, prefix: str) -> list[tuple[float, str, str, dict[str, str]]]:
        return [r for r in self.log if r[2].startswith(prefix)]

    # ------------------------------------------------------------------ handlers

    def _record(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.log.append((time.monotonic(), h.command, h.path, {k.lower(): v for k, v in h.headers.items()}))
        if self.latency:
            time.sleep(self.latency)

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _closest(self, url: str, ts: str) -> tuple[str, bytes, str] | None:
        caps = self.captures.get(url)
        if not caps:
            return None
        return min(caps, key=lambda c: (abs(_pad(c[0]) - _pad(ts)), c[0]))

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        if parts.path == "/wayback/available":
            self._available(h, parse_qs(parts.query))
        elif parts.path.startswith("/web/"):
            self._memento(h, h.path[len("/web/"):])
        elif parts.path.startswith("/save/status/"):
            self._status(h, parts.path.rsplit("/", 1)[1])
        else:
            self._send(h, 404, b"not found", "text/plain")

    def _available(self, h: BaseHTTPRequestHandler, q: dict[str, list[str]]) -> None:
        with self._lock:
            failure = self.availability_failures.pop(0) if self.availability_failures else None
        if failure is not None:
            status, retry_after = failure
            extra = {"Retry-After": retry_after} if retry_after else {}
            self._send(h, status, b'{"error": "slow down"}', headers=extra)
            return
        if self.availability_down:
            self._send(h, 503, b"<html>Service Unavailable</html>", "text/html")
            return
        if self.availability_body is not None:
            self._send(h, 200, self.availability_body)
            return
        url = q.get("url", [""])[0]
        cap = self._closest(url, q.get("timestamp", [""])[0])
        snaps: dict[str, Any] = {}
        if cap is not None:
            snaps["closest"] = {"status": "200", "available": True, "url": f"{self.base}/web/{cap[0]}/{url}",
                                "timestamp": cap[0]}
        self._send(h, 200, json.dumps({"url": url, "archived_snapshots": snaps}).encode())

    def _memento(self, h: BaseHTTPRequestHandler, rest: str) -> None:
        stamp, _, url = rest.partition("/")
        raw = stamp.endswith("id_")
        ts = stamp.removesuffix("id_")
        cap = self._closest(url, ts)
        if cap is None:
            self._send(h, 404, b"<html>Hrm. The Wayback Machine has not archived that URL.</html>", "text/html")
            return
        if cap[0] != ts:  # the real archive redirects to the capture it holds
            self._send(h, 302, b"", "text/html", {"Location": f"/web/{cap[0]}{'id_' if raw else ''}/{url}"})
            return
        body = cap[1] if raw else cap[1].replace(b"<body>", b"<body>" + BANNER, 1)
        self._send(h, 200, body, cap[2], {"Memento-Datetime": ts})

    def _post(self, h: BaseHTTPRequestHandler, data: bytes) -> None:
        if urlsplit(h.path).path != "/save":
            self._send(h, 404, b"not found", "text/plain")
            return
        with self._lock:
            if self.save_throttle > 0:
                self.save_throttle -= 1
                self._send(h, 429, b'{"status": "error", "message": "too many"}', headers={"Retry-After": "1"})
                return
        url = parse_qs(data.decode()).get("url", [""])[0]
        if not url:
            self._send(h, 400, b'{"status": "error", "status_ext": "error:invalid-url", "message": "no url"}')
            return
        job = f"spn2-{next(self._ids):04x}"
        with self._lock:
            self.jobs[job] = {"url": url, "polls": 0}
        self._send(h, 200, json.dumps({"url": url, "job_id": job}).encode())

    def _status(self, h: BaseHTTPRequestHandler, job: str) -> None:
        with self._lock:
            info = self.jobs.get(job)
            if info is not None:
                info["polls"] += 1
        if info is None:
            self._send(h, 200, b'{"status": "error", "status_ext": "error:not-found", "message": "no such job"}')
        elif info["polls"] <= self.pending_polls:
            self._send(h, 200, json.dumps({"status": "pending", "job_id": job}).encode())
        elif info["url"] in self.save_errors:
            self._send(h, 200, json.dumps({"status": "error", "status_ext": "error:bad-gateway",
                                           "message": "Couldn't resolve host", "job_id": job}).encode())
        else:
            ts = time.strftime("%Y%m%d%H%M%S", time.gmtime())
            self.add(info["url"], ts, b"<html><body>captured</body></html>")
            self._send(h, 200, json.dumps({"status": "success", "timestamp": ts, "original_url": info["url"],
                                           "duration_sec": 0.1, "job_id": job}).encode())

