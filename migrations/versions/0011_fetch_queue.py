"""The fetch queue of a team catalog: procrastinate's schema and the per-host turns of the workers (PostgreSQL only).

`refman fetch --enqueue` queues one procrastinate job per source and `refman worker` runs them
(refman.fetch.queue). Everything the queue needs lives in its own PostgreSQL schema, `refman_queue`, apart from
the catalog's tables (which refman.models defines, in `public`):

* procrastinate's schema, exactly as the pinned procrastinate release ships it (`procrastinate.sql/schema.sql`:
  its jobs, workers and events tables, their functions and triggers), created with `refman_queue` first on the
  search path; refman's connections to the queue put it first on theirs (refman.store.postgres.queue);
* `host_turn`: per host, the earliest time the next request to it may start, so that every worker on every
  machine keeps the minimum delay between two requests to one host.

A no-op on SQLite: a SQLite catalog has no workers. The downgrade drops the schema with everything in it
(queued jobs included).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE_SCHEMA = "refman_queue"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    raw = bind.connection.driver_connection  # psycopg: no parameters, so the file runs as one simple query
    assert raw is not None
    raw.execute(f"CREATE SCHEMA {QUEUE_SCHEMA}")
    saved = raw.execute("SELECT current_setting('search_path')").fetchone()[0]
    raw.execute(f"SELECT set_config('search_path', '{QUEUE_SCHEMA}', true)")
    raw.execute(SchemaManager.get_schema())
    raw.execute("""CREATE TABLE host_turn (
    host VARCHAR NOT NULL PRIMARY KEY,
    next_at TIMESTAMP WITH TIME ZONE NOT NULL
)""")
    raw.execute("SELECT set_config('search_path', %s, true)", (saved,))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP SCHEMA IF EXISTS {QUEUE_SCHEMA} CASCADE")
