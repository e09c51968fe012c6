"""Link ids: the text a note shows for a reference (`[text][label]`) is kept on its mention.

A label judged a link id gives no hints; the source's title then falls back to this link text
(refman.notes.linkids). Existing notes are marked for one re-read (their content hash is cleared), so that the
next import computes link texts and label judgements for them; nothing else changes.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE mention ADD COLUMN link_text VARCHAR")
    op.execute("UPDATE note SET sha256 = '', mtime_ns = 0")


def downgrade() -> None:
    op.execute("ALTER TABLE mention DROP COLUMN link_text")
