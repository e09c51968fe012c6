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

# Modules whose SQL has not moved into refman/store/ yet. The list only shrinks: a module that no longer has
# SQL must leave it (the second test says so).
NOT_MOVED_YET: set[str] = {
    "catalog.py", "changes.py", "citation/build.py", "citation/export.py", "citation/keys.py",
    "citation/selection.py", "db.py", "duplicates.py", "exports_registry.py",
    "maintenance.py", "merge.py",
    "reader.py", "search.py", "vault.py", "watch.py", "web/app.py",
}


def _sql_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")  # whole text: a statement may start on the line after its quotes
    lines = text.splitlines()
    found = {text.count("\n", 0, m.end()) for m in SQL.finditer(text)}
    return [f"{path.relative_to(PACKAGE)}:{n + 1}: {lines[n].strip()}" for n in sorted(found)]


def _modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] != "store"]


def test_no_sql_outside_the_store() -> None:
    found = [line for p in _modules() if p.relative_to(PACKAGE).as_posix() not in NOT_MOVED_YET
             for line in _sql_lines(p)]
    assert not found, "SQL outside refman/store/:\n" + "\n".join(found)


def test_modules_not_moved_yet_still_exist_and_have_sql() -> None:
    stale = [name for name in sorted(NOT_MOVED_YET) if not (PACKAGE / name).exists() or not _sql_lines(PACKAGE / name)]
    assert not stale, f"no SQL left in these: remove them from NOT_MOVED_YET: {stale}"


def test_the_pattern_finds_sql_and_not_prose() -> None:
    assert SQL.search('conn.execute("SELECT id FROM source")')
    assert SQL.search('sql = "INSERT OR IGNORE INTO tag (name) VALUES (?)"')
    assert SQL.search("q = 'UPDATE source SET title = ?'")
    assert not SQL.search('help="Select the sources to update"')
    assert not SQL.search('"update the notes, then delete from disk"')
    assert SQL.search('conn.execute(\n  """\n    SELECT 1""")')
    assert SQL.search('q = """\n    DELETE FROM mention WHERE note_id = ?"""')
