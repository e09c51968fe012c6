"""Works without a URL: books known by their ISBN, papers known by their DOI or only by their citation.

* `source.url`, `source.url_as_written` and `source.host` may be NULL. Such a source is never fetched; its
  identity is its DOI (case-insensitive), else its ISBN-13, else its citation key.
* `ix_source_doi_ci` on `lower(doi)`: DOIs compare case-insensitively.
* `source.isbn`: the work's ISBN as ISBN-13 digits (an ISBN-10 is converted on the way in), for identity and
  for matching bibliography entries.
* unique partial indexes keep that identity unique among URL-less sources: `lower(doi)` where there is no URL,
  and `isbn` where there is neither URL nor DOI (the citation key is unique already). Sources with a URL may
  share a DOI (a publisher page and its PDF: `refman duplicates` finds those).

SQLite cannot drop a NOT NULL constraint with ALTER TABLE; the change rewrites the table's declaration in
sqlite_schema, the procedure SQLite documents for constraint removals (altertable.html, "Making Other Kinds Of
Table Schema Changes"): no row is copied or rewritten, so foreign keys, triggers and indexes are untouched.

PostgreSQL drops (and on downgrade sets) the NOT NULL constraints with ALTER TABLE; the rest is the same SQL.

Downgrade: a URL-less source with a DOI gets `https://doi.org/<DOI>` as its URL (what refman did before);
URL-less sources without a DOI cannot exist at 0004 and are deleted (with their evidence and tags).

Revision ID: 0006
Revises: 0005 (re-chained after merging main, which has 0005)
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("url", "url_as_written", "host")


def _redeclare(nullable: bool) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":  # ALTER TABLE does it there
        for column in _COLUMNS:
            op.execute(f"ALTER TABLE source ALTER COLUMN {column} {'DROP' if nullable else 'SET'} NOT NULL")
        return
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'source'").scalar()
    for column in _COLUMNS:
        strict, loose = f"\t{column} VARCHAR NOT NULL, \n", f"\t{column} VARCHAR, \n"
        old, new = (strict, loose) if nullable else (loose, strict)
        if old not in sql:
            raise RuntimeError(f"unexpected declaration of source.{column}; not changed")
        sql = sql.replace(old, new)
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'source'", (sql,))
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _redeclare(nullable=True)
    op.execute("ALTER TABLE source ADD COLUMN isbn VARCHAR")
    op.execute("CREATE INDEX ix_source_isbn ON source (isbn) WHERE isbn IS NOT NULL")
    op.execute("CREATE INDEX ix_source_doi_ci ON source (lower(doi))")  # DOIs compare case-insensitively
    op.execute("CREATE UNIQUE INDEX ux_source_urlless_doi ON source (lower(doi)) WHERE url IS NULL AND doi IS NOT NULL")
    op.execute("CREATE UNIQUE INDEX ux_source_urlless_isbn ON source (isbn)"
               " WHERE url IS NULL AND doi IS NULL AND isbn IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ux_source_urlless_isbn")
    op.execute("DROP INDEX ux_source_urlless_doi")
    op.execute("DROP INDEX ix_source_isbn")
    op.execute("DROP INDEX ix_source_doi_ci")
    op.execute("""UPDATE source SET url = 'https://doi.org/' || lower(doi), url_as_written = 'https://doi.org/' || doi,
        host = 'doi.org' WHERE url IS NULL AND doi IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM source o WHERE o.url = 'https://doi.org/' || lower(source.doi))""")
    op.execute("DELETE FROM source WHERE url IS NULL")
    op.execute("ALTER TABLE source DROP COLUMN isbn")
    _redeclare(nullable=False)
