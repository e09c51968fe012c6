"""PostgreSQL: a commit that changes what exports show notifies `refman_catalog_changed` (LISTEN/NOTIFY); the
search document indexes at most the first 250,000 characters of an archived text.

SQLite has `PRAGMA data_version` for "did anyone commit since I last looked"; PostgreSQL has no per-database
counter. A statement-level trigger on the tables exports are made from calls pg_notify: the notification is
delivered to listeners only when the transaction commits (never for a rollback), once per transaction however
many statements sent it, and it locks nothing (a counter row would serialise every writer). refman's listeners
(refman.store.postgres.changes) keep registered exports current after each command and under `refman watch`.
A no-op on SQLite.

A tsvector holds at most 1 MB: the archived text of a book-sized page made the index trigger fail, and with it
the fetch that archived it. Its first 250,000 characters are indexed (every word of them; SQLite's FTS5 has no
such limit, and its index is unchanged).

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "refman_catalog_changed"
# What exports are made from (claims, blobs and the search index are not).
TABLES = ("note", "source", "field_value", "mention", "source_tag", "source_alias", "snapshot", "source_text",
          "registered_export")


_DOCUMENT = """CREATE OR REPLACE FUNCTION refman_search_document(title text, authors text, site text, tags text,
  notes text, body text) RETURNS tsvector LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('simple', refman_search_text(title)), 'A')
      || setweight(to_tsvector('simple', refman_search_text(authors)), 'B')
      || setweight(to_tsvector('simple', refman_search_text(tags)), 'B')
      || setweight(to_tsvector('simple', refman_search_text(site)), 'C')
      || setweight(to_tsvector('simple', refman_search_text(notes)), 'C')
      || setweight(to_tsvector('simple', refman_search_text({body})), 'D') $$"""
BODY_CHARS = 250_000  # a tsvector costs up to ~3 bytes per character of short distinct words


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_DOCUMENT.format(body=f"left(body, {BODY_CHARS})"))
    op.execute(f"""CREATE FUNCTION refman_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{CHANNEL}', '');
  RETURN NULL;
END $$""")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
                   " FOR EACH STATEMENT EXECUTE FUNCTION refman_notify_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_notify_change ON {table}")
    op.execute("DROP FUNCTION refman_notify_change()")
    op.execute(_DOCUMENT.format(body="body"))
