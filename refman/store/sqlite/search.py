"""SQLite implementation of refman.store.search.SearchStore: FTS5, bm25 ranking, the index triggers.

The index
---------
`search_fts` (migration 0002) is an FTS5 table with one row per source (rowid = source.id) and the columns of
refman.store.search.INDEX_COLUMNS. Ranking is bm25 with the column weights 10, 4, 3, 5, 3, 1 (title highest,
archived text lowest), stored as the table's `rank` setting, in two tiers: sources matching in the describing
columns (all but body) first, then those matching only with the body (see `_ranked`: it keeps common words
fast in a catalog of 100,000 archived pages).

Triggers on source, source_tag, mention and source_text update `search_fts` in the same transaction as the
catalog write, from any connection (the CJK spacing is done in plain SQL, see the migration), so writers need
not know the index exists. Bulk writers suspend them (`search_index_batch`) and index in Python.

From a parsed query (refman.search_query) to FTS5
-------------------------------------------------
Every term reaches FTS5 only inside double quotes (quotes doubled), so no user text is ever FTS5 syntax;
operators and parentheses come from `fts5_query` alone. FTS5 cannot match "everything but": a query of
negations only becomes an `exclude` expression (sources NOT IN its matches)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from refman.errors import QueryError
from refman.store.search import (
    FIELD_NAMES,
    HL_CLOSE,
    HL_OPEN,
    INDEX_COLUMNS,
    And,
    ArchivedCopy,
    BulkIndex,
    CitingMention,
    Composer,
    CurrentText,
    Facets,
    IndexRow,
    IndexSource,
    Node,
    Not,
    Or,
    ParsedQuery,
    SearchHit,
    SourceFilter,
    SourceHeading,
    Term,
)
from refman.store.sqlite.base import SqliteBase

SNIPPET_TOKENS = 24
_SITE_SQL = "coalesce(nullif(s.container_title, ''), nullif(s.publisher, ''), s.host)"
# Columns that describe the work (its title, authors, site, the user's tags and notes) as opposed to the body.
_DESCRIBING = "{" + " ".join(c for c in INDEX_COLUMNS if c != "body") + "}"
_INSERT_ROW = "INSERT INTO search_fts(rowid, title, authors, site, tags, notes, body) VALUES (?, ?, ?, ?, ?, ?, ?)"
_GOOD = "outcome IN ('ok', 'thin') AND body_hash IS NOT NULL"
_COPY_COLUMNS = "id, source_id, fetched_at, origin, memento_at, body_hash, content_type, charset, final_url"


# --- the parsed query as FTS5 ----------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _term(term: Term) -> str:
    expr = _quote(term.tokens) + ("*" if term.prefix else "")
    return f"{term.column} : {expr}" if term.column else expr


def _compile(node: Node) -> str | None:
    """FTS5 text for node, or None when node has no positive part (a lone negation)."""
    if isinstance(node, Term):
        return _term(node)
    if isinstance(node, Not):
        return None
    if isinstance(node, Or):
        parts = [p for p in (_compile(c) for c in node.children) if p is not None]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    positives = [p for p in (_compile(c) for c in node.children if not isinstance(c, Not)) if p is not None]
    negatives = [p for p in (_compile(c.child) for c in node.children if isinstance(c, Not)) if p is not None]
    if not positives:
        return None
    expr = positives[0] if len(positives) == 1 else "(" + " AND ".join(positives) + ")"
    if negatives:
        expr = f"({expr} NOT ({' OR '.join(negatives)}))"
    return expr


def fts5_query(query: ParsedQuery) -> tuple[str | None, str | None]:
    """(match, exclude): rows must match `match` (None: no positive condition); rows matching `exclude` are
    left out (a query of negations only, which FTS5 cannot express by itself)."""
    tree = query.tree
    if tree is None:
        return None, None
    match = _compile(tree)
    if match is None:
        nots = tree.children if isinstance(tree, And) else (tree,)
        negs = [p for p in (_compile(c.child) for c in nots if isinstance(c, Not)) if p is not None]
        return None, (" OR ".join(negs) if negs else None)
    if query.adjacent is not None:
        # The same rows (the phrase implies the words), but bm25 scores the phrase too.
        match = f"({match}) OR {_quote(query.adjacent)}"
    return match, None


# --- filters as WHERE clauses over `source s` ------------------------------------------------------------


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def source_filter_sql(where: SourceFilter) -> tuple[list[str], list[object]]:
    """SQL conditions on `source s` (ANDed) and their parameters; also used by the listing of sources."""
    conditions: list[str] = []
    params: list[object] = []
    for tag in where.tags:
        conditions.append("EXISTS (SELECT 1 FROM source_tag t WHERE t.source_id = s.id AND t.tag = ? COLLATE NOCASE)")
        params.append(tag)
    if where.since:
        # Compare at the precision both have: --since 2024 keeps 2024-01-05, --until 2024 keeps 2024-12, and
        # a bare "2024" counts as overlapping --since 2024-06.
        conditions.append("s.issued IS NOT NULL AND substr(s.issued, 1, ?) >= substr(?, 1, length(s.issued))")
        params += [len(where.since), where.since]
    if where.until:
        conditions.append("s.issued IS NOT NULL AND substr(s.issued, 1, ?) <= substr(?, 1, length(s.issued))")
        params += [len(where.until), where.until]
    if where.domain:
        conditions.append("(lower(s.host) = ? OR lower(s.host) LIKE ? ESCAPE '\\')")
        params += [where.domain, "%." + _like_escape(where.domain)]
    if where.status:
        conditions.append("s.status = ?")
        params.append(where.status)
    if where.note_ids is not None:
        conditions.append(f"EXISTS (SELECT 1 FROM mention m WHERE m.source_id = s.id AND m.note_id IN "
                          f"({','.join(str(int(i)) for i in where.note_ids)}))")
    return conditions, params


def _raise_query_error(exc: sqlite3.OperationalError) -> None:
    """FTS5's complaints as a QueryError. Cannot happen for a well-formed parsed query; never let it surface as
    a traceback."""
    if "fts5" in str(exc) or "syntax" in str(exc) or "no such" in str(exc):
        raise QueryError(f"cannot run this search: {exc}") from exc


def _score(rank: float) -> float:
    # Four significant digits, not four decimals: bm25 clamps the IDF of a term found in most rows to 1e-6,
    # so a small catalog's scores would otherwise all print as 0.0.
    return float(f"{-float(rank):.4g}")


class SqliteSearch(SqliteBase):
    # --- searching ---------------------------------------------------------------------------------------

    def search_sources(self, query: ParsedQuery, where: SourceFilter, limit: int, offset: int) -> list[SearchHit]:
        match, exclude = fts5_query(query)
        conditions, params = source_filter_sql(where)
        try:
            if match is not None:
                return self._ranked(match, conditions, params, limit, offset)
            return self._listed(exclude, conditions, params, limit, offset)
        except sqlite3.OperationalError as exc:
            _raise_query_error(exc)
            raise

    def count_search_matches(self, query: ParsedQuery, where: SourceFilter) -> int:
        match, exclude = fts5_query(query)
        conditions, params = source_filter_sql(where)
        try:
            if match is not None:
                return self._count(match, conditions, params)
            if exclude is not None:
                conditions.append("s.id NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)")
                params.append(exclude)
            sql_where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
            return int(self.conn.execute(f"SELECT count(*) FROM source s {sql_where}", params).fetchone()[0])
        except sqlite3.OperationalError as exc:
            _raise_query_error(exc)
            raise

    def _ranked(self, match: str, where: list[str], params: list[object], limit: int,
                offset: int) -> list[SearchHit]:
        """Two tiers: sources whose describing columns match come first, ranked by bm25 over those columns;
        then sources that match only with the archived text, ranked by bm25 over all columns.

        bm25 has to score every matching row before it can return the best 20, and its cost grows with the
        number of term occurrences: a common word ('data', '数据') occurs thousands of times in 100,000
        archived pages. The first tier scores only occurrences in the short columns, and when it fills the
        page, the body is never scored. It is also the order users expect: a source titled, tagged or
        annotated with the words is what they were looking for, before a page that merely uses them."""
        describing = f"{_DESCRIBING} : ({match})"
        if " NOT " in match:  # a column filter over NOT would only exclude words in those columns
            describing = f"({match}) AND ({describing})"
        rows = self._rank_rows(describing, where, params, limit, offset)
        if len(rows) < limit:
            skipped = 0
            if offset:
                skipped = self._count(describing, where, params) if not rows else offset + len(rows)
            rows += self._rank_rows(f"({match}) NOT ({describing})", where, params, limit - len(rows),
                                    max(0, offset - skipped))
        hits = []
        for sid, url, title, issued, site, rank in rows:
            snippet, fields = self._snippet(match, sid)
            hits.append(SearchHit(id=sid, url=url, title=title, issued=issued, site=site, score=_score(rank),
                                  snippet=snippet, matched_fields=fields))
        return hits

    def _rank_rows(self, match: str, where: list[str], params: list[object], limit: int,
                   offset: int) -> list[tuple[Any, ...]]:
        conditions = " AND ".join(["search_fts MATCH ?", *where])
        return [tuple(r) for r in self.conn.execute(
            f"SELECT s.id, s.url, s.title, s.issued, {_SITE_SQL} AS site, search_fts.rank AS rank "
            f"FROM search_fts JOIN source s ON s.id = search_fts.rowid WHERE {conditions} "
            "ORDER BY search_fts.rank LIMIT ? OFFSET ?", [match, *params, limit, offset])]

    def _count(self, match: str, where: list[str], params: list[object]) -> int:
        conditions = " AND ".join(["search_fts MATCH ?", *where])
        return int(self.conn.execute(f"SELECT count(*) FROM search_fts JOIN source s ON s.id = search_fts.rowid "
                                     f"WHERE {conditions}", [match, *params]).fetchone()[0])

    def _snippet(self, match: str, rowid: int) -> tuple[str, list[str]]:
        """The snippet to show and the fields that matched, for one result row (only shown rows pay this)."""
        o, c = HL_OPEN, HL_CLOSE
        cols = ", ".join(f"snippet(search_fts, {i}, '{o}', '{c}', '…', {SNIPPET_TOKENS})"
                         for i in range(len(INDEX_COLUMNS)))
        row = self.conn.execute(f"SELECT {cols} FROM search_fts WHERE search_fts MATCH ? AND rowid = ?",
                                (match, rowid)).fetchone()
        if row is None:
            return "", []
        texts = dict(zip(INDEX_COLUMNS, row, strict=True))
        matched = [FIELD_NAMES[col] for col in INDEX_COLUMNS if texts[col] and o in texts[col]]
        for col in ("body", "notes", "title"):
            if texts[col] and o in texts[col]:
                return texts[col], matched
        for col in ("title", "notes", "body"):  # matched elsewhere (authors, site, tags): show what there is
            if texts[col]:
                return texts[col], matched
        return "", matched

    def _listed(self, exclude: str | None, where: list[str], params: list[object], limit: int,
                offset: int) -> list[SearchHit]:
        conditions = list(where)
        args = list(params)
        if exclude is not None:
            conditions.append("s.id NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)")
            args.append(exclude)
        sql_where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
        rows = self.conn.execute(
            f"SELECT s.id, s.url, s.title, s.issued, {_SITE_SQL} AS site, "
            "(SELECT substr(coalesce(nullif(trim(f.notes), ''), f.body), 1, 400) FROM search_fts f "
            " WHERE f.rowid = s.id) AS preview "
            f"FROM source s {sql_where} ORDER BY s.issued IS NULL, s.issued DESC, s.id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset])
        return [SearchHit(id=sid, url=url, title=title, issued=issued, site=site, score=None,
                          snippet=preview or "", matched_fields=[])
                for sid, url, title, issued, site, preview in rows]

    # --- index upkeep ------------------------------------------------------------------------------------

    def sources_to_index(self, ids: Sequence[int] | None = None) -> Iterator[IndexSource]:
        if ids is None:
            yield from self._all_sources_to_index()
            return
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            sources = self.conn.execute("SELECT id, title, author, host, container_title, publisher, user_note"
                                        f" FROM source WHERE id IN ({marks})", chunk).fetchall()
            yield from self._with_parts(sources, f"IN ({marks})", chunk)

    def _all_sources_to_index(self, batch: int = 2000) -> Iterator[IndexSource]:
        last = 0
        while True:
            sources = self.conn.execute(
                "SELECT id, title, author, host, container_title, publisher, user_note FROM source WHERE id > ? "
                "ORDER BY id LIMIT ?", (last, batch)).fetchall()
            if not sources:
                return
            lo, hi = sources[0][0], sources[-1][0]
            yield from self._with_parts(sources, "BETWEEN ? AND ?", [lo, hi])
            last = hi

    def _with_parts(self, sources: list[Any], cond: str, args: list[int]) -> Iterator[IndexSource]:
        """IndexSource for each source row, with the tags, mentions and text of sources whose id is `cond`."""
        tags: dict[int, list[str]] = {}
        for sid, tag in self.conn.execute(f"SELECT source_id, tag FROM source_tag WHERE source_id {cond} "
                                          "ORDER BY source_id, tag", args):
            tags.setdefault(sid, []).append(tag)
        mentions: dict[int, list[tuple[str, str | None, str | None]]] = {}
        for sid, label, title, annotation in self.conn.execute(
                f"SELECT source_id, label, title, annotation FROM mention WHERE source_id {cond} ORDER BY id", args):
            mentions.setdefault(sid, []).append((label, title, annotation))
        texts = dict(self.conn.execute(f"SELECT source_id, text FROM source_text WHERE source_id {cond}",
                                       args).fetchall())
        for sid, title, author, host, container, publisher, note in sources:
            yield IndexSource(sid, title, author, host, container, publisher, note, tags.get(sid, []),
                              mentions.get(sid, []), texts.get(sid))

    def rebuild_search_index(self, rows: Iterable[IndexRow], optimize: bool = True) -> None:
        # The table is dropped and created again from its own stored definition (faster than deleting 100k
        # rows one by one, and it keeps whatever a later migration defined).
        conn = self.conn
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'search_fts'").fetchone()
        if row is None:
            raise QueryError("this catalog has no search index; run `refman db upgrade`")
        config = conn.execute("SELECT k, v FROM search_fts_config WHERE k <> 'version'").fetchall()
        conn.execute("DROP TABLE search_fts")
        conn.execute(row[0])
        for k, v in config:
            conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES (?, ?)", (k, v))  # rank, pgsz, …
        conn.executemany(_INSERT_ROW, rows)
        if optimize:
            conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")

    def _reindex(self, ids: Iterable[int], compose: Composer) -> None:
        wanted = sorted(set(ids))
        self.conn.executemany("DELETE FROM search_fts WHERE rowid = ?", [(sid,) for sid in wanted])
        self.conn.executemany(_INSERT_ROW, (compose(s) for s in self.sources_to_index(wanted)))

    @contextmanager
    def search_index_batch(self, compose: Composer) -> Iterator[BulkIndex]:
        """The per-row triggers, which space CJK text in SQL, would re-index a source once per mention. Inside
        the caller's transaction they are dropped; the caller fills the yielded BulkIndex; on exit the new
        sources' rows are inserted as given (no delete: a new id has no row, unless a stale one above every
        source id, which is cleared), the touched existing sources are re-indexed from the catalog with
        `compose`, and the triggers are restored. DDL is transactional in SQLite, so a rollback restores the
        triggers too; other connections never see the catalog without them."""
        conn = self.conn
        saved = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search\\_%' ESCAPE '\\'"
        ).fetchall()
        bulk = BulkIndex()
        if saved:
            first_new = (conn.execute("SELECT max(id) FROM source").fetchone()[0] or 0) + 1
            stale = conn.execute("SELECT max(rowid) FROM search_fts").fetchone()[0]
            if stale is not None and stale >= first_new:
                conn.execute("DELETE FROM search_fts WHERE rowid >= ?", (first_new,))
            bulk.insert_now = self._insert_index_rows
        for name, _sql in saved:
            conn.execute(f'DROP TRIGGER "{name}"')
        yield bulk
        if saved:
            self._insert_index_rows(bulk.new_rows)
            self._reindex(bulk, compose)
        for _name, sql in saved:
            conn.execute(sql)

    def _insert_index_rows(self, rows: Iterable[IndexRow]) -> None:
        self.conn.executemany(_INSERT_ROW, rows)

    # --- reading the archive -----------------------------------------------------------------------------

    def archived_copies(self, source_id: int) -> list[ArchivedCopy]:
        return [ArchivedCopy(*r) for r in self.conn.execute(
            f"SELECT {_COPY_COLUMNS} FROM snapshot WHERE source_id = ? AND {_GOOD} ORDER BY fetched_at DESC, id DESC",
            (source_id,))]

    def archived_copy(self, snapshot_id: int) -> ArchivedCopy | None:
        row = self.conn.execute(f"SELECT {_COPY_COLUMNS} FROM snapshot WHERE id = ? AND {_GOOD}",
                                (snapshot_id,)).fetchone()
        return None if row is None else ArchivedCopy(*row)

    def current_text(self, source_id: int) -> CurrentText | None:
        row = self.conn.execute(
            "SELECT t.markdown_hash, t.text, s.body_hash FROM source_text t JOIN snapshot s ON s.id = t.snapshot_id "
            "WHERE t.source_id = ?", (source_id,)).fetchone()
        return None if row is None else CurrentText(*row)

    def source_heading(self, source_id: int) -> SourceHeading | None:
        row = self.conn.execute("SELECT id, title, url FROM source WHERE id = ?", (source_id,)).fetchone()
        return None if row is None else SourceHeading(*row)

    def fetch_attempts(self, source_id: int, limit: int) -> list[dict[str, Any]]:
        cur = self.conn.execute(
            "SELECT id, fetched_at, outcome, http_status, size, unchanged, reason, origin, memento_at "
            "FROM snapshot WHERE source_id = ? ORDER BY fetched_at DESC, id DESC LIMIT ?", (source_id, limit))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def notes_overview(self) -> list[tuple[str, str, int, int]]:
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(
            "SELECT n.path, n.root, count(DISTINCT m.source_id), count(m.id) FROM note n "
            "LEFT JOIN mention m ON m.note_id = n.id GROUP BY n.id ORDER BY n.path, n.root")]

    def note_paths(self, note_ids: Sequence[int]) -> list[str]:
        return [r[0] for r in self.conn.execute(
            f"SELECT path FROM note WHERE id IN ({','.join('?' * len(note_ids))}) ORDER BY path", list(note_ids))]

    def citing_mentions(self, source_id: int) -> list[CitingMention]:
        return [CitingMention(*r) for r in self.conn.execute(
            "SELECT n.path, n.root, m.line, m.label, m.annotation, m.kind FROM mention m "
            "JOIN note n ON n.id = m.note_id WHERE m.source_id = ? ORDER BY n.path, m.line", (source_id,))]

    def checked_source_ids(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM source WHERE fetched_at IS NOT NULL")]

    def check_dates(self, ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        facts: dict[int, tuple[str | None, str | None]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            for sid, title, fetched_at in self.conn.execute(
                f"SELECT id, title, fetched_at FROM source WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ):
                facts[sid] = (title, fetched_at)
        return facts

    def facet_counts(self, top: int) -> Facets:
        conn = self.conn
        return Facets(
            tags=[(r[0], r[1]) for r in conn.execute(
                "SELECT tag, count(*) FROM source_tag GROUP BY tag ORDER BY 2 DESC, 1 LIMIT ?", (top,))],
            sites=[(r[0], r[1]) for r in conn.execute(
                "SELECT host, count(*) FROM source GROUP BY host ORDER BY 2 DESC, 1 LIMIT ?", (top,))],
            statuses=[(r[0], r[1]) for r in conn.execute(
                "SELECT status, count(*) FROM source GROUP BY status ORDER BY 2 DESC, 1")],
            notes=[(r[0], r[1]) for r in conn.execute(
                "SELECT n.path, count(DISTINCT m.source_id) FROM note n JOIN mention m ON m.note_id = n.id "
                "GROUP BY n.id")],
        )

    def catalog_counts(self) -> dict[str, int]:
        row = self.conn.execute("SELECT (SELECT count(*) FROM source), (SELECT count(*) FROM source_text), "
                                "(SELECT count(*) FROM note)").fetchone()
        return {"sources": row[0], "archived": row[1], "notes": row[2]}
