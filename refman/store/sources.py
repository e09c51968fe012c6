"""Sources and their fields: resolve a reference (id, key, URL, alias), sources by filters, field evidence in and out,
merged fields, tags, pinned fields, merging and deleting sources, statistics.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.sources."""

from __future__ import annotations

from typing import Protocol


class SourcesStore(Protocol):
    """(Filled in as the domain modules move their SQL here.)"""
