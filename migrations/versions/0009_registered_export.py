"""Registered exports: bibliographies that refman keeps current (`refman export … --keep-updated`).

Each row says what to write (format, selection and options as JSON), where (a file, or a folder for a
per-note mirror) and what was last written there (sha256 of the bytes, when; for a per-note mirror the files
it wrote, so that it removes only its own files when a note goes).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # SQLite's INTEGER PRIMARY KEY is the rowid, numbered on insert; PostgreSQL needs a SERIAL for that (the type
    # SQLAlchemy gives the other tables' ids), and a boolean default that is a boolean.
    op.execute(f"""CREATE TABLE registered_export (
    id {'SERIAL' if postgresql else 'INTEGER'} NOT NULL PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    path VARCHAR NOT NULL UNIQUE,
    format VARCHAR NOT NULL,
    per_note BOOLEAN NOT NULL DEFAULT {'false' if postgresql else '0'},
    options VARCHAR NOT NULL,
    files VARCHAR,
    written_hash VARCHAR,
    written_at VARCHAR,
    created_at VARCHAR NOT NULL
)""")


def downgrade() -> None:
    op.execute("DROP TABLE registered_export")
