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
