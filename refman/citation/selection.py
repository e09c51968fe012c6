"""Which sources an export or a cite covers, and in which order.

Selectors (combined as a union, duplicates dropped):
- references: source ids, citation keys (case-insensitive) or URLs, as refman.references.resolve_source;
- `tags`: sources carrying any of the tags;
- `cited_in`: the sources a note cites, in order of first appearance (mention.ordinal). NOTE is a path relative
  to the imported vault root as stored in note.path (an absolute path `root/path` works too), or a unique suffix
  of one (`GPU Market.md`); a folder prefix (`notes/`) takes every note under it, in path order;
- `query`: the search syntax of refman.search (all hits);
- nothing at all: every source, when `default_all`.

Order: by citation key (case-insensitive; ties by id) — except when the only selector is `cited_in` (the note's
order) or explicit references (the order given), so that numbered styles such as IEEE number as the user asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from refman.errors import UsageError

if TYPE_CHECKING:
    from refman.store.citation import CitationStore
    from refman.store.protocol import Store


@dataclass
class Selection:
    refs: Sequence[str] = ()
    tags: Sequence[str] = ()
    cited_in: str | None = None
    query: str | None = None
    all: bool = False

    used: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.refs or self.tags or self.cited_in or self.query or self.all)


def cited_in(store: CitationStore, note: str) -> list[int]:
    """Source ids the note(s) cite, in order of first appearance."""
    from refman.references import notes_for

    return store.sources_cited_in(notes_for(store, note))


def search_ids(store: Store, query: str) -> list[int]:
    try:
        from refman.search import search
    except ImportError as exc:
        raise UsageError("search is not available in this version of refman") from exc
    return [hit.id for hit in search(store, query, limit=10_000_000)]


def resolve(store: Store, sel: Selection, default_all: bool = True) -> list[int]:
    """Source ids for a selection, in the documented order."""
    from refman.references import resolve_source

    parts: list[tuple[str, list[int]]] = []
    if sel.refs:
        parts.append(("refs", [resolve_source(store, ref) for ref in sel.refs]))
    if sel.cited_in:
        parts.append(("cited_in", cited_in(store, sel.cited_in)))
    if sel.tags:
        parts.append(("tags", store.sources_tagged(sel.tags)))
    if sel.query:
        parts.append(("query", search_ids(store, sel.query)))
    if sel.all or (not parts and default_all):
        parts.append(("all", store.citable_source_ids()))
    merged: dict[int, None] = {}
    for _name, ids in parts:
        for sid in ids:
            merged.setdefault(sid, None)
    return list(merged)  # keeps_order() says whether the caller sorts it by key (sort_by_key)


def keeps_order(sel: Selection) -> bool:
    given = [bool(sel.refs), bool(sel.cited_in), bool(sel.tags), bool(sel.query), sel.all]
    return sum(given) == 1 and (bool(sel.refs) or bool(sel.cited_in))


def sort_by_key(ids: Sequence[int], keys: dict[int, str]) -> list[int]:
    return sorted(ids, key=lambda sid: (keys.get(sid, "").lower(), keys.get(sid, ""), sid))
