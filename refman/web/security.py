"""What keeps a local web app that shows hostile pages safe.

- **Host check** (DNS rebinding): a page on evil.example whose name later resolves to 127.0.0.1 sends
  `Host: evil.example`; only the names of the bound address are answered.
- **Token**: off loopback every request needs it (`Authorization: Bearer T`, or `?token=T` once, which sets an
  HttpOnly cookie); on loopback writes need it, or a same-origin request carrying the CSRF token that the app's
  own pages embed (stateless: an HMAC of the run's secret, which another origin can never read).
- **Snapshots** are served only by the second listener, under links signed with the run's secret, with
  `Content-Security-Policy: sandbox` (an opaque origin: no cookies, no storage, no same-origin requests, no
  forms, no top navigation; scripts only when the user asks) and nothing fetched from the network.
- Every app response forbids framing and sniffing; pages run only the app's own scripts."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

TOKEN_COOKIE = "refman_token"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")

APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# Archived pages load nothing from the network (nothing phones home, nothing changes under the reader): what a
# SingleFile capture inlines shows, remote images and styles of a fetched page do not.
SNAPSHOT_CSP = ("sandbox{scripts}; default-src 'none'; img-src data: blob:; media-src data: blob:; "
                "style-src 'unsafe-inline' data:; font-src data:; script-src 'unsafe-inline' data: blob:; "
                "form-action 'none'; frame-ancestors 'self'")


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host.strip("[]") in ("0.0.0.0", "::", "")


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


@dataclass
class Guard:
    """The run's security settings: bound address, ports, token and secret."""

    host: str
    port: int
    snapshot_port: int
    token: str
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def reads_need_token(self) -> bool:
        return not self.loopback

    @property
    def origin(self) -> str:
        return f"http://{_authority(self.host, self.port)}"

    @property
    def snapshot_host(self) -> str:
        # Another host name as well as another port: cookies ignore ports, host names they do not.
        return "snapshots.localhost" if self.loopback else self.host

    @property
    def snapshot_origin(self) -> str:
        return f"http://{_authority(self.snapshot_host, self.snapshot_port)}"

    def app_hosts(self) -> set[str]:
        names = set(LOOPBACK_NAMES) if self.loopback else {self.host}
        return {_authority(n.strip("[]"), self.port) for n in names} | {f"{n}:{self.port}" for n in names}

    def snapshot_hosts(self) -> set[str]:
        names = {self.snapshot_host, self.host.strip("[]")} | (set(LOOPBACK_NAMES) if self.loopback else set())
        return {_authority(n.strip("[]"), self.snapshot_port) for n in names}

    def host_allowed(self, host_header: str, snapshot: bool) -> bool:
        host = host_header.strip().lower()
        if not host:
            return False
        if is_wildcard(self.host):  # bound to every address: names are unknown, the token guards everything
            return host.rsplit(":", 1)[-1] == str(self.snapshot_port if snapshot else self.port)
        return host in (self.snapshot_hosts() if snapshot else self.app_hosts())

    # --- tokens ---------------------------------------------------------------------------------------------

    def _mac(self, message: str) -> str:
        return hmac.new(self.secret, message.encode(), hashlib.sha256).hexdigest()[:32]

    @property
    def csrf_token(self) -> str:
        return self._mac("csrf")

    def token_ok(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.token.encode())

    def csrf_ok(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(str(value).encode(), self.csrf_token.encode())

    def snapshot_url(self, snapshot_id: int, scripts: bool = False) -> str:
        kind = "s" if scripts else "n"
        return f"{self.snapshot_origin}/{snapshot_id}/{kind}/{self._mac(f'snapshot:{snapshot_id}:{kind}')}"

    def snapshot_link_ok(self, snapshot_id: int, kind: str, signature: str) -> bool:
        return hmac.compare_digest(signature.encode(), self._mac(f"snapshot:{snapshot_id}:{kind}").encode())


def _headers(scope: Mapping[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def bearer(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return headers.get("x-refman-token")


def cookie(headers: dict[str, str], name: str) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no cookie
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def same_origin(guard: Guard, headers: dict[str, str]) -> bool:
    """The request comes from the app's own pages (browsers send Origin with every POST, PATCH, DELETE)."""
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site request: browsers always send Origin on writes
    host = headers.get("host", "").lower()
    return origin.lower() == f"http://{host}" and guard.host_allowed(host, snapshot=False)


def request_authorised(guard: Guard, headers: dict[str, str]) -> bool:
    return guard.token_ok(bearer(headers)) or guard.token_ok(cookie(headers, TOKEN_COOKIE))


class GuardMiddleware:
    """Pure ASGI: host check, token for reads off loopback (with `?token=` → cookie), security headers.
    Writes are checked per route (`check_write`): a form's CSRF field is in its body."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if not self.guard.host_allowed(headers.get("host", ""), snapshot=False):
            await _plain(send, 400, "refman: this server answers only to its own address (bad Host header)")
            return
        if self.guard.reads_need_token and not request_authorised(self.guard, headers):
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            given = query.pop("token", None)
            if given is not None and self.guard.token_ok(given) and scope["method"] == "GET":
                rest = urlencode(query)
                where = scope["path"] + (f"?{rest}" if rest else "")
                await send({"type": "http.response.start", "status": 303, "headers": [
                    (b"location", where.encode("latin-1")),
                    (b"set-cookie", f"{TOKEN_COOKIE}={self.guard.token}; HttpOnly; SameSite=Strict; Path=/"
                     .encode()),
                    (b"cache-control", b"no-store")]})
                await send({"type": "http.response.body", "body": b""})
                return
            await _plain(send, 401, "refman: this server needs its token (Authorization: Bearer TOKEN, or open"
                         " the address printed by refman serve)")
            return

        started = time.perf_counter()

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                spent = (time.perf_counter() - started) * 1000
                extra = [(b"server-timing", f"app;dur={spent:.2f}".encode()),
                         (b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                         (b"referrer-policy", b"same-origin"), (b"content-security-policy", APP_CSP.encode()),
                         (b"cross-origin-opener-policy", b"same-origin"),
                         (b"cross-origin-resource-policy", b"same-origin")]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _plain(send: Any, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})


def write_allowed(guard: Guard, headers: dict[str, str], csrf_field: str | None) -> bool:
    """A write is the token's, or a same-origin request with the CSRF token (header or form field)."""
    if request_authorised(guard, headers) and (bearer(headers) is not None or same_origin(guard, headers)):
        return True
    return same_origin(guard, headers) and guard.csrf_ok(headers.get(CSRF_HEADER) or csrf_field)
