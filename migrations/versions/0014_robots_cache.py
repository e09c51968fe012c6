"""The robots.txt of each origin, shared by every fetch run and worker on the catalog.

`robots_txt`: one row per origin (scheme://host[:port]): when its robots.txt was last read, what that gave
(refman.vocabulary.RobotsOutcome: parsed, missing, unavailable), the HTTP status, and the text parsed (at most
refman.fetch.client.ROBOTS_MAX_BYTES of the file). A fetch uses a fresh row instead of asking the server again
(refman.fetch.robots), so three workers ask for a site's robots.txt once, not three times, and a second
`refman fetch` the same day not at all. Nothing else refers to it: the downgrade just drops it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""CREATE TABLE robots_txt (
    origin VARCHAR NOT NULL PRIMARY KEY,
    fetched_at VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    http_status INTEGER,
    body VARCHAR
)""")


def downgrade() -> None:
    op.execute("DROP TABLE robots_txt")
