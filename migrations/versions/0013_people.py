"""Many people on one catalog: who made each write, the user values that were overwritten, per-user vault roots.

* `source.created_by` / `source.updated_by`, `field_value.changed_by` (who recorded that piece of evidence: the
  editor of a `user` value, who ran the fetch of a page value, who imported a label), `source_tag.added_by`,
  `snapshot.fetched_by`: user names (refman.config.user_name). Rows written before this revision have NULL
  (shown as "unknown").
* `field_history`: a user value that `refman set`/`unset` or a merge replaced or removed, with who set it and
  when, and who replaced it and when (concurrent edits are last-writer-wins, the overwritten value kept here).
* `note.owner`: who imported the note. A note is (owner, vault root, path): two people importing vaults at the
  same absolute path (on their own machines) keep apart notes. The unique constraint on note (root, path) becomes
  (owner, root, path). Notes imported before this revision have no owner; the first import of their root claims
  them (refman.store.notes.NotesStore.claim_notes).

On SQLite the note table's unique constraint is part of its CREATE TABLE statement (an unnamed constraint,
backed by `sqlite_autoindex_note_1`). A copy-and-move rebuild of `note` cannot run here: migrations run in one
transaction with foreign keys on, where dropping the old table would cascade-delete every mention. The
constraint is re-declared in the stored schema instead (as 0006 re-declares columns) and its index rebuilt from
the rows (REINDEX), which is also O(notes) rather than a copy of the table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHO = (("source", "created_by"), ("source", "updated_by"), ("field_value", "changed_by"),
        ("source_tag", "added_by"), ("snapshot", "fetched_by"), ("note", "owner"))


def _redeclare_note_unique(old: str, new: str) -> None:
    """SQLite: the note table's unique constraint `old` becomes `new` in the stored schema, and its index is
    rebuilt from the rows."""
    conn = op.get_bind()
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'note'").scalar()
    if not isinstance(sql, str) or sql.count(old) != 1:
        raise RuntimeError(f"unexpected declaration of table note (no {old}); not changed")
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'note'",
                         (sql.replace(old, new),))
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    conn.exec_driver_sql("REINDEX note")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, column in _WHO:
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR")
    # SQLite's INTEGER PRIMARY KEY is the rowid, numbered on insert; PostgreSQL needs a SERIAL for that (0009).
    op.execute(f"""CREATE TABLE field_history (
    id {'SERIAL' if postgres else 'INTEGER'} NOT NULL PRIMARY KEY,
    source_id INTEGER NOT NULL,
    field VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    changed_by VARCHAR,
    changed_at VARCHAR NOT NULL,
    replaced_by VARCHAR,
    replaced_at VARCHAR NOT NULL,
    FOREIGN KEY(source_id) REFERENCES source (id) ON DELETE CASCADE
)""")
    op.execute("CREATE INDEX ix_field_history_source ON field_history (source_id, field)")
    if postgres:
        op.execute("ALTER TABLE note DROP CONSTRAINT note_root_path_key")
        op.execute("ALTER TABLE note ADD CONSTRAINT note_owner_root_path_key UNIQUE (owner, root, path)")
    else:
        _redeclare_note_unique("UNIQUE (root, path)", "UNIQUE (owner, root, path)")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # Notes that only the owner told apart cannot all stay: the oldest of each (root, path) does.
    op.execute("DELETE FROM note WHERE id NOT IN (SELECT min(id) FROM note GROUP BY root, path)")
    if postgres:
        op.execute("ALTER TABLE note DROP CONSTRAINT note_owner_root_path_key")
        op.execute("ALTER TABLE note ADD CONSTRAINT note_root_path_key UNIQUE (root, path)")
    else:
        _redeclare_note_unique("UNIQUE (owner, root, path)", "UNIQUE (root, path)")
    op.execute("DROP INDEX ix_field_history_source")
    op.execute("DROP TABLE field_history")
    for table, column in reversed(_WHO):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
