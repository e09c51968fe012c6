"""How sources entered the catalog, which note's label speaks for them, kinds of mentions; leaner evidence table.

* `source.added_by`: `note` (a vault import created it), `add` (`refman add`) or `bibliography` (a .bib / CSL-JSON
  import). `source.first_cited_at`: when a note first cited the source (NULL: never), so that
  `refman list --orphans` means "cited by notes once, by none now" and leaves sources added by hand alone.
  `source.label_note`: the note whose label gives the source's label evidence; it replaces the hidden
  `field_value` row (field `label_note`, origin `label`) that held it before, one row per source.
* `mention.kind`: `definition` (a CommonMark link reference definition) or `bare` (a bare reference line such
  as `> 🔗 https://…` or `【Title】 https://…`; see refman.notes.scan).
* `field_value` becomes a WITHOUT ROWID table keyed by (source_id, field, origin): the primary key is the table,
  so each evidence row is written once instead of twice (table and key index).

Data in an 0002 catalog is kept. `added_by` and `first_cited_at` are reconstructed as well as the 0002 rows
allow: a source with a `label_note` row has been cited by a note; it was added by hand (`add`) when it has no
such row, or when a user title dates from its creation; it came from a bibliography when imported evidence
dates from its creation; otherwise a note created it.

On PostgreSQL the evidence table keeps its 0001 form (WITHOUT ROWID is SQLite's); only the label rows move.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LABEL_ROW = ("SELECT {col} FROM field_value f WHERE f.source_id = source.id AND f.field = 'label_note'"
              " AND f.origin = 'label'")
_AT_CREATION = ("EXISTS (SELECT 1 FROM field_value f WHERE f.source_id = source.id AND f.origin = '{origin}'"
                " AND f.updated_at = source.created_at)")


def _field_value_table(name: str, rowid: bool) -> str:
    return f"""CREATE TABLE {name} (
    source_id INTEGER NOT NULL,
    field VARCHAR NOT NULL,
    origin VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    updated_at VARCHAR NOT NULL,
    PRIMARY KEY (source_id, field, origin),
    FOREIGN KEY(source_id) REFERENCES source (id) ON DELETE CASCADE
){'' if rowid else ' WITHOUT ROWID'}"""


def upgrade() -> None:
    op.execute("ALTER TABLE source ADD COLUMN added_by VARCHAR NOT NULL DEFAULT 'note'")
    op.execute("ALTER TABLE source ADD COLUMN label_note INTEGER")
    op.execute("ALTER TABLE source ADD COLUMN first_cited_at VARCHAR")
    op.execute("ALTER TABLE mention ADD COLUMN kind VARCHAR NOT NULL DEFAULT 'definition'")
    op.execute(f"""UPDATE source SET added_by = CASE
        WHEN {_AT_CREATION.format(origin='import')} THEN 'bibliography'
        WHEN NOT EXISTS ({_LABEL_ROW.format(col='1')}) OR {_AT_CREATION.format(origin='user')} THEN 'add'
        ELSE 'note' END""")
    op.execute(f"""UPDATE source SET
        label_note = ({_LABEL_ROW.format(col='CAST(value AS INTEGER)')}),
        first_cited_at = CASE WHEN added_by = 'note' THEN created_at ELSE ({_LABEL_ROW.format(col='updated_at')}) END
        WHERE EXISTS ({_LABEL_ROW.format(col='1')})""")
    if op.get_bind().dialect.name == "postgresql":
        # PostgreSQL has no WITHOUT ROWID (a table is a heap plus its primary key index either way): only the
        # hidden label rows go.
        op.execute("DELETE FROM field_value WHERE field = 'label_note' AND origin = 'label'")
        return
    op.execute(_field_value_table("field_value_new", rowid=False))
    op.execute("""INSERT INTO field_value_new (source_id, field, origin, value, updated_at)
        SELECT source_id, field, origin, value, updated_at FROM field_value
        WHERE NOT (field = 'label_note' AND origin = 'label') ORDER BY source_id, field, origin""")
    op.execute("DROP TABLE field_value")
    op.execute("ALTER TABLE field_value_new RENAME TO field_value")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        _downgrade_field_value_sqlite()
    else:
        op.execute("""INSERT INTO field_value (source_id, field, origin, value, updated_at)
            SELECT id, 'label_note', 'label', CAST(label_note AS TEXT), coalesce(first_cited_at, updated_at)
            FROM source WHERE label_note IS NOT NULL
            ON CONFLICT (source_id, field, origin) DO UPDATE SET value = excluded.value,
              updated_at = excluded.updated_at""")
    op.execute("DELETE FROM mention WHERE kind <> 'definition'")  # 0002 knows definitions only
    op.execute("ALTER TABLE mention DROP COLUMN kind")
    for column in ("first_cited_at", "label_note", "added_by"):
        op.execute(f"ALTER TABLE source DROP COLUMN {column}")


def _downgrade_field_value_sqlite() -> None:
    op.execute(_field_value_table("field_value_old", rowid=True))
    op.execute("""INSERT INTO field_value_old (source_id, field, origin, value, updated_at)
        SELECT source_id, field, origin, value, updated_at FROM field_value""")
    op.execute("""INSERT OR REPLACE INTO field_value_old (source_id, field, origin, value, updated_at)
        SELECT id, 'label_note', 'label', CAST(label_note AS TEXT), coalesce(first_cited_at, updated_at)
        FROM source WHERE label_note IS NOT NULL""")
    op.execute("DROP TABLE field_value")
    op.execute("ALTER TABLE field_value_old RENAME TO field_value")
