"""Shared pieces of the fallback tests (test_wayback, test_adapters, test_render): a quick fetch policy and
catalog helpers (their `pool` and `site` fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from refman.fetch.client import FetchPolicy
from refman.store import connect, open_store

NOW = "2026-01-01T00:00:00Z"


def quick_policy(deadline: float = 5.0, **kw: Any) -> FetchPolicy:
    return FetchPolicy(**({"delay": 0.0, "connect_timeout": 2.0, "read_timeout": 2.0, "deadline": deadline,
                           "retries": 0, "backoff_base": 0.01, "respect_robots": False} | kw))


def add_source(db: Path, url: str, *, label_date: str | None = None, first_cited: str | None = None) -> int:
    """A source row as an import would leave it (with the label's date as `label` evidence when given)."""
    from refman.store.sources import NewEvidence

    with open_store(db) as store, store.transaction():
        sid = store.insert_source(url, url, urlsplit(url).hostname, NOW, added_by="note")
        if first_cited:
            store.mark_sources_cited([sid], first_cited)
        if label_date:
            store.put_field_evidence([NewEvidence(sid, "issued", "label", label_date, NOW)])
        return sid


def q(db: Path, sql: str, *params: Any) -> list[Any]:
    conn = connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
