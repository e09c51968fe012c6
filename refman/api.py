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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from refman.search import SearchFilters, SearchHit
    from refman.store.sqlite import SqliteStore

ProgressCallback = Callable[..., None]

# Suffixes `import_paths` reads as bibliographies rather than notes (see refman.citation.importer).
BIBLIOGRAPHY_SUFFIXES = (".bib", ".bibtex", ".biblatex", ".json", ".ris", ".html", ".htm")
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
    """One source as `refman list --json` shows it."""

    id: int
    url: str | None
    citekey: str | None = None
    type: str = "webpage"
    title: str | None = None
    issued: str | None = None
    container_title: str | None = None
    publisher: str | None = None
    author: list[dict[str, Any]] = field(default_factory=list)
    doi: str | None = None
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
    url_as_written: str | None = None
    mentions: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # further documented fields (`refman show --json`)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        return data | data.pop("extra")


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
        data = dataclasses.asdict(self)
        return data | data.pop("extra")


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
            translated = translate_error(exc, self.store.path)
            if translated is None:
                raise
            raise translated from exc

    return wrapper  # type: ignore[return-value]


class Catalog:
    """One catalog, open. Use `Catalog.open(path)` as a context manager (or call `close()`). Every method raises
    refman.errors types: NotFoundError, UsageError, CatalogBusyError, CatalogReadOnlyError, … (RefmanError)."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, wait_s: float | None = None) -> Catalog:
        """Open (creating or upgrading it unless `create=False`) the catalog at `path`."""
        from refman.store import open_store

        return cls(open_store(Path(path).expanduser() if "://" not in str(path) else path, create=create,
                              wait_s=wait_s))

    @property
    def path(self) -> Path | None:
        return self.store.path

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
        from refman.errors import NotFoundError

        given = [Path(p).expanduser() for p in paths]
        for path in given:
            if not path.exists():
                what = "dangling symlink" if path.is_symlink() else "no such file or folder"
                raise NotFoundError(f"{what}: {path}")
        bibs = [p for p in given if p.is_file() and p.suffix.lower() in BIBLIOGRAPHY_SUFFIXES]
        notes = [p for p in given if p not in bibs]
        result = ImportResult()
        if notes:
            from refman.notes.importer import import_vault

            result.notes = import_vault(self.store, notes, progress=progress).as_dict()
        if bibs:
            from refman.catalog import import_bibliographies

            result.bibliography = import_bibliographies(self.store.conn, bibs)
        return result

    @_storage_errors_translated
    def add(self, url: str, *, title: str | None = None, tags: Sequence[str] = (),
            note: str | None = None) -> AddResult:
        """Register one URL (an existing one gains the tags and note; a title is pinned as yours)."""
        from refman.catalog import add_source

        source_id, created = add_source(self.store.conn, url, title=title, tags=tags, note=note)
        return AddResult(source_id, created)

    # --- reading ---------------------------------------------------------------------------------------------

    @_storage_errors_translated
    def resolve(self, ref: str | int) -> int:
        """A source id from an id, a citation key (any case) or a URL. Unknown: NotFoundError."""
        from refman.catalog import resolve_source

        return resolve_source(self.store.conn, str(ref))

    @_storage_errors_translated
    def get(self, ref: str | int) -> Source:
        """Everything about one source (`refman show --json`): fields, evidence, mentions, snapshots."""
        from refman.catalog import show_source

        return _from_dict(Source, show_source(self.store.conn, self.resolve(ref)))  # type: ignore[no-any-return]

    @_storage_errors_translated
    def sources(self, *, tag: str | None = None, status: str | None = None, orphans: bool = False,
                limit: int | None = None, offset: int = 0, sort: str = "added",
                filters: SearchFilters | None = None) -> list[Source]:
        """Sources as `refman list --json` shows them; `sort`: added | issued | title | cited."""
        from refman.catalog import list_sources

        rows = list_sources(self.store.conn, tag=tag, status=status, orphans=orphans, limit=limit, offset=offset,
                            sort=sort, filters=filters)
        return [_from_dict(Source, row) for row in rows]

    @_storage_errors_translated
    def search(self, query: str | None, *, limit: int = 20, offset: int = 0,
               filters: SearchFilters | None = None) -> list[SearchHit]:
        """Sources matching a query in the CLI's query language, best first (QueryError for an empty one)."""
        from refman.search import search

        return search(self.store.conn, query, filters, limit=limit, offset=offset)

    # --- changing --------------------------------------------------------------------------------------------

    @_storage_errors_translated
    def set_fields(self, ref: str | int, values: Mapping[str, str]) -> dict[str, Any]:
        """Pin fields (`refman set ID field=value …`); returns the fields as set."""
        from refman.catalog import set_fields

        return set_fields(self.store.conn, self.resolve(ref), [f"{k}={v}" for k, v in values.items()])

    @_storage_errors_translated
    def unset_fields(self, ref: str | int, fields: Sequence[str]) -> tuple[list[str], list[str]]:
        """Unpin fields; returns (unpinned, not pinned)."""
        from refman.catalog import unset_fields

        return unset_fields(self.store.conn, self.resolve(ref), list(fields))

    @_storage_errors_translated
    def tag(self, refs: Sequence[str | int], *, add: Sequence[str] = (),
            remove: Sequence[str] = ()) -> list[tuple[int, str]]:
        """Add and remove tags; returns the (id, tag) removals that found no such tag."""
        from refman.catalog import tag_sources

        return tag_sources(self.store.conn, [self.resolve(r) for r in refs], add, remove)

    @_storage_errors_translated
    def delete(self, refs: Sequence[str | int], *, dry_run: bool = False) -> dict[str, Any]:
        """Delete sources with everything that hangs on them, in one transaction; returns what went."""
        from refman.maintenance import delete_sources

        return delete_sources(self.store.conn, [self.resolve(r) for r in refs], dry_run=dry_run)

    @_storage_errors_translated
    def duplicates(self) -> list[dict[str, Any]]:
        """Groups of sources that are one work (`refman duplicates --json`), with the one to keep."""
        from refman.duplicates import find_duplicates

        return find_duplicates(self.store.conn)

    @_storage_errors_translated
    def merge(self, keep: str | int, drop: Sequence[str | int]) -> dict[str, Any]:
        """Merge sources into `keep` (mentions, evidence, snapshots, tags, keys) in one transaction."""
        from refman.duplicates import merge_sources

        return merge_sources(self.store.conn, self.resolve(keep), [self.resolve(r) for r in drop])

    # --- fetching --------------------------------------------------------------------------------------------

    @_storage_errors_translated
    def fetch(self, refs: Sequence[str | int] = (), *, stale_days: float | None = None, failed: bool = False,
              all_sources: bool = False, policy: Any = None, progress: ProgressCallback | None = None,
              workers: int | None = None, fallback: Any = None) -> FetchSummary:
        """Archive sources: those never fetched (plus stale/failed ones), or the ones named. `policy`: a
        refman.fetch.client.FetchPolicy; `fallback`: refman.fetch.fallback.FallbackOptions."""
        from refman.fetch.pipeline import run_fetch

        if self.path is None:
            from refman.errors import UsageError

            raise UsageError("fetching needs a catalog file")
        summary = run_fetch(self.path, [str(r) for r in refs], stale_days=stale_days, failed=failed,
                            all_sources=all_sources, policy=policy, progress=progress, workers=workers,
                            fallback=fallback)
        return _from_dict(FetchSummary, summary)  # type: ignore[no-any-return]

    @_storage_errors_translated
    def check(self, refs: Sequence[str | int] = (), *, stale_days: float | None = None, offline: bool = False,
              dead_after_days: float = 1.0, policy: Any = None,
              progress: ProgressCallback | None = None) -> dict[str, Any]:
        """Re-check sources (the named ones; else those checked more than `stale_days` ago; else all) and report
        per note those dead, failing, redirected or changed (`refman check --json`: checked, summary, notes,
        counts). `offline`: report from the last checks, fetch nothing."""
        from refman.fetch.pipeline import check_report, fetch_sources, select_source_ids

        conn = self.store.conn
        targets = [str(r) for r in refs]
        if stale_days is not None and not targets:
            ids = select_source_ids(conn, stale_days=stale_days)
        else:
            ids = select_source_ids(conn, targets, all_sources=not targets)
        summary = None
        if not offline and ids:
            if self.path is None:
                from refman.errors import UsageError

                raise UsageError("fetching needs a catalog file")
            summary = fetch_sources(self.path, ids, policy, progress=progress)
        return {"checked": len(ids), "summary": summary, **check_report(conn, ids, dead_after_days=dead_after_days)}

    # --- citations out ---------------------------------------------------------------------------------------

    def _selection(self, refs: Sequence[str | int] | None, tags: Sequence[str] | None, cited_in: str | None,
                   query: str | None) -> Any:
        from refman.citation.selection import Selection

        return Selection(refs=[str(r) for r in refs or []], tags=list(tags or []), cited_in=cited_in, query=query)

    @_storage_errors_translated
    def export(self, fmt: str = "biblatex", *, refs: Sequence[str | int] | None = None,
               tags: Sequence[str] | None = None, cited_in: str | None = None, query: str | None = None,
               ascii: bool | None = None, to: str | Path | IO[str] | None = None) -> str | None:
        """Export citations (biblatex | bibtex | csljson | ris | markdown) of the selection (default: all).
        `to=None` returns the text; a path is written atomically (an empty selection writes nothing and is
        NotFoundError); a text stream is written to."""
        from refman.citation.export import (
            EXPORT_FORMATS,
            atomic_writer,
            item_chunks,
            iter_export,
            read_snapshot,
            selected_ids,
            write_pieces,
        )
        from refman.errors import NotFoundError, UsageError

        fmt = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
        if fmt not in EXPORT_FORMATS:
            raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
        conn = self.store.conn
        ids = selected_ids(conn, self._selection(refs, tags, cited_in, query))
        if not ids and isinstance(to, (str, Path)):
            raise NotFoundError("no source matches the selection: nothing written")
        with read_snapshot(conn), contextlib.closing(iter_export(item_chunks(conn, ids), fmt, ascii)) as pieces:
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
        from refman.citation.export import selected_items
        from refman.citation.styles import render
        from refman.errors import NotFoundError, UsageError

        sel = self._selection(refs, tags, cited_in, query)
        if sel.empty:
            raise UsageError("say what to cite: refs, tags, cited_in or query")
        items = selected_items(self.store.conn, sel, default_all=False)
        if not items:
            raise NotFoundError("no source matches the selection: nothing to cite")
        return render(items, style, fmt, locale)  # type: ignore[no-any-return]

    @_storage_errors_translated
    def stats(self) -> dict[str, Any]:
        """Counts of notes, sources by status, snapshots and archive size (`refman stats --json`)."""
        from refman.catalog import catalog_stats

        return catalog_stats(self.store.conn)


__all__ = ["AddResult", "Catalog", "FetchSummary", "ImportResult", "Source"]
