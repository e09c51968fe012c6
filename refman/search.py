"""Full-text search over the catalog: query handling, filters, ranking, snippets, and the index rebuild.

The index
---------
`search_fts` (migration 0002) is an FTS5 table with one row per source (rowid = source.id) and the columns
title, authors, site (host, container title, publisher), tags, notes (the source's --note text plus the label,
link title and annotation of every mention) and body (the archived main text). Ranking is bm25 with the column
weights 10, 4, 3, 5, 3, 1 (title highest, archived text lowest), stored as the table's `rank` setting, in two
tiers: sources matching in the describing columns (all but body) first, then those matching only with the body
(see `_ranked`: it keeps common words fast in a catalog of 100,000 archived pages).

Chinese, Japanese and Korean text
---------------------------------
unicode61 keeps a run of CJK characters as one token, so `数据` would not find `数据库与数据仓库`. The indexed
copy of every column has a space on both sides of each CJK character, making each character a token; a CJK
query word becomes a phrase of its characters (`数据库` → `"数 据 库"`), which matches that exact run anywhere.
1-, 2-, 3- and 6-character words all work, and mixed words (`RDMA网络`) are phrases of mixed tokens.
Measured against the alternatives (benchmarks/bench_search.py --compare: 10,000 documents of ~5 KB, a third
of them Chinese, one FTS5 column, SQLite 3.40):

* per-character (shipped): index 24 MB, build 6.0 s; 数据 知乎 网络 数据库 推理优化 仓库 all found (recall
  100 %), ranked queries 5–8 ms;
* trigram tokenizer: index 105 MB (4.3×), build 9.3 s; finds nothing for 2-character words (数据, 知乎, 网络,
  仓库: 0 %), and matches English substrings (`art` in `start`);
* CJK bigrams (overlapping pairs as tokens): index 30 MB (+20 %), build 4.3 s, queries 3–7 ms (a 2-character
  word is one token lookup); loses single characters and needs the same preprocessing problem solved in SQL;
* jieba word segmentation (not measured here: not installed): a dictionary to load in every process that
  writes or searches, and recall depends on the segmenter agreeing with itself (数据 inside 数据库 is missed
  when 数据库 is one word).

Per-character phrases give exact substring recall for any length with the smallest index and no dependency;
the cost is some speed on very frequent characters, well inside the latency targets.

Keeping the index in sync
-------------------------
Triggers on source, source_tag, mention and source_text update `search_fts` in the same transaction as the
catalog write, from any connection (the CJK spacing is done in plain SQL, see the migration), so import,
fetch and tag code need not know the index exists. `rebuild_index` (`refman db reindex`) recomputes every
row in Python (the same text the triggers produce, much faster in bulk).

This module imports only the standard library: `refman search` must start fast.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from refman.errors import QueryError
from refman.search_query import CJK_RANGES, TAG_CLOSE, TAG_OPEN, CompiledQuery, cjk_space, parse_query

__all__ = ["SearchFilters", "SearchHit", "cjk_space", "compose_row", "parse_query", "rebuild_index", "search",
           "unspace"]

COLUMNS = ("title", "authors", "site", "tags", "notes", "body")
WEIGHTS = (10.0, 4.0, 3.0, 5.0, 3.0, 1.0)
# What --json and the table call each column.
FIELD_NAMES = {"title": "title", "authors": "authors", "site": "site", "tags": "tags", "notes": "notes",
               "body": "text"}
HL_OPEN, HL_CLOSE = "\x02", "\x03"  # highlight markers: control characters never present in indexed text
SNIPPET_TOKENS = 24
_UNSPACE = re.compile(f" ?({HL_OPEN}?)([{CJK_RANGES}])({HL_CLOSE}?) ?")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_SITE_SQL = "coalesce(nullif(s.container_title, ''), nullif(s.publisher, ''), s.host)"


@dataclass
class SearchFilters:
    """Conditions on the catalog applied with (or without) a text query."""

    tags: Sequence[str] = ()
    since: str | None = None  # ISO date, possibly partial: "2024", "2024-06", "2024-06-30"
    until: str | None = None
    site: str | None = None  # a domain: the host itself or any subdomain of it
    cited_in: str | None = None  # a note path relative to its vault root, or a folder ("notes/")
    status: str | None = None

    @property
    def any(self) -> bool:
        return bool(self.tags or self.since or self.until or self.site or self.cited_in or self.status)


@dataclass
class SearchHit:
    id: int
    url: str
    title: str | None
    issued: str | None
    site: str | None
    score: float | None  # -bm25: higher is better; None when no text query ranked the rows
    snippet: str  # highlighted words between HL_OPEN and HL_CLOSE
    matched_fields: list[str] = field(default_factory=list)

    def to_json(self, open_mark: str = "**", close_mark: str = "**") -> dict[str, object]:
        data = asdict(self)
        data["snippet"] = self.snippet.replace(HL_OPEN, open_mark).replace(HL_CLOSE, close_mark)
        return data


# --- indexed text ----------------------------------------------------------------------------------------


def unspace(text: str) -> str:
    """Undo the indexing spaces around CJK characters (and fold whitespace) in text shown to people."""
    return re.sub(r"\s+", " ", _UNSPACE.sub(r"\1\2\3", text)).strip()


def _authors_text(author: str | None) -> str | None:
    """Display names from the JSON list of CSL names; mirrors the SQL in migration 0002."""
    if author is None:
        return None
    try:
        names = json.loads(author)
    except ValueError:
        return author
    if not isinstance(names, list):
        return author
    parts: list[str] = []
    for name in names:
        if isinstance(name, dict):
            literal = name.get("literal")
            if literal is not None:
                parts.append(str(literal))
            else:
                parts.append(f"{name.get('given') or ''} {name.get('family') or ''}".strip())
        elif name is not None:
            parts.append(str(name))
    return "; ".join(parts) if parts else None


def compose_row(source: sqlite3.Row | dict[str, object], tags: Sequence[str],
                mentions: Sequence[tuple[str, str | None, str | None]], text: str | None) -> tuple[str | None, ...]:
    """The indexed values (title, authors, site, tags, notes, body) of one source; the triggers compute the
    same strings in SQL. `mentions`: (label, title, annotation) in mention id order."""

    def s(key: str) -> str | None:
        value = source[key]
        return None if value is None else str(value)

    def sp(value: str | None) -> str | None:
        return None if value is None else cjk_space(value)

    site = f"{s('host') or ''} {s('container_title') or ''} {s('publisher') or ''}"
    tag_text = " ".join(f"{TAG_OPEN} {t} {TAG_CLOSE}" for t in tags) or None
    mention_text = " ".join(f"{label} {title or ''} {annotation or ''}" for label, title, annotation in mentions)
    notes = f"{s('user_note') or ''} {mention_text}"
    return (sp(s("title")), sp(_authors_text(s("author"))), sp(site), sp(tag_text), sp(notes), sp(text))


def _reporting(rows: Iterator[tuple[object, ...]], total: int,
               progress: Callable[[int, int], None]) -> Iterator[tuple[object, ...]]:
    progress(0, total)
    for done, row in enumerate(rows, 1):
        yield row
        if done % 500 == 0 or done == total:
            progress(done, total)


def _index_rows(conn: sqlite3.Connection, batch: int = 2000) -> Iterator[tuple[object, ...]]:
    last = 0
    while True:
        sources = conn.execute(
            "SELECT id, title, author, host, container_title, publisher, user_note FROM source WHERE id > ? "
            "ORDER BY id LIMIT ?", (last, batch)).fetchall()
        if not sources:
            return
        lo, hi = sources[0]["id"], sources[-1]["id"]
        tags: dict[int, list[str]] = {}
        for sid, tag in conn.execute("SELECT source_id, tag FROM source_tag WHERE source_id BETWEEN ? AND ? "
                                     "ORDER BY source_id, tag", (lo, hi)):
            tags.setdefault(sid, []).append(tag)
        mentions: dict[int, list[tuple[str, str | None, str | None]]] = {}
        for sid, label, title, annotation in conn.execute(
                "SELECT source_id, label, title, annotation FROM mention WHERE source_id BETWEEN ? AND ? "
                "ORDER BY id", (lo, hi)):
            mentions.setdefault(sid, []).append((label, title, annotation))
        texts = dict(conn.execute("SELECT source_id, text FROM source_text WHERE source_id BETWEEN ? AND ?",
                                  (lo, hi)).fetchall())
        for row in sources:
            sid = row["id"]
            yield (sid, *compose_row(row, tags.get(sid, ()), mentions.get(sid, ()), texts.get(sid)))
        last = hi


def _index_rows_for(conn: sqlite3.Connection, ids: Sequence[int], batch: int = 500) -> Iterator[tuple[object, ...]]:
    for start in range(0, len(ids), batch):
        chunk = list(ids[start:start + batch])
        marks = ",".join("?" * len(chunk))
        sources = conn.execute(
            "SELECT id, title, author, host, container_title, publisher, user_note FROM source"
            f" WHERE id IN ({marks})", chunk).fetchall()
        tags: dict[int, list[str]] = {}
        for sid, tag in conn.execute(f"SELECT source_id, tag FROM source_tag WHERE source_id IN ({marks})"
                                     " ORDER BY source_id, tag", chunk):
            tags.setdefault(sid, []).append(tag)
        mentions: dict[int, list[tuple[str, str | None, str | None]]] = {}
        for sid, label, title, annotation in conn.execute(
                f"SELECT source_id, label, title, annotation FROM mention WHERE source_id IN ({marks}) ORDER BY id",
                chunk):
            mentions.setdefault(sid, []).append((label, title, annotation))
        texts = dict(conn.execute(f"SELECT source_id, text FROM source_text WHERE source_id IN ({marks})",
                                  chunk).fetchall())
        for row in sources:
            sid = row[0]
            yield (sid, *compose_row(row, tags.get(sid, ()), mentions.get(sid, ()), texts.get(sid)))


def reindex_sources(conn: sqlite3.Connection, ids: Iterable[int]) -> None:
    """Recompute the index rows of these sources (inside the caller's transaction)."""
    wanted = sorted(set(ids))
    conn.executemany("DELETE FROM search_fts WHERE rowid = ?", [(sid,) for sid in wanted])
    conn.executemany(
        "INSERT INTO search_fts(rowid, title, authors, site, tags, notes, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        _index_rows_for(conn, wanted))


class BulkIndex(set[int]):
    """What a bulk writer tells `bulk_upkeep` to index on exit: the set itself holds the ids of sources whose
    rows are recomputed from the catalog (add to it as to any set); `new_rows` may hold rows (rowid, title,
    authors, site, tags, notes, body) the writer composed for sources it created in this transaction, so that
    they have no index row yet (the same strings compose_row gives)."""

    new_rows: Iterable[tuple[object, ...]] = ()


@contextmanager
def bulk_upkeep(conn: sqlite3.Connection) -> Iterator[BulkIndex]:
    """For writers that touch thousands of sources in one transaction (vault import): the per-row triggers,
    which space CJK text in SQL, would re-index a source once per mention. Inside the caller's transaction the
    triggers are dropped; the caller fills the yielded BulkIndex; on exit the new sources' rows are inserted
    as given (no delete: a new id has no row, unless a stale one above every source id, which is cleared),
    the touched existing sources are re-indexed from the catalog, and the triggers are restored. DDL is
    transactional in SQLite, so a rollback restores the triggers too; other connections never see the
    catalog without them."""
    saved = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search\\_%' ESCAPE '\\'"
    ).fetchall()
    first_new = (conn.execute("SELECT max(id) FROM source").fetchone()[0] or 0) + 1
    for name, _sql in saved:
        conn.execute(f'DROP TRIGGER "{name}"')
    bulk = BulkIndex()
    yield bulk
    if saved:
        stale = conn.execute("SELECT max(rowid) FROM search_fts").fetchone()[0]
        if stale is not None and stale >= first_new:
            conn.execute("DELETE FROM search_fts WHERE rowid >= ?", (first_new,))
        conn.executemany(
            "INSERT INTO search_fts(rowid, title, authors, site, tags, notes, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
            bulk.new_rows)
        reindex_sources(conn, bulk)
    for _name, sql in saved:
        conn.execute(sql)


def rebuild_index(conn: sqlite3.Connection, optimize: bool = True,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Recompute every row of the search index in one transaction; returns the number of sources indexed.
    The table is dropped and created again from its own stored definition (faster than deleting 100k rows
    one by one, and it keeps whatever a later migration defined). `progress(done, total)` is called as rows
    are indexed."""
    from refman.store.sqlite.base import transaction

    conn.row_factory = sqlite3.Row
    with transaction(conn):
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'search_fts'").fetchone()
        if row is None:
            raise QueryError("this catalog has no search index; run `refman db upgrade`")
        config = conn.execute("SELECT k, v FROM search_fts_config WHERE k <> 'version'").fetchall()
        conn.execute("DROP TABLE search_fts")
        conn.execute(row["sql"])
        for k, v in config:
            conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES (?, ?)", (k, v))  # rank, pgsz, …
        count = conn.execute("SELECT count(*) FROM source").fetchone()[0]
        rows = _index_rows(conn)
        if progress is not None:
            rows = _reporting(rows, count, progress)
        conn.executemany(
            "INSERT INTO search_fts(rowid, title, authors, site, tags, notes, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows)
        if optimize:
            conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
    return int(count)


# --- searching -------------------------------------------------------------------------------------------


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _check_date(value: str, option: str) -> str:
    from refman.timeutil import valid_partial_date

    value = value.strip()
    if not _DATE.match(value) or not valid_partial_date(value):
        raise QueryError(f"{option} wants an ISO date such as 2024, 2024-06 or 2024-06-30, not {value!r}")
    return value


def _normalise_domain(value: str) -> str:
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain)
    domain = domain.split("/", 1)[0].split(":", 1)[0].strip(".")
    if not domain:
        raise QueryError(f"--site wants a domain such as example.com, not {value!r}")
    return domain


def _filter_sql(filters: SearchFilters, conn: sqlite3.Connection | None = None) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    for tag in filters.tags:
        where.append("EXISTS (SELECT 1 FROM source_tag t WHERE t.source_id = s.id AND t.tag = ? COLLATE NOCASE)")
        params.append(tag)
    if filters.since:
        since = _check_date(filters.since, "--since")
        # Compare at the precision both have: --since 2024 keeps 2024-01-05, --until 2024 keeps 2024-12, and
        # a bare "2024" counts as overlapping --since 2024-06.
        where.append("s.issued IS NOT NULL AND substr(s.issued, 1, ?) >= substr(?, 1, length(s.issued))")
        params += [len(since), since]
    if filters.until:
        until = _check_date(filters.until, "--until")
        where.append("s.issued IS NOT NULL AND substr(s.issued, 1, ?) <= substr(?, 1, length(s.issued))")
        params += [len(until), until]
    if filters.site:
        domain = _normalise_domain(filters.site)
        where.append("(lower(s.host) = ? OR lower(s.host) LIKE ? ESCAPE '\\')")
        params += [domain, "%." + _like_escape(domain)]
    if filters.status:
        where.append("s.status = ?")
        params.append(filters.status)
    if filters.cited_in:
        if conn is None:
            raise ValueError("a --cited-in filter needs the connection to resolve its notes")
        # The one resolver of NOTE (path, absolute path, unique suffix, folder), shared with export and cite.
        from refman.citation.selection import notes_for
        from refman.store.sqlite import SqliteStore

        note_ids = notes_for(SqliteStore(conn), filters.cited_in)  # until search takes a store
        where.append(f"EXISTS (SELECT 1 FROM mention m WHERE m.source_id = s.id AND m.note_id IN "
                     f"({','.join(str(int(i)) for i in note_ids)}))")
    return where, params


def search(conn: sqlite3.Connection, query: str | None, filters: SearchFilters | None = None, *, limit: int = 20,
           offset: int = 0) -> list[SearchHit]:
    """Sources matching `query` (see refman.search_query) and `filters`, best first.

    Raises QueryError when the query has nothing searchable in it, or when there is neither query nor
    filter. With filters and no query, lists the filtered sources, newest first."""
    if limit < 1 or offset < 0:
        raise QueryError("--limit must be at least 1 and --offset at least 0")
    compiled, where, params = _prepare(conn, query, filters)
    conn.row_factory = sqlite3.Row
    try:
        if compiled.match is not None:
            return _ranked(conn, compiled.match, where, params, limit, offset)
        return _listed(conn, compiled.exclude, where, params, limit, offset)
    except sqlite3.OperationalError as exc:
        # Cannot happen for a well-formed compiled query; never let it surface as a traceback.
        if "fts5" in str(exc) or "syntax" in str(exc) or "no such" in str(exc):
            raise QueryError(f"cannot run this search: {exc}") from exc
        raise


# Columns that describe the work (its title, authors, site, the user's tags and notes) as opposed to the body.
_DESCRIBING = "{" + " ".join(c for c in COLUMNS if c != "body") + "}"


def _prepare(conn: sqlite3.Connection, query: str | None, filters: SearchFilters | None
             ) -> tuple[CompiledQuery, list[str], list[object]]:
    filters = filters or SearchFilters()
    compiled = parse_query(query) if query and query.strip() else CompiledQuery()
    if compiled.empty and query and query.strip():
        raise QueryError(f"nothing to search for in {query!r}: give a word, a \"phrase\" or a field:value")
    if compiled.empty and not filters.any:
        raise QueryError("give a query or a filter (--tag, --since, --until, --site, --cited-in, --status)")
    where, params = _filter_sql(filters, conn)
    return compiled, where, params


def count_matches(conn: sqlite3.Connection, query: str | None, filters: SearchFilters | None = None) -> int:
    """How many sources `search` would find without a limit."""
    compiled, where, params = _prepare(conn, query, filters)
    if compiled.match is not None:
        return _count(conn, compiled.match, where, params)
    args = list(params)
    conditions = list(where)
    if compiled.exclude is not None:
        conditions.append("s.id NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)")
        args.append(compiled.exclude)
    sql_where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    return int(conn.execute(f"SELECT count(*) FROM source s {sql_where}", args).fetchone()[0])


def _ranked(conn: sqlite3.Connection, match: str, where: list[str], params: list[object], limit: int,
            offset: int) -> list[SearchHit]:
    """Two tiers: sources whose describing columns match come first, ranked by bm25 over those columns; then
    sources that match only with the archived text, ranked by bm25 over all columns.

    bm25 has to score every matching row before it can return the best 20, and its cost grows with the
    number of term occurrences: a common word ('data', '数据') occurs thousands of times in 100,000 archived
    pages. The first tier scores only occurrences in the short columns, and when it fills the page, the body
    is never scored. It is also the order users expect: a source titled, tagged or annotated with the words
    is what they were looking for, before a page that merely uses them."""
    describing = f"{_DESCRIBING} : ({match})"
    if " NOT " in match:  # a column filter over NOT would only exclude words in those columns
        describing = f"({match}) AND ({describing})"
    rows = _rank_rows(conn, describing, where, params, limit, offset)
    if len(rows) < limit:
        skipped = 0
        if offset:
            skipped = _count(conn, describing, where, params) if not rows else offset + len(rows)
        rows += _rank_rows(conn, f"({match}) NOT ({describing})", where, params, limit - len(rows),
                           max(0, offset - skipped))
    hits = []
    for row in rows:
        snippet, fields = _snippet(conn, match, row["id"])
        hits.append(SearchHit(id=row["id"], url=row["url"], title=row["title"], issued=row["issued"],
                              site=row["site"], score=_score(row["rank"]), snippet=snippet,
                              matched_fields=fields))
    return hits


def _rank_rows(conn: sqlite3.Connection, match: str, where: list[str], params: list[object], limit: int,
               offset: int) -> list[sqlite3.Row]:
    conditions = " AND ".join(["search_fts MATCH ?", *where])
    return conn.execute(
        f"SELECT s.id, s.url, s.title, s.issued, {_SITE_SQL} AS site, search_fts.rank AS rank "
        f"FROM search_fts JOIN source s ON s.id = search_fts.rowid WHERE {conditions} "
        "ORDER BY search_fts.rank LIMIT ? OFFSET ?", [match, *params, limit, offset]).fetchall()


def _count(conn: sqlite3.Connection, match: str, where: list[str], params: list[object]) -> int:
    conditions = " AND ".join(["search_fts MATCH ?", *where])
    return int(conn.execute(f"SELECT count(*) FROM search_fts JOIN source s ON s.id = search_fts.rowid "
                            f"WHERE {conditions}", [match, *params]).fetchone()[0])


def _score(rank: float) -> float:
    # Four significant digits, not four decimals: bm25 clamps the IDF of a term found in most rows to 1e-6,
    # so a small catalog's scores would otherwise all print as 0.0.
    return float(f"{-float(rank):.4g}")


def _snippet(conn: sqlite3.Connection, match: str, rowid: int) -> tuple[str, list[str]]:
    """The snippet to show and the fields that matched, for one result row (only the shown rows pay this)."""
    o, c = HL_OPEN, HL_CLOSE
    cols = ", ".join(f"snippet(search_fts, {i}, '{o}', '{c}', '…', {SNIPPET_TOKENS})" for i in range(len(COLUMNS)))
    row = conn.execute(f"SELECT {cols} FROM search_fts WHERE search_fts MATCH ? AND rowid = ?",
                       (match, rowid)).fetchone()
    if row is None:
        return "", []
    texts = dict(zip(COLUMNS, row, strict=True))
    matched = [FIELD_NAMES[col] for col in COLUMNS if texts[col] and o in texts[col]]
    for col in ("body", "notes", "title"):
        if texts[col] and o in texts[col]:
            return unspace(texts[col]), matched
    for col in ("title", "notes", "body"):  # matched elsewhere (authors, site, tags): show what there is
        if texts[col]:
            return unspace(texts[col]), matched
    return "", matched


def _listed(conn: sqlite3.Connection, exclude: str | None, where: list[str], params: list[object], limit: int,
            offset: int) -> list[SearchHit]:
    conditions = list(where)
    args = list(params)
    if exclude is not None:
        conditions.append("s.id NOT IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?)")
        args.append(exclude)
    sql_where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
    rows = conn.execute(
        f"SELECT s.id, s.url, s.title, s.issued, {_SITE_SQL} AS site, "
        "(SELECT substr(coalesce(nullif(trim(f.notes), ''), f.body), 1, 400) FROM search_fts f "
        " WHERE f.rowid = s.id) AS preview "
        f"FROM source s {sql_where} ORDER BY s.issued IS NULL, s.issued DESC, s.id DESC LIMIT ? OFFSET ?",
        [*args, limit, offset]).fetchall()
    return [SearchHit(id=r["id"], url=r["url"], title=r["title"], issued=r["issued"], site=r["site"], score=None,
                      snippet=_preview(r["preview"]), matched_fields=[]) for r in rows]


def _preview(text: str | None) -> str:
    if not text:
        return ""
    flat = unspace(text)
    cut = flat[:160]
    return cut + ("…" if len(flat) > len(cut) else "")
