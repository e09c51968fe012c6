"""Full-text search index: one FTS5 row per source, kept in sync by pure-SQL triggers.

The index (`search_fts`) is an ordinary FTS5 table (unicode61, diacritics removed) whose rowid is `source.id`;
columns: title, authors, site, tags, notes, body. CJK characters are indexed as one token each: the indexed
copy of every column has a space on both sides of each CJK character (see refman.search for why and for the
measurements). The triggers do that spacing in plain SQL (a recursive CTE over 64-character blocks; blocks
without CJK are copied as they are), so *any* connection that writes the catalog — SQLAlchemy, the light
sqlite3 path, the `sqlite3` shell, another engineer's test — keeps the index right in the same transaction,
with no user function to register. `refman db reindex` rebuilds the same rows faster in Python.

The SQL here is frozen on purpose (a migration must not change when library code does);
tests/test_search_index.py checks that it agrees with refman.search.cjk_space.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kana, CJK Ext A, CJK Unified, Hangul syllables, CJK compatibility, CJK Ext B–F (a GLOB character class).
_CJK_CLASS = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]"
_BLOCK = 64
# Private-use tokens around each tag so that `tag:x` can match a whole tag exactly (refman.search.TAG_OPEN).
_TAG_OPEN, _TAG_CLOSE = "\ue000", "\ue001"
WEIGHTS = "bm25(10.0, 4.0, 3.0, 5.0, 3.0, 1.0)"


def _spaced(expr: str) -> str:
    """SQL for `expr` with a space on both sides of every CJK character (NULL stays NULL)."""
    g = _CJK_CLASS
    n = _BLOCK
    return f"""(SELECT CASE WHEN v IS NULL OR v NOT GLOB '*{g}*' THEN v ELSE (
  WITH RECURSIVE b(i) AS (SELECT 1 UNION ALL SELECT i + {n} FROM b WHERE i + {n} <= length(v))
  SELECT group_concat(CASE WHEN s NOT GLOB '*{g}*' THEN s ELSE (
      WITH RECURSIVE c(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM c WHERE j < length(s))
      SELECT group_concat(CASE WHEN substr(s, j, 1) GLOB '{g}' THEN ' ' || substr(s, j, 1) || ' '
                               ELSE substr(s, j, 1) END, '') FROM c) END, '')
  FROM (SELECT substr(v, i, {n}) AS s FROM b)) END FROM (SELECT {expr} AS v))"""


def _authors(expr: str) -> str:
    """Display names from a JSON list of CSL names ({family, given} or {literal}); other text as it is."""
    return f"""(CASE WHEN {expr} IS NULL THEN NULL WHEN NOT json_valid({expr}) THEN {expr}
  WHEN json_type({expr}) <> 'array' THEN {expr} ELSE (
  SELECT group_concat(CASE WHEN type = 'object' THEN coalesce(json_extract(value, '$.literal'),
           trim(coalesce(json_extract(value, '$.given'), '') || ' ' || coalesce(json_extract(value, '$.family'), '')))
         ELSE value END, '; ') FROM json_each({expr})) END)"""


def _site(row: str) -> str:
    return (f"(coalesce({row}.host, '') || ' ' || coalesce({row}.container_title, '') || ' ' "
            f"|| coalesce({row}.publisher, ''))")


def _tags(source_id: str) -> str:
    return (f"(SELECT group_concat('{_TAG_OPEN} ' || tag || ' {_TAG_CLOSE}', ' ') FROM (SELECT tag FROM source_tag "
            f"WHERE source_id = {source_id} ORDER BY tag))")


def _notes(source_id: str) -> str:
    return f"""(coalesce((SELECT user_note FROM source WHERE id = {source_id}), '') || ' ' || coalesce((
  SELECT group_concat(label || ' ' || coalesce(title, '') || ' ' || coalesce(annotation, ''), ' ')
  FROM (SELECT label, title, annotation FROM mention WHERE source_id = {source_id} ORDER BY id)), ''))"""


def _body(source_id: str) -> str:
    return f"(SELECT text FROM source_text WHERE source_id = {source_id})"


def _trigger_sql() -> list[str]:
    sp = _spaced
    set_tags = "UPDATE search_fts SET tags = {t} WHERE rowid = {sid};"
    set_notes = "UPDATE search_fts SET notes = {n} WHERE rowid = {sid};"
    return [
        f"""CREATE TRIGGER search_source_ai AFTER INSERT ON source BEGIN
  DELETE FROM search_fts WHERE rowid = new.id;
  INSERT INTO search_fts(rowid, title, authors, site, tags, notes, body) VALUES (new.id, {sp('new.title')},
    {sp(_authors('new.author'))}, {sp(_site('new'))}, {sp(_tags('new.id'))}, {sp(_notes('new.id'))},
    {sp(_body('new.id'))});
END""",
        f"""CREATE TRIGGER search_source_au AFTER UPDATE OF title, author, host, container_title, publisher, user_note
ON source WHEN new.title IS NOT old.title OR new.author IS NOT old.author OR new.host IS NOT old.host
  OR new.container_title IS NOT old.container_title OR new.publisher IS NOT old.publisher
  OR new.user_note IS NOT old.user_note BEGIN
  UPDATE search_fts SET title = {sp('new.title')}, authors = {sp(_authors('new.author'))},
    site = {sp(_site('new'))}, notes = {sp(_notes('new.id'))} WHERE rowid = new.id;
END""",
        """CREATE TRIGGER search_source_ad AFTER DELETE ON source BEGIN
  DELETE FROM search_fts WHERE rowid = old.id;
END""",
        f"""CREATE TRIGGER search_tag_ai AFTER INSERT ON source_tag BEGIN
  {set_tags.format(t=sp(_tags('new.source_id')), sid='new.source_id')}
END""",
        f"""CREATE TRIGGER search_tag_ad AFTER DELETE ON source_tag BEGIN
  {set_tags.format(t=sp(_tags('old.source_id')), sid='old.source_id')}
END""",
        f"""CREATE TRIGGER search_tag_au AFTER UPDATE ON source_tag BEGIN
  {set_tags.format(t=sp(_tags('old.source_id')), sid='old.source_id')}
  {set_tags.format(t=sp(_tags('new.source_id')), sid='new.source_id')}
END""",
        f"""CREATE TRIGGER search_mention_ai AFTER INSERT ON mention BEGIN
  {set_notes.format(n=sp(_notes('new.source_id')), sid='new.source_id')}
END""",
        f"""CREATE TRIGGER search_mention_ad AFTER DELETE ON mention BEGIN
  {set_notes.format(n=sp(_notes('old.source_id')), sid='old.source_id')}
END""",
        f"""CREATE TRIGGER search_mention_au AFTER UPDATE OF source_id, label, title, annotation ON mention
WHEN new.source_id IS NOT old.source_id OR new.label IS NOT old.label OR new.title IS NOT old.title
  OR new.annotation IS NOT old.annotation BEGIN
  {set_notes.format(n=sp(_notes('old.source_id')), sid='old.source_id')}
  {set_notes.format(n=sp(_notes('new.source_id')), sid='new.source_id')}
END""",
        f"""CREATE TRIGGER search_text_ai AFTER INSERT ON source_text BEGIN
  UPDATE search_fts SET body = {sp('new.text')} WHERE rowid = new.source_id;
END""",
        f"""CREATE TRIGGER search_text_au AFTER UPDATE OF source_id, text ON source_text
WHEN new.source_id IS NOT old.source_id OR new.text IS NOT old.text BEGIN
  UPDATE search_fts SET body = NULL WHERE rowid = old.source_id AND new.source_id IS NOT old.source_id;
  UPDATE search_fts SET body = {sp('new.text')} WHERE rowid = new.source_id;
END""",
        """CREATE TRIGGER search_text_ad AFTER DELETE ON source_text BEGIN
  UPDATE search_fts SET body = NULL WHERE rowid = old.source_id;
END""",
    ]


TRIGGERS = ("search_source_ai", "search_source_au", "search_source_ad", "search_tag_ai", "search_tag_ad",
            "search_tag_au", "search_mention_ai", "search_mention_ad", "search_mention_au", "search_text_ai",
            "search_text_au", "search_text_ad")


def upgrade() -> None:
    op.execute("""CREATE VIRTUAL TABLE search_fts USING fts5(
        title, authors, site, tags, notes, body, tokenize = 'unicode61 remove_diacritics 2')""")
    op.execute(f"INSERT INTO search_fts(search_fts, rank) VALUES ('rank', '{WEIGHTS}')")
    for sql in _trigger_sql():
        op.execute(sql)
    # Index what an 0001 catalog already holds, with the same expressions the triggers use.
    op.execute(f"""INSERT INTO search_fts(rowid, title, authors, site, tags, notes, body)
        SELECT s.id, {_spaced('s.title')}, {_spaced(_authors('s.author'))}, {_spaced(_site('s'))},
               {_spaced(_tags('s.id'))}, {_spaced(_notes('s.id'))}, {_spaced(_body('s.id'))} FROM source s""")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_fts")
