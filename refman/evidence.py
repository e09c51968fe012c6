"""Merge the evidence for each citation field into one value, and a source into one citation item.

(Merging duplicate *sources* is refman.duplicates.) Evidence is stored per source, field and origin (the store's
`field_evidence_for`). The precedence, one rule for every field:

    user pin > imported bibliography > pdf > citation_* > JSON-LD > Dublin Core > OpenGraph > twitter:* >
    plain <meta>/<title> > page text > trafilatura > label hints > link text > host-name fallback

with generic-value guards: a site (`container_title`) that is a host name or address, a legal entity
(`Wikimedia Foundation, Inc.`) or a news section (`U.S.`) ranks below a label's site, whatever extractor gave
it (refman.metadata.sites); and a page title that is the label's title followed by separated site or section
segments (`Title_教育频道_中国青年网`) is trimmed to the label's wording when the label's site agrees with the
page (`Title`). Partial dates stay partial everywhere (refman.metadata.dates). The page extractor already
judged between page origins and keeps one value per field; the ranking here orders what is left. Winners are
cached in the `source` row's columns."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from refman.vocabulary import origin_rank

if TYPE_CHECKING:
    from refman.store.sources import SourcesStore

_GENERIC_RANK = 9  # a generic site value (see the module docstring): just below a label's site

# Citation fields refman keeps evidence for, with their `source` cache column where there is one.
FIELDS: tuple[str, ...] = (
    "type", "title", "author", "issued", "container_title", "publisher", "doi", "language", "abstract",
    "volume", "issue", "page", "archive_id", "genre",
)
CACHED_FIELDS: tuple[str, ...] = (
    "type", "title", "author", "issued", "container_title", "publisher", "doi", "language", "abstract",
)


def _rank(field: str, origin: str, value: Any) -> int:
    rank = origin_rank(origin)
    if field == "container_title" and origin.startswith("page:") and rank > _GENERIC_RANK:
        from refman.metadata.sites import is_generic_site

        if is_generic_site(value):
            return _GENERIC_RANK
    return rank


def pick(evidence: Iterable[tuple[str, str, Any]]) -> dict[str, tuple[Any, str]]:
    """{field: (value, origin)} from (field, origin, value) triples: the best-ranked non-empty value wins
    (see the precedence above); then a page title is trimmed to the label's title when they agree."""
    best: dict[str, tuple[Any, str]] = {}
    ranks: dict[str, int] = {}
    labels: dict[str, Any] = {}
    for field, origin, value in evidence:
        if value in (None, "", []):
            continue
        if origin == "label":
            labels[field] = value
        rank = _rank(field, origin, value)
        if field not in best or rank > ranks[field]:
            best[field] = (value, origin)
            ranks[field] = rank
    title = best.get("title")
    if title is not None and title[1].startswith("page:") and "title" in labels:
        trimmed = trim_title(title[0], labels["title"], labels.get("container_title"),
                             best.get("container_title", (None, ""))[0])
        if trimmed is not None:
            best["title"] = (trimmed, title[1])
    return best


_SEGMENT_SEP = re.compile(r"\s*(?:[|_｜·•–—]|\s-\s|\s--\s)\s*")


def trim_title(page_title: str, label_title: str, label_site: Any, page_site: Any) -> str | None:
    """The page title without trailing site and section segments, when it is the label's title followed by
    separated segments and the label's site agrees (it is one of those segments, or the page's site); else
    None. `Title_教育频道_中国青年网` with the label `Title | 中国青年网` → `Title`."""
    if not isinstance(label_site, str) or not isinstance(page_title, str) or not isinstance(label_title, str):
        return None
    whole = " ".join(page_title.split())
    fold = whole.casefold()
    want = " ".join(label_title.split()).casefold()
    if len(want) < 4 or len(fold) != len(whole) or not fold.startswith(want) or len(fold) == len(want):
        return None
    rest = whole[len(want):]
    if not _SEGMENT_SEP.match(rest):
        return None
    segments = [s.strip() for s in _SEGMENT_SEP.split(rest) if s.strip()]
    site = " ".join(label_site.split()).casefold()
    agrees = any(s.casefold() == site for s in segments) or (
        isinstance(page_site, str) and " ".join(page_site.split()).casefold() == site)
    if not segments or not agrees or any(len(s) > 40 for s in segments):
        return None
    return whole[:len(want)]  # the page's own spelling


def cache_columns(merged: Mapping[str, tuple[Any, str]]) -> dict[str, Any]:
    """The `source` columns for merged values (author as JSON; type defaults to webpage)."""
    out: dict[str, Any] = {}
    for field in CACHED_FIELDS:
        value = merged.get(field, (None, ""))[0]
        if field == "author":
            value = json.dumps(value, ensure_ascii=False) if value else None
        out[field] = value
    out["type"] = out["type"] or "webpage"
    return out


def refresh_sources(store: SourcesStore, source_ids: Iterable[int]) -> None:
    """Recompute the cached columns of many sources (one read of their evidence, one batched update)."""
    ids = list(source_ids)
    evidence = store.field_evidence_for(ids)
    store.write_cached_fields([(sid, cache_columns(pick(evidence[sid]))) for sid in ids])


def refresh_source(store: SourcesStore, source_id: int) -> dict[str, tuple[Any, str]]:
    """Recompute a source's cached columns from its evidence; returns its merged fields."""
    merged = pick(store.field_evidence_for([source_id])[source_id])
    store.write_cached_fields([(source_id, cache_columns(merged))])
    return merged
