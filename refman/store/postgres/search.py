"""PostgreSQL implementation of refman.store.search.SearchStore: `search_doc`, tsquery, ts_rank_cd.

The index
---------
`search_doc` (migration 0002) has one row per source with the six columns of refman.store.search.INDEX_COLUMNS
in the index's form (the same strings as SQLite's FTS5 table) and `document`, their tsvector with the weights
title A, authors and tags B, site and notes C, body D, kept by triggers on the catalog's tables as on SQLite.
Bulk writers suspend those triggers (`search_index_batch`) and index in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table, any_, bindparam, select

from refman.models import Mention, Source, SourceTag, SourceText
from refman.store.postgres.base import PostgresBase
from refman.store.search import BulkIndex, Composer, IndexRow, IndexSource

_source: Table = Source.__table__  # type: ignore[attr-defined]
_source_tag: Table = SourceTag.__table__  # type: ignore[attr-defined]
_mention: Table = Mention.__table__  # type: ignore[attr-defined]
_source_text: Table = SourceText.__table__  # type: ignore[attr-defined]

_DOC_COLUMNS = ("source_id", "title", "authors", "site", "tags", "notes", "body")

# --- index upkeep statements ---------------------------------------------------------------------------------

_INDEX_SOURCE_COLUMNS = (_source.c.id, _source.c.title, _source.c.author, _source.c.host,
                         _source.c.container_title, _source.c.publisher, _source.c.user_note)
_SOURCES_BY_ID = select(*_INDEX_SOURCE_COLUMNS).where(_source.c.id == any_(bindparam("ids"))).order_by(_source.c.id)
_SOURCES_AFTER = (select(*_INDEX_SOURCE_COLUMNS).where(_source.c.id > bindparam("last"))
                  .order_by(_source.c.id).limit(bindparam("batch")))
_TAGS_OF = (select(_source_tag.c.source_id, _source_tag.c.tag)
            .where(_source_tag.c.source_id == any_(bindparam("ids")))
            .order_by(_source_tag.c.source_id, _source_tag.c.tag.collate("C")))
_MENTIONS_OF = (select(_mention.c.source_id, _mention.c.label, _mention.c.title, _mention.c.annotation)
                .where(_mention.c.source_id == any_(bindparam("ids"))).order_by(_mention.c.id))
_TEXTS_OF = select(_source_text.c.source_id, _source_text.c.text).where(
    _source_text.c.source_id == any_(bindparam("ids")))

# The index table is not one of refman.models' (it exists on PostgreSQL only): these are plain PostgreSQL.
_UPSERT_DOC = (
    "INSERT INTO search_doc (source_id, title, authors, site, tags, notes, body) "
    "VALUES (%(source_id)s, %(title)s, %(authors)s, %(site)s, %(tags)s, %(notes)s, %(body)s) "
    "ON CONFLICT (source_id) DO UPDATE SET title = excluded.title, authors = excluded.authors, "
    "site = excluded.site, tags = excluded.tags, notes = excluded.notes, body = excluded.body")
_DELETE_DOCS = "DELETE FROM search_doc WHERE source_id = ANY(%(ids)s)"
_COPY_DOCS = "COPY search_doc (source_id, title, authors, site, tags, notes, body) FROM STDIN"
# The index's upkeep triggers on the catalog's tables (not search_doc's own, which computes `document`).
_UPKEEP_TRIGGERS = (
    "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgname LIKE 'search\\_%' "
    "AND c.relname <> 'search_doc' AND c.relnamespace = to_regnamespace(current_schema()) "
    "ORDER BY c.relname, t.tgname")


def _doc_row(row: IndexRow) -> dict[str, Any]:
    return dict(zip(_DOC_COLUMNS, row, strict=True))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresSearch(PostgresBase):
    # --- index upkeep ------------------------------------------------------------------------------------

    def sources_to_index(self, ids: Sequence[int] | None = None) -> Iterator[IndexSource]:
        if ids is None:
            yield from self._all_sources_to_index()
            return
        for start in range(0, len(ids), 500):
            chunk = [int(i) for i in ids[start:start + 500]]
            sources = self.execute(_SOURCES_BY_ID, {"ids": chunk}).fetchall()
            yield from self._with_parts(sources, chunk)

    def _all_sources_to_index(self, batch: int = 2000) -> Iterator[IndexSource]:
        last = 0
        while True:
            sources = self.execute(_SOURCES_AFTER, {"last": last, "batch": batch}).fetchall()
            if not sources:
                return
            yield from self._with_parts(sources, [r[0] for r in sources])
            last = sources[-1][0]

    def _with_parts(self, sources: list[Any], ids: list[int]) -> Iterator[IndexSource]:
        """IndexSource for each source row, with the tags, mentions and text of the sources `ids`."""
        tags: dict[int, list[str]] = {}
        for sid, tag in self.execute(_TAGS_OF, {"ids": ids}):
            tags.setdefault(sid, []).append(tag)
        mentions: dict[int, list[tuple[str, str | None, str | None]]] = {}
        for sid, label, title, annotation in self.execute(_MENTIONS_OF, {"ids": ids}):
            mentions.setdefault(sid, []).append((label, title, annotation))
        texts = {sid: text for sid, text in self.execute(_TEXTS_OF, {"ids": ids})}
        for sid, title, author, host, container, publisher, note in sources:
            yield IndexSource(sid, title, author, host, container, publisher, note, tags.get(sid, []),
                              mentions.get(sid, []), texts.get(sid))

    def rebuild_search_index(self, rows: Iterable[IndexRow], optimize: bool = True) -> None:
        # DELETE, not TRUNCATE: readers keep searching the old index until the caller commits (TRUNCATE would
        # lock them out). COPY fires search_doc's row trigger, which computes `document`.
        with self.transaction():
            self.conn.execute("DELETE FROM search_doc")
            with self.conn.cursor() as cur, cur.copy(_COPY_DOCS) as copy:
                for row in rows:
                    copy.write_row(row)
            if optimize:
                self.conn.execute("ANALYZE search_doc")

    def _reindex(self, ids: Iterable[int], compose: Composer) -> None:
        wanted = sorted(set(ids))
        if not wanted:
            return
        self.execute(_DELETE_DOCS, {"ids": wanted})
        self.executemany(_UPSERT_DOC, [_doc_row(compose(s)) for s in self.sources_to_index(wanted)])

    @contextmanager
    def search_index_batch(self, compose: Composer) -> Iterator[BulkIndex]:
        """The per-row upkeep triggers are disabled inside the caller's transaction (a transaction of its own
        when there is none: a disabled trigger must never be committed); on exit the new sources' rows are added
        as given, the touched sources re-indexed from the catalog with `compose`, and the triggers enabled
        again. ALTER TABLE … DISABLE TRIGGER is transactional and takes a SHARE ROW EXCLUSIVE lock on the four
        tables until commit: other writers wait (as SQLite's BEGIN IMMEDIATE makes them), readers do not, and
        no other connection ever writes while the triggers are off. An error inside rolls back to the savepoint
        taken here (the block's writes and the disabling) and propagates."""
        with self.transaction():
            saved = [(name, rel) for name, rel in self.conn.execute(_UPKEEP_TRIGGERS)]
            for name, rel in saved:
                self.conn.execute(f"ALTER TABLE {_quote_ident(rel)} DISABLE TRIGGER {_quote_ident(name)}")
            bulk = BulkIndex()
            yield bulk
            self.executemany(_UPSERT_DOC, [_doc_row(r) for r in bulk.new_rows])
            self._reindex(bulk, compose)
            self._enable(saved)

    def _enable(self, triggers: list[tuple[str, str]]) -> None:
        for name, rel in triggers:
            self.conn.execute(f"ALTER TABLE {_quote_ident(rel)} ENABLE TRIGGER {_quote_ident(name)}")
