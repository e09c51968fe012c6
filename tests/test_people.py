"""Many people on one catalog (issue #17 §5), through the installed `refman` in subprocesses, on a SQLite file
and on PostgreSQL: who made each write (REFMAN_USER, the settings file, the login) and `show` saying it; two
`refman set` of one field at once losing nothing; vault roots per user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg import fresh_catalog_database

from refman.config import user_name

REFMAN = str(Path(sys.executable).parent / "refman")


@pytest.fixture(params=("sqlite", "postgresql"))
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "catalog.db")
        return
    with fresh_catalog_database() as url:
        yield url


class People:
    """`refman` as one user or another, against one catalog."""

    def __init__(self, location: str, tmp_path: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        self.env.update(REFMAN_DB=location, REFMAN_CONFIG=str(tmp_path / "no-config.toml"))

    def env_of(self, user: str) -> dict[str, str]:
        return {**self.env, "REFMAN_USER": user}

    def run(self, user: str, *args: str) -> str:
        proc = subprocess.run([REFMAN, *args], env=self.env_of(user), capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout

    def json(self, user: str, *args: str) -> Any:
        return json.loads(self.run(user, *args, "--json"))


def test_user_name_comes_from_the_environment_then_the_settings_file_then_the_login(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "config.toml"
    settings.write_text('[user]\nname = "  carol  "\n', encoding="utf-8")
    monkeypatch.setenv("REFMAN_CONFIG", str(settings))
    monkeypatch.setenv("REFMAN_USER", " alice ")
    assert user_name() == "alice"
    monkeypatch.setenv("REFMAN_USER", "")
    assert user_name() == "carol"
    settings.write_text("[user]\n", encoding="utf-8")
    monkeypatch.setenv("LOGNAME", "dave")
    monkeypatch.setenv("USER", "dave")
    assert user_name() == "dave"  # getpass.getuser(): LOGNAME first


def test_each_write_records_who_and_show_says_it(location: str, tmp_path: Path) -> None:
    people = People(location, tmp_path)
    people.run("alice", "add", "https://people.example/a", "--title", "Alice's title", "--tag", "ml")
    people.run("bob", "set", "1", "title=Bob's title", "issued=2024-06")
    people.run("bob", "tag", "1", "--add", "infra")
    shown = people.json("carol", "show", "1")
    assert (shown["created_by"], shown["updated_by"]) == ("alice", "bob")
    assert shown["tagged_by"] == {"ml": "alice", "infra": "bob"}
    assert {f: who["by"] for f, who in shown["set_by"].items()} == {"title": "bob", "issued": "bob"}
    assert {(e["field"], e["origin"], e["by"]) for e in shown["evidence"]} == {
        ("title", "user", "bob"), ("issued", "user", "bob")}
    assert [(h["field"], h["value"], h["by"], h["replaced_by"]) for h in shown["history"]] == [
        ("title", "Alice's title", "alice", "bob")]
    piped = people.run("carol", "show", "1").splitlines()
    day = shown["set_by"]["title"]["at"][:10]
    assert f"title\tBob's title\tfrom user\tby bob {day}" in piped
    assert f"earlier\ttitle\tAlice's title by alice {day}, replaced by bob {day}" in piped
    assert f"created_by\talice {day}" in piped
    people.run("carol", "unset", "1", "title")
    history = people.json("dave", "show", "1")["history"]
    assert [(h["value"], h["by"], h["replaced_by"]) for h in history] == [
        ("Bob's title", "bob", "carol"), ("Alice's title", "alice", "bob")]


def test_two_people_setting_one_field_at_once_lose_nothing(location: str, tmp_path: Path) -> None:
    """Two `refman set` processes started together: one value wins, the other is in the field's history —
    whichever order the catalog put them in."""
    people = People(location, tmp_path)
    people.run("carol", "add", "https://people.example/race", "--title", "Start")
    for round_ in range(3):
        values = {"alice": f"alice {round_}", "bob": f"bob {round_}"}
        procs = [subprocess.Popen([REFMAN, "set", "1", f"title={value}"], env=people.env_of(user),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                 for user, value in values.items()]
        for proc in procs:
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        shown = people.json("carol", "show", "1")
        kept = {h["value"]: (h["by"], h["replaced_by"]) for h in shown["history"]}
        winner = shown["title"]
        loser = next(v for v in values.values() if v != winner)
        assert winner in values.values() and shown["set_by"]["title"]["by"] == winner.split()[0]
        assert kept[loser] == (loser.split()[0], winner.split()[0])  # kept, and who replaced it
    assert len(shown["history"]) == 6  # Start, then one of each round's pair, then the winners but the last


def _vault(root: Path, notes: dict[str, str]) -> None:
    for child in root.rglob("*.md"):
        child.unlink()
    for name, text in notes.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_vault_roots_are_per_user(location: str, tmp_path: Path) -> None:
    """alice and bob both keep their vault at one absolute path (on their own machines: here, the folder's
    content is swapped between their imports). Each import sees and removes the importer's notes only."""
    people = People(location, tmp_path)
    shared = tmp_path / "shared" / "vault"
    shared.mkdir(parents=True)
    alices = {"a.md": "[A]: https://alice.example/a\n", "sub/deep.md": "[D]: https://alice.example/d\n",
              "same.md": "[S]: https://alice.example/s\n"}
    bobs = {"b.md": "[B]: https://bob.example/b\n", "same.md": "[S]: https://bob.example/s\n"}
    _vault(shared, alices)
    assert people.json("alice", "import", str(shared))["notes_scanned"] == 3
    _vault(shared, bobs)
    report = people.json("bob", "import", str(shared))
    assert report["notes_scanned"] == 2 and report["notes_removed"] == 0  # alice's notes are not bob's to remove
    roots = people.json("carol", "notes")
    assert [(r["root"], r["owner"], sorted(n["path"] for n in r["note_list"])) for r in roots] == [
        (str(shared.resolve()), "alice", ["a.md", "same.md", "sub/deep.md"]),
        (str(shared.resolve()), "bob", ["b.md", "same.md"])]
    text = people.run("carol", "notes", "--roots")
    assert "\towner alice" in text and "\towner bob" in text

    # bob deletes his b.md: his import forgets it, alice's notes stay
    _vault(shared, {"same.md": bobs["same.md"]})
    assert people.json("bob", "import", str(shared))["notes_removed"] == 1
    # back on alice's machine: a subfolder import resolves against her root, nothing of bob's is touched
    _vault(shared, {**alices, "sub/deep.md": "[D]: https://alice.example/d\n[E]: https://alice.example/e\n"})
    report = people.json("alice", "import", str(shared / "sub"))
    assert report["notes_scanned"] == 1 and report["notes_removed"] == 0
    roots = {r["owner"]: sorted(n["path"] for n in r["note_list"]) for r in people.json("carol", "notes")}
    assert roots == {"alice": ["a.md", "same.md", "sub/deep.md"], "bob": ["same.md"]}
    urls = {s["url"] for s in people.json("carol", "list")}
    assert {"https://alice.example/s", "https://bob.example/s", "https://alice.example/e"} <= urls
    # a user with no roots of their own starts a new one at the same path
    report = people.json("dave", "import", str(shared))
    assert report["notes_scanned"] == 3 and report["notes_removed"] == 0
    assert sorted(r["owner"] for r in people.json("carol", "notes")) == ["alice", "bob", "dave"]


def test_db_copy_carries_who_and_the_history(location: str, tmp_path: Path) -> None:
    """A personal catalog moved into the team's (any backend): who set what, the overwritten values and the owner
    of the notes come along; copying it again adds no history twice; a team pin that wins over a copied one keeps
    the copied one in the history."""
    personal = People(str(tmp_path / "personal.db"), tmp_path)
    vault = tmp_path / "vault"
    _vault(vault, {"n.md": "[N]: https://copy.example/n\n"})
    personal.run("alice", "import", str(vault))
    personal.run("alice", "add", "https://copy.example/p", "--title", "Alice's")
    personal.run("bob", "set", "2", "title=Bob's")
    personal.run("alice", "set", "1", "title=Alice's N")
    team = People(location, tmp_path)
    team.run("carol", "add", "https://copy.example/n", "--title", "Carol's")
    for _ in range(2):
        team.run("dave", "db", "copy", "--from", str(tmp_path / "personal.db"))
    by_url = {s["url"]: s["id"] for s in team.json("carol", "list")}
    copied = team.json("carol", "show", str(by_url["https://copy.example/p"]))
    assert copied["created_by"] == "alice" and copied["set_by"]["title"]["by"] == "bob"
    assert [(h["value"], h["by"], h["replaced_by"]) for h in copied["history"]] == [("Alice's", "alice", "bob")]
    merged = team.json("carol", "show", str(by_url["https://copy.example/n"]))
    assert merged["title"] == "Carol's"  # the team's pin wins; the copied one is kept, once
    assert [(h["value"], h["by"], h["replaced_by"]) for h in merged["history"]] == [("Alice's N", "alice", "dave")]
    assert [(r["owner"], r["root"]) for r in team.json("carol", "notes")] == [("alice", str(vault.resolve()))]


def test_the_public_api_takes_the_user_even_for_what_a_fetch_writes(location: str, site: Any) -> None:
    """`Catalog.open(..., user=…)` wins over REFMAN_USER, and reaches the writes of a fetch (its writer opens its
    own connection)."""
    from refman import Catalog
    from refman.fetch.client import FetchPolicy

    site.expect_request("/page").respond_with_data(
        "<html><head><title>A page</title></head><body><article><p>" + "Words of a page. " * 40
        + "</p></article></body></html>", content_type="text/html; charset=utf-8")
    url = str(site.url_for("/page"))
    with Catalog.open(location, user="erin") as cat:
        assert cat.user == "erin"
        cat.add(url)
        cat.fetch([url], policy=FetchPolicy(respect_robots=False, delay=0))
        shown = cat.get(url).to_dict()
    assert shown["created_by"] == "erin"
    assert [s["fetched_by"] for s in shown["snapshots"]] == ["erin"]
    assert {e["by"] for e in shown["evidence"]} == {"erin"}  # the page's evidence, recorded by erin's fetch
