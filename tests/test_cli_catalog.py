"""End to end: the installed `refman` command in a subprocess, on a tmp vault and a tmp catalog."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample-vault"


def refman_exe() -> list[str]:
    exe = Path(sys.executable).parent / "refman"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "refman"]


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*refman_exe(), *args], env=env, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"refman {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


def test_import_list_show_sample_vault(cli_env: dict[str, str], tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    shutil.copytree(SAMPLE, vault)
    report = json.loads(run(cli_env, "import", str(vault), "--json").stdout)
    for key in ("notes_scanned", "notes_unchanged", "definitions", "sources_new", "sources_updated", "mentions",
                "skipped", "warnings"):
        assert key in report
    assert report["notes_scanned"] == 4
    assert {s["reason"] for s in report["skipped"]} >= {"relative link", "mailto: link, not a web page"}
    items = json.loads(run(cli_env, "list", "--json").stdout)
    assert isinstance(items, list) and len(items) == report["sources_new"]
    for key in ("id", "url", "url_as_written", "title", "issued", "container_title", "publisher", "author",
                "tags", "status", "mentions"):
        assert key in items[0]
    lepton = [i for i in items if "lepton" in i["url"]]
    assert len(lepton) == 1 and len(lepton[0]["mentions"]) == 2  # cited by two notes, #fragment dropped
    assert all(i["status"] == "new" for i in items)
    infoq = next(i for i in items if i["url"] == "https://www.infoq.cn/article/w155khed4mr860s7cpez")
    assert infoq["container_title"] == "InfoQ"
    shown = json.loads(run(cli_env, "show", str(infoq["id"]), "--json").stdout)
    assert shown["provenance"]["title"] == "label"
    assert shown["mentions"][0]["path"] == "AI Infrastructure/AI Data Infrastructure.md"
    # by URL too
    assert json.loads(run(cli_env, "show", infoq["url"], "--json").stdout)["id"] == infoq["id"]
    text = run(cli_env, "show", str(infoq["id"])).stdout
    assert "InfoQ" in text and "from label" in text
    again = json.loads(run(cli_env, "import", str(vault), "--json").stdout)
    assert again["notes_unchanged"] == 4 and again["notes_scanned"] == 0
    touched = vault / "Networking" / "RDMA.md"
    touched.write_text(touched.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    summary = run(cli_env, "import", str(vault)).stdout
    assert summary.startswith("1 note scanned, 3 unchanged") and summary.rstrip().endswith("0 warnings")


def test_add_tag_set_unset(cli_env: dict[str, str]) -> None:
    out = json.loads(run(cli_env, "add", "https://Example.com/page?utm_source=x", "--title", "My page",
                         "--tag", "ml", "--note", "read later", "--json").stdout)
    assert out["created"] is True
    sid = str(out["source"]["id"])
    assert out["source"]["tags"] == ["ml"] and out["source"]["title"] == "My page"
    again = json.loads(run(cli_env, "add", "https://example.com/page", "--tag", "gpu", "--json").stdout)
    assert again["created"] is False and again["source"]["id"] == out["source"]["id"]
    assert again["source"]["tags"] == ["gpu", "ml"]
    assert "already in the catalog" in run(cli_env, "add", "https://example.com/page").stdout
    run(cli_env, "tag", sid, "--remove", "gpu", "--add", "reading")
    assert json.loads(run(cli_env, "list", "--tag", "reading", "--json").stdout)[0]["id"] == int(sid)
    run(cli_env, "set", sid, "author=Myers, Sarah; {Felicis Ventures}", "issued=2024-06", "title=Pinned")
    shown = json.loads(run(cli_env, "show", sid, "--json").stdout)
    assert shown["author"] == [{"family": "Myers", "given": "Sarah"}, {"literal": "Felicis Ventures"}]
    assert shown["issued"] == "2024-06" and shown["provenance"]["issued"] == "user"
    assert set(shown["pinned"]) == {"author", "issued", "title"}
    assert run(cli_env, "unset", sid, "issued").stdout == f"#{sid} issued released: now empty\n"
    assert json.loads(run(cli_env, "show", sid, "--json").stdout)["issued"] is None
    released = json.loads(run(cli_env, "unset", sid, "title", "author", "--json").stdout)
    assert released == {"id": int(sid), "unset": {"title": {"value": None, "origin": None},
                                                  "author": {"value": [], "origin": None}}, "not_pinned": []}
    assert run(cli_env, "unset", sid, "title").stdout == f"#{sid} title is not pinned: nothing to release\n"
    stats = json.loads(run(cli_env, "stats", "--json").stdout)
    assert stats["sources"] == 1 and stats["orphans"] == 0  # added by hand, never cited: not an orphan
    assert json.loads(run(cli_env, "list", "--orphans", "--json").stdout) == []
    assert shown["added_by"] == "add"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("add", "not a url"), 2, "relative link"),
        (("add", "ftp://example.com/x"), 2, "ftp: link"),
        (("show", "999"), 3, "no source matches"),
        (("import", "/definitely/not/here"), 3, "no such file or folder"),
        (("set", "1", "bogus=1"), 3, "no source matches"),
    ],
)
def test_errors_are_one_line(cli_env: dict[str, str], args: tuple[str, ...], code: int, message: str) -> None:
    run(cli_env, "db", "upgrade")  # an empty catalog: the errors are about the arguments
    proc = run(cli_env, *args, check=False)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    no_traceback(proc)


def test_set_validates_values(cli_env: dict[str, str]) -> None:
    sid = str(json.loads(run(cli_env, "add", "https://a.example.com/", "--json").stdout)["source"]["id"])
    for bad in ("issued=June 2024", "bogus=1", "doi=nope", "type=poem"):
        proc = run(cli_env, "set", sid, bad, check=False)
        assert proc.returncode == 2, bad
        no_traceback(proc)


def test_db_option_and_env(tmp_path: Path, cli_env: dict[str, str]) -> None:
    other = tmp_path / "other.db"
    run(cli_env, "--db", str(other), "add", "https://b.example.com/")
    assert other.exists()
    missing = run(cli_env, "list", "--json", check=False)  # REFMAN_DB names no catalog: nothing is created
    assert missing.returncode == 3 and "no catalog at" in missing.stderr
    assert not Path(cli_env["REFMAN_DB"]).exists()
    status = json.loads(run(cli_env, "--db", str(other), "db", "status", "--json").stdout)
    assert status["up_to_date"] is True


def test_list_piped_is_plain(cli_env: dict[str, str]) -> None:
    run(cli_env, "add", "https://c.example.com/", "--title", "Plain")
    out = run(cli_env, "list").stdout
    assert out.strip().split("\t")[-2:] == ["Plain", "https://c.example.com/"]


def test_import_progress_bar_only_on_a_terminal(cli_env: dict[str, str], tmp_path: Path) -> None:
    import os
    import pty

    vault = tmp_path / "vault"
    shutil.copytree(SAMPLE, vault)
    piped = run(cli_env, "import", str(vault))
    assert "━" not in piped.stderr and "notes scanned" in piped.stdout  # not a terminal: no bar
    # stderr on a terminal: the bar is drawn there
    leader, follower = pty.openpty()
    proc = subprocess.run([*refman_exe(), "--db", str(tmp_path / "tty.db"), "import", str(vault)], env=cli_env,
                          stdout=subprocess.PIPE, stderr=follower, timeout=120, check=True)
    os.close(follower)
    drawn = b""
    try:
        while chunk := os.read(leader, 65536):
            drawn += chunk
    except OSError:
        pass
    os.close(leader)
    assert b"import" in drawn and b"4/4" in drawn and b"notes" in drawn
    assert b"notes scanned" in proc.stdout
    # --json on a terminal: quiet, and rich.progress is never imported
    code = f"""
import sys
from refman.cli import main
from refman.cli import common
common.stderr_is_terminal = lambda: True
sys.argv = ['refman', '--db', {str(tmp_path / 'json.db')!r}, 'import', {str(vault)!r}, '--json']
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
assert 'rich.progress' not in sys.modules, 'rich.progress imported on the quiet path'
"""
    quiet = subprocess.run([sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["notes_scanned"] == 4 and "━" not in quiet.stderr
