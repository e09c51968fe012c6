"""Aliases: the URLs of sources merged into another one (`refman merge`, `refman duplicates --merge`).

A note that still cites a merged-away URL keeps pointing at the kept source on every later import, and
`refman add`, `refman show URL` and bibliography imports find the kept source by that URL too.

WITHOUT ROWID is SQLite's (the primary key is the table); PostgreSQL gets the same table without it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    without_rowid = "" if op.get_bind().dialect.name == "postgresql" else " WITHOUT ROWID"
    op.execute(f"""CREATE TABLE source_alias (
    url VARCHAR NOT NULL PRIMARY KEY,
    source_id INTEGER NOT NULL,
    created_at VARCHAR NOT NULL,
    FOREIGN KEY(source_id) REFERENCES source (id) ON DELETE CASCADE
){without_rowid}""")
    op.execute("CREATE INDEX ix_source_alias_source_id ON source_alias (source_id)")


def downgrade() -> None:
    op.execute("DROP TABLE source_alias")
