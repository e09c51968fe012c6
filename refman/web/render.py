"""Archived text → HTML that is safe on the app's origin.

The Markdown is refman's own extraction, but its words come from the archived page: markdown-it-py renders it
with raw HTML off (`<script>` in a page's text stays text), and nh3 (the Ammonia sanitiser) then keeps only
text-formatting tags, http(s) links (opened with `rel="noopener noreferrer nofollow"`) and no images (the
reader loads nothing from the network)."""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

from refman.search import HL_CLOSE, HL_OPEN

_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "em", "strong", "del", "s",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "sup", "sub",
}


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table") \
        .enable("strikethrough")


def markdown_html(text: str, title: str | None = None) -> str:
    """Sanitised HTML for refman's extracted Markdown; a first heading that repeats `title` (the page above
    shows it already) is left out."""
    import nh3

    text = text or ""
    if title:
        first, _, rest = text.lstrip().partition("\n")
        if first.lstrip("#").strip() == title.strip() and first.startswith("#"):
            text = rest
    rendered = _markdown().render(text)
    return nh3.clean(
        rendered, tags=_TAGS, attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https"}, link_rel="noopener noreferrer nofollow", attribute_filter=_absolute_links,
    )


def _absolute_links(tag: str, attribute: str, value: str) -> str | None:
    """Only absolute web links: a relative or empty href in archived text (`[]()`) would point into the web app."""
    if tag == "a" and attribute == "href" and not value.startswith(("http://", "https://")):
        return None
    return value


def snippet_html(snippet: str) -> str:
    """A search snippet with its highlight markers as <mark>, everything else escaped."""
    return html.escape(snippet).replace(HL_OPEN, "<mark>").replace(HL_CLOSE, "</mark>")
