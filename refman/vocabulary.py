"""The words many modules of refman share, defined once: what a fetch can end in, where a field value came from
and how much it counts, where a snapshot came from, the CJK character ranges, and the partial ISO 8601 date.

Members of the enums are `str`s (StrEnum): they are stored in the catalog, written to JSON and compared with
plain strings exactly as the words themselves. Standard library only: `refman search` and `refman list` may
import this on their start-up path."""

from __future__ import annotations

import re
from enum import StrEnum


class FetchOutcome(StrEnum):
    """How one attempt to get a page ended: a snapshot's `outcome`, and (with "new", never fetched) a source's
    `status`. The client (refman.fetch.client) decides the network words, the extractor (refman.fetch.extract)
    the content words."""

    OK = "ok"  # text extracted
    THIN = "thin"  # almost no text (a page built by JavaScript, a wall, an image-only PDF); what there is is kept
    EMPTY = "empty"  # the body is empty
    UNSUPPORTED = "unsupported"  # a type refman does not archive (images, archives, encrypted PDFs)
    ERROR = "error"  # an unsupported URL, an extractor failure, anything unexpected
    NOT_MODIFIED = "not_modified"  # 304 to a conditional request: the archived copy is current
    DEAD = "dead"  # 404 or 410: the page is gone
    HTTP_ERROR = "http_error"  # another 4xx, a 5xx after retries, a 3xx without a usable Location
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"  # over the size cap (transferred or decompressed)
    REDIRECT_LOOP = "redirect_loop"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    ROBOTS = "robots"  # robots.txt disallows it
    DNS = "dns"
    REFUSED = "refused"
    RESET = "reset"  # connection reset or closed before any response
    TLS = "tls"
    TRUNCATED = "truncated"  # closed before the declared body was complete, or a broken compressed stream
    SAVED = "saved"  # a Save Page Now request made an Internet Archive capture (a bodiless `wayback` snapshot)


# Snapshots whose body is the source's archived content.
GOOD_OUTCOMES: tuple[FetchOutcome, ...] = (FetchOutcome.OK, FetchOutcome.THIN)

# A source that was never fetched has this status (every other status is a FetchOutcome).
NOT_FETCHED = "new"


class RobotsOutcome(StrEnum):
    """What reading an origin's robots.txt gave (robots_txt.outcome, migration 0014). Only `parsed` restricts
    anything: the others mean "allow all" (refman.fetch.client explains why)."""

    PARSED = "parsed"  # a 2xx answer: its rules apply
    MISSING = "missing"  # a 4xx, or no usable answer (a redirect without Location, too many redirects)
    UNAVAILABLE = "unavailable"  # a 5xx, a timeout, an unreachable server: asked again sooner


class SnapshotOrigin(StrEnum):
    """Where an archived copy came from (snapshot.origin, migration 0005)."""

    LIVE = "live"  # refman fetched the page
    WAYBACK = "wayback"  # an Internet Archive capture
    RENDER = "render"  # the DOM of the page rendered in a browser
    ADAPTER = "adapter"  # a site adapter's JSON endpoint
    CAPTURE = "capture"  # a page saved in the user's browser and uploaded


class Origin(StrEnum):
    """Where one piece of field evidence came from (field_value.origin). A site adapter's evidence has the
    origin `adapter:<name>` (see `adapter_origin`)."""

    USER = "user"  # a pin: `refman set`; fetches never overwrite it
    IMPORT = "import"  # a bibliography the user curated in another manager
    PDF = "pdf"
    PAGE_CITATION = "page:citation"  # Highwire citation_* tags
    PAGE_JSON_LD = "page:json-ld"
    PAGE_DC = "page:dc"  # Dublin Core
    PAGE_OG = "page:og"  # OpenGraph
    PAGE_TWITTER = "page:twitter"  # twitter:* cards
    PAGE_META = "page:meta"  # plain <meta> and <title>
    PAGE_TEXT = "page:text"  # read from the page's text: the <h1>, a byline, a date printed under the title
    PAGE_TRAFILATURA = "page:trafilatura"  # trafilatura's guesses
    LABEL = "label"  # hints from the labels notes give the source
    LINK_TEXT = "link-text"  # the text a note shows for a link whose label is a link id
    PAGE_HOST = "page:host"  # a site name read off the host: the page named none


ADAPTER_PREFIX = "adapter:"


def adapter_origin(name: str) -> str:
    """The origin of the evidence a site adapter (refman.fetch.adapters) gives: `adapter:<name>`."""
    return f"{ADAPTER_PREFIX}{name}"


# Which value wins: the higher rank (refman.merge). Unknown `page:*` origins rank PAGE_RANK, adapters as
# embedded citation metadata, anything else 0.
ORIGIN_RANK: dict[str, int] = {
    Origin.USER: 100,
    Origin.IMPORT: 80,
    Origin.PDF: 70,
    Origin.PAGE_CITATION: 65,
    Origin.PAGE_JSON_LD: 60,
    Origin.PAGE_DC: 55,
    Origin.PAGE_OG: 50,
    Origin.PAGE_TWITTER: 48,
    Origin.PAGE_META: 45,
    Origin.PAGE_TRAFILATURA: 30,
    Origin.LABEL: 10,
    Origin.LINK_TEXT: 5,
    Origin.PAGE_HOST: 3,
}
PAGE_RANK = 40  # page:text and any other page:* origin


def origin_rank(origin: str) -> int:
    """How much evidence of this origin counts (higher wins)."""
    if origin in ORIGIN_RANK:
        return ORIGIN_RANK[origin]
    if origin.startswith(ADAPTER_PREFIX):  # a site's own article API: as citation_* tags
        return ORIGIN_RANK[Origin.PAGE_CITATION]
    return PAGE_RANK if origin.startswith("page:") else 0


# CJK characters, as ranges for a regular-expression character class ("[" + ... + "]").
KANA = "\u3040-\u30ff"  # Hiragana and Katakana
HAN_EXT_A = "\u3400-\u4dbf"  # CJK Unified Ideographs Extension A
HAN_UNIFIED = "\u4e00-\u9fff"  # CJK Unified Ideographs
HANGUL = "\uac00-\ud7af"  # Hangul syllables
HAN_COMPATIBILITY = "\uf900-\ufaff"  # CJK Compatibility Ideographs
HAN_EXT_B_TO_F = "\U00020000-\U0002ffff"  # Extensions B–F (the Supplementary Ideographic Plane)
# Han characters of the Basic Multilingual Plane.
HAN = HAN_EXT_A + HAN_UNIFIED + HAN_COMPATIBILITY
# Letters of Chinese, Japanese and Korean words in the Basic Multilingual Plane (names, titles).
CJK_LETTERS = KANA + HAN_EXT_A + HAN_UNIFIED + HANGUL
# Every character the search index treats as a token of its own (the FTS5 triggers of migration 0002 use the
# same set, frozen there).
CJK_INDEXED = KANA + HAN_EXT_A + HAN_UNIFIED + HANGUL + HAN_COMPATIBILITY + HAN_EXT_B_TO_F


# An ISO 8601 calendar date as refman stores it, possibly partial: 2024, 2024-06, 2024-06-24. The pattern is
# for embedding; `PARTIAL_DATE.fullmatch(text)` tests a whole string; refman.timeutil.valid_partial_date also
# checks that it is a real day.
PARTIAL_DATE_PATTERN = r"\d{4}(?:-\d{2}(?:-\d{2})?)?"
PARTIAL_DATE = re.compile(PARTIAL_DATE_PATTERN)


def __getattr__(name: str) -> re.Pattern[str]:
    # CJK_LETTER, compiled on first use (~1 ms: sre builds a 64k-entry table for the CJK ranges): the search
    # start-up path imports this module but never needs it.
    if name == "CJK_LETTER":
        pattern = globals()["CJK_LETTER"] = re.compile(f"[{CJK_LETTERS}]")
        return pattern
    raise AttributeError(name)
