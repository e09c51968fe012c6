"""Render pages built by JavaScript in a headless Chromium (opt-in: `refman fetch --render`).

Playwright for Python drives the system's Chromium (`executable_path`: Debian's `/usr/bin/chromium`, or
`[render] chromium` in the settings file, or `$REFMAN_CHROMIUM`); refman never downloads a browser
(`playwright install` is not needed and not used). The Python package is the `render` extra:
`pip install 'refman[render]'`.

One browser per run, started on the first page that needs it and closed with the run; one fresh context per
page (no cookies or storage shared between pages), closed after it. The same manners as a plain fetch: the
navigation takes the run's per-host slot and delay (`Fetcher.slot`), the same user agent, the fetch deadline
bounds the whole render, and a rendered DOM larger than the body cap is `too_large`. Images, media and fonts
are not loaded (they cost time and memory and carry no text); downloads are refused; pop-ups are closed as
they open; service workers are blocked. At most `concurrency` pages render at once (default 1: a page costs
about a core while its scripts run)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from refman.vocabulary import FetchOutcome

if TYPE_CHECKING:
    from refman.fetch.client import Fetcher, FetchPolicy

ENV_CHROMIUM = "REFMAN_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BLOCKED_TYPES = frozenset({"image", "media", "font"})
SETTLE_SECONDS = 3.0  # after the DOM is loaded, wait at most this long for the page's text or requests
# The page shows text: as much visible text as a short article (refman.fetch.extract.THIN_CHARS is 80).
_HAS_TEXT = "() => document.body !== null && document.body.innerText.replace(/\\s+/g, '').length >= 400"


class RenderUnavailable(Exception):
    """No browser can be started: the extra is not installed, or no Chromium is found."""


def find_chromium(configured: str | None = None) -> str | None:
    """The Chromium to drive: the setting, $REFMAN_CHROMIUM, else the first of CANDIDATES on PATH."""
    for path in (configured, os.environ.get(ENV_CHROMIUM)):
        if path:
            return path if os.access(path, os.X_OK) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Rendered:
    outcome: FetchOutcome  # ok | too_large | timeout | unsupported | error
    reason: str | None = None
    html: bytes | None = None
    final_url: str | None = None
    http_status: int | None = None
    elapsed_ms: int = 0


class Renderer:
    """The browser of one run."""

    def __init__(self, policy: FetchPolicy, chromium: str | None = None, concurrency: int = 1,
                 args: list[str] | None = None) -> None:
        self.policy = policy
        self.chromium = chromium
        self.args = list(args or [])
        self._sem = asyncio.Semaphore(concurrency)
        self._start_lock = asyncio.Lock()
        self._pw: Any = None
        self._browser: Any = None
        self._broken: str | None = None
        self._spare: asyncio.Future[tuple[Any, Any]] | None = None  # the next page's tab, opened ahead
        self.launches = 0

    async def _ensure(self) -> Any:
        async with self._start_lock:
            if self._broken:
                raise RenderUnavailable(self._broken)
            if self._browser is not None:
                return self._browser
            try:
                from playwright.async_api import async_playwright
            except ImportError:
                self._broken = "rendering needs the render extra: pip install 'refman[render]'"
                raise RenderUnavailable(self._broken) from None
            path = find_chromium(self.chromium)
            if path is None:
                self._broken = ("no Chromium found (install Debian's chromium, or set [render] chromium or "
                                f"${ENV_CHROMIUM})")
                raise RenderUnavailable(self._broken)
            args = ["--disable-dev-shm-usage", "--disable-gpu", "--mute-audio", *self.args]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root (containers, CI)
            try:
                self._pw = await async_playwright().start()
                self._browser = await self._pw.chromium.launch(executable_path=path, headless=True, args=args)
            except Exception as exc:
                self._broken = f"Chromium ({path}) did not start: {str(exc).splitlines()[0]}"
                await self.close()
                raise RenderUnavailable(self._broken) from None
            self.launches += 1
            return self._browser

    async def close(self) -> None:
        if self._spare is not None:
            with contextlib.suppress(Exception):
                context, _page = await self._spare
                await context.close()
            self._spare = None
        with contextlib.suppress(Exception):
            if self._browser is not None:
                await self._browser.close()
        with contextlib.suppress(Exception):
            if self._pw is not None:
                await self._pw.stop()
        self._browser = self._pw = None

    async def render(self, url: str, fetcher: Fetcher | None = None) -> Rendered:
        """The DOM of `url` after its scripts ran. RenderUnavailable when no browser can start; every problem
        of the page itself is an outcome."""
        browser = await self._ensure()
        async with self._sem:
            host = (urlsplit(url).hostname or "").lower()
            slot = fetcher.slot(host) if fetcher is not None else contextlib.nullcontext()
            async with slot:
                started = time.monotonic()
                spare, self._spare = self._spare, None
                context = page = None
                try:
                    async with asyncio.timeout(self.policy.deadline):
                        context, page = await (spare if spare is not None else self._new_tab(browser))
                        result = await self._render(page, url)
                except TimeoutError:
                    result = Rendered(FetchOutcome.TIMEOUT, f"rendering took more than {self.policy.deadline:g} s")
                except Exception as exc:  # the browser crashed or closed: this page fails, the run goes on
                    first = (str(exc).splitlines() or [""])[0]
                    result = Rendered(FetchOutcome.ERROR, f"the browser failed: {type(exc).__name__}: {first}")
                finally:
                    if context is not None:
                        with contextlib.suppress(Exception):
                            await context.close()
                result.elapsed_ms = int((time.monotonic() - started) * 1000)
                # Open the next page's tab now, while this page is extracted and the next one waits for its
                # turn: a new context starts a renderer process (0.3-1.4 s on a busy machine).
                self._spare = asyncio.ensure_future(self._new_tab(browser))
                return result

    async def _new_tab(self, browser: Any) -> tuple[Any, Any]:
        """A fresh context (no cookies or storage of another page) with one page, its rules in place."""
        context = await browser.new_context(
            user_agent=self.policy.user_agent, accept_downloads=False, service_workers="block",
            viewport={"width": 1280, "height": 1600}, java_script_enabled=True,
        )
        main: list[Any] = []

        async def on_page(page: Any) -> None:  # a pop-up or a new tab: not followed
            if main and page is not main[0]:
                await page.close()

        context.on("page", on_page)

        async def route(r: Any) -> None:
            if r.request.resource_type in BLOCKED_TYPES or not r.request.url.startswith(("http:", "https:")):
                await r.abort()
            else:
                await r.continue_()

        await context.route("**/*", route)
        # pop-ups are not followed: window.open opens nothing (a new page that opens anyway is closed)
        await context.add_init_script("window.open = function () { return null; };")
        main.append(await context.new_page())
        return context, main[0]

    async def _render(self, page: Any, url: str) -> Rendered:
        from playwright.async_api import Error as PlaywrightError

        try:
            response = await page.goto(url, wait_until="domcontentloaded")
        except PlaywrightError as exc:
            text = str(exc).splitlines()[0]
            if "Download is starting" in text:
                return Rendered(FetchOutcome.UNSUPPORTED, "the page is a download")
            return Rendered(FetchOutcome.ERROR, f"the browser could not load the page: {text}")
        # Wait until the page shows text (the usual end of a client-side render), or its requests have
        # stopped, or SETTLE_SECONDS: whichever comes first. Waiting for the network alone costs at least
        # half a second more per page, and never ends on pages that poll.
        waits = [asyncio.ensure_future(page.wait_for_function(_HAS_TEXT, timeout=SETTLE_SECONDS * 1000,
                                                              polling=100)),
                 asyncio.ensure_future(page.wait_for_load_state("networkidle",
                                                                timeout=SETTLE_SECONDS * 1000))]
        _done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        html = (await page.content()).encode("utf-8")
        if len(html) > self.policy.max_bytes:
            return Rendered(FetchOutcome.TOO_LARGE, f"the rendered page is over {self.policy.max_bytes} bytes")
        return Rendered(FetchOutcome.OK, None, html, page.url, response.status if response is not None else None)
