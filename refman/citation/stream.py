"""Writing an export piece by piece: the formats' writers take items in chunks and yield text, so that an
export of the whole catalog never holds all of its items (or all of its text) at once.

`joined(chunks, entry, sep, head, tail, empty)` yields `head + sep.join(entry(i) for every item) + tail`
(`empty` when there is no item at all) one chunk at a time: the concatenation of what it yields is the same
bytes whatever the chunking."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from refman.citation.item import CitationItem

Chunks = Iterable[Iterable[CitationItem]]


def joined(chunks: Chunks, entry: Callable[[CitationItem], str], sep: str, head: str = "", tail: str = "",
           empty: str = "") -> Iterator[str]:
    first = True
    for chunk in chunks:
        items = chunk if isinstance(chunk, list | tuple) else list(chunk)
        if not items:
            continue
        yield (head if first else sep) + sep.join(map(entry, items))
        first = False
    yield empty if first else tail
