"""`refman serve`: one uvicorn server, two listening sockets.

The app's socket serves the pages and the API; the second socket (port+1, or any free port with `--port 0`)
serves raw snapshots only. One ASGI callable routes by the socket a request arrived on, so a snapshot can never
be reached on the app's origin, whatever its path."""

from __future__ import annotations

import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from refman.errors import RefmanError, UsageError
from refman.web.security import Guard, is_loopback


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise RefmanError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class Router:
    """Sends each request to the app or to the snapshot listener by the local port it came in on."""

    def __init__(self, app: Any, snapshots: Any, snapshot_port: int) -> None:
        self.app, self.snapshots, self.snapshot_port = app, snapshots, snapshot_port

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        server = scope.get("server") or (None, None)
        if scope["type"] == "http" and server[1] == self.snapshot_port:
            await self.snapshots(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def build(location: Path | str, host: str, port: int, token: str | None) -> tuple[Any, Guard, list[socket.socket]]:
    """The ASGI app, its guard and its two bound sockets."""
    from refman.web.app import create_app
    from refman.web.security import GuardMiddleware
    from refman.web.snapshots import SnapshotApp

    if token is not None and len(token.strip()) < 8:
        raise UsageError("--token must be at least 8 characters")
    main = _listen(host, port)
    try:
        snap = _listen(host, port + 1 if port else 0)
    except RefmanError:
        snap = _listen(host, 0)
    guard = Guard(host=host.strip("[]"), port=main.getsockname()[1], snapshot_port=snap.getsockname()[1],
                  token=(token or "").strip() or secrets.token_urlsafe(24))
    app = GuardMiddleware(create_app(location, guard), guard)
    return Router(app, SnapshotApp(location, guard), guard.snapshot_port), guard, [main, snap]


def run(location: Path | str, *, host: str = "127.0.0.1", port: int = 8737, token: str | None = None,
        open_browser: bool = False) -> None:
    import uvicorn

    given = token
    asgi, guard, sockets = build(location, host, port, token)
    shown = f"[{guard.host}]" if ":" in guard.host else guard.host
    address = f"http://{shown}:{guard.port}/"
    print(f"serving {address}", flush=True)
    if not is_loopback(guard.host):
        print(f"token {guard.token}  (open {address}?token={guard.token}; scripts send"
              " 'Authorization: Bearer TOKEN')", flush=True)
    elif given is None:
        print(f"refman: API token for writes from scripts and SingleFile: {guard.token}", file=sys.stderr,
              flush=True)
    print(f"refman: snapshots are served from {guard.snapshot_origin}/ (Ctrl-C stops)", file=sys.stderr,
          flush=True)
    config = uvicorn.Config(asgi, log_level="warning", access_log=False, lifespan="off", server_header=False,
                            proxy_headers=False, timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(0.3, webbrowser.open, args=(address,)).start()
    try:
        server.run(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()
