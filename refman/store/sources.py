"""Sources and their fields: resolve a reference (id, key, URL, alias), sources by filters, field evidence in and out,
merged fields, tags, pinned fields, merging and deleting sources, statistics.

Backend-neutral: the Protocol and the plain row types its methods return. The SQLite implementation is
refman.store.sqlite.sources."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

# How `list_sources` may order its sources (`refman list --sort`).
LIST_SORTS: tuple[str, ...] = ("added", "issued", "title", "cited")


class Evidence(NamedTuple):
    """One piece of evidence for a citation field: its value (decoded) and where it came from."""

    field: str
    origin: str
    value: Any


class EvidenceRow(NamedTuple):
    """A stored evidence row of one source, as merging sources copies it and `show` tells who recorded it."""

    field: str
    origin: str
    value: Any
    updated_at: str
    changed_by: str | None = None  # who recorded it (None: before refman recorded it, migration 0013)


class HistoryRow(NamedTuple):
    """A user value that was replaced or removed (table field_history), newest first."""

    field: str
    origin: str
    value: Any
    changed_by: str | None  # who had set it
    changed_at: str
    replaced_by: str | None  # who replaced or removed it
    replaced_at: str


class SourcePeople(NamedTuple):
    """Who created a source and who last changed it, and when, and who added each tag (None: before refman
    recorded it)."""

    created_by: str | None
    created_at: str
    updated_by: str | None
    updated_at: str
    tagged_by: dict[str, str | None]


class NewEvidence(NamedTuple):
    """Evidence to write (replacing the same source, field and origin)."""

    source_id: int
    field: str
    origin: str
    value: Any
    updated_at: str


@dataclass(frozen=True)
class MergeRow:
    """The columns of a source that merging it with others combines (refman.duplicates.merge_sources)."""

    id: int
    url: str | None
    citekey: str | None
    user_note: str | None
    status: str | None
    reason: str | None
    fail_count: int
    fetched_at: str | None
    last_ok_at: str | None
    created_at: str
    added_by: str | None
    first_cited_at: str | None
    label_note: int | None


class LiveFetch(NamedTuple):
    """The latest good live fetch of a source: where it ended, through which hops, with which body."""

    source_id: int
    final_url: str | None
    hops: list[str]
    body_hash: str | None
    outcome: str


class SourcesStore(Protocol):
    """Sources, their fields and evidence, tags; merging sources. Writes happen inside `store.transaction()`."""

    # --- look-ups
    def source_exists(self, source_id: int) -> bool:
        """Is there a source with this id?"""
        ...

    def source_with_citekey(self, key: str) -> int | None:
        """The source whose citation key is `key` (keys compare case-insensitively)."""
        ...

    def has_sources_without_citekey(self) -> bool:
        """Has any source no stored citation key yet?"""
        ...

    def source_with_url(self, url: str, as_written: str | None = None) -> int | None:
        """The source whose normalised URL is `url` or whose URL as written is `as_written` (no aliases)."""
        ...

    def source_for_url(self, url: str) -> int | None:
        """The source whose normalised URL is `url`, or into which a source with that URL was merged."""
        ...

    def source_url(self, source_id: int) -> str | None:
        """The normalised URL of a source (None: a work without URL); NotFoundError if there is no such source."""
        ...

    def other_urlless_source_with_doi(self, source_id: int, doi: str) -> int | None:
        """When `source_id` has no URL: another source without URL whose DOI is `doi` (case-insensitive)."""
        ...

    def match_work(self, url: str | None, doi: str | None, isbn: str | None, key: str | None) -> int | None:
        """The source that is this work: by URL (or alias), else DOI, else ISBN, else (no other identity) key."""
        ...

    def match_keyless_bibliography_work(self, title: str | None, type_: str, issued: str | None) -> int | None:
        """The bibliography work without URL, DOI or ISBN with this title, type and date (the first)."""
        ...

    # --- adding and editing sources
    def insert_source(self, url: str | None, url_as_written: str | None, host: str | None, now: str, *,
                      added_by: str, user_note: str | None = None,
                      fields: Mapping[str, Any] | None = None) -> int:
        """A new source; `fields` sets cached columns (isbn, doi, title, type, issued). Returns its id."""
        ...

    def user_note(self, source_id: int) -> str | None:
        """The user's note on a source."""
        ...

    def set_user_note(self, source_id: int, note: str | None, now: str) -> bool:
        """Replace the user's note (None clears it); False when a note to clear was not there."""
        ...

    def set_source_url(self, source_id: int, url: str, url_as_written: str, host: str | None, now: str) -> None:
        """Give a source its URL."""
        ...

    def give_url_if_none(self, source_id: int, url: str, url_as_written: str, host: str | None) -> None:
        """Give a source without URL this URL, unless another source has it."""
        ...

    def give_isbn_if_none(self, source_id: int, isbn: str) -> None:
        """Give a source without ISBN this ISBN."""
        ...

    def citekey_of(self, source_id: int) -> str | None:
        """The stored citation key of a source."""
        ...

    def store_citekey(self, source_id: int, key: str) -> None:
        """Write a source's citation key (the caller checked it is free)."""
        ...

    def touch_source(self, source_id: int, now: str) -> None:
        """Mark a source as updated now."""
        ...

    # --- tags
    def add_source_tags(self, source_id: int, tags: Sequence[str]) -> None:
        """Add tags to a source, case-insensitively, in the catalog's first spelling of each."""
        ...

    def remove_source_tag(self, source_id: int, tag: str) -> bool:
        """Remove a tag (case-insensitively); False when the source had no such tag."""
        ...

    def tag_counts(self) -> list[tuple[str, int]]:
        """Every tag (first spelling) with its number of sources, in case-insensitive order."""
        ...

    # --- evidence and merged fields
    def put_field_evidence(self, rows: Sequence[NewEvidence]) -> None:
        """Write evidence rows recorded by `self.user`, replacing those of the same source, field and origin. A
        `user` value that replaces a different one moves that one to the field's history (last writer wins,
        nothing is lost): concurrent writers of one source's user values are serialised, so that each sees the
        value it replaces."""
        ...

    def delete_user_pin(self, source_id: int, field: str, now: str | None = None) -> bool:
        """Release the user's value of a field (it goes to the field's history, removed by `self.user` at `now`);
        False when there was none."""
        ...

    def keep_field_history(self, source_id: int, rows: Sequence[EvidenceRow], now: str) -> None:
        """Add user values that lost (a merge's discarded pins) to a source's field history, replaced by
        `self.user` at `now`."""
        ...

    def field_history(self, source_id: int) -> list[HistoryRow]:
        """A source's replaced and removed user values, newest first."""
        ...

    def source_people(self, source_id: int) -> SourcePeople | None:
        """Who created a source, who last changed it and who added each of its tags; None when there is no such
        source."""
        ...

    def field_evidence_for(self, source_ids: Sequence[int]) -> dict[int, list[Evidence]]:
        """Every piece of evidence of each source, by field and origin (every id is a key)."""
        ...

    def write_cached_fields(self, rows: Sequence[tuple[int, Mapping[str, Any]]]) -> None:
        """Write the merged field columns of sources: (id, {column: value}), the same columns in every row."""
        ...

    # --- listings
    def list_sources(self, *, tag: str | None = None, orphans: bool = False, status: str | None = None,
                     ids: Sequence[int] | None = None, limit: int | None = None, offset: int = 0,
                     filters: Any = None, sort: str = "added") -> list[dict[str, Any]]:
        """Sources as dicts with the citation item's field names, tags and mentions (`refman list --json`)."""
        ...

    def count_sources(self, *, orphans: bool = False, filters: Any = None) -> int:
        """How many sources list_sources would list without a limit."""
        ...

    def mentions_of(self, source_id: int) -> list[dict[str, Any]]:
        """Where a source is cited: path, line, label, kind, annotation, flag, in note order."""
        ...

    def recent_snapshots(self, source_id: int, limit: int) -> list[dict[str, Any]]:
        """A source's latest snapshots (their facts, not their bodies), newest first."""
        ...

    def archived_chars(self, source_id: int) -> int:
        """The length of a source's archived text (0: none)."""
        ...

    def catalog_statistics(self) -> dict[str, Any]:
        """The catalog's statistics (`refman stats`)."""
        ...

    # --- duplicates
    def source_urls(self) -> dict[int, str | None]:
        """Every source's normalised URL by id."""
        ...

    def latest_live_fetches(self, outcomes: Sequence[str]) -> Iterator[LiveFetch]:
        """Each source's latest live fetch with one of `outcomes`."""
        ...

    def latest_canonical_urls(self, outcomes: Sequence[str]) -> Iterator[tuple[int, Any]]:
        """Each source's canonical URL (as the page said it) from its latest snapshot with `outcomes` and metadata."""
        ...

    def sources_with_doi(self) -> list[tuple[int, str]]:
        """(id, DOI lower-cased and trimmed) of the sources with a DOI, by id."""
        ...

    def source_summaries(self, source_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """{id: {id, url, title, citekey, status, mentions}} for the duplicates report."""
        ...

    # --- merging sources (inside one transaction)
    def merge_rows(self, source_ids: Sequence[int]) -> dict[int, MergeRow]:
        """The combined columns of the sources that exist among `source_ids`."""
        ...

    def move_mentions(self, keep_id: int, drop_ids: Sequence[int]) -> int:
        """Move the mentions of `drop_ids` to `keep_id`; how many moved."""
        ...

    def unite_tags(self, keep_id: int, drop_ids: Sequence[int]) -> list[str]:
        """Give `keep_id` the tags of `drop_ids` it lacks and drop theirs; the tags added, sorted."""
        ...

    def field_evidence_rows(self, source_id: int) -> list[EvidenceRow]:
        """A source's evidence rows with their times, by field and origin."""
        ...

    def add_field_evidence_rows(self, source_id: int, rows: Sequence[EvidenceRow]) -> None:
        """Add evidence rows to a source (none of them exists on it yet)."""
        ...

    def archived_text_times(self, source_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        """{id: (fetched_at of its archived text's snapshot, snapshot id)} of the sources with archived text."""
        ...

    def move_snapshots(self, keep_id: int, drop_ids: Sequence[int]) -> int:
        """Move the snapshots of `drop_ids` to `keep_id`; how many moved."""
        ...

    def keep_archived_text(self, keep_id: int, text_from: int | None, drop_ids: Sequence[int]) -> None:
        """`keep_id` takes the archived text of `text_from`; the dropped sources' texts go."""
        ...

    def clear_citekeys(self, source_ids: Sequence[int]) -> None:
        """Forget the stored citation keys of these sources."""
        ...

    def update_merged_source(self, source_id: int, values: Mapping[str, Any]) -> None:
        """Write the combined columns (citekey, user_note, status, dates, …) of a merged source."""
        ...

    def delete_merged_sources(self, keep_id: int, drop_ids: Sequence[int], now: str) -> None:
        """Delete `drop_ids` (their evidence too); their URLs and aliases become aliases of `keep_id`."""
        ...

    def move_source_url(self, source_id: int, old: str | None, new: str, host: str | None, now: str) -> None:
        """Give a source the URL `new` (no other source has it); `old` becomes its alias."""
        ...


__all__ = ["LIST_SORTS", "Evidence", "EvidenceRow", "HistoryRow", "LiveFetch", "MergeRow", "NewEvidence",
           "SourcePeople", "SourcesStore"]


def source_dict(row: dict[str, Any], tags: list[str], mentions: list[dict[str, Any]]) -> dict[str, Any]:
    """A source as `refman list --json` shows it, from its row (as a dict of columns), tags and mentions: the
    same for every backend."""
    return {
        "id": row["id"],
        "url": row["url"],
        "url_as_written": row["url_as_written"],
        "citekey": row["citekey"],
        "type": row["type"],
        "title": row["title"],
        "issued": row["issued"],
        "container_title": row["container_title"],
        "publisher": row["publisher"],
        "author": json.loads(row["author"]) if row["author"] else [],
        "DOI": row["doi"],
        "language": row["language"],
        "abstract": row["abstract"],
        "tags": tags,
        "status": row["status"],
        "reason": row["reason"],
        "fetched_at": row["fetched_at"],
        "accessed": row["last_ok_at"],
        "note": row["user_note"],
        "added_by": row["added_by"],
        "first_cited_at": row["first_cited_at"],
        "mentions": mentions,
    }
