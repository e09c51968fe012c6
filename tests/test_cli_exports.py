"""End to end: `refman export --keep-updated`, `refman exports`, and every command that commits a change
re-writing exactly the registered exports whose bytes changed (real `refman` subprocesses)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.test_cli_catalog import no_traceback, run


def mtime(path: Path) -> int:
    return path.stat().st_mtime_ns


def test_keep_updated_follows_every_committing_command(cli_env: dict[str, str], vault: Path,
                                                       tmp_path: Path) -> None:
    refs, rdma = tmp_path / "refs.bib", tmp_path / "rdma.json"
    out = run(cli_env, "export", "-o", str(refs), "--keep-updated")
    assert "registered export 'refs.bib'" in out.stderr and out.stdout == ""
    assert refs.read_text() == run(cli_env, "export").stdout
    run(cli_env, "export", "-f", "csljson", "--cited-in", "Networking/RDMA.md", "-o", str(rdma), "--keep-updated",
        "--name", "rdma")
    listed = {e["name"]: e for e in json.loads(run(cli_env, "exports", "--json").stdout)}
    assert listed["refs.bib"]["state"] == "current" and listed["rdma"]["state"] == "current"
    assert listed["rdma"]["cited_in"] == "Networking/RDMA.md" and listed["rdma"]["format"] == "csljson"
    rdma_before = (mtime(rdma), rdma.read_bytes())

    # add: a new source lands in the whole-catalog export, not in RDMA's
    run(cli_env, "add", "https://added.example.org/post", "--title", "Added by hand")
    assert "Added by hand" in refs.read_text()
    assert (mtime(rdma), rdma.read_bytes()) == rdma_before
    # tag, set, unset, rekey: each re-writes what changed, before it exits
    before = mtime(refs)
    run(cli_env, "tag", "1", "--add", "kept-fresh")
    assert "kept-fresh" in refs.read_text() and mtime(refs) != before
    run(cli_env, "set", "https://added.example.org/post", "title=Renamed by hand")
    assert "Renamed by hand" in refs.read_text()
    run(cli_env, "unset", "https://added.example.org/post", "title")
    assert "Renamed by hand" not in refs.read_text()
    run(cli_env, "rekey", "--all")
    assert refs.read_text() == run(cli_env, "export").stdout
    # read-only commands and commands that change nothing leave every file alone
    still = (mtime(refs), mtime(rdma))
    for args in (["list"], ["search", "RDMA"], ["show", "1"], ["tag", "1", "--add", "kept-fresh"],
                 ["export", "-f", "ris"], ["stats"], ["import", str(vault), "-q"], ["exports"]):
        run(cli_env, *args)
        assert (mtime(refs), mtime(rdma)) == still, args
    # an edit of the RDMA note reaches its export through import
    note = vault / "Networking" / "RDMA.md"
    note.write_text(note.read_text() + "\n[RDMA over Ethernet]: https://rdma.example.org/roce\n")
    run(cli_env, "import", str(vault), "-q")
    assert any(i["URL"] == "https://rdma.example.org/roce" for i in json.loads(rdma.read_text()))
    assert rdma.read_text() == run(cli_env, "export", "-f", "csljson", "--cited-in", "Networking/RDMA.md").stdout


def test_vanished_folder_is_one_line_and_exports_commands(cli_env: dict[str, str], vault: Path,
                                                          tmp_path: Path) -> None:
    folder = tmp_path / "paper"
    folder.mkdir()
    run(cli_env, "export", "-o", str(folder / "refs.bib"), "--keep-updated", "--name", "paper")
    run(cli_env, "export", "-o", str(tmp_path / "all.bib"), "--keep-updated", "--name", "all")
    shutil.rmtree(folder)
    out = run(cli_env, "tag", "1", "--add", "x")
    no_traceback(out)
    warnings = [line for line in out.stderr.splitlines() if "paper" in line]
    assert len(warnings) == 1 and "is gone" in warnings[0]
    assert "keywords = {x}" in (tmp_path / "all.bib").read_text()
    assert not folder.exists()
    states = {e["name"]: e["state"] for e in json.loads(run(cli_env, "exports", "--json").stdout)}
    assert states == {"paper": "missing", "all": "current"}
    out = run(cli_env, "exports", "refresh", check=False)
    assert out.returncode == 1 and "is gone" in out.stderr
    no_traceback(out)
    results = json.loads(run(cli_env, "exports", "refresh", "all", "--json").stdout)
    assert [(r["name"], r["status"]) for r in results] == [("all", "unchanged")]
    out = run(cli_env, "exports", "remove", "nope", check=False)
    assert out.returncode == 3 and out.stderr.startswith("refman: ")
    run(cli_env, "exports", "remove", "paper")
    assert [e["name"] for e in json.loads(run(cli_env, "exports", "--json").stdout)] == ["all"]
    assert run(cli_env, "exports").stdout.startswith("all\tcurrent\t")


def test_per_note_mirror_and_usage_errors(cli_env: dict[str, str], vault: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "bib"
    out_dir.mkdir()
    out = run(cli_env, "export", "--cited-in", "Networking/", "--per-note", str(out_dir), "-f", "csljson",
              "--keep-updated")
    assert "wrote 2 files" in out.stderr
    rdma = out_dir / "Networking" / "RDMA.json"
    assert rdma.read_text() == run(cli_env, "export", "-f", "csljson", "--cited-in", "Networking/RDMA.md").stdout
    overlay = out_dir / "Networking" / "Overlay Network.json"
    before = mtime(overlay)
    note = vault / "Networking" / "RDMA.md"
    note.write_text(note.read_text() + "\n[RDMA over Ethernet]: https://rdma.example.org/roce\n")
    run(cli_env, "import", str(vault), "-q")
    assert "https://rdma.example.org/roce" in rdma.read_text() and mtime(overlay) == before
    # one-off mirror, not registered
    once = tmp_path / "once"
    once.mkdir()
    run(cli_env, "export", "--per-note", str(once))
    assert len(list(once.rglob("*.bib"))) == 4
    assert [e["name"] for e in json.loads(run(cli_env, "exports", "--json").stdout)] == ["bib"]
    for args in (["export", "--keep-updated"], ["export", "-o", str(tmp_path / "a.bib"), "--name", "a"],
                 ["export", "--per-note", str(once), "-f", "ris"],
                 ["export", "--per-note", str(once), "--tag", "x"],
                 ["export", "--per-note", str(once), "-o", str(tmp_path / "b.bib")]):
        out = run(cli_env, *args, check=False)
        assert out.returncode == 2, (args, out.stderr)
        assert out.stderr.startswith("refman: ") and len(out.stderr.strip().splitlines()) == 1
    run(cli_env, "export", "--per-note", str(tmp_path / "new"))  # a folder to create, in one that exists
    assert len(list((tmp_path / "new").rglob("*.bib"))) == 4
    out = run(cli_env, "export", "--per-note", str(tmp_path / "absent" / "bib"), check=False)
    assert out.returncode == 3 and not (tmp_path / "absent").exists()
    out = run(cli_env, "export", "-o", str(tmp_path / "x.bib"), "--keep-updated", "--cited-in", "nope.md",
              check=False)
    assert out.returncode == 3 and not (tmp_path / "x.bib").exists()
