"""Fetch claims and the start of a failure streak.

`fetch_claim`: a source being fetched by a run (process `pid` on `machine`, alive while `heartbeat_at` is
recent), so that a second `refman fetch` started meanwhile fetches only what the first has not claimed. A claim
of a process that died (kill -9) is taken over once its pid is gone or its heartbeat is stale.

`source.failing_since`: when the current run of failed checks began; `refman check` calls a source dead only
when its failures span at least a day (configurable), so two checks minutes apart never kill a link.

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""CREATE TABLE fetch_claim (
    source_id INTEGER NOT NULL PRIMARY KEY,
    machine VARCHAR NOT NULL,
    pid INTEGER NOT NULL,
    claimed_at VARCHAR NOT NULL,
    heartbeat_at VARCHAR NOT NULL,
    FOREIGN KEY(source_id) REFERENCES source (id) ON DELETE CASCADE
)""")
    op.execute("ALTER TABLE source ADD COLUMN failing_since VARCHAR")
    # A streak of definitive failures already under way began at the last fetch at the latest.
    op.execute("UPDATE source SET failing_since = fetched_at WHERE fail_count > 0 AND status IN ('dead', 'dns')")


def downgrade() -> None:
    op.execute("DROP TABLE fetch_claim")
    op.execute("ALTER TABLE source DROP COLUMN failing_since")
