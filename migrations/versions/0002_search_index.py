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

PostgreSQL (issue #17) gets the same index as a table: `search_doc`, one row per source (`source_id`, cascading
on delete), the same six columns holding the same spaced text, and `document`, a `tsvector` ('simple'
configuration) with a GIN index: title is weight A, authors and tags B, site and notes C, body D (FTS5's column
weights 10, 4+5, 3+3, 1; `ts_rank_cd` ranks with weights {D, C, B, A} = {0.1, 0.3, 0.45, 1.0}), so the describing
columns (A–C) and the body (D) can be searched apart for the two ranking tiers. PL/pgSQL triggers on the same
tables keep the columns right in the same transaction, as on SQLite, and a BEFORE trigger on `search_doc`
computes `document` with `refman_search_document()`; `refman_search_text()` is the text the parser sees: accents
removed (`unaccent`, a contrib extension, for FTS5's remove_diacritics) and every run of characters that are not
letters or digits (ICU classes) made a space, as unicode61 tokenises, so `example.com/a-b` gives
`example com a b` and not the default parser's URL tokens. A query must build its tsquery from
`refman_search_text(word)` too. The trigger functions run with the search_path of the migration
(`SET search_path FROM CURRENT`), so a session with another search_path still finds `unaccent` and the
helpers. `unaccent` is a trusted extension: the database's owner (CREATE privilege) can install it. Tag
markers (private-use characters) are not tokens there: `tag:` on PostgreSQL is a condition on `source_tag`.

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


_PG_FUNCTIONS = f"""
CREATE EXTENSION IF NOT EXISTS unaccent;

CREATE FUNCTION refman_cjk_space(v text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT regexp_replace(v, '({_CJK_CLASS})', ' \\1 ', 'g') $$;

CREATE FUNCTION refman_authors_text(v text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE names jsonb;
BEGIN
  -- Only a JSON array is read as names. (The EXCEPTION block makes the function parallel-unsafe: the default.)
  IF v IS NULL OR v !~ '^[[:space:]]*\\[' THEN RETURN v; END IF;
  BEGIN
    names := v::jsonb;
  EXCEPTION WHEN others THEN
    RETURN v;
  END;
  RETURN (SELECT string_agg(CASE WHEN jsonb_typeof(e) = 'object' THEN coalesce(e ->> 'literal',
            trim(coalesce(e ->> 'given', '') || ' ' || coalesce(e ->> 'family', ''))) ELSE e #>> '{{}}' END,
            '; ' ORDER BY i) FROM jsonb_array_elements(names) WITH ORDINALITY AS t(e, i));
END $$;

CREATE FUNCTION refman_search_text(v text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT regexp_replace(unaccent(coalesce(v, '')) COLLATE "und-x-icu", '[^[:alnum:]]+', ' ', 'g') $$;

CREATE FUNCTION refman_search_document(title text, authors text, site text, tags text, notes text, body text)
RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('simple', refman_search_text(title)), 'A')
      || setweight(to_tsvector('simple', refman_search_text(authors)), 'B')
      || setweight(to_tsvector('simple', refman_search_text(tags)), 'B')
      || setweight(to_tsvector('simple', refman_search_text(site)), 'C')
      || setweight(to_tsvector('simple', refman_search_text(notes)), 'C')
      || setweight(to_tsvector('simple', refman_search_text(body)), 'D') $$;

CREATE FUNCTION refman_search_tags(sid integer) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN refman_cjk_space((SELECT string_agg('{_TAG_OPEN} ' || tag || ' {_TAG_CLOSE}', ' ' ORDER BY tag COLLATE "C")
                           FROM source_tag WHERE source_id = sid));
END $$;

CREATE FUNCTION refman_search_notes(sid integer) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN refman_cjk_space(coalesce((SELECT user_note FROM source WHERE id = sid), '') || ' ' || coalesce((
    SELECT string_agg(label || ' ' || coalesce(title, '') || ' ' || coalesce(annotation, ''), ' ' ORDER BY id)
    FROM mention WHERE source_id = sid), ''));
END $$;

CREATE FUNCTION refman_search_body(sid integer) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN refman_cjk_space((SELECT text FROM source_text WHERE source_id = sid));
END $$;

CREATE FUNCTION refman_search_site(host text, container_title text, publisher text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT refman_cjk_space(coalesce(host, '') || ' ' || coalesce(container_title, '') || ' '
                          || coalesce(publisher, '')) $$;

CREATE FUNCTION refman_search_doc_bi() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  NEW.document := refman_search_document(NEW.title, NEW.authors, NEW.site, NEW.tags, NEW.notes, NEW.body);
  RETURN NEW;
END $$;

CREATE FUNCTION refman_search_on_source_insert() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO search_doc (source_id, title, authors, site, tags, notes, body)
  SELECT n.id, refman_cjk_space(n.title), refman_cjk_space(refman_authors_text(n.author)),
         refman_search_site(n.host, n.container_title, n.publisher), refman_search_tags(n.id),
         refman_search_notes(n.id), refman_search_body(n.id) FROM new_rows n
  ON CONFLICT (source_id) DO UPDATE SET title = excluded.title, authors = excluded.authors,
    site = excluded.site, tags = excluded.tags, notes = excluded.notes, body = excluded.body;
  RETURN NULL;
END $$;

CREATE FUNCTION refman_search_on_source_update() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE search_doc SET title = refman_cjk_space(NEW.title),
    authors = refman_cjk_space(refman_authors_text(NEW.author)),
    site = refman_search_site(NEW.host, NEW.container_title, NEW.publisher),
    notes = refman_search_notes(NEW.id) WHERE source_id = NEW.id;
  RETURN NULL;
END $$;

CREATE FUNCTION refman_search_on_tags() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE search_doc SET tags = refman_search_tags(source_id) WHERE source_id IN (SELECT source_id FROM new_rows);
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE search_doc SET tags = refman_search_tags(source_id) WHERE source_id IN (SELECT source_id FROM old_rows);
  ELSE
    UPDATE search_doc SET tags = refman_search_tags(source_id)
    WHERE source_id IN (SELECT source_id FROM old_rows UNION SELECT source_id FROM new_rows);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION refman_search_on_mentions() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE search_doc SET notes = refman_search_notes(source_id) WHERE source_id IN (SELECT source_id FROM new_rows);
  ELSE
    UPDATE search_doc SET notes = refman_search_notes(source_id) WHERE source_id IN (SELECT source_id FROM old_rows);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION refman_search_on_mention_update() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE search_doc SET notes = refman_search_notes(OLD.source_id) WHERE source_id = OLD.source_id;
  UPDATE search_doc SET notes = refman_search_notes(NEW.source_id) WHERE source_id = NEW.source_id;
  RETURN NULL;
END $$;

CREATE FUNCTION refman_search_on_texts() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE search_doc SET body = refman_search_body(source_id) WHERE source_id IN (SELECT source_id FROM new_rows);
  ELSE
    UPDATE search_doc SET body = refman_search_body(source_id) WHERE source_id IN (SELECT source_id FROM old_rows);
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION refman_search_on_text_update() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF NEW.source_id <> OLD.source_id THEN
    UPDATE search_doc SET body = NULL WHERE source_id = OLD.source_id;
  END IF;
  UPDATE search_doc SET body = refman_cjk_space(NEW.text) WHERE source_id = NEW.source_id;
  RETURN NULL;
END $$;
"""

# INSERT and DELETE are statement-level triggers over transition tables: a bulk write (one INSERT … SELECT, a
# COPY, a cascade) refreshes each source's row once. UPDATE triggers with a column list cannot have transition
# tables and stay per row, with the same WHEN conditions as SQLite's.
_PG_TRIGGERS = """
CREATE TRIGGER search_doc_bi BEFORE INSERT OR UPDATE ON search_doc
  FOR EACH ROW EXECUTE FUNCTION refman_search_doc_bi();
CREATE TRIGGER search_source_ai AFTER INSERT ON source REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refman_search_on_source_insert();
CREATE TRIGGER search_source_au AFTER UPDATE OF title, author, host, container_title, publisher, user_note ON source
  FOR EACH ROW WHEN (NEW.title IS DISTINCT FROM OLD.title OR NEW.author IS DISTINCT FROM OLD.author
    OR NEW.host IS DISTINCT FROM OLD.host OR NEW.container_title IS DISTINCT FROM OLD.container_title
    OR NEW.publisher IS DISTINCT FROM OLD.publisher OR NEW.user_note IS DISTINCT FROM OLD.user_note)
  EXECUTE FUNCTION refman_search_on_source_update();
CREATE TRIGGER search_tag_ai AFTER INSERT ON source_tag REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refman_search_on_tags();
CREATE TRIGGER search_tag_ad AFTER DELETE ON source_tag REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refman_search_on_tags();
CREATE TRIGGER search_tag_au AFTER UPDATE ON source_tag REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refman_search_on_tags();
CREATE TRIGGER search_mention_ai AFTER INSERT ON mention REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refman_search_on_mentions();
CREATE TRIGGER search_mention_ad AFTER DELETE ON mention REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refman_search_on_mentions();
CREATE TRIGGER search_mention_au AFTER UPDATE OF source_id, label, title, annotation ON mention
  FOR EACH ROW WHEN (NEW.source_id IS DISTINCT FROM OLD.source_id OR NEW.label IS DISTINCT FROM OLD.label
    OR NEW.title IS DISTINCT FROM OLD.title OR NEW.annotation IS DISTINCT FROM OLD.annotation)
  EXECUTE FUNCTION refman_search_on_mention_update();
CREATE TRIGGER search_text_ai AFTER INSERT ON source_text REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refman_search_on_texts();
CREATE TRIGGER search_text_ad AFTER DELETE ON source_text REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION refman_search_on_texts();
CREATE TRIGGER search_text_au AFTER UPDATE OF source_id, text ON source_text
  FOR EACH ROW WHEN (NEW.source_id IS DISTINCT FROM OLD.source_id OR NEW.text IS DISTINCT FROM OLD.text)
  EXECUTE FUNCTION refman_search_on_text_update();
"""

# Triggers and functions of the PostgreSQL index, in the order the downgrade drops them.
PG_TRIGGERS = (("search_text_au", "source_text"), ("search_text_ad", "source_text"), ("search_text_ai", "source_text"),
               ("search_mention_au", "mention"), ("search_mention_ad", "mention"), ("search_mention_ai", "mention"),
               ("search_tag_au", "source_tag"), ("search_tag_ad", "source_tag"), ("search_tag_ai", "source_tag"),
               ("search_source_au", "source"), ("search_source_ai", "source"), ("search_doc_bi", "search_doc"))
PG_FUNCTIONS = ("refman_search_on_text_update()", "refman_search_on_texts()", "refman_search_on_mention_update()",
                "refman_search_on_mentions()", "refman_search_on_tags()", "refman_search_on_source_update()",
                "refman_search_on_source_insert()", "refman_search_doc_bi()",
                "refman_search_site(text, text, text)", "refman_search_body(integer)", "refman_search_notes(integer)",
                "refman_search_tags(integer)",
                "refman_search_document(text, text, text, text, text, text)", "refman_search_text(text)",
                "refman_authors_text(text)", "refman_cjk_space(text)")


def _upgrade_postgresql() -> None:
    for statement in _PG_FUNCTIONS.strip().split("\n\n"):  # one statement per execute (psycopg's protocol)
        op.execute(statement)
    op.execute("""CREATE TABLE search_doc (
    source_id INTEGER NOT NULL PRIMARY KEY REFERENCES source (id) ON DELETE CASCADE,
    title TEXT, authors TEXT, site TEXT, tags TEXT, notes TEXT, body TEXT,
    document tsvector NOT NULL
)""")
    op.execute("CREATE INDEX ix_search_doc_document ON search_doc USING gin (document)")
    for statement in _PG_TRIGGERS.strip().split(";\n"):
        op.execute(statement)
    # Index what an 0001 catalog already holds, with the functions the triggers use.
    op.execute("""INSERT INTO search_doc (source_id, title, authors, site, tags, notes, body)
        SELECT s.id, refman_cjk_space(s.title), refman_cjk_space(refman_authors_text(s.author)),
               refman_search_site(s.host, s.container_title, s.publisher), refman_search_tags(s.id),
               refman_search_notes(s.id), refman_search_body(s.id) FROM source s""")


def _downgrade_postgresql() -> None:
    for name, table in PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP TABLE IF EXISTS search_doc")
    for signature in PG_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    # The unaccent extension stays: another schema may use it, and it holds no data.


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
        return
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
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_fts")
