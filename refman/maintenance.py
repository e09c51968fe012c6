"""Catalog maintenance: integrity check, online backup, garbage collection of archived bodies, deletion.

The storage side of each (SQLite's PRAGMAs and backup API) is in the store (refman.store.citation)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refman.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from refman.store.citation import CatalogCheck, CitationStore
    from refman.store.protocol import Store


def check_catalog(store: CitationStore) -> CatalogCheck:
    """The store's integrity checks (SQLite: its integrity check, the foreign key check and the search index's
    own integrity check, plus whether the index has exactly one row per source). `ok` is true when all of them
    pass; `skipped` names what could not run (the index's own check on a read-only catalog)."""
    return store.check_catalog_integrity()


def backup_catalog(store: CitationStore, source_path: Path, target: Path, *,
                   replace: bool = False) -> dict[str, Any]:
    """A consistent copy of the catalog at `target`, made while other processes keep reading and writing
    (SQLite: its online backup API). Written to a temp file in the target's folder and renamed: a failed or
    interrupted backup leaves no partial file. The copy is a single file."""
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
        pages = store.copy_catalog_to(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"path": str(target), "bytes": target.stat().st_size, "pages": pages,
            "elapsed_s": round(time.perf_counter() - started, 3)}


def garbage_blobs(store: CitationStore) -> dict[str, int]:
    """Archived bodies no snapshot or archived text references any more: {blobs, stored_bytes}."""
    blobs, stored = store.unreferenced_blobs()
    return {"blobs": blobs, "stored_bytes": stored}


def collect_garbage(store: Store, *, dry_run: bool = False) -> dict[str, int]:
    """Delete the blobs nothing references (see garbage_blobs); returns what was (or would be) removed."""
    with store.transaction():
        found = garbage_blobs(store)
        if not dry_run:
            store.delete_unreferenced_blobs()
    return found


def _delete(store: Store, source_ids: Sequence[int], *, dry_run: bool = False) -> dict[str, Any]:
    ids = list(dict.fromkeys(source_ids))
    if not ids:
        raise UsageError("say which sources to delete")
    with store.transaction():
        rows = store.sources_to_delete(ids)
        if len(rows) != len(ids):
            missing = sorted(set(ids) - {r.id for r in rows})
            raise NotFoundError(f"no source with id {', '.join(map(str, missing))}")
        dependents = store.source_dependents(ids)
        report: dict[str, Any] = {
            "dry_run": dry_run,
            "sources": [{"id": r.id, "url": r.url, "title": r.title, "citekey": r.citekey} for r in rows],
            "mentions": dependents.mentions, "tags": dependents.tags, "snapshots": dependents.snapshots,
            "pins": dependents.pins,
        }
        store.delete_sources_cascading(ids)
        garbage = garbage_blobs(store)
        store.delete_unreferenced_blobs()
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


def delete_sources(store: Store, source_ids: Sequence[int], *, dry_run: bool = False) -> dict[str, Any]:
    """Delete sources with everything that hangs on them (mentions, tags, pinned and fetched evidence, citation
    keys, aliases, snapshots, archived text, search rows), then the archived bodies nothing references any
    more, in one transaction. Returns what was removed. A dry run really runs the deletion (so its counts are
    exact) and rolls it back."""
    try:
        return _delete(store, source_ids, dry_run=dry_run)
    except _DryRun as done:
        return done.report
