"""PostgreSQL: a commit that changes what exports show notifies `refman_catalog_changed` (LISTEN/NOTIFY).

SQLite has `PRAGMA data_version` for "did anyone commit since I last looked"; PostgreSQL has no per-database
counter. A statement-level trigger on the tables exports are made from calls pg_notify: the notification is
delivered to listeners only when the transaction commits (never for a rollback), once per transaction however
many statements sent it, and it locks nothing (a counter row would serialise every writer). refman's listeners
(refman.store.postgres.changes) keep registered exports current after each command and under `refman watch`.
A no-op on SQLite.

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


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
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
