"""Vault import: Markdown notes → reference definitions (and bare reference lines) → sources and mentions.

Two phases that overlap. Parsing (read, decode, scan, label hints, URL identity, and everything about a mention
that does not depend on the catalog: its label evidence as JSON, the cached citation columns a new source would
get, the search-index text of the source and of the mention with CJK spacing) is a pure function of one file
and runs in a process pool when many notes changed, before the write lock is taken. Writing then puts the
parsed notes in order into one transaction on the light sqlite3 path, in batches of rows, so an import either
lands whole or not at all, other writers wait only for the writes, and 100,000 definitions take seconds.

Identity and label evidence are decided in note order: a new URL gets the next source id, and the first
mention that has a label (a definition, or a bare reference line with a title) gives the source its label
evidence and remembers its note (`source.label_note`); a re-import of that same note refreshes it (the user
edited the label), another note's label never overrides it.

Search index: sources created by the import get their index rows inserted once, at the end, from the texts the
parsers composed (the same strings `refman db reindex` computes); sources that existed before and gained or
lost mentions or had their label evidence replaced are re-indexed from the catalog (refman.search.bulk_upkeep).

Re-import: a note whose size and mtime are unchanged is skipped without reading; one whose content hash is
unchanged only gets its mtime refreshed. A changed note's mentions are replaced. Notes that disappeared from
an imported folder are forgotten (their mentions go), but their sources stay: they may carry tags, notes and
snapshots, and `refman list --orphans` shows them."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refman.errors import InvalidURLError, NotFoundError
from refman.timeutil import utc_now

NOTE_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
_POOL_THRESHOLD = 300  # changed notes; below this a process pool costs more than it saves
_FLUSH_ROWS = 8000  # mention rows buffered before a batch of inserts
_PROGRESS_EVERY = 250  # notes between two progress reports
_BINARY_CONTROL_RATIO = 0.10
# Legacy encodings a note plausibly comes in. Letting the detector choose among all code pages makes short
# Latin text come out as cp1250 or mac-roman; this list keeps the guesses to what editors actually wrote.
_LEGACY_ENCODINGS = ["gb18030", "big5", "shift_jis", "euc_jp", "euc_kr", "cp1252", "cp1251", "koi8_r",
                     "iso8859_7", "utf_16"]

# What kind of place a mention is (mention.kind).
KIND_DEFINITION, KIND_BARE = "definition", "bare"

# One mention as the parser hands it to the writer: a plain tuple of strings, because 100,000 of them cross a
# process boundary and every extra object costs there; what only a source's first mention needs (evidence
# JSON, cached columns) is built by the writer.
#   kind, line, label, url (normalised), url_as_written, host, title (link title attribute), annotation, flag,
#   hints: (title, issued, container_title, author) from the label, None when the mention has no label,
#   spaced: None when the texts below are ASCII, else the CJK-spaced (title, author, site, piece) for the
#           search index, each None when ASCII; site = "host container_title ", piece = "label title annotation".
ParsedMention = tuple[str, int, str, str, str, str, "str | None", "str | None", "str | None",
                      "tuple[str | None, ...] | None", "tuple[str | None, ...] | None"]
ProgressFn = Callable[[int, int], None]


@dataclass
class ParsedNote:
    path: str  # relative POSIX path
    size: int
    mtime_ns: int
    sha256: str
    encoding: str | None = None
    status: str = "ok"
    reason: str | None = None
    mentions: list[ParsedMention] = field(default_factory=list)  # in order of appearance
    definitions: int = 0  # how many of the mentions are definitions (the rest are bare reference lines)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ImportReport:
    notes_scanned: int = 0
    notes_unchanged: int = 0
    notes_removed: int = 0
    definitions: int = 0
    bare_references: int = 0
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
    from refman.notes.scan import scan_markdown

    if _normalise_url is None:
        _load_parser()
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
    mentions = []
    for d in result.definitions:
        dest = d.destination.strip()
        m = _mention(note, KIND_DEFINITION, d.line, d.label, dest, d.title, d.annotation, d.label, None)
        if m is not None:
            mentions.append(m)
    note.definitions = len(mentions)
    for b in result.bare:
        m = _mention(note, KIND_BARE, b.line, b.label, b.url, None, None, b.title, b.marker)
        if m is not None:
            mentions.append(m)
    if result.bare:
        mentions.sort(key=lambda m: m[1])
    note.mentions = mentions
    return note


# The cached citation columns a label can give; the others keep their defaults (type webpage, the rest NULL),
# which is what refman.merge.cache_columns gives for label evidence (a test checks it).
_LABEL_COLUMNS = ("title", "author", "issued", "container_title")
_NO_COLUMNS = (None, None, None, None)


def _mention(note: ParsedNote, kind: str, line: int, label: str, dest: str, title_attr: str | None,
             annotation: str | None, speaks: str | None, marker: str | None) -> ParsedMention | None:
    """One mention tuple (see ParsedMention), or None when `dest` is not a web source (then reported)."""
    try:
        ident = _normalise_url(dest)
    except InvalidURLError as exc:
        reason = getattr(exc, "reason", str(exc))
        note.skipped.append({"path": note.path, "line": line, "url": dest, "reason": reason})
        return None
    host = ident.host
    hints = None
    flag = marker
    spaced = None
    piece = f"{label} {title_attr or ''} {annotation or ''}"
    if speaks:
        h = _parse_label(speaks, host)
        flag = h.flag or marker
        title, container, author = h.title, h.container_title, h.author
        hints = (title, h.issued, container, author)
        if not (title.isascii() and (container is None or container.isascii()) and (author is None or author.isascii())
                and piece.isascii()):
            space = _cjk_space
            spaced = (None if title.isascii() else space(title),
                      None if author is None or author.isascii() else space(author),
                      None if container is None or container.isascii() else space(f"{host} {container} "),
                      None if piece.isascii() else space(piece))
    elif not piece.isascii():
        spaced = (None, None, None, _cjk_space(piece))
    return (kind, line, label, ident.url, dest, host, title_attr, annotation, flag, hints, spaced)


def _source_texts(sid: int, now: str, host: str, label: str, title_attr: str | None, annotation: str | None,
                  hints: tuple[Any, ...] | None, spaced: tuple[Any, ...] | None
                  ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[Any]]:
    """For source `sid` created by a mention: its _LABEL_COLUMNS, its label evidence rows (source_id, field,
    JSON value, updated_at) and its index texts [title, authors, site, [piece]] (what compose_row gives)."""
    sp = spaced or (None, None, None, None)
    piece = sp[3] or f"{label} {title_attr or ''} {annotation or ''}"
    if hints is None:
        return _NO_COLUMNS, [], [None, None, sp[2] or f"{host}  ", [piece]]
    title, issued, container, author = hints
    evidence = [(sid, "title", _json_str(title), now)]
    if issued is not None:
        evidence.append((sid, "issued", _json_str(issued), now))
    if container is not None:
        evidence.append((sid, "container_title", _json_str(container), now))
    names = None
    if author is not None:
        names = f'[{{"literal": {_json_str(author)}}}]'  # json.dumps([{"literal": author}], ensure_ascii=False)
        evidence.append((sid, "author", names, now))
    index = [sp[0] or title, None if author is None else sp[1] or author, sp[2] or f"{host} {container or ''} ",
             [piece]]
    return (title, names, issued, container), evidence, index


def _load_parser() -> None:
    """Bind the parser's helpers (imported on first use: `refman list` never needs them)."""
    global _normalise_url, _parse_label, _cjk_space, _json_str
    from json.encoder import encode_basestring

    from refman.notes.labels import parse_label
    from refman.search import cjk_space
    from refman.urls import normalise_url

    _normalise_url, _parse_label, _cjk_space, _json_str = normalise_url, parse_label, cjk_space, encode_basestring


_normalise_url: Any = None
_parse_label: Any = None
_cjk_space: Any = None
_json_str: Any = None


def iter_note_files(paths: Iterable[Path], problems: list[dict[str, Any]] | None = None
                    ) -> Iterator[tuple[str, str, os.stat_result]]:
    """(root, relative path, stat) for every note under the given files and folders.
    Hidden folders (.obsidian, .git, .trash) and hidden files are skipped. Notes that cannot be read (a
    dangling symlink) are appended to `problems` as warnings."""
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
        cut = len(os.path.join(root, ""))  # dirpath below starts with root: slicing beats os.path.relpath
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            prefix = os.path.join(dirpath, "")[cut:]
            if os.sep != "/":
                prefix = prefix.replace(os.sep, "/")
            for name in sorted(filenames):
                if name.startswith(".") or not name.lower().endswith(NOTE_SUFFIXES):
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, name))
                except OSError as exc:
                    if problems is not None:
                        full = os.path.join(dirpath, name)
                        what = (f"dangling symlink (to {os.readlink(full)})" if os.path.islink(full)
                                else f"unreadable ({exc.strerror})")
                        problems.append({"path": prefix + name, "line": None, "message": f"{what}: skipped"})
                    continue
                yield root, prefix + name, st


def _parse_many(jobs: list[tuple[str, str, int, int]]) -> Iterator[ParsedNote]:
    """Parsed notes in job order. Many notes go through a process pool, streamed, so the caller writes the
    first results while later notes are still being parsed."""
    if len(jobs) < _POOL_THRESHOLD or (os.cpu_count() or 1) < 2:
        yield from (parse_note(*job) for job in jobs)
        return
    # The fetch pipeline's pool: its workers exit when this process dies, even by kill -9.
    from refman.fetch.pipeline import make_pool

    workers = min(os.cpu_count() or 2, 8)
    chunk = max(16, min(128, len(jobs) // (workers * 16)))
    with make_pool(workers, preload=_PARSER_MODULES, warm=False) as pool:
        yield from pool.map(_parse_job, jobs, chunksize=chunk)


_PARSER_MODULES = ("refman.vault", "refman.notes.scan", "refman.notes.labels", "refman.urls", "refman.search")


def _parse_job(job: tuple[str, str, int, int]) -> ParsedNote:
    return parse_note(*job)


def _known_notes(conn: sqlite3.Connection, roots: Iterable[str]) -> dict[tuple[str, str], tuple[int, int, int, str]]:
    """(root, path) → (id, size, mtime_ns, sha256) of the catalog's notes under `roots`."""
    known: dict[tuple[str, str], tuple[int, int, int, str]] = {}
    for root in roots:
        for nid, path, size, mtime, sha in conn.execute(
                "SELECT id, path, size, mtime_ns, sha256 FROM note WHERE root = ?", (root,)):
            known[(root, path)] = (nid, size, mtime, sha)
    return known


def import_vault(conn: sqlite3.Connection, paths: Iterable[Path], progress: ProgressFn | None = None) -> ImportReport:
    """Import notes under `paths` into the catalog behind `conn` (one transaction). `progress(done, total)` is
    called now and then while changed notes are parsed and written (total: notes to read)."""
    paths = list(paths)
    report = ImportReport()
    files = list(iter_note_files(paths, report.warnings))
    roots = sorted({root for root, _, _ in files} | {str(Path(p).expanduser().resolve()) for p in paths
                                                       if Path(p).expanduser().is_dir()})
    known = _known_notes(conn, roots)

    jobs: list[tuple[str, str, int, int]] = []
    seen: set[tuple[str, str]] = set()
    for root, rel, st in files:
        seen.add((root, rel))
        row = known.get((root, rel))
        if row is not None and row[1] == st.st_size and row[2] == st.st_mtime_ns:
            report.notes_unchanged += 1
            continue
        jobs.append((root, rel, st.st_size, st.st_mtime_ns))
    gone = [row[0] for key, row in known.items() if key not in seen and Path(key[0]).is_dir()]
    if not jobs and not gone:
        if progress is not None:
            progress(0, 0)
        return report

    touch_only: list[tuple[int, int]] = []
    total = len(jobs)
    # Parse everything before taking the write lock: the lock is then held only for the writes (seconds for
    # 100,000 definitions), not for the parsing, so that other commands wait little (benchmarks/bench_locks.py).
    parsed: list[ParsedNote] = []
    for done, note in enumerate(_parse_many(jobs), 1):
        parsed.append(note)
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
    from refman.catalog import transaction
    from refman.search import bulk_upkeep

    saved_cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: the unique URL index is written in random order
    try:
        with transaction(conn), bulk_upkeep(conn) as index:
            # Read again under the write lock: another import of this vault may have committed since the
            # look above (then its notes are updated here, not inserted twice).
            known = _known_notes(conn, roots)
            gone = [row[0] for key, row in known.items() if key not in seen and Path(key[0]).is_dir()]
            writer = _CatalogWriter(conn, utc_now())
            for (root, _rel, _size, _mtime), note in zip(jobs, parsed, strict=True):
                row = known.get((root, note.path))
                if row is not None and note.sha256 and row[3] == note.sha256 and note.status == "ok":
                    touch_only.append((note.mtime_ns, row[0]))
                    report.notes_unchanged += 1
                else:
                    report.notes_scanned += 1
                    report.skipped.extend(note.skipped)
                    report.warnings.extend(note.warnings)
                    if note.status != "ok":
                        report.skipped.append({"path": note.path, "line": None, "url": None,
                                               "reason": note.reason})
                    writer.write_note(root, note, None if row is None else row[0], report)
            conn.executemany("UPDATE note SET mtime_ns = ? WHERE id = ?", touch_only)
            writer.flush()
            for note_id in gone:
                writer.forget_mentions(note_id)
                conn.execute("DELETE FROM note WHERE id = ?", (note_id,))
            report.notes_removed = len(gone)
            writer.finish(report)
            index.update(writer.touched)
            index.new_rows = writer.index_rows()
    finally:
        conn.execute(f"PRAGMA cache_size = {int(saved_cache)}")
    return report


class _CatalogWriter:
    """Batches the writes of one import inside the caller's transaction. Notes and new sources get their ids
    here; new sources get their cached citation columns and index texts from what the parser composed; only
    sources that existed before are re-merged from their stored evidence and re-indexed from the catalog."""

    def __init__(self, conn: sqlite3.Connection, now: str) -> None:
        if _json_str is None:
            _load_parser()
        self.conn = conn
        self.now = now
        self.source_ids: dict[str, int] = {}
        self.label_note: dict[int, int | None] = {}  # existing source → its label note
        for sid, url, label_note in conn.execute("SELECT id, url, label_note FROM source"):
            self.source_ids[url] = sid
            self.label_note[sid] = label_note
        # a URL merged into another source (refman merge) keeps leading to it
        for url, sid in conn.execute("SELECT url, source_id FROM source_alias"):
            self.source_ids.setdefault(url, sid)
        self.first_new = self.next_id = (conn.execute("SELECT max(id) FROM source").fetchone()[0] or 0) + 1
        self.next_note = (conn.execute("SELECT max(id) FROM note").fetchone()[0] or 0) + 1
        self.touched: set[int] = set()  # existing sources whose index rows must be recomputed
        self.cited: set[int] = set()  # existing sources cited in this import
        self.spoken: set[int] = set()  # sources whose label evidence this import has decided
        self.relabelled: set[int] = set()  # existing sources whose label evidence is replaced
        self.late: dict[int, tuple[int, ParsedMention]] = {}  # new source → (note, mention) that spoke late
        # index texts of new sources: id → [title, authors, site, [notes pieces]]
        self.new_index: dict[int, list[Any]] = {}
        self.sources_new = 0
        self.mentions = 0
        self.note_rows: list[tuple[Any, ...]] = []
        self.source_rows: list[tuple[Any, ...]] = []
        self.mention_rows: list[tuple[Any, ...]] = []
        self.evidence_rows: list[tuple[Any, ...]] = []
        self.drop_evidence: list[tuple[int]] = []

    def write_note(self, root: str, note: ParsedNote, note_id: int | None, report: ImportReport) -> None:
        conn = self.conn
        values = (note.size, note.mtime_ns, note.sha256, note.encoding, note.status, note.reason, self.now)
        if note_id is None:
            note_id = self.next_note
            self.next_note += 1
            self.note_rows.append((note_id, root, note.path, *values))
        else:
            conn.execute(
                "UPDATE note SET size = ?, mtime_ns = ?, sha256 = ?, encoding = ?, status = ?, reason = ?,"
                " imported_at = ? WHERE id = ?",
                (*values, note_id),
            )
            self.forget_mentions(note_id)
        report.definitions += note.definitions
        report.bare_references += len(note.mentions) - note.definitions
        source_ids, new_index, spoken, now = self.source_ids, self.new_index, self.spoken, self.now
        for ordinal, m in enumerate(note.mentions):
            kind, line, label, url, as_written, host, title_attr, annotation, flag, hints, spaced = m
            sid = source_ids.get(url)
            if sid is None:
                sid = self.next_id
                self.next_id += 1
                source_ids[url] = sid
                columns, evidence, index = _source_texts(sid, now, host, label, title_attr, annotation, hints,
                                                         spaced)
                self.source_rows.append((sid, url, as_written, host, now, now, None if hints is None else note_id,
                                         now, *columns))
                if hints is not None:
                    spoken.add(sid)
                    self.evidence_rows += evidence
                new_index[sid] = index
            else:
                entry = new_index.get(sid)
                if entry is not None:
                    entry[3].append(spaced[3] if spaced is not None and spaced[3] is not None
                                    else f"{label} {title_attr or ''} {annotation or ''}")
                    if hints is not None and sid not in spoken:  # a new source created by a mention without a label
                        spoken.add(sid)
                        self.late[sid] = (note_id, m)
                else:
                    self.touched.add(sid)
                    self.cited.add(sid)
                    if hints is not None and sid not in spoken:
                        self._label_evidence(sid, note_id, m)
            self.mention_rows.append((sid, note_id, ordinal, line, label, title_attr, annotation, flag, kind))
        if len(self.mention_rows) >= _FLUSH_ROWS:
            self.flush()

    def _label_evidence(self, sid: int, note_id: int, m: ParsedMention) -> None:
        """An existing source: its label note's re-import replaces the label evidence; a source no label has
        spoken for yet takes this one; another note's label never overrides it."""
        current = self.label_note.get(sid)
        if current is not None and current != note_id:
            return  # not the label note: its own mention, later in this import, may still speak
        self.spoken.add(sid)
        self.relabelled.add(sid)
        self.drop_evidence.append((sid,))
        _columns, evidence, _index = _source_texts(sid, self.now, m[5], m[2], m[6], m[7], m[9], m[10])
        self.evidence_rows += evidence
        if current is None:
            self.label_note[sid] = note_id

    def forget_mentions(self, note_id: int) -> None:
        """Drop a note's mentions; their sources' search rows (notes column) need recomputing."""
        self.touched.update(r[0] for r in self.conn.execute("SELECT source_id FROM mention WHERE note_id = ?",
                                                            (note_id,)))
        self.conn.execute("DELETE FROM mention WHERE note_id = ?", (note_id,))

    def flush(self) -> None:
        """Write the buffered rows (notes first: mentions refer to them)."""
        conn = self.conn
        if self.note_rows:
            conn.executemany(
                "INSERT INTO note (id, root, path, size, mtime_ns, sha256, encoding, status, reason, imported_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.note_rows)
            self.note_rows = []
        if self.source_rows:
            # added_by, type and the other citation columns keep their defaults (note, webpage, NULL): binding
            # fewer columns makes this, the largest insert of an import, a fifth faster.
            marks = ", ".join("?" * (8 + len(_LABEL_COLUMNS)))
            conn.executemany(
                "INSERT INTO source (id, url, url_as_written, host, created_at, updated_at, label_note,"
                f" first_cited_at, {', '.join(_LABEL_COLUMNS)}) VALUES ({marks})", self.source_rows)
            self.sources_new += len(self.source_rows)
            self.source_rows = []
        if self.mention_rows:
            conn.executemany(
                "INSERT INTO mention (source_id, note_id, ordinal, line, label, title, annotation, flag, kind)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self.mention_rows)
            self.mentions += len(self.mention_rows)
            self.mention_rows = []
        if self.drop_evidence:
            conn.executemany("DELETE FROM field_value WHERE source_id = ? AND origin = 'label'", self.drop_evidence)
            self.drop_evidence = []
        if self.evidence_rows:
            conn.executemany(
                "INSERT INTO field_value (source_id, field, origin, value, updated_at) VALUES (?, ?, 'label', ?, ?)",
                self.evidence_rows)
            self.evidence_rows = []

    def finish(self, report: ImportReport) -> None:
        from refman.merge import refresh_sources

        conn = self.conn
        self.flush()
        for sid, (note_id, m) in self.late.items():
            columns, evidence, index = _source_texts(sid, self.now, m[5], m[2], m[6], m[7], m[9], m[10])
            self.evidence_rows += evidence
            assignments = ", ".join(f"{name} = ?" for name in _LABEL_COLUMNS)
            conn.execute(f"UPDATE source SET label_note = ?, {assignments} WHERE id = ?", (note_id, *columns, sid))
            self.new_index[sid][:3] = index[:3]
        self.flush()
        relabelled = sorted(self.relabelled)
        conn.executemany("UPDATE source SET label_note = ? WHERE id = ? AND label_note IS NULL",
                         [(self.label_note[sid], sid) for sid in relabelled])
        refresh_sources(conn, relabelled)
        conn.executemany("UPDATE source SET updated_at = ? WHERE id = ?", [(self.now, sid) for sid in relabelled])
        conn.executemany("UPDATE source SET first_cited_at = ? WHERE id = ? AND first_cited_at IS NULL",
                         [(self.now, sid) for sid in sorted(self.cited)])
        self.touched.update(relabelled)
        self.touched.difference_update(self.new_index)
        report.mentions = self.mentions
        report.sources_new = self.sources_new
        report.sources_updated = len(self.cited)

    def index_rows(self) -> Iterator[tuple[Any, ...]]:
        """Search-index rows of the sources this import created (no tags, no note, no archived text yet)."""
        for sid, (title, authors, site, pieces) in self.new_index.items():
            yield sid, title, authors, site, None, " " + " ".join(pieces), None
