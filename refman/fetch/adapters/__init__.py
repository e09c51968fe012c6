"""Site adapters: the article behind a page built by JavaScript, from the public JSON endpoint the page calls.

Some sites serve every article page as the same empty shell and load the article from a JSON API in the
browser. For those, an adapter asks that API directly (through the run's polite `Fetcher`: same per-host limits,
delay, robots.txt, timeouts and size caps as the page) and returns what an extraction of the page would:
an `Article` (title, authors, date, site, language, the article's HTML), turned into text, Markdown and
citation evidence of origin `adapter:<name>` (ranked with a page's embedded citation metadata).

An adapter that meets an answer it does not understand (the site changed its API) raises `AdapterFailed`;
the run records an `adapter_failed` snapshot with the reason and keeps the plain fetch's result.

**Adding an adapter.** Write a module here with a class that has

* `name` (the origin suffix: `adapter:<name>`) and `always` (True: the page is always a shell, so ask the API
  even when the plain fetch found some text; False: only when the page came back thin or refused);
* `match(url) -> str | None`: the article id in a URL of the site, else None;
* `async fetch(article_id, url, get) -> Article`: call the API with `get(ApiCall)` (which returns a
  `refman.fetch.client.FetchResult`), check the answer's shape, raise `AdapterFailed` when it is not the one
  documented in the module (say where the shape comes from);

then add an instance to `REGISTRY` below and a test against a local fake of the documented answers
(tests/test_adapters.py). The site's base URL is a setting (`[adapters] <name> = "https://…"`, or
`$REFMAN_ADAPTER_<NAME>_URL`) so that tests can point it at the fake; a URL on that base's host matches too."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from refman.fetch.client import FetchResult


class AdapterFailed(Exception):
    """The site's API answered something this adapter does not understand, or refused."""


@dataclass
class ApiCall:
    url: str
    method: str = "GET"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Article:
    """What an adapter found: the same facts a page's metadata and main text would give."""

    title: str
    html: str  # the article body (HTML, or plain text in <p>s)
    authors: list[str] = field(default_factory=list)  # as written (people or organisations)
    issued: str | None = None  # ISO 8601 date
    container_title: str | None = None
    language: str | None = None
    abstract: str | None = None
    type: str | None = None  # CSL type, when the site says
    api_url: str | None = None  # the endpoint that gave the article (recorded in the snapshot)


Get = Callable[[ApiCall], Awaitable["FetchResult"]]


class Adapter(Protocol):
    name: str
    always: bool

    def match(self, url: str) -> str | None: ...

    async def fetch(self, article_id: str, url: str, get: Get) -> Article: ...


def base_url(name: str, default: str, settings: dict[str, Any] | None = None) -> str:
    """An adapter's site base URL: $REFMAN_ADAPTER_<NAME>_URL, else `[adapters] <name>`, else `default`."""
    env = os.environ.get(f"REFMAN_ADAPTER_{name.upper()}_URL")
    if env:
        return env.rstrip("/")
    if settings is None:
        from refman.config import load_settings

        settings = load_settings()
    from refman.config import setting

    return str(setting(settings, "adapters", name, default)).rstrip("/")


def registry(settings: dict[str, Any] | None = None) -> list[Adapter]:
    """The adapters, with their base URLs from the settings."""
    from refman.fetch.adapters.infoq import InfoQ
    from refman.fetch.adapters.stackexchange import StackExchange

    return [InfoQ(base_url("infoq", InfoQ.BASE, settings)),
            StackExchange(base_url("stackexchange", StackExchange.BASE, settings))]


def adapter_for(url: str, adapters: list[Adapter]) -> tuple[Adapter, str] | None:
    """The adapter for `url` and the article id it found there, or None."""
    for adapter in adapters:
        article_id = adapter.match(url)
        if article_id:
            return adapter, article_id
    return None


def decode_json(res: FetchResult, what: str) -> Any:
    """The JSON of an API answer, or AdapterFailed saying what came back instead."""
    import json

    if not res.ok:
        raise AdapterFailed(f"{what}: {res.reason or res.outcome}")
    try:
        return json.loads(res.body or b"")
    except ValueError:
        raise AdapterFailed(f"{what}: the answer is not JSON ({res.content_type or 'no type'})") from None


def host_of(url: str) -> str:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "").lower()
