"""Citations: keys, selections of sources for exports, the export stream, registered exports, catalog maintenance.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.citation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypedDict

# The rows a CitationItem is built from (refman.citation.build.item_from_row) are plain tuples in this column
# order: tuples, not NamedTuples, because an export of 100,000 sources indexes them a million times.
SOURCE_ROW_COLUMNS = (
    "id", "url", "host", "citekey", "type", "title", "issued", "container_title", "publisher", "author", "doi",
    "language", "abstract", "last_ok_at", "user_note",
)
# The rows a default citation key is made of (refman.citation.build.key_source_from_row), in this order.
KEY_ROW_COLUMNS = ("id", "url", "title", "issued", "container_title", "publisher", "author")

SourceRow = tuple[Any, ...]  # SOURCE_ROW_COLUMNS
KeyRow = tuple[Any, ...]  # KEY_ROW_COLUMNS

# Columns that point at a blob: a blob none of them names is garbage. New ones go here (a contract test checks
# that every foreign key to `blob` is listed), for every backend.
BLOB_REFERENCES = (("snapshot", "body_hash"), ("source_text", "markdown_hash"))


class CitationRows(NamedTuple):
    """What the items of some sources are built from: their `source` rows (by id), the field evidence of the
    fields that have no column (source id, field, origin, JSON value), and their tags (source id, tag; by tag)."""

    sources: list[SourceRow]
    evidence: list[tuple[int, str, str, str]]
    tags: list[tuple[int, str]]


class ExportRecord(NamedTuple):
    """One registered export as stored (refman.exports_registry.RegisteredExport is built from it). `options`
    and `files` are JSON text."""

    id: int | None
    name: str
    path: str
    format: str
    per_note: bool
    options: str
    files: str | None
    written_hash: str | None
    written_at: str | None
    created_at: str | None


class DeletedSource(NamedTuple):
    id: int
    url: str | None
    title: str | None
    citekey: str | None


class SourceDependents(NamedTuple):
    """What hangs on a set of sources and goes with them."""

    mentions: int
    tags: int
    snapshots: int
    pins: int


class CatalogCheck(TypedDict):
    """`refman db check --json`: `ok` when every check passed; `skipped` names the checks that could not run."""

    ok: bool
    integrity: str | list[str]
    foreign_keys: list[dict[str, Any]]
    search_index: str | list[str]
    skipped: list[str]


class CitationStore(Protocol):
    # ---- citation keys (refman.citation.keys)
    def taken_citekeys(self) -> set[str]:
        """Every stored citation key, lower-cased."""
        ...

    def has_keyless_sources(self) -> bool:
        """Whether any source has no citation key yet."""
        ...

    def keyless_source_ids(self, ids: Sequence[int]) -> list[int]:
        """Those of `ids` that exist and have no citation key, sorted."""
        ...

    def keyless_key_rows(self, ids: Sequence[int] | None, size: int = 2000) -> Iterator[list[KeyRow]]:
        """KeyRows of the sources without a key among sorted `ids` (None: all), in id order, `size` at a time;
        each page is read completely before it is yielded (the caller may write between pages)."""
        ...

    def store_citekeys(self, updates: Sequence[tuple[str, int]]) -> None:
        """Set (key, source id) pairs, in one batch."""
        ...

    def replace_citekeys(self, changes: Sequence[tuple[int, str]]) -> None:
        """Give (source id, key) pairs their new keys; keys may move between the sources of the batch."""
        ...

    def citekeys_of(self, ids: Sequence[int] | None) -> dict[int, str]:
        """{source id: key} of `ids` (None: every source) that have a key."""
        ...

    def citekey_holder(self, key: str, other_than: int | None = None) -> int | None:
        """The source (other than `other_than`) whose key is `key` case-insensitively, or None."""
        ...

    def citekey_of_source(self, source_id: int) -> str | None:
        """The source's stored key (None: none yet); NotFoundError when there is no such source."""
        ...

    def set_citekey(self, source_id: int, key: str) -> bool:
        """Store the source's key; False (nothing changed) when another source holds it already."""
        ...

    def citekey_order(self) -> Iterator[tuple[int, str]]:
        """(source id, key) of every source with a key, by key compared ASCII-case-insensitively, then by key,
        then by id; streamed."""
        ...

    # ---- selections (refman.citation.selection)
    def notes_by_path(self) -> list[tuple[int, str, str]]:
        """(note id, vault root, path) of every imported note, by path, root, id."""
        ...

    def sources_cited_in(self, note_ids: Sequence[int]) -> list[int]:
        """The sources the notes cite, in note order then order of first appearance, each once."""
        ...

    def sources_cited_by_note(self, note_ids: Sequence[int]) -> dict[int, list[int]]:
        """{note id: the sources it cites, in order of first appearance, each once} for every one of `note_ids`."""
        ...

    def sources_tagged(self, tags: Sequence[str]) -> list[int]:
        """Sources carrying any of `tags`, each once."""
        ...

    def citable_source_ids(self) -> list[int]:
        """Every source id."""
        ...

    # ---- the export stream (refman.citation.build, refman.citation.export)
    def citation_rows(self, ids: Sequence[int] | None, fields: Sequence[str]) -> CitationRows:
        """The rows the items of `ids` (None: every source) are built from, with the evidence of `fields`."""
        ...

    def has_archived_copies(self) -> bool:
        """Whether any snapshot is an Internet Archive copy (exports then look up each source's newest)."""
        ...

    def newest_archive_copy(self, source_id: int) -> tuple[str, str | None] | None:
        """(memento URL, capture time) of the source's newest Internet Archive copy, or None (also FetchStore's)."""
        ...

    def read_snapshot(self) -> AbstractContextManager[None]:
        """One consistent read of the catalog around several queries (joins an open transaction)."""
        ...

    # ---- registered exports (refman.exports_registry)
    def has_export_registry(self) -> bool:
        """Whether the catalog has the registered-export table (an old catalog not upgraded has none)."""
        ...

    def registered_exports_exist(self) -> bool:
        """Whether an up-to-date catalog has a registered export; False for an older schema or a failed read."""
        ...

    def registered_exports(self) -> list[ExportRecord]:
        """Every registered export, by name."""
        ...

    def registered_export_named(self, name: str) -> ExportRecord | None:
        """The registered export called `name`, or None."""
        ...

    def registered_export_at(self, path: str) -> str | None:
        """The name of the registered export writing `path`, or None."""
        ...

    def add_registered_export(self, record: ExportRecord) -> None:
        """Register a new export (its id and written_* are ignored)."""
        ...

    def redefine_registered_export(self, record: ExportRecord) -> None:
        """Change the export called `record.name`: path, format, per_note, options, files; forgets what was written."""
        ...

    def record_export_written(self, name: str, written_hash: str, written_at: str | None, files: str | None) -> None:
        """Remember what a refresh wrote for the export `name`."""
        ...

    def remove_registered_export(self, name: str) -> None:
        """Forget the export `name`."""
        ...

    def catalog_file(self) -> Path | None:
        """The catalog's file, None when it has none."""
        ...

    def exports_refresh_lock(self) -> AbstractContextManager[None]:
        """Held while registered exports are refreshed: one refresh of a catalog at a time, across processes and
        machines (a lock file beside a SQLite catalog, an advisory lock on PostgreSQL)."""
        ...

    # ---- maintenance (refman.maintenance)
    def check_catalog_integrity(self) -> CatalogCheck:
        """The backend's integrity checks of the catalog, foreign keys and the search index."""
        ...

    def copy_catalog_to(self, target: Path) -> int:
        """A consistent copy of the whole catalog into the new file `target` while others keep writing (a single
        file); returns its size in pages."""
        ...

    def unreferenced_blobs(self) -> tuple[int, int]:
        """(count, stored bytes) of the archived bodies nothing references any more."""
        ...

    def delete_unreferenced_blobs(self) -> None:
        """Delete the archived bodies nothing references any more."""
        ...

    def sources_to_delete(self, ids: Sequence[int]) -> list[DeletedSource]:
        """Those of `ids` that exist, by id."""
        ...

    def source_dependents(self, ids: Sequence[int]) -> SourceDependents:
        """How many mentions, tags, snapshots and pinned fields hang on the sources `ids`."""
        ...

    def delete_sources_cascading(self, ids: Sequence[int]) -> None:
        """Delete the sources with everything that hangs on them (but not the archived bodies)."""
        ...
