"""SQLite implementation of refman.store.copy.CopyStore: whole tables in chunks (keyset reads on each table's key),
batches written with executemany and ids given as max(id) + 1, … inside the write transaction (which holds the
catalog's write lock, so nobody else takes them meanwhile)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from refman.store.copy import COPY_COLUMNS, COPY_KEYS, has_own_ids, write_columns
from refman.store.search import BulkIndex, Composer
from refman.store.sqlite.base import SqliteBase


def _keyset_sql(table: str) -> tuple[str, str]:
    """(first chunk, next chunk) statements of `table`: by its key, the next ones after the last key read."""
    columns, keys = COPY_COLUMNS[table], COPY_KEYS[table]
    head = f"SELECT {', '.join(columns)} FROM {table}"
    order = f" ORDER BY {', '.join(keys)} LIMIT ?"
    after = f"({', '.join(keys)}) > ({', '.join('?' * len(keys))})" if len(keys) > 1 else f"{keys[0]} > ?"
    return head + order, f"{head} WHERE {after}{order}"


class SqliteCopy(SqliteBase):
    def copy_counts(self) -> dict[str, int]:
        return {table: int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in COPY_COLUMNS}

    def read_copy_rows(self, table: str, size: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        first, following = _keyset_sql(table)
        key_at = [COPY_COLUMNS[table].index(k) for k in COPY_KEYS[table]]
        cur = self._plain_cursor()
        rows = cur.execute(first, (size,)).fetchall()
        while rows:
            yield rows
            if len(rows) < size:
                return
            last = rows[-1]
            rows = cur.execute(following, (*(last[i] for i in key_at), size)).fetchall()

    def _plain_cursor(self) -> sqlite3.Cursor:
        """A cursor giving plain tuples (the connection's rows are sqlite3.Row)."""
        cur = self.conn.cursor()
        cur.row_factory = None
        return cur

    def read_blobs(self, hashes: Sequence[str]) -> list[tuple[Any, ...]]:
        return self._plain_cursor().execute(
            "SELECT b.hash, b.codec, b.size, b.stored_size, b.data FROM json_each(?) j JOIN blob b ON b.hash = j.value",
            (json.dumps(list(hashes)),)).fetchall()

    def blobs_present(self, hashes: Sequence[str]) -> set[str]:
        return {h for (h,) in self.conn.execute(
            "SELECT b.hash FROM json_each(?) j JOIN blob b ON b.hash = j.value", (json.dumps(list(hashes)),))}

    def notes_at(self, places: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple[int, str]]:
        rows = self.conn.execute(  # the owner's own note last: it wins over one without owner
            "SELECT j.value ->> 0, n.root, n.path, n.id, n.imported_at FROM json_each(?) j"
            " JOIN note n ON n.root = j.value ->> 1 AND n.path = j.value ->> 2"
            " AND (n.owner = j.value ->> 0 OR n.owner IS NULL) ORDER BY n.owner IS NOT NULL",
            (json.dumps([list(p) for p in places], ensure_ascii=False),))
        return {(owner, root, path): (int(nid), imported_at) for owner, root, path, nid, imported_at in rows}

    def write_copy_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        if not rows:
            return []
        columns = write_columns(table)
        marks = ", ".join("?" * (len(columns) + has_own_ids(table)))
        if not has_own_ids(table):
            verb = {"blob": "INSERT OR IGNORE", "source_text": "INSERT OR REPLACE"}.get(table, "INSERT")
            self.conn.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            return []
        start = int(self.conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])
        ids = list(range(start, start + len(rows)))
        self.conn.executemany(f"INSERT INTO {table} (id, {', '.join(columns)}) VALUES ({marks})",
                              [(i, *row) for i, row in zip(ids, rows, strict=True)])
        return ids

    @contextmanager
    def copy_writer(self, compose: Composer) -> Iterator[BulkIndex]:
        with self.bulk_import(), self.search_index_batch(compose) as bulk:  # type: ignore[attr-defined]
            yield bulk
