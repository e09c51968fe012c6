"""PostgreSQL implementation of refman.store.copy.CopyStore: whole tables read in chunks (keyset reads, Core on
refman.models' tables, text keys in code point order), batches written with COPY and ids taken from each table's
own sequence (what its SERIAL default calls: never max(id) + 1). The search index's rows of the sources a copy
touched are computed once at its end (copy_writer), as an import's are."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, String, Table, and_, any_, bindparam, cast, func, or_, select
from sqlalchemy.sql.expression import ColumnElement, Select

from refman.models import (
    Blob,
    FieldHistory,
    FieldValue,
    Mention,
    Note,
    Snapshot,
    Source,
    SourceAlias,
    SourceTag,
    SourceText,
)
from refman.store.copy import BLOB_COLUMNS, COPY_COLUMNS, COPY_KEYS, has_own_ids, write_columns
from refman.store.postgres.base import PostgresBase
from refman.store.search import BulkIndex, Composer

_TABLES: dict[str, Table] = {
    str(model.__tablename__): model.__table__  # type: ignore[union-attr]
    for model in (Note, Source, FieldValue, SourceTag, SourceAlias, Mention, Blob, Snapshot, SourceText, FieldHistory)
}
_blob = _TABLES["blob"]
_note = _TABLES["note"]

_READ_BLOBS = select(*(_blob.c[name] for name in BLOB_COLUMNS)).where(
    _blob.c.hash == any_(bindparam("hashes")))
_BLOBS_PRESENT = select(_blob.c.hash).where(_blob.c.hash == any_(bindparam("hashes")))
_places = func.unnest(cast(bindparam("owners"), ARRAY(String)), cast(bindparam("roots"), ARRAY(String)),
                      cast(bindparam("paths"), ARRAY(String))).table_valued(
    "owner", "root", "path").render_derived(name="p")
_NOTES_AT = (  # the owner's own note last: it wins over one without owner
    select(_places.c.owner, _note.c.root, _note.c.path, _note.c.id, _note.c.imported_at)
    .select_from(_places.join(_note, and_(_note.c.root == _places.c.root, _note.c.path == _places.c.path,
                                          or_(_note.c.owner == _places.c.owner, _note.c.owner.is_(None)))))
    .order_by(_note.c.owner.is_not(None))
)


def _key(table: Table, name: str) -> ColumnElement[Any]:
    col = table.c[name]
    return col.collate("C") if name in ("field", "origin", "tag", "url", "hash") else col


@cache
def _keyset(table_name: str, following: bool) -> Select[Any]:
    """The first chunk of a table by its key, or the chunk after the key bound as k0, k1, …"""
    table = _TABLES[table_name]
    keys = [_key(table, name) for name in COPY_KEYS[table_name]]
    query = select(*(table.c[name] for name in COPY_COLUMNS[table_name])).order_by(*keys).limit(bindparam("size"))
    if following:
        # (a, b, c) > (x, y, z) spelled out, so that each text column compares in the C collation
        bounds: list[Any] = [bindparam(f"k{i}") for i in range(len(keys))]
        terms = [and_(*(keys[j] == bounds[j] for j in range(i)), keys[i] > bounds[i]) for i in range(len(keys))]
        query = query.where(or_(*terms))
    return query


def _counts() -> str:
    return "SELECT " + ", ".join(f"(SELECT count(*) FROM {table})" for table in COPY_COLUMNS)


def _next_ids(table: str) -> str:
    return (f"SELECT nextval(s) FROM (SELECT pg_get_serial_sequence('{table}', 'id')::regclass AS s) AS q,"
            " generate_series(1, %(n)s)")


class PostgresCopy(PostgresBase):
    def copy_counts(self) -> dict[str, int]:
        row = self.execute(_counts()).fetchone()
        assert row is not None
        return {table: int(n) for table, n in zip(COPY_COLUMNS, row, strict=True)}

    def read_copy_rows(self, table: str, size: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        key_at = [COPY_COLUMNS[table].index(k) for k in COPY_KEYS[table]]
        rows = [tuple(r) for r in self.execute(_keyset(table, False), {"size": size})]
        while rows:
            yield rows
            if len(rows) < size:
                return
            last = rows[-1]
            params = {"size": size, **{f"k{i}": last[at] for i, at in enumerate(key_at)}}
            rows = [tuple(r) for r in self.execute(_keyset(table, True), params)]

    def read_blobs(self, hashes: Sequence[str]) -> list[tuple[Any, ...]]:
        return [(*r[:4], bytes(r[4])) for r in self.execute(_READ_BLOBS, {"hashes": list(hashes)})]

    def blobs_present(self, hashes: Sequence[str]) -> set[str]:
        return {h for (h,) in self.execute(_BLOBS_PRESENT, {"hashes": list(hashes)})}

    def notes_at(self, places: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple[int, str]]:
        if not places:
            return {}
        rows = self.execute(_NOTES_AT, {"owners": [p[0] for p in places], "roots": [p[1] for p in places],
                                        "paths": [p[2] for p in places]})
        return {(owner, root, path): (int(nid), imported_at) for owner, root, path, nid, imported_at in rows}

    def write_copy_rows(self, table: str, rows: Sequence[Sequence[Any]]) -> list[int]:
        if not rows:
            return []
        columns = write_columns(table)
        if table in ("blob", "source_text"):
            marks = ", ".join(f"%(c{i})s" for i in range(len(columns)))
            conflict = ("ON CONFLICT (hash) DO NOTHING" if table == "blob" else
                        "ON CONFLICT (source_id) DO UPDATE SET "
                        + ", ".join(f"{c} = excluded.{c}" for c in columns[1:]))
            self.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) {conflict}",
                             [{f"c{i}": v for i, v in enumerate(row)} for row in rows])
            return []
        if not has_own_ids(table):
            self._copy_rows_in(table, columns, rows)
            return []
        ids = sorted(int(i) for (i,) in self.execute(_next_ids(table), {"n": len(rows)}))
        self._copy_rows_in(table, ("id", *columns), [(i, *row) for i, row in zip(ids, rows, strict=True)])
        return ids

    def _copy_rows_in(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @contextmanager
    def copy_writer(self, compose: Composer) -> Iterator[BulkIndex]:
        """The search index's per-row upkeep is suspended for the copy and the touched sources re-indexed once at
        its end (refman.store.postgres.search: search_index_batch)."""
        with self.search_index_batch(compose) as bulk:  # type: ignore[attr-defined]
            yield bulk
