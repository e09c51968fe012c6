"""Citation keys: readable, ASCII, unique (case-insensitively), and stable.

The default key is Better BibTeX's `[auth:lower][year][shorttitle3]`, e.g. `myers2024riseaidata`:
- auth: the first author's family name; an organisation (literal name) gives its first significant word; with no
  author, the publisher, else the site (container-title), else the host's name (`nytimes` for www.nytimes.com);
- year: the year issued, omitted when unknown;
- shorttitle3: the first three significant title words (stop words skipped); a run of Chinese characters counts as
  one word and gives the pinyin of at most its first four characters;
- accents are folded (NFKD), Chinese is transliterated with pypinyin, everything else non-ASCII is dropped; the
  key is lower-case `[a-z0-9]`, at most 30 characters before a clash suffix (`ref` when nothing is left);
- clashes with any existing key (compared case-insensitively) get a suffix: a, b, … z, aa, ab, ….

Stability: a key is stored in `source.citekey` the first time it is needed (export, cite, show) and is never
recomputed by itself; only `rekey` (on request) and `pin_citekey` (the user's own key) change a stored key."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from refman.citation.item import CitationItem, CSLName
from refman.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from refman.store.citation import CitationStore
    from refman.store.protocol import Store

MAX_BASE = 30
MAX_AUTH = 16
STOP_WORDS = frozenset(
    [
        "a", "an", "the", "of", "on", "in", "and", "for", "to", "with", "at", "by", "from", "as", "or",
        "but", "nor", "vs", "via", "into", "onto", "over", "under", "about", "is", "are", "was", "be",
        "been", "being", "it", "its", "this", "that", "these", "those", "your", "our", "my", "their", "his",
        "her", "what", "why", "how", "when", "where", "who", "which", "do", "does", "did", "can", "will",
        "not", "no", "yes", "than", "then", "so", "up", "out", "off", "de", "la", "le", "les", "des", "du",
        "el", "los", "las", "der", "die", "das", "und", "von", "zu",
    ]
)
_ORG_STOP = STOP_WORDS | {"inc", "ltd", "llc", "co", "corp", "gmbh", "team", "blog", "news", "official"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W_]+(?:['’][^\W_]+)*")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_PINNED = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_:.+\-]*$")


@lru_cache(maxsize=4096)
def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin  # imported lazily: loading its dictionary takes ~0.3 s

    return "".join(lazy_pinyin(text))


@lru_cache(maxsize=65536)  # names and title words repeat across a catalog
def fold(text: str) -> str:
    """ASCII lower-case letters and digits only: accents folded, Chinese as pinyin, the rest dropped."""
    if text.isascii():
        return _NOT_ALNUM.sub("", text.lower())
    if _HAN.search(text):
        text = _HAN.sub(lambda m: _pinyin(m.group(0)), text)
    decomposed = unicodedata.normalize("NFKD", text)
    special = {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
    out = []
    for ch in decomposed.lower():
        if ch.isascii():
            if ch.isalnum():
                out.append(ch)
        elif ch in special:
            out.append(special[ch])
    return "".join(out)


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


@lru_cache(maxsize=16384)  # sites and publishers repeat across a catalog
def _first_significant(text: str, stop: frozenset[str] = _ORG_STOP) -> str:
    for word in _words(text):
        if _HAN.fullmatch(word):
            return fold(word[:4])
        folded = fold(word)
        if folded and folded not in stop:
            return folded
    return fold(text)


# Hosts that give each user a site of their own under a subdomain, beyond the Public Suffix List's private
# section (which has github.io, gitlab.io, blogspot.com, wordpress.com …, and which tld ships offline).
SHARED_HOSTS = frozenset({
    "medium.com", "substack.com", "wordpress.com", "blogspot.com", "tumblr.com", "ghost.io", "hashnode.dev",
    "notion.site", "readthedocs.io", "netlify.app", "vercel.app", "pages.dev", "herokuapp.com", "wixsite.com",
    "weebly.com", "livejournal.com", "typepad.com", "github.io", "gitlab.io", "bearblog.dev", "micro.blog",
})


@lru_cache(maxsize=16384)
def _host_name(url: str | None) -> str:
    """The site's own name, for keys of sources with neither author nor publisher: the registrable domain's
    label (`nytimes` for www.nytimes.com, `bbc` for bbc.co.uk), the user's site under a shared host
    (`alice` for alice.github.io or alice.substack.com), nothing for an IP address or a bare host name."""
    host = (urlsplit(url or "").hostname or "").lower().rstrip(".")
    if not host or _is_ip(host) or "." not in host:
        return ""
    from tld import get_tld
    from tld.exceptions import TldBadUrl, TldDomainNotFound

    try:
        parts = get_tld(host, fix_protocol=True, as_object=True, search_private=True)
    except (TldBadUrl, TldDomainNotFound, ValueError):
        labels = [label for label in host.split(".") if label]
        return fold(labels[-2]) if len(labels) >= 2 else ""
    sub = [label for label in parts.subdomain.split(".") if label and label != "www"]  # type: ignore[union-attr]
    if sub and parts.fld in SHARED_HOSTS:  # type: ignore[union-attr]
        return fold(sub[-1])
    return fold(parts.domain)  # type: ignore[union-attr]


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class KeyFields(Protocol):
    """What a default key is made of: a CitationItem, or refman.citation.build.KeySource (the same fields read
    straight from a row, without building the whole item)."""

    @property
    def author(self) -> list[CSLName]: ...
    @property
    def issued(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def publisher(self) -> str | None: ...
    @property
    def container_title(self) -> str | None: ...
    @property
    def URL(self) -> str | None: ...


def auth_part(item: KeyFields) -> str:
    if item.author:
        first = item.author[0]
        if first.family:
            family = first.family
            if first.non_dropping_particle:
                family = f"{first.non_dropping_particle}{family}"
            return fold(family)[:MAX_AUTH]
        if first.literal:
            return _first_significant(first.literal)[:MAX_AUTH]
    for org in (item.publisher, item.container_title):
        if org and _first_significant(org):
            return _first_significant(org)[:MAX_AUTH]
    return _host_name(item.URL)[:MAX_AUTH]


def title_words(title: str | None, count: int = 3) -> list[str]:
    parts: list[str] = []
    words = 0
    if not title:
        return parts
    for match in _TOKEN.finditer(title):
        if words >= count:
            break
        folded, weight = _title_word(match.group())
        if weight:
            parts.append(folded)
            words += weight
    return parts


@lru_cache(maxsize=65536)  # title words repeat across a catalog
def _title_word(word: str) -> tuple[str, int]:
    """A title word → (its key part, how many words it counts for): a Chinese phrase gives the pinyin of its
    first four characters and stands for about two English words; a stop word or one with no ASCII letter
    left counts for none."""
    if _HAN.fullmatch(word):
        return fold(word[:4]), 2
    folded = fold(word)
    if folded and folded not in STOP_WORDS:
        return folded, 1
    return "", 0


def base_key(item: KeyFields) -> str:
    """The key an item would get with no clash (without suffix). Title words that do not fit in MAX_BASE are
    left out whole (only a first word that alone is too long is cut)."""
    key = auth_part(item) + (item.issued[:4].lstrip("-") if item.issued else "")
    for i, word in enumerate(title_words(item.title)):
        if len(key) + len(word) > MAX_BASE:
            if i == 0:
                key += word[: max(0, MAX_BASE - len(key))]
            break
        key += word
    return key or "ref"


def suffixes() -> Iterable[str]:
    """'', 'a' … 'z', 'aa' … 'az', 'ba' … (spreadsheet-column order)."""
    yield ""
    n = 1
    while True:
        value, out = n, ""
        while value:
            value, rem = divmod(value - 1, 26)
            out = chr(97 + rem) + out
        yield out
        n += 1


def unique_key(base: str, taken: set[str]) -> str:
    """The first free `base + suffix`; `taken` holds lower-cased keys and is updated."""
    lowered = base.lower()
    if lowered not in taken:  # the common case, without the suffix generator
        taken.add(lowered)
        return base
    for suffix in suffixes():
        candidate = base + suffix
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return candidate
    raise AssertionError("unreachable")


def ensure_citekeys(
    store: Store,
    source_ids: Sequence[int] | None = None,
    items: Mapping[int, CitationItem] | None = None,
) -> dict[int, str]:
    """Give every source in `source_ids` (None: every source) that has no citation key its default key, store
    it (assign_citekeys), and return {source id: key} for all of them (existing keys included, unknown ids
    left out)."""
    assign_citekeys(store, source_ids, items)
    return store.citekeys_of(source_ids)


def assign_citekeys(
    store: Store,
    source_ids: Sequence[int] | None = None,
    items: Mapping[int, CitationItem] | None = None,
) -> int:
    """Give every source in `source_ids` (None: every source) that has no citation key its default key and
    store it; returns how many keys were assigned. Existing keys are never changed; new keys are assigned in
    id order. One write transaction (joining the caller's if one is open), only a read when all keys exist.
    Keys are computed from the few columns they are made of (refman.citation.build.KeySource), a page of
    sources at a time: nothing but the keys already taken is held for the whole catalog. `items` may hold
    already-built items of some of the sources."""
    from refman.citation.build import key_source_from_row

    wanted: list[int] | None = None
    if source_ids is None:
        if not store.has_keyless_sources():
            return 0
    else:
        wanted = store.keyless_source_ids(source_ids)
        if not wanted:
            return 0
    assigned = 0
    known = items or {}
    with store.transaction():
        # Read again inside the write lock: another process may have assigned keys meanwhile.
        taken = store.taken_citekeys()
        for page in store.keyless_key_rows(wanted):
            updates: list[tuple[str, int]] = []
            for row in page:
                item = known.get(row[0])
                key = unique_key(base_key(item if item is not None else key_source_from_row(row)), taken)
                updates.append((key, row[0]))
            store.store_citekeys(updates)
            assigned += len(updates)
    return assigned


def validate_citekey(key: str) -> str:
    """A user's key must be ASCII, safe in BibTeX and pandoc (`[A-Za-z0-9_][A-Za-z0-9_:.+-]*`), not all digits
    (it would read as a source id) and at most 100 characters."""
    key = key.strip()
    if not key:
        raise UsageError("a citation key cannot be empty")
    if len(key) > 100:
        raise UsageError("a citation key has at most 100 characters")
    if not _PINNED.match(key):
        raise UsageError(
            f"citation key {key!r} may only contain ASCII letters, digits and _ : . + - "
            "(and must start with a letter, digit or _)"
        )
    if key.isdigit():
        raise UsageError(f"citation key {key!r} is all digits and would read as a source id")
    return key


def citekey_is_free(store: CitationStore, key: str, source_id: int | None = None) -> bool:
    """Is `key` a valid citation key (validate_citekey) that no source (other than `source_id`) uses,
    compared case-insensitively? For imports that keep incoming keys where free."""
    try:
        key = validate_citekey(key)
    except UsageError:
        return False
    return store.citekey_holder(key, source_id) is None


def pin_citekey(store: CitationStore, source_id: int, key: str) -> str:
    """Set a source's citation key to the user's `key` (validated, unique case-insensitively among the other
    sources). Returns the stored key. Raises UsageError (bad or taken key) or NotFoundError (no such source)."""
    key = validate_citekey(key)
    store.citekey_of_source(source_id)  # NotFoundError when there is no such source
    other = store.citekey_holder(key, source_id)
    if other is not None:
        raise UsageError(f"citation key {key!r} is already used by source {other}")
    if not store.set_citekey(source_id, key):  # a concurrent writer took it between the check and the update
        raise UsageError(f"citation key {key!r} is already used")
    return key


def claim_citekey(store: CitationStore, source_id: int, wanted: str | None) -> str | None:
    """For imports: keep an incoming key (e.g. from Better BibTeX) when it is valid and free, else leave the
    source without a key (it gets the default one when first needed). Returns the key stored, or None.
    Never changes a key the source already has."""
    if not wanted:
        return None
    try:
        current = store.citekey_of_source(source_id)
    except NotFoundError:
        return None
    if current:
        return current
    try:
        return pin_citekey(store, source_id, wanted)
    except UsageError:
        return None


@dataclass(frozen=True)
class Rekey:
    source_id: int
    old: str | None
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def rekey(store: Store, source_ids: Sequence[int] | None = None, dry_run: bool = False) -> list[Rekey]:
    """Recompute the default key of `source_ids` (None: all), ignoring their current keys, and store the new
    ones unless `dry_run`. Keys of other sources are kept and still count as taken. Returns one Rekey per
    source, in id order."""
    from refman.citation.build import load_items

    with contextlib.nullcontext() if dry_run else store.transaction():
        items = load_items(store, None if source_ids is None else sorted(set(source_ids)))
        old = {sid: (item.id if not item.id.startswith("source-") else None) for sid, item in items}
        mine = {k.lower() for k in old.values() if k}
        taken = store.taken_citekeys() - mine
        results: list[Rekey] = []
        # A source whose current key is still its default keeps it: reserve those first so that rekeying
        # never shuffles suffixes between unchanged sources.
        bases = {sid: base_key(item) for sid, item in items}
        exact = {sid for sid, _ in items if (old[sid] or "").lower() == bases[sid]}
        for sid in sorted(exact):
            taken.add(old[sid].lower())  # type: ignore[union-attr]
        # A key with a clash suffix (smith2020b) keeps it only while the plain key is someone else's: after a
        # merge or a deletion freed it, rekey gives the plain key back. Nothing else ever drops a suffix.
        keep = set(exact)
        for sid, _ in items:
            key = old[sid]
            if sid not in keep and key and _is_variant(key, bases[sid]) and bases[sid] in taken:
                keep.add(sid)
                taken.add(key.lower())
        for sid, _item in items:
            new = old[sid] if sid in keep else unique_key(bases[sid], taken)
            results.append(Rekey(sid, old[sid], new))  # type: ignore[arg-type]
        if not dry_run:
            store.replace_citekeys([(r.source_id, r.new) for r in results if r.changed])
    return results


def _is_variant(key: str, base: str) -> bool:
    """Is `key` the default key `base` with a clash suffix (or none)?"""
    return key.lower().startswith(base) and re.fullmatch(r"[a-z]{0,2}", key.lower()[len(base) :]) is not None
