"""Merge the evidence for each citation field into one value, and a source into one citation item.

Evidence lives in `field_value` rows (source, field, origin, JSON value). The winner per field is the row
whose origin ranks highest: user > imported bibliography > pdf > embedded page metadata (citation_*, JSON-LD,
DC, OpenGraph, meta) > trafilatura > label. The page extractor already judged between page origins and keeps
one value per field; the ranking here only orders what is left. Winners are cached in the `source` row's columns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

ORIGIN_RANK: dict[str, int] = {
    "user": 100,
    "import": 80,  # a bibliography the user curated in another manager
    "pdf": 70,
    "page:citation": 65,
    "page:json-ld": 60,
    "page:dc": 55,
    "page:og": 50,
    "page:meta": 45,
    "page:trafilatura": 30,
    "label": 10,
}

# Citation fields refman keeps evidence for, with their `source` cache column where there is one.
FIELDS: tuple[str, ...] = (
    "type", "title", "author", "issued", "container_title", "publisher", "doi", "language", "abstract",
    "volume", "issue", "page", "archive_id", "genre",
)
CACHED_FIELDS: tuple[str, ...] = (
    "type", "title", "author", "issued", "container_title", "publisher", "doi", "language", "abstract",
)


def origin_rank(origin: str) -> int:
    if origin in ORIGIN_RANK:
        return ORIGIN_RANK[origin]
    if origin.startswith("adapter:"):  # a site's own article API (refman.fetch.adapters): as citation_* tags
        return ORIGIN_RANK["page:citation"]
    return 40 if origin.startswith("page:") else 0


def pick(evidence: Iterable[tuple[str, str, Any]]) -> dict[str, tuple[Any, str]]:
    """{field: (value, origin)} from (field, origin, value) triples: the best-ranked non-empty value wins."""
    best: dict[str, tuple[Any, str]] = {}
    for field, origin, value in evidence:
        if value in (None, "", []):
            continue
        current = best.get(field)
        if current is None or origin_rank(origin) > origin_rank(current[1]):
            best[field] = (value, origin)
    return best


def cache_columns(merged: Mapping[str, tuple[Any, str]]) -> dict[str, Any]:
    """The `source` columns for merged values (author as JSON; type defaults to webpage)."""
    out: dict[str, Any] = {}
    for field in CACHED_FIELDS:
        value = merged.get(field, (None, ""))[0]
        if field == "author":
            value = json.dumps(value, ensure_ascii=False) if value else None
        out[field] = value
    out["type"] = out["type"] or "webpage"
    return out


def refresh_sources(conn: Any, source_ids: Iterable[int]) -> None:
    """Recompute the cached columns of many sources (one read of their evidence, one batched update)."""
    ids = list(source_ids)
    evidence: dict[int, list[tuple[str, str, Any]]] = {sid: [] for sid in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT source_id, field, origin, value FROM field_value WHERE source_id IN ({marks})", chunk
        )
        for sid, field, origin, value in rows:
            evidence[sid].append((field, origin, json.loads(value)))
    updates = []
    for sid in ids:
        cols = cache_columns(pick(evidence[sid]))
        updates.append((*cols.values(), sid))
    if updates:
        assignments = ", ".join(f"{name} = ?" for name in CACHED_FIELDS)
        conn.executemany(f"UPDATE source SET {assignments} WHERE id = ?", updates)


def refresh_source(conn: Any, source_id: int) -> dict[str, tuple[Any, str]]:
    """Recompute a source's cached columns from its evidence. `conn` is a DB-API connection or a SQLAlchemy
    Connection/Session (anything with .execute taking SQL text and parameters)."""
    rows = _execute(conn, "SELECT field, origin, value FROM field_value WHERE source_id = :id", {"id": source_id})
    merged = pick((field, origin, json.loads(value)) for field, origin, value in rows)
    cols = cache_columns(merged)
    assignments = ", ".join(f"{name} = :{name}" for name in cols)
    _execute(conn, f"UPDATE source SET {assignments} WHERE id = :id", {**cols, "id": source_id})
    return merged


def _execute(conn: Any, sql: str, params: dict[str, Any]) -> list[Any]:
    if hasattr(conn, "exec_driver_sql") or type(conn).__module__.startswith(("sqlalchemy", "sqlmodel")):
        from sqlalchemy import text

        return list(conn.execute(text(sql), params))
    return list(conn.execute(sql, params))
