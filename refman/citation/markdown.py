"""Markdown in the notes' own style: `[Title (M/D/YYYY)]: url` reference definitions.

The date is the date issued (`6/24/2024`; `6/2024` or `2024` when partial; left out when unknown); a source
without a title is labelled by its host. `[`, `]` and `\\` in a label are backslash-escaped. Markdown labels
are case-insensitive and the first definition wins, so a label that repeats one already written gets the
citation key appended: `[Title (2024) myers2024title]`. The formatted reference list (`refman cite --format
markdown`) is refman.citation.styles.render(…, fmt="markdown")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from refman.citation.item import CitationItem
from refman.citation.latex import normalise

_LABEL_SPECIAL = re.compile(r"([\[\]\\])")


def note_date(issued: str | None) -> str | None:
    if not issued:
        return None
    from refman.citation.item import iso_to_date_parts

    parts = iso_to_date_parts(issued)  # the start of a range; a BCE year stays negative
    if len(parts) == 3:
        return f"{parts[1]}/{parts[2]}/{parts[0]}"
    if len(parts) == 2:
        return f"{parts[1]}/{parts[0]}"
    return str(parts[0])


def label(item: CitationItem) -> str:
    title = normalise(item.title or "") or (urlsplit(item.URL or "").hostname or item.id)
    date = note_date(item.issued)
    text = f"{title} ({date})" if date else title
    return _LABEL_SPECIAL.sub(r"\\\1", text)


def iter_markdown(chunks: Iterable[Iterable[CitationItem]]) -> Iterator[str]:
    """The Markdown export of items given in chunks, one text piece per chunk (refman.citation.stream). The
    labels already written are remembered across chunks."""
    seen: set[str] = set()
    for items in chunks:
        lines = []
        for item in items:
            if not item.URL:
                continue
            text = label(item)
            if text.casefold() in seen:
                text = f"{text} {item.id}"
            seen.add(text.casefold())
            url = item.URL.replace(" ", "%20")
            lines.append(f"[{text}]: {url}\n")
            if item.archive_url:  # the archived copy, as a reference definition of its own
                lines.append(f"[{text} (archived {item.archive_date or ''})]: {item.archive_url.replace(' ', '%20')}\n")
        yield "".join(lines)


def write_markdown(items: Iterable[CitationItem]) -> str:
    return "".join(iter_markdown([items]))
