"""PostgreSQL implementation of refman.store.citation.CitationStore.

Differences from SQLite that are deliberate:
- `citekey` has the case-insensitive ICU collation "NOCASE" (migration 0001), so equality and the UNIQUE
  constraint ignore case as SQLite's NOCASE does; orders are SQLite's BINARY (`COLLATE "C"`), and the key order
  folds case with lower() (ASCII keys: the caller checks) where SQLite orders by NOCASE.
- A catalog in a database has no file: `catalog_file()` is None and `copy_catalog_to` refuses with a UsageError
  pointing at pg_dump (`refman db backup` writes SQLite files).
- `check_catalog_integrity` checks what can break in PostgreSQL: invalid indexes and disabled triggers (which
  let foreign keys or the search index go wrong), rows breaking a foreign key, and the search index against
  its sources (one row per source, each row's document and describing vector those of its text)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql as pg_sql
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Table,
    and_,
    any_,
    bindparam,
    collate,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.sql.elements import BindParameter

from refman.errors import NotFoundError, UsageError
from refman.models import (
    Blob,
    FieldValue,
    Mention,
    Note,
    RegisteredExport,
    Snapshot,
    Source,
    SourceTag,
    SourceText,
)
from refman.store.citation import (
    BLOB_REFERENCES,
    KEY_ROW_COLUMNS,
    SOURCE_ROW_COLUMNS,
    CatalogCheck,
    CitationRows,
    DeletedSource,
    ExportRecord,
    KeyRow,
    SourceDependents,
)
from refman.store.postgres.base import PostgresBase
from refman.vocabulary import GOOD_OUTCOMES

_source: Table = Source.__table__  # type: ignore[attr-defined]
_note: Table = Note.__table__  # type: ignore[attr-defined]
_mention: Table = Mention.__table__  # type: ignore[attr-defined]
_tag: Table = SourceTag.__table__  # type: ignore[attr-defined]
_field: Table = FieldValue.__table__  # type: ignore[attr-defined]
_snapshot: Table = Snapshot.__table__  # type: ignore[attr-defined]
_text: Table = SourceText.__table__  # type: ignore[attr-defined]
_blob: Table = Blob.__table__  # type: ignore[attr-defined]
_export: Table = RegisteredExport.__table__  # type: ignore[attr-defined]

_BLOB_REFERENCE_COLUMNS = ((_snapshot, _snapshot.c.body_hash), (_text, _text.c.markdown_hash))
assert tuple((t.name, c.name) for t, c in _BLOB_REFERENCE_COLUMNS) == BLOB_REFERENCES

# a list of ids binds as one array (typed: unnest() of an untyped empty array is ambiguous)
_IDS_PARAM: BindParameter[Any] = bindparam("ids", type_=ARRAY(BigInteger))


def _among(column: Any) -> Any:
    """`column IN (SELECT unnest(%(ids)s))`: the bound array as a set the planner can join or hash, whatever
    the table's statistics (a bare `= ANY(array)` may be planned as a scan testing every row against the whole
    array when the statistics are stale, as after a big import)."""
    return column.in_(select(func.unnest(_IDS_PARAM)))


def _binary(column: Any) -> Any:
    """The column compared byte-wise, as SQLite's default BINARY collation does."""
    return collate(column, "C")


# ---- citation keys
# pg_advisory_xact_lock key held by the writers of citation keys ("citekey" in ASCII)
CITEKEY_LOCK = 0x636974656B6579
# pg_advisory_lock key held while registered exports are refreshed ("exports" in ASCII)
EXPORTS_LOCK = 0x6578706F727473
_LOCK = "SELECT pg_advisory_xact_lock(%(key)s)"
_TAKEN_KEYS = select(_source.c.citekey).where(_source.c.citekey.is_not(None))
_HAS_KEYLESS = select(literal(1)).where(_source.c.citekey.is_(None)).limit(1)
_KEYLESS_IDS = select(_source.c.id).where(_source.c.citekey.is_(None), _among(_source.c.id))
_KEY_ROW = select(*(_source.c[name] for name in KEY_ROW_COLUMNS)).where(_source.c.citekey.is_(None))
_KEY_ROWS_AFTER = (_KEY_ROW.where(_source.c.id > bindparam("last", type_=BigInteger)).order_by(_source.c.id)
                   .limit(bindparam("size")))
_KEY_ROWS_OF = _KEY_ROW.where(_among(_source.c.id)).order_by(_source.c.id)
_SET_KEY = update(_source).where(_source.c.id == bindparam("b_id")).values(citekey=bindparam("b_key"))
_CLEAR_KEYS = update(_source).where(_among(_source.c.id)).values(citekey=None)
_KEYS_ALL = select(_source.c.id, _source.c.citekey).where(_source.c.citekey.is_not(None))
_KEYS_OF = _KEYS_ALL.where(_among(_source.c.id))
# `citekey` has the case-insensitive collation NOCASE: `=` ignores case (and the UNIQUE index serves it)
_KEY_HOLDER = select(_source.c.id).where(_source.c.citekey == bindparam("key"),
                                         _source.c.id.is_distinct_from(bindparam("other"))).limit(1)
_KEY_OF = select(_source.c.citekey).where(_source.c.id == bindparam("sid"))
# SQLite: ORDER BY citekey COLLATE NOCASE (ASCII case folding), citekey COLLATE BINARY, id
_KEY_ORDER = (select(_source.c.id, _source.c.citekey).where(_source.c.citekey.is_not(None))
              .order_by(_binary(func.lower(_source.c.citekey)), _binary(_source.c.citekey), _source.c.id))

# ---- selections
_NOTES_BY_PATH = select(_note.c.id, _note.c.root, _note.c.path).order_by(_binary(_note.c.path),
                                                                         _binary(_note.c.root), _note.c.id)
_CITED_BY_NOTES = (select(_mention.c.note_id, _mention.c.source_id).where(_among(_mention.c.note_id))
                   .order_by(_mention.c.note_id, _mention.c.ordinal, _mention.c.id))
_TAGGED = (select(_tag.c.source_id).where(_tag.c.tag == any_(bindparam("tags"))).distinct()
           .order_by(_tag.c.source_id))
_ALL_IDS = select(_source.c.id).order_by(_source.c.id)

# ---- the export stream
_SOURCE_ROWS_ALL = select(*(_source.c[name] for name in SOURCE_ROW_COLUMNS)).order_by(_source.c.id)
_SOURCE_ROWS_OF = _SOURCE_ROWS_ALL.where(_among(_source.c.id))
_EVIDENCE_ALL = (select(_field.c.source_id, _field.c.field, _field.c.origin, _field.c.value)
                 .where(_field.c.field == any_(bindparam("fields")))
                 .order_by(_field.c.source_id, _binary(_field.c.field), _binary(_field.c.origin)))
_EVIDENCE_OF = _EVIDENCE_ALL.where(_among(_field.c.source_id))
_TAGS_ALL = select(_tag.c.source_id, _tag.c.tag).order_by(_binary(_tag.c.tag), _tag.c.source_id)
_TAGS_OF = _TAGS_ALL.where(_among(_tag.c.source_id))
_HAS_ARCHIVED = select(literal(1)).where(_snapshot.c.memento_url.is_not(None)).limit(1)
_ARCHIVE_OUTCOMES: BindParameter[Any] = bindparam("good", value=[*map(str, GOOD_OUTCOMES), "saved"])
# SQLite sorts NULL first, so DESC puts a capture without a time last: NULLS LAST says the same here
_NEWEST_ARCHIVE_COPY = (
    select(_snapshot.c.memento_url, _snapshot.c.memento_at)
    .where(_snapshot.c.source_id == bindparam("sid"), _snapshot.c.origin == "wayback",
           _snapshot.c.memento_url.is_not(None), _snapshot.c.outcome == any_(_ARCHIVE_OUTCOMES))
    .order_by(_binary(_snapshot.c.memento_at).desc().nulls_last(), _snapshot.c.id.desc()).limit(1))

# ---- registered exports
_EXPORT_COLUMNS = ("id", "name", "path", "format", "per_note", "options", "files", "written_hash", "written_at",
                   "created_at")
_EXPORTS = select(*(_export.c[name] for name in _EXPORT_COLUMNS)).order_by(_binary(_export.c.name))
_EXPORT_NAMED = select(*(_export.c[name] for name in _EXPORT_COLUMNS)).where(_export.c.name == bindparam("b_name"))
_EXPORT_AT = select(_export.c.name).where(_export.c.path == bindparam("b_path"))
_ANY_EXPORT = select(literal(1)).select_from(_export).limit(1)
_ADD_EXPORT = insert(_export).values(
    name=bindparam("b_name"), path=bindparam("b_path"), format=bindparam("b_format"),
    per_note=bindparam("b_per_note"), options=bindparam("b_options"), files=bindparam("b_files"),
    created_at=bindparam("b_created_at"))
_REDEFINE_EXPORT = update(_export).where(_export.c.name == bindparam("b_name")).values(
    path=bindparam("b_path"), format=bindparam("b_format"), per_note=bindparam("b_per_note"),
    options=bindparam("b_options"), files=bindparam("b_files"), written_hash=None, written_at=None)
_EXPORT_WRITTEN = update(_export).where(_export.c.name == bindparam("b_name")).values(
    written_hash=bindparam("b_hash"), written_at=bindparam("b_at"), files=bindparam("b_files"))
_REMOVE_EXPORT = delete(_export).where(_export.c.name == bindparam("b_name"))
_HAS_TABLE = "SELECT to_regclass(%(name)s) IS NOT NULL"
_REVISION = "SELECT version_num FROM alembic_version"

# ---- maintenance
_GARBAGE = and_(*(~exists().where(column == _blob.c.hash) for _table, column in _BLOB_REFERENCE_COLUMNS))
_UNREFERENCED_BLOBS = select(func.count(), func.coalesce(func.sum(_blob.c.stored_size), 0)).where(_GARBAGE)
# Garbage collection serialises with the writers of blobs and of references to them, as BEGIN IMMEDIATE does on
# SQLite: EXCLUSIVE conflicts with the ROW EXCLUSIVE lock a blob's INSERT (even ON CONFLICT DO NOTHING) holds to
# its commit, and with the ROW SHARE lock a new snapshot's or text's foreign key check takes on `blob`; readers
# (ACCESS SHARE) go on. Without it a fetch could find its body stored (ON CONFLICT DO NOTHING locks nothing),
# the collector delete it as unreferenced, and the fetch's snapshot then fail its foreign key.
_LOCK_BLOBS = "LOCK TABLE blob IN EXCLUSIVE MODE"
_DELETE_GARBAGE = delete(_blob).where(_GARBAGE)
# FOR UPDATE: inside the deletion's transaction the sources are locked from this read on, so nothing new can hang
# on them (a new mention's, tag's or snapshot's foreign key check waits) before their dependents are counted and
# they are deleted: the counts are what goes, as under SQLite's BEGIN IMMEDIATE.
_SOURCES_TO_DELETE = (select(_source.c.id, _source.c.url, _source.c.title, _source.c.citekey)
                      .where(_among(_source.c.id)).order_by(_source.c.id).with_for_update())
_DEPENDENTS = select(
    select(func.count()).where(_among(_mention.c.source_id)).scalar_subquery(),
    select(func.count()).where(_among(_tag.c.source_id)).scalar_subquery(),
    select(func.count()).where(_among(_snapshot.c.source_id)).scalar_subquery(),
    select(func.count()).where(_field.c.origin == "user", _among(_field.c.source_id)).scalar_subquery(),
)
# the foreign keys cascade to mentions, tags, evidence, snapshots, texts, aliases, claims and search rows
_DELETE_SOURCES = delete(_source).where(_among(_source.c.id))

# The catalog's own checks (PostgreSQL SQL: system catalogs and the search functions of migration 0002).
_INVALID_INDEXES = """SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  WHERE c.relnamespace = current_schema()::regnamespace AND NOT (i.indisvalid AND i.indisready AND i.indislive)
  ORDER BY 1"""
# an internal trigger is one of a foreign key's: named by its constraint
_DISABLED_TRIGGERS = """SELECT DISTINCT coalesce(con.conname, t.tgname), t.tgrelid::regclass::text, t.tgisinternal
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid LEFT JOIN pg_constraint con ON con.oid = t.tgconstraint
  WHERE c.relnamespace = current_schema()::regnamespace AND t.tgenabled = 'D' ORDER BY 2, 1"""
_FOREIGN_KEYS = """SELECT con.conname, con.conrelid::regclass::text, con.confrelid::regclass::text,
    ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
    ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
    ARRAY(SELECT a.attname FROM pg_constraint pk CROSS JOIN LATERAL unnest(pk.conkey) WITH ORDINALITY k(n, i)
          JOIN pg_attribute a ON a.attrelid = pk.conrelid AND a.attnum = k.n
          WHERE pk.conrelid = con.conrelid AND pk.contype = 'p' ORDER BY k.i)
  FROM pg_constraint con
  WHERE con.contype = 'f' AND con.connamespace = current_schema()::regnamespace ORDER BY 2, 1"""
_BROKEN_LIMIT = 100  # broken rows reported per foreign key
_SEARCH_MISSING = "SELECT count(*) FROM source s WHERE NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.source_id = s.id)"
_SEARCH_EXTRA = "SELECT count(*) FROM search_doc d WHERE NOT EXISTS (SELECT 1 FROM source s WHERE s.id = d.source_id)"
# The rows' text is not compared with their sources': refman.search.compose_row (Python, what `refman db reindex`
# writes) and the triggers' SQL may differ in edge cases (odd author JSON), a difference reindex could not clear.
# `document` and `describing` (migration 0012: the describing columns' tsvector, which searches of those columns
# read alone) are computed from the row's own text by functions, so a mismatch there is damage (or a disabled
# BEFORE trigger). One pass: each row's text is read once.
_SEARCH_VECTORS_STALE = """SELECT
  count(*) FILTER (WHERE d.document IS DISTINCT FROM
                   refman_search_document(d.title, d.authors, d.site, d.tags, d.notes, d.body)),
  count(*) FILTER (WHERE d.describing IS DISTINCT FROM
                   refman_search_describing(d.title, d.authors, d.site, d.tags, d.notes))
  FROM search_doc d"""


@cache
def _broken_references_sql(table: str, columns: tuple[str, ...], parent: str, parent_columns: tuple[str, ...],
                           key: tuple[str, ...]) -> pg_sql.Composed:
    """The rows of `table` whose `columns` (all set) name no row of `parent`: their primary key (or NULL)."""
    ident = pg_sql.Identifier
    joined = pg_sql.SQL(" AND ").join(
        pg_sql.SQL("p.{} = c.{}").format(ident(pc), ident(cc)) for cc, pc in zip(columns, parent_columns, strict=True))
    present = pg_sql.SQL(" AND ").join(pg_sql.SQL("c.{} IS NOT NULL").format(ident(cc)) for cc in columns)
    row_key = (pg_sql.SQL("jsonb_build_array({})").format(pg_sql.SQL(", ").join(
        pg_sql.SQL("c.{}").format(ident(k)) for k in key)) if key else pg_sql.SQL("NULL::jsonb"))
    return pg_sql.SQL("SELECT {key} FROM {table} c WHERE {present} AND NOT EXISTS "
                      "(SELECT 1 FROM {parent} p WHERE {joined}) LIMIT {limit}").format(
        key=row_key, table=pg_sql.Identifier(table), present=present, parent=pg_sql.Identifier(parent),
        joined=joined, limit=pg_sql.Literal(_BROKEN_LIMIT))


def _export_record(row: Sequence[Any]) -> ExportRecord:
    rid, name, path, fmt, per_note, options, files, written_hash, written_at, created_at = row
    return ExportRecord(rid, name, path, fmt, bool(per_note), options, files, written_hash, written_at, created_at)


def _export_params(record: ExportRecord) -> dict[str, Any]:
    return {"b_name": record.name, "b_path": record.path, "b_format": record.format,
            "b_per_note": bool(record.per_note), "b_options": record.options, "b_files": record.files,
            "b_created_at": record.created_at}


class PostgresCitation(PostgresBase):
    # ---- citation keys

    def _lock_citekeys(self) -> None:
        """Serialise the writers of citation keys until the transaction ends (SQLite's BEGIN IMMEDIATE does it
        there): key assignment reads the taken keys, then writes keys it computed from them; a concurrent
        assignment or pin in between would make its writes collide (UniqueViolation) or overwrite a key."""
        if self.in_transaction:  # outside a transaction there is nothing to hold the lock for
            self.execute(_LOCK, {"key": CITEKEY_LOCK})

    def taken_citekeys(self) -> set[str]:
        # Inside a write transaction this is the read that key writes are computed from: lock first, so that
        # the read (READ COMMITTED: a snapshot per statement) sees every key committed before the lock.
        self._lock_citekeys()
        return {row[0].lower() for row in self.execute(_TAKEN_KEYS)}

    def has_keyless_sources(self) -> bool:
        return self.execute(_HAS_KEYLESS).fetchone() is not None

    def keyless_source_ids(self, ids: Sequence[int]) -> list[int]:
        return sorted({row[0] for row in self.execute(_KEYLESS_IDS, {"ids": list(ids)})})

    def keyless_key_rows(self, ids: Sequence[int] | None, size: int = 2000) -> Iterator[list[KeyRow]]:
        if ids is None:  # keyset pages
            last = -(2**63)
            while True:
                rows = self.execute(_KEY_ROWS_AFTER, {"last": last, "size": size}).fetchall()
                if not rows:
                    return
                yield rows
                last = rows[-1][0]
        else:
            wanted = sorted(set(ids))
            for start in range(0, len(wanted), size):
                rows = self.execute(_KEY_ROWS_OF, {"ids": wanted[start : start + size]}).fetchall()
                if rows:
                    yield rows

    def store_citekeys(self, updates: Sequence[tuple[str, int]]) -> None:
        self._lock_citekeys()
        self.executemany(_SET_KEY, [{"b_key": key, "b_id": sid} for key, sid in updates])

    def replace_citekeys(self, changes: Sequence[tuple[int, str]]) -> None:
        # Two passes so that swapping keys between the sources of the batch never trips the UNIQUE constraint
        # (PostgreSQL checks a non-deferrable UNIQUE constraint row by row).
        with self.transaction():
            self._lock_citekeys()
            self.execute(_CLEAR_KEYS, {"ids": [sid for sid, _key in changes]})
            self.executemany(_SET_KEY, [{"b_key": key, "b_id": sid} for sid, key in changes])

    def citekeys_of(self, ids: Sequence[int] | None) -> dict[int, str]:
        if ids is None:
            return dict(self.execute(_KEYS_ALL).fetchall())
        return dict(self.execute(_KEYS_OF, {"ids": list(ids)}).fetchall())

    def citekey_holder(self, key: str, other_than: int | None = None) -> int | None:
        row = self.execute(_KEY_HOLDER, {"key": key, "other": other_than}).fetchone()
        return None if row is None else int(row[0])

    def citekey_of_source(self, source_id: int) -> str | None:
        row = self.execute(_KEY_OF, {"sid": source_id}).fetchone()
        if row is None:
            raise NotFoundError(f"no source with id {source_id}")
        return row[0]  # type: ignore[no-any-return]

    def set_citekey(self, source_id: int, key: str) -> bool:
        try:
            with self.transaction():  # a savepoint: the failed UPDATE must not abort the caller's transaction
                self._lock_citekeys()
                self.execute(_SET_KEY, {"b_key": key, "b_id": source_id})
        except pg_errors.UniqueViolation:  # UNIQUE with the NOCASE collation: another source holds it
            return False
        return True

    def citekey_order(self) -> Iterator[tuple[int, str]]:
        # lower() folds ASCII as SQLite's NOCASE does: the caller checks that the keys are ASCII. The rows are
        # read by a client-side cursor (id and key: small), so the caller may run other queries meanwhile.
        yield from self.execute(_KEY_ORDER)

    # ---- selections

    def notes_by_path(self) -> list[tuple[int, str, str]]:
        return self.execute(_NOTES_BY_PATH).fetchall()

    def sources_cited_in(self, note_ids: Sequence[int]) -> list[int]:
        order: dict[int, None] = {}
        for ids in self.sources_cited_by_note(note_ids).values():
            for sid in ids:
                order.setdefault(sid, None)
        return list(order)

    def sources_cited_by_note(self, note_ids: Sequence[int]) -> dict[int, list[int]]:
        cites: dict[int, dict[int, None]] = {nid: {} for nid in note_ids}
        for nid, sid in self.execute(_CITED_BY_NOTES, {"ids": list(cites)}):
            cites[nid].setdefault(sid, None)
        return {nid: list(sids) for nid, sids in cites.items()}

    def sources_tagged(self, tags: Sequence[str]) -> list[int]:
        return [row[0] for row in self.execute(_TAGGED, {"tags": list(tags)})]

    def citable_source_ids(self) -> list[int]:
        return [row[0] for row in self.execute(_ALL_IDS)]

    # ---- the export stream

    def citation_rows(self, ids: Sequence[int] | None, fields: Sequence[str]) -> CitationRows:
        params: dict[str, Any] = {"fields": list(fields)}
        if ids is not None:
            params["ids"] = list(ids)
        every = ids is None
        sources = self.execute(_SOURCE_ROWS_ALL if every else _SOURCE_ROWS_OF, params).fetchall()
        evidence = self.execute(_EVIDENCE_ALL if every else _EVIDENCE_OF, params).fetchall() if fields else []
        tags = self.execute(_TAGS_ALL if every else _TAGS_OF, params).fetchall()
        return CitationRows(sources, evidence, tags)

    def has_archived_copies(self) -> bool:
        return self.execute(_HAS_ARCHIVED).fetchone() is not None

    def newest_archive_copy(self, source_id: int) -> tuple[str, str | None] | None:
        row = self.execute(_NEWEST_ARCHIVE_COPY, {"sid": source_id}).fetchone()
        return None if row is None else (row[0], row[1])

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        # REPEATABLE READ: every query of the block sees the database as of its first one (READ COMMITTED, the
        # default, would see each query's own moment); readers do not block writers. A block that writes may
        # meet a serialization failure (translated to CatalogBusyError), as SQLite's read snapshot would.
        if self.in_transaction:
            yield
            return
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try:
            yield
        finally:
            if self.in_transaction:
                self.conn.execute("COMMIT")  # nothing was written: ends the read (after an error: a rollback)

    # ---- registered exports

    def has_export_registry(self) -> bool:
        row = self.execute(_HAS_TABLE, {"name": "registered_export"}).fetchone()
        return bool(row and row[0])

    def registered_exports_exist(self) -> bool:
        from refman.store.revisions import HEAD_REVISION

        try:
            with self.transaction():  # a savepoint: a failed read leaves the caller's transaction usable
                row = self.execute(_REVISION).fetchone()
                if row is None or row[0] != HEAD_REVISION:
                    return False
                return self.execute(_ANY_EXPORT).fetchone() is not None
        except psycopg.Error:
            return False

    def registered_exports(self) -> list[ExportRecord]:
        return [_export_record(row) for row in self.execute(_EXPORTS)]

    def registered_export_named(self, name: str) -> ExportRecord | None:
        row = self.execute(_EXPORT_NAMED, {"b_name": name}).fetchone()
        return None if row is None else _export_record(row)

    def registered_export_at(self, path: str) -> str | None:
        row = self.execute(_EXPORT_AT, {"b_path": path}).fetchone()
        return None if row is None else str(row[0])

    def add_registered_export(self, record: ExportRecord) -> None:
        self.execute(_ADD_EXPORT, _export_params(record))

    def redefine_registered_export(self, record: ExportRecord) -> None:
        params = _export_params(record)
        del params["b_created_at"]
        self.execute(_REDEFINE_EXPORT, params)

    def record_export_written(self, name: str, written_hash: str, written_at: str | None, files: str | None) -> None:
        self.execute(_EXPORT_WRITTEN, {"b_name": name, "b_hash": written_hash, "b_at": written_at, "b_files": files})

    def remove_registered_export(self, name: str) -> None:
        with self.transaction():
            self.execute(_REMOVE_EXPORT, {"b_name": name})

    def catalog_file(self) -> Path | None:
        return None  # a database, not a file

    @contextmanager
    def exports_refresh_lock(self) -> Iterator[None]:
        # A session advisory lock: held across the refresh's own transactions, released if the process dies.
        self.execute("SELECT pg_advisory_lock(%(key)s)", {"key": EXPORTS_LOCK})
        try:
            yield
        finally:
            self.execute("SELECT pg_advisory_unlock(%(key)s)", {"key": EXPORTS_LOCK})

    # ---- maintenance

    def check_catalog_integrity(self) -> CatalogCheck:
        """What can go wrong in a PostgreSQL catalog (the server keeps its own pages consistent; amcheck needs
        privileges a catalog owner may lack): invalid indexes and disabled triggers (a disabled trigger lets
        foreign keys or the search index drift), rows breaking a foreign key, and the search index: one row
        per source, each row's document and describing vector those of its text. Read-only: nothing is skipped."""
        with self.read_snapshot():
            integrity = [f"index {index} on {table} is invalid (REINDEX it)"
                         for index, table in self.execute(_INVALID_INDEXES)]
            integrity += [(f"the triggers of foreign key {name} on {table} are disabled" if internal
                          else f"trigger {name} on {table} is disabled")
                          for name, table, internal in self.execute(_DISABLED_TRIGGERS)]
            foreign = self._broken_references()
            index_problems: list[str] = []
            for sql, whats in ((_SEARCH_MISSING, ("sources missing from the search index",)),
                               (_SEARCH_EXTRA, ("search index rows without a source",)),
                               (_SEARCH_VECTORS_STALE, ("search index rows whose document does not match their text",
                                                        "search index rows whose describing vector does not match "
                                                        "their text"))):
                counts = self.execute(sql).fetchone() or (0,) * len(whats)
                index_problems += [f"{count} {what}" for count, what in zip(counts, whats, strict=True) if count]
        return {
            "ok": not integrity and not foreign and not index_problems,
            "integrity": integrity if integrity else "ok",
            "foreign_keys": foreign,
            "search_index": index_problems if index_problems else "ok",
            "skipped": [],
        }

    def _broken_references(self) -> list[dict[str, Any]]:
        """Rows whose foreign key names no row (possible only if its triggers were disabled, or a replica role
        wrote them): {table, rowid (the row's primary key: a value, or a list for a composite key), parent}."""
        broken: list[dict[str, Any]] = []
        for _name, table, parent, columns, parent_columns, key in self.execute(_FOREIGN_KEYS).fetchall():
            query = _broken_references_sql(table, tuple(columns), parent, tuple(parent_columns), tuple(key))
            for (row_key,) in self.conn.execute(query):
                rowid: Any = None if row_key is None else (row_key[0] if len(row_key) == 1 else list(row_key))
                broken.append({"table": table, "rowid": rowid, "parent": parent})
        return broken

    def copy_catalog_to(self, target: Path) -> int:
        raise UsageError(f"{self.display_url} is a PostgreSQL catalog: back it up with pg_dump "
                         "(`refman db backup` copies SQLite catalog files)")

    def unreferenced_blobs(self) -> tuple[int, int]:
        row = self.execute(_UNREFERENCED_BLOBS).fetchone()
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def delete_unreferenced_blobs(self) -> None:
        with self.transaction():
            self.execute(_LOCK_BLOBS)  # then the DELETE's snapshot (READ COMMITTED) sees every committed reference
            self.execute(_DELETE_GARBAGE)

    def sources_to_delete(self, ids: Sequence[int]) -> list[DeletedSource]:
        return [DeletedSource(*row) for row in self.execute(_SOURCES_TO_DELETE, {"ids": list(ids)})]

    def source_dependents(self, ids: Sequence[int]) -> SourceDependents:
        row = self.execute(_DEPENDENTS, {"ids": list(ids)}).fetchone()
        mentions, tags, snapshots, pins = row if row is not None else (0, 0, 0, 0)
        return SourceDependents(mentions=int(mentions), tags=int(tags), snapshots=int(snapshots), pins=int(pins))

    def delete_sources_cascading(self, ids: Sequence[int]) -> None:
        with self.transaction():
            self.execute(_DELETE_SOURCES, {"ids": list(ids)})
