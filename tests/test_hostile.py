"""Hostile invocations: bad paths, bad values, bad files, damaged / read-only / locked catalogs, odd text.

Each runs the installed `refman` in a subprocess, in a folder of its own holding a copy of a catalog of the
sample vault, and asserts: the documented exit code, exactly one line on stderr (`refman: …`) that says what
went wrong, no traceback, no temp file left behind, and the catalog unchanged when the command failed.
With REFMAN_HOSTILE_LOG=FILE, each invocation and what it printed is appended to FILE as a Markdown table row
(for the issue's closing note)."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VAULT = REPO / "data" / "sample-vault"
WAL_FILES = ("-wal", "-shm", "-journal")


def refman_exe() -> list[str]:
    exe = Path(sys.executable).parent / "refman"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "refman"]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: str  # a piece of the one stderr line ("" for a success)
    setup: str = "catalog"  # catalog | none | corrupt | badschema | notadb | toonew | ro_file | ro_dir | locked
    never: str = ""  # text that must appear nowhere in the output


VAULT_ARG = str(VAULT)
LONG_QUERY = "中" * 10_000
CASES: list[Case] = [
    # --- bad paths
    Case(("import", "nowhere/notes"), 3, "no such file or folder"),
    Case(("import", "dangling.md"), 3, "dangling symlink"),
    Case(("--db", "typo/dir/cat.db", "list"), 3, "no catalog at typo/dir/cat.db", "none"),
    Case(("--db", "typo/dir/cat.db", "show", "1"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "search", "data"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "export"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "stats"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "tags"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "fetch"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "check", "--offline"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "db", "check"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "db", "status"), 3, "no catalog at", "none"),
    Case(("--db", "typo/dir/cat.db", "tag", "1", "--add", "x"), 3, "no catalog at", "none"),
    Case(("--db", "postgresql://user:secret@127.0.0.1:1/refs", "list"), 4, "cannot reach catalog postgresql://user@",
         "none", "secret"),
    Case(("--db", "mysql://root:hunter2@localhost/x", "add", "https://a.example/"), 2, "scheme 'mysql'", "none",
         "hunter2"),
    Case(("export", "-o", "nodir/x/y.bib"), 2, "no such folder: nodir/x"),
    Case(("export", "-o", "."), 2, "is a folder"),
    Case(("export", "--tag", "typo", "-o", "refs.bib"), 3, "no source matches"),
    Case(("export", "--format", "ris", "--cited-in", "No Such Note.md"), 3, "no imported note matches"),
    Case(("cite", "1", "--style", "missing.csl"), 3, "no such file: missing.csl"),
    Case(("cite", "--tag", "typo"), 3, "no source matches"),
    Case(("cite", "1", "-o", "nodir/refs.txt"), 2, "no such folder"),
    Case(("db", "backup", "nodir/backup.db"), 2, "no such folder"),
    Case(("db", "backup", "refs.bib"), 2, "exists"),
    Case(("db", "backup", "catalog.db", "--force"), 2, "the catalog itself"),
    # --- bad values
    Case(("list", "--limit", "0"), 2, "--limit"),
    Case(("list", "--sort", "random"), 2, "unknown sort 'random'"),
    Case(("list", "--since", "2024-13"), 2, "--since"),
    Case(("list", "--cited-in", "Nope.md"), 3, "no imported note matches"),
    Case(("search", "--since", "yesterday", "data"), 2, "--since"),
    Case(("search", "foo:bar"), 2, "unknown field foo:"),
    Case(("search", "title:"), 2, "title: needs a word"),
    Case(("search", LONG_QUERY), 2, "query too long"),
    Case(("search", "..."), 2, "nothing to search for"),
    Case(("search",), 2, "give a query or a filter"),
    Case(("search", "--limit", "0", "data"), 2, "--limit"),
    Case(("export", "--format", "docx"), 2, "unknown export format 'docx'"),
    Case(("cite",), 2, "say what to cite"),
    Case(("cite", "999"), 3, "no source matches '999'"),
    Case(("show", "999"), 3, "no source matches '999'"),
    Case(("show", "nosuchkey2099"), 3, "no source matches"),
    Case(("show", "[/boot/config.txt]"), 3, "no source matches '[/boot/config.txt]'"),
    Case(("show", "https://exa mple.com/"), 3, "no source matches"),
    Case(("show", "²"), 3, "no source matches '²'"),  # a digit to str.isdigit, not an id
    Case(("set", "1", "issued=2024-02-30"), 2, "not a calendar date"),
    Case(("set", "1", "issued=0000"), 2, "not a calendar date"),
    Case(("set", "1", "issued=June 2024"), 2, "ISO 8601"),
    Case(("set", "1", "language=xx-yy"), 2, "not a valid BCP 47 tag"),
    Case(("set", "1", "author=,"), 2, "empty name"),
    Case(("set", "1", "author=;"), 2, "empty"),
    Case(("set", "1", "bogus=1"), 2, "unknown field 'bogus'"),
    Case(("set", "1", "title"), 2, "expected field=value"),
    Case(("set", "1", "doi=nope"), 2, "not a DOI"),
    Case(("set", "1", "type=poem"), 2, "unknown type 'poem'"),
    Case(("set", "1", "title="), 2, "empty value for title"),
    Case(("set", "1", "title=ok", "issued=2023-02-29"), 2, "not a calendar date"),  # nothing of it is kept
    Case(("unset", "1", "bogus"), 2, "unknown field 'bogus'"),
    Case(("tag", "1", "--add", "a,b"), 2, "cannot contain a comma"),
    Case(("tag", "1", "--add", "  "), 2, "empty tag"),
    Case(("add", "https://exa mple.com/"), 2, "invalid host name"),
    Case(("add", "https://exa%20mple.com/"), 2, "invalid host name"),
    Case(("add", "ftp://example.com/x"), 2, "ftp: link"),
    Case(("add", "not a url"), 2, "relative link"),
    Case(("add", "https://"), 2, "no host"),
    Case(("add", "https://a.example/", "--tag", "x,y"), 2, "comma"),
    Case(("delete", "999", "--yes"), 3, "no source matches '999'"),
    Case(("delete", "1"), 2, "without --yes"),
    Case(("fetch", "--concurrency", "0"), 2, "--concurrency"),
    Case(("fetch", "--max-size", "lots"), 2, "--max-size"),
    Case(("fetch", "--stale", "-1"), 2, "--stale"),
    Case(("check", "--dead-after", "-1"), 2, "--dead-after"),
    Case(("merge", "1", "999"), 3, "no source matches '999'"),
    Case(("rekey",), 2, "say which keys"),
    Case(("--no-such-option", "list"), 2, "No such option"),
    Case(("list", "--bogus"), 2, "No such option"),
    Case(("nosuchcommand",), 2, "No such command"),
    # --- damaged, foreign, too new, read-only, locked catalogs
    Case(("list",), 4, "is damaged", "corrupt"),
    # the schema page itself damaged: SQLite's message quotes bytes that are not UTF-8
    Case(("list",), 4, "is damaged", "badschema"),
    Case(("db", "status"), 4, "is damaged", "badschema"),
    Case(("export", "-o", "out.bib"), 4, "is damaged", "badschema"),
    Case(("stats",), 4, "is damaged", "corrupt"),
    Case(("export", "-o", "out.bib"), 4, "is damaged", "corrupt"),
    Case(("import", VAULT_ARG), 4, "is damaged", "corrupt"),
    Case(("search", "data"), 4, "is damaged", "corrupt"),
    Case(("tag", "1", "--add", "x"), 4, "is damaged", "corrupt"),
    Case(("db", "status"), 4, "is damaged: `refman db check` tells what", "corrupt"),
    Case(("db", "check"), 4, "has problems: restore a backup", "corrupt"),
    Case(("list",), 4, "is damaged (file is not a database)", "notadb"),
    Case(("db", "upgrade"), 4, "is damaged", "notadb"),
    Case(("list",), 4, "newer than this refman knows", "toonew"),
    Case(("add", "https://a.example/"), 4, "newer than this refman knows", "toonew"),
    Case(("tag", "1", "--add", "x"), 4, "is read-only", "ro_file"),
    Case(("set", "1", "title=X"), 4, "is read-only", "ro_file"),
    Case(("import", "notes"), 4, "is read-only", "ro_file"),
    Case(("import", VAULT_ARG), 0, "", "ro_file"),  # nothing changed since: nothing to write, no error
    Case(("delete", "1", "--yes"), 4, "is read-only", "ro_file"),
    Case(("add", "https://new.example/"), 4, "is read-only", "ro_dir"),
    Case(("unset", "1", "title"), 4, "is read-only", "ro_dir"),
    Case(("tag", "1", "--add", "x"), 4, "is busy (another refman is writing)", "locked"),
    Case(("set", "1", "title=x"), 4, "is busy", "locked"),
    Case(("add", "https://x.example/"), 4, "is busy", "locked"),
    # --- reads that must work on read-only catalogs, and odd text that is only text
    Case(("list",), 0, "", "ro_file"),
    Case(("search", "data"), 0, "", "ro_dir"),
    Case(("show", "1"), 0, "", "ro_dir"),
    Case(("db", "status"), 0, "", "ro_dir"),
    Case(("db", "check"), 0, "", "ro_file"),
    Case(("db", "backup", "copy.db"), 0, "", "ro_file"),
    Case(("search", "[/boot/config.txt] :smile: [bold]x"), 0, ""),
    Case(("tag", "1", "--add", "[bold]x[/bold]"), 0, ""),
    Case(("unset", "1", "issued"), 0, ""),
]


def _id(case: Case) -> str:
    text = " ".join(a if len(a) < 30 else a[:12] + "…" for a in case.args)
    return f"{case.setup}: {text}"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    db = folder / "catalog.db"
    env = dict(os.environ, REFMAN_DB=str(db))
    subprocess.run([*refman_exe(), "import", str(VAULT)], env=env, check=True, capture_output=True)
    subprocess.run([*refman_exe(), "tag", "1", "--add", "ml"], env=env, check=True, capture_output=True)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")  # one file to copy
    conn.close()
    return db


def _chattr(path: Path, flag: str) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def _make_read_only(path: Path) -> None:
    """chmod does not stop root: the immutable attribute does (where the file system has it)."""
    if os.geteuid() == 0:
        if not _chattr(path, "+i"):
            pytest.skip("running as root without chattr +i: cannot make a file read-only")
    else:
        path.chmod(0o555 if path.is_dir() else 0o444)


def _undo_read_only(path: Path) -> None:
    if os.geteuid() == 0:
        _chattr(path, "-i")
    else:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture
def place(tmp_path: Path, template: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, dict[str, str]]]:
    case: Case = request.param
    work = tmp_path / "work"
    work.mkdir()
    db = work / "catalog.db"
    (work / "refs.bib").write_text("@misc{keep, title={Mine}}\n", encoding="utf-8")
    (work / "dangling.md").symlink_to(work / "gone.md")
    (work / "notes").mkdir()
    (work / "notes" / "new.md").write_text("See [a page].\n\n[a page]: https://new.example.org/page\n")
    env = dict(os.environ, REFMAN_DB=str(db), REFMAN_BUSY_TIMEOUT="0.5")
    env.pop("COLUMNS", None)
    holder: subprocess.Popen[str] | None = None
    undo: Path | None = None
    if case.setup != "none":
        shutil.copyfile(template, db)
    if case.setup == "corrupt":
        data = bytearray(db.read_bytes())
        noise = random.Random(7)  # the same damage every run (this one makes SQLite quote undecodable bytes)
        for offset in range(4096 * 2, len(data) - 2000, 4096 * 3):  # keep the header: damage the pages
            data[offset:offset + 2000] = noise.randbytes(2000)
        db.write_bytes(bytes(data))
    elif case.setup == "badschema":
        data = bytearray(db.read_bytes())
        filler = bytes(range(128, 256)) * 32  # bytes that are never valid UTF-8 where SQLite quotes them
        data[108:4096] = filler[:4096 - 108]  # page 1 (sqlite_master) past the file and page headers
        db.write_bytes(bytes(data))
    elif case.setup == "notadb":
        db.write_bytes(b"these are my notes, not a database\n" * 200)
    elif case.setup == "toonew":
        conn = sqlite3.connect(db)
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
        conn.commit()
        conn.close()
    elif case.setup == "ro_file":
        _make_read_only(db)
        undo = db
    elif case.setup == "ro_dir":
        _make_read_only(work)
        undo = work
    elif case.setup == "locked":
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sqlite3, sys, time\n"
             f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
             "c.execute('BEGIN IMMEDIATE'); c.execute('UPDATE source SET title = title WHERE id = 1')\n"
             "print('locked', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield work, env
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        if undo is not None:
            _undo_read_only(undo)


def fingerprint(work: Path) -> dict[str, str]:
    """Every file in the folder (SQLite's own -wal/-shm aside) with a hash of its bytes; the catalog by its
    content (a read may checkpoint it without changing a row)."""
    out = {}
    for path in sorted(work.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.name.endswith(WAL_FILES):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if path.name == "catalog.db":
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
                digest = hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
                conn.close()
            except (sqlite3.Error, UnicodeDecodeError):  # a damaged catalog: its bytes are the fingerprint
                pass
        out[str(path.relative_to(work))] = digest
    return out


@pytest.mark.parametrize("place", CASES, ids=[_id(c) for c in CASES], indirect=True)
def test_hostile_invocation(place: tuple[Path, dict[str, str]], request: pytest.FixtureRequest) -> None:
    case: Case = request.node.callspec.params["place"]
    work, env = place
    before = fingerprint(work)
    started = time.monotonic()
    proc = subprocess.run([*refman_exe(), *case.args], cwd=work, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    elapsed = time.monotonic() - started
    log = os.environ.get("REFMAN_HOSTILE_LOG")
    if log:
        shown = " ".join(a if len(a) < 40 else a[:3] + f"…({len(a)} chars)" for a in case.args)
        said = (proc.stderr.strip().splitlines() or [""])[-1].replace("|", "\\|")
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"| {case.setup} | `refman {shown}` | {proc.returncode} | {said} |\n")
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.returncode == case.code, (proc.returncode, proc.stderr)
    if case.never:
        assert case.never not in proc.stderr + proc.stdout
    after = fingerprint(work)
    assert not [name for name in after if name.endswith(".tmp")], after  # no temp file left behind
    if case.code != 0:
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert case.says in proc.stderr, proc.stderr
        assert lines[0].startswith("refman: ")
        assert after == before, "a failed command changed files"
        assert elapsed < 20, elapsed  # refused fast (a 10 KB query too)
    if case.setup == "none":
        assert sorted(p.name for p in work.iterdir()) == ["dangling.md", "notes", "refs.bib"]  # nothing created
