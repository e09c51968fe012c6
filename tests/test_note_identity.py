"""A note is (vault root, path relative to the root), whatever path it was imported through: every order of
importing a vault's root, subfolders and single notes gives the catalog a fresh import of the whole vault gives."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from refman.notes.importer import import_vault
from refman.store import connect
from refman.store.sqlite import SqliteStore

NOTES = {
    "top.md": "# Top\n\n[Shared page (1/10/2020)]: https://example.com/shared\n[Only top | Example]: https://example.com/top\n",
    "index.md": "[Index]: https://example.com/index\n",
    "sub/a.md": "[Shared page]: https://example.com/shared\n[Sub A]: https://example.com/a\n",
    "sub/b.md": "[Sub B (2021-06)]: https://example.com/b\n",
    "sub/deep/c.md": "[Deep C]: https://example.com/c\n[Index again]: https://example.com/index\n",
    "other/d.md": "[Other D]: https://example.org/d\n",
}


def make_vault(root: Path, notes: dict[str, str] = NOTES) -> Path:
    for rel, text in notes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def state(db: Path) -> dict[str, Any]:
    """What a user sees of the catalog, without ids: notes, mentions (root, path, line, label, url), sources
    (url and merged fields), orphans."""
    conn = sqlite3.connect(db)
    notes = sorted(conn.execute("SELECT root, path, sha256, status FROM note").fetchall())
    mentions = sorted(conn.execute(
        "SELECT n.root, n.path, m.line, m.label, m.kind, s.url FROM mention m JOIN note n ON n.id = m.note_id"
        " JOIN source s ON s.id = m.source_id").fetchall())
    sources = sorted(conn.execute(
        "SELECT url, title, issued, container_title, author, first_cited_at IS NOT NULL FROM source").fetchall())
    orphans = sorted(r[0] for r in conn.execute(
        "SELECT url FROM source s WHERE NOT EXISTS (SELECT 1 FROM mention m WHERE m.source_id = s.id)"))
    conn.close()
    return {"notes": notes, "mentions": mentions, "sources": sources, "orphans": orphans}


def run(db: Path, *paths: Path | str) -> dict[str, Any]:
    conn = connect(db)
    try:
        return import_vault(SqliteStore(conn), [Path(p) for p in paths]).as_dict()
    finally:
        conn.close()


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return make_vault(tmp_path / "vault")


@pytest.fixture
def fresh(tmp_path: Path, vault: Path) -> dict[str, Any]:
    db = tmp_path / "fresh.db"
    run(db, vault)
    return state(db)


SEQUENCES: dict[str, Callable[[Path], list[list[str | Path]]]] = {
    "root twice": lambda v: [[v], [v]],
    "root then subfolder": lambda v: [[v], [v / "sub"]],
    "root then deep subfolder": lambda v: [[v], [v / "sub" / "deep"]],
    "root then note in subfolder": lambda v: [[v], [v / "sub" / "a.md"]],
    "root then note at the root": lambda v: [[v], [v / "top.md"]],
    "subfolder then root": lambda v: [[v / "sub"], [v]],
    "deep subfolder, subfolder, root": lambda v: [[v / "sub" / "deep"], [v / "sub"], [v]],
    "note in subfolder then root": lambda v: [[v / "sub" / "deep" / "c.md"], [v]],
    "note at the root then root": lambda v: [[v / "top.md"], [v]],
    "subfolder, note at the root, root": lambda v: [[v / "sub"], [v / "top.md"], [v]],
    "two subfolders then root": lambda v: [[v / "sub"], [v / "other"], [v]],
    "root and subfolder at once": lambda v: [[v, v / "sub"]],
    "subfolder and root at once": lambda v: [[v / "sub", v]],
    "root with a trailing slash": lambda v: [[str(v) + "/"], [str(v / "sub") + "/"]],
    "every note one by one, then root": lambda v: [[v / rel] for rel in NOTES] + [[v]],
}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_any_order_of_imports_gives_the_fresh_catalog(name: str, tmp_path: Path, vault: Path,
                                                      fresh: dict[str, Any]) -> None:
    db = tmp_path / "seq.db"
    for paths in SEQUENCES[name](vault):
        run(db, *paths)
    assert state(db) == fresh


def test_importing_a_note_at_the_root_removes_nothing_else(tmp_path: Path, vault: Path,
                                                          fresh: dict[str, Any]) -> None:
    db = tmp_path / "c.db"
    run(db, vault)
    (vault / "top.md").write_text(NOTES["top.md"] + "[New one]: https://example.com/new\n", encoding="utf-8")
    report = run(db, vault / "top.md")
    assert report["notes_removed"] == 0 and report["notes_scanned"] == 1
    after = state(db)
    assert after["notes"][0][0] == str(vault.resolve()) and len(after["notes"]) == len(NOTES)
    assert after["orphans"] == []
    assert ("https://example.com/new",) in [(m[5],) for m in after["mentions"] if m[1] == "top.md"]


def test_only_notes_under_the_imported_path_that_are_gone_are_removed(tmp_path: Path, vault: Path) -> None:
    db = tmp_path / "c.db"
    run(db, vault)
    (vault / "sub" / "b.md").unlink()
    (vault / "other" / "d.md").unlink()
    report = run(db, vault / "sub")
    assert report["notes_removed"] == 1
    paths = [n[1] for n in state(db)["notes"]]
    assert "sub/b.md" not in paths and "other/d.md" in paths  # outside the imported path: kept until imported
    report = run(db, vault)
    assert report["notes_removed"] == 1
    expected = make_vault(tmp_path / "expected", {k: v for k, v in NOTES.items() if k not in ("sub/b.md",
                                                                                               "other/d.md")})
    fresh_db = tmp_path / "f.db"
    run(fresh_db, expected)
    got, want = state(db), state(fresh_db)
    root, want_root = str(vault.resolve()), str(expected.resolve())
    assert [(r, *rest) for r, *rest in got["mentions"]] == [(root, *rest) for _r, *rest in want["mentions"]]
    assert want_root != root
    # the two removed notes' sources stay, as orphans
    assert set(got["orphans"]) == {"https://example.com/b", "https://example.org/d"}


def test_a_second_vault_is_its_own_root(tmp_path: Path, vault: Path, fresh: dict[str, Any]) -> None:
    second = make_vault(tmp_path / "second", {"top.md": "[Second top]: https://example.net/x\n",
                                               "sub/a.md": "[Shared page]: https://example.com/shared\n"})
    db = tmp_path / "c.db"
    run(db, vault)
    run(db, second / "sub")
    run(db, second)
    run(db, vault / "sub")
    got = state(db)
    first_root = str(vault.resolve())
    assert [m for m in got["mentions"] if m[0] == first_root] == fresh["mentions"]
    assert {n[1] for n in got["notes"] if n[0] == str(second.resolve())} == {"top.md", "sub/a.md"}
    assert got["orphans"] == []


def test_a_moved_vault_keeps_its_notes(tmp_path: Path, vault: Path) -> None:
    db = tmp_path / "c.db"
    run(db, vault)
    moved = tmp_path / "elsewhere" / "renamed-vault"
    moved.parent.mkdir()
    shutil.move(str(vault), str(moved))
    report = run(db, moved)
    assert report["notes_removed"] == 0 and report["sources_new"] == 0
    fresh_db = tmp_path / "f.db"
    run(fresh_db, moved)
    assert state(db) == state(fresh_db)


def test_a_copied_vault_is_a_second_root(tmp_path: Path, vault: Path, fresh: dict[str, Any]) -> None:
    db = tmp_path / "c.db"
    run(db, vault)
    copy = tmp_path / "copy"
    shutil.copytree(vault, copy)
    run(db, copy)
    roots = {n[0] for n in state(db)["notes"]}
    assert roots == {str(vault.resolve()), str(copy.resolve())}


def test_symlinked_root_is_the_same_root(tmp_path: Path, vault: Path, fresh: dict[str, Any]) -> None:
    link = tmp_path / "link"
    link.symlink_to(vault)
    db = tmp_path / "c.db"
    run(db, vault)
    report = run(db, link / "sub")
    assert report["notes_unchanged"] == 3 and report["notes_scanned"] == 0
    run(db, link)
    assert state(db) == fresh


def test_notes_command_lists_roots_and_notes(tmp_path: Path, vault: Path, cli_env: dict[str, str]) -> None:
    second = make_vault(tmp_path / "second", {"n.md": "[X]: https://example.net/x\n"})
    refman = [sys.executable, "-m", "refman"]
    for p in (vault / "sub", vault, second / "n.md"):
        subprocess.run([*refman, "import", "--quiet", str(p)], env=cli_env, check=True, capture_output=True)
    out = subprocess.run([*refman, "notes", "--json"], env=cli_env, check=True, capture_output=True, text=True)
    data = json.loads(out.stdout)
    assert [r["root"] for r in data] == sorted([str(vault.resolve()), str(second.resolve())])
    first = next(r for r in data if r["root"] == str(vault.resolve()))
    assert first["notes"] == len(NOTES) and first["exists"] is True
    assert first["mentions"] == sum(t.count("]: http") for t in NOTES.values())
    assert [n["path"] for n in first["note_list"]] == sorted(NOTES)
    assert {n["path"]: n["mentions"] for n in first["note_list"]}["sub/deep/c.md"] == 2
    text = subprocess.run([*refman, "notes"], env=cli_env, check=True, capture_output=True, text=True).stdout
    assert f"{vault.resolve()}\t6 notes, 9 mentions, 7 sources" in text
    assert "  sub/deep/c.md\t2" in text
    roots = subprocess.run([*refman, "notes", "--roots"], env=cli_env, check=True, capture_output=True,
                           text=True).stdout
    assert len(roots.splitlines()) == 2


def test_notes_command_on_an_empty_catalog(cli_env: dict[str, str]) -> None:
    # a read never creates a catalog (exit 3); on an empty one it says there is nothing yet
    out = subprocess.run([sys.executable, "-m", "refman", "notes"], env=cli_env, capture_output=True, text=True)
    assert out.returncode == 3 and out.stderr.startswith("refman: no catalog at ")
    subprocess.run([sys.executable, "-m", "refman", "db", "upgrade"], env=cli_env, check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-m", "refman", "notes"], env=cli_env, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "no notes imported yet"
    assert os.environ.get("REFMAN_DB") is None
