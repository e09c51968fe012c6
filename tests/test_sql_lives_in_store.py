"""The store rule: no module of refman outside refman/store/ (and the alembic migrations) speaks SQL."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "refman"

# A statement keyword followed by SQL-looking text, or a DB-API call.
SQL = re.compile(
    r"""\.(execute|executemany|executescript)\(|"""
    r"""["'](\s*)(SELECT\s+\S|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b|"""
    r"""CREATE\s+(TABLE|INDEX|VIRTUAL|TRIGGER|TEMP)|DROP\s+(TABLE|INDEX|TRIGGER)|PRAGMA\s+\w+|WITH\s+\w+\s+AS\s*\(|"""
    r"""SAVEPOINT\b|BEGIN\s+IMMEDIATE|ROLLBACK\b|COMMIT\b)""",
    # SQL keywords are upper case in refman, as in its SQL; prose that starts with "Select" is not SQL
)

def _sql_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")  # whole text: a statement may start on the line after its quotes
    lines = text.splitlines()
    found = {text.count("\n", 0, m.end()) for m in SQL.finditer(text)}
    return [f"{path.relative_to(PACKAGE)}:{n + 1}: {lines[n].strip()}" for n in sorted(found)]


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] != "store"]


def test_no_sql_outside_the_store() -> None:
    found = [line for p in _modules() for line in _sql_lines(p)]
    assert not found, "SQL outside refman/store/:\n" + "\n".join(found)


def test_the_pattern_finds_sql_and_not_prose() -> None:
    assert SQL.search('conn.execute("SELECT id FROM source")')
    assert SQL.search('sql = "INSERT OR IGNORE INTO tag (name) VALUES (?)"')
    assert SQL.search("q = 'UPDATE source SET title = ?'")
    assert not SQL.search('help="Select the sources to update"')
    assert not SQL.search('"update the notes, then delete from disk"')
    assert SQL.search('conn.execute(\n  """\n    SELECT 1""")')
    assert SQL.search('q = """\n    DELETE FROM mention WHERE note_id = ?"""')


# --- tests seed catalogs through the API or the store ---------------------------------------------------------

TESTS = Path(__file__).resolve().parent

# Raw SQL that writes: tests seed and change catalogs through refman.Catalog or the store's methods, so that a
# schema change touches one place. Upper case, as refman writes SQL; multi-line statements are matched too.
WRITE_SQL = re.compile(
    r"""\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b|\.executescript\("""
)

# The test files that may write with raw SQL, each with the reason. Files that must keep it: the SQL, the schema
# or a database no store method may produce is what they test.
MUST_WRITE_SQL = {
    "test_sql_lives_in_store.py": "the patterns of the SQL rule themselves",
    "test_db.py": "migrations: seeds catalogs at old revisions, which no store of this version writes",
    "test_migration_0006.py": "a migration: seeds a catalog at the revision before it",
    "test_migration_0013.py": "a migration: seeds catalogs at the revision before it, and writes notes with and"
                              " without owners to check the (owner, root, path) constraint",
    "test_migration_0014.py": "a migration: seeds catalogs at the revision before it",
    "test_migrations_postgres.py": "migrations on PostgreSQL: seeds databases at old revisions",
    "test_migration_0015.py": "a migration: seeds a catalog at the revision before it, and has PostgreSQL "
                              "recompute every search row (UPDATE … SET title = title) with each revision's "
                              "functions",
    "test_exports_registry.py": "migration 0009 on a catalog seeded at the revision before it; the change "
                                "signal's own connection writing",
    "test_schema_too_new.py": "a catalog whose alembic_version is ahead of this refman",
    "test_hostile.py": "a too-new catalog, and another process holding SQLite's write lock",
    "test_store_postgres_base.py": "the PostgreSQL store's own transactions, defaults and a too-new schema",
    "test_search.py": "the search index triggers, and a plain sqlite3 connection keeping the index in sync",
    "test_import_index.py": "plants a stale FTS5 row above every source, which no API writes",
    "store_contract/test_store_citation.py": "damages the search index and plants orphan rows and unreferenced "
                                             "blobs for the integrity check and gc",
    "test_watch.py": "a writer that is not refman (plain sqlite3), whose commits the watcher must notice",
    "web_demo.py": "dates a failure streak back two days (the checks of a day ago), which no API does",
    "test_cli_conventions.py": "damages the search index for `db check`",
    "test_wayback.py": "clears a first-citation date, which refman never does, to reach the note-mtime fallback",
    "test_db_copy.py": "backdates a note's import time, and plants a mention of a missing note (a broken catalog)",
}


def _test_files_writing_sql() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        hits = sorted({text.count("\n", 0, m.start()) for m in WRITE_SQL.finditer(text)})
        if hits:
            found[path.relative_to(TESTS).as_posix()] = [f"{n + 1}: {lines[n].strip()}" for n in hits]
    return found


def test_tests_write_catalogs_through_the_api_or_the_store() -> None:
    outside = {name: lines for name, lines in _test_files_writing_sql().items() if name not in MUST_WRITE_SQL}
    assert not outside, "raw write SQL in tests (use refman.Catalog or the store's methods):\n" + "\n".join(
        f"tests/{name}:{line}" for name, lines in outside.items() for line in lines)


def test_the_allowlist_names_only_files_that_write_sql() -> None:
    writing = _test_files_writing_sql()
    stale = sorted(name for name in MUST_WRITE_SQL if name not in writing)
    assert not stale, f"no raw write SQL left in {stale}: take them off the allowlist"
    assert all(reason.strip() for reason in MUST_WRITE_SQL.values())


def test_the_write_pattern_finds_writes_and_not_reads() -> None:
    assert WRITE_SQL.search('conn.execute("INSERT INTO source (url) VALUES (?)")')
    assert WRITE_SQL.search("c.execute('INSERT OR IGNORE INTO blob VALUES (?)')")
    assert WRITE_SQL.search('conn.execute(\n    "UPDATE source SET title = ?", (t,))')
    assert WRITE_SQL.search('f"DELETE FROM {table} WHERE source_id = ?"')
    assert WRITE_SQL.search('conn.execute("DELETE FROM mention WHERE id = ?")')
    assert WRITE_SQL.search("raw.executescript(script)")
    assert not WRITE_SQL.search('conn.execute("SELECT title FROM source")')
    assert not WRITE_SQL.search('"update the notes, then delete from disk"')
