"""End to end: `refman duplicates` and `refman merge` through the installed command, on a tmp catalog."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from refman.catalog import add_source, set_fields, tag_sources
from refman.notes.importer import import_vault
from refman.store import connect, open_store
from refman.store.sqlite import SqliteStore
from tests.test_duplicates import snapshot, write_vault


def refman_exe() -> list[str]:
    exe = Path(sys.executable).with_name("refman")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "refman"]


def run(env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*refman_exe(), *args], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, f"refman {' '.join(args)} exited {proc.returncode}: {proc.stderr}"
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


@pytest.fixture
def catalog(db_path: Path, tmp_path: Path) -> dict[str, int]:
    store = open_store(db_path)
    conn = store.conn
    write_vault(tmp_path / "vault", {
        "n.md": "[Short link]: https://sho.rt/x\n\n[The article (2024)]: https://news.example.com/story\n",
    })
    import_vault(SqliteStore(conn), [tmp_path / "vault"])
    ids = {url: sid for sid, url in conn.execute("SELECT id, url FROM source")}
    short, article = ids["https://sho.rt/x"], ids["https://news.example.com/story"]
    snapshot(store, short, "2024-01-01T00:00:00Z", final_url="https://news.example.com/story",
             hops=["https://sho.rt/x"])
    tag_sources(store, [short], add=["later"])
    set_fields(store, short, ["citekey=shortKey"])
    set_fields(store, article, ["citekey=articleKey"])
    c, _ = add_source(store, "https://c.example.com/1", note="first copy")
    d, _ = add_source(store, "https://c.example.com/2", note="second copy")
    conn.close()
    return {"short": short, "article": article, "c": c, "d": d}


def test_duplicates_lists_and_merges(cli_env: dict[str, str], catalog: dict[str, int]) -> None:
    short, article = catalog["short"], catalog["article"]
    listed = json.loads(run(cli_env, "duplicates", "--json").stdout)
    assert listed["merged"] == []
    # the short link redirects to the article: the page lives at the article's URL, which is kept
    assert [(g["keep"], g["drop"], g["reason"], g["url_now"]) for g in listed["groups"]] == [
        (article, [short], "redirect", "https://news.example.com/story")]
    assert [s["url"] for s in listed["groups"][0]["sources"]] == ["https://sho.rt/x", "https://news.example.com/story"]
    text = run(cli_env, "duplicates").stdout
    assert "redirect:" in text and f"keep   #{article}" in text and "1 group of duplicates" in text
    merged = json.loads(run(cli_env, "duplicates", "--merge", "--json").stdout)
    assert merged["merged"][0]["kept"] == article and merged["merged"][0]["dropped"] == [short]
    assert merged["merged"][0]["dropped_citekeys"] == ["shortKey"]
    shown = json.loads(run(cli_env, "show", str(article), "--json").stdout)
    assert len(shown["mentions"]) == 2 and shown["tags"] == ["later"] and shown["citekey"] == "articleKey"
    assert json.loads(run(cli_env, "show", "https://sho.rt/x", "--json").stdout)["id"] == article  # an alias
    run(cli_env, "show", str(short), code=3)
    assert "no duplicates found" in run(cli_env, "duplicates").stdout


def test_merge_by_key_and_url(cli_env: dict[str, str], catalog: dict[str, int]) -> None:
    proc = run(cli_env, "merge", "shortKey", "https://news.example.com/story")
    assert proc.stdout.startswith(f"merged #{catalog['article']} into #{catalog['short']}: 1 mention")
    assert "citation key articleKey no longer exists: use shortKey instead" in proc.stderr
    out = json.loads(run(cli_env, "merge", str(catalog["c"]), str(catalog["d"]), "--json").stdout)
    assert out["kept"] == catalog["c"] and out["dropped"] == [catalog["d"]] and out["note_merged"] is True
    for key in ("dropped_urls", "mentions_moved", "tags_added", "snapshots_moved", "pins_adopted",
                "pins_discarded", "evidence_adopted", "text_from", "citekey", "dropped_citekeys"):
        assert key in out
    assert json.loads(run(cli_env, "show", str(catalog["c"]), "--json").stdout)["note"] == "first copy\n\nsecond copy"


def test_merge_errors(cli_env: dict[str, str], catalog: dict[str, int], db_path: Path) -> None:
    before = list(connect(db_path).iterdump())
    proc = run(cli_env, "merge", str(catalog["c"]), "9999", code=3)
    assert proc.stderr.startswith("refman: no source matches '9999'") and proc.stderr.count("\n") == 1
    proc = run(cli_env, "merge", str(catalog["c"]), str(catalog["c"]), code=2)
    assert "into itself" in proc.stderr
    run(cli_env, "merge", str(catalog["c"]), code=2)  # no source to merge: typer's usage error
    assert list(connect(db_path).iterdump()) == before
