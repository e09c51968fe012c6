"""What reading a bibliography file gives, whatever its format: the shared result of the format readers
(refman.citation.bibliography_reader dispatches to them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Bibliography:
    format: str  # bib | csl | ris | bookmarks
    entries: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)  # {line, message}
    encoding: str = "utf-8"
