"""The search index and what reading the archive needs: index upkeep, queries with filters and facets, snapshots' text.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.search."""

from __future__ import annotations

from typing import Protocol


class SearchStore(Protocol):
    """(Filled in as the domain modules move their SQL here.)"""
