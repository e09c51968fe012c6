"""Catalog maintenance: integrity check, online backup, garbage collection of archived bodies, deletion.

All of it runs on the light sqlite3 connection (refman.store)."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from refman.errors import NotFoundError, UsageError

# Columns that point at a blob: a blob none of them names is garbage. New ones go here (a test checks that
# every foreign key to `blob` is listed).
BLOB_REFERENCES = (("snapshot", "body_hash"), ("source_text", "markdown_hash"))


def check_catalog(conn: sqlite3.Connection) -> dict[str, Any]:
    """SQLite's integrity check, the foreign key check and the search index's own integrity check, plus
    whether the index has exactly one row per source. `ok` is true when all of them pass; `skipped` names
    what could not run (the index's own check on a read-only catalog)."""
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
    missing = conn.execute("SELECT count(*) FROM source WHERE id NOT IN (SELECT rowid FROM search_fts)").fetchone()[0]
    extra = conn.execute("SELECT count(*) FROM search_fts WHERE rowid NOT IN (SELECT id FROM source)").fetchone()[0]
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


def backup_catalog(conn: sqlite3.Connection, source_path: Path, target: Path, *,
                   replace: bool = False) -> dict[str, Any]:
    """A consistent copy of the catalog at `target`, made with SQLite's online backup API while other
    processes keep reading and writing. Written to a temp file in the target's folder and renamed: a failed
    or interrupted backup leaves no partial file. The copy is a single file (rollback journal mode)."""
    target = Path(target).expanduser()
    if target.is_dir():
        target = target / f"{Path(source_path).stem}-{time.strftime('%Y%m%d-%H%M%S')}.db"
    if not target.parent.is_dir():
        raise UsageError(f"no such folder: {target.parent}")
    if target.exists() and target.resolve() == Path(source_path).resolve():
        raise UsageError("the backup would replace the catalog itself: give another path")
    if target.exists() and not replace:
        raise UsageError(f"{target} exists: give another path, or --force to replace it")
    started = time.perf_counter()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        dst = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.backup(dst, pages=1024)  # steps of 1024 pages: writers get the lock between steps
            dst.execute("PRAGMA journal_mode = DELETE")
            pages = dst.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dst.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"path": str(target), "bytes": target.stat().st_size, "pages": pages,
            "elapsed_s": round(time.perf_counter() - started, 3)}


def _garbage_where() -> str:
    return " AND ".join(f"hash NOT IN (SELECT {col} FROM {table} WHERE {col} IS NOT NULL)"
                        for table, col in BLOB_REFERENCES)


def garbage_blobs(conn: sqlite3.Connection) -> dict[str, int]:
    """Archived bodies no snapshot or archived text references any more: {blobs, stored_bytes}."""
    row = conn.execute(f"SELECT count(*), coalesce(sum(stored_size), 0) FROM blob WHERE {_garbage_where()}").fetchone()
    return {"blobs": int(row[0]), "stored_bytes": int(row[1])}


def collect_garbage(conn: sqlite3.Connection, *, dry_run: bool = False) -> dict[str, int]:
    """Delete the blobs nothing references (see garbage_blobs); returns what was (or would be) removed."""
    from refman.store.sqlite.base import transaction

    with transaction(conn):
        found = garbage_blobs(conn)
        if not dry_run:
            conn.execute(f"DELETE FROM blob WHERE {_garbage_where()}")
    return found


def _delete(conn: sqlite3.Connection, source_ids: Sequence[int], *, dry_run: bool = False) -> dict[str, Any]:
    from refman.store.sqlite.base import transaction

    ids = list(dict.fromkeys(source_ids))
    if not ids:
        raise UsageError("say which sources to delete")
    marks = ",".join("?" * len(ids))
    with transaction(conn):
        rows = conn.execute(f"SELECT id, url, title, citekey FROM source WHERE id IN ({marks}) ORDER BY id",
                            ids).fetchall()
        if len(rows) != len(ids):
            missing = sorted(set(ids) - {r[0] for r in rows})
            raise NotFoundError(f"no source with id {', '.join(map(str, missing))}")

        def count(table: str) -> int:
            return int(conn.execute(f"SELECT count(*) FROM {table} WHERE source_id IN ({marks})", ids).fetchone()[0])

        report: dict[str, Any] = {
            "dry_run": dry_run,
            "sources": [{"id": r[0], "url": r[1], "title": r[2], "citekey": r[3]} for r in rows],
            "mentions": count("mention"), "tags": count("source_tag"), "snapshots": count("snapshot"),
            "pins": int(conn.execute(f"SELECT count(*) FROM field_value WHERE origin = 'user' AND source_id IN"
                                     f" ({marks})", ids).fetchone()[0]),
        }
        conn.execute(f"DELETE FROM source WHERE id IN ({marks})", ids)
        garbage = garbage_blobs(conn)
        conn.execute(f"DELETE FROM blob WHERE {_garbage_where()}")
        report["blobs_removed"] = garbage["blobs"]
        report["stored_bytes_freed"] = garbage["stored_bytes"]
        if dry_run:
            raise _DryRun(report)
    return report


class _DryRun(Exception):
    """Raised inside the transaction to roll a dry run back; carries its report out."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__("dry run")
        self.report = report


def delete_sources(conn: sqlite3.Connection, source_ids: Sequence[int], *, dry_run: bool = False) -> dict[str, Any]:
    """Delete sources with everything that hangs on them (mentions, tags, pinned and fetched evidence, citation
    keys, aliases, snapshots, archived text, search rows), then the archived bodies nothing references any
    more, in one transaction. Returns what was removed. A dry run really runs the deletion (so its counts are
    exact) and rolls it back."""
    try:
        return _delete(conn, source_ids, dry_run=dry_run)
    except _DryRun as done:
        return done.report
