"""PostgreSQL implementation of refman.store.search.SearchStore: `search_doc`, tsquery, ts_rank_cd.

The index
---------
`search_doc` (migration 0002) has one row per source with the six columns of refman.store.search.INDEX_COLUMNS
in the index's form (the same strings as SQLite's FTS5 table) and `document`, their tsvector with the weights
title A, authors and tags B, site and notes C, body D, kept by triggers on the catalog's tables as on SQLite.
Bulk writers suspend those triggers (`search_index_batch`) and index in Python. Migration 0012 added
`describing`, the tsvector of all but the body (the start of `document`: same positions, so the same ranks),
small enough to stay in the row, and to both the lexeme U+E002 + c1 + c2 (U+E003 in the body) for every two
consecutive one-character CJK lexemes of a column (of a tag, for the tags), so that a CJK word is found by the
GIN index alone.

From a parsed query (refman.search_query) to SQL
------------------------------------------------
The tree becomes a boolean condition on `search_doc d`, built the way the SQLite store builds its FTS5 MATCH
string (same groupings, same parts left out), so that both backends match the same rows:

* a term's lexemes are what the index's own parser makes of its tokens (`refman_search_text`, 'simple'
  configuration; one query per search reads them), never user text spliced into a tsquery; side by side with
  `<->`, the last one `:*` for a prefix;
* a column is a weight. Title (A) and body (D) have a weight of their own; authors and tags share B, site and
  notes share C, so a term in only one of those, or a phrase (which could otherwise run from the end of one
  column into the start of the next: the tsvector concatenates them), is checked against that column's own
  text after the GIN index has narrowed the rows. A phrase over the tags stays inside one tag, and `tag:x` is
  a whole tag (or a tag's start, for a prefix): FTS5's tag tokens are not lexemes here;
* a query of negations only lists the sources that match none of them, newest first, as on SQLite;
* a CJK word of two characters is its bigram lexeme; a longer one its phrase ANDed with its bigrams;
* conditions on the describing columns only go to `describing`; a tsquery that wants every weight of its
  vector has no weight label (a label, a phrase or a prefix make PostgreSQL recheck each row the GIN index
  returns, reading its tsvector: for `document`, 5–30 KB out of line); a negation is `NOT IN` the rows that
  match it (one hashed subplan over the GIN index, not a recheck per candidate). The search's statements run
  without sequential scans or JIT (`_planned`): the planner does not know what testing `document` costs.

Ranking is ts_rank_cd (weights D, C, B, A = 0.1, 0.3, 0.45, 1.0: FTS5's bm25 column weights) in SQLite's two
tiers: sources matching in the describing columns first, then those matching only with the body; the
adjacent-words bonus is an OR'd phrase in the rank's tsquery; ties go to the lower id. Scores are not bm25's,
so the order inside a tier can differ from SQLite's; which rows and which tier do not. A tier of more than
`ranked_pool` sources (ten times that for the first) ranks its newest ones only, and lists the rest after them,
newest first (`_ranked`).

Snippets are FTS5's snippet() and its choice of column, computed in Python on the result rows' texts
(`_Column`): the same window of 24 tokens, sentence starts, merged highlights and ellipses, and only the
phrases of the parts of the query that match the row highlighted, as FTS5 reports them.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple

from sqlalchemy import Table, any_, bindparam, func, or_, select

from refman.models import Mention, Note, Snapshot, Source, SourceTag, SourceText
from refman.store.postgres.base import PostgresBase
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
from refman.vocabulary import CJK_INDEXED

_source: Table = Source.__table__  # type: ignore[attr-defined]
_source_tag: Table = SourceTag.__table__  # type: ignore[attr-defined]
_mention: Table = Mention.__table__  # type: ignore[attr-defined]
_source_text: Table = SourceText.__table__  # type: ignore[attr-defined]
_snapshot: Table = Snapshot.__table__  # type: ignore[attr-defined]
_note: Table = Note.__table__  # type: ignore[attr-defined]

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
_COPY_BATCH = 1000
_COPY_DOCS = "COPY search_doc (source_id, title, authors, site, tags, notes, body) FROM STDIN"
# A reindex's memory for merging the GIN indexes' pending lists into them (PostgreSQL's ginInsertCleanup takes
# work_mem when an insert fills a list), set for its rows and restored after them (set_config(…, true) would last
# to the end of the caller's transaction; a rollback undoes it). The lists keep their size (gin_pending_list_limit):
# a larger one measured no faster, and searches read it whole until it is merged.
_SAVE_REINDEX_SETTINGS = "SELECT current_setting('work_mem')"
_REINDEX_SETTINGS = "SELECT set_config('work_mem', '64MB', true)"
_RESTORE_REINDEX_SETTINGS = "SELECT set_config('work_mem', %s, true)"
# The index's upkeep triggers on the catalog's tables (not search_doc's own, which computes `document`).
_UPKEEP_TRIGGERS = (
    "SELECT t.tgname, c.relname, pg_has_role(c.relowner, 'USAGE') "
    "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgname LIKE 'search\\_%' "
    "AND c.relname <> 'search_doc' AND c.relnamespace = to_regnamespace(current_schema()) "
    "ORDER BY c.relname, t.tgname")


# --- searching: statements ----------------------------------------------------------------------------------

_SITE_SQL = "coalesce(nullif(s.container_title, ''), nullif(s.publisher, ''), s.host)"
# ts_rank_cd's weights for D, C, B, A: FTS5's bm25 column weights (migration 0002).
_RANK_WEIGHTS = "{0.1, 0.3, 0.45, 1.0}"
# The lexemes of each text, in order, as the index's tsvector has them (same parser, same refman_search_text).
_LEXEMES_SQL = (
    "SELECT q.t, coalesce((SELECT array_agg(u.lexeme ORDER BY p.pos) "
    "FROM unnest(to_tsvector('simple', refman_search_text(q.t))) AS u(lexeme, positions, weights), "
    "unnest(u.positions) AS p(pos)), '{}'::text[]) FROM unnest(%(texts)s::text[]) AS q(t)")
_DOCS_BY_ID = ("SELECT source_id, title, authors, site, tags, notes, body FROM search_doc "
               "WHERE source_id = ANY(%(ids)s)")
# Index-form tag tokens (refman.search_query.TAG_OPEN / TAG_CLOSE): PostgreSQL's parser drops them (private-use
# characters are not letters), so a tag term is matched against each tag of the `tags` column.
_TAG_OPEN, _TAG_CLOSE = "\ue000", "\ue001"
# Migration 0012's bigram lexemes: a mark, then two consecutive one-character CJK lexemes of one column; the
# describing columns' (with a position and weight) and the body's (with neither) have marks of their own.
_BIGRAM_MARK, _BODY_BIGRAM_MARK = "\ue002", "\ue003"
# refman_cjk_space's characters (migration 0002, which froze the same set): each one is a lexeme of its own.
_CJK = re.compile(f"[{CJK_INDEXED}]")
# Which weight each column has in `document`; two columns share B and two share C.
_WEIGHT_GROUPS = (("A", ("title",)), ("B", ("authors", "tags")), ("C", ("site", "notes")), ("D", ("body",)))
SNIPPET_TOKENS = 24
_SAVE_SETTINGS = "SELECT current_setting('enable_seqscan'), current_setting('work_mem'), current_setting('jit')"
_SEARCH_SETTINGS = ("SELECT set_config('enable_seqscan', 'off', true), set_config('work_mem', '64MB', true), "
                    "set_config('jit', 'off', true)")
_RESTORE_SETTINGS = ("SELECT set_config('enable_seqscan', %s, true), set_config('work_mem', %s, true), "
                     "set_config('jit', %s, true)")
# The second tier's sources ranked at most (the newest ones); see PostgresSearch._ranked.
RANKED_POOL = 200
# The first tier's tsvectors are small (no archived text): it ranks this many times more.
_DESCRIBING_POOL_FACTOR = 10


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def source_filter_sql(where: SourceFilter) -> tuple[list[str], dict[str, Any]]:
    """SQL conditions on `source s` (ANDed) and their named parameters (prefix `f_`), as SQLite's. Text order is
    code point order (`COLLATE "C"`), as SQLite compares; NOCASE tags compare with lower()."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if where.tags:
        conditions.append("NOT EXISTS (SELECT 1 FROM unnest(%(f_tags)s::text[]) AS x(tag) WHERE NOT EXISTS ("
                          "SELECT 1 FROM source_tag t WHERE t.source_id = s.id AND lower(t.tag) = lower(x.tag)))")
        params["f_tags"] = list(where.tags)
    if where.since:
        # Compare at the precision both have (see the SQLite store).
        conditions.append("s.issued IS NOT NULL AND substr(s.issued, 1, %(f_since_len)s) COLLATE \"C\" "
                          ">= substr(%(f_since)s, 1, length(s.issued))")
        params |= {"f_since_len": len(where.since), "f_since": where.since}
    if where.until:
        conditions.append("s.issued IS NOT NULL AND substr(s.issued, 1, %(f_until_len)s) COLLATE \"C\" "
                          "<= substr(%(f_until)s, 1, length(s.issued))")
        params |= {"f_until_len": len(where.until), "f_until": where.until}
    if where.domain:
        conditions.append("(lower(s.host) = %(f_domain)s OR lower(s.host) LIKE %(f_subdomain)s ESCAPE '\\')")
        params |= {"f_domain": where.domain, "f_subdomain": "%." + _like_escape(where.domain)}
    if where.status:
        conditions.append("s.status = %(f_status)s")
        params["f_status"] = where.status
    if where.note_ids is not None:
        conditions.append("EXISTS (SELECT 1 FROM mention m WHERE m.source_id = s.id AND m.note_id = ANY(%(f_notes)s))")
        params["f_notes"] = [int(i) for i in where.note_ids]
    return conditions, params


# --- the parsed query as conditions on `search_doc d` ---------------------------------------------------------


def _tsquery(lexemes: Sequence[str], prefix: bool, weights: str) -> str:
    """tsquery text: the lexemes side by side (`<->`), each in `weights`, the last a prefix when `prefix`."""
    parts = []
    last = len(lexemes) - 1
    for i, lexeme in enumerate(lexemes):
        label = ("*" if prefix and i == last else "") + weights
        quoted = "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"
        parts.append(quoted + (":" + label if label else ""))
    return " <-> ".join(parts)


def _in_weights(lexemes: Sequence[str], prefix: bool, weights: Sequence[str]) -> str:
    """The lexemes in any of these weights. A phrase gets one phrase per weight: the tsvector concatenates the
    columns, and a phrase must not run from one column into the next."""
    if len(lexemes) == 1:
        return _tsquery(lexemes, prefix, "".join(weights))
    return " | ".join(f"({_tsquery(lexemes, prefix, w)})" for w in weights)


def _is_cjk(lexeme: str) -> bool:
    return len(lexeme) == 1 and _CJK.match(lexeme) is not None


def _bigram(lexemes: Sequence[str]) -> str | None:
    """The two characters of the bigram lexemes (migration 0012) that match exactly what the phrase of these two
    one-character CJK lexemes matches, within one column; None for other lexemes. (A prefix changes nothing: a
    lexeme that begins with a CJK character is that character, refman_cjk_space isolates every one.)"""
    if len(lexemes) == 2 and _is_cjk(lexemes[0]) and _is_cjk(lexemes[1]):
        return lexemes[0] + lexemes[1]
    return None


def _bigram_query(chars: str, weights: Sequence[str]) -> str:
    """tsquery text of the bigram `chars` in any of `weights`: the describing columns' bigram (with a weight
    label unless all three are wanted), or the body's (which has none), or either."""
    parts = []
    described = [w for w in weights if w != "D"]
    if described:
        labels = "" if set(described) == set("ABC") else "".join(described)
        parts.append(_tsquery([_BIGRAM_MARK + chars], False, labels))
    if "D" in weights:
        parts.append(_tsquery([_BODY_BIGRAM_MARK + chars], False, ""))
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def _vector(weights: Sequence[str]) -> tuple[str, str]:
    """The tsvector to search for lexemes in these weights, and all the weights it has: `describing` (small,
    never toasted) unless the body's weight D is wanted."""
    return ("document", "ABCD") if "D" in weights else ("describing", "ABC")


def _narrowing(lexemes: Sequence[str], prefix: bool, weights: Sequence[str]) -> tuple[str, str]:
    """(vector, tsquery text) matching the term's lexemes in any of `weights` of that vector, with as little
    for PostgreSQL to recheck as possible: no weight label when all the vector's weights are wanted (the GIN
    index then answers alone), a CJK word of two characters as its bigram lexeme, and a longer one narrowed to
    the documents holding all its bigrams before its phrase is checked."""
    vector, every = _vector(weights)
    labels = "" if set(weights) == set(every) else "".join(weights)
    bigram = _bigram(lexemes)
    if bigram is not None:
        return vector, _bigram_query(bigram, weights)
    if len(lexemes) == 1:
        return vector, _tsquery(lexemes, prefix, labels)
    phrase = _in_weights(lexemes, prefix, weights)
    bigrams = sorted({b for i in range(len(lexemes) - 1) if (b := _bigram(lexemes[i:i + 2])) is not None})
    if not bigrams:
        return vector, phrase
    return vector, " & ".join([_bigram_query(b, weights) for b in bigrams] + [f"({phrase})"])


# Which phrases of a query FTS5 highlights in a row: ("phrase", index), ("or", children), ("and", positives,
# negatives). A phrase in a branch that does not match the row is not highlighted (FTS5 reports instances only
# for the phrases whose part of the expression matched).
_Highlight = tuple[Any, ...]


class _Expr(NamedTuple):
    sql: str  # a condition on `search_doc d`
    rank: str | None  # tsquery text of the positive terms (ranking only)
    negates: bool  # has a NOT in it
    highlight: _Highlight = ()


class _Phrase(NamedTuple):
    """A term as FTS5 highlights it: its tokens (index form, normalised) in some columns."""

    tokens: tuple[str, ...]
    prefix: bool
    columns: tuple[str, ...]


@dataclass
class _Compiler:
    lexemes: dict[str, list[str]]
    params: dict[str, Any] = field(default_factory=dict)
    phrases: list[_Phrase] = field(default_factory=list)
    alias: str = "d"  # of the `search_doc` row the conditions are on
    aliases: int = 0

    def param(self, value: Any) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def term(self, term: Term, describing: bool, negated: bool) -> _Expr:
        lexemes = self.lexemes.get(term.tokens, [])
        d = self.alias
        columns = [term.column] if term.column else list(INDEX_COLUMNS)
        if describing:
            columns = [c for c in columns if c != "body"]
        highlight: _Highlight = ()
        if not describing:
            tokens = tuple(lexemes)
            if term.column == "tags" and tokens:  # a whole tag: between its tag tokens, as FTS5 matches it
                tokens = (_TAG_OPEN, *tokens) + (() if term.prefix else (_TAG_CLOSE,))
            highlight = ("phrase", len(self.phrases))
            self.phrases.append(_Phrase(tokens, term.prefix, tuple(columns)))
        if not lexemes or not columns:
            return _Expr("FALSE", None, False, highlight)
        if term.column == "tags":
            # The tsvector has the tag's words (weight B) but not the tag tokens: it narrows the rows, and the
            # tag must then be one of the row's tags, whole (or begin with the words, for a prefix).
            words = "lower(btrim(refman_search_text(g.tag)))"
            wanted = f"lower(btrim(refman_search_text({self.param(term.tokens)})))"
            same = f"starts_with({words}, {wanted})" if term.prefix else f"{words} = {wanted}"
            rank = _tsquery(lexemes, term.prefix, "B")
            vector, narrow = _narrowing(lexemes, term.prefix, "B")
            return _Expr(f"({d}.{vector} @@ {self.param(narrow)}::tsquery AND EXISTS (SELECT 1 FROM "
                         f"regexp_split_to_table({d}.tags, {self.param(_TAG_CLOSE)}) AS g(tag) WHERE {same}))",
                         rank, False, highlight)
        direct: list[str] = []  # weights the tsvector decides alone
        checked: list[str] = []  # conditions for the weights whose columns must be told apart
        weights: list[str] = []
        for weight, members in _WEIGHT_GROUPS:
            present = [c for c in members if c in columns]
            if not present:
                continue
            weights.append(weight)
            # A bigram is within one column (and one tag) as a single lexeme is.
            single = len(lexemes) == 1 or _bigram(lexemes) is not None
            if len(members) == 1 or (len(present) == len(members) and single):
                direct.append(weight)
                continue
            plain = self.param(_tsquery(lexemes, term.prefix, ""))
            checks = []
            for col in present:
                if col == "tags":  # within one tag: FTS5's tag tokens stand between two tags' words
                    checks.append(f"EXISTS (SELECT 1 FROM regexp_split_to_table({d}.tags, {self.param(_TAG_CLOSE)}) "
                                  f"AS g(tag) WHERE to_tsvector('simple', refman_search_text(g.tag)) "
                                  f"@@ {plain}::tsquery)")
                else:
                    checks.append(f"to_tsvector('simple', refman_search_text({d}.{col})) @@ {plain}::tsquery")
            others = [c for c in members if c not in present]
            if len(present) == 1 and present[0] != "tags" and others:
                # When the weight's other column is blank (most sources have no notes, or no tags), the weight
                # is this column's alone: the tsvector decides, and the column is not parsed again.
                checks.insert(0, f"btrim(coalesce({d}.{others[0]}, '')) = ''")
            vector, narrow = _narrowing(lexemes, term.prefix, weight)
            checked.append(f"({d}.{vector} @@ {self.param(narrow)}::tsquery AND ({' OR '.join(checks)}))")
        parts = checked
        if direct:
            vector, narrow = _narrowing(lexemes, term.prefix, direct)
            parts = [f"{d}.{vector} @@ {self.param(narrow)}::tsquery", *checked]
        sql = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
        return _Expr(sql, _in_weights(lexemes, term.prefix, weights), False, highlight)

    def node(self, node: Node, describing: bool, negated: bool = False) -> _Expr | None:
        """The condition for node, or None when it has no positive part (mirrors the SQLite store's FTS5
        compilation, including what it leaves out: negations inside OR, groups of negations only)."""
        if isinstance(node, Term):
            return self.term(node, describing, negated)
        if isinstance(node, Not):
            return None
        if isinstance(node, Or):
            parts = [p for p in (self.node(c, describing, negated) for c in node.children) if p is not None]
            if not parts:
                return None
            ranks = [f"({p.rank})" for p in parts if p.rank]
            sql = parts[0].sql if len(parts) == 1 else "(" + " OR ".join(p.sql for p in parts) + ")"
            return _Expr(sql, " | ".join(ranks) or None, any(p.negates for p in parts),
                         ("or", tuple(p.highlight for p in parts)))
        positives = [p for p in (self.node(c, describing, negated) for c in node.children
                                 if not isinstance(c, Not)) if p is not None]
        negatives = [p for p in (self.negative(c.child, describing) for c in node.children
                                 if isinstance(c, Not)) if p is not None]
        if not positives:
            return None
        sql = positives[0].sql if len(positives) == 1 else "(" + " AND ".join(p.sql for p in positives) + ")"
        if negatives:
            sql = f"({sql} AND NOT ({' OR '.join(n.sql for n in negatives)}))"
        ranks = [f"({p.rank})" for p in positives if p.rank]
        return _Expr(sql, " & ".join(ranks) or None, bool(negatives) or any(p.negates for p in positives),
                     ("and", tuple(p.highlight for p in positives), tuple(n.highlight for n in negatives)))


    def negative(self, node: Node, describing: bool) -> _Expr | None:
        """The condition that a row matches the negated `node`, as `IN` the rows that match it: PostgreSQL finds
        those with the GIN index, once (a hashed subplan), instead of reading the tsvector of every candidate
        row."""
        outer = self.alias
        self.aliases += 1
        self.alias = f"n{self.aliases}"
        try:
            found = self.node(node, describing, True)
        finally:
            inner, self.alias = self.alias, outer
        if found is None:
            return None
        return found._replace(sql=f"{outer}.source_id IN (SELECT {inner}.source_id FROM search_doc {inner} "
                                  f"WHERE {found.sql})")


class _Ranked(NamedTuple):
    sql: str
    rank: str | None  # SQL of the tsquery to rank with


@dataclass
class _Plan:
    """A parsed query as SQL: `match` (rows that match), `describing` (those matching in the describing
    columns: the first tier), or `exclude` for a query of negations only; `params` for all of them."""

    params: dict[str, Any]
    match: _Ranked | None
    describing: _Ranked | None
    exclude: str | None
    phrases: list[_Phrase] | None
    highlight: _Highlight = ()
    second: str | None = None  # the second tier: matching, but not in the describing columns

    @classmethod
    def build(cls, query: ParsedQuery, lexemes: dict[str, list[str]]) -> _Plan:
        assert query.tree is not None
        c = _Compiler(lexemes)
        tree = query.tree
        match = c.node(tree, describing=False)
        if match is None:
            nots = tree.children if isinstance(tree, And) else (tree,)
            negs = [p for p in (c.node(n.child, False, True) for n in nots if isinstance(n, Not)) if p is not None]
            return cls(c.params, None, None, " OR ".join(n.sql for n in negs) if negs else None, None)
        describing = c.node(tree, describing=True)
        assert describing is not None
        # match AND NOT (match AND describing) is match AND NOT describing: the second tier's condition
        # evaluates the match once.
        second = f"({match.sql}) AND NOT ({describing.sql})"
        describing_sql = describing.sql
        if match.negates:  # a column filter over NOT would only exclude words in those columns
            describing_sql = f"({match.sql}) AND ({describing_sql})"
        match_rank, describing_rank = match.rank, describing.rank
        highlight = match.highlight
        adjacent = lexemes.get(query.adjacent or "", [])
        if query.adjacent is not None and adjacent:  # the same rows; a bonus for the words side by side
            highlight = ("or", (highlight, ("phrase", len(c.phrases))))
            c.phrases.append(_Phrase(tuple(adjacent), False, INDEX_COLUMNS))
            match_rank = f"({match_rank}) | ({_in_weights(adjacent, False, 'ABCD')})"
            describing_rank = f"({describing_rank}) | ({_in_weights(adjacent, False, 'ABC')})"

        def rank(text: str | None) -> str | None:
            return None if text is None else f"{c.param(text)}::tsquery"

        return cls(c.params, _Ranked(match.sql, rank(match_rank)), _Ranked(describing_sql, rank(describing_rank)),
                   None, c.phrases, highlight, second)

    def snippet(self, doc: Sequence[str | None] | None) -> tuple[str, list[str]]:
        """The snippet to show and the fields that matched, as the SQLite store picks them from FTS5's
        snippet() of each column."""
        if doc is None:
            return "", []
        texts = dict(zip(INDEX_COLUMNS, doc, strict=True))
        phrases = self.phrases or []
        columns = {col: _Column(texts[col], [p if col in p.columns else None for p in phrases])
                   for col in INDEX_COLUMNS}
        present = {ip for col in columns.values() for _pos, ip, _size in col.instances}
        live = _live(self.highlight, present)[1]
        snippets = {name: col.snippet(live) for name, col in columns.items()}
        matched = [FIELD_NAMES[col] for col in INDEX_COLUMNS if snippets[col] and HL_OPEN in (snippets[col] or "")]
        for col in ("body", "notes", "title"):
            text = snippets[col]
            if text and HL_OPEN in text:
                return text, matched
        for col in ("title", "notes", "body"):
            text = snippets[col]
            if text:
                return text, matched
        return "", matched


# --- snippets: FTS5's snippet() in Python ----------------------------------------------------------------------

# A token as unicode61 reads one: letters, digits, private-use characters (the tag tokens), combining marks.
_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f\ue000-\uf8ff])+")


# Letters `unaccent` (which the index's lexemes went through) spells out and Unicode does not decompose.
_UNACCENT_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ø": "o", "Ø": "O",
                                 "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "þ": "th",
                                 "Þ": "TH", "ħ": "h", "Ħ": "H", "ı": "i"})


def _fold(token: str) -> str:
    """A token as the index's lexemes are: accents removed, lower case."""
    if token.isascii():
        return token.lower()
    decomposed = unicodedata.normalize("NFKD", token.translate(_UNACCENT_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _instances(words: list[str], phrases: list[_Phrase | None]) -> list[tuple[int, int, int]]:
    """(position, phrase index, size) of every occurrence of the phrases, by position."""
    found = []
    for ip, phrase in enumerate(phrases):
        if phrase is None or not phrase.tokens:
            continue
        size = len(phrase.tokens)
        first, last = phrase.tokens[0], phrase.tokens[-1]
        for i in range(len(words) - size + 1):
            if words[i] != first and not (size == 1 and phrase.prefix and words[i].startswith(first)):
                continue
            if size > 1 and not (all(words[i + k] == phrase.tokens[k] for k in range(1, size - 1))
                                 and (words[i + size - 1] == last
                                      or (phrase.prefix and words[i + size - 1].startswith(last)))):
                continue
            found.append((i, ip, size))
    found.sort()
    return found


def _window_score(insts: list[tuple[int, int, int]], start: int, ntok: int, ndoc: int) -> tuple[int, int]:
    """fts5SnippetScore: the score of the window of ntok tokens at start, and where to start so that its hits
    are centred."""
    seen: set[int] = set()
    score, first, last = 0, -1, 0
    for pos, ip, size in insts:
        if start <= pos < start + ntok:
            score += 1 if ip in seen else 1000
            seen.add(ip)
            if first < 0:
                first = pos
            last = pos + size
    adj = first - int((ntok - (last - first)) / 2)
    if adj + ntok > ndoc:
        adj = ndoc - ntok
    return score, max(adj, 0)


def _live(node: _Highlight, present: set[int]) -> tuple[bool, set[int]]:
    """Whether node matches a row whose phrases `present` occur, and the phrases FTS5 highlights under it."""
    if not node:
        return False, set()
    if node[0] == "phrase":
        return node[1] in present, ({node[1]} if node[1] in present else set())
    if node[0] == "or":
        results = [_live(child, present) for child in node[1]]
        return any(ok for ok, _ in results), {ip for ok, ips in results if ok for ip in ips}
    positives = [_live(child, present) for child in node[1]]
    if not all(ok for ok, _ in positives) or any(_live(child, present)[0] for child in node[2]):
        return False, set()
    return True, {ip for _, ips in positives for ip in ips}


class _Column:
    """One column of a result row: its tokens and where the query's phrases occur in it."""

    def __init__(self, text: str | None, phrases: list[_Phrase | None]) -> None:
        self.text = text
        self.spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text or "")]
        self.instances = _instances([_fold((text or "")[a:b]) for a, b in self.spans], phrases)

    def snippet(self, live: set[int], ntok: int = SNIPPET_TOKENS) -> str | None:
        """FTS5's snippet(…, HL_OPEN, HL_CLOSE, '…', ntok) of the column, highlighting the `live` phrases: the
        window of ntok tokens with the most distinct phrases (preferring one that starts a sentence)."""
        text = self.text
        if text is None:
            return None
        spans = self.spans
        ndoc = len(spans)
        insts = [i for i in self.instances if i[1] in live]
        firsts = [0] if ndoc else []
        for k in range(1, ndoc):
            i = spans[k][0] - 1
            while i >= 0 and text[i] in " \t\n\r":
                i -= 1
            if i != spans[k][0] - 1 and i >= 0 and text[i] in ".:":
                firsts.append(k)
        best_score, best_start = 0, 0
        for pos, _ip, _size in insts:
            score, adj = _window_score(insts, pos, ntok, ndoc)
            if score > best_score:
                best_score, best_start = score, adj
            if firsts and ndoc > ntok:
                jj = 0
                while jj < len(firsts) - 1 and not firsts[jj + 1] > pos:
                    jj += 1
                if firsts[jj] < pos:
                    score, _adj = _window_score(insts, firsts[jj], ntok, ndoc)
                    score += 120 if firsts[jj] == 0 else 100
                    if score > best_score:
                        best_score, best_start = score, firsts[jj]
        return _highlight(text, spans, insts, best_start, ntok)


def _highlight(text: str, spans: list[tuple[int, int]], insts: list[tuple[int, int, int]], start: int,
               ntok: int) -> str:
    """The window of ntok tokens at `start`, occurrences between the markers (overlapping ones as one)."""
    merged: list[list[int]] = []
    for pos, _ip, size in insts:
        end = pos + size - 1
        if merged and pos <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([pos, end])
    pending = [m for m in merged if m[0] >= start]
    range_end = start + ntok - 1
    out = ["…"] if start > 0 else []
    offset = 0
    for i, (a, b) in enumerate(spans):
        if i < start or i > range_end:
            continue
        if start and i == start:
            offset = a
        if pending and i == pending[0][0]:
            out += [text[offset:a], HL_OPEN]
            offset = a
        if pending and i == pending[0][1]:
            out += [text[offset:b], HL_CLOSE]
            offset = b
            pending.pop(0)
        if i == range_end:
            out.append(text[offset:b])
            offset = b
            if pending and pending[0][0] <= i < pending[0][1]:
                out.append(HL_CLOSE)
    out.append(text[offset:] if range_end >= len(spans) - 1 else "…")
    return "".join(out)


# --- reading the archive: statements ---------------------------------------------------------------------------

# (no IN: an expanding parameter is rendered per call, and statements here are compiled once)
_GOOD = or_(_snapshot.c.outcome == "ok", _snapshot.c.outcome == "thin") & _snapshot.c.body_hash.is_not(None)
_COPY_COLUMNS = (_snapshot.c.id, _snapshot.c.source_id, _snapshot.c.fetched_at, _snapshot.c.origin,
                 _snapshot.c.memento_at, _snapshot.c.body_hash, _snapshot.c.content_type, _snapshot.c.charset,
                 _snapshot.c.final_url)
_ARCHIVED_COPIES = (select(*_COPY_COLUMNS).where((_snapshot.c.source_id == bindparam("sid")) & _GOOD)
                    .order_by(_snapshot.c.fetched_at.collate("C").desc(), _snapshot.c.id.desc()))
_ARCHIVED_COPY = select(*_COPY_COLUMNS).where((_snapshot.c.id == bindparam("snapshot_id")) & _GOOD)
_CURRENT_TEXT = (select(_source_text.c.markdown_hash, _source_text.c.text, _snapshot.c.body_hash)
                 .join_from(_source_text, _snapshot, _snapshot.c.id == _source_text.c.snapshot_id)
                 .where(_source_text.c.source_id == bindparam("sid")))
_SOURCE_HEADING = select(_source.c.id, _source.c.title, _source.c.url).where(_source.c.id == bindparam("sid"))
_FETCH_ATTEMPTS = (select(_snapshot.c.id, _snapshot.c.fetched_at, _snapshot.c.outcome, _snapshot.c.http_status,
                          _snapshot.c.size, _snapshot.c.unchanged, _snapshot.c.reason, _snapshot.c.origin,
                          _snapshot.c.memento_at)
                   .where(_snapshot.c.source_id == bindparam("sid"))
                   .order_by(_snapshot.c.fetched_at.collate("C").desc(), _snapshot.c.id.desc())
                   .limit(bindparam("limit")))
_NOTES_OVERVIEW = (select(_note.c.path, _note.c.root, func.count(_mention.c.source_id.distinct()),
                          func.count(_mention.c.id))
                   .select_from(_note.outerjoin(_mention, _mention.c.note_id == _note.c.id))
                   .group_by(_note.c.id).order_by(_note.c.path.collate("C"), _note.c.root.collate("C")))
_NOTE_PATHS = (select(_note.c.path).where(_note.c.id == any_(bindparam("ids")))
               .order_by(_note.c.path.collate("C")))
_CITING_MENTIONS = (select(_note.c.path, _note.c.root, _mention.c.line, _mention.c.label, _mention.c.annotation,
                           _mention.c.kind)
                    .join_from(_mention, _note, _note.c.id == _mention.c.note_id)
                    .where(_mention.c.source_id == bindparam("sid"))
                    .order_by(_note.c.path.collate("C"), _mention.c.line))
_CHECKED_IDS = select(_source.c.id).where(_source.c.fetched_at.is_not(None)).order_by(_source.c.id)
_CHECK_DATES = select(_source.c.id, _source.c.title, _source.c.fetched_at).where(
    _source.c.id == any_(bindparam("ids")))
_COUNT = func.count().label("n")
_TAG_FACETS = (select(_source_tag.c.tag, _COUNT).group_by(_source_tag.c.tag)
               .order_by(_COUNT.desc(), _source_tag.c.tag.collate("C")).limit(bindparam("top")))
_SITE_FACETS = (select(_source.c.host, _COUNT).group_by(_source.c.host)
                .order_by(_COUNT.desc(), _source.c.host.collate("C").nulls_first()).limit(bindparam("top")))
_STATUS_FACETS = (select(_source.c.status, _COUNT).group_by(_source.c.status)
                  .order_by(_COUNT.desc(), _source.c.status.collate("C")))
_NOTE_FACETS = (select(_note.c.path, func.count(_mention.c.source_id.distinct()))
                .join_from(_note, _mention, _mention.c.note_id == _note.c.id)
                .group_by(_note.c.id).order_by(_note.c.id))
_CATALOG_COUNTS = select(select(func.count()).select_from(_source).scalar_subquery(),
                         select(func.count()).select_from(_source_text).scalar_subquery(),
                         select(func.count()).select_from(_note).scalar_subquery())


def _score(vector: str, rank: str | None) -> str:
    """SQL of the rank of `search_doc d` for the tsquery SQL `rank`, over its tsvector `vector`."""
    return f"ts_rank_cd('{_RANK_WEIGHTS}'::float4[], d.{vector}, {rank})" if rank else "0::real"


def _matching(match: str, where: list[str]) -> str:
    """FROM … WHERE … of the `search_doc d` rows matching `match` and the filters on `source s` (joined only
    for them: every index row has its source)."""
    if not where:
        return f"search_doc d WHERE {match}"
    return f"search_doc d JOIN source s ON s.id = d.source_id WHERE ({match}) AND {' AND '.join(where)}"


def _scalar(row: Any) -> int:
    assert row is not None
    return int(row[0])


def _doc_row(row: IndexRow) -> dict[str, Any]:
    return dict(zip(_DOC_COLUMNS, row, strict=True))


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresSearch(PostgresBase):
    ranked_pool = RANKED_POOL  # the second tier's sources ranked at most (tests make it small)

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
        """DELETE, not TRUNCATE: readers keep searching the old index until the caller commits (TRUNCATE, or
        dropping the GIN indexes to build them again afterwards, would lock them out for the whole rebuild; and
        building them afresh measured no faster at 10,000 benchmark sources). COPY fires search_doc's row
        trigger, which computes each row's tsvectors once. Most of the time goes to the GIN indexes, whose pending
        lists are merged into them as they fill: with more memory for that (`_REINDEX_SETTINGS`, for these rows
        only) a rebuild measured 10–20% faster at 10,000 sources. One COPY per batch: `rows` may read the catalog
        on this connection (sources_to_index), which it cannot do while a COPY runs."""
        with self.transaction():
            saved = self.conn.execute(_SAVE_REINDEX_SETTINGS).fetchone()
            self.conn.execute(_REINDEX_SETTINGS)
            self.conn.execute("DELETE FROM search_doc")
            it = iter(rows)
            while batch := list(islice(it, _COPY_BATCH)):
                with self.conn.cursor() as cur, cur.copy(_COPY_DOCS) as copy:
                    for row in batch:
                        copy.write_row(row)
            self.conn.execute(_RESTORE_REINDEX_SETTINGS, saved)
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
            found = self.conn.execute(_UPKEEP_TRIGGERS).fetchall()
            # Only a table's owner may disable its triggers: a role with write grants only keeps them (slower,
            # and the rows are recomputed on exit all the same).
            saved = [(name, rel) for name, rel, _owned in found] if all(owned for *_, owned in found) else []
            for name, rel in saved:
                self.conn.execute(f"ALTER TABLE {_quote_ident(rel)} DISABLE TRIGGER {_quote_ident(name)}")
            bulk = BulkIndex()
            bulk.insert_now = self._upsert_documents
            yield bulk
            # A new source also marked touched is indexed once, from the catalog: each row written here costs
            # its tsvectors (search_doc's BEFORE trigger), an archived text's several milliseconds.
            self._upsert_documents([r for r in bulk.new_rows if r[0] not in bulk])
            self._reindex(bulk, compose)
            self._enable(saved)

    def _upsert_documents(self, rows: Iterable[IndexRow]) -> None:
        self.executemany(_UPSERT_DOC, [_doc_row(r) for r in rows])

    def _enable(self, triggers: list[tuple[str, str]]) -> None:
        for name, rel in triggers:
            self.conn.execute(f"ALTER TABLE {_quote_ident(rel)} ENABLE TRIGGER {_quote_ident(name)}")

    # --- searching ---------------------------------------------------------------------------------------

    def search_sources(self, query: ParsedQuery, where: SourceFilter, limit: int, offset: int) -> list[SearchHit]:
        plan = self._plan(query)
        conditions, params = source_filter_sql(where)
        with self._planned(plan.match is not None or plan.exclude is not None):
            if plan.match is not None:
                return self._ranked(plan, conditions, params, limit, offset)
            return self._listed(plan, conditions, params, limit, offset)

    @contextmanager
    def _planned(self, searching: bool = True) -> Iterator[None]:
        """The search's statements in one transaction, planned for what the planner cannot see: testing a row's
        `document` reads its whole tsvector out of line (~5 KB, decompressed), which costs far more than the
        planner's estimate for `@@`. No sequential scan then (it would test every row: the GIN index tests none
        when it is exact), and memory enough for the hashed subplans of negations. The settings are undone
        when done (set_config(…, true) lasts to the end of the outermost transaction otherwise). No JIT either:
        the high cost estimates of these plans made PostgreSQL compile them, for longer than they run. Filters
        alone (`searching` false) are planned as usual."""
        if not searching:
            yield
            return
        with self.transaction():
            saved = self.conn.execute(_SAVE_SETTINGS).fetchone()
            self.conn.execute(_SEARCH_SETTINGS)
            yield
            self.conn.execute(_RESTORE_SETTINGS, saved)

    def count_search_matches(self, query: ParsedQuery, where: SourceFilter) -> int:
        plan = self._plan(query)
        with self._planned(plan.match is not None or plan.exclude is not None):
            return self._count_matches(plan, where)

    def _count_matches(self, plan: _Plan, where: SourceFilter) -> int:
        conditions, params = source_filter_sql(where)
        if plan.match is not None:
            return self._count(plan.match.sql, conditions, {**params, **plan.params})
        if plan.exclude is not None:
            conditions.append(f"s.id NOT IN (SELECT d.source_id FROM search_doc d WHERE {plan.exclude})")
            params = {**params, **plan.params}
        sql_where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
        return _scalar(self.conn.execute(f"SELECT count(*) FROM source s {sql_where}", params).fetchone())

    def _plan(self, query: ParsedQuery) -> _Plan:
        """The query as SQL conditions on `search_doc d`, with the lexemes of its terms read from the database
        (the text search parser and `refman_search_text` decide what a token is, as they did for the index)."""
        tree = query.tree
        if tree is None:
            return _Plan({}, None, None, None, None)
        texts = [t.tokens for t in query.terms] + ([query.adjacent] if query.adjacent is not None else [])
        lexemes = {text: list(lex) for text, lex in self.conn.execute(_LEXEMES_SQL, {"texts": texts})}
        return _Plan.build(query, lexemes)

    def _ranked(self, plan: _Plan, where: list[str], params: dict[str, Any], limit: int,
                offset: int) -> list[SearchHit]:
        """Two tiers, as on SQLite: sources whose describing columns (all but the body) match come first, ranked
        over those columns (`describing`, a small tsvector); then the sources that match only with the archived
        text, ranked over all columns (`document`). The first tier is cheap and is what users expect first;
        when it fills the page, the body is never ranked.

        Ranking reads a row's whole tsvector (5–30 KB for an archived page, out of line), and a common word is
        in tens of thousands of pages: in the second tier only the newest `ranked_pool` sources are ranked (in
        the first, ten times as many), and the rest follow them newest first (their score is computed for the
        rows shown only). Which rows match, how many, and in which tier, do not depend on it."""
        assert plan.match is not None and plan.describing is not None and plan.second is not None
        params = {**params, **plan.params}
        describing = plan.describing
        rows = self._pooled_rows(describing.sql, describing.rank, where, params, limit, offset, "describing",
                                 self.ranked_pool * _DESCRIBING_POOL_FACTOR)
        first = len(rows)
        if len(rows) < limit:
            skipped = 0
            if offset:
                skipped = self._count(describing.sql, where, params) if not rows else offset + len(rows)
            rows += self._pooled_rows(plan.second, plan.match.rank, where, params, limit - len(rows),
                                      max(0, offset - skipped), "document", self.ranked_pool)
        rows = self._scored(rows, first, describing.rank, "describing", params)
        rows = self._scored(rows, len(rows), plan.match.rank, "document", params)
        docs = {r[0]: r[1:] for r in self.execute(_DOCS_BY_ID, {"ids": [r[0] for r in rows]})}
        hits = []
        for sid, url, title, issued, site, rank in rows:
            snippet, fields = plan.snippet(docs.get(sid))
            hits.append(SearchHit(id=sid, url=url, title=title, issued=issued, site=site,
                                  score=float(f"{float(rank or 0):.4g}"), snippet=snippet, matched_fields=fields))
        return hits

    def _scored(self, rows: list[tuple[Any, ...]], upto: int, rank: str | None, vector: str,
                params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """`rows` with the score of those of the first `upto` that were not ranked (beyond the ranked pool)."""
        unranked = [r[0] for r in rows[:upto] if r[5] is None]
        if not unranked or not rank:
            return rows
        scores = dict(self.conn.execute(f"SELECT d.source_id, {_score(vector, rank)} FROM search_doc d "
                                        "WHERE d.source_id = ANY(%(ids)s)", {**params, "ids": unranked}).fetchall())
        return [(*r[:5], scores.get(r[0], 0.0)) if i < upto and r[5] is None else r for i, r in enumerate(rows)]

    def _pooled_rows(self, match: str, rank: str | None, where: list[str], params: dict[str, Any], limit: int,
                     offset: int, vector: str, pool: int) -> list[tuple[Any, ...]]:
        """The rows matching `match`: the newest `pool` ranked over `vector` (ties to the lower id), then the
        others newest first, with no rank (None). When they are `pool` or fewer, every one is ranked."""
        order = "{r}.rank IS NULL, {r}.rank DESC, CASE WHEN {r}.rank IS NULL THEN -{i}.source_id ELSE {i}.source_id END"
        return [tuple(r) for r in self.conn.execute(
            f"WITH m AS MATERIALIZED (SELECT d.source_id FROM {_matching(match, where)}), "
            "p AS (SELECT source_id FROM m ORDER BY source_id DESC LIMIT %(pool)s), "
            f"r AS MATERIALIZED (SELECT d.source_id, {_score(vector, rank)} AS rank FROM p JOIN search_doc d "
            "ON d.source_id = p.source_id), "
            "page AS (SELECT m.source_id, r.rank FROM m LEFT JOIN r ON r.source_id = m.source_id "
            f"ORDER BY {order.format(r='r', i='m')} LIMIT %(limit)s OFFSET %(offset)s) "
            f"SELECT s.id, s.url, s.title, s.issued, {_SITE_SQL} AS site, page.rank FROM page "
            f"JOIN source s ON s.id = page.source_id ORDER BY {order.format(r='page', i='page')}",
            {**params, "pool": pool, "limit": limit, "offset": offset})]

    def _count(self, match: str, where: list[str], params: dict[str, Any]) -> int:
        return _scalar(self.conn.execute(f"SELECT count(*) FROM {_matching(match, where)}", params).fetchone())

    def _listed(self, plan: _Plan, where: list[str], params: dict[str, Any], limit: int,
                offset: int) -> list[SearchHit]:
        conditions = list(where)
        args = dict(params)
        if plan.exclude is not None:
            conditions.append(f"s.id NOT IN (SELECT d.source_id FROM search_doc d WHERE {plan.exclude})")
            args.update(plan.params)
        sql_where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
        rows = self.conn.execute(
            f"SELECT s.id, s.url, s.title, s.issued, {_SITE_SQL} AS site, "
            "(SELECT substr(coalesce(nullif(trim(f.notes), ''), f.body), 1, 400) FROM search_doc f "
            " WHERE f.source_id = s.id) AS preview "
            f"FROM source s {sql_where} ORDER BY s.issued IS NULL, s.issued COLLATE \"C\" DESC, s.id DESC "
            "LIMIT %(limit)s OFFSET %(offset)s", {**args, "limit": limit, "offset": offset})
        return [SearchHit(id=sid, url=url, title=title, issued=issued, site=site, score=None,
                          snippet=preview or "", matched_fields=[])
                for sid, url, title, issued, site, preview in rows]

    # --- reading the archive -----------------------------------------------------------------------------

    def archived_copies(self, source_id: int) -> list[ArchivedCopy]:
        return [ArchivedCopy(*r) for r in self.execute(_ARCHIVED_COPIES, {"sid": source_id})]

    def archived_copy(self, snapshot_id: int) -> ArchivedCopy | None:
        row = self.execute(_ARCHIVED_COPY, {"snapshot_id": snapshot_id}).fetchone()
        return None if row is None else ArchivedCopy(*row)

    def current_text(self, source_id: int) -> CurrentText | None:
        row = self.execute(_CURRENT_TEXT, {"sid": source_id}).fetchone()
        return None if row is None else CurrentText(*row)

    def source_heading(self, source_id: int) -> SourceHeading | None:
        row = self.execute(_SOURCE_HEADING, {"sid": source_id}).fetchone()
        return None if row is None else SourceHeading(*row)

    def fetch_attempts(self, source_id: int, limit: int) -> list[dict[str, Any]]:
        cur = self.execute(_FETCH_ATTEMPTS, {"sid": source_id, "limit": limit})
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def notes_overview(self) -> list[tuple[str, str, int, int]]:
        return [(r[0], r[1], r[2], r[3]) for r in self.execute(_NOTES_OVERVIEW)]

    def note_paths(self, note_ids: Sequence[int]) -> list[str]:
        return [r[0] for r in self.execute(_NOTE_PATHS, {"ids": [int(i) for i in note_ids]})]

    def citing_mentions(self, source_id: int) -> list[CitingMention]:
        return [CitingMention(*r) for r in self.execute(_CITING_MENTIONS, {"sid": source_id})]

    def checked_source_ids(self) -> list[int]:
        return [r[0] for r in self.execute(_CHECKED_IDS)]

    def check_dates(self, ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        facts: dict[int, tuple[str | None, str | None]] = {}
        for start in range(0, len(ids), 5000):
            chunk = [int(i) for i in ids[start:start + 5000]]
            for sid, title, fetched_at in self.execute(_CHECK_DATES, {"ids": chunk}):
                facts[sid] = (title, fetched_at)
        return facts

    def facet_counts(self, top: int) -> Facets:
        return Facets(
            tags=[(r[0], r[1]) for r in self.execute(_TAG_FACETS, {"top": top})],
            sites=[(r[0], r[1]) for r in self.execute(_SITE_FACETS, {"top": top})],
            statuses=[(r[0], r[1]) for r in self.execute(_STATUS_FACETS)],
            notes=[(r[0], r[1]) for r in self.execute(_NOTE_FACETS)],
        )

    def catalog_counts(self) -> dict[str, int]:
        row = self.execute(_CATALOG_COUNTS).fetchone()
        assert row is not None
        return {"sources": row[0], "archived": row[1], "notes": row[2]}
