"""Registered exports: bibliographies that refman keeps current.

`register` stores an export (format, selection, options, and a file or a per-note folder) in the catalog;
`refresh` renders each registered export from the catalog as it is now and writes exactly those whose bytes
differ from what is on disk (temp file + rename in the same folder: a reader sees the old file or the new one;
a file whose bytes would not change is not touched, so an editor does not reload it for nothing).

Refreshes of one catalog are serialised by a lock file beside it (`CATALOG.exports-lock`): each refresh reads
the catalog after taking the lock, so the last writer always writes the newest state, whoever started first.

The CLI refreshes the registered exports when a command that changed the catalog ends (refman.cli.exports_cmds,
with the change signal of refman.changes); `refman watch` once the catalog has been quiet for a moment after a
change (refman.watch)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refman.errors import NotFoundError, RefmanError, UsageError

if TYPE_CHECKING:
    from refman.citation.selection import Selection
    from refman.store.citation import CitationStore, ExportRecord
    from refman.store.protocol import Store

PER_NOTE_SUFFIXES = {"biblatex": ".bib", "bibtex": ".bib", "csljson": ".json"}


@dataclass
class RegisteredExport:
    name: str
    path: str  # absolute; a folder when per_note
    format: str
    per_note: bool = False
    refs: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    cited_in: str | None = None
    query: str | None = None
    all: bool = False
    ascii: bool | None = None
    files: dict[str, str] = field(default_factory=dict)  # per note: relative path → sha256 of what was written
    written_hash: str | None = None
    written_at: str | None = None
    created_at: str | None = None
    id: int | None = None

    @property
    def options_json(self) -> str:
        return json.dumps({"refs": self.refs, "tags": self.tags, "cited_in": self.cited_in, "query": self.query,
                           "all": self.all, "ascii": self.ascii}, ensure_ascii=False, sort_keys=True)

    def selection(self) -> Selection:
        from refman.citation.selection import Selection

        return Selection(refs=self.refs, tags=self.tags, cited_in=self.cited_in, query=self.query, all=self.all)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "format": self.format, "per_note": self.per_note,
                "refs": self.refs, "tags": self.tags, "cited_in": self.cited_in, "query": self.query,
                "all": self.all, "ascii": self.ascii, "written_at": self.written_at,
                "written_hash": self.written_hash, "files": len(self.files) if self.per_note else None}


@dataclass
class RefreshResult:
    """What one refresh did to one registered export. status: written | unchanged | missing (its folder is
    gone: nothing written) | error (the selection cannot be exported now: nothing written)."""

    name: str
    path: str
    status: str
    detail: str | None = None
    files_written: int = 0  # per note; 1 or 0 for a single file
    files_removed: int = 0  # per note: files of notes that are gone
    entries: int | None = None  # single file: how many entries it holds
    elapsed_s: float = 0.0  # rendering and writing it

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ---------------------------------------------------------------- the registry


def _from_record(record: ExportRecord) -> RegisteredExport:
    opts = json.loads(record.options)
    return RegisteredExport(
        id=record.id, name=record.name, path=record.path, format=record.format, per_note=record.per_note,
        refs=list(opts.get("refs") or []), tags=list(opts.get("tags") or []), cited_in=opts.get("cited_in"),
        query=opts.get("query"), all=bool(opts.get("all")), ascii=opts.get("ascii"),
        files=json.loads(record.files) if record.files else {}, written_hash=record.written_hash,
        written_at=record.written_at, created_at=record.created_at,
    )


def _to_record(export: RegisteredExport) -> ExportRecord:
    from refman.store.citation import ExportRecord

    return ExportRecord(export.id, export.name, export.path, export.format, export.per_note, export.options_json,
                        json.dumps(export.files) if export.files else None, export.written_hash,
                        export.written_at, export.created_at)


def has_registry(store: CitationStore) -> bool:
    """Whether the catalog has the registry table (an older catalog that was not upgraded has none)."""
    return store.has_export_registry()


def has_registered_exports(store: CitationStore) -> bool:
    """Whether an up-to-date catalog has any registered export. An older catalog (`db status` on one) says no:
    refreshing it would need an upgrade that the command did not ask for."""
    return store.registered_exports_exist()


def list_exports(store: CitationStore, names: Sequence[str] | None = None) -> list[RegisteredExport]:
    """Registered exports by name; NotFoundError for a name that is not registered."""
    exports = [_from_record(r) for r in store.registered_exports()]
    if not names:
        return exports
    by_name = {e.name: e for e in exports}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise NotFoundError(f"no registered export named {missing[0]!r} (refman exports lists them)")
    return [by_name[n] for n in dict.fromkeys(names)]


def _validate(export: RegisteredExport) -> Path:
    """Check the format, the selection and the target; make the path absolute."""
    from refman.citation.export import EXPORT_FORMATS

    if export.format not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {export.format!r}: use one of {', '.join(EXPORT_FORMATS)}")
    if export.per_note and export.format not in PER_NOTE_SUFFIXES:
        raise UsageError(f"--per-note writes {', '.join(PER_NOTE_SUFFIXES)} files, not {export.format}")
    if export.per_note and (export.refs or export.tags or export.query):
        raise UsageError("--per-note takes notes: use --cited-in NOTE|FOLDER (or nothing: every note)")
    path = Path(export.path).expanduser().absolute()
    if export.per_note and not path.is_dir():
        if path.exists() or not path.parent.is_dir():
            raise NotFoundError(f"no such folder: {export.path}")
        path.mkdir()  # the folder the user named for the mirror, in a folder that exists (as `mkdir DIR` would)
    if not export.per_note and path.is_dir():
        raise UsageError(f"{export.path} is a folder: give the file to write (or --per-note for a folder)")
    if not path.parent.is_dir():
        raise NotFoundError(f"no such folder: {path.parent}")
    export.path = str(path)
    return path


def write_once(store: Store, export: RegisteredExport) -> RefreshResult:
    """Write an export (a file or a per-note mirror) the way a registered one is written, without registering
    it: `refman export --per-note DIR` without --keep-updated."""
    _validate(export)
    with store.exports_refresh_lock():
        return _apply(store, export, render(store, export), record=False)


def register(store: Store, export: RegisteredExport) -> tuple[RegisteredExport, RefreshResult]:
    """Store `export` and write it now; returns it as stored and what the write did.

    The name is `export.name` when given (an existing export of that name is redefined), else that of the export
    already registered for the same path, else the file's name (made unique with -2, -3 …). A path belongs to
    one registered export: two of them writing one file would undo each other. The selection is rendered before
    anything is stored, so one that cannot be exported (an unknown note, id or key) registers nothing."""
    from refman.timeutil import utc_now

    path = _validate(export)
    with store.exports_refresh_lock():
        with store.transaction():
            by_path = store.registered_export_at(export.path)
            if export.name and by_path and by_path != export.name:
                raise UsageError(f"{export.path} is already registered as {by_path!r}: remove it first or use "
                                 "that name")
            if not export.name:
                export.name = by_path if by_path else _free_name(store, path.name)
            rendered = render(store, export)  # raises for a selection that cannot be exported: nothing stored
            old = store.registered_export_named(export.name)
            if old is None:
                export.created_at = utc_now()
                store.add_registered_export(_to_record(export))
            else:
                previous = _from_record(old)
                export.created_at = previous.created_at
                if previous.path == export.path and previous.per_note == export.per_note:
                    export.files = previous.files  # still this mirror's files: remove them when their note goes
                store.redefine_registered_export(_to_record(export))
        stored = list_exports(store, [export.name])[0]
        return stored, _apply(store, stored, rendered)


def _free_name(store: CitationStore, base: str) -> str:
    taken = {r.name for r in store.registered_exports()}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def remove(store: CitationStore, name: str) -> RegisteredExport:
    """Forget a registered export (its files stay where they are). NotFoundError when there is none."""
    export = list_exports(store, [name])[0]
    store.remove_registered_export(name)
    return export


# ---------------------------------------------------------------- rendering


@dataclass
class Rendered:
    """What an export would write now: {"": bytes} for a single file, {relative path: bytes} for a per-note
    mirror; and how many entries (sources) that is."""

    files: dict[str, bytes]
    entries: int


def render(store: Store, export: RegisteredExport) -> Rendered:
    """Render the export from the catalog as it is now (`refman export`'s bytes for the same options). Citation
    keys are assigned to sources that have none, as any export does."""
    from refman.citation.export import gc_paused, item_chunks, iter_export, selected_ids

    with gc_paused():
        if export.per_note:
            return _render_per_note(store, export)
        ids = selected_ids(store, export.selection())
        with store.read_snapshot():
            text = "".join(iter_export(item_chunks(store, ids), export.format, export.ascii))
        return Rendered({"": text.encode("utf-8")}, len(ids))


def _render_per_note(store: Store, export: RegisteredExport) -> Rendered:
    """One bibliography per note (the sources it cites, in its order), at the note's path relative to its vault
    with the format's suffix. Items are built once for all the notes."""
    from refman.citation.build import load_items
    from refman.citation.export import CHUNK, iter_export
    from refman.citation.keys import ensure_citekeys
    from refman.references import notes_for

    suffix = PER_NOTE_SUFFIXES[export.format]
    notes = store.notes_by_path()
    paths = {nid: path for nid, _root, path in notes}
    note_ids = notes_for(store, export.cited_in) if export.cited_in else list(paths)
    cites = store.sources_cited_by_note(note_ids)
    wanted = list(dict.fromkeys(sid for ids in cites.values() for sid in ids))
    keys = ensure_citekeys(store, wanted)
    ids = [sid for sid in wanted if sid in keys]
    items: dict[int, Any] = {}
    with store.read_snapshot():
        for start in range(0, len(ids), CHUNK):
            items.update(load_items(store, ids[start: start + CHUNK]))
    out: dict[str, bytes] = {}
    entries = 0
    for nid in note_ids:
        rel = str(Path(paths[nid]).with_suffix(suffix))
        if rel in out:
            continue  # the same relative path in two vaults: the first (in path, root order) is written
        note_items = [items[sid] for sid in cites[nid] if sid in items]
        out[rel] = "".join(iter_export([note_items], export.format, export.ascii)).encode("utf-8")
        entries += len(note_items)
    return Rendered(out, entries)


# ---------------------------------------------------------------- writing


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _write_bytes(path: Path, data: bytes) -> None:
    from refman.citation.export import atomic_writer

    with atomic_writer(path) as handle:
        handle.write(data.decode("utf-8"))


def _apply(store: CitationStore, export: RegisteredExport, rendered: Rendered,
           record: bool = True) -> RefreshResult:
    """Write the files whose bytes differ from the disk; remove the files of a mirror's notes that are gone; and,
    when `record`, store what was written in the registry (only when it changed: a refresh that changes nothing
    writes nothing to the catalog either, so it does not wake the other processes that watch it)."""
    from refman.timeutil import utc_now

    target = Path(export.path)
    folder = target if export.per_note else target.parent
    result = RefreshResult(export.name, export.path, "unchanged")
    if not folder.is_dir():
        result.status, result.detail = "missing", f"folder {folder} is gone: not written"
        return result
    files_map: dict[str, str] = {}
    for rel, data in rendered.files.items():
        path = folder / rel if rel else target
        files_map[rel] = _sha(data)
        if _same_bytes(path, data):
            continue
        if rel:
            path.parent.mkdir(parents=True, exist_ok=True)
        _write_bytes(path, data)
        result.files_written += 1
    if export.per_note:
        if record:  # only a registered mirror's old files are known to be refman's
            for rel, sha in export.files.items():
                if rel not in rendered.files:
                    result.files_removed += _remove_own_file(folder, rel, sha)
        new_hash = _sha("".join(f"{rel}\0{sha}\n" for rel, sha in sorted(files_map.items())).encode())
        files: str | None = json.dumps(files_map, ensure_ascii=False, sort_keys=True)
    else:
        result.entries = rendered.entries
        new_hash, files = files_map[""], None
    if result.files_written or result.files_removed:
        result.status = "written"
    if record and (result.status == "written" or export.written_hash != new_hash):
        if result.status == "written" or export.written_at is None:
            export.written_at = utc_now()
        export.written_hash, export.files = new_hash, files_map if export.per_note else {}
        store.record_export_written(export.name, new_hash, export.written_at, files)
    return result


def _remove_own_file(folder: Path, rel: str, sha: str) -> int:
    """Remove a per-note file whose note is gone, if it still holds what refman wrote (else it is the user's
    now), and the folders that leaves empty."""
    path = folder / rel
    try:
        if _sha(path.read_bytes()) != sha:
            return 0
        path.unlink()
    except OSError:
        return 0
    parent = path.parent
    while parent != folder and folder in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    return 1


def refresh(store: Store, names: Sequence[str] | None = None) -> list[RefreshResult]:
    """Render every registered export (or those named) from the catalog as it is now and write those whose
    bytes changed. One export that cannot be written (its folder is gone, its note was deleted, a disk error)
    is reported in its result; the others are still written."""
    if not has_registry(store):
        return []
    results = []
    with store.exports_refresh_lock():
        for export in list_exports(store, names):
            start = time.perf_counter()
            try:
                result = _apply(store, export, render(store, export))
            except RefmanError as exc:
                result = RefreshResult(export.name, export.path, "error", f"{exc}: not written")
            except OSError as exc:
                result = RefreshResult(export.name, export.path, "error", f"cannot write: {exc.strerror or exc}")
            result.elapsed_s = round(time.perf_counter() - start, 3)
            results.append(result)
    return results


def check(store: Store, export: RegisteredExport) -> str:
    """Whether the files on disk are what the export would write now: current | stale | missing (the folder is
    gone) | error (the selection cannot be exported now)."""
    folder = Path(export.path) if export.per_note else Path(export.path).parent
    if not folder.is_dir():
        return "missing"
    try:
        rendered = render(store, export)
    except RefmanError:
        return "error"
    if export.per_note:
        gone = [rel for rel in export.files if rel not in rendered.files and (folder / rel).exists()]
        fresh = all(_same_bytes(folder / rel, data) for rel, data in rendered.files.items())
        return "current" if fresh and not gone else "stale"
    return "current" if _same_bytes(Path(export.path), rendered.files[""]) else "stale"
