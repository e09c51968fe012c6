"""Vault import: Markdown notes → reference definitions → sources and mentions in the catalog.

Two phases. Parsing (read, decode, scan, label hints, URL identity) is a pure function of one file and runs
in a process pool when many notes changed. Writing happens in one transaction on the light sqlite3 path,
so an import either lands whole or not at all, and 100,000 definitions take seconds, not minutes.

Re-import: a note whose size and mtime are unchanged is skipped without reading; one whose content hash is
unchanged only gets its mtime refreshed. A changed note's mentions are replaced. Notes that disappeared from
an imported folder are forgotten (their mentions go), but their sources stay: they may carry tags, notes and
snapshots, and `refman list --orphans` shows them."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refman.errors import InvalidURLError, NotFoundError
from refman.merge import CACHED_FIELDS
from refman.timeutil import utc_now

NOTE_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
_POOL_THRESHOLD = 300  # changed notes; below this a process pool costs more than it saves
_BINARY_CONTROL_RATIO = 0.10
# Legacy encodings a note plausibly comes in. Letting the detector choose among all code pages makes short
# Latin text come out as cp1250 or mac-roman; this list keeps the guesses to what editors actually wrote.
_LEGACY_ENCODINGS = ["gb18030", "big5", "shift_jis", "euc_jp", "euc_kr", "cp1252", "cp1251", "koi8_r",
                     "iso8859_7", "utf_16"]


@dataclass
class ParsedDefinition:
    line: int
    label: str
    url: str  # normalised
    url_as_written: str
    host: str
    title_attr: str | None
    annotation: str | None
    hints: dict[str, Any]  # title, issued, container_title, author, flag


@dataclass
class ParsedNote:
    path: str  # relative POSIX path
    size: int
    mtime_ns: int
    sha256: str
    encoding: str | None = None
    status: str = "ok"
    reason: str | None = None
    definitions: list[ParsedDefinition] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportReport:
    notes_scanned: int = 0
    notes_unchanged: int = 0
    notes_removed: int = 0
    definitions: int = 0
    sources_new: int = 0
    sources_updated: int = 0
    mentions: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def decode_note(data: bytes) -> tuple[str | None, str | None, str | None]:
    """(text, encoding, problem). text is None when the file is binary; problem explains a fallback."""
    if b"\x00" in data:
        return None, None, "binary file (contains NUL bytes)"
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig", None
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    sample = data[:4096]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if sample and controls / len(sample) > _BINARY_CONTROL_RATIO:
        return None, None, "binary file (control bytes)"
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=_LEGACY_ENCODINGS).best()
    encoding = best.encoding if best is not None else "cp1252"
    if encoding in ("gb2312", "gbk"):
        encoding = "gb18030"  # a superset: decodes everything the narrower guess would
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        encoding = "cp1252"
        text = data.decode(encoding, errors="replace")
    return text, encoding, f"not valid UTF-8; decoded as {encoding}"


def parse_note(root: str, rel: str, size: int, mtime_ns: int, data: bytes | None = None) -> ParsedNote:
    """Read, decode and scan one note. Never raises for bad content: problems become reasons."""
    from refman.notes.labels import parse_label
    from refman.notes.scan import scan_markdown
    from refman.urls import normalise_url

    note = ParsedNote(path=rel, size=size, mtime_ns=mtime_ns, sha256="")
    if data is None:
        try:
            data = (Path(root) / rel).read_bytes()
        except OSError as exc:
            note.status, note.reason = "skipped", f"unreadable: {exc.strerror or exc}"
            return note
    note.sha256 = hashlib.sha256(data).hexdigest()
    text, encoding, problem = decode_note(data)
    note.encoding = encoding
    if text is None:
        note.status, note.reason = "skipped", problem
        return note
    if problem:
        note.reason = problem
        note.warnings.append({"path": rel, "line": None, "message": problem})
    result = scan_markdown(text)
    for dup in result.duplicates:
        note.warnings.append(
            {"path": rel, "line": dup.line, "message": f"duplicate label [{dup.label}]; first definition wins"}
        )
    for warning in result.warnings:
        if not warning.message.startswith("duplicate"):
            note.warnings.append({"path": rel, "line": warning.line, "message": warning.message})
    for definition in result.definitions:
        dest = definition.destination.strip()
        try:
            ident = normalise_url(dest)
        except InvalidURLError as exc:
            reason = getattr(exc, "reason", str(exc))
            note.skipped.append({"path": rel, "line": definition.line, "url": dest, "reason": reason})
            continue
        hints = parse_label(definition.label, ident.host)
        note.definitions.append(
            ParsedDefinition(
                line=definition.line,
                label=definition.label,
                url=ident.url,
                url_as_written=dest,
                host=ident.host,
                title_attr=definition.title,
                annotation=definition.annotation,
                hints={
                    "title": hints.title,
                    "issued": hints.issued,
                    "container_title": hints.container_title,
                    "author": [{"literal": hints.author}] if hints.author else None,
                    "flag": hints.flag,
                },
            )
        )
    return note


def iter_note_files(paths: Iterable[Path]) -> Iterator[tuple[str, str, os.stat_result]]:
    """(root, relative path, stat) for every note under the given files and folders.
    Hidden folders (.obsidian, .git, .trash) and hidden files are skipped."""
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise NotFoundError(f"no such file or folder: {given}")
        if path.is_file():
            root = path.parent.resolve()
            yield str(root), path.name, path.stat()
            continue
        root_path = path.resolve()
        root = str(root_path)
        for dirpath, dirnames, filenames in os.walk(root_path):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or not name.lower().endswith(NOTE_SUFFIXES):
                    continue
                full = os.path.join(dirpath, name)
                try:
                    st = os.stat(full)
                except OSError:
                    continue
                yield root, Path(os.path.relpath(full, root)).as_posix(), st


def _parse_many(jobs: list[tuple[str, str, int, int]]) -> Iterator[ParsedNote]:
    """Parsed notes in job order. Many notes go through a process pool, streamed, so the caller writes the
    first results while later notes are still being parsed."""
    if len(jobs) < _POOL_THRESHOLD or (os.cpu_count() or 1) < 2:
        yield from (parse_note(*job) for job in jobs)
        return
    from concurrent.futures import ProcessPoolExecutor

    workers = min(os.cpu_count() or 2, 8)
    chunk = max(16, len(jobs) // (workers * 16))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_parse_job, jobs, chunksize=chunk)


def _parse_job(job: tuple[str, str, int, int]) -> ParsedNote:
    return parse_note(*job)


def import_vault(conn: sqlite3.Connection, paths: Iterable[Path]) -> ImportReport:
    """Import notes under `paths` into the catalog behind `conn` (one transaction)."""
    report = ImportReport()
    files = list(iter_note_files(paths))
    roots = sorted({root for root, _, _ in files} | {str(Path(p).expanduser().resolve()) for p in paths
                                                       if Path(p).expanduser().is_dir()})
    known: dict[tuple[str, str], sqlite3.Row] = {}
    for root in roots:
        for row in conn.execute("SELECT id, root, path, size, mtime_ns, sha256 FROM note WHERE root = ?", (root,)):
            known[(row["root"], row["path"])] = row

    jobs: list[tuple[str, str, int, int]] = []
    touch_only: list[tuple[int, int]] = []
    seen: set[tuple[str, str]] = set()
    for root, rel, st in files:
        seen.add((root, rel))
        row = known.get((root, rel))
        if row is not None and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
            report.notes_unchanged += 1
            continue
        jobs.append((root, rel, st.st_size, st.st_mtime_ns))
    now = utc_now()
    parsed = _parse_many(jobs)
    from refman.search import bulk_upkeep

    conn.execute("BEGIN IMMEDIATE")
    try:
        with bulk_upkeep(conn) as reindex:
            writer = _CatalogWriter(conn, now)
            for (root, _rel, _size, _mtime), note in zip(jobs, parsed, strict=True):
                row = known.get((root, note.path))
                if row is not None and note.sha256 and row["sha256"] == note.sha256 and note.status == "ok":
                    touch_only.append((note.mtime_ns, row["id"]))
                    report.notes_unchanged += 1
                    continue
                report.notes_scanned += 1
                report.skipped.extend(note.skipped)
                report.warnings.extend(note.warnings)
                if note.status != "ok":
                    report.skipped.append({"path": note.path, "line": None, "url": None, "reason": note.reason})
                writer.write_note(root, note, None if row is None else row["id"], report)
            conn.executemany("UPDATE note SET mtime_ns = ? WHERE id = ?", touch_only)
            gone = [row["id"] for key, row in known.items() if key not in seen and Path(key[0]).is_dir()]
            for note_id in gone:
                writer.forget_mentions(note_id)
                conn.execute("DELETE FROM note WHERE id = ?", (note_id,))
            report.notes_removed = len(gone)
            writer.finish(report)
            reindex.update(writer.touched)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return report


class _CatalogWriter:
    """Batches the writes of one import inside the caller's transaction. New sources get their ids here and
    their cached citation columns straight from the label hints; only sources that existed before are
    re-merged from their stored evidence."""

    def __init__(self, conn: sqlite3.Connection, now: str) -> None:
        self.conn = conn
        self.now = now
        self.source_ids: dict[str, int] = {url: sid for sid, url in conn.execute("SELECT id, url FROM source")}
        self.next_id = (conn.execute("SELECT max(id) FROM source").fetchone()[0] or 0) + 1
        self.new_sources: dict[int, tuple[str, str, str]] = {}  # id → (url, as written, host)
        self.touched: set[int] = set()
        self.mention_rows: list[tuple[Any, ...]] = []
        self.label_hints: dict[int, dict[str, Any]] = {}  # source → hints of the label that speaks for it
        self.relabelled: set[int] = set()

    def write_note(self, root: str, note: ParsedNote, note_id: int | None, report: ImportReport) -> None:
        conn = self.conn
        values = (note.size, note.mtime_ns, note.sha256, note.encoding, note.status, note.reason, self.now)
        if note_id is None:
            cur = conn.execute(
                "INSERT INTO note (root, path, size, mtime_ns, sha256, encoding, status, reason, imported_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (root, note.path, *values),
            )
            note_id = int(cur.lastrowid or 0)
        else:
            conn.execute(
                "UPDATE note SET size = ?, mtime_ns = ?, sha256 = ?, encoding = ?, status = ?, reason = ?,"
                " imported_at = ? WHERE id = ?",
                (*values, note_id),
            )
            self.forget_mentions(note_id)
        for ordinal, d in enumerate(note.definitions):
            report.definitions += 1
            source_id = self.source_ids.get(d.url)
            if source_id is None:
                source_id = self.next_id
                self.next_id += 1
                self.source_ids[d.url] = source_id
                self.new_sources[source_id] = (d.url, d.url_as_written, d.host)
            self.touched.add(source_id)
            self.mention_rows.append(
                (source_id, note_id, ordinal, d.line, d.label, d.title_attr, d.annotation, d.hints.get("flag"))
            )
            if source_id not in self.label_hints:
                self._label_evidence(source_id, note_id, d)

    def forget_mentions(self, note_id: int) -> None:
        """Drop a note's mentions; their sources' search rows (notes column) need recomputing."""
        self.touched.update(r[0] for r in self.conn.execute("SELECT source_id FROM mention WHERE note_id = ?",
                                                            (note_id,)))
        self.conn.execute("DELETE FROM mention WHERE note_id = ?", (note_id,))

    def _label_evidence(self, source_id: int, note_id: int, d: ParsedDefinition) -> None:
        """A source's label evidence comes from the first note that cited it; a re-import of that same note
        refreshes it (the user edited the label), another note's label never overrides it."""
        if source_id not in self.new_sources:
            row = self.conn.execute(
                "SELECT value FROM field_value WHERE source_id = ? AND field = 'label_note' AND origin = 'label'",
                (source_id,),
            ).fetchone()
            if row is not None and json.loads(row[0]) != note_id:
                self.label_hints[source_id] = {}
                return
            self.relabelled.add(source_id)
        hints = {k: v for k, v in d.hints.items() if v is not None and k != "flag"}
        hints["label_note"] = note_id
        self.label_hints[source_id] = hints

    def finish(self, report: ImportReport) -> None:
        from refman.merge import cache_columns, refresh_sources

        conn = self.conn
        source_rows = []
        for sid, (url, as_written, host) in self.new_sources.items():
            hints = self.label_hints[sid]
            cols = cache_columns({f: (v, "label") for f, v in hints.items()})
            source_rows.append((sid, url, as_written, host, self.now, self.now, *cols.values()))
        marks = ", ".join("?" * (6 + len(CACHED_FIELDS)))
        conn.executemany(
            f"INSERT INTO source (id, url, url_as_written, host, created_at, updated_at, {', '.join(CACHED_FIELDS)})"
            f" VALUES ({marks})",
            source_rows,
        )
        conn.executemany(
            "INSERT INTO mention (source_id, note_id, ordinal, line, label, title, annotation, flag)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self.mention_rows,
        )
        relabelled = sorted(self.relabelled)
        conn.executemany(
            "DELETE FROM field_value WHERE source_id = ? AND origin = 'label'", [(sid,) for sid in relabelled]
        )
        conn.executemany(
            "INSERT INTO field_value (source_id, field, origin, value, updated_at) VALUES (?, ?, 'label', ?, ?)",
            [
                (sid, name, json.dumps(value, ensure_ascii=False), self.now)
                for sid, hints in self.label_hints.items()
                for name, value in hints.items()
            ],
        )
        refresh_sources(conn, relabelled)
        conn.executemany("UPDATE source SET updated_at = ? WHERE id = ?", [(self.now, sid) for sid in relabelled])
        report.mentions = len(self.mention_rows)
        report.sources_new = len(self.new_sources)
        report.sources_updated = len({m[0] for m in self.mention_rows} - self.new_sources.keys())
