"""The notes importer's side: vault roots, notes and their mentions, the import batch writer.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.notes.

Ids in an import batch: the importer does not know the ids the store will give the notes and sources it creates,
so it names them by negative numbers in order of creation (-1, -2, …) and hands their rows over in that order,
without an id; the store gives them ids as it writes them and records those in the batch's `ImportIds`, through
which the importer reads them back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol


class NoteState(NamedTuple):
    """What an import compares with the file on disk."""

    id: int
    path: str  # relative to its vault root, POSIX
    size: int
    mtime_ns: int
    sha256: str


class NoteSummary(NamedTuple):
    """One note as `refman notes` lists it."""

    id: int
    root: str
    path: str
    status: str
    reason: str | None
    encoding: str | None
    mentions: int
    owner: str | None = None  # who imported it (None: before refman recorded it, migration 0013)


class NoteMention(NamedTuple):
    """A mention a re-imported or forgotten note had."""

    source_id: int
    label: str
    kind: str


class LabelledMention(NamedTuple):
    """A mention whose label may give hints (a definition, or a bare reference line with a title)."""

    source_id: int
    path: str
    line: int
    root: str
    kind: str
    label: str
    link_text: str | None
    host: str | None


class ReportedMention(NamedTuple):
    """A mention of one source as `refman show` judges its label."""

    path: str
    line: int
    kind: str
    label: str
    link_text: str | None
    title: str | None
    host: str | None


@dataclass
class ImportIds:
    """The ids the store gave to the notes and sources an import batch created: the one named -k is at k - 1."""

    notes: list[int] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)

    def source(self, sid: int) -> int:
        """The id of source `sid` (a negative name is resolved, a stored id returned as it is)."""
        return sid if sid > 0 else self.sources[-sid - 1]

    def note(self, nid: int) -> int:
        """The id of note `nid` (a negative name is resolved, a stored id returned as it is)."""
        return nid if nid > 0 else self.notes[-nid - 1]


class NotesStore(Protocol):
    """Vault roots are per user: a note is (owner, root, path), and the reads and writes of an import see the notes
    of `self.user` only (and those imported before refman recorded owners, which the first import of their root
    claims: claim_notes). Listings (note_summaries, sources_cited_per_root) show every user's."""

    # --- reading notes and vault roots
    def vault_roots(self) -> list[str]:
        """The distinct roots of this user's notes, in order."""
        ...

    def notes_in_root(self, root: str) -> list[NoteState]:
        """This user's notes under one vault root."""
        ...

    def note_size_and_mtime(self, root: str, path: str) -> tuple[int, int] | None:
        """(size, mtime_ns) the catalog has for one note of this user, None when it has not got it."""
        ...

    def note_summaries(self) -> list[NoteSummary]:
        """Every user's notes with their count of mentions, by root, path, then owner."""
        ...

    def sources_cited_per_root(self) -> dict[tuple[str | None, str], int]:
        """{(owner, vault root): how many distinct sources its notes cite}."""
        ...

    def catalog_commit_counter(self) -> int:
        """A number that changes when another connection commits to the catalog (not this one's commits)."""
        ...

    # --- what an import reads
    def source_ids_by_url(self) -> dict[str, int]:
        """{URL: source id} for every source with a URL and every alias URL (a source's own URL wins)."""
        ...

    def mentions_of_notes(self, note_ids: Sequence[int]) -> list[NoteMention]:
        """The mentions the given notes have now."""
        ...

    def label_usage(self) -> dict[str, int]:
        """{casefolded label: number of sources} for definition labels used for more than one source."""
        ...

    def sources_with_definition_labels(self, keys: Sequence[str]) -> set[int]:
        """The sources cited by a definition whose casefolded label is one of `keys`."""
        ...

    def labelled_mentions(self, source_ids: Sequence[int]) -> list[LabelledMention]:
        """The labelled mentions (definitions, titled bare lines) of the given sources."""
        ...

    def label_evidence(self, source_ids: Sequence[int]) -> dict[int, list[tuple[str, str, str]]]:
        """{source: [(field, origin, JSON value)]} of its label and link-text evidence."""
        ...

    def mentions_for_label_report(self, source_id: int) -> list[ReportedMention]:
        """A source's mentions by note path and line, with what judging their labels needs."""
        ...

    # --- the import batch writer (inside the caller's transaction)
    def bulk_import(self) -> AbstractContextManager[None]:
        """A write transaction for an import: the store may tune itself for bulk writes while it lasts."""
        ...

    def claim_notes(self, roots: Sequence[str]) -> None:
        """This user's import of `roots` takes the notes under them that have no owner (imported before refman
        recorded owners)."""
        ...

    def move_vault_root(self, old_root: str, new_root: str, prefix: str) -> None:
        """This user's notes under `old_root` move under `new_root`, their paths prefixed with `prefix`."""
        ...

    def write_import_rows(self, ids: ImportIds, notes: list[tuple[Any, ...]], sources: list[tuple[Any, ...]],
                          mentions: list[tuple[Any, ...]], evidence: list[tuple[Any, ...]]) -> None:
        """Insert new notes (root, path, size, mtime_ns, sha256, encoding, status, reason, imported_at; owned by
        `self.user`, who also creates the sources and records the evidence) and new
        sources (url, url_as_written, host, created_at, updated_at, label_note, first_cited_at, title, author,
        issued, container_title), both in the order of their negative names, then mentions (source_id, note_id,
        ordinal, line, label, title, annotation, flag, kind, link_text) and label evidence (source_id, field, JSON
        value, updated_at), whose ids and label_note may be negative names. Records the ids given in `ids`."""
        ...

    def update_notes(self, rows: list[tuple[Any, ...]]) -> None:
        """Re-imported notes: (size, mtime_ns, sha256, encoding, status, reason, imported_at, note id)."""
        ...

    def touch_notes(self, rows: list[tuple[int, int]]) -> None:
        """Notes read again with the same content: (mtime_ns, note id)."""
        ...

    def delete_mentions_of_notes(self, note_ids: Sequence[int]) -> None:
        """Forget the mentions of the given notes."""
        ...

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        """Forget the given notes and their mentions."""
        ...

    def mark_sources_cited(self, source_ids: Iterable[int], now: str) -> None:
        """Sources an import cited: their first_cited_at is set unless it is already."""
        ...

    def mark_sources_updated(self, source_ids: Iterable[int], now: str) -> None:
        """Sources whose fields an import changed: updated_at = now."""
        ...

    def replace_label_evidence(self, source_ids: Sequence[int], rows: list[tuple[Any, ...]]) -> None:
        """Drop the label and link-text evidence of the given sources and insert `rows` (source_id, field,
        origin, JSON value, updated_at)."""
        ...

    def set_label_columns(self, rows: list[tuple[Any, ...]]) -> None:
        """Sources created by this import whose label hints changed: (title, author, issued, container_title,
        source id)."""
        ...
