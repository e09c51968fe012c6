"""The result type of metadata extraction (no heavy imports: `refman list` loads it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageMetadata:
    """Judged metadata of one page or PDF.

    `fields` holds one chosen value per citation field (names from `refman.evidence.FIELDS`) with its origin
    (a refman.vocabulary.Origin: page:citation, page:json-ld, page:dc, page:og, page:meta, page:trafilatura, pdf …);
    `candidates` keeps every piece of evidence seen, in the order of preference, for `refman show` and debugging."""

    fields: dict[str, tuple[Any, str]] = field(default_factory=dict)
    canonical_url: str | None = None
    pdf_url: str | None = None
    candidates: dict[str, list[tuple[Any, str]]] = field(default_factory=dict)

    def value(self, name: str, default: Any = None) -> Any:
        """The chosen value of a field, or `default`."""
        got = self.fields.get(name)
        return got[0] if got else default

    def add_candidate(self, name: str, value: Any, origin: str) -> None:
        if value in (None, "", [], {}):
            return
        seen = self.candidates.setdefault(name, [])
        if (value, origin) not in seen:
            seen.append((value, origin))
