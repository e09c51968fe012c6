"""PostgreSQL implementation of refman.store.fetch.FetchStore.

Statements are SQLAlchemy Core on refman.models' tables, built once at import (compiled once by
refman.store.postgres.base.compile_statement); id lists bind as one array (`= ANY(...)`). Blobs are
content-addressed `bytea` rows: `INSERT … ON CONFLICT (hash) DO NOTHING`, so of two runs storing the same body
exactly one writes it and neither fails.

Fetch claims (refman.fetch.claims) let several `refman fetch` runs, on one machine or many, share a catalog:

- `take_fetch_claims` is one `INSERT … SELECT … ON CONFLICT (source_id) DO NOTHING` on the claim's primary key.
  PostgreSQL makes a concurrent insert of the same key wait for the first inserter's transaction and then do
  nothing, so each source goes to exactly one run, whatever the isolation level. Rows are inserted in id order
  so that two runs claiming overlapping sets never wait on each other in a cycle.
- `refman.fetch.claims.claim` reads the claims, drops the stale ones and takes new ones in one transaction: a
  read-then-write. SQLite serialises it with BEGIN IMMEDIATE; here `fetch_claims`, `drop_fetch_claims` and
  `take_fetch_claims` take the transaction-level advisory lock CLAIMS_LOCK when called inside a transaction, so
  that two such transactions run one after the other and no run drops a claim another run took after it read
  the claims (it would otherwise drop a live claim it saw as stale, and both runs would fetch the source).
  Heartbeats, releases and the end of a claim in `record_fetch_attempt` only touch the run's own rows and need
  no lock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from psycopg import errors as pg_errors
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import SQLModel

import refman.models  # noqa: F401  # declares the tables in SQLModel.metadata
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
from refman.store.postgres.base import PostgresBase
from refman.timeutil import utc_text
from refman.vocabulary import GOOD_OUTCOMES

# pg_advisory_xact_lock key serialising the transactions that read and write fetch claims ("rmclaim" in ASCII).
CLAIMS_LOCK = 0x726D636C61696D

_TABLES = SQLModel.metadata.tables  # refman.models' tables
SRC = _TABLES["source"]
SNAP = _TABLES["snapshot"]
BLOB = _TABLES["blob"]
TEXT = _TABLES["source_text"]
CLAIM = _TABLES["fetch_claim"]
FIELD = _TABLES["field_value"]
MENTION = _TABLES["mention"]
NOTE = _TABLES["note"]
ROBOTS = _TABLES["robots_txt"]


def _ids(name: str = "ids") -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=ARRAY(sa.Integer))


def _words(*words: str) -> sa.BindParameter[Any]:
    """A constant list of words, bound as one text array (Core would expand an IN list per call)."""
    return sa.literal([str(w) for w in words], ARRAY(sa.String))


def _binary(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """Text compared byte-wise, as SQLite's default BINARY collation does (stored times are ISO 8601 strings)."""
    return column.collate("C")


_GOOD = _words(*GOOD_OUTCOMES)
_OK_OR_NEW = _words("ok", "new")
_NEWEST_FIRST = (_binary(SNAP.c.fetched_at).desc(), SNAP.c.id.desc())
_FAILED_LAST = sa.and_(SRC.c.fetched_at.is_not(None), SRC.c.status != sa.all_(_OK_OR_NEW))

# -- choosing what to fetch

_ALL_WITH_URL = sa.select(SRC.c.id).where(SRC.c.url.is_not(None)).order_by(SRC.c.id)


def _build_due(stale: bool, failed: bool) -> sa.Select[Any]:
    due: list[sa.ColumnElement[bool]] = [SRC.c.fetched_at.is_(None)]
    if stale:
        due.append(_binary(SRC.c.fetched_at) < sa.bindparam("cutoff", type_=sa.String))
    if failed:
        due.append(_FAILED_LAST)
    return sa.select(SRC.c.id).where(SRC.c.url.is_not(None), sa.or_(*due)).order_by(SRC.c.id)


_DUE = {(stale, failed): _build_due(stale, failed) for stale in (False, True) for failed in (False, True)}

_FETCHABLE = sa.select(SRC.c.id).where(SRC.c.url.is_not(None), SRC.c.id == sa.any_(_ids()))
_FETCH_URLS = sa.select(SRC.c.id, SRC.c.url).where(SRC.c.url.is_not(None), SRC.c.id == sa.any_(_ids()))

_PREV_GOOD = (
    sa.select(SNAP.c.body_hash, SNAP.c.outcome, SNAP.c.reason, SNAP.c.etag, SNAP.c.last_modified)
    .where(SNAP.c.source_id == SRC.c.id, SNAP.c.body_hash.is_not(None), SNAP.c.outcome == sa.any_(_GOOD),
           SNAP.c.origin == "live")
    .order_by(*_NEWEST_FIRST)
    .limit(1)
    .lateral("g")
)
_PREVIOUS = (
    sa.select(SRC.c.id, SRC.c.url, SRC.c.fail_count, _PREV_GOOD.c.body_hash, _PREV_GOOD.c.outcome,
              _PREV_GOOD.c.reason, _PREV_GOOD.c.etag, _PREV_GOOD.c.last_modified)
    .select_from(SRC.outerjoin(_PREV_GOOD, sa.true()))
    .where(SRC.c.id == sa.any_(_ids()))
)

_BACKLOG = sa.select(
    sa.func.count(),
    sa.func.count().filter(SRC.c.fetched_at.is_(None)),
    sa.func.count().filter(_FAILED_LAST),
    sa.func.min(_binary(SRC.c.fetched_at)),
    sa.select(sa.func.count()).select_from(CLAIM).scalar_subquery(),
).select_from(SRC)

# -- claims

_LOCK_CLAIMS = sa.select(sa.func.pg_advisory_xact_lock(sa.literal(CLAIMS_LOCK, sa.BigInteger)))
_CLAIMS = sa.select(CLAIM.c.source_id, CLAIM.c.machine, CLAIM.c.pid, CLAIM.c.heartbeat_at).order_by(
    CLAIM.c.source_id)
_DROP_CLAIMS = sa.delete(CLAIM).where(CLAIM.c.source_id == sa.any_(_ids()))
_HOLDER = sa.and_(CLAIM.c.machine == sa.bindparam("machine", type_=sa.String),
                  CLAIM.c.pid == sa.bindparam("pid", type_=sa.Integer))
_TAKE_CLAIMS = pg_insert(CLAIM).from_select(
    ["source_id", "machine", "pid", "claimed_at", "heartbeat_at"],
    sa.select(SRC.c.id, sa.bindparam("machine", type_=sa.String), sa.bindparam("pid", type_=sa.Integer),
              sa.bindparam("now", type_=sa.String), sa.bindparam("now", type_=sa.String))
    .where(SRC.c.id == sa.any_(_ids()))
    .order_by(SRC.c.id),
).on_conflict_do_nothing(index_elements=["source_id"])
_MY_CLAIMS = sa.select(CLAIM.c.source_id).where(_HOLDER, CLAIM.c.source_id == sa.any_(_ids()))
_BEAT = sa.update(CLAIM).where(_HOLDER).values(heartbeat_at=sa.bindparam("now", type_=sa.String))
_RELEASE_ALL = sa.delete(CLAIM).where(_HOLDER)
_RELEASE_SOME = sa.delete(CLAIM).where(_HOLDER, CLAIM.c.source_id == sa.any_(_ids()))
_END_CLAIM = sa.delete(CLAIM).where(CLAIM.c.source_id == sa.bindparam("sid", type_=sa.Integer))

# -- robots.txt

_ROBOTS_ROW = sa.select(ROBOTS.c.origin, ROBOTS.c.fetched_at, ROBOTS.c.outcome, ROBOTS.c.http_status,
                        ROBOTS.c.body).where(ROBOTS.c.origin == sa.bindparam("origin", type_=sa.String))
_robots_insert = pg_insert(ROBOTS)
_PUT_ROBOTS = _robots_insert.on_conflict_do_update(
    index_elements=["origin"],
    set_={name: _robots_insert.excluded[name] for name in ("fetched_at", "outcome", "http_status", "body")},
    # of two runs that read it, the later reading stays (times are ISO 8601 strings: compared byte-wise)
    where=_binary(_robots_insert.excluded.fetched_at) > _binary(ROBOTS.c.fetched_at),
)

# -- attempt records

_PUT_BLOB = pg_insert(BLOB).on_conflict_do_nothing(index_elements=["hash"]).returning(BLOB.c.hash)
_HAS_BLOB = sa.select(sa.literal(1)).where(BLOB.c.hash == sa.bindparam("digest", type_=sa.String))
_BLOB_DATA = sa.select(BLOB.c.codec, BLOB.c.data).where(BLOB.c.hash == sa.bindparam("digest", type_=sa.String))
_ADD_SNAPSHOT = sa.insert(SNAP).values({name: sa.bindparam(name) for name in SNAPSHOT_COLUMNS}).returning(SNAP.c.id)

_text_insert = pg_insert(TEXT)
_PUT_TEXT = _text_insert.on_conflict_do_update(
    index_elements=["source_id"],
    set_={"snapshot_id": _text_insert.excluded.snapshot_id, "text": _text_insert.excluded.text,
          "markdown_hash": _text_insert.excluded.markdown_hash},
)
_KEEP_TEXT = sa.update(TEXT).where(TEXT.c.source_id == sa.bindparam("sid", type_=sa.Integer)).values(
    snapshot_id=sa.bindparam("snap_id", type_=sa.Integer))
_DROP_PAGE_EVIDENCE = sa.delete(FIELD).where(
    FIELD.c.source_id == sa.bindparam("sid", type_=sa.Integer),
    FIELD.c.origin != sa.all_(sa.bindparam("kept", type_=ARRAY(sa.String))))
_field_insert = pg_insert(FIELD)
_PUT_EVIDENCE = _field_insert.on_conflict_do_update(
    index_elements=["source_id", "field", "origin"],
    set_={"value": _field_insert.excluded.value, "updated_at": _field_insert.excluded.updated_at,
          "changed_by": _field_insert.excluded.changed_by},
)

_AT = sa.bindparam("at", type_=sa.String)
_COPY_STATUS = sa.update(SRC).where(SRC.c.id == sa.bindparam("sid", type_=sa.Integer)).values(
    status=sa.case((SRC.c.status == "new", sa.bindparam("new_status", type_=sa.String)), else_=SRC.c.status),
    last_ok_at=_AT, updated_at=_AT)
_RECORD_STATUS = (
    sa.update(SRC).where(SRC.c.id == sa.bindparam("sid", type_=sa.Integer))
    .values(
        status=sa.bindparam("new_status", type_=sa.String),
        reason=sa.bindparam("new_reason", type_=sa.String),
        fetched_at=_AT,
        fail_count=sa.case((sa.bindparam("failed", type_=sa.Boolean), SRC.c.fail_count + 1),
                           (sa.bindparam("reachable", type_=sa.Boolean), 0), else_=SRC.c.fail_count),
        # The streak of definitive failures (404/410, a host that no longer exists) that `check` needs to span
        # a day before it calls a source dead; any other outcome ends it (a 503 in between is not "in a row").
        failing_since=sa.case((sa.bindparam("definitive", type_=sa.Boolean),
                               sa.func.coalesce(SRC.c.failing_since, _AT)), else_=sa.null()),
        last_ok_at=sa.case((sa.bindparam("good", type_=sa.Boolean), _AT), else_=SRC.c.last_ok_at),
        updated_at=sa.case((sa.bindparam("changed", type_=sa.Boolean), _AT), else_=SRC.c.updated_at),
    )
    .returning(SRC.c.id)
)

_SID = sa.bindparam("sid", type_=sa.Integer)
_LATEST_GOOD = (sa.select(SNAP).where(SNAP.c.source_id == _SID, SNAP.c.body_hash.is_not(None),
                                      SNAP.c.outcome == sa.any_(_GOOD))
                .order_by(*_NEWEST_FIRST).limit(1))
_HISTORY = sa.select(SNAP).where(SNAP.c.source_id == _SID).order_by(*_NEWEST_FIRST)
_ARCHIVE_STATS = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(BLOB.c.size), 0),
                           sa.func.coalesce(sa.func.sum(BLOB.c.stored_size), 0))

# -- checking

_CHECK_FACTS = sa.select(SRC.c.id, SRC.c.url, SRC.c.status, SRC.c.reason, SRC.c.fail_count, SRC.c.failing_since,
                         SRC.c.fetched_at).where(SRC.c.id == sa.any_(_ids())).order_by(SRC.c.id)
_LIVE = (sa.select(SNAP.c.outcome, SNAP.c.final_url, SNAP.c.redirects, SNAP.c.body_hash, SNAP.c.unchanged,
                   SNAP.c.metadata_json)
         .where(SNAP.c.source_id == _SID, SNAP.c.origin == "live")
         .order_by(*_NEWEST_FIRST).limit(sa.bindparam("limit", type_=sa.Integer)))
# Each source's citing notes in the order of their first mention (what SQLite's DISTINCT over the mention index
# gives).
_CITING = (sa.select(MENTION.c.source_id, NOTE.c.path)
           .select_from(MENTION.join(NOTE, NOTE.c.id == MENTION.c.note_id))
           .where(MENTION.c.source_id == sa.any_(_ids()))
           .group_by(MENTION.c.source_id, NOTE.c.path)
           .order_by(MENTION.c.source_id, sa.func.min(MENTION.c.id)))

# -- archive copies

_CITED_DAY = sa.select(
    SRC.c.id,
    sa.select(FIELD.c.value).where(FIELD.c.source_id == SRC.c.id, FIELD.c.field == "issued",
                                   FIELD.c.origin == "label").scalar_subquery(),
    SRC.c.first_cited_at,
    sa.select(sa.func.min(NOTE.c.mtime_ns)).select_from(MENTION.join(NOTE, NOTE.c.id == MENTION.c.note_id))
    .where(MENTION.c.source_id == SRC.c.id).scalar_subquery(),
    SRC.c.created_at,
).where(SRC.c.id == sa.any_(_ids())).order_by(SRC.c.id)
_LAST_OK = sa.select(SRC.c.id).where(SRC.c.status == "ok").order_by(SRC.c.id)
_TEXT_ORIGIN = (sa.select(SNAP.c.origin, SNAP.c.memento_url, SNAP.c.memento_at, SNAP.c.fetched_at)
                .select_from(TEXT.join(SNAP, SNAP.c.id == TEXT.c.snapshot_id)).where(TEXT.c.source_id == _SID))
_THIN = (sa.select(SNAP.c.metadata_json).select_from(SRC.join(SNAP, SNAP.c.source_id == SRC.c.id))
         .where(SRC.c.id == _SID, SRC.c.status == "thin", SNAP.c.origin == "live", SNAP.c.outcome == "thin",
                SNAP.c.metadata_json.is_not(None))
         .order_by(*_NEWEST_FIRST).limit(1))
_TITLE = sa.select(SRC.c.title).where(SRC.c.id == _SID)



def _snapshot_values(row: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(row) - set(SNAPSHOT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown snapshot columns: {sorted(unknown)}")
    origin = row.get("origin") or "live"
    if origin not in SNAPSHOT_ORIGINS:
        raise ValueError(f"unknown snapshot origin: {origin!r}")
    return {**{name: row.get(name) for name in SNAPSHOT_COLUMNS}, "unchanged": bool(row.get("unchanged")),
            "origin": origin}


def _instant(text: str | None) -> datetime | None:
    """A stored ISO 8601 time as an aware datetime (UTC when it names no zone), or None (as SQLite's julianday
    gives NULL) when it is not one."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class PostgresFetch(PostgresBase):
    """Fetch jobs, claims, attempt records and archive copies (see the module docstring for how claims stay
    exclusive under concurrent runs)."""

    # ------------------------------------------------------------------------------------- choosing what to fetch

    def sources_due_for_fetch(self, *, stale_days: float | None = None, failed: bool = False,
                              all_sources: bool = False) -> list[int]:
        if all_sources:
            return [r[0] for r in self.execute(_ALL_WITH_URL)]
        params: dict[str, Any] = {}
        if stale_days is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=round(float(stale_days) * 86400))
            params["cutoff"] = utc_text(cutoff)
        return [r[0] for r in self.execute(_DUE[stale_days is not None, failed], params)]

    def fetchable_among(self, source_ids: Sequence[int]) -> list[int]:
        with_url = {r[0] for r in self.execute(_FETCHABLE, {"ids": list(source_ids)})}
        return [i for i in source_ids if i in with_url]

    def previous_fetches(self, source_ids: Sequence[int]) -> list[PreviousFetch]:
        by_id = {r[0]: r for r in self.execute(_PREVIOUS, {"ids": list(source_ids)})}
        return [PreviousFetch(r[0], r[1], r[2] or 0, *r[3:]) for r in map(by_id.get, source_ids) if r is not None]

    def fetch_backlog(self) -> FetchBacklog:
        row = self.execute(_BACKLOG).fetchone()
        assert row is not None
        return FetchBacklog(sources=row[0], never_fetched=row[1], failed=row[2], claimed=row[4],
                            oldest_fetch=row[3])

    # ------------------------------------------------------------------------------------- claims

    def _lock_claims(self) -> None:
        """Serialise this transaction's claim reads and writes with other runs' (until it ends)."""
        if self.in_transaction:
            self.execute(_LOCK_CLAIMS)

    def fetch_claims(self) -> list[FetchClaim]:
        self._lock_claims()
        now = datetime.now(UTC)
        claims: list[FetchClaim] = []
        for sid, machine, pid, heartbeat_at in self.execute(_CLAIMS):
            beat = _instant(heartbeat_at)
            claims.append(FetchClaim(sid, machine, pid, None if beat is None else (now - beat).total_seconds()))
        return claims

    def drop_fetch_claims(self, source_ids: Sequence[int]) -> None:
        self._lock_claims()
        self.execute(_DROP_CLAIMS, {"ids": list(source_ids)})

    def take_fetch_claims(self, source_ids: Sequence[int], machine: str, pid: int, now: str) -> set[int]:
        holder = {"machine": machine, "pid": pid}
        with self.transaction():
            self._lock_claims()
            self.execute(_TAKE_CLAIMS, {**holder, "now": now, "ids": list(source_ids)})
            return {r[0] for r in self.execute(_MY_CLAIMS, {**holder, "ids": list(source_ids)})}

    def beat_fetch_claims(self, machine: str, pid: int, now: str) -> None:
        self.execute(_BEAT, {"machine": machine, "pid": pid, "now": now})

    def release_fetch_claims(self, machine: str, pid: int, source_ids: Sequence[int] | None = None) -> None:
        if source_ids is None:
            self.execute(_RELEASE_ALL, {"machine": machine, "pid": pid})
        else:
            self.execute(_RELEASE_SOME, {"machine": machine, "pid": pid, "ids": list(source_ids)})

    # ------------------------------------------------------------------------------------- robots.txt

    def robots_row(self, origin: str) -> RobotsRow | None:
        row = self.execute(_ROBOTS_ROW, {"origin": origin}).fetchone()
        return None if row is None else RobotsRow(*row)

    def put_robots_row(self, row: RobotsRow) -> None:
        self.execute(_PUT_ROBOTS, row._asdict())  # autocommit: its own one-statement transaction

    # ------------------------------------------------------------------------------------- attempt records

    def record_fetch_attempt(self, attempt: FetchAttempt) -> AttemptWritten:
        try:
            with self.transaction():
                return self._record_fetch_attempt(attempt)
        except pg_errors.ForeignKeyViolation as exc:  # the source was deleted meanwhile
            raise NotFoundError(f"source {attempt.source_id} is no longer in the catalog "
                                f"({str(exc).strip().splitlines()[0]})") from exc

    def _record_fetch_attempt(self, a: FetchAttempt) -> AttemptWritten:
        sid = a.source_id
        self.execute(_END_CLAIM, {"sid": sid})  # done: another run may take it now
        new_bytes = sum(blob.stored_size for blob in a.blobs if self.put_blob(blob))
        snap_id = self.add_snapshot({**a.snapshot, "source_id": sid, "fetched_at": a.fetched_at})
        content_changed, unchanged = a.content_changed, a.unchanged
        if a.status == "thin" and content_changed | unchanged:
            origin = self.text_origin(sid)
            if origin is not None and origin.origin != "live":
                # a live shell never replaces the text a fallback (adapter, render, archive) found for it
                content_changed = unchanged = False
        if content_changed:
            self.execute(_PUT_TEXT, {"source_id": sid, "snapshot_id": snap_id, "text": a.text or "",
                                     "markdown_hash": a.markdown_hash})
            self.execute(_DROP_PAGE_EVIDENCE, {"sid": sid, "kept": list(a.kept_origins)})
            self.executemany(_PUT_EVIDENCE, [
                {"source_id": sid, "field": name, "origin": origin, "value": value, "updated_at": a.fetched_at,
                 "changed_by": self.user}
                for name, origin, value in a.evidence if origin not in a.kept_origins  # never over a pinned value
            ])
        elif unchanged:
            self.execute(_KEEP_TEXT, {"sid": sid, "snap_id": snap_id})
        written = AttemptWritten(snap_id, new_bytes, content_changed)
        good = a.status in GOOD_OUTCOMES
        if a.keep_status:
            if good:  # a copy of a never-fetched source: it has an archive now
                self.execute(_COPY_STATUS, {"sid": sid, "new_status": a.status, "at": a.fetched_at})
            return written
        updated = self.execute(_RECORD_STATUS, {
            "sid": sid, "new_status": a.status, "new_reason": a.reason, "at": a.fetched_at, "failed": a.failed,
            "reachable": a.reachable, "definitive": a.definitive, "good": good, "changed": content_changed,
        }).fetchone()
        if updated is None:
            raise NotFoundError(f"source {sid} is no longer in the catalog")
        return written

    def put_blob(self, blob: PackedBlob) -> bool:
        return self.execute(_PUT_BLOB, {"hash": blob.hash, "codec": blob.codec, "size": blob.size,
                                        "stored_size": blob.stored_size, "data": blob.data}).fetchone() is not None

    def has_blob(self, digest: str) -> bool:
        return self.execute(_HAS_BLOB, {"digest": digest}).fetchone() is not None

    def blob_data(self, digest: str) -> tuple[str, bytes] | None:
        row = self.execute(_BLOB_DATA, {"digest": digest}).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def add_snapshot(self, row: Mapping[str, Any]) -> int:
        if row.get("fetched_by") is None:
            row = {**row, "fetched_by": self.user}
        inserted = self.execute(_ADD_SNAPSHOT, _snapshot_values(row)).fetchone()
        assert inserted is not None
        return int(inserted[0])

    def _snapshot_dicts(self, statement: sa.Select[Any], source_id: int) -> list[dict[str, Any]]:
        cur = self.execute(statement, {"sid": source_id})
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def latest_good_snapshot(self, source_id: int) -> dict[str, Any] | None:
        rows = self._snapshot_dicts(_LATEST_GOOD, source_id)
        return rows[0] if rows else None

    def snapshot_history(self, source_id: int) -> list[dict[str, Any]]:
        return self._snapshot_dicts(_HISTORY, source_id)

    def archive_stats(self) -> dict[str, int]:
        row = self.execute(_ARCHIVE_STATS).fetchone()
        assert row is not None
        return {"blobs": int(row[0]), "raw_bytes": int(row[1]), "stored_bytes": int(row[2])}

    # ------------------------------------------------------------------------------------- checking

    def check_facts(self, source_ids: Sequence[int]) -> list[CheckFacts]:
        out: list[CheckFacts] = []
        for sid, url, status, reason, fail_count, failing_since, fetched_at in self.execute(
                _CHECK_FACTS, {"ids": list(source_ids)}):
            since, last = _instant(failing_since), _instant(fetched_at)
            days = None if since is None or last is None else (last - since).total_seconds() / 86400
            out.append(CheckFacts(sid, url, status, reason, fail_count, failing_since, fetched_at, days))
        return out

    def live_snapshots(self, source_id: int, limit: int = 50) -> list[LiveSnapshot]:
        return [LiveSnapshot(r[0], r[1], r[2], r[3], bool(r[4]), r[5])
                for r in self.execute(_LIVE, {"sid": source_id, "limit": limit})]

    def note_paths_citing(self, source_ids: Iterable[int]) -> dict[int, list[str]]:
        cited: dict[int, list[str]] = defaultdict(list)
        for sid, path in self.execute(_CITING, {"ids": list(source_ids)}):
            cited[sid].append(path)
        return dict(cited)

    # ------------------------------------------------------------------------------------- archive copies

    def cited_day_evidence(self, source_ids: Sequence[int]) -> list[CitedDayEvidence]:
        return [CitedDayEvidence(*r) for r in self.execute(_CITED_DAY, {"ids": list(source_ids)})]

    def sources_last_fetched_ok(self) -> list[int]:
        return [r[0] for r in self.execute(_LAST_OK)]

    def fetch_urls(self, source_ids: Sequence[int]) -> dict[int, str]:
        return {r[0]: r[1] for r in self.execute(_FETCH_URLS, {"ids": list(source_ids)})}

    def text_origin(self, source_id: int) -> TextOrigin | None:
        row = self.execute(_TEXT_ORIGIN, {"sid": source_id}).fetchone()
        return None if row is None else TextOrigin(*row)

    def thin_judgement(self, source_id: int) -> str | None:
        row = self.execute(_THIN, {"sid": source_id}).fetchone()
        return None if row is None else str(row[0])

    def title_after_fetch(self, source_id: int) -> str | None:
        row = self.execute(_TITLE, {"sid": source_id}).fetchone()
        return None if row is None else row[0]
