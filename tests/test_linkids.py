"""Labels that are link ids give no hints; hints come from every label of a source; judgements follow imports."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refman.notes.importer import import_vault
from refman.notes.linkids import combine_hints, judge_label, label_key, link_title, reference_uses
from refman.store import connect
from refman.store.sqlite import SqliteStore


@pytest.mark.parametrize(("label", "pages", "link_text", "verdict"), [
    ("website", 1, None, "common-word"),
    ("Documentation", 1, None, "common-word"),
    ("website", 161, None, "reused"),
    ("mcp / per-project disable", 2, None, "reused"),
    ("The same long article title cited twice", 2, None, None),  # a page and its mirror
    ("The same long article title cited thrice", 3, None, "reused"),
    ("mcp-config", 1, None, "slug"),
    ("ref1", 1, None, "slug"),
    ("1", 1, None, "slug"),
    ("keycloak", 1, None, "slug"),
    ("start containers at boot", 1, "start the container at boot", "link-text"),
    ("Introducing URL and host header rewrite", 1, "blog post", None),  # the label names the page
    ("The rise of AI data infrastructure (6/24/2024)", 1, None, None),
    ("kde repositories", 1, None, None),  # lower-case words, but a phrase, not a slug
    ("数据", 1, None, None),  # a one-word Chinese label is a title
    ("👍 website", 1, None, "common-word"),
])
def test_judge_label(label: str, pages: int, link_text: str | None, verdict: str | None) -> None:
    assert judge_label(label, pages, link_text) == verdict


@given(st.text(max_size=60), st.integers(min_value=0, max_value=5), st.none() | st.text(max_size=20))
def test_judge_label_never_fails_and_ignores_case_for_reuse(label: str, pages: int, link_text: str | None) -> None:
    verdict = judge_label(label, pages, link_text)
    assert verdict in (None, "link-text", "reused", "common-word", "slug")
    # a label with words in it, cited for three pages, is reused (a label of emoji alone has no words to judge:
    # the judge strips leading pictographs such as flags first)
    if pages >= 3 and label_key(label) and not link_text and any(c.isalnum() for c in label):
        assert verdict == "reused"


def test_reference_uses() -> None:
    text = ("See the [setup guide][docs] and [Docs][docs] again, [same][Same], [`apt`][apt].\n\n"
            "```\n[in code][code-label]\n```\n")
    assert reference_uses(text) == {"docs": "setup guide", "apt": "`apt`"}
    assert reference_uses("no references here") == {}


def test_link_title() -> None:
    assert link_title("`apt`") == "apt"
    assert link_title("EC2 Metadata Mock") == "EC2 Metadata Mock"
    assert link_title("here") is None and link_title("official documentation") is None and link_title("1") is None


def test_combine_hints_most_specific_then_most_frequent() -> None:
    entries = [("Rise", None, None, None), ("The rise of AI", "2020-01-10", None, None),
               ("Rise", "2020", "Felicis", None), ("Rise", None, None, None)]
    hints, conflicts = combine_hints(entries)
    # titles: "Rise" came with a date and a site once (fullest), and is the most frequent
    assert hints == ("Rise", "2020-01-10", "Felicis", None)
    assert conflicts == {"title": ["Rise", "The rise of AI"]}  # 2020 agrees with 2020-01-10: no date conflict
    hints, conflicts = combine_hints([("A", "2021-06", None, None), ("A", "2020", None, None)])
    assert hints[1] == "2021-06" and conflicts == {"issued": ["2021-06", "2020"]}
    assert combine_hints([]) == (None, {})


def _write(root: Path, notes: dict[str, str]) -> None:
    for rel, text in notes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def _titles(conn: sqlite3.Connection) -> dict[str, tuple[str | None, str | None]]:
    return {r[0]: (r[1], r[2]) for r in conn.execute("SELECT url, title, issued FROM source")}


def _evidence(conn: sqlite3.Connection) -> list[tuple[str, ...]]:
    return sorted(tuple(r) for r in conn.execute("SELECT s.url, f.field, f.origin, f.value FROM field_value f"
                                                 " JOIN source s ON s.id = f.source_id"))


def test_ids_give_no_hints_and_link_text_is_the_fallback(tmp_path: Path, db_path: Path, cli_env: dict[str, str]
                                                         ) -> None:
    vault = tmp_path / "v"
    _write(vault, {
        "a.md": "Use the [official site][website]. See [the setup guide][setup].\n\n"
                "[website]: https://a.example.com/\n[setup]: https://a.example.com/setup\n"
                "[Real Title (2021-06) | Example]: https://a.example.com/post\n",
        "b.md": "[website]: https://b.example.com/\n[github]: https://github.com/x/y\n",
    })
    conn = connect(db_path)
    import_vault(SqliteStore(conn), [vault])
    assert _titles(conn) == {
        "https://a.example.com/": (None, None),  # "official site" is a generic link text
        "https://a.example.com/setup": ("the setup guide", None),
        "https://a.example.com/post": ("Real Title", "2021-06"),
        "https://b.example.com/": (None, None),
        "https://github.com/x/y": (None, None),
    }
    origin = conn.execute("SELECT origin FROM field_value f JOIN source s ON s.id = f.source_id"
                          " WHERE s.url = 'https://a.example.com/setup'").fetchone()[0]
    assert origin == "link-text"
    # the id stays the mention's label, searchable
    assert conn.execute("SELECT count(*) FROM mention WHERE label = 'website'").fetchone()[0] == 2
    conn.close()
    out = subprocess.run([sys.executable, "-m", "refman", "export", "--format", "bibtex"], env=cli_env,
                         capture_output=True, text=True, check=True).stdout
    assert "website" not in out.lower().replace("https://", "") and "{github}" not in out.lower()
    found = subprocess.run([sys.executable, "-m", "refman", "search", "website", "--json"], env=cli_env,
                           capture_output=True, text=True, check=True).stdout
    assert "a.example.com" in found and "b.example.com" in found


def test_a_later_import_flips_a_judgement_and_back(tmp_path: Path, db_path: Path) -> None:
    vault = tmp_path / "v"
    first = {"a.md": "[Project Overview Page]: https://a.example.com/overview\n"}
    _write(vault, first)
    conn = connect(db_path)
    import_vault(SqliteStore(conn), [vault])
    assert _titles(conn)["https://a.example.com/overview"] == ("Project Overview Page", None)
    # b.md names another page with the same label: it is a link id now, in both notes
    _write(vault, {"b.md": "[project overview page]: https://b.example.com/overview\n"})
    import_vault(SqliteStore(conn), [vault / "b.md"])
    assert _titles(conn) == {"https://a.example.com/overview": (None, None),
                             "https://b.example.com/overview": (None, None)}
    fresh = connect(tmp_path / "fresh.db")
    import_vault(SqliteStore(fresh), [vault])
    assert _evidence(conn) == _evidence(fresh)
    # b.md is gone: the label names one page again and is a title again
    (vault / "b.md").unlink()
    import_vault(SqliteStore(conn), [vault])
    assert _titles(conn)["https://a.example.com/overview"] == ("Project Overview Page", None)
    fresh2 = connect(tmp_path / "fresh2.db")
    import_vault(SqliteStore(fresh2), [vault])
    assert [e for e in _evidence(conn) if "a.example" in e[0]] == _evidence(fresh2)
    index = conn.execute("SELECT title FROM search_fts WHERE rowid = (SELECT id FROM source WHERE url ="
                         " 'https://a.example.com/overview')").fetchone()[0]
    assert index == "Project Overview Page"


def _imported(db_path: Path, vault: Path, notes: dict[str, str]) -> sqlite3.Connection:
    _write(vault, notes)
    conn = connect(db_path)
    import_vault(SqliteStore(conn), [vault])
    return conn


def test_every_label_of_a_source_counts(tmp_path: Path, db_path: Path) -> None:
    conn = _imported(db_path, tmp_path / "v", {"a.md": "[Launch post]: https://x.example.com/p\n",
                                               "b.md": "[Launch post (1/10/2020)]: https://x.example.com/p\n"})
    assert _titles(conn)["https://x.example.com/p"] == ("Launch post", "2020-01-10")


def test_show_reports_link_ids_and_conflicting_hints(tmp_path: Path, db_path: Path, cli_env: dict[str, str]
                                                     ) -> None:
    import json

    _imported(db_path, tmp_path / "v", {
        "a.md": "[Launch post (1/10/2020)]: https://x.example.com/p\n[website]: https://x.example.com/p\n",
        "b.md": "[Launch post (2021-03)]: https://x.example.com/p\n"}).close()
    run = [sys.executable, "-m", "refman", "show", "https://x.example.com/p"]
    data = json.loads(subprocess.run([*run, "--json"], env=cli_env, capture_output=True, text=True,
                                     check=True).stdout)
    assert data["issued"] == "2020-01-10"
    assert data["label_conflicts"] == {"issued": ["2020-01-10", "2021-03"]}
    assert [(m["label"], m["label_id"]) for m in data["mentions"]] == [
        ("Launch post (1/10/2020)", None), ("website", "common-word"), ("Launch post (2021-03)", None)]
    text = subprocess.run(run, env=cli_env, capture_output=True, text=True, check=True).stdout
    # piped, `show` prints one field a line (refman.cli.render.show_plain)
    assert "labels_disagree\tissued\t2020-01-10 (kept) vs 2021-03" in text
    assert "[website]\tlink id: common-word" in text


def test_a_merge_recomputes_the_label_hints_from_every_label(tmp_path: Path, db_path: Path) -> None:
    from refman.duplicates import merge_sources

    vault = tmp_path / "v"
    conn = _imported(db_path, vault, {
        "a.md": "[Launch post]: https://x.example.com/p\n",
        "b.md": "[Launch post (1/10/2020) | Example Blog]: https://x.example.com/p?page=amp\n"})
    store = SqliteStore(conn)  # until the tests of this module open a store
    ids = {url: sid for sid, url in conn.execute("SELECT id, url FROM source")}
    merge_sources(store, ids["https://x.example.com/p"], [ids["https://x.example.com/p?page=amp"]])
    assert tuple(conn.execute("SELECT title, issued, container_title FROM source").fetchone()) == (
        "Launch post", "2020-01-10", "Example Blog")
    fresh = connect(tmp_path / "fresh.db")
    (vault / "b.md").write_text("[Launch post (1/10/2020) | Example Blog]: https://x.example.com/p\n",
                                encoding="utf-8")
    import_vault(SqliteStore(fresh), [vault])
    assert _evidence(conn) == _evidence(fresh)
