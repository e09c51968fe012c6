"""Source rows + evidence → CitationItem, from the plain rows of the store (refman.store.citation.CitationRows;
no ORM: exports read 100,000 rows).

What comes from where:
- the `source` cache columns (merged by refman.evidence): type, title, author, issued, container-title, publisher,
  DOI, language, abstract; `url` (the normalised identity) is the URL; `last_ok_at` is the access date;
  `user_note` is the note; `source_tag` rows are the keywords;
- `field_value` evidence, merged with refman.evidence.pick, for the fields that have no cache column: volume,
  issue, page, archive_id, genre, editor, accessed (an imported access date: a later fetch's date wins), `csl`
  (every other CSL variable: the item's `more`) and `verbatim` (what an imported file said that refman cannot
  map, written back in that file's format).
A source without URL (a book known by its ISBN, a paper by its DOI) has URL None.

The type is the merged evidence's. Only when the evidence says nothing more than the default `webpage` does the
URL decide: arXiv abstract/PDF pages are preprints (`article`, with the arXiv id), GitHub/GitLab/Codeberg
repositories are `software`, a path ending in `.pdf` is a `document`. A missing language is inferred from the
title's script only (Han → zh, kana → ja, Hangul → ko) so that CJK entries get a `langid`; nothing else is
ever invented: missing fields stay missing."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from refman.citation.item import CitationItem, CSLName, _trusted
from refman.evidence import pick

if TYPE_CHECKING:
    from refman.store.citation import CitationStore

EXTRA_FIELDS = ("volume", "issue", "page", "archive_id", "genre", "editor", "accessed", "csl", "verbatim")

_ARXIV = re.compile(r"^/(?:abs|pdf)/([a-z\-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})(?:v\d+)?(?:\.pdf)?/?$")
_CODE_HOSTS = {"github.com", "gitlab.com", "codeberg.org", "bitbucket.org"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_NAME_KEYS = ("family", "given", "literal", "non-dropping-particle", "dropping-particle", "suffix")
_KNOWN_TYPES = set(CitationItem.model_fields["type"].annotation.__args__)  # type: ignore[union-attr]

def names_from_json(raw: str | None) -> list[CSLName]:
    """The cached author column (JSON list of CSL names) → CSLName objects; junk entries are dropped.

    The same people and author lists recur across a catalog: lists and names are kept in bounded caches and
    shared between items (CSLName objects are never modified after they are built; each item gets its own
    list)."""
    if not raw:
        return []
    known = _LIST_CACHE.get(raw)
    if known is not None:
        return list(known)
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    out = _names(data)
    if len(_LIST_CACHE) >= _LIST_CACHE_SIZE:
        _LIST_CACHE.clear()
    _LIST_CACHE[raw] = tuple(out)
    return out


def _names(data: list[Any]) -> list[CSLName]:
    out: list[CSLName] = []
    cache = _NAME_CACHE
    for entry in data:
        if entry.__class__ is dict:
            key = tuple(entry.items())
            try:
                name = cache[key]
            except KeyError:
                name = _name_from_dict(entry)
                # equal keys imply equal types only when every value is a str (1 == True == 1.0)
                if len(cache) < _NAME_CACHE_SIZE and all(v.__class__ is str for v in entry.values()):
                    cache[key] = name
            except TypeError:  # an unhashable value (a list, a dict): no caching
                name = _name_from_dict(entry)
            if name is not None:
                out.append(name)
        elif isinstance(entry, str):
            if entry.strip():
                out.append(CSLName.trusted(literal=entry.strip()))
        elif isinstance(entry, dict):
            name = _name_from_dict(entry)
            if name is not None:
                out.append(name)
    return out


_NAME_CACHE: dict[tuple[tuple[str, Any], ...], CSLName | None] = {}
_NAME_CACHE_SIZE = 65536
# whole author lists: a blog's posts, a newspaper's articles share them (bounded; emptied when full)
_LIST_CACHE: dict[str, tuple[CSLName, ...]] = {}
_LIST_CACHE_SIZE = 65536


def _name_from_dict(entry: dict[str, Any]) -> CSLName | None:
    family, given, literal = _part(entry, "family"), _part(entry, "given"), _part(entry, "literal")
    if family or literal:
        return CSLName.trusted(
            family=family, given=given, literal=literal,
            non_dropping_particle=_part(entry, "non-dropping-particle"),
            dropping_particle=_part(entry, "dropping-particle"), suffix=_part(entry, "suffix"),
        )
    if given:  # a lone given name is a mononym
        return CSLName.trusted(literal=given)
    return None


def _part(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        return None
    text = value.strip() if isinstance(value, str) else str(value).strip()
    return text or None


def infer_language(text: str | None) -> str | None:
    if not text or text.isascii():
        return None
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if _HAN.search(text):
        return "zh"
    return None


def type_from_url(url: str) -> tuple[str | None, str | None]:
    """(CSL type, arXiv id) suggested by the URL alone; (None, None) when it says nothing."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path
    if host in {"arxiv.org", "export.arxiv.org"}:
        m = _ARXIV.match(path)
        if m:
            return "article", m.group(1)
    if host in _CODE_HOSTS:
        segments = [s for s in path.split("/") if s]
        if len(segments) == 2 or (len(segments) > 2 and segments[2] in {"tree", "blob", "releases", "wiki"}):
            return "software", None
    if path.lower().endswith(".pdf"):
        return "document", None
    return None, None


def _extras(evidence: list[tuple[int, str, str, str]]) -> dict[int, dict[str, Any]]:
    grouped: dict[int, list[tuple[str, str, Any]]] = {}
    for sid, field, origin, value in evidence:
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = value
        grouped.setdefault(sid, []).append((field, origin, decoded))
    return {sid: {f: v for f, (v, _o) in pick(ev).items()} for sid, ev in grouped.items()}


def _add_archived_copies(store: CitationStore, by_id: dict[int, CitationItem]) -> None:
    """The newest Internet Archive copy of each item's source (refman.fetch.wayback.archived_copy), if any."""
    if not store.has_archived_copies():
        return  # the usual catalog: no archive copies, no per-source queries
    from refman.fetch.memento import plain_memento

    for sid, item in by_id.items():
        found = store.newest_archive_copy(sid)
        if found:
            item.archive_url, item.archive_date = plain_memento(found[0]), (found[1] or "")[:10] or None


def _tags(rows: list[tuple[int, str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for sid, tag in rows:
        out.setdefault(sid, []).append(tag)
    return out


def _text(value: Any) -> str | None:
    if value.__class__ is str:  # what TEXT columns hold, and 1,000,000 calls per 100,000 exported sources
        return value.strip() or None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def item_from_row(row: Any, extras: dict[str, Any] | None = None, tags: list[str] | None = None) -> CitationItem:
    """One `source` row (refman.store.citation.SOURCE_ROW_COLUMNS) → CitationItem, built without pydantic
    validation after cleaning each value here: validating 100,000 items costs more than writing the whole BibLaTeX
    file."""
    extras = extras or {}
    sid, url, host = row[0], row[1], row[2]
    ctype = row[4] if row[4] in _KNOWN_TYPES else "webpage"
    archive_id = _text(extras.get("archive_id")) if extras else None
    if ctype == "webpage" and url and (host in _URL_TYPED_HOSTS or ".pdf" in url[-12:].lower()):
        guessed, arxiv_id = type_from_url(url)
        if guessed:
            ctype = guessed
            archive_id = archive_id or arxiv_id
    title = _text(row[5])
    item: CitationItem = _trusted(CitationItem, {
        "id": row[3] or f"source-{sid}",
        "type": ctype,
        "title": title,
        "author": names_from_json(row[9]),
        "editor": names_from_list(extras.get("editor")) if extras else [],
        "container_title": _text(row[7]),
        "publisher": _text(row[8]),
        "issued": _date(row[6]),
        "accessed": _date(row[13]) or (_date(extras.get("accessed")) if extras else None),
        "URL": url,
        "DOI": _text(row[10]),
        "language": _text(row[11]) or infer_language(title),
        "abstract": _text(row[12]),
        "volume": _text(extras.get("volume")) if extras else None,
        "issue": _text(extras.get("issue")) if extras else None,
        "page": _text(extras.get("page")) if extras else None,
        "genre": _text(extras.get("genre")) if extras else None,
        "note": _text(row[14]),
        "archive_id": archive_id,
        "keyword": list(tags) if tags else [],
        "more": dict(extras["csl"]) if extras and isinstance(extras.get("csl"), dict) else {},
        "verbatim": dict(extras["verbatim"]) if extras and isinstance(extras.get("verbatim"), dict) else {},
        "archive_url": None,
        "archive_date": None,
    })
    return item


def names_from_list(value: Any) -> list[CSLName]:
    return _names(value) if isinstance(value, list) else []


_URL_TYPED_HOSTS = {"arxiv.org", "export.arxiv.org", *_CODE_HOSTS}


_DATE = re.compile(r"^-?\d{4}(-\d{2}(-\d{2})?)?")


def _date(value: Any) -> str | None:
    """An ISO 8601 (partial) date or interval (refman.citation.item) from a stored value; anything unparseable
    is dropped, never guessed."""
    if not value:
        return None
    return _date_text(value if isinstance(value, str) else str(value))


@lru_cache(maxsize=65536)  # access and issue dates repeat a lot across a catalog
def _date_text(value: str) -> str | None:
    start, slash, end = value.strip().partition("/")
    first = _one_date(start)
    if first and slash and not end.startswith("T"):
        second = _one_date(end)
        return f"{first}/{second}" if second else first
    return first


def _one_date(value: str) -> str | None:
    m = _DATE.match(value)
    if not m:
        return None
    text = m.group(0)
    negative = text.startswith("-")
    parts = [int(p) for p in text.lstrip("-").split("-")]
    year = text[: 5 if negative else 4]
    if len(parts) > 1 and not 1 <= parts[1] <= 12:
        return year
    if len(parts) > 2 and not 1 <= parts[2] <= 31:
        return text[: 8 if negative else 7]
    return text


class KeySource(NamedTuple):
    """The fields of an item that its default citation key is made of (refman.citation.keys.base_key), read
    from the same columns and cleaned by the same functions as item_from_row, so that the key of
    `key_source_from_row(row)` is the key of the full item — at a fraction of the cost of building one."""

    author: list[CSLName]
    issued: str | None
    title: str | None
    publisher: str | None
    container_title: str | None
    URL: str | None


def key_source_from_row(row: Any) -> KeySource:
    """One `source` row (refman.store.citation.KEY_ROW_COLUMNS) → KeySource."""
    return KeySource(names_from_json(row[6]), _date(row[3]), _text(row[2]), _text(row[5]), _text(row[4]), row[1])


def load_items(store: CitationStore, ids: Sequence[int] | None = None) -> list[tuple[int, CitationItem]]:
    """(source id, item) for `ids` in the given order (unknown ids are skipped), or for every source by id."""
    rows = store.citation_rows(ids, EXTRA_FIELDS)
    extras = _extras(rows.evidence)
    tags = _tags(rows.tags)
    by_id = {row[0]: item_from_row(row, extras.get(row[0]), tags.get(row[0])) for row in rows.sources}
    _add_archived_copies(store, by_id)
    order = ids if ids is not None else sorted(by_id)
    return [(sid, by_id[sid]) for sid in order if sid in by_id]
