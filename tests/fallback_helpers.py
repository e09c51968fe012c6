"""Shared pieces of the fallback tests (test_wayback, test_adapters, test_render): a quick fetch policy and
catalog helpers (their `pool` and `site` fixtures are in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from refman.fetch.client import FetchPolicy
from refman.store import connect

NOW = "2026-01-01T00:00:00Z"


def quick_policy(deadline: float = 5.0, **kw: Any) -> FetchPolicy:
    return FetchPolicy(**({"delay": 0.0, "connect_timeout": 2.0, "read_timeout": 2.0, "deadline": deadline,
                           "retries": 0, "backoff_base": 0.01, "respect_robots": False} | kw))


def add_source(db: Path, url: str, *, label_date: str | None = None, first_cited: str | None = None) -> int:
    """A source row as an import would leave it (with the label's date as `label` evidence when given)."""
    conn = connect(db)
    try:
        sid = int(conn.execute(
            "INSERT INTO source (url, url_as_written, host, created_at, updated_at, first_cited_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (url, url, urlsplit(url).hostname, NOW, NOW, first_cited)).lastrowid)
        if label_date:
            conn.execute("INSERT INTO field_value (source_id, field, origin, value, updated_at) "
                         "VALUES (?, 'issued', 'label', ?, ?)", (sid, json.dumps(label_date), NOW))
        conn.commit()
        return sid
    finally:
        conn.close()


def q(db: Path, sql: str, *params: Any) -> list[Any]:
    conn = connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
