"""Full-text search over the catalog: the query and its filters, snippets, what the index holds, its rebuild.

The index
---------
One row per source with the columns title, authors, site (host, container title, publisher), tags, notes (the
source's --note text plus the label, link title and annotation of every mention) and body (the archived main
text), composed here (`compose_row`) and stored by the store's search group (refman.store.search). Ranking is
the store's: on SQLite, bm25 in two tiers, describing columns first (refman.store.sqlite.search).

Chinese, Japanese and Korean text
---------------------------------
unicode61 keeps a run of CJK characters as one token, so `数据` would not find `数据库与数据仓库`. The indexed
copy of every column has a space on both sides of each CJK character, making each character a token; a CJK
query word becomes a phrase of its characters (`数据库` → `"数 据 库"`), which matches that exact run anywhere.
1-, 2-, 3- and 6-character words all work, and mixed words (`RDMA网络`) are phrases of mixed tokens.
Measured against the alternatives (benchmarks/bench_search.py --compare: 10,000 documents of ~5 KB, a third
of them Chinese, one FTS5 column, SQLite 3.40):

* per-character (shipped): index 24 MB, build 6.0 s; 数据 知乎 网络 数据库 推理优化 仓库 all found (recall
  100 %), ranked queries 5–8 ms;
* trigram tokenizer: index 105 MB (4.3×), build 9.3 s; finds nothing for 2-character words (数据, 知乎, 网络,
  仓库: 0 %), and matches English substrings (`art` in `start`);
* CJK bigrams (overlapping pairs as tokens): index 30 MB (+20 %), build 4.3 s, queries 3–7 ms (a 2-character
  word is one token lookup); loses single characters and needs the same preprocessing problem solved in SQL;
* jieba word segmentation (not measured here: not installed): a dictionary to load in every process that
  writes or searches, and recall depends on the segmenter agreeing with itself (数据 inside 数据库 is missed
  when 数据库 is one word).

Per-character phrases give exact substring recall for any length with the smallest index and no dependency;
the cost is some speed on very frequent characters, well inside the latency targets.

Keeping the index in sync
-------------------------
On SQLite, triggers update the index in the same transaction as the catalog write, from any connection, so
import, fetch and tag code need not know the index exists. Bulk writers use `bulk_upkeep` (the store's
`search_index_batch` with this module's `compose_row`); `rebuild_index` (`refman db reindex`) recomputes every
row in Python (the same text the triggers produce, much faster in bulk).

This module imports only the standard library and refman.store: `refman search` must start fast.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from refman.errors import QueryError
from refman.search_query import CJK_RANGES, TAG_CLOSE, TAG_OPEN, cjk_space, compiled, parse_query
from refman.store.search import (
    HL_CLOSE,
    HL_OPEN,
    BulkIndex,
    IndexRow,
    IndexSource,
    ParsedQuery,
    SearchHit,
    SourceFilter,
)

if TYPE_CHECKING:
    from refman.store.protocol import Store

__all__ = ["HL_CLOSE", "HL_OPEN", "SearchFilters", "SearchHit", "bulk_upkeep", "cjk_space", "compose_row",
           "count_matches", "rebuild_index", "search", "unspace"]

_UNSPACE = f" ?({HL_OPEN}?)([{CJK_RANGES}])({HL_CLOSE}?) ?"
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass
class SearchFilters:
    """Conditions on the catalog applied with (or without) a text query, as the user gave them."""

    tags: Sequence[str] = ()
    since: str | None = None  # ISO date, possibly partial: "2024", "2024-06", "2024-06-30"
    until: str | None = None
    site: str | None = None  # a domain: the host itself or any subdomain of it
    cited_in: str | None = None  # a note path relative to its vault root, or a folder ("notes/")
    status: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.tags or self.since or self.until or self.site or self.cited_in or self.status)

    def resolve(self, store: Store) -> SourceFilter:
        """The filter a store applies: dates checked, the domain normalised, --cited-in resolved to notes.
        Raises QueryError (or NotFoundError for a note that is not imported)."""
        note_ids = None
        if self.cited_in:
            # The one resolver of NOTE (path, absolute path, unique suffix, folder), shared with export and cite.
            from refman.references import notes_for

            note_ids = tuple(notes_for(store, self.cited_in))
        return SourceFilter(tags=tuple(self.tags),
                            since=_check_date(self.since, "--since") if self.since else None,
                            until=_check_date(self.until, "--until") if self.until else None,
                            domain=_normalise_domain(self.site) if self.site else None,
                            status=self.status or None, note_ids=note_ids)


# --- indexed text ----------------------------------------------------------------------------------------


def unspace(text: str) -> str:
    """Undo the indexing spaces around CJK characters (and fold whitespace) in text shown to people."""
    if not text.isascii():
        text = compiled(_UNSPACE).sub(r"\1\2\3", text)
    return re.sub(r"\s+", " ", text).strip()


def _authors_text(author: str | None) -> str | None:
    """Display names from the JSON list of CSL names; mirrors the SQL in migration 0002."""
    if author is None:
        return None
    try:
        names = json.loads(author)
    except ValueError:
        return author
    if not isinstance(names, list):
        return author
    parts: list[str] = []
    for name in names:
        if isinstance(name, dict):
            literal = name.get("literal")
            if literal is not None:
                parts.append(str(literal))
            else:
                parts.append(f"{name.get('given') or ''} {name.get('family') or ''}".strip())
        elif name is not None:
            parts.append(str(name))
    return "; ".join(parts) if parts else None


def compose_row(source: IndexSource) -> IndexRow:
    """The index row (id, title, authors, site, tags, notes, body) of one source, in the index's form; the
    SQLite triggers compute the same strings in SQL."""

    def sp(value: str | None) -> str | None:
        return None if value is None else cjk_space(value)

    site = f"{source.host or ''} {source.container_title or ''} {source.publisher or ''}"
    tag_text = " ".join(f"{TAG_OPEN} {t} {TAG_CLOSE}" for t in source.tags) or None
    mention_text = " ".join(f"{label} {title or ''} {annotation or ''}"
                            for label, title, annotation in source.mentions)
    notes = f"{source.user_note or ''} {mention_text}"
    return (source.id, sp(source.title), sp(_authors_text(source.author)), sp(site), sp(tag_text), sp(notes),
            sp(source.text))


def _reporting(rows: Iterator[IndexRow], total: int, progress: Callable[[int, int], None]) -> Iterator[IndexRow]:
    progress(0, total)
    for done, row in enumerate(rows, 1):
        yield row
        if done % 500 == 0 or done == total:
            progress(done, total)


def bulk_upkeep(store: Store) -> AbstractContextManager[BulkIndex]:
    """For writers that touch thousands of sources in one transaction (vault import, the fetch writer): the
    store's `search_index_batch` with this module's composition of index rows. Use it inside the transaction;
    add the ids of touched sources to the yielded BulkIndex, and set its `new_rows` for sources created."""
    return store.search_index_batch(compose_row)


def rebuild_index(store: Store, optimize: bool = True, progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every row of the search index in one transaction; returns the number of sources indexed.
    `progress(done, total)` is called as rows are indexed."""
    with store.transaction():
        count = store.catalog_counts()["sources"]
        rows: Iterator[IndexRow] = (compose_row(s) for s in store.sources_to_index())
        if progress is not None:
            rows = _reporting(rows, count, progress)
        store.rebuild_search_index(rows, optimize=optimize)
    return count


# --- searching -------------------------------------------------------------------------------------------


def _check_date(value: str, option: str) -> str:
    from refman.timeutil import valid_partial_date

    value = value.strip()
    if not _DATE.match(value) or not valid_partial_date(value):
        raise QueryError(f"{option} wants an ISO date such as 2024, 2024-06 or 2024-06-30, not {value!r}")
    return value


def _normalise_domain(value: str) -> str:
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain)
    domain = domain.split("/", 1)[0].split(":", 1)[0].strip(".")
    if not domain:
        raise QueryError(f"--site wants a domain such as example.com, not {value!r}")
    return domain


def _prepare(store: Store, query: str | None, filters: SearchFilters | None) -> tuple[ParsedQuery, SourceFilter]:
    filters = filters or SearchFilters()
    parsed = parse_query(query) if query and query.strip() else ParsedQuery()
    if parsed.empty and query and query.strip():
        raise QueryError(f"nothing to search for in {query!r}: give a word, a \"phrase\" or a field:value")
    if parsed.empty and not filters.any:
        raise QueryError("give a query or a filter (--tag, --since, --until, --site, --cited-in, --status)")
    return parsed, filters.resolve(store)


def search(store: Store, query: str | None, filters: SearchFilters | None = None, *, limit: int = 20,
           offset: int = 0) -> list[SearchHit]:
    """Sources matching `query` (see refman.search_query) and `filters`, best first.

    Raises QueryError when the query has nothing searchable in it, or when there is neither query nor
    filter. With filters and no query (or negations only), lists the filtered sources, newest first."""
    if limit < 1 or offset < 0:
        raise QueryError("--limit must be at least 1 and --offset at least 0")
    parsed, where = _prepare(store, query, filters)
    hits = store.search_sources(parsed, where, limit, offset)
    for hit in hits:
        hit.snippet = unspace(hit.snippet) if hit.score is not None else _preview(hit.snippet)
    return hits


def count_matches(store: Store, query: str | None, filters: SearchFilters | None = None) -> int:
    """How many sources `search` would find without a limit."""
    parsed, where = _prepare(store, query, filters)
    return store.count_search_matches(parsed, where)


def _preview(text: str | None) -> str:
    if not text:
        return ""
    flat = unspace(text)
    cut = flat[:160]
    return cut + ("…" if len(flat) > len(cut) else "")
