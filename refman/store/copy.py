"""Copying a catalog into another (`refman db copy`, refman.catalog_copy): the whole tables read in chunks from one
store, written in batches into another, with the target's own ids.

Backend-neutral: the Protocol and the column lists it speaks in. The SQLite implementation is
refman.store.sqlite.copy, the PostgreSQL one refman.store.postgres.copy. The column lists are refman.models'
columns (tests/store_contract/test_store_copy.py checks that they agree) written out here, so that this module
stays free of SQLAlchemy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from refman.store.fetch import SNAPSHOT_COLUMNS
from refman.store.search import BulkIndex, Composer

SOURCE_COLUMNS: tuple[str, ...] = (
    "url", "url_as_written", "host", "created_at", "updated_at", "user_note", "added_by", "label_note",
    "first_cited_at", "citekey", "status", "reason", "fetched_at", "last_ok_at", "fail_count", "failing_since",
    "type", "title", "issued", "container_title", "publisher", "author", "doi", "language", "abstract", "isbn",
    "created_by", "updated_by",
)

# The tables a copy reads and writes, each with its columns in the order rows are read and written. The tables
# whose first column is `id` get the target's own ids: a row read has its id first, a row written has none (the
# store gives it one and returns it). `blob` rows are read without their bytes (read_blobs gives those).
COPY_COLUMNS: dict[str, tuple[str, ...]] = {
    "note": ("id", "root", "path", "size", "mtime_ns", "sha256", "encoding", "status", "reason", "imported_at",
             "owner"),
    "source": ("id", *SOURCE_COLUMNS),
    "field_value": ("source_id", "field", "origin", "value", "updated_at", "changed_by"),
    "source_tag": ("source_id", "tag", "added_by"),
    "source_alias": ("url", "source_id", "created_at"),
    "mention": ("id", "source_id", "note_id", "ordinal", "line", "label", "title", "annotation", "flag", "kind",
                "link_text"),
    "blob": ("hash", "codec", "size", "stored_size"),
    "snapshot": ("id", *SNAPSHOT_COLUMNS),
    "source_text": ("source_id", "snapshot_id", "text", "markdown_hash"),
    "field_history": ("id", "source_id", "field", "origin", "value", "changed_by", "changed_at", "replaced_by",
                      "replaced_at"),
}
# The key each table's rows are read in order of (chunk after chunk, by the key of the last row read).
COPY_KEYS: dict[str, tuple[str, ...]] = {
    "note": ("id",), "source": ("id",), "field_value": ("source_id", "field", "origin"),
    "source_tag": ("source_id", "tag"), "source_alias": ("url",), "mention": ("id",), "blob": ("hash",),
    "snapshot": ("id",), "source_text": ("source_id",), "field_history": ("id",),
}
# The columns of a blob as written (read_blobs returns them in this order).
BLOB_COLUMNS: tuple[str, ...] = ("hash", "codec", "size", "stored_size", "data")


def write_columns(table: str) -> tuple[str, ...]:
    """The columns of a row given to `write_copy_rows(table, …)`: those read, without the id."""
    if table == "blob":
        return BLOB_COLUMNS
    columns = COPY_COLUMNS[table]
    return columns[1:] if columns[0] == "id" else columns


def has_own_ids(table: str) -> bool:
    """Whether rows of `table` get their ids from the store that writes them."""
    return COPY_COLUMNS[table][0] == "id"


class CopyStore(Protocol):
    """Whole tables out of one catalog and into another. Reads see one moment of the catalog when made inside
    `read_snapshot()`; writes happen inside `store.transaction()`."""

    def copy_counts(self) -> dict[str, int]:
        """How many rows each table of COPY_COLUMNS holds."""
        ...

    def read_copy_rows(self, table: str, size: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        """Every row of `table` (COPY_COLUMNS order), by COPY_KEYS, `size` at a time; each chunk is read
        completely before it is yielded."""
        ...

    def read_blobs(self, hashes: Sequence[str]) -> list[tuple[Any, ...]]:
        """The blobs with these hashes (BLOB_COLUMNS order, bytes as stored); unknown hashes are left out."""
        ...

    def blobs_present(self, hashes: Sequence[str]) -> set[str]:
        """Those of `hashes` that are stored."""
        ...

    def notes_at(self, places: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple[int, str]]:
        """{(owner, root, path): (note id, imported_at)} of the notes at these places that exist: the owner's, else
        one without owner (imported before refman recorded owners) at that root and path."""
        ...

    def write_copy_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Insert rows (write_columns(table) order) in one batch; returns the ids given when the table has its
        own (has_own_ids), in the order of `rows`, else []. A blob already stored is left as it is; a source's
        archived text (`source_text`) replaces the one it has."""
        ...

    def copy_writer(self, compose: Composer) -> AbstractContextManager[BulkIndex]:
        """Around the writes of a copy (inside the caller's transaction): the store may tune itself for bulk
        writes and suspend per-row search index upkeep; the ids added to the yielded BulkIndex are re-indexed
        with `compose` on exit."""
        ...


__all__ = ["BLOB_COLUMNS", "COPY_COLUMNS", "COPY_KEYS", "SOURCE_COLUMNS", "CopyStore", "has_own_ids",
           "write_columns"]
