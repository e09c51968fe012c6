"""Citations: keys, selections of sources for exports, the export stream, registered exports, catalog maintenance.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.citation."""

from __future__ import annotations

from typing import Protocol


class CitationStore(Protocol):
    """(Filled in as the domain modules move their SQL here.)"""
