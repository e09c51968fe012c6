"""The notes importer: Markdown notes → reference definitions (and bare reference lines) → sources and mentions.

Three steps that overlap. Parsing (read, decode, scan, label hints, URL identity, and everything about a mention
that does not depend on the catalog: its label evidence as JSON, the cached citation columns a new source would
get, the search-index text of the source and of the mention with CJK spacing) is a pure function of one file
and runs in a process pool when many notes changed. Which notes changed is decided from their size and mtime
before the write lock is taken (and again under it if another writer committed in between). Under the lock,
preparing turns each parsed note, as it comes back, into rows (note, new sources, mentions, label evidence),
and every few hundred notes the store's import batch writer writes them (one executemany or COPY per table),
so the writes overlap the parsing of later notes. When many notes changed, batches are written on a writer
thread while the next one is prepared: the database's own work runs without the GIL, so it also overlaps the
unpickling and preparing (the store is used by one thread at a time). It is one transaction: an import lands
whole or not at all.

Identity and label evidence are decided in note order: a new URL gets the next source id, and the first
mention that has a label (a definition, or a bare reference line with a title) gives the source its label
evidence and remembers its note (`source.label_note`); a re-import of that same note refreshes it (the user
edited the label), another note's label never overrides it.

After the last note, the labels of new sources cited by more than one labelled mention (or by a label that turns
out to name several pages) are judged again, from all their labels, by the pool's workers, while this process
inserts the search rows of the other new sources.

Search index: sources created by the import get their index rows inserted once, at the end, from the texts the
parsers composed (the same strings `refman db reindex` computes); sources that existed before and gained or
lost mentions or had their label evidence replaced are re-indexed from the catalog (refman.search.bulk_upkeep).

Re-import: a note whose size and mtime are unchanged is skipped without reading; one whose content hash is
unchanged only gets its mtime refreshed. A changed note's mentions are replaced. Notes that disappeared from
an imported folder are forgotten (their mentions go), but their sources stay: they may carry tags, notes and
snapshots, and `refman list --orphans` shows them."""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refman.errors import InvalidURLError, NotFoundError
from refman.notes.decode import decode_note
from refman.store.notes import ImportIds, NoteState
from refman.timeutil import utc_now

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor

    from refman.store.notes import NotesStore
    from refman.store.protocol import Store
    from refman.store.search import BulkIndex

NOTE_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
_POOL_THRESHOLD = 300  # changed notes; below this a process pool costs more than it saves
_POOL_WORKERS = min(os.cpu_count() or 1, 8)
_POOL_JUDGE_MIN = 2000  # new sources whose labels are judged again; fewer are judged here, without the pool
_PROGRESS_EVERY = 250  # notes between two progress reports
_WRITE_EVERY = 500  # parsed notes between two writes of their rows

# What kind of place a mention is (mention.kind).
KIND_DEFINITION, KIND_BARE = "definition", "bare"

# One mention as the parser hands it to the writer: a plain tuple of strings, because 100,000 of them cross a
# process boundary and every extra object costs there; what only a source's first mention needs (evidence
# JSON, cached columns) is built by the writer.
#   kind, line, label, url (normalised), url_as_written (None when it is the url), host, title (link title
#   attribute), annotation, flag,
#   hints: (title, issued, container_title, author) from the label, None when the mention has no label,
#   spaced: None when the texts below are ASCII, else the CJK-spaced (title, author, site, piece) for the
#           search index, each None when ASCII; site = "host container_title ", piece = "label title annotation".
#   verdict: why a definition's label is a link id by the evidence of its own note (refman.notes.linkids:
#            link-text, common-word, slug), else None (whether it names several pages is known only at the end),
#   link_text: the text of the note's `[text][label]` use of a definition's label, if any.
ParsedMention = tuple[str, int, str, str, "str | None", str, "str | None", "str | None", "str | None",
                      "tuple[str | None, ...] | None", "tuple[str | None, ...] | None", "str | None", "str | None"]
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
    link_texts: dict[str, str] = field(default_factory=dict)  # label key → text of its `[text][label]` use


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


def parse_note(root: str, rel: str, size: int, mtime_ns: int, data: bytes | None = None) -> ParsedNote:
    """Read, decode and scan one note. Never raises for bad content: problems become reasons."""
    from refman.notes.scan import scan_markdown

    if _normalise_url is None:
        _load_parser()
    note = ParsedNote(path=rel, size=size, mtime_ns=mtime_ns, sha256="")
    if data is None:
        try:
            with open(os.path.join(root, rel), "rb") as f:  # not pathlib: 10,000 Path objects cost 0.1 s
                data = f.read()
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
    note.link_texts = _reference_uses(text)
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
        link_text = note.link_texts.get(d.label.casefold()) if note.link_texts else None
        m = _mention(note, KIND_DEFINITION, d.line, d.label, dest, d.title, d.annotation, d.label, None, link_text)
        if m is not None:
            mentions.append(m)
    note.definitions = len(mentions)
    for b in result.bare:
        m = _mention(note, KIND_BARE, b.line, b.label, b.url, b.title, None, b.title, b.marker, None)
        if m is not None:
            mentions.append(m)
    if result.bare:
        mentions.sort(key=lambda m: m[1])
    note.mentions = mentions
    return note


# The cached citation columns a label can give; the others keep their defaults (type webpage, the rest NULL),
# which is what refman.evidence.cache_columns gives for label evidence (a test checks it).
_LABEL_COLUMNS = ("title", "author", "issued", "container_title")
_NO_COLUMNS = (None, None, None, None)


def _mention(note: ParsedNote, kind: str, line: int, label: str, dest: str, title_attr: str | None,
             annotation: str | None, speaks: str | None, marker: str | None,
             link_text: str | None) -> ParsedMention | None:
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
    verdict = _judge_label(label, 0, link_text) if kind == KIND_DEFINITION else None
    if verdict is not None:  # a link id gives no hints (only its flag)
        if label and ord(label[0]) >= 0x2000:
            flag = _parse_label(label, host).flag or marker
        if not piece.isascii():
            spaced = (None, None, None, _cjk_space(piece))
    elif speaks:
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
    url = ident.url
    return (kind, line, label, url, None if dest == url else dest, host, title_attr, annotation, flag, hints, spaced,
            verdict, link_text)


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
    global _normalise_url, _parse_label, _cjk_space, _json_str, _reference_uses, _judge_label
    from json.encoder import encode_basestring

    from refman.notes.labels import parse_label
    from refman.notes.linkids import judge_label, reference_uses
    from refman.search import cjk_space
    from refman.urls import normalise_url

    _normalise_url, _parse_label, _cjk_space, _json_str = normalise_url, parse_label, cjk_space, encode_basestring
    _reference_uses, _judge_label = reference_uses, judge_label


_normalise_url: Any = None
_reference_uses: Any = None
_judge_label: Any = None
_parse_label: Any = None
_cjk_space: Any = None
_json_str: Any = None


def _walk(root: str, folder: str, problems: list[dict[str, Any]] | None = None
          ) -> Iterator[tuple[str, str, os.stat_result]]:
    """(root, path relative to root, stat) for every note under `folder` (which is `root` or inside it)."""
    cut = len(os.path.join(root, ""))  # dirpath below starts with root: slicing beats os.path.relpath
    for dirpath, dirnames, filenames in os.walk(folder):
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
                if problems is not None:  # a dangling symlink is reported, not silently left out
                    full = os.path.join(dirpath, name)
                    what = (f"dangling symlink (to {os.readlink(full)})" if os.path.islink(full)
                            else f"unreadable ({exc.strerror})")
                    problems.append({"path": prefix + name, "line": None, "message": f"{what}: skipped"})
                continue
            yield root, prefix + name, st


@dataclass
class _Target:
    """One path given to an import, placed in its vault: `scope` is what it covers, relative to `root`
    ("" the whole vault, "sub/" a folder, "sub/a.md" one note)."""

    root: str
    scope: str
    absolute: str
    is_file: bool

    def covers(self, rel: str) -> bool:
        return rel == self.scope if self.is_file else rel.startswith(self.scope)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(os.path.join(folder, ""))


def _relative(path: str, root: str) -> str:
    rel = os.path.relpath(path, root)
    rel = "" if rel == "." else rel
    return rel.replace(os.sep, "/") if os.sep != "/" else rel


def plan_targets(known_roots: Iterable[str], paths: Iterable[Path]) -> tuple[list[_Target], dict[str, tuple[str, str]]]:
    """Place each imported path in a vault root, and say which known roots a new root absorbs.

    A path inside a known root (the root itself, a subfolder, a note) belongs to that root: its notes keep
    their paths relative to it. A path outside every known root starts a new root (a folder is its own root, a
    note's folder is the root of a single note), and a known root inside the new one is absorbed into it: its
    notes move under the new root with the prefix between the two (returned as {old root: (new root, prefix)}),
    so that importing a subfolder first and the whole vault later gives the notes a fresh import would give."""
    roots = sorted(set(known_roots), key=len)  # outermost first
    targets: list[_Target] = []
    absorbed: dict[str, tuple[str, str]] = {}
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            raise NotFoundError(f"no such file or folder: {given}")
        is_file = path.is_file()
        absolute = str(path.parent.resolve() / path.name) if is_file else str(path.resolve())
        root = next((r for r in roots if _inside(absolute, r)), None)
        if root is None:
            root = os.path.dirname(absolute) if is_file else absolute
            for r in roots:
                if r != root and _inside(r, root) and r not in absorbed:
                    absorbed[r] = (root, _relative(r, root) + "/")
            roots = sorted({*(r for r in roots if r not in absorbed), root}, key=len)
        rel = _relative(absolute, root)
        scope = rel if is_file else (rel + "/" if rel else "")
        targets.append(_Target(root, scope, absolute, is_file))
    # a target planned before a later path absorbed its root follows the root it moved to
    for t in targets:
        if t.root in absorbed:
            new_root, prefix = absorbed[t.root]
            t.root, t.scope = new_root, prefix + t.scope
    return targets, absorbed


def _moved_root(store: NotesStore, target: _Target, files: dict[tuple[str, str], int],
                known_roots: Iterable[str]) -> str | None:
    """A known root that no longer exists on disk and whose notes are (mostly) found, same path and size,
    under a new root: the vault folder was moved or renamed, so its notes move with it."""
    here = {rel: size for (root, rel), size in files.items() if root == target.root}
    best, best_hits = None, 0
    for old in known_roots:
        if old == target.root or os.path.exists(old):
            continue
        rows = store.notes_in_root(old)
        hits = sum(1 for n in rows if here.get(n.path) == n.size)
        if rows and hits * 2 >= len(rows) and hits > best_hits:
            best, best_hits = old, hits
    return best


def _parser_pool(jobs: int) -> ProcessPoolExecutor | None:
    """The process pool that parses `jobs` changed notes (and then judges labels), or None when they are too
    few for a pool to pay for itself."""
    if jobs < _POOL_THRESHOLD or _POOL_WORKERS < 2:
        return None
    # The extraction pool's kind: its workers exit when this process dies, even by kill -9.
    from refman.fetch.pool import make_pool

    return make_pool(_POOL_WORKERS, preload=_PARSER_MODULES, warm=False)


def _parse_many(jobs: list[tuple[str, str, int, int]], pool: ProcessPoolExecutor | None) -> Iterator[ParsedNote]:
    """Parsed notes in job order. With a pool they are streamed, so the caller works on the first results
    while later notes are still being parsed."""
    if pool is None:
        yield from (parse_note(*job) for job in jobs)
        return
    chunk = max(16, min(128, len(jobs) // (_POOL_WORKERS * 16)))
    yield from pool.map(_parse_job, jobs, chunksize=chunk)


_PARSER_MODULES = ("refman.notes.importer", "refman.notes.scan", "refman.notes.labels", "refman.urls",
                   "refman.search")


def _parse_job(job: tuple[str, str, int, int]) -> ParsedNote:
    return parse_note(*job)


KnownNotes = dict[tuple[str, str], NoteState]  # (root, path) → the note as the catalog has it


def _known_notes(store: NotesStore, roots: Iterable[str], renames: Iterable[tuple[str, str, str]] = ()
                 ) -> KnownNotes:
    """The catalog's notes under `roots`, and those under roots that `renames` (new root, prefix, old root)
    will move, by the name they will have."""
    known: KnownNotes = {}
    for root in roots:
        for n in store.notes_in_root(root):
            known[(root, n.path)] = n
    for new_root, prefix, old in renames:
        for n in store.notes_in_root(old):
            known[(new_root, prefix + n.path)] = n
    return known


def import_vault(store: Store, paths: Iterable[Path], progress: ProgressFn | None = None) -> ImportReport:
    """Import notes under `paths` into the catalog (one transaction): see _import_vault. Python's cycle collector
    is off meanwhile: an import makes no cycles, and each full collection would walk every one of the hundreds of
    thousands of rows it holds again (0.8 s of a 100,000-definition import). It comes back once they are freed."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import_vault(store, paths, progress)
    finally:
        if was_enabled:
            gc.enable()


def _import_vault(store: Store, paths: Iterable[Path], progress: ProgressFn | None = None) -> ImportReport:
    """Import notes under `paths` into the catalog (one transaction). `progress(done, total)` is called now and
    then while changed notes are parsed (total: notes to read).

    A note is (vault root, path relative to the root), whatever path it was imported through (plan_targets).
    Only notes under an imported path that are gone from disk are forgotten.

    Notes are parsed (in a process pool when many changed) under the write lock and their rows written in
    batches as they come back (see the module's docstring)."""
    paths = list(paths)
    report = ImportReport()
    known_roots = store.vault_roots()
    targets, absorbed = plan_targets(known_roots, paths)
    files: dict[tuple[str, str], os.stat_result] = {}
    for t in targets:
        if t.is_file:
            files.setdefault((t.root, t.scope), os.stat(t.absolute))
        else:
            for root, rel, st in _walk(t.root, t.absolute, report.warnings):
                files.setdefault((root, rel), st)
    version = store.catalog_commit_counter()  # before the first read that the jobs depend on
    moved: dict[str, str] = {}  # old root → new root (a vault folder that was moved)
    for t in targets:
        if t.scope == "" and not t.is_file and t.root not in known_roots and t.root not in moved.values():
            old = _moved_root(store, t, {k: st.st_size for k, st in files.items()},
                              [r for r in known_roots if r not in absorbed and r not in moved])
            if old is not None:
                moved[old] = t.root
    # what each root's notes will be called once absorbed and moved roots are renamed
    renames = [(new_root, prefix, old) for old, (new_root, prefix) in absorbed.items()]
    renames += [(new_root, "", old) for old, new_root in moved.items()]
    target_roots = sorted({t.root for t in targets})
    known = _known_notes(store, target_roots, renames)
    walk_warnings = list(report.warnings)
    jobs = _changed_files(files, known, report)
    if not jobs and not renames and not _gone(known, files, targets):
        if progress is not None:
            progress(0, 0)
        return report

    from refman.search import bulk_upkeep

    if progress is not None:
        progress(0, len(jobs))
    # The write lock is taken before parsing, and each batch of parsed notes is written as it comes back: the
    # writes then overlap the parsing of later notes (on two cores, an import of 100,000 definitions takes about
    # the parsing time plus the label pass, instead of parsing time plus every write). Another writer waits for
    # the whole import (benchmarks/bench_locks.py measures how long).
    # The pool starts while the write lock is taken; after parsing, its workers judge the labels of new sources
    # while the writer thread writes the search rows of the others.
    pool = _parser_pool(len(jobs))
    with pool or nullcontext(), store.bulk_import(), bulk_upkeep(store) as index:
        store.claim_notes(target_roots)  # this user's now, if imported before refman recorded owners
        for new_root, prefix, old in renames:
            store.move_vault_root(old, new_root, prefix)
        if store.catalog_commit_counter() != version:
            # Another writer committed between the reads above and the lock (another import of this vault, a
            # merge): decide again, from the catalog as it is now, which notes changed.
            known = _known_notes(store, target_roots)
            report = ImportReport(warnings=list(walk_warnings))
            jobs = _changed_files(files, known, report)
        writer = _CatalogWriter(store, utc_now())
        total = len(jobs)
        parsed = _parse_many(jobs, pool)
        if pool is not None:
            # Many notes: their rows are written on a thread while this one prepares the next batch. The SQL
            # engine's work runs without the GIL, so on two cores the writes overlap the unpickling and preparing.
            writer.start_writer()
        try:
            for done, ((root, _rel, _size, _mtime), note) in enumerate(zip(jobs, parsed, strict=True), 1):
                writer.add_note(root, note, known.get((root, note.path)), report)
                if done % _WRITE_EVERY == 0:
                    writer.flush()
                if progress is not None and (done % _PROGRESS_EVERY == 0 or done == total):
                    progress(done, total)
            gone = _gone(known, files, targets)
            writer.write(gone, report, index, pool)
        finally:
            writer.stop_writer()  # before the transaction ends, whichever way
        report.notes_removed = len(gone)
        index.update(writer.touched)
    return report


def _changed_files(files: dict[tuple[str, str], os.stat_result], known: KnownNotes, report: ImportReport
                   ) -> list[tuple[str, str, int, int]]:
    """The notes to read: those whose size or mtime differ from the catalog's (the others count as unchanged)."""
    jobs: list[tuple[str, str, int, int]] = []
    for (root, rel), st in files.items():
        row = known.get((root, rel))
        if row is not None and row.size == st.st_size and row.mtime_ns == st.st_mtime_ns:
            report.notes_unchanged += 1
            continue
        jobs.append((root, rel, st.st_size, st.st_mtime_ns))
    return jobs


def _gone(known: KnownNotes, files: dict[tuple[str, str], os.stat_result], targets: list[_Target]) -> list[int]:
    """The catalog's notes under an imported path that are no longer on disk."""
    return sorted(n.id for key, n in known.items()
                  if key not in files and any(t.root == key[0] and t.covers(key[1]) for t in targets))


class _CatalogWriter:
    """Prepares the rows of one import, then writes them through the store's import batch writer inside the
    caller's transaction. Notes and sources the import creates are named by negative numbers until the store
    gives them ids (refman.store.notes.ImportIds); new sources get their cached citation columns and index texts
    from what the parser composed (the hints of their first labelled mention); at the end, the label hints of
    every source whose labels changed are recomputed from all its labels (refman.notes.linkids) and those
    sources are re-merged and re-indexed."""

    def __init__(self, store: Store, now: str) -> None:
        if _json_str is None:
            _load_parser()
        from refman.notes.linkids import label_key

        self.label_key = label_key
        self.store = store
        self.now = now
        self.ids = ImportIds()
        self.source_ids = store.source_ids_by_url()
        self.had_sources = bool(self.source_ids)
        self.new_sources = 0  # the last one is named -new_sources
        self.new_notes = 0
        self.touched: set[int] = set()  # existing sources whose index rows must be recomputed
        self.cited: set[int] = set()  # existing sources cited in this import
        # label evidence: what the import wrote for each new source (its first labelled mention's hints), the
        # labelled mentions this import wrote, per source, and the labels whose usage changed
        self.first_hints: dict[int, tuple[Any, ...] | None] = {}
        self.labelled: dict[int, list[tuple[Any, ...]]] = {}
        self.changed_labels: set[str] = set()
        self.usage: dict[str, set[int]] = {}  # in a new catalog: label key → the sources its definitions name
        # index texts of new sources: name → [title, authors, site, [notes pieces]]
        self.new_index: dict[int, list[Any]] = {}
        self.mentions = 0  # mention rows written
        self.sources_written = 0
        self.note_rows: list[tuple[Any, ...]] = []
        self.note_updates: list[tuple[Any, ...]] = []
        self.touch_only: list[tuple[int, int]] = []
        self.reread: list[int] = []  # existing notes whose mentions are replaced (in the next flush)
        self.source_rows: list[tuple[Any, ...]] = []
        self.mention_rows: list[tuple[Any, ...]] = []
        self.evidence_rows: list[tuple[Any, ...]] = []
        self._thread: ThreadPoolExecutor | None = None  # the writer thread, when batches are written on one
        self._pending: Future[None] | None = None  # the batch it is writing

    def add_note(self, root: str, note: ParsedNote, known: NoteState | None, report: ImportReport) -> None:
        """Prepare the rows of one parsed note (`known`: the catalog's row for it, if any)."""
        if known is not None and note.sha256 and known.sha256 == note.sha256 and note.status == "ok":
            self.touch_only.append((note.mtime_ns, known.id))
            report.notes_unchanged += 1
            return
        report.notes_scanned += 1
        report.skipped.extend(note.skipped)
        report.warnings.extend(note.warnings)
        if note.status != "ok":
            report.skipped.append({"path": note.path, "line": None, "url": None, "reason": note.reason})
        values = (note.size, note.mtime_ns, note.sha256, note.encoding, note.status, note.reason, self.now)
        if known is None:
            self.new_notes += 1
            note_id = -self.new_notes
            self.note_rows.append((root, note.path, *values))
        else:
            note_id = known.id
            self.note_updates.append((*values, note_id))
            self.reread.append(note_id)
        report.definitions += note.definitions
        report.bare_references += len(note.mentions) - note.definitions
        source_ids, new_index, now = self.source_ids, self.new_index, self.now
        labelled, changed_labels, had_sources, usage = self.labelled, self.changed_labels, self.had_sources, self.usage
        mention_rows = self.mention_rows
        for ordinal, m in enumerate(note.mentions):
            (kind, line, label, url, as_written, host, title_attr, annotation, flag, hints, spaced, verdict,
             link_text) = m
            sid = source_ids.get(url)
            if sid is None:
                self.new_sources += 1
                sid = source_ids[url] = -self.new_sources
                columns, evidence, index = _source_texts(sid, now, host, label, title_attr, annotation, hints,
                                                         spaced)
                self.source_rows.append((url, as_written or url, host, now, now, None if hints is None else note_id,
                                         now, *columns))
                self.first_hints[sid] = hints
                if hints is not None:
                    self.evidence_rows += evidence
                new_index[sid] = index
            else:
                entry = new_index.get(sid)
                if entry is not None:
                    entry[3].append(spaced[3] if spaced is not None and spaced[3] is not None
                                    else f"{label} {title_attr or ''} {annotation or ''}")
                    if self.first_hints[sid] is None and hints is not None:
                        self.first_hints[sid] = ()  # created unlabelled: its label evidence comes at the end
                else:
                    self.touched.add(sid)
                    self.cited.add(sid)
            if kind == KIND_DEFINITION:
                key = label.casefold()  # the scanner collapsed its whitespace: label_key(label)
                if had_sources:  # the labels' usage matters to sources already there
                    changed_labels.add(key)
                else:  # a new catalog: which labels name several pages is counted here
                    pages = usage.get(key)
                    if pages is None:
                        usage[key] = {sid}
                    else:
                        pages.add(sid)
            if hints is not None or verdict is not None:
                labelled_entry = (note.path, line, root, kind, label, link_text, hints, host, verdict or "")
                found = labelled.get(sid)
                if found is None:
                    labelled[sid] = [labelled_entry]
                else:
                    found.append(labelled_entry)
            mention_rows.append((sid, note_id, ordinal, line, label, title_attr, annotation, flag, kind, link_text))

    def flush(self) -> None:
        """Write the rows prepared so far: at once, or, with a writer thread (start_writer), on that thread
        while this one prepares the next batch (the store's SQL then overlaps the parsing and preparing)."""
        batch = (self.reread, self.note_updates, self.touch_only, self.note_rows, self.source_rows,
                 self.mention_rows, self.evidence_rows)
        self.reread, self.note_updates, self.touch_only, self.note_rows = [], [], [], []
        self.source_rows, self.mention_rows, self.evidence_rows = [], [], []
        if self._thread is None:
            self._write_batch(*batch)
            return
        self.drain()  # one batch at a time: a batch's rows name the sources and notes the one before created
        self._pending = self._thread.submit(self._write_batch, *batch)

    def start_writer(self) -> None:
        """Write batches on a thread of their own from now on. The store is then used by one thread at a time:
        this one waits (drain) before it touches the store itself."""
        from concurrent.futures import ThreadPoolExecutor

        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="refman-import-writer")

    def drain(self) -> None:
        """Wait for the batch being written, and raise what writing it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def stop_writer(self) -> None:
        """Wait for the writer thread to finish what it was given (its error, if any, is raised by drain) and
        end it: afterwards the store is this thread's alone, also when the import failed."""
        if self._thread is not None:
            pending = self._pending
            if pending is not None:
                pending.exception()  # waits; drain raises it when the import goes on
            self._thread.shutdown()
            self._thread = None

    def _write_batch(self, reread: list[int], note_updates: list[tuple[Any, ...]], touch_only: list[tuple[int, int]],
                     note_rows: list[tuple[Any, ...]], source_rows: list[tuple[Any, ...]],
                     mention_rows: list[tuple[Any, ...]], evidence_rows: list[tuple[Any, ...]]) -> None:
        """Write one batch. A changed note's old mentions go first (their sources are re-indexed and their
        labels' usage re-judged at the end), so that only its new mentions remain."""
        store = self.store
        if reread:
            key_of = self.label_key
            for m in store.mentions_of_notes(reread):
                self.touched.add(m.source_id)
                if m.kind == KIND_DEFINITION:
                    self.changed_labels.add(key_of(m.label))
            store.delete_mentions_of_notes(reread)
        store.update_notes(note_updates)
        store.touch_notes(touch_only)
        store.write_import_rows(self.ids, note_rows, source_rows, mention_rows, evidence_rows)
        self.mentions += len(mention_rows)
        self.sources_written += len(source_rows)

    def write(self, gone: list[int], report: ImportReport, index: BulkIndex,
              pool: ProcessPoolExecutor | None = None) -> None:
        """Write what is left, forget the `gone` notes, recompute the label evidence that changed, and index
        the sources the import created (`pool`: the parser's, which judges the labels meanwhile)."""
        store = self.store
        self.flush()
        self.drain()
        if gone:  # their sources' search rows (notes column) and label hints need recomputing
            key_of = self.label_key
            for m in store.mentions_of_notes(gone):
                self.touched.add(m.source_id)
                if m.kind == KIND_DEFINITION:
                    self.changed_labels.add(key_of(m.label))
        store.delete_notes(gone)
        relabelled = self._relabel(index, pool)
        store.mark_sources_updated(relabelled, self.now)
        store.mark_sources_cited(sorted(self.cited), self.now)
        self.touched.update(relabelled)
        report.mentions = self.mentions
        report.sources_new = self.sources_written
        report.sources_updated = len(self.cited)

    def _relabel(self, index: BulkIndex, pool: ProcessPoolExecutor | None) -> list[int]:
        """Recompute the label evidence of every source whose labels changed: new sources with more than one
        labelled mention or a label judged a link id, existing sources that gained or lost mentions, and every
        source carrying a label whose usage across the catalog changed (its judgement may have flipped).
        Index the new sources (those whose labels are judged again once that is done). Returns the existing
        sources whose evidence was rewritten (their cached columns are recomputed here)."""
        from refman.notes.linkids import Judge

        store, ids = self.store, self.ids
        judge = Judge(store.label_usage() if self.had_sources else self._label_usage())
        candidates = set(self.touched)
        if self.had_sources and self.changed_labels:  # old sources carrying a label whose usage changed
            new = set(ids.sources)
            candidates.update(sid for sid in store.sources_with_definition_labels(sorted(self.changed_labels))
                              if sid not in new)
        for sid, entries in self.labelled.items():
            if len(entries) > 1 or self.first_hints.get(sid) == ():
                candidates.add(sid)
            else:
                e = entries[0]
                if (e[8] and e[5] is not None) or (e[3] == KIND_DEFINITION and not e[8] and judge.reused(e[4])):
                    candidates.add(sid)  # a link-text title to give, or a title label that names several pages
        # new sources, in creation order: (name, labelled mentions, the hints the import wrote)
        pending = [(sid, self.labelled.get(sid, []), self.first_hints.get(sid))
                   for sid in sorted((sid for sid in candidates if sid < 0), reverse=True)]
        judged: Iterable[tuple[int, tuple[Any, ...] | None, str | None]]
        if pool is not None and len(pending) >= _POOL_JUDGE_MIN:
            # The idle parser pool judges them while the other new sources are indexed: on two cores that takes
            # the label pass off the end of the import.
            step = -(-len(pending) // (_POOL_WORKERS * 2))
            futures = [pool.submit(judge_new_sources, pending[i:i + step], judge.pages)
                       for i in range(0, len(pending), step)]
            judged = (row for f in futures for row in f.result())
        else:
            judged = judge_new_sources(pending, judge.pages, judge)
        held = {sid for sid, _entries, _first in pending}
        others = self.index_rows(lambda sid: sid not in held)
        if self._thread is None:
            index.insert_new(others)
        else:  # the search engine indexes them on the writer thread while this one takes the pool's judgements
            self._pending = self._thread.submit(index.insert_new, others)
        drop: list[int] = []
        evidence: list[tuple[Any, ...]] = []
        new_columns: list[tuple[Any, ...]] = []
        for sid, hints, link_title in judged:
            real = ids.source(sid)
            title, issued, container, author = hints or (link_title, None, None, None)
            names = None if author is None else f'[{{"literal": {_json_str(author)}}}]'
            new_columns.append((title, names, issued, container, real))
            entry = self.new_index[sid]
            site = f"{self.labelled[sid][0][7]} {container or ''} "  # every entry carries the source's host
            entry[:3] = [_spaced(title), _spaced(author), _spaced(site)]
            drop.append(real)
            evidence += _evidence_rows(real, hints, link_title, self.now)
        self.drain()
        parsed: dict[tuple[str, str], tuple[Any, ...]] = {}
        relabelled = relabel_sources(store, sorted(sid for sid in candidates if sid > 0), self.now, judge, parsed)
        store.replace_label_evidence(drop, evidence)
        # a new source has no evidence but its labels': its columns are the hints themselves
        store.set_label_columns(new_columns)
        index.insert_new(self.index_rows(held.__contains__))
        return relabelled

    def _label_usage(self) -> dict[str, int]:
        """What store.label_usage() gives when every mention is this import's (a new catalog), counted as the
        mentions were prepared rather than by a GROUP BY over all of them at the end."""
        return {key: len(sids) for key, sids in self.usage.items() if len(sids) > 1}

    def index_rows(self, chosen: Callable[[int], bool]) -> Iterator[tuple[Any, ...]]:
        """Search-index rows of the `chosen` sources this import created (by name; no tags, no note, no
        archived text yet)."""
        # new_index holds the new sources in creation order (-1, -2, …), the order of the ids the store gave them
        for sid, (name, (title, authors, site, pieces)) in zip(self.ids.sources, self.new_index.items(), strict=True):
            if chosen(name):
                yield sid, title, authors, site, None, " " + " ".join(pieces), None


def judge_new_sources(pending: list[tuple[int, list[tuple[Any, ...]], tuple[Any, ...] | None]],
                      pages: dict[str, int], judge: Any = None) -> list[tuple[int, tuple[Any, ...] | None, str | None]]:
    """(name, combined hints, link-text title) of each new source in `pending` (name, labelled mentions, the
    hints the import wrote for it) whose label evidence differs from what was written. `pages`: the catalog's
    label usage (linkids.Judge); a pool worker builds its own judge from it."""
    from refman.notes.linkids import Judge

    if _parse_label is None:
        _load_parser()
    judge = judge or Judge(pages)
    parsed: dict[tuple[str, str], tuple[Any, ...]] = {}
    out = []
    for sid, entries, written in pending:
        hints, link_title = _source_label_hints(entries, judge, parsed)
        if link_title is not None or hints != written:
            out.append((sid, hints, link_title))
    return out


def _spaced(text: str | None) -> str | None:
    return text if text is None or text.isascii() else _cjk_space(text)


def relabel_sources(store: Store, ids: list[int], now: str, judge: Any = None,
                    parsed: dict[tuple[str, str], tuple[Any, ...]] | None = None) -> list[int]:
    """Recompute the label evidence of existing sources from all their labels as they are judged now (an
    import, a merge of duplicates), re-merge those whose evidence changed and return them. `judge`: a
    linkids.Judge over the catalog's label usage (built when not given)."""
    from refman.evidence import refresh_sources
    from refman.notes.linkids import Judge

    if not ids:
        return []
    if _parse_label is None:
        _load_parser()
    if judge is None:
        judge = Judge(store.label_usage())
    parsed = {} if parsed is None else parsed
    stored: dict[int, list[tuple[Any, ...]]] = {}
    for m in store.labelled_mentions(ids):  # (path, line, root, kind, label, link_text, hints, host, verdict)
        stored.setdefault(m.source_id, []).append((m.path, m.line, m.root, m.kind, m.label, m.link_text, None,
                                                   m.host, None))
    current = store.label_evidence(ids)
    rewritten: list[int] = []
    evidence: list[tuple[Any, ...]] = []
    for sid in ids:
        hints, link_title = _source_label_hints(stored.get(sid, []), judge, parsed)
        rows = _evidence_rows(sid, hints, link_title, now)
        if sorted(current.get(sid, [])) != sorted(r[1:4] for r in rows):
            rewritten.append(sid)
            evidence += rows
    store.replace_label_evidence(rewritten, evidence)
    refresh_sources(store, rewritten)
    return rewritten


def _source_label_hints(entries: list[tuple[Any, ...]], judge: Any, parsed: dict[tuple[str, str], tuple[Any, ...]]
                        ) -> tuple[tuple[Any, ...] | None, str | None]:
    """(combined hints of a source's labels judged titles, the link-text title when no label is one).
    entries: (path, line, root, kind, label, link_text, hints or None, host, verdict) of its labelled mentions;
    hints are parsed (and cached by label and host) when None; verdict: the parser's (its own note's evidence;
    "" none), None when still to be judged."""
    from refman.notes.linkids import combine_hints
    from refman.notes.linkids import link_title as shown_title

    titles: list[tuple[Any, ...]] = []
    link_title = None
    for e in sorted(entries, key=lambda e: e[:3]):
        kind, label, link_text, hints = e[3], e[4], e[5], e[6]
        if kind == KIND_DEFINITION and (e[8] or judge.reused(label) if e[8] is not None else judge(label, link_text)):
            if link_title is None:
                link_title = shown_title(link_text)
            continue
        if hints is None:
            hints = parsed.get((label, e[7]))
            if hints is None:
                h = _parse_label(label, e[7])
                hints = parsed[(label, e[7])] = (h.title, h.issued, h.container_title, h.author)
        titles.append(hints)
    combined, _conflicts = combine_hints(titles)
    return combined, (link_title if combined is None else None)


def _evidence_rows(sid: int, hints: tuple[Any, ...] | None, link_title: str | None,
                   now: str) -> list[tuple[Any, ...]]:
    """field_value rows (source_id, field, origin, JSON value, updated_at) for a source's label evidence."""
    if hints is None:
        return [] if link_title is None else [(sid, "title", "link-text", _json_str(link_title), now)]
    out = []
    for name, value in zip(("title", "issued", "container_title"), hints[:3], strict=True):
        if value is not None:
            out.append((sid, name, "label", _json_str(value), now))
    if hints[3] is not None:
        out.append((sid, "author", "label", f'[{{"literal": {_json_str(hints[3])}}}]', now))
    return out


def list_notes(store: NotesStore) -> list[dict[str, Any]]:
    """The known vault roots of every user, each with its notes: [{root, owner, exists, notes, mentions, sources,
    skipped, note_list: [{path, mentions, status, reason, encoding}]}], roots and notes in path order (`exists`:
    on this machine). A root is per user: two users' vaults at one path are two entries."""
    sources = store.sources_cited_per_root()
    roots: dict[tuple[str | None, str], dict[str, Any]] = {}
    for n in store.note_summaries():
        entry = roots.get((n.owner, n.root))
        if entry is None:
            entry = roots[(n.owner, n.root)] = {
                "root": n.root, "owner": n.owner, "exists": os.path.isdir(n.root), "notes": 0, "mentions": 0,
                "sources": sources.get((n.owner, n.root), 0), "skipped": 0, "note_list": []}
        entry["notes"] += 1
        entry["mentions"] += n.mentions
        entry["skipped"] += n.status != "ok"
        entry["note_list"].append({"path": n.path, "mentions": n.mentions, "status": n.status, "reason": n.reason,
                                   "encoding": n.encoding})
    return list(roots.values())


def label_report(store: NotesStore, source_id: int) -> tuple[dict[tuple[str, int], str | None],
                                                             dict[str, list[Any]]]:
    """How each label of a source was judged ({(path, line): None for a title, else why it is a link id}) and
    the label hints that disagree ({field: [winner, others…]}), as the import judged them (refman show)."""
    from refman.notes.linkids import Judge, combine_hints

    if _parse_label is None:
        _load_parser()
    rows = store.mentions_for_label_report(source_id)
    judge = Judge({})
    if any(r.kind == KIND_DEFINITION for r in rows):  # a label's usage is catalog-wide
        judge = Judge(store.label_usage())
    roles: dict[tuple[str, int], str | None] = {}
    hints = []
    for path, line, kind, label, link_text, title, host in rows:
        verdict = judge(label, link_text) if kind == KIND_DEFINITION else None
        roles[(path, line)] = verdict
        if verdict is None and (kind == KIND_DEFINITION or title is not None):
            h = _parse_label(label, host)
            hints.append((h.title, h.issued, h.container_title, h.author))
    return roles, combine_hints(hints)[1]
