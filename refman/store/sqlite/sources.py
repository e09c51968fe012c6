"""SQLite implementation of refman.store.sources.SourcesStore.

On the `refman list` start-up path: standard library only at import time."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from refman.errors import NotFoundError, UsageError
from refman.store.sources import (
    LIST_SORTS,
    Evidence,
    EvidenceRow,
    HistoryRow,
    LiveFetch,
    MergeRow,
    NewEvidence,
    SourcePeople,
    source_dict,
)
from refman.store.sqlite.base import SqliteBase

_LIST_COLUMNS = (
    "id, url, url_as_written, citekey, type, title, issued, container_title, publisher, author, doi,"
    " language, abstract, status, reason, host, fetched_at, last_ok_at, user_note, added_by, first_cited_at"
)
# An orphan: a source that notes cited once (first_cited_at is set on the first mention) and none cites now.
# Sources added by hand or from a bibliography and never cited are not orphans.
_ORPHAN_SQL = "{s}.first_cited_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mention m WHERE m.source_id = {s}.id)"

_ORDER_BY = {
    "added": "s.id",
    "issued": "s.issued IS NULL, s.issued DESC, s.id",
    "title": "s.title IS NULL, s.title COLLATE NOCASE, s.id",
    "cited": "(SELECT count(*) FROM mention m WHERE m.source_id = s.id) DESC, s.id",
}
assert set(_ORDER_BY) == set(LIST_SORTS)

# Columns `insert_source` may set beside the identity, and `update_merged_source` may write.
_INSERT_FIELDS = ("isbn", "doi", "title", "type", "issued")
_MERGED_COLUMNS = ("citekey", "user_note", "status", "reason", "fail_count", "fetched_at", "last_ok_at",
                   "created_at", "added_by", "first_cited_at", "label_note", "updated_at")
_CHUNK = 500  # ids per `IN (…)`: well below SQLite's limit of host parameters

_HISTORY_COLUMNS = "source_id, field, origin, value, changed_by, changed_at, replaced_by, replaced_at"
# The user value of (source, field) goes to the history, replaced by (user, at), when it differs from a new value
# (parameters: user, at, source id, field, new JSON value) — or, for _KEEP_REMOVED_PIN, whatever it is.
_KEEP_REPLACED_PIN = (
    f"INSERT INTO field_history ({_HISTORY_COLUMNS}) SELECT source_id, field, origin, value, changed_by, updated_at,"
    " ?, ? FROM field_value WHERE source_id = ? AND field = ? AND origin = 'user' AND value != ?")
_KEEP_REMOVED_PIN = (
    f"INSERT INTO field_history ({_HISTORY_COLUMNS}) SELECT source_id, field, origin, value, changed_by, updated_at,"
    " ?, ? FROM field_value WHERE source_id = ? AND field = ? AND origin = 'user'")


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class SqliteSources(SqliteBase):
    """refman.store.sources.SourcesStore on SQLite."""

    # --- look-ups ------------------------------------------------------------------------------------------

    def source_exists(self, source_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM source WHERE id = ?", (source_id,)).fetchone() is not None

    def source_with_citekey(self, key: str) -> int | None:
        row = self.conn.execute("SELECT id FROM source WHERE citekey = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def has_sources_without_citekey(self) -> bool:
        return self.conn.execute("SELECT 1 FROM source WHERE citekey IS NULL LIMIT 1").fetchone() is not None

    def source_with_url(self, url: str, as_written: str | None = None) -> int | None:
        row = self.conn.execute("SELECT id FROM source WHERE url = ? OR url_as_written = ?",
                                (url, as_written)).fetchone()
        return None if row is None else int(row[0])

    def source_for_url(self, url: str) -> int | None:
        row = self.conn.execute("SELECT id FROM source WHERE url = ? UNION ALL "
                                "SELECT source_id FROM source_alias WHERE url = ? LIMIT 1", (url, url)).fetchone()
        return None if row is None else int(row[0])

    def source_url(self, source_id: int) -> str | None:
        row = self.conn.execute("SELECT url FROM source WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no source with id {source_id}")
        return None if row[0] is None else str(row[0])

    def other_urlless_source_with_doi(self, source_id: int, doi: str) -> int | None:
        row = self.conn.execute(
            "SELECT o.id FROM source s JOIN source o ON lower(o.doi) = lower(?) AND o.id != s.id"
            " AND o.url IS NULL WHERE s.id = ? AND s.url IS NULL", (doi, source_id)).fetchone()
        return None if row is None else int(row[0])

    def match_work(self, url: str | None, doi: str | None, isbn: str | None, key: str | None) -> int | None:
        if url:
            found = self.source_for_url(url)
            if found is not None:
                return found
        row = None
        if doi:
            row = self.conn.execute("SELECT id FROM source WHERE lower(doi) = lower(?)"
                                    " ORDER BY url IS NOT NULL, id LIMIT 1", (doi,)).fetchone()
        if row is None and isbn:
            row = self.conn.execute("SELECT id FROM source WHERE isbn = ? ORDER BY id LIMIT 1", (isbn,)).fetchone()
        if row is None and key and not (url or doi or isbn):
            row = self.conn.execute("SELECT id FROM source WHERE citekey = ? AND url IS NULL AND doi IS NULL"
                                    " AND isbn IS NULL", (key,)).fetchone()
        return None if row is None else int(row[0])

    def match_keyless_bibliography_work(self, title: str | None, type_: str, issued: str | None) -> int | None:
        row = self.conn.execute(
            "SELECT id FROM source WHERE url IS NULL AND doi IS NULL AND isbn IS NULL AND added_by = 'bibliography'"
            " AND title IS ? AND type = ? AND issued IS ? ORDER BY id LIMIT 1", (title, type_, issued)).fetchone()
        return None if row is None else int(row[0])

    # --- adding and editing sources ------------------------------------------------------------------------

    def insert_source(self, url: str | None, url_as_written: str | None, host: str | None, now: str, *,
                      added_by: str, user_note: str | None = None,
                      fields: Mapping[str, Any] | None = None) -> int:
        extra = {k: v for k, v in (fields or {}).items()}
        unknown = set(extra) - set(_INSERT_FIELDS)
        if unknown:
            raise ValueError(f"insert_source cannot set {sorted(unknown)}")
        names = ["url", "url_as_written", "host", "created_at", "updated_at", "user_note", "added_by", "created_by",
                 "updated_by", *extra]
        cur = self.conn.execute(
            f"INSERT INTO source ({', '.join(names)}) VALUES ({_marks(len(names))})",
            (url, url_as_written, host, now, now, user_note, added_by, self.user, self.user, *extra.values()))
        return int(cur.lastrowid or 0)

    def user_note(self, source_id: int) -> str | None:
        row = self.conn.execute("SELECT user_note FROM source WHERE id = ?", (source_id,)).fetchone()
        return None if row is None else row[0]

    def set_user_note(self, source_id: int, note: str | None, now: str) -> bool:
        if note is None:
            return bool(self.conn.execute("UPDATE source SET user_note = NULL WHERE id = ? AND user_note IS NOT NULL",
                                          (source_id,)).rowcount)
        return bool(self.conn.execute("UPDATE source SET user_note = ?, updated_at = ?, updated_by = ? WHERE id = ?",
                                      (note, now, self.user, source_id)).rowcount)

    def set_source_url(self, source_id: int, url: str, url_as_written: str, host: str | None, now: str) -> None:
        self.conn.execute("UPDATE source SET url = ?, url_as_written = ?, host = ?, updated_at = ?, updated_by = ?"
                          " WHERE id = ?", (url, url_as_written, host, now, self.user, source_id))

    def give_url_if_none(self, source_id: int, url: str, url_as_written: str, host: str | None) -> None:
        self.conn.execute("UPDATE source SET url = ?, url_as_written = ?, host = ? WHERE id = ? AND url IS NULL"
                          " AND NOT EXISTS (SELECT 1 FROM source WHERE url = ?)",
                          (url, url_as_written, host, source_id, url))

    def give_isbn_if_none(self, source_id: int, isbn: str) -> None:
        self.conn.execute("UPDATE source SET isbn = ? WHERE id = ? AND isbn IS NULL", (isbn, source_id))

    def citekey_of(self, source_id: int) -> str | None:
        row = self.conn.execute("SELECT citekey FROM source WHERE id = ?", (source_id,)).fetchone()
        return None if row is None else row[0]

    def store_citekey(self, source_id: int, key: str) -> None:
        self.conn.execute("UPDATE source SET citekey = ? WHERE id = ?", (key, source_id))

    def touch_source(self, source_id: int, now: str) -> None:
        self.conn.execute("UPDATE source SET updated_at = ?, updated_by = ? WHERE id = ?", (now, self.user, source_id))

    # --- tags ----------------------------------------------------------------------------------------------

    def add_source_tags(self, source_id: int, tags: Sequence[str]) -> None:
        for tag in tags:
            row = self.conn.execute("SELECT tag FROM source_tag WHERE tag = ? COLLATE NOCASE ORDER BY rowid LIMIT 1",
                                    (tag,)).fetchone()
            spelled = row[0] if row else tag  # tags are case-insensitive: the catalog's first spelling
            if self.conn.execute("SELECT 1 FROM source_tag WHERE source_id = ? AND tag = ? COLLATE NOCASE",
                                 (source_id, spelled)).fetchone() is None:
                self.conn.execute("INSERT INTO source_tag (source_id, tag, added_by) VALUES (?, ?, ?)",
                                  (source_id, spelled, self.user))

    def remove_source_tag(self, source_id: int, tag: str) -> bool:
        return bool(self.conn.execute("DELETE FROM source_tag WHERE source_id = ? AND tag = ? COLLATE NOCASE",
                                      (source_id, tag)).rowcount)

    def tag_counts(self) -> list[tuple[str, int]]:
        return [(str(tag), int(n)) for tag, n in self.conn.execute(
            "SELECT f.tag, g.n FROM (SELECT min(rowid) AS first, count(DISTINCT source_id) AS n FROM source_tag"
            " GROUP BY tag COLLATE NOCASE) g JOIN source_tag f ON f.rowid = g.first ORDER BY f.tag COLLATE NOCASE")]

    # --- evidence and merged fields ------------------------------------------------------------------------

    def put_field_evidence(self, rows: Sequence[NewEvidence]) -> None:
        user = self.user
        # A user value replaced by a different one goes to the history first (BEGIN IMMEDIATE serialises writers:
        # the value read here is the one replaced).
        self.conn.executemany(_KEEP_REPLACED_PIN, [(user, r.updated_at, r.source_id, r.field, _json(r.value))
                                                  for r in rows if r.origin == "user"])
        self.conn.executemany(
            "INSERT OR REPLACE INTO field_value (source_id, field, origin, value, updated_at, changed_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(r.source_id, r.field, r.origin, _json(r.value), r.updated_at, user) for r in rows])

    def delete_user_pin(self, source_id: int, field: str, now: str | None = None) -> bool:
        from refman.timeutil import utc_now

        self.conn.execute(_KEEP_REMOVED_PIN, (self.user, now or utc_now(), source_id, field))
        return bool(self.conn.execute("DELETE FROM field_value WHERE source_id = ? AND field = ? AND origin = 'user'",
                                      (source_id, field)).rowcount)

    def keep_field_history(self, source_id: int, rows: Sequence[EvidenceRow], now: str) -> None:
        self.conn.executemany(
            f"INSERT INTO field_history ({_HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(source_id, r.field, r.origin, _json(r.value), r.changed_by, r.updated_at, self.user, now)
             for r in rows])

    def field_history(self, source_id: int) -> list[HistoryRow]:
        return [HistoryRow(f, o, json.loads(v), cb, ca, rb, ra) for f, o, v, cb, ca, rb, ra in self.conn.execute(
            "SELECT field, origin, value, changed_by, changed_at, replaced_by, replaced_at FROM field_history"
            " WHERE source_id = ? ORDER BY replaced_at DESC, id DESC", (source_id,))]

    def source_people(self, source_id: int) -> SourcePeople | None:
        row = self.conn.execute("SELECT created_by, created_at, updated_by, updated_at FROM source WHERE id = ?",
                                (source_id,)).fetchone()
        if row is None:
            return None
        tags = dict(self.conn.execute("SELECT tag, added_by FROM source_tag WHERE source_id = ?", (source_id,)))
        return SourcePeople(row[0], row[1], row[2], row[3], tags)

    def field_evidence_for(self, source_ids: Sequence[int]) -> dict[int, list[Evidence]]:
        ids = list(source_ids)
        evidence: dict[int, list[Evidence]] = {sid: [] for sid in ids}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            for sid, field, origin, value in self.conn.execute(
                    f"SELECT source_id, field, origin, value FROM field_value WHERE source_id IN ({_marks(len(chunk))})"
                    " ORDER BY source_id, field, origin", chunk):
                evidence[sid].append(Evidence(field, origin, json.loads(value)))
        return evidence

    def write_cached_fields(self, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        if not rows:
            return
        names = list(rows[0][1])
        assignments = ", ".join(f"{name} = ?" for name in names)
        self.conn.executemany(f"UPDATE source SET {assignments} WHERE id = ?",
                              [(*(cols[n] for n in names), sid) for sid, cols in rows])

    # --- listings ------------------------------------------------------------------------------------------

    def _filter_where(self, filters: Any) -> tuple[list[str], list[Any]]:
        """`filters` (refman.search.SearchFilters, resolved against this store) as SQL on `source s`."""
        if filters is None or not filters.any:
            return [], []
        from refman.store.sqlite.search import source_filter_sql

        where, params = source_filter_sql(filters.resolve(self))
        return list(where), list(params)

    def list_sources(self, *, tag: str | None = None, orphans: bool = False, status: str | None = None,
                     ids: Sequence[int] | None = None, limit: int | None = None, offset: int = 0,
                     filters: Any = None, sort: str = "added") -> list[dict[str, Any]]:
        if sort not in _ORDER_BY:
            raise UsageError(f"unknown sort {sort!r}: one of {', '.join(LIST_SORTS)}")
        where: list[str] = []
        params: list[Any] = []
        if tag:
            where.append("s.id IN (SELECT source_id FROM source_tag WHERE tag = ? COLLATE NOCASE)")
            params.append(tag)
        if orphans:
            where.append(_ORPHAN_SQL.format(s="s"))
        if status:
            where.append("s.status = ?")
            params.append(status)
        more, more_params = self._filter_where(filters)
        where += more
        params += more_params
        if ids is not None:
            where.append(f"s.id IN ({_marks(len(ids))})")
            params.extend(ids)
        sql = f"SELECT {_LIST_COLUMNS} FROM source s"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {_ORDER_BY[sort]}"
        if limit or offset:
            sql += f" LIMIT {int(limit) if limit else -1} OFFSET {int(offset)}"
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if not rows:
            return []
        wanted = {r["id"] for r in rows}
        few = len(wanted) <= _CHUNK
        id_filter = f" WHERE source_id IN ({','.join(map(str, wanted))})" if few else ""
        tags: dict[int, list[str]] = {}
        for sid, t in self.conn.execute(f"SELECT source_id, tag FROM source_tag{id_filter}"
                                        " ORDER BY tag COLLATE NOCASE"):
            tags.setdefault(sid, []).append(t)
        mentions: dict[int, list[dict[str, Any]]] = {}
        mention_filter = id_filter.replace("source_id", "m.source_id")
        for sid, path, line, label, kind in self.conn.execute(
            "SELECT m.source_id, n.path, m.line, m.label, m.kind FROM mention m JOIN note n ON n.id = m.note_id"
            f"{mention_filter} ORDER BY n.path, m.line"
        ):
            if sid in wanted:
                mentions.setdefault(sid, []).append({"path": path, "line": line, "label": label, "kind": kind})
        return [source_dict(r, tags.get(r["id"], []), mentions.get(r["id"], [])) for r in rows]

    def count_sources(self, *, orphans: bool = False, filters: Any = None) -> int:
        where: list[str] = [_ORPHAN_SQL.format(s="s")] if orphans else []
        more, params = self._filter_where(filters)
        where += more
        sql = "SELECT count(*) FROM source s" + (" WHERE " + " AND ".join(where) if where else "")
        return int(self.conn.execute(sql, params).fetchone()[0])

    def mentions_of(self, source_id: int) -> list[dict[str, Any]]:
        return [
            {"path": r[0], "line": r[1], "label": r[2], "kind": r[5], "annotation": r[3], "flag": r[4]}
            for r in self.conn.execute(
                "SELECT n.path, m.line, m.label, m.annotation, m.flag, m.kind FROM mention m"
                " JOIN note n ON n.id = m.note_id WHERE m.source_id = ? ORDER BY n.path, m.line", (source_id,))
        ]

    def recent_snapshots(self, source_id: int, limit: int) -> list[dict[str, Any]]:
        cur = self.conn.execute(
            "SELECT id, fetched_at, outcome, http_status, final_url, content_type, size, unchanged, elapsed_ms,"
            " reason, origin, memento_url, memento_at, fetched_by"
            " FROM snapshot WHERE source_id = ? ORDER BY fetched_at DESC, id DESC LIMIT ?", (source_id, limit))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur]

    def archived_chars(self, source_id: int) -> int:
        row = self.conn.execute("SELECT length(text) FROM source_text WHERE source_id = ?", (source_id,)).fetchone()
        return int(row[0] or 0) if row else 0

    def catalog_statistics(self) -> dict[str, Any]:
        def one(sql: str) -> int:
            return int(self.conn.execute(sql).fetchone()[0])

        return {
            "notes": one("SELECT count(*) FROM note"),
            "notes_skipped": one("SELECT count(*) FROM note WHERE status != 'ok'"),
            "sources": one("SELECT count(*) FROM source"),
            "mentions": one("SELECT count(*) FROM mention"),
            "orphans": one(f"SELECT count(*) FROM source s WHERE {_ORPHAN_SQL.format(s='s')}"),
            "tags": one("SELECT count(DISTINCT tag) FROM source_tag"),
            "snapshots": one("SELECT count(*) FROM snapshot"),
            "archived_sources": one("SELECT count(*) FROM source_text"),
            "stored_bytes": one("SELECT coalesce(sum(stored_size), 0) FROM blob"),
            "by_status": dict(self.conn.execute(
                "SELECT status, count(*) FROM source GROUP BY status ORDER BY 2 DESC")),
            "top_hosts": dict(self.conn.execute(
                "SELECT host, count(*) FROM source GROUP BY host ORDER BY 2 DESC, 1 LIMIT 10")),
        }

    # --- duplicates ----------------------------------------------------------------------------------------

    def source_urls(self) -> dict[int, str | None]:
        return {int(sid): url for sid, url in self.conn.execute("SELECT id, url FROM source")}

    def latest_live_fetches(self, outcomes: Sequence[str]) -> Iterator[LiveFetch]:
        for sid, final_url, hops, body_hash, outcome in self.conn.execute(
            f"""SELECT s.id, g.final_url, g.redirects, g.body_hash, g.outcome FROM source s JOIN snapshot g ON g.id = (
                  SELECT id FROM snapshot WHERE source_id = s.id AND outcome IN ({_marks(len(outcomes))})
                  AND origin = 'live' ORDER BY fetched_at DESC, id DESC LIMIT 1)""", list(outcomes)):
            urls: list[str] = []
            if hops:
                with contextlib.suppress(ValueError, TypeError):
                    urls = [h["url"] for h in json.loads(hops) if isinstance(h, dict) and isinstance(h.get("url"), str)]
            yield LiveFetch(int(sid), final_url, urls, body_hash, outcome)

    def latest_canonical_urls(self, outcomes: Sequence[str]) -> Iterator[tuple[int, Any]]:
        for sid, value in self.conn.execute(
            f"""SELECT s.id, json_extract(g.metadata_json, '$.canonical_url') FROM source s JOIN snapshot g ON g.id = (
                  SELECT id FROM snapshot WHERE source_id = s.id AND outcome IN ({_marks(len(outcomes))})
                  AND metadata_json IS NOT NULL AND json_valid(metadata_json)
                  ORDER BY fetched_at DESC, id DESC LIMIT 1)""", list(outcomes)):
            yield int(sid), value

    def sources_with_doi(self) -> list[tuple[int, str]]:
        return [(int(sid), str(doi)) for sid, doi in self.conn.execute(
            "SELECT id, lower(trim(doi)) FROM source WHERE doi IS NOT NULL AND trim(doi) <> '' ORDER BY id")]

    def source_summaries(self, source_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        info: dict[int, dict[str, Any]] = {}
        ids = list(source_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            for r in self.conn.execute(
                "SELECT s.id, s.url, s.title, s.citekey, s.status, (SELECT count(*) FROM mention m"
                f" WHERE m.source_id = s.id) FROM source s WHERE s.id IN ({_marks(len(chunk))})", chunk):
                info[int(r[0])] = {"id": r[0], "url": r[1], "title": r[2], "citekey": r[3], "status": r[4],
                                   "mentions": r[5]}
        return info

    # --- merging sources -----------------------------------------------------------------------------------

    def merge_rows(self, source_ids: Sequence[int]) -> dict[int, MergeRow]:
        ids = list(source_ids)
        return {int(r[0]): MergeRow(*r) for r in self.conn.execute(
            "SELECT id, url, citekey, user_note, status, reason, fail_count, fetched_at, last_ok_at, created_at,"
            f" added_by, first_cited_at, label_note FROM source WHERE id IN ({_marks(len(ids))})", ids)}

    def move_mentions(self, keep_id: int, drop_ids: Sequence[int]) -> int:
        return int(self.conn.execute(f"UPDATE mention SET source_id = ? WHERE source_id IN ({_marks(len(drop_ids))})",
                                     (keep_id, *drop_ids)).rowcount)

    def unite_tags(self, keep_id: int, drop_ids: Sequence[int]) -> list[str]:
        marks = _marks(len(drop_ids))
        have = {t for (t,) in self.conn.execute("SELECT tag FROM source_tag WHERE source_id = ?", (keep_id,))}
        taggers: dict[str, str | None] = {}  # a tag moves with who added it (the first dropped source's)
        for t, by in self.conn.execute(f"SELECT tag, added_by FROM source_tag WHERE source_id IN ({marks})"
                                       " ORDER BY source_id", list(drop_ids)):
            taggers.setdefault(t, by)
        new_tags = sorted(set(taggers) - have)
        self.conn.executemany("INSERT INTO source_tag (source_id, tag, added_by) VALUES (?, ?, ?)",
                              [(keep_id, t, taggers[t]) for t in new_tags])
        self.conn.execute(f"DELETE FROM source_tag WHERE source_id IN ({marks})", list(drop_ids))
        return new_tags

    def field_evidence_rows(self, source_id: int) -> list[EvidenceRow]:
        return [EvidenceRow(f, o, json.loads(v), u, by) for f, o, v, u, by in self.conn.execute(
            "SELECT field, origin, value, updated_at, changed_by FROM field_value WHERE source_id = ?"
            " ORDER BY field, origin", (source_id,))]

    def add_field_evidence_rows(self, source_id: int, rows: Sequence[EvidenceRow]) -> None:
        self.conn.executemany(
            "INSERT INTO field_value (source_id, field, origin, value, updated_at, changed_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(source_id, r.field, r.origin, _json(r.value), r.updated_at, r.changed_by) for r in rows])

    def archived_text_times(self, source_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        ids = list(source_ids)
        return {int(r[0]): (r[1] or "", int(r[2])) for r in self.conn.execute(
            "SELECT t.source_id, g.fetched_at, t.snapshot_id FROM source_text t JOIN snapshot g"
            f" ON g.id = t.snapshot_id WHERE t.source_id IN ({_marks(len(ids))})", ids)}

    def move_snapshots(self, keep_id: int, drop_ids: Sequence[int]) -> int:
        return int(self.conn.execute(
            f"UPDATE snapshot SET source_id = ? WHERE source_id IN ({_marks(len(drop_ids))})",
            (keep_id, *drop_ids)).rowcount)

    def keep_archived_text(self, keep_id: int, text_from: int | None, drop_ids: Sequence[int]) -> None:
        if text_from is not None and text_from != keep_id:
            self.conn.execute("DELETE FROM source_text WHERE source_id = ?", (keep_id,))
            self.conn.execute("UPDATE source_text SET source_id = ? WHERE source_id = ?", (keep_id, text_from))
        self.conn.execute(f"DELETE FROM source_text WHERE source_id IN ({_marks(len(drop_ids))})", list(drop_ids))

    def clear_citekeys(self, source_ids: Sequence[int]) -> None:
        self.conn.execute(f"UPDATE source SET citekey = NULL WHERE id IN ({_marks(len(source_ids))})",
                          list(source_ids))

    def update_merged_source(self, source_id: int, values: Mapping[str, Any]) -> None:
        unknown = set(values) - set(_MERGED_COLUMNS)
        if unknown:
            raise ValueError(f"update_merged_source cannot set {sorted(unknown)}")
        if "updated_at" in values:  # who merged it
            values = {**values, "updated_by": self.user}
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.conn.execute(f"UPDATE source SET {assignments} WHERE id = ?", (*values.values(), source_id))

    def delete_merged_sources(self, keep_id: int, drop_ids: Sequence[int], now: str) -> None:
        marks = _marks(len(drop_ids))
        drops = list(drop_ids)
        urls = [url for (url,) in self.conn.execute(f"SELECT url FROM source WHERE id IN ({marks}) ORDER BY id",
                                                    drops) if url]  # works without URL: none
        self.conn.execute(f"DELETE FROM field_value WHERE source_id IN ({marks})", drops)
        # the values the dropped sources' users overwrote stay in the history, of the kept source
        self.conn.execute(f"UPDATE field_history SET source_id = ? WHERE source_id IN ({marks})", (keep_id, *drops))
        self.conn.execute(f"UPDATE source_alias SET source_id = ? WHERE source_id IN ({marks})", (keep_id, *drops))
        self.conn.executemany("INSERT OR REPLACE INTO source_alias (url, source_id, created_at) VALUES (?, ?, ?)",
                              [(url, keep_id, now) for url in urls])
        self.conn.execute(f"DELETE FROM source WHERE id IN ({marks})", drops)

    def move_source_url(self, source_id: int, old: str | None, new: str, host: str | None, now: str) -> None:
        self.conn.execute("DELETE FROM source_alias WHERE url = ?", (new,))
        self.conn.execute("UPDATE source SET url = ?, url_as_written = ?, host = ? WHERE id = ?",
                          (new, new, host, source_id))
        if old is not None:
            self.conn.execute("INSERT OR REPLACE INTO source_alias (url, source_id, created_at) VALUES (?, ?, ?)",
                              (old, source_id, now))
