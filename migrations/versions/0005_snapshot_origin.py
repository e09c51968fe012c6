"""Snapshot origin: where an archived copy came from, and the Internet Archive capture it was taken from.

`origin` is `live` (refman fetched the page), `wayback` (a capture of the Internet Archive), `render` (the DOM of
the page rendered in a browser), `adapter` (a site adapter's JSON endpoint) or `capture` (a page saved in the
user's browser and uploaded). Every snapshot before this revision was a live fetch. `memento_url` and
`memento_at` (UTC, ISO 8601) name the archive capture a `wayback` snapshot was taken from.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE snapshot ADD COLUMN origin VARCHAR NOT NULL DEFAULT 'live'")
    op.execute("ALTER TABLE snapshot ADD COLUMN memento_url VARCHAR")
    op.execute("ALTER TABLE snapshot ADD COLUMN memento_at VARCHAR")


def downgrade() -> None:
    for column in ("memento_at", "memento_url", "origin"):
        op.execute(f"ALTER TABLE snapshot DROP COLUMN {column}")
