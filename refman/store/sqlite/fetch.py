"""SQLite implementation of refman.store.fetch.FetchStore."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from refman.errors import NotFoundError
from refman.store.fetch import (
    SNAPSHOT_COLUMNS,
    SNAPSHOT_ORIGINS,
    AttemptWritten,
    CheckFacts,
    CitedDayEvidence,
    FetchAttempt,
    FetchBacklog,
    FetchClaim,
    LiveSnapshot,
    PackedBlob,
    PreviousFetch,
    RobotsRow,
    TextOrigin,
)
from refman.store.sqlite.base import SqliteBase
from refman.vocabulary import GOOD_OUTCOMES

CHUNK = 500  # ids per IN (…) list: well under SQLite's variable limit
_GOOD = ", ".join(f"'{w}'" for w in GOOD_OUTCOMES)
_INSERT_SNAPSHOT = (f"INSERT INTO snapshot ({', '.join(SNAPSHOT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' for _ in SNAPSHOT_COLUMNS)})")
_UNCHANGED = SNAPSHOT_COLUMNS.index("unchanged")
_ORIGIN = SNAPSHOT_COLUMNS.index("origin")


def _chunks(ids: Sequence[int]) -> Iterator[tuple[list[int], str]]:
    for start in range(0, len(ids), CHUNK):
        chunk = list(ids[start:start + CHUNK])
        yield chunk, ", ".join("?" for _ in chunk)


def _snapshot_values(row: Mapping[str, Any]) -> list[Any]:
    unknown = set(row) - set(SNAPSHOT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown snapshot columns: {sorted(unknown)}")
    values = [row.get(name) for name in SNAPSHOT_COLUMNS]
    values[_UNCHANGED] = int(bool(row.get("unchanged")))
    origin = row.get("origin") or "live"
    if origin not in SNAPSHOT_ORIGINS:
        raise ValueError(f"unknown snapshot origin: {origin!r}")
    values[_ORIGIN] = origin
    return values


class SqliteFetch(SqliteBase):
    # ------------------------------------------------------------------------------------- choosing what to fetch

    def sources_due_for_fetch(self, *, stale_days: float | None = None, failed: bool = False,
                              all_sources: bool = False) -> list[int]:
        if all_sources:
            return [r[0] for r in self.conn.execute("SELECT id FROM source WHERE url IS NOT NULL ORDER BY id")]
        where = ["fetched_at IS NULL"]
        params: list[Any] = []
        if stale_days is not None:
            where.append("fetched_at < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)")
            params.append(f"-{float(stale_days) * 86400:.0f} seconds")
        if failed:
            where.append("(fetched_at IS NOT NULL AND status NOT IN ('ok', 'new'))")
        sql = f"SELECT id FROM source WHERE url IS NOT NULL AND ({' OR '.join(where)}) ORDER BY id"
        return [r[0] for r in self.conn.execute(sql, params)]

    def fetchable_among(self, source_ids: Sequence[int]) -> list[int]:
        with_url: set[int] = set()
        for chunk, marks in _chunks(source_ids):
            with_url.update(r[0] for r in self.conn.execute(
                f"SELECT id FROM source WHERE url IS NOT NULL AND id IN ({marks})", chunk))
        return [i for i in source_ids if i in with_url]

    def previous_fetches(self, source_ids: Sequence[int]) -> list[PreviousFetch]:
        out: list[PreviousFetch] = []
        for chunk, marks in _chunks(source_ids):
            rows = self.conn.execute(
                f"""SELECT s.id, s.url, s.fail_count, g.body_hash, g.outcome, g.reason, g.etag, g.last_modified
                    FROM source s LEFT JOIN snapshot g ON g.id = (
                        SELECT id FROM snapshot WHERE source_id = s.id AND body_hash IS NOT NULL
                        AND outcome IN ({_GOOD}) AND origin = 'live' ORDER BY fetched_at DESC, id DESC LIMIT 1)
                    WHERE s.id IN ({marks})""",
                chunk,
            ).fetchall()
            by_id = {r[0]: r for r in rows}
            out += [PreviousFetch(r[0], r[1], r[2] or 0, *r[3:]) for r in map(by_id.get, chunk) if r is not None]
        return out

    def fetch_backlog(self) -> FetchBacklog:
        row = self.conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE fetched_at IS NULL),"
            " count(*) FILTER (WHERE fetched_at IS NOT NULL AND status NOT IN ('ok', 'new')),"
            " min(fetched_at) FROM source").fetchone()
        claimed = self.conn.execute("SELECT count(*) FROM fetch_claim").fetchone()[0]
        return FetchBacklog(sources=row[0], never_fetched=row[1], failed=row[2], claimed=claimed,
                            oldest_fetch=row[3])

    # ------------------------------------------------------------------------------------- claims

    def fetch_claims(self) -> list[FetchClaim]:
        return [FetchClaim(*r) for r in self.conn.execute(
            "SELECT source_id, machine, pid, (julianday('now') - julianday(heartbeat_at)) * 86400 FROM fetch_claim")]

    def drop_fetch_claims(self, source_ids: Sequence[int]) -> None:
        self.conn.executemany("DELETE FROM fetch_claim WHERE source_id = ?", [(sid,) for sid in source_ids])

    def take_fetch_claims(self, source_ids: Sequence[int], machine: str, pid: int, now: str) -> set[int]:
        mine: set[int] = set()
        for chunk, marks in _chunks(source_ids):
            self.conn.executemany(
                "INSERT OR IGNORE INTO fetch_claim (source_id, machine, pid, claimed_at, heartbeat_at)"
                " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM source WHERE id = ?)",
                [(sid, machine, pid, now, now, sid) for sid in chunk])
            mine.update(r[0] for r in self.conn.execute(
                f"SELECT source_id FROM fetch_claim WHERE machine = ? AND pid = ? AND source_id IN ({marks})",
                (machine, pid, *chunk)))
        return mine

    def beat_fetch_claims(self, machine: str, pid: int, now: str) -> None:
        self.conn.execute("UPDATE fetch_claim SET heartbeat_at = ? WHERE machine = ? AND pid = ?", (now, machine, pid))

    def release_fetch_claims(self, machine: str, pid: int, source_ids: Sequence[int] | None = None) -> None:
        if source_ids is None:
            self.conn.execute("DELETE FROM fetch_claim WHERE machine = ? AND pid = ?", (machine, pid))
            return
        self.conn.executemany("DELETE FROM fetch_claim WHERE source_id = ? AND machine = ? AND pid = ?",
                              [(sid, machine, pid) for sid in source_ids])

    # ------------------------------------------------------------------------------------- robots.txt

    def robots_row(self, origin: str) -> RobotsRow | None:
        row = self.conn.execute("SELECT origin, fetched_at, outcome, http_status, body FROM robots_txt "
                                "WHERE origin = ?", (origin,)).fetchone()
        return None if row is None else RobotsRow(*row)

    def put_robots_row(self, row: RobotsRow) -> None:
        # one statement in autocommit: the write lock is held for this row only
        self.conn.execute(
            "INSERT INTO robots_txt (origin, fetched_at, outcome, http_status, body) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(origin) DO UPDATE SET fetched_at = excluded.fetched_at, outcome = excluded.outcome, "
            "http_status = excluded.http_status, body = excluded.body "
            "WHERE excluded.fetched_at > robots_txt.fetched_at", tuple(row))

    # ------------------------------------------------------------------------------------- attempt records

    def record_fetch_attempt(self, attempt: FetchAttempt) -> AttemptWritten:
        try:
            with self.transaction():
                return self._record_fetch_attempt(attempt)
        except sqlite3.IntegrityError as exc:  # the source was deleted meanwhile
            raise NotFoundError(f"source {attempt.source_id} is no longer in the catalog ({exc})") from exc

    def _record_fetch_attempt(self, a: FetchAttempt) -> AttemptWritten:
        conn, sid = self.conn, a.source_id
        conn.execute("DELETE FROM fetch_claim WHERE source_id = ?", (sid,))  # done: another run may take it now
        new_bytes = sum(blob.stored_size for blob in a.blobs if self.put_blob(blob))
        snap_id = self.add_snapshot({**a.snapshot, "source_id": sid, "fetched_at": a.fetched_at})
        content_changed, unchanged = a.content_changed, a.unchanged
        if a.status == "thin" and content_changed | unchanged:
            origin = self.text_origin(sid)
            if origin is not None and origin.origin != "live":
                # a live shell never replaces the text a fallback (adapter, render, archive) found for it
                content_changed = unchanged = False
        if content_changed:
            conn.execute(
                "INSERT INTO source_text (source_id, snapshot_id, text, markdown_hash) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(source_id) DO UPDATE SET snapshot_id = excluded.snapshot_id, text = excluded.text, "
                "markdown_hash = excluded.markdown_hash",
                (sid, snap_id, a.text or "", a.markdown_hash),
            )
            # `origin NOT IN (NULL)` is never true: with no origin kept, every other row goes (as on PostgreSQL)
            kept = f" AND origin NOT IN ({', '.join('?' for _ in a.kept_origins)})" if a.kept_origins else ""
            conn.execute(f"DELETE FROM field_value WHERE source_id = ?{kept}", (sid, *a.kept_origins))
            conn.executemany(
                "INSERT OR REPLACE INTO field_value (source_id, field, origin, value, updated_at, changed_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(sid, name, origin, value, a.fetched_at, self.user) for name, origin, value in a.evidence
                 if origin not in a.kept_origins],  # never write over a pinned value
            )
        elif unchanged:
            conn.execute("UPDATE source_text SET snapshot_id = ? WHERE source_id = ?", (snap_id, sid))
        written = AttemptWritten(snap_id, new_bytes, content_changed)
        good = a.status in GOOD_OUTCOMES
        if a.keep_status:
            if good:  # a copy of a never-fetched source: it has an archive now
                conn.execute("UPDATE source SET status = CASE WHEN status = 'new' THEN ? ELSE status END, "
                             "last_ok_at = ?, updated_at = ? WHERE id = ?",
                             (a.status, a.fetched_at, a.fetched_at, sid))
            return written
        fail_sql = "fail_count + 1" if a.failed else "0" if a.reachable else "fail_count"
        # The streak of definitive failures (404/410, a host that no longer exists) that `check` needs to span a
        # day before it calls a source dead; any other outcome ends it (a 503 in between is not "in a row").
        since_sql = "coalesce(failing_since, ?)" if a.definitive else "NULL"
        cur = conn.execute(
            f"UPDATE source SET status = ?, reason = ?, fetched_at = ?, fail_count = {fail_sql}, "
            f"failing_since = {since_sql}, "
            "last_ok_at = CASE WHEN ? THEN ? ELSE last_ok_at END, "
            "updated_at = CASE WHEN ? THEN ? ELSE updated_at END WHERE id = ?",
            (a.status, a.reason, a.fetched_at, *((a.fetched_at,) if a.definitive else ()), good,
             a.fetched_at, content_changed, a.fetched_at, sid),
        )
        if cur.rowcount == 0:
            raise sqlite3.IntegrityError(f"no source {sid}")
        return written

    def put_blob(self, blob: PackedBlob) -> bool:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO blob (hash, codec, size, stored_size, data) VALUES (?, ?, ?, ?, ?)",
            (blob.hash, blob.codec, blob.size, blob.stored_size, blob.data),
        )
        return cur.rowcount > 0

    def has_blob(self, digest: str) -> bool:
        return self.conn.execute("SELECT 1 FROM blob WHERE hash = ?", (digest,)).fetchone() is not None

    def blob_data(self, digest: str) -> tuple[str, bytes] | None:
        row = self.conn.execute("SELECT codec, data FROM blob WHERE hash = ?", (digest,)).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def add_snapshot(self, row: Mapping[str, Any]) -> int:
        if row.get("fetched_by") is None:
            row = {**row, "fetched_by": self.user}
        cur = self.conn.execute(_INSERT_SNAPSHOT, _snapshot_values(row))
        return int(cur.lastrowid or 0)

    def _snapshot_dicts(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def latest_good_snapshot(self, source_id: int) -> dict[str, Any] | None:
        rows = self._snapshot_dicts(
            f"SELECT * FROM snapshot WHERE source_id = ? AND body_hash IS NOT NULL AND outcome IN ({_GOOD}) "
            "ORDER BY fetched_at DESC, id DESC LIMIT 1", (source_id,))
        return rows[0] if rows else None

    def snapshot_history(self, source_id: int) -> list[dict[str, Any]]:
        return self._snapshot_dicts(
            "SELECT * FROM snapshot WHERE source_id = ? ORDER BY fetched_at DESC, id DESC", (source_id,))

    def archive_stats(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(stored_size), 0) FROM blob").fetchone()
        return {"blobs": int(row[0]), "raw_bytes": int(row[1]), "stored_bytes": int(row[2])}

    # ------------------------------------------------------------------------------------- checking

    def check_facts(self, source_ids: Sequence[int]) -> list[CheckFacts]:
        out: list[CheckFacts] = []
        for chunk, marks in _chunks(source_ids):
            out += [CheckFacts(*r) for r in self.conn.execute(
                f"SELECT id, url, status, reason, fail_count, failing_since, fetched_at,"
                f" (julianday(fetched_at) - julianday(failing_since)) FROM source WHERE id IN ({marks})", chunk)]
        return out

    def live_snapshots(self, source_id: int, limit: int = 50) -> list[LiveSnapshot]:
        return [LiveSnapshot(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in self.conn.execute(
            "SELECT outcome, final_url, redirects, body_hash, unchanged, metadata_json FROM snapshot "
            "WHERE source_id = ? AND origin = 'live' ORDER BY fetched_at DESC, id DESC LIMIT ?", (source_id, limit))]

    def note_paths_citing(self, source_ids: Iterable[int]) -> dict[int, list[str]]:
        cited: dict[int, list[str]] = defaultdict(list)
        for chunk, marks in _chunks(list(source_ids)):
            for sid, path in self.conn.execute(
                f"SELECT DISTINCT m.source_id, n.path FROM mention m JOIN note n ON n.id = m.note_id "
                f"WHERE m.source_id IN ({marks})", chunk,
            ):
                cited[sid].append(path)
        return dict(cited)

    # ------------------------------------------------------------------------------------- archive copies

    def cited_day_evidence(self, source_ids: Sequence[int]) -> list[CitedDayEvidence]:
        out: list[CitedDayEvidence] = []
        for chunk, marks in _chunks(source_ids):
            out += [CitedDayEvidence(*r) for r in self.conn.execute(
                f"""SELECT s.id,
                        (SELECT value FROM field_value WHERE source_id = s.id AND field = 'issued'
                         AND origin = 'label'),
                        s.first_cited_at,
                        (SELECT MIN(n.mtime_ns) FROM mention m JOIN note n ON n.id = m.note_id
                         WHERE m.source_id = s.id),
                        s.created_at
                    FROM source s WHERE s.id IN ({marks})""",
                chunk,
            )]
        return out

    def newest_archive_copy(self, source_id: int) -> tuple[str, str | None] | None:
        row = self.conn.execute(
            "SELECT memento_url, memento_at FROM snapshot WHERE source_id = ? AND origin = 'wayback' "
            f"AND memento_url IS NOT NULL AND outcome IN ({_GOOD}, 'saved') "
            "ORDER BY memento_at DESC, id DESC LIMIT 1", (source_id,),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def sources_last_fetched_ok(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM source WHERE status = 'ok' ORDER BY id")]

    def fetch_urls(self, source_ids: Sequence[int]) -> dict[int, str]:
        urls: dict[int, str] = {}
        for chunk, marks in _chunks(source_ids):
            urls.update(self.conn.execute(
                f"SELECT id, url FROM source WHERE url IS NOT NULL AND id IN ({marks})", chunk).fetchall())
        return urls

    def text_origin(self, source_id: int) -> TextOrigin | None:
        row = self.conn.execute(
            "SELECT g.origin, g.memento_url, g.memento_at, g.fetched_at FROM source_text t "
            "JOIN snapshot g ON g.id = t.snapshot_id WHERE t.source_id = ?", (source_id,)).fetchone()
        return None if row is None else TextOrigin(*row)

    def thin_judgement(self, source_id: int) -> str | None:
        row = self.conn.execute(
            "SELECT g.metadata_json FROM source s JOIN snapshot g ON g.source_id = s.id WHERE s.id = ?"
            " AND s.status = 'thin' AND g.origin = 'live' AND g.outcome = 'thin' AND g.metadata_json IS NOT NULL"
            " ORDER BY g.fetched_at DESC, g.id DESC LIMIT 1", (source_id,)).fetchone()
        return None if row is None else str(row[0])

    def title_after_fetch(self, source_id: int) -> str | None:
        row = self.conn.execute("SELECT title FROM source WHERE id = ?", (source_id,)).fetchone()
        return None if row is None else row[0]
