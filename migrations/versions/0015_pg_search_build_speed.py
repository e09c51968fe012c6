"""PostgreSQL search document cheaper to build (issue #17 §2 follow-up): the archived text's CJK bigrams (migration
0012) from a join of the CJK lexemes' positions instead of a window over them; the same tsvectors.

0012's `refman_cjk_pairs` sorts every position of the text's one-character CJK lexemes for a window `lead()`
(~1,600 of them in a 5 KB Chinese page): with the array of pairs then turned into the bigram lexemes, that took
about half the time of a Chinese page's `refman_search_body_column` (the rest: `refman_search_text` and the
parser). `refman_cjk_pair_lexemes` finds the same pairs as a merge join of those positions on `pos + 1`, and
writes the marked lexemes directly (one array, no second unnest). Same pairs: the join and the window agree
whenever the CJK lexemes' positions are distinct, which they are below 16383 (one position per token in the
'simple' configuration; a lexeme keeps at most 255 of its positions, and both read the same ones). PostgreSQL
sets every position past 16383 to 16383, where several lexemes then share one; which of them the window pairs
with the lexeme at 16382 depends on its sort, so a text that long (16,383 words and CJK characters or more)
keeps 0012's computation, as it was (0012's `refman_cjk_pairs` stays, unchanged).
Measured on benchmarks/bench_search.py's pages (1,000 of each kind, best of five): a Chinese page's body column
3.7 → 2.7 ms (`to_tsvector(refman_search_text(…))` alone: 1.5 ms), an English one's unchanged (0.65 ms).

The describing columns keep 0012's functions (a title's few pairs cost next to nothing). No row changes: the
functions return what they returned, so the upgrade only replaces them (nothing is recomputed), and the downgrade
restores 0012's. A no-op on SQLite.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in 0012 (frozen here: a migration does not import another's constants).
_CJK_CLASS = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]"
BODY_BIGRAM_MARK = "\ue003"
_IS_CJK = " OR ".join(f"ascii(u.lexeme) BETWEEN {lo} AND {hi}" for lo, hi in (
    (0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF)))
# tsvector positions stop here (MAXENTRYPOS - 1): every later word is at 16383.
_LAST_POSITION = 16383

_PAIR_LEXEMES = f"""CREATE OR REPLACE FUNCTION refman_cjk_pair_lexemes(v tsvector, mark text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE pairs text[];
BEGIN
  WITH c AS MATERIALIZED (
    SELECT u.lexeme, unnest(u.positions) AS pos FROM unnest(v) AS u(lexeme, positions, weights)
    WHERE length(u.lexeme) = 1 AND ({_IS_CJK}))
  SELECT CASE WHEN (SELECT max(c.pos) FROM c) >= {_LAST_POSITION} THEN NULL
              ELSE ARRAY(SELECT mark || a.lexeme || b.lexeme FROM c a JOIN c b ON b.pos = a.pos + 1) END
  INTO pairs;
  IF pairs IS NULL THEN  -- positions run into 16383: 0012's window, for the same tsvector
    pairs := ARRAY(SELECT mark || p FROM unnest(refman_cjk_pairs(v)) AS p);
  END IF;
  RETURN pairs;
END $$"""

_BODY_COLUMN = f"""CREATE OR REPLACE FUNCTION refman_search_body_column(v text) RETURNS tsvector LANGUAGE plpgsql
STABLE PARALLEL SAFE AS $$
DECLARE t tsvector := to_tsvector('simple', refman_search_text(v));
BEGIN
  IF v ~ '{_CJK_CLASS}' THEN
    RETURN setweight(t, 'D') || array_to_tsvector(refman_cjk_pair_lexemes(t, '{BODY_BIGRAM_MARK}'));
  END IF;
  RETURN setweight(t, 'D');
END $$"""

# As 0012 left it.
_OLD_BODY_COLUMN = f"""CREATE OR REPLACE FUNCTION refman_search_body_column(v text) RETURNS tsvector LANGUAGE plpgsql
STABLE PARALLEL SAFE AS $$
DECLARE t tsvector := setweight(to_tsvector('simple', refman_search_text(v)), 'D');
BEGIN
  IF v ~ '{_CJK_CLASS}' THEN
    t := t || array_to_tsvector(ARRAY(SELECT '{BODY_BIGRAM_MARK}' || b FROM unnest(refman_cjk_pairs(t)) AS b));
  END IF;
  RETURN t;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_PAIR_LEXEMES)
    op.execute(_BODY_COLUMN)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_OLD_BODY_COLUMN)
    op.execute("DROP FUNCTION refman_cjk_pair_lexemes(tsvector, text)")
