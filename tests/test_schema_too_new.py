"""A catalog written by a newer refman (its schema revision is unknown here) is refused by every command in one
line, exit 4, and never downgraded or otherwise changed; `refman db status` reports it as too new."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from refman.errors import CatalogTooNewError
from refman.store import connect, open_store
from refman.store.sqlite.schema import catalog_status

FUTURE = "9999"


def refman(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "refman"), *args], env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=120)


def written_by_a_newer_refman(path: Path) -> None:
    """What a later refman leaves behind: a schema at a revision this one has no migration for."""
    open_store(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (FUTURE,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("args", [("db", "upgrade"), ("list",), ("search", "data"), ("add", "https://a.example/"),
                                  ("import", "{vault}")], ids=" ".join)
def test_every_command_refuses_it_in_one_line(args: tuple[str, ...], db_path: Path, cli_env: dict[str, str],
                                              tmp_path: Path) -> None:
    vault = tmp_path / "notes"
    vault.mkdir()
    (vault / "n.md").write_text("[A page]: https://example.com/a\n", encoding="utf-8")
    written_by_a_newer_refman(db_path)
    before = digest(db_path)
    proc = refman(cli_env, *(a.format(vault=vault) for a in args))
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("refman: "), proc.stderr
    assert f"schema revision {FUTURE}, newer than this refman knows" in proc.stderr
    assert digest(db_path) == before  # never downgraded, nothing written
    assert catalog_status(db_path)["revision"] == FUTURE


def test_db_status_says_too_new(db_path: Path, cli_env: dict[str, str]) -> None:
    written_by_a_newer_refman(db_path)
    proc = refman(cli_env, "db", "status", "--json")
    assert proc.returncode == 4
    status = json.loads(proc.stdout)
    assert (status["state"], status["revision"], status["up_to_date"]) == ("too new", FUTURE, False)


def test_opening_it_from_python_raises_catalog_too_new(db_path: Path) -> None:
    written_by_a_newer_refman(db_path)
    with pytest.raises(CatalogTooNewError, match="upgrade refman"):
        connect(db_path)
    with pytest.raises(CatalogTooNewError):
        open_store(db_path, create=False)
    assert catalog_status(db_path)["revision"] == FUTURE
