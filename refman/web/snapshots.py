"""The second listener: raw archived pages, as data, on an origin that is not the app's.

`GET /{snapshot_id}/{n|s}/{signature}`: an archived HTML page is shown in a sandboxed iframe of a script-less
wrapper page (`sandbox` without `allow-top-navigation`, `allow-popups`, `allow-forms` or `allow-same-origin`;
`allow-scripts` only for `s` links, which the user asks for): a top-level sandboxed page could still navigate
itself, a framed one cannot navigate anything. `…/raw` is the body as archived, with its own content type,
`Content-Security-Policy: sandbox` (the same flags) and `nosniff`; a browser that asks for it as a top-level
document is sent to the wrapper. Other content types (PDF, text) are served as they are, sandboxed. Links are
signed by the app (Guard.snapshot_url): this listener needs no cookie and no token, and serves nothing it was
not asked for by the app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from refman.web.security import SNAPSHOT_CSP, Guard, _headers, _plain

_PATH = re.compile(r"^/(\d{1,12})/([ns])/([0-9a-f]{32})(/raw)?$")
_WRAPPER = """<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>archived copy</title><style>html,body{{margin:0;height:100%}}iframe{{border:0;width:100%;height:100%}}</style>
</head><body><iframe src="{src}" sandbox="{flags}" referrerpolicy="no-referrer"></iframe></body></html>"""
# What a browser may render as a document; anything else is offered as a download.
_INLINE = ("text/html", "application/xhtml+xml", "text/plain", "application/pdf", "text/markdown")


class SnapshotApp:
    def __init__(self, location: Path | str, guard: Guard) -> None:
        self.location = location
        self.guard = guard

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = _headers(scope)
        if not self.guard.host_allowed(headers.get("host", ""), snapshot=True):
            await _plain(send, 400, "refman: bad Host header")
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, "refman: snapshots are read-only")
            return
        m = _PATH.match(scope["path"])
        if not m or not self.guard.snapshot_link_ok(int(m.group(1)), m.group(2), m.group(3)):
            await _plain(send, 404, "refman: no such snapshot link (open snapshots from the app)")
            return
        import anyio

        from refman.errors import RefmanError

        try:
            body, content_type = await anyio.to_thread.run_sync(self._load, int(m.group(1)))
        except RefmanError as exc:
            await _plain(send, 404, f"refman: {exc}")
            return
        kind = content_type.split(";", 1)[0].strip().lower()
        flags = "allow-scripts" if m.group(2) == "s" else ""
        html = kind in ("text/html", "application/xhtml+xml")
        raw = m.group(4) is not None
        if html and (not raw or headers.get("sec-fetch-dest") == "document"):
            base = scope["path"].removesuffix("/raw")
            body = _WRAPPER.format(src=f"{base}/raw", flags=flags).encode()
            content_type = "text/html; charset=utf-8"
            csp = ("default-src 'none'; style-src 'unsafe-inline'; frame-src 'self';"
                   " script-src 'none'; form-action 'none'; frame-ancestors 'none'")
        else:
            csp = SNAPSHOT_CSP.format(scripts=f" {flags}" if flags else "")
        out = [
            (b"content-type", content_type.encode("latin-1", "replace")),
            (b"content-length", str(len(body)).encode()),
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"cache-control", b"private, max-age=3600"),
        ]
        if kind not in _INLINE:
            out.append((b"content-disposition", f"attachment; filename=snapshot-{m.group(1)}".encode()))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    def _load(self, snapshot_id: int) -> tuple[bytes, str]:
        from refman.reader import raw_snapshot
        from refman.store import open_store

        with open_store(self.location) as store:
            return raw_snapshot(store, snapshot_id)
