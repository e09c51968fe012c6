"""refman as a library: `Catalog`, one handle on one catalog, with a method for each step of the flow.

    import refman

    with refman.Catalog.open("refs.db") as cat:
        cat.import_paths(["~/vault"])
        cat.fetch()
        for hit in cat.search("vector database"):
            print(hit.id, hit.title)
        cat.export("biblatex", to="refs.bib")
        print(cat.cite(["smith2024"], style="apa"))

Results are dataclasses whose fields are the JSON fields the CLI documents (`to_dict()` gives that JSON).
Errors are `refman.errors` types (RefmanError and subclasses: NotFoundError, UsageError, CatalogError, …) —
the CLI maps them to its exit codes. The CLI is a thin layer over this class.

Heavy modules (the fetch pipeline, citation styles) are imported inside the methods that need them."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from refman.search import SearchFilters, SearchHit
    from refman.store.citation import CatalogCheck
    from refman.store.protocol import Store

ProgressCallback = Callable[..., None]

# Names users type for the export formats (pandoc and Zotero spell CSL-JSON these ways).
FORMAT_ALIASES = {"csl-json": "csljson", "csl_json": "csljson", "json": "csljson", "bib": "biblatex",
                  "md": "markdown"}


def _from_dict(cls: Any, data: Mapping[str, Any]) -> Any:
    """An instance of dataclass `cls` from a JSON-shaped dict; keys it has no field for go to `extra`."""
    names = {f.name for f in dataclasses.fields(cls)}
    known = {k: v for k, v in data.items() if k in names and k != "extra"}
    extra = {k: v for k, v in data.items() if k not in names}
    return cls(**known, extra=extra)


@dataclass
class Source:
    """One source as `refman list --json` shows it (fields in that order; `get` adds the rest of
    `refman show --json` in `extra`)."""

    id: int
    url: str | None = None
    url_as_written: str | None = None
    citekey: str | None = None
    type: str = "webpage"
    title: str | None = None
    issued: str | None = None
    container_title: str | None = None
    publisher: str | None = None
    author: list[dict[str, Any]] = field(default_factory=list)
    DOI: str | None = None
    language: str | None = None
    abstract: str | None = None
    tags: list[str] = field(default_factory=list)
    status: str = "new"
    reason: str | None = None
    fetched_at: str | None = None
    accessed: str | None = None
    note: str | None = None
    added_by: str | None = None
    first_cited_at: str | None = None
    mentions: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # evidence, provenance, snapshots, … (`refman show`)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dataclasses.asdict(self)
        extra: dict[str, Any] = data.pop("extra")
        return data | extra


@dataclass
class ImportResult:
    """What `import_paths` did: the notes' report (`refman import --json`) and the bibliographies' one."""

    notes: dict[str, Any] = field(default_factory=dict)
    bibliography: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.notes)
        if self.bibliography is not None:
            data["bibliography"] = self.bibliography
        return data


@dataclass
class AddResult:
    id: int
    created: bool


@dataclass
class FetchSummary:
    """A fetch run (`refman fetch --json`): counts by outcome, speed, and whether it was interrupted."""

    total: int
    done: int
    ok: int
    failed: int
    unchanged: int = 0
    interrupted: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dataclasses.asdict(self)
        extra: dict[str, Any] = data.pop("extra")
        return data | extra


F = TypeVar("F", bound=Callable[..., Any])


def _storage_errors_translated(method: F) -> F:
    """The method, raising refman.errors types for the storage's own errors (busy, read-only, damaged, disk
    full), as the store defines them, instead of the driver's."""

    @functools.wraps(method)
    def wrapper(self: Catalog, *args: Any, **kwargs: Any) -> Any:
        from refman.store import translate_error

        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            translated = translate_error(exc, self.store.location)
            if translated is None:
                raise
            raise translated from exc

    return wrapper  # type: ignore[return-value]


def export_format(name: str) -> str:
    """The export format a user's name for it means (csl-json, json → csljson; bib → biblatex), or UsageError."""
    from refman.citation.export import EXPORT_FORMATS
    from refman.errors import UsageError

    fmt = FORMAT_ALIASES.get(name.lower(), name.lower())
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}"
                         " (csl-json and json mean csljson)")
    return fmt


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*$", re.I)


def parse_size(text: str) -> int:
    """Bytes from "20MB", "500k", "1.5G" or a plain number of bytes (UsageError for anything else)."""
    from refman.errors import UsageError

    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"--max-size: cannot read {text!r} (e.g. 20MB, 500k, 1048576)")
    number, unit = float(match.group(1)), match.group(2).lower()
    size = int(number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])
    if size < 1:
        raise UsageError("--max-size must be positive")
    return size


def fetch_policy(*, concurrency: int = 16, per_host: int = 2, delay: float | None = None,
                 ignore_robots: bool = False, timeout: float | None = None, max_size: str | int | None = None) -> Any:
    """A refman.fetch.client.FetchPolicy from the settings `refman fetch` takes, checked (UsageError): the one
    place they are validated."""
    from refman.errors import UsageError
    from refman.fetch.client import FetchPolicy

    if concurrency < 1 or per_host < 1:
        raise UsageError("--concurrency and --per-host must be at least 1")
    policy = FetchPolicy(concurrency=concurrency, per_host=per_host, respect_robots=not ignore_robots)
    if delay is not None:
        if delay < 0:
            raise UsageError("--delay must be ≥ 0")
        policy.delay = delay
    if timeout is not None:
        if timeout <= 0:
            raise UsageError("--timeout must be positive")
        policy.deadline = timeout
        policy.connect_timeout = min(policy.connect_timeout, timeout)
        policy.read_timeout = min(policy.read_timeout, timeout)
    if max_size is not None:
        policy.max_bytes = max_size if isinstance(max_size, int) else parse_size(max_size)
    return policy


def check_paths_exist(paths: Iterable[str | Path]) -> None:
    """NotFoundError for the first path that does not exist (a dangling symlink is named as such)."""
    from refman.errors import NotFoundError

    for path in map(Path, paths):
        path = path.expanduser()
        if not path.exists():
            what = "dangling symlink" if path.is_symlink() else "no such file or folder"
            raise NotFoundError(f"{what}: {path}")


class Catalog:
    """One catalog, open. Use `Catalog.open(path)` as a context manager (or call `close()`). Every method raises
    refman.errors types: NotFoundError, UsageError, CatalogBusyError, CatalogReadOnlyError, … (RefmanError)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, location: str | Path, *, create: bool = True, wait_s: float | None = None,
             user: str | None = None) -> Catalog:
        """Open (creating or upgrading it unless `create=False`) the catalog at `location`: a string as `--db`
        reads it (a file path with `~` expanded, `sqlite:///PATH`, or `postgresql://USER@HOST/DB`), a Path as it
        is. `user`: who this catalog's writes are recorded as and whose vault roots imports see (default:
        refman.config.user_name(): $REFMAN_USER, `[user] name` in the settings file, the OS login)."""
        from refman.store import open_store

        return cls(open_store(location, create=create, wait_s=wait_s, user=user))

    @property
    def user(self) -> str:
        """Who this catalog's writes are recorded as."""
        return self.store.user

    @property
    def location(self) -> Path | str | None:
        """Where the catalog is: its SQLite file, or its PostgreSQL URL."""
        return self.store.location

    @property
    def path(self) -> Path | None:
        """The catalog's SQLite file (None for a PostgreSQL catalog)."""
        location = self.store.location
        return location if isinstance(location, Path) else None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- notes and bibliographies in ---------------------------------------------------------------------

    @_storage_errors_translated
    def import_paths(self, paths: Iterable[str | Path], *, progress: ProgressCallback | None = None) -> ImportResult:
        """Import notes, folders of notes and bibliographies (.bib, CSL .json, .ris, bookmarks .html): each path by
        what it is. A path that does not exist is NotFoundError before anything is imported."""
        from refman.citation.bibliography_reader import BIBLIOGRAPHY_SUFFIXES

        given = [Path(p).expanduser() for p in paths]
        check_paths_exist(given)
        bibs = [p for p in given if p.is_file() and p.suffix.lower() in BIBLIOGRAPHY_SUFFIXES]
        notes = [p for p in given if p not in bibs]
        result = ImportResult()
        if notes:
            from refman.notes.importer import import_vault

            result.notes = import_vault(self.store, notes, progress=progress).as_dict()
        if bibs:
            from refman.catalog import import_bibliographies

            result.bibliography = import_bibliographies(self.store, bibs)
        return result

    @_storage_errors_translated
    def add(self, url: str, *, title: str | None = None, tags: Sequence[str] = (),
            note: str | None = None) -> AddResult:
        """Register one URL (an existing one gains the tags and note; a title is pinned as yours)."""
        from refman.catalog import add_source

        source_id, created = add_source(self.store, url, title=title, tags=tags, note=note)
        return AddResult(source_id, created)

    # --- reading ---------------------------------------------------------------------------------------------

    @_storage_errors_translated
    def resolve(self, ref: str | int) -> int:
        """A source id from an id, a citation key (any case) or a URL. Unknown: NotFoundError."""
        from refman.references import resolve_source

        return resolve_source(self.store, str(ref))

    @_storage_errors_translated
    def resolve_many(self, refs: Iterable[str | int]) -> list[int]:
        """Source ids for several references (each as `resolve`), in the order given, without repeats."""
        from refman.references import resolve_sources

        return resolve_sources(self.store, [str(r) for r in refs])

    @_storage_errors_translated
    def get(self, ref: str | int, *, snapshots: int = 10) -> Source:
        """Everything about one source (`refman show --json`): fields, evidence, mentions, the latest
        `snapshots` snapshots."""
        from refman.catalog import show_source

        found = show_source(self.store, self.resolve(ref), snapshots=snapshots)
        return _from_dict(Source, found)  # type: ignore[no-any-return]

    @_storage_errors_translated
    def sources(self, ids: Sequence[int] | None = None, *, tag: str | None = None, status: str | None = None,
                orphans: bool = False, limit: int | None = None, offset: int = 0, sort: str = "added",
                filters: SearchFilters | None = None) -> list[Source]:
        """Sources as `refman list --json` shows them (`ids`: these, in id order); `sort`: added | issued |
        title | cited."""
        from refman.catalog import list_sources

        rows = list_sources(self.store, ids=ids, tag=tag, status=status, orphans=orphans, limit=limit,
                            offset=offset, sort=sort, filters=filters)
        return [_from_dict(Source, row) for row in rows]

    @_storage_errors_translated
    def count(self, *, orphans: bool = False, filters: SearchFilters | None = None) -> int:
        """How many sources `sources` would list without a limit."""
        from refman.catalog import count_sources

        return count_sources(self.store, orphans=orphans, filters=filters)

    @_storage_errors_translated
    def tags(self) -> list[tuple[str, int]]:
        """Every tag with its number of sources (spellings that differ in case are one tag)."""
        from refman.catalog import all_tags

        return all_tags(self.store)

    @_storage_errors_translated
    def search(self, query: str | None, *, limit: int = 20, offset: int = 0,
               filters: SearchFilters | None = None) -> list[SearchHit]:
        """Sources matching a query in the CLI's query language, best first (QueryError for an empty one)."""
        from refman.search import search

        return search(self.store, query, filters, limit=limit, offset=offset)

    @_storage_errors_translated
    def count_matches(self, query: str | None, *, filters: SearchFilters | None = None) -> int:
        """How many sources `search` would find without a limit."""
        from refman.search import count_matches

        return count_matches(self.store, query, filters)

    @_storage_errors_translated
    def reindex(self, *, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild the search index from the catalog (one transaction); returns the number of sources indexed."""
        from refman.search import rebuild_index

        return rebuild_index(self.store, progress=progress)

    # --- changing --------------------------------------------------------------------------------------------

    @_storage_errors_translated
    def set_fields(self, ref: str | int, values: Mapping[str, str] | Sequence[str]) -> dict[str, Any]:
        """Pin fields, given as {field: text} or as "field=text" strings (`refman set ID field=text …`); returns
        the fields as set (and `merged` when a new URL merged the source into the one that has it)."""
        from refman.catalog import set_fields

        assignments = [f"{k}={v}" for k, v in values.items()] if isinstance(values, Mapping) else list(values)
        return set_fields(self.store, self.resolve(ref), assignments)

    @_storage_errors_translated
    def unset_fields(self, ref: str | int, fields: Sequence[str]) -> tuple[list[str], list[str]]:
        """Unpin fields; returns (unpinned, not pinned)."""
        from refman.catalog import unset_fields

        return unset_fields(self.store, self.resolve(ref), list(fields))

    @_storage_errors_translated
    def tag(self, refs: Sequence[str | int], *, add: Sequence[str] = (),
            remove: Sequence[str] = ()) -> list[tuple[int, str]]:
        """Add and remove tags; returns the (id, tag) removals that found no such tag."""
        from refman.catalog import tag_sources

        return tag_sources(self.store, [self.resolve(r) for r in refs], add, remove)

    @_storage_errors_translated
    def delete(self, refs: Sequence[str | int], *, dry_run: bool = False) -> dict[str, Any]:
        """Delete sources with everything that hangs on them, in one transaction; returns what went."""
        from refman.maintenance import delete_sources

        return delete_sources(self.store, [self.resolve(r) for r in refs], dry_run=dry_run)

    @_storage_errors_translated
    def duplicates(self) -> list[dict[str, Any]]:
        """Groups of sources that are one work (`refman duplicates --json`), with the one to keep."""
        from refman.duplicates import find_duplicates

        return find_duplicates(self.store)

    @_storage_errors_translated
    def merge_duplicates(self, groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Merge every group `duplicates` found into its proposed kept source, in one transaction."""
        from refman.duplicates import merge_duplicates

        return merge_duplicates(self.store, groups)

    @_storage_errors_translated
    def merge(self, keep: str | int, drop: Sequence[str | int]) -> dict[str, Any]:
        """Merge sources into `keep` (mentions, evidence, snapshots, tags, keys) in one transaction."""
        from refman.duplicates import merge_sources

        return merge_sources(self.store, self.resolve(keep), [self.resolve(r) for r in drop])

    # --- fetching --------------------------------------------------------------------------------------------

    @_storage_errors_translated
    def fetch(self, refs: Sequence[str | int] = (), *, stale_days: float | None = None, failed: bool = False,
              all_sources: bool = False, policy: Any = None, progress: ProgressCallback | None = None,
              workers: int | None = None, fallback: Any = None) -> FetchSummary:
        """Archive sources: those never fetched (plus stale/failed ones), or the ones named. `policy`: a
        refman.fetch.client.FetchPolicy; `fallback`: refman.fetch.fallback.FallbackOptions."""
        from refman.fetch.pipeline import run_fetch

        if self.location is None:
            from refman.errors import UsageError

            raise UsageError("fetching needs a catalog that other connections can open")
        summary = run_fetch(self.location, [str(r) for r in refs], stale_days=stale_days, failed=failed,
                            all_sources=all_sources, policy=policy, progress=progress, workers=workers,
                            fallback=fallback, user=self.store.user)
        return _from_dict(FetchSummary, summary)  # type: ignore[no-any-return]

    @_storage_errors_translated
    def enqueue_fetch(self, refs: Sequence[str | int] = (), *, stale_days: float | None = None,
                      failed: bool = False, all_sources: bool = False) -> dict[str, Any]:
        """Queue a fetch job for each source `fetch` would fetch, for `run_worker` (PostgreSQL catalogs only:
        UsageError otherwise). Returns {selected, queued, already_queued}."""
        from refman.fetch.queue import enqueue_fetch

        return enqueue_fetch(self.store, [str(r) for r in refs], stale_days=stale_days, failed=failed,
                             all_sources=all_sources)

    @_storage_errors_translated
    def run_worker(self, options: Any, *, started: Callable[[], None] | None = None) -> dict[str, Any]:
        """Run queued fetch jobs until stopped (`options`: a refman.fetch.queue.WorkerOptions); returns the
        worker's summary. PostgreSQL catalogs only. Blocking."""
        from refman.fetch.queue import run_worker

        return run_worker(self.location, options, started)

    @_storage_errors_translated
    def fetch_backlog(self) -> dict[str, Any]:
        """Why a default fetch has nothing to do: {sources, never_fetched, failed, claimed, oldest_fetch}."""
        from refman.fetch.pipeline import fetch_backlog

        return fetch_backlog(self.store)

    @_storage_errors_translated
    def check(self, refs: Sequence[str | int] = (), *, stale_days: float | None = None, offline: bool = False,
              dead_after_days: float = 1.0, policy: Any = None,
              progress: ProgressCallback | None = None) -> dict[str, Any]:
        """Re-check sources (the named ones; else those checked more than `stale_days` ago; else all) and report
        per note those dead, failing, redirected or changed (`refman check --json`: checked, summary, notes,
        counts). `offline`: report from the last checks, fetch nothing."""
        from refman.fetch.check import check_report, sources_to_check
        from refman.fetch.pipeline import fetch_sources

        ids = sources_to_check(self.store, [str(r) for r in refs], stale_days=stale_days)
        summary = None
        if not offline and ids:
            if self.location is None:
                from refman.errors import UsageError

                raise UsageError("fetching needs a catalog that other connections can open")
            summary = fetch_sources(self.location, ids, policy, progress=progress, user=self.store.user)
        report = check_report(self.store, ids, dead_after_days=dead_after_days)
        return {"checked": len(ids), "summary": summary, **report}

    @_storage_errors_translated
    def wayback_save(self, refs: Sequence[str | int] = (), *, all_ok: bool = False, settings: Any = None,
                     on_result: Callable[[Any], None] | None = None) -> None:
        """Ask the Internet Archive's Save Page Now to capture these sources (or every `ok` one), throttled, and
        record each new memento; `on_result` gets each refman.fetch.wayback result as it comes."""
        from refman.fetch.wayback import WaybackSettings, save_sources

        save_sources(self.store, [str(r) for r in refs], all_ok=all_ok,
                     settings=settings or WaybackSettings.load(), on_result=on_result)

    @_storage_errors_translated
    def capture(self, page: bytes, url: str | None = None) -> Any:
        """Archive a page saved in a browser (SingleFile or "Save page as") as a snapshot of origin `capture`;
        `url` defaults to the one the file names. Returns refman.capture's result (id, url, created, outcome…)."""
        from refman.capture import capture_page

        return capture_page(self.store, page, url)

    # --- reading the archive ---------------------------------------------------------------------------

    @_storage_errors_translated
    def read(self, ref: str | int, snapshot: str | int | None = None) -> Any:
        """The archived main text (Markdown) of a source's latest good snapshot, or of snapshot N / the latest
        on or before a date: a refman.reader.SnapshotText (title, url, fetched_at, origin, markdown…)."""
        from refman.reader import read_text

        return read_text(self.store, self.resolve(ref), snapshot)

    @_storage_errors_translated
    def raw_page(self, ref: str | int, snapshot: str | int | None = None) -> tuple[bytes, str, int]:
        """The archived page as fetched: (body, content type, snapshot id)."""
        from refman.reader import raw_page

        return raw_page(self.store, self.resolve(ref), snapshot)

    @_storage_errors_translated
    def diff_snapshots(self, ref: str | int, a: str | int | None, b: str | int | None) -> Any:
        """What changed in the text from snapshot `a` to `b` (each N or a date): a refman.reader.TextDiff."""
        from refman.reader import diff_snapshots

        return diff_snapshots(self.store, self.resolve(ref), a, b)

    # --- citations out ---------------------------------------------------------------------------------------

    def _selection(self, refs: Sequence[str | int] | None, tags: Sequence[str] | None, cited_in: str | None,
                   query: str | None) -> Any:
        from refman.citation.selection import Selection

        return Selection(refs=[str(r) for r in refs or []], tags=list(tags or []), cited_in=cited_in, query=query)

    @_storage_errors_translated
    def export(self, fmt: str = "biblatex", *, refs: Sequence[str | int] | None = None,
               tags: Sequence[str] | None = None, cited_in: str | None = None, query: str | None = None,
               ascii: bool | None = None, to: str | Path | IO[str] | None = None,
               allow_empty: bool = False) -> str | None:
        """Export citations (biblatex | bibtex | csljson | ris | markdown) of the selection (default: all),
        sorted by key except for `cited_in` alone (the note's order) or `refs` alone (the order given).
        `to=None` returns the text; a path is written atomically; a text stream is written to, a chunk at a
        time (memory does not grow with the catalog). An empty selection is NotFoundError and writes nothing,
        unless `allow_empty`."""
        from refman.citation.export import (
            atomic_writer,
            gc_paused,
            item_chunks,
            iter_export,
            selected_ids,
            write_pieces,
        )
        from refman.errors import NotFoundError

        fmt = export_format(fmt)
        store = self.store
        with gc_paused():
            ids = selected_ids(store, self._selection(refs, tags, cited_in, query))
            if not ids and not allow_empty:
                raise NotFoundError("no source matches the selection: nothing written (--allow-empty writes an"
                                    " empty file)")
            pieces = iter_export(item_chunks(store, ids), fmt, ascii)
            with store.read_snapshot(), contextlib.closing(pieces):  # type: ignore[type-var]  # a generator closes
                if to is None:
                    buffer = io.StringIO()
                    write_pieces(pieces, buffer)
                    return buffer.getvalue()
                if isinstance(to, (str, Path)):
                    with atomic_writer(Path(to).expanduser()) as handle:
                        write_pieces(pieces, handle)
                    return None
                write_pieces(pieces, to)
                return None

    @_storage_errors_translated
    def cite(self, refs: Sequence[str | int] | None = None, *, style: str = "apa", fmt: str = "text",
             locale: str | None = None, tags: Sequence[str] | None = None, cited_in: str | None = None,
             query: str | None = None) -> str:
        """Formatted references in a CSL style (apa, chicago-author-date, ieee, mla, gb-t-7714-numeric,
        gb-t-7714-author-date, or a .csl file's path)."""
        from refman.citation.styles import render

        return render(self._cited_items(refs, tags, cited_in, query), style, fmt, locale)

    @_storage_errors_translated
    def cite_entries(self, refs: Sequence[str | int] | None = None, *, style: str = "apa", fmt: str = "text",
                     locale: str | None = None, tags: Sequence[str] | None = None, cited_in: str | None = None,
                     query: str | None = None) -> list[tuple[str, str]]:
        """Like `cite`, one (citation key, formatted reference) pair per source."""
        from refman.citation.styles import format_entries

        items = self._cited_items(refs, tags, cited_in, query)
        return list(format_entries(items, style, fmt, locale))

    def _cited_items(self, refs: Sequence[str | int] | None, tags: Sequence[str] | None, cited_in: str | None,
                     query: str | None) -> list[Any]:
        from refman.citation.export import selected_items
        from refman.errors import NotFoundError, UsageError

        sel = self._selection(refs, tags, cited_in, query)
        if sel.empty:
            raise UsageError("say what to cite: refs, tags, cited_in or query")
        items = selected_items(self.store, sel, default_all=False)
        if not items:
            raise NotFoundError("no source matches the selection: nothing to cite")
        return items

    @_storage_errors_translated
    def rekey(self, refs: Sequence[str | int] | None = None, *, tags: Sequence[str] | None = None,
              cited_in: str | None = None, query: str | None = None, dry_run: bool = False) -> list[Any]:
        """Recompute citation keys of the selection (nothing selected: every source); returns one
        refman.citation.keys.Rekey (source_id, old, new, changed) per source."""
        from refman.citation.keys import rekey
        from refman.citation.selection import resolve

        sel = self._selection(refs, tags, cited_in, query)
        ids = None if sel.empty else resolve(self.store, sel, default_all=False)
        return rekey(self.store, ids, dry_run=dry_run)

    # --- registered exports (kept up to date by every change) ------------------------------------------

    @_storage_errors_translated
    def register_export(self, export: Any) -> tuple[Any, Any]:
        """Register a refman.exports_registry.RegisteredExport (validated by rendering it first) and write it:
        (the stored export with its name, the write's result)."""
        from refman.exports_registry import register

        return register(self.store, export)

    @_storage_errors_translated
    def write_export_once(self, export: Any) -> Any:
        """Write an export (a file or a per-note mirror) without registering it."""
        from refman.exports_registry import write_once

        return write_once(self.store, export)

    @_storage_errors_translated
    def registered_exports(self) -> list[tuple[Any, str]]:
        """Every registered export with its state: current | stale | missing | error."""
        from refman.exports_registry import check, list_exports

        return [(export, check(self.store, export)) for export in list_exports(self.store)]

    @_storage_errors_translated
    def remove_exports(self, names: Sequence[str]) -> list[Any]:
        """Stop keeping these exports up to date (their files stay); every name must exist, or none goes."""
        from refman.exports_registry import list_exports, remove

        list_exports(self.store, names)  # NotFoundError for an unknown name, before anything is removed
        return [remove(self.store, name) for name in names]

    @_storage_errors_translated
    def refresh_exports(self, names: Sequence[str] | None = None) -> list[Any]:
        """Re-write the registered exports (these, or all) whose bytes changed; one result each."""
        from refman.exports_registry import refresh

        return refresh(self.store, names)

    # --- maintenance -------------------------------------------------------------------------------------

    @_storage_errors_translated
    def check_integrity(self) -> CatalogCheck:
        """`refman db check`: the storage's integrity check, broken references, the search index's check:
        {ok, integrity, foreign_keys, search_index}. A file too damaged to check is CatalogCorruptError."""
        from refman.maintenance import check_catalog

        return check_catalog(self.store)

    @_storage_errors_translated
    def backup(self, target: str | Path, *, replace: bool = False) -> dict[str, Any]:
        """A consistent copy of the catalog (a file, or a folder to put a dated copy in), made while other
        commands go on, written atomically: {path, bytes, pages, elapsed_s}."""
        from refman.maintenance import backup_catalog

        if self.path is None:
            from refman.errors import UsageError

            raise UsageError("only a SQLite catalog file is backed up by refman; back up a PostgreSQL catalog with"
                             " pg_dump")
        return backup_catalog(self.store, self.path, Path(target).expanduser(), replace=replace)

    @_storage_errors_translated
    def collect_garbage(self, *, dry_run: bool = False) -> dict[str, int]:
        """Remove archived bodies nothing references any more: {blobs, stored_bytes}."""
        from refman.maintenance import collect_garbage

        return collect_garbage(self.store, dry_run=dry_run)

    @_storage_errors_translated
    def notes(self) -> list[dict[str, Any]]:
        """The known vault roots and their notes with counts (`refman notes --json`)."""
        from refman.notes.importer import list_notes

        return list_notes(self.store)

    @_storage_errors_translated
    def stats(self) -> dict[str, Any]:
        """Counts of notes, sources by status, snapshots and archive size (`refman stats --json`)."""
        from refman.catalog import catalog_stats

        return catalog_stats(self.store)

    @_storage_errors_translated
    def copy_to(self, location: str | Path, *, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Copy this catalog into the one at `location` (created or upgraded first), merging with what it has, in
        one transaction there (`refman db copy --to`; refman.catalog_copy): {from, to, counts, key_clashes, …}."""
        from refman.catalog_copy import copy_catalog
        from refman.store import open_store

        with open_store(location) as target:
            return copy_catalog(self.store, target, progress=progress).to_dict()

    @_storage_errors_translated
    def copy_from(self, location: str | Path, *, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """Copy the catalog at `location` into this one, merging (`refman db copy --from`): as copy_to."""
        from refman.catalog_copy import copy_catalog
        from refman.store import open_store

        with open_store(location, create=False) as source:
            return copy_catalog(source, self.store, progress=progress).to_dict()


__all__ = ["AddResult", "Catalog", "FetchSummary", "ImportResult", "Source", "check_paths_exist", "export_format",
           "fetch_policy", "parse_size"]
