"""PostgreSQL search speed (issue #17 §2): CJK character bigrams in the search document, and a small tsvector of
the describing columns (the first ranking tier) with its own GIN index.

A CJK word is a phrase of one-character lexemes (`refman_cjk_space`): for `数据` the GIN index returned every
document holding both characters (most Chinese ones), and PostgreSQL then read each one's whole tsvector to check
positions. Each column's tsvector now also holds, for every two consecutive lexemes that are both one CJK
character, a bigram lexeme: U+E002 + the two characters in the describing columns, U+E003 + them in the body
(private use: no query lexeme can start with one, so a prefix query never matches one). Bigrams are made per
column from that column's own lexemes (per tag for the tags), so none runs from one column into the next, and two
characters are consecutive exactly when the phrase `'数' <-> '据'` matches them there: a two-character word is
one GIN lookup, exact, and a longer one is narrowed to the documents holding all its bigrams before its phrase is
checked. A describing column's bigrams have position 1 in its weight (weights need a position; ranks never ask
for bigrams), which puts the next column's positions one further on; the body's have no position (only queries
of the body's weight D look for them, and it is the last column), which keeps the large tsvector smaller.

`describing` is the tsvector of title, authors, tags, site and notes (weights A, B, B, C, C), exactly the start
of `document` (`document` = `describing` || the body's), so the first tier (sources matching in those columns)
is searched and ranked without reading the archived texts' large tsvectors, and gives the same ranks.

The existing rows are recomputed by the BEFORE trigger (an UPDATE of every row; the GIN index on `document` is
built again afterwards, which is faster than updating it row by row). A no-op on SQLite: FTS5 is unchanged.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kana, CJK Ext A, CJK Unified, Hangul syllables, CJK compatibility, CJK Ext B–F: refman_cjk_space's class (0002).
_CJK_CLASS = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]"
BIGRAM_MARK = "\ue002"  # the describing columns' bigrams
BODY_BIGRAM_MARK = "\ue003"  # the body's
_TAG_CLOSE = "\ue001"  # refman.search_query.TAG_CLOSE
BODY_CHARS = 250_000  # as 0010

# refman_cjk_space's class as code points, tested on a one-character lexeme (a regular expression per lexeme
# took most of the time of indexing a Chinese page).
_IS_CJK = " OR ".join(f"ascii(u.lexeme) BETWEEN {lo} AND {hi}" for lo, hi in (
    (0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF)))

_FUNCTIONS = (
    # The two characters of every two consecutive one-character CJK lexemes (repeats included). PL/pgSQL for
    # the reason given below.
    f"""CREATE FUNCTION refman_cjk_pairs(v tsvector) RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN (SELECT coalesce(array_agg(x.lexeme || x.nxt), '{{}}') FROM (
      SELECT u.lexeme, p.pos, lead(u.lexeme) OVER w AS nxt, lead(p.pos) OVER w AS npos
      FROM unnest(v) AS u(lexeme, positions, weights), unnest(u.positions) AS p(pos)
      WHERE length(u.lexeme) = 1 AND ({_IS_CJK})
      WINDOW w AS (ORDER BY p.pos)) x WHERE x.npos = x.pos + 1);
END $$""",
    # A describing column's bigram lexemes, at position 1 (a weight needs a position; `\\:` is a colon that
    # SQLAlchemy's text() does not take for a parameter). PL/pgSQL, as refman_search_column: a SQL function
    # that cannot be inlined costs an executor start per call, which made a bulk import's index rows 4× slower.
    # A tsvector's input merges repeated lexemes and positions, so repeated pairs need no DISTINCT.
    f"""CREATE FUNCTION refman_cjk_bigrams(v tsvector) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE pairs text[] := refman_cjk_pairs(v);
BEGIN
  IF cardinality(pairs) = 0 THEN RETURN ''::tsvector; END IF;
  RETURN array_to_string(ARRAY(SELECT '''{BIGRAM_MARK}' || b || '''\\:1' FROM unnest(pairs) AS b), ' ')::tsvector;
END $$""",
    # One describing column's tsvector in its weight: its lexemes, and its bigrams when it has CJK characters.
    f"""CREATE FUNCTION refman_search_column(v text, w "char") RETURNS tsvector LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE t tsvector := to_tsvector('simple', refman_search_text(v));
BEGIN
  IF v ~ '{_CJK_CLASS}' THEN t := t || refman_cjk_bigrams(t); END IF;
  RETURN setweight(t, w);
END $$""",
    # The body's: its bigrams have no position (nor weight: only queries of the body's weight D look for them,
    # and their mark is the body's own), which keeps the large tsvector smaller and quicker to build.
    f"""CREATE FUNCTION refman_search_body_column(v text) RETURNS tsvector LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE t tsvector := setweight(to_tsvector('simple', refman_search_text(v)), 'D');
BEGIN
  IF v ~ '{_CJK_CLASS}' THEN
    t := t || array_to_tsvector(ARRAY(SELECT '{BODY_BIGRAM_MARK}' || b FROM unnest(refman_cjk_pairs(t)) AS b));
  END IF;
  RETURN t;
END $$""",
    # The tags column's: bigrams within each tag (the tag markers are not lexemes: two tags' words are
    # consecutive lexemes).
    f"""CREATE FUNCTION refman_search_tags_column(v text) RETURNS tsvector LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE t tsvector := to_tsvector('simple', refman_search_text(v));
BEGIN
  IF v ~ '{_CJK_CLASS}' THEN
    t := t || (SELECT string_agg(refman_cjk_bigrams(to_tsvector('simple', refman_search_text(g)))::text, ' ')
               FROM regexp_split_to_table(v, '{_TAG_CLOSE}') AS g)::tsvector;
  END IF;
  RETURN setweight(t, 'B');
END $$""",
    """CREATE FUNCTION refman_search_describing(title text, authors text, site text, tags text, notes text)
RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT refman_search_column(title, 'A') || refman_search_column(authors, 'B') || refman_search_tags_column(tags)
      || refman_search_column(site, 'C') || refman_search_column(notes, 'C') $$""",
    f"""CREATE OR REPLACE FUNCTION refman_search_document(title text, authors text, site text, tags text,
  notes text, body text) RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT refman_search_describing(title, authors, site, tags, notes)
      || refman_search_body_column(left(body, {BODY_CHARS})) $$""",
    # `document` from `describing`: the describing columns are parsed once.
    f"""CREATE OR REPLACE FUNCTION refman_search_doc_bi() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  NEW.describing := refman_search_describing(NEW.title, NEW.authors, NEW.site, NEW.tags, NEW.notes);
  NEW.document := NEW.describing || refman_search_body_column(left(NEW.body, {BODY_CHARS}));
  RETURN NEW;
END $$""",
)

# As 0002 and 0010 left them.
_OLD_DOCUMENT = f"""CREATE OR REPLACE FUNCTION refman_search_document(title text, authors text, site text, tags text,
  notes text, body text) RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('simple', refman_search_text(title)), 'A')
      || setweight(to_tsvector('simple', refman_search_text(authors)), 'B')
      || setweight(to_tsvector('simple', refman_search_text(tags)), 'B')
      || setweight(to_tsvector('simple', refman_search_text(site)), 'C')
      || setweight(to_tsvector('simple', refman_search_text(notes)), 'C')
      || setweight(to_tsvector('simple', refman_search_text(left(body, {BODY_CHARS}))), 'D') $$"""
_OLD_DOC_BI = """CREATE OR REPLACE FUNCTION refman_search_doc_bi() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
  NEW.document := refman_search_document(NEW.title, NEW.authors, NEW.site, NEW.tags, NEW.notes, NEW.body);
  RETURN NEW;
END $$"""


def _recompute() -> None:
    """Every row's tsvectors again (the BEFORE trigger computes them), the GIN index on `document` built once
    afterwards rather than updated row by row."""
    op.execute("DROP INDEX IF EXISTS ix_search_doc_document")
    op.execute("UPDATE search_doc SET title = title")
    op.execute("CREATE INDEX ix_search_doc_document ON search_doc USING gin (document)")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_doc ADD COLUMN describing tsvector")
    for statement in _FUNCTIONS:
        op.execute(statement)
    _recompute()
    op.execute("ALTER TABLE search_doc ALTER COLUMN describing SET NOT NULL")
    op.execute("CREATE INDEX ix_search_doc_describing ON search_doc USING gin (describing)")
    op.execute("ANALYZE search_doc")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_OLD_DOC_BI)
    op.execute(_OLD_DOCUMENT)
    op.execute("DROP INDEX ix_search_doc_describing")
    op.execute("ALTER TABLE search_doc DROP COLUMN describing")
    for signature in ("refman_search_describing(text, text, text, text, text)", "refman_search_tags_column(text)",
                      "refman_search_body_column(text)",
                      "refman_search_column(text, \"char\")", "refman_cjk_bigrams(tsvector)",
                      "refman_cjk_pairs(tsvector)"):
        op.execute(f"DROP FUNCTION {signature}")
    _recompute()
