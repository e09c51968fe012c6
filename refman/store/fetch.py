"""Fetching: fetch jobs and claims, attempt records (snapshots, blobs, archived text, page evidence), archive copies.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.fetch."""

from __future__ import annotations

from typing import Protocol


class FetchStore(Protocol):
    """(Filled in as the domain modules move their SQL here.)"""
