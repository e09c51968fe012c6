"""Site names that are not evidence of a site's name: generic values a specific hint (a label's site) beats.

- a host name or address (`127.0.0.1:18731`, `www.example.com`): what extractors fall back to when a page names
  no site;
- a legal entity (`Wikimedia Foundation, Inc.`, `Spiceworks Ltd`): the publisher, not the site's name;
- a news section (`U.S.`, `World`, `Technology`) that some sites put in `og:site_name`."""

from __future__ import annotations

import re

_HOST_LIKE = re.compile(r"(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?|\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?|\[[0-9a-f:]+\](?::\d+)?|"
                        r"localhost(?::\d+)?", re.IGNORECASE)
_LEGAL = re.compile(r"(?:,?\s+(?:Inc|Ltd|LLC|L\.L\.C|GmbH|AG|S\.A|SA|S\.L|B\.V|N\.V|Corp|Corporation|Limited|PLC|"
                    r"Pty|Co)\.?|\bFoundation(?:,?\s+Inc\.?)?|有限公司|股份有限公司|株式会社)\s*$", re.IGNORECASE)
# fmt: off
_SECTIONS = frozenset({
    "u.s.", "us", "u.s", "world", "business", "markets", "technology", "tech", "politics", "sports", "sport",
    "opinion", "health", "science", "entertainment", "europe", "asia", "asia pacific", "china", "americas",
    "africa", "middle east", "uk", "lifestyle", "culture", "economy", "finance", "news", "breaking news",
    "local", "national", "international", "legal", "environment", "sustainability", "media", "arts",
    "travel", "food", "style", "video", "podcasts", "home", "latest", "top news", "world news", "us news",
})
# fmt: on


def is_host_like(value: str) -> bool:
    return bool(_HOST_LIKE.fullmatch(value.strip()))


_ADDRESS = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?|\[?[0-9a-f:]*:[0-9a-f:]*\]?(?::\d+)?|localhost(?::\d+)?",
                      re.IGNORECASE)


def is_address(value: str) -> bool:
    """An IP address or localhost (with a port or not): it names no site at all."""
    return bool(_ADDRESS.fullmatch(value.strip()))


def is_legal_entity(value: str) -> bool:
    return bool(_LEGAL.search(value.strip()))


def is_section_name(value: str) -> bool:
    return " ".join(value.split()).casefold() in _SECTIONS


def is_generic_site(value: object) -> bool:
    """A site value a specific hint beats (see the module docstring)."""
    return isinstance(value, str) and (is_host_like(value) or is_legal_entity(value) or is_section_name(value))
