"""What users expect of a CLI in this family: --version, -h, format aliases, list filters and order, one
--cited-in resolver, query errors, result counts, case-insensitive tags, import summaries, piped output,
delete / backup / gc / check. The installed `refman` in subprocesses, on a catalog of the sample vault."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from refman.store import open_store
from refman.store.fetch import FetchAttempt, PackedBlob

REPO = Path(__file__).resolve().parents[1]
VAULT = REPO / "data" / "sample-vault"
REFMAN = str(Path(sys.executable).parent / "refman")


def run(env: dict[str, str], *args: str, code: int = 0, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([REFMAN, *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == code, (args, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    return proc


def as_terminal(env: dict[str, str], *args: str) -> str:
    """stdout of a command rendered as on a terminal (the terminal renderer, written to a pipe)."""
    code = ("import sys; sys.stdout.isatty = lambda: True\nfrom refman.cli import main\n"
            f"sys.argv = ['refman', *{list(args)!r}]\nmain()\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env | {"COLUMNS": "200"}, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, REFMAN_DB=str(tmp_path / "c.db"))
    env.pop("COLUMNS", None)
    run(env, "import", "-q", str(VAULT))
    return env


def test_version_and_short_help(env: dict[str, str]) -> None:
    from refman import __version__

    assert run(env, "--version").stdout.strip() == f"refman {__version__}"
    assert "Usage" in run(env, "-h").stdout
    assert "--sort" in run(env, "list", "-h").stdout


def test_csl_json_aliases(env: dict[str, str]) -> None:
    reference = run(env, "export", "--format", "csljson").stdout
    for alias in ("csl-json", "json", "CSL-JSON"):
        assert run(env, "export", "--format", alias).stdout == reference


def test_list_filters_order_and_columns(env: dict[str, str]) -> None:
    everything = json.loads(run(env, "list", "--json").stdout)
    by_issued = json.loads(run(env, "list", "--sort", "issued", "--json").stdout)
    dated = [s["issued"] for s in by_issued if s["issued"]]
    assert dated == sorted(dated, reverse=True) and len(by_issued) == len(everything)
    titles = [s["title"] for s in json.loads(run(env, "list", "--sort", "title", "--json").stdout) if s["title"]]
    assert titles == sorted(titles, key=str.lower)
    cited = json.loads(run(env, "list", "--sort", "cited", "--json").stdout)
    assert [len(s["mentions"]) for s in cited] == sorted((len(s["mentions"]) for s in cited), reverse=True)
    page = json.loads(run(env, "list", "--limit", "3", "--offset", "2", "--json").stdout)
    assert [s["id"] for s in page] == [s["id"] for s in everything][2:5]
    since = json.loads(run(env, "list", "--since", "2024", "--json").stdout)
    assert since and all(s["issued"] >= "2024" for s in since)
    wiki = json.loads(run(env, "list", "--site", "wikipedia.org", "--json").stdout)
    assert wiki and all("wikipedia.org" in s["url"] for s in wiki)
    table = as_terminal(env, "list", "--limit", "2")
    assert "url" in table and "tags" in table and "2 sources of 17 (--limit 2)" in table


def test_one_cited_in_resolver_for_list_search_and_export(env: dict[str, str]) -> None:
    """A unique suffix of a note's path (`GPU Market.md`) means the same note everywhere."""
    exported = json.loads(run(env, "export", "-f", "csljson", "--cited-in", "GPU Market.md").stdout)
    urls = {i["URL"] for i in exported}
    assert urls
    listed = json.loads(run(env, "list", "--cited-in", "GPU Market.md", "--json").stdout)
    assert {s["url"] for s in listed} == urls
    found = json.loads(run(env, "search", "--cited-in", "GPU Market.md", "--limit", "100", "--json").stdout)
    assert {h["url"] for h in found} == urls
    run(env, "search", "--cited-in", "Nope.md", code=3)


def test_search_fields_groups_and_counts(env: dict[str, str]) -> None:
    both = json.loads(run(env, "search", "title:(overlay OR RDMA)", "--json").stdout)
    overlay = json.loads(run(env, "search", "title:overlay", "--json").stdout)
    rdma = json.loads(run(env, "search", "title:RDMA", "--json").stdout)
    assert {h["id"] for h in both} == {h["id"] for h in overlay} | {h["id"] for h in rdma}
    assert "unknown field foo:" in run(env, "search", "foo:bar", code=2).stderr
    assert "title: needs" in run(env, "search", "title:", code=2).stderr
    started = time.monotonic()
    run(env, "search", "中" * 10_000, code=2)
    assert time.monotonic() - started < 5
    assert "https://example.com" not in run(env, "search", "https://example.com/x").stderr  # a URL is no field
    table = as_terminal(env, "search", "RDMA", "--limit", "1")
    assert "1–1 of 3 results (--limit 1)" in table
    assert "3 results" in as_terminal(env, "search", "RDMA")


def test_tags_are_case_insensitive_and_keep_the_first_spelling(env: dict[str, str]) -> None:
    run(env, "tag", "1", "--add", "ML")
    run(env, "tag", "2", "--add", "ml", "--add", "machine learning")
    assert json.loads(run(env, "tags", "--json").stdout) == [{"tag": "machine learning", "sources": 1},
                                                             {"tag": "ML", "sources": 2}]
    assert [s["id"] for s in json.loads(run(env, "list", "--tag", "ml", "--json").stdout)] == [1, 2]
    missing = run(env, "tag", "1", "--remove", "nothere")
    assert "#1 has no tag 'nothere'" in missing.stderr
    run(env, "tag", "1", "--remove", "mL")
    assert json.loads(run(env, "tag", "1", "--json").stdout) == [{"id": 1, "tags": []}]
    assert "--add a --add b" in run(env, "tag", "1", "--add", "a,b", code=2).stderr


def test_import_summary_counts_match_the_lines(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "a.md").write_text("[x]: other.md\n[y]: #top\n[z]: mailto:a@b.c\n[w]: ../notes/n.md\n"
                                "[ok]: https://ok.example/\n", encoding="utf-8")
    (vault / "gone.md").symlink_to(vault / "missing.md")
    env = dict(os.environ, REFMAN_DB=str(tmp_path / "c.db"))
    quiet = run(env, "import", str(vault))
    assert "2 links to other notes, 1 anchor, 1 mailto: link skipped (-v lists them)" in quiet.stderr
    assert "gone.md: dangling symlink" in quiet.stderr
    assert "4 links and 0 notes skipped, 1 warning" in quiet.stdout
    (vault / "a.md").write_text((vault / "a.md").read_text() + "\n", encoding="utf-8")
    verbose = run(env, "-v", "import", str(vault))
    assert len([ln for ln in verbose.stderr.splitlines() if ": skipped " in ln]) == 4
    report = json.loads(run(env, "import", "--json", str(vault)).stdout)
    assert report["warnings"][0]["message"].startswith("dangling symlink")


def test_piped_show_and_set_echo(env: dict[str, str]) -> None:
    out = run(env, "set", "1", "author=Myers, Sarah; {Felicis Ventures}", "issued=2024-06", "language=en-us").stdout
    assert out.splitlines() == ["#1 author = Myers, Sarah; {Felicis Ventures}", "#1 issued = 2024-06",
                                "#1 language = en-US"]
    shown = run(env, "show", "1").stdout.splitlines()
    assert "url\thttps://www.felicis.com/insight/ai-data-infrastructure" in shown
    # the origin, then who set the value and the day (refman.config.user_name: the OS login here)
    assert any(line.startswith("author\tMyers, Sarah; Felicis Ventures\tfrom user\tby ") for line in shown)
    assert all("\t" in line for line in shown)  # one field a line
    assert "not a calendar date" in run(env, "set", "1", "issued=2024-02-30", code=2).stderr
    run(env, "set", "1", "issued=2024-02-29")
    assert "is not pinned" in run(env, "unset", "1", "title").stdout


def test_stats_table_has_human_sizes(env: dict[str, str]) -> None:
    table = as_terminal(env, "stats")
    assert "stored bytes" in table and " B" in table and "by status" in table
    piped = run(env, "stats").stdout
    assert "sources\t17" in piped.splitlines()


def test_delete_backup_gc_and_check(env: dict[str, str], tmp_path: Path) -> None:
    db = Path(env["REFMAN_DB"])
    with open_store(db) as store, store.transaction():  # source 1 has an archived body
        store.put_blob(PackedBlob("h1", "identity", 3, b"abc"))
        store.add_snapshot({"source_id": 1, "fetched_at": "t", "outcome": "ok", "body_hash": "h1"})
    dry = json.loads(run(env, "delete", "1", "--dry-run", "--json").stdout)
    assert dry["dry_run"] and dry["snapshots"] == 1 and dry["blobs_removed"] == 1
    assert json.loads(run(env, "show", "1", "--json").stdout)["id"] == 1  # a dry run deletes nothing
    backup = tmp_path / "backup.db"
    run(env, "db", "backup", str(backup))
    done = run(env, "delete", "1", "--yes")
    assert "deleted 1 source with 1 mention" in done.stdout and "1 archived body" in done.stdout
    run(env, "show", "1", code=3)
    assert json.loads(run(env, "--db", str(backup), "show", "1", "--json").stdout)["id"] == 1  # the backup has it
    assert json.loads(run(env, "db", "gc", "--json").stdout) == {"blobs": 0, "stored_bytes": 0}
    assert json.loads(run(env, "db", "check", "--json").stdout)["ok"] is True
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM search_fts WHERE rowid = 2")  # the index loses a source
    conn.commit()
    conn.close()
    broken = run(env, "db", "check", "--json", code=4)
    assert json.loads(broken.stdout)["search_index"] == ["1 sources missing from the search index"]
    run(env, "db", "reindex")
    run(env, "db", "check")


def test_backup_is_consistent_while_another_process_writes(env: dict[str, str], tmp_path: Path) -> None:
    db = Path(env["REFMAN_DB"])
    stop = threading.Event()

    def writer() -> None:
        with open_store(db) as store:
            i = 0
            while not stop.is_set():
                with store.transaction():
                    store.add_source_tags(1, [f"t{i}"])
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for n in range(3):
            copy = tmp_path / f"b{n}.db"
            run(env, "db", "backup", str(copy))
            assert json.loads(run(env, "--db", str(copy), "db", "check", "--json").stdout)["ok"] is True
            assert not list(tmp_path.glob(".*.tmp"))
    finally:
        stop.set()
        thread.join()
    assert "exists" in run(env, "db", "backup", str(tmp_path / "b0.db"), code=2).stderr
    run(env, "db", "backup", str(tmp_path / "b0.db"), "--force")


def test_fetch_with_nothing_due_says_why(env: dict[str, str]) -> None:
    with open_store(Path(env["REFMAN_DB"])) as store:  # every source fetched; the first one's last fetch failed
        for sid in store.source_urls():
            store.record_fetch_attempt(FetchAttempt(
                source_id=sid, fetched_at="2026-01-01T00:00:00Z", status="ok", reason=None, failed=False,
                reachable=True, definitive=False, snapshot={"outcome": "ok", "http_status": 200}))
        store.record_fetch_attempt(FetchAttempt(
            source_id=1, fetched_at="2026-01-01T00:00:00Z", status="timeout", reason=None, failed=True,
            reachable=False, definitive=False, snapshot={"outcome": "timeout"}))
    out = run(env, "fetch").stdout
    assert "all 17 sources have been fetched" in out and "--failed retries the 1 source" in out and "--stale" in out


@pytest.mark.skipif(shutil.which("refman") is None and not Path(REFMAN).exists(), reason="refman not installed")
def test_db_status_tells_the_truth(env: dict[str, str], tmp_path: Path) -> None:
    assert "up to date" in run(env, "db", "status").stdout
    missing = run(env, "--db", str(tmp_path / "none.db"), "db", "status", code=3)
    assert "missing" in missing.stdout and not (tmp_path / "none.db").exists()


_REGISTERED_BY = """
import importlib, json
from refman.cli import COMMAND_MODULES, common

def names():
    top = {c.name or c.callback.__name__.replace("_", "-") for c in common.app.registered_commands}
    groups = {g.name for g in common.app.registered_groups}
    db = {c.name or c.callback.__name__ for c in common.db_app.registered_commands}
    return top | groups, db

out, (seen, seen_db) = {}, names()
for module in COMMAND_MODULES:
    importlib.import_module("refman.cli." + module)
    now, now_db = names()
    out[module] = sorted(now - seen) + (["db"] if now_db - seen_db else [])
    seen, seen_db = now, now_db
print(json.dumps(out))
"""


def test_a_run_loads_the_modules_of_its_command() -> None:
    """refman.cli.COMMAND_HOME (which modules a command line loads) names, for every command and group, the
    modules that register it (a command missing there would be 'No such command')."""
    from refman.cli import COMMAND_HOME, command_name

    proc = subprocess.run([sys.executable, "-c", _REGISTERED_BY], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    registered: dict[str, list[str]] = json.loads(proc.stdout)
    homes: dict[str, set[str]] = {}
    for module, names in registered.items():
        for name in names:
            homes.setdefault(name, set()).add(module)
    assert {name: set(modules) for name, modules in COMMAND_HOME.items()} == homes
    assert command_name(["--db", "x.db", "-v", "search", "gpu"]) == "search"
    assert command_name(["--db=x.db", "list"]) == "list"
    assert command_name(["--help", "search"]) is None
    assert command_name([]) is None


def test_a_command_run_alone_works_as_with_every_module_loaded(tmp_path: Path) -> None:
    env = dict(os.environ, REFMAN_DB=str(tmp_path / "c.db"))
    run(env, "import", str(VAULT), "-q")
    assert run(env, "db", "status").stdout.endswith("up to date\n")
    assert "No such command" in run(env, "serach", "x", code=2).stderr
