"""SQLite implementation of refman.store.citation.CitationStore."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from refman.errors import NotFoundError
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
from refman.store.sqlite.base import SqliteBase

_CHUNK = 900  # stay under SQLite's host-parameter limit
_SOURCE_COLUMNS = ", ".join(SOURCE_ROW_COLUMNS)
_KEY_COLUMNS = ", ".join(KEY_ROW_COLUMNS)
_EXPORT_COLUMNS = "id, name, path, format, per_note, options, files, written_hash, written_at, created_at"

_GARBAGE = " AND ".join(f"hash NOT IN (SELECT {col} FROM {table} WHERE {col} IS NOT NULL)"
                        for table, col in BLOB_REFERENCES)


_T = TypeVar("_T")


def _chunks(ids: Sequence[_T], size: int = _CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _marks(part: Sequence[Any]) -> str:
    return ",".join("?" * len(part))


def _export_record(row: Sequence[Any]) -> ExportRecord:
    rid, name, path, fmt, per_note, options, files, written_hash, written_at, created_at = row
    return ExportRecord(rid, name, path, fmt, bool(per_note), options, files, written_hash, written_at, created_at)


class SqliteCitation(SqliteBase):
    def _tuples(self) -> sqlite3.Cursor:
        """A cursor without the connection's sqlite3.Row factory: plain tuples, faster to index."""
        cur = self.conn.cursor()
        cur.row_factory = None
        return cur

    def _select(self, sql: str, col: str, ids: Sequence[int] | None, params: Sequence[Any] = ()) -> list[Any]:
        """Rows as plain tuples for all rows (`{where}` → 1) or for `ids` in chunks of IN lists."""
        cur = self._tuples()
        if ids is None:
            return cur.execute(sql.replace("{where}", "1"), tuple(params)).fetchall()
        out: list[Any] = []
        for part in _chunks(list(ids)):
            out.extend(cur.execute(sql.replace("{where}", f"{col} IN ({_marks(part)})"),
                                   (*params, *part)).fetchall())
        return out

    # ---- citation keys

    def taken_citekeys(self) -> set[str]:
        rows = self._tuples().execute("SELECT citekey FROM source WHERE citekey IS NOT NULL")
        return {row[0].lower() for row in rows}

    def has_keyless_sources(self) -> bool:
        return self.conn.execute("SELECT 1 FROM source WHERE citekey IS NULL LIMIT 1").fetchone() is not None

    def keyless_source_ids(self, ids: Sequence[int]) -> list[int]:
        rows = self._select("SELECT id FROM source WHERE citekey IS NULL AND {where}", "id", ids)
        return sorted({row[0] for row in rows})

    def keyless_key_rows(self, ids: Sequence[int] | None, size: int = 2000) -> Iterator[list[KeyRow]]:
        cur = self._tuples()
        sql = f"SELECT {_KEY_COLUMNS} FROM source WHERE citekey IS NULL AND "
        if ids is None:  # keyset pages
            last = -(2**63)
            while True:
                rows = cur.execute(sql + "id > ? ORDER BY id LIMIT ?", (last, size)).fetchall()
                if not rows:
                    return
                yield rows
                last = rows[-1][0]
        else:
            for part in _chunks(ids):  # sorted ids: the pages come in id order
                yield cur.execute(sql + f"id IN ({_marks(part)}) ORDER BY id", tuple(part)).fetchall()

    def store_citekeys(self, updates: Sequence[tuple[str, int]]) -> None:
        self.conn.executemany("UPDATE source SET citekey = ? WHERE id = ?", updates)

    def replace_citekeys(self, changes: Sequence[tuple[int, str]]) -> None:
        # Two passes so that swapping keys between the sources of the batch never trips the UNIQUE constraint.
        with self.transaction():
            self.conn.executemany("UPDATE source SET citekey = NULL WHERE id = ?", [(sid,) for sid, _ in changes])
            self.conn.executemany("UPDATE source SET citekey = ? WHERE id = ?", [(key, sid) for sid, key in changes])

    def citekeys_of(self, ids: Sequence[int] | None) -> dict[int, str]:
        rows = self._select("SELECT id, citekey FROM source WHERE citekey IS NOT NULL AND {where}", "id", ids)
        return dict(rows)

    def citekey_holder(self, key: str, other_than: int | None = None) -> int | None:
        row = self.conn.execute("SELECT id FROM source WHERE citekey = ? COLLATE NOCASE AND id IS NOT ?",
                                (key, other_than)).fetchone()
        return None if row is None else int(row[0])

    def citekey_of_source(self, source_id: int) -> str | None:
        row = self.conn.execute("SELECT citekey FROM source WHERE id = ?", (source_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no source with id {source_id}")
        return row[0]  # type: ignore[no-any-return]

    def set_citekey(self, source_id: int, key: str) -> bool:
        try:
            self.conn.execute("UPDATE source SET citekey = ? WHERE id = ?", (key, source_id))
        except sqlite3.IntegrityError:  # UNIQUE COLLATE NOCASE: another source holds it
            return False
        return True

    def citekey_order(self) -> Iterator[tuple[int, str]]:
        # NOCASE folds ASCII letters only: the caller checks that the keys are ASCII.
        yield from self._tuples().execute(
            "SELECT id, citekey FROM source WHERE citekey IS NOT NULL ORDER BY citekey COLLATE NOCASE, "
            "citekey COLLATE BINARY, id")

    # ---- selections

    def notes_by_path(self) -> list[tuple[int, str, str]]:
        return self._tuples().execute("SELECT id, root, path FROM note ORDER BY path, root, id").fetchall()

    def sources_cited_in(self, note_ids: Sequence[int]) -> list[int]:
        order: dict[int, None] = {}
        for ids in self.sources_cited_by_note(note_ids).values():
            for sid in ids:
                order.setdefault(sid, None)
        return list(order)

    def sources_cited_by_note(self, note_ids: Sequence[int]) -> dict[int, list[int]]:
        cites: dict[int, dict[int, None]] = {nid: {} for nid in note_ids}
        cur = self._tuples()
        for part in _chunks(list(dict.fromkeys(note_ids)), 500):
            for nid, sid in cur.execute(f"SELECT note_id, source_id FROM mention WHERE note_id IN ({_marks(part)}) "
                                        "ORDER BY note_id, ordinal, id", tuple(part)):
                cites[nid].setdefault(sid, None)
        return {nid: list(sids) for nid, sids in cites.items()}

    def sources_tagged(self, tags: Sequence[str]) -> list[int]:
        found: dict[int, None] = {}
        for part in _chunks(list(tags)):
            for (sid,) in self._tuples().execute(
                    f"SELECT DISTINCT source_id FROM source_tag WHERE tag IN ({_marks(part)})", tuple(part)):
                found.setdefault(sid, None)
        return list(found)

    def citable_source_ids(self) -> list[int]:
        return [row[0] for row in self._tuples().execute("SELECT id FROM source")]

    # ---- the export stream

    def citation_rows(self, ids: Sequence[int] | None, fields: Sequence[str]) -> CitationRows:
        sources = self._select(f"SELECT {_SOURCE_COLUMNS} FROM source WHERE {{where}} ORDER BY id", "id", ids)
        evidence = self._select(f"SELECT source_id, field, origin, value FROM field_value WHERE field IN "
                                f"({_marks(fields)}) AND {{where}}", "source_id", ids, fields) if fields else []
        tags = self._select("SELECT source_id, tag FROM source_tag WHERE {where} ORDER BY tag", "source_id", ids)
        return CitationRows(sources, evidence, tags)

    def has_archived_copies(self) -> bool:
        return self.conn.execute("SELECT 1 FROM snapshot WHERE memento_url IS NOT NULL LIMIT 1").fetchone() is not None

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        # WAL: a read transaction is a consistent snapshot that does not block writers
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            if self.conn.in_transaction:
                self.conn.execute("COMMIT")  # nothing was written: ends the read

    # ---- registered exports

    def has_export_registry(self) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'registered_export'"
                                 ).fetchone() is not None

    def registered_exports_exist(self) -> bool:
        from refman.store.revisions import HEAD_REVISION
        from refman.store.sqlite.connection import schema_revision

        try:
            if schema_revision(self.conn) != HEAD_REVISION:
                return False
            return self.conn.execute("SELECT 1 FROM registered_export LIMIT 1").fetchone() is not None
        except sqlite3.Error:
            return False

    def registered_exports(self) -> list[ExportRecord]:
        return [_export_record(row) for row in
                self._tuples().execute(f"SELECT {_EXPORT_COLUMNS} FROM registered_export ORDER BY name")]

    def registered_export_named(self, name: str) -> ExportRecord | None:
        row = self._tuples().execute(f"SELECT {_EXPORT_COLUMNS} FROM registered_export WHERE name = ?",
                                     (name,)).fetchone()
        return None if row is None else _export_record(row)

    def registered_export_at(self, path: str) -> str | None:
        row = self.conn.execute("SELECT name FROM registered_export WHERE path = ?", (path,)).fetchone()
        return None if row is None else str(row[0])

    def add_registered_export(self, record: ExportRecord) -> None:
        self.conn.execute("INSERT INTO registered_export (name, path, format, per_note, options, files, created_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)", (record.name, record.path, record.format,
                                                           int(record.per_note), record.options, record.files,
                                                           record.created_at))

    def redefine_registered_export(self, record: ExportRecord) -> None:
        self.conn.execute("UPDATE registered_export SET path = ?, format = ?, per_note = ?, options = ?, files = ?, "
                          "written_hash = NULL, written_at = NULL WHERE name = ?",
                          (record.path, record.format, int(record.per_note), record.options, record.files,
                           record.name))

    def record_export_written(self, name: str, written_hash: str, written_at: str | None, files: str | None) -> None:
        self.conn.execute("UPDATE registered_export SET written_hash = ?, written_at = ?, files = ? WHERE name = ?",
                          (written_hash, written_at, files, name))

    def remove_registered_export(self, name: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM registered_export WHERE name = ?", (name,))

    def catalog_file(self) -> Path | None:
        for _seq, name, file in self.conn.execute("PRAGMA database_list"):
            if name == "main" and file:
                return Path(file)
        return None

    @contextmanager
    def exports_refresh_lock(self) -> Iterator[None]:
        # An exclusive lock on CATALOG.exports-lock (POSIX); without a file or fcntl refreshes are not
        # serialised, each still writes atomically.
        db = self.catalog_file()
        try:
            import fcntl
        except ImportError:
            yield
            return
        if db is None:
            yield
            return
        try:
            fd = os.open(f"{db}.exports-lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            yield  # a read-only folder: nothing could be written anyway
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # ---- maintenance

    def check_catalog_integrity(self) -> CatalogCheck:
        """SQLite's integrity check, the foreign key check and FTS5's own integrity check of the search index,
        plus whether the index has exactly one row per source (FTS5's check needs a writable catalog)."""
        conn = self.conn
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check(100)")]
        foreign = [{"table": r[0], "rowid": r[1], "parent": r[2]} for r in conn.execute("PRAGMA foreign_key_check")]
        index_problems: list[str] = []
        skipped: list[str] = []
        try:
            conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            if "readonly" in str(exc):  # FTS5 runs its check as a command: only on a writable catalog
                skipped.append("the search index's own integrity check (the catalog is read-only)")
            else:
                index_problems.append(str(exc))
        missing = conn.execute("SELECT count(*) FROM source WHERE id NOT IN (SELECT rowid FROM search_fts)"
                               ).fetchone()[0]
        extra = conn.execute("SELECT count(*) FROM search_fts WHERE rowid NOT IN (SELECT id FROM source)"
                             ).fetchone()[0]
        if missing:
            index_problems.append(f"{missing} sources missing from the search index")
        if extra:
            index_problems.append(f"{extra} search index rows without a source")
        integrity_ok = integrity == ["ok"]
        return {
            "ok": integrity_ok and not foreign and not index_problems,
            "integrity": "ok" if integrity_ok else integrity,
            "foreign_keys": foreign,
            "search_index": index_problems if index_problems else "ok",
            "skipped": skipped,
        }

    def copy_catalog_to(self, target: Path) -> int:
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            self.conn.backup(dst, pages=1024)  # steps of 1024 pages: writers get the lock between steps
            dst.execute("PRAGMA journal_mode = DELETE")  # the copy is one file
            return int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()

    def unreferenced_blobs(self) -> tuple[int, int]:
        row = self.conn.execute(f"SELECT count(*), coalesce(sum(stored_size), 0) FROM blob WHERE {_GARBAGE}"
                                ).fetchone()
        return int(row[0]), int(row[1])

    def delete_unreferenced_blobs(self) -> None:
        self.conn.execute(f"DELETE FROM blob WHERE {_GARBAGE}")

    def sources_to_delete(self, ids: Sequence[int]) -> list[DeletedSource]:
        rows = self._select("SELECT id, url, title, citekey FROM source WHERE {where}", "id", ids)
        return sorted((DeletedSource(*row) for row in rows), key=lambda row: row.id)

    def source_dependents(self, ids: Sequence[int]) -> SourceDependents:
        def count(sql: str) -> int:
            return sum(row[0] for row in self._select(sql, "source_id", ids))

        return SourceDependents(
            mentions=count("SELECT count(*) FROM mention WHERE {where}"),
            tags=count("SELECT count(*) FROM source_tag WHERE {where}"),
            snapshots=count("SELECT count(*) FROM snapshot WHERE {where}"),
            pins=count("SELECT count(*) FROM field_value WHERE origin = 'user' AND {where}"),
        )

    def delete_sources_cascading(self, ids: Sequence[int]) -> None:
        with self.transaction():  # the foreign keys cascade to mentions, tags, evidence, snapshots, search rows
            for part in _chunks(list(ids)):
                self.conn.execute(f"DELETE FROM source WHERE id IN ({_marks(part)})", tuple(part))
