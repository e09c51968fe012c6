"""Initial catalog: notes, sources, mentions, tags, field evidence, snapshots, blobs, archived text.

On PostgreSQL (issue #17) the same tables, with two differences SQLite does not need: `note.mtime_ns` is a
BIGINT (nanoseconds since 1970 overflow a 4-byte INTEGER; SQLite's INTEGER is 8 bytes), and the citation key's
case-insensitive collation `NOCASE` is created first, as a nondeterministic ICU collation of that name
(case-insensitive, accent-sensitive), so that the column declaration and its UNIQUE constraint mean what they
mean on SQLite. Caveat: PostgreSQL 15 refuses LIKE on a nondeterministic collation (`citekey COLLATE "C" LIKE`).

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Case-insensitive (ICU strength 2: case differences ignored, accents kept); SQLite's NOCASE folds ASCII only,
# which is the same thing for ASCII citation keys.
_PG_NOCASE = ("""CREATE COLLATION IF NOT EXISTS "NOCASE" """
              """(provider = icu, locale = 'und-u-ks-level2', deterministic = false)""")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_NOCASE)
    op.create_table(
        "note",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("root", sa.String, nullable=False),
        sa.Column("path", sa.String, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("mtime_ns", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
        sa.Column("encoding", sa.String),
        sa.Column("status", sa.String, nullable=False, server_default="ok"),
        sa.Column("reason", sa.String),
        sa.Column("imported_at", sa.String, nullable=False),
        sa.UniqueConstraint("root", "path"),
    )
    op.create_table(
        "source",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.String, nullable=False, unique=True),
        sa.Column("url_as_written", sa.String, nullable=False),
        sa.Column("host", sa.String, nullable=False),
        sa.Column("created_at", sa.String, nullable=False),
        sa.Column("updated_at", sa.String, nullable=False),
        sa.Column("user_note", sa.String),
        sa.Column("citekey", sa.String(collation="NOCASE"), unique=True),
        sa.Column("status", sa.String, nullable=False, server_default="new"),
        sa.Column("reason", sa.String),
        sa.Column("fetched_at", sa.String),
        sa.Column("last_ok_at", sa.String),
        sa.Column("fail_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("type", sa.String, nullable=False, server_default="webpage"),
        sa.Column("title", sa.String),
        sa.Column("issued", sa.String),
        sa.Column("container_title", sa.String),
        sa.Column("publisher", sa.String),
        sa.Column("author", sa.String),
        sa.Column("doi", sa.String),
        sa.Column("language", sa.String),
        sa.Column("abstract", sa.String),
    )
    op.create_index("ix_source_host", "source", ["host"])
    op.create_index("ix_source_status", "source", ["status"])
    op.create_index("ix_source_doi", "source", ["doi"])
    op.create_table(
        "field_value",
        sa.Column("source_id", sa.Integer, sa.ForeignKey("source.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("field", sa.String, primary_key=True),
        sa.Column("origin", sa.String, primary_key=True),
        sa.Column("value", sa.String, nullable=False),
        sa.Column("updated_at", sa.String, nullable=False),
    )
    op.create_table(
        "mention",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("source.id", ondelete="CASCADE"), nullable=False),
        sa.Column("note_id", sa.Integer, sa.ForeignKey("note.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("label", sa.String, nullable=False),
        sa.Column("title", sa.String),
        sa.Column("annotation", sa.String),
        sa.Column("flag", sa.String),
    )
    op.create_index("ix_mention_source_id", "mention", ["source_id"])
    op.create_index("ix_mention_note", "mention", ["note_id", "ordinal"])
    op.create_table(
        "source_tag",
        sa.Column("source_id", sa.Integer, sa.ForeignKey("source.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag", sa.String, primary_key=True),
    )
    op.create_index("ix_source_tag_tag", "source_tag", ["tag"])
    op.create_table(
        "blob",
        sa.Column("hash", sa.String, primary_key=True),
        sa.Column("codec", sa.String, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("stored_size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "snapshot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("source.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fetched_at", sa.String, nullable=False),
        sa.Column("outcome", sa.String, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("final_url", sa.String),
        sa.Column("redirects", sa.String),
        sa.Column("content_type", sa.String),
        sa.Column("charset", sa.String),
        sa.Column("size", sa.Integer),
        sa.Column("body_hash", sa.String, sa.ForeignKey("blob.hash")),
        sa.Column("unchanged", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("elapsed_ms", sa.Integer),
        sa.Column("error_class", sa.String),
        sa.Column("reason", sa.String),
        sa.Column("etag", sa.String),
        sa.Column("last_modified", sa.String),
        sa.Column("metadata_json", sa.String),
    )
    op.create_index("ix_snapshot_source", "snapshot", ["source_id", "fetched_at"])
    op.create_table(
        "source_text",
        sa.Column("source_id", sa.Integer, sa.ForeignKey("source.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshot.id"), nullable=False),
        sa.Column("text", sa.String, nullable=False),
        sa.Column("markdown_hash", sa.String, sa.ForeignKey("blob.hash")),
    )


def downgrade() -> None:
    for table in ("source_text", "snapshot", "blob", "source_tag", "mention", "field_value", "source", "note"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute('DROP COLLATION IF EXISTS "NOCASE"')
