"""`refman db copy` (refman.catalog_copy): a catalog copied into an empty one exports the same, and merged into one
that has some of its sources loses no mention, tag, pin or key. SQLite → SQLite always; SQLite → PostgreSQL
when a server answers (tests/pg.py)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg import fresh_catalog_database

from refman.api import Catalog
from refman.store.fetch import FetchAttempt, PackedBlob

NOTE_A = """# Databases

See [the explainer][vec] and [the paper][paper] and [the book][book].

## Ref
[👍 Vector databases explained | InfoQ]: https://www.infoq.com/articles/vector-db/
[vec]: https://example.com/vectors?utm_source=rss
> the best introduction I found

[paper]: https://example.org/paper
[book]: https://books.example.net/isbn/9780262033848
"""
NOTE_B = """# Networks

[RDMA 网络 优化 (3/4/2024)]: https://zhuanlan.zhihu.com/p/12345
[vec]: https://example.com/vectors
🔗 https://bare.example.com/page
"""
BIB = """@article{lovelace2024vector,
  title = {Vector search at scale},
  author = {Lovelace, Ada and Babbage, Charles},
  journal = {Journal of Databases},
  year = {2024},
  doi = {10.1234/jdb.2024.1},
  keywords = {databases, ml},
}
@book{knuth1997art,
  title = {The Art of Computer Programming},
  author = {Knuth, Donald},
  publisher = {Addison-Wesley},
  year = {1997},
  isbn = {978-0-201-89683-1},
}
"""


def _attempt(sid: int, body: bytes, text: str, when: str) -> FetchAttempt:
    import hashlib

    blob = PackedBlob(hash=hashlib.sha256(body).hexdigest(), codec="identity", size=len(body), data=body)
    return FetchAttempt(source_id=sid, fetched_at=when, status="ok", reason=None, failed=False, reachable=True,
                        definitive=False, blobs=[blob], content_changed=True, text=text,
                        snapshot={"outcome": "ok", "http_status": 200, "body_hash": blob.hash, "size": len(body),
                                  "content_type": "text/html"},
                        evidence=[("title", "page:citation", json.dumps(f"Page of {sid}"))], kept_origins=("user",))


def build_catalog(tmp: Path) -> Path:
    """A catalog with every kind of row a copy carries: notes and mentions (definitions, a bare line, an
    annotation), sources with URLs and without (DOI, ISBN), labels, imported fields, pins, tags, a user note,
    keys, an alias, snapshots sharing a body, archived texts and a registered export."""
    vault = tmp / "vault"
    vault.mkdir()
    (vault / "Databases.md").write_text(NOTE_A, encoding="utf-8")
    (vault / "Networks.md").write_text(NOTE_B, encoding="utf-8")
    (tmp / "refs.bib").write_text(BIB, encoding="utf-8")
    path = tmp / "personal.db"
    with Catalog.open(path) as cat:
        cat.import_paths([vault, tmp / "refs.bib"])
        added = cat.add("https://example.com/standalone", title="A page I added", tags=["later"], note="read it")
        cat.add("https://example.com/standalone-copy")
        cat.merge(added.id, ["https://example.com/standalone-copy"])  # an alias
        vec = cat.resolve("https://example.com/vectors")
        cat.tag([vec], add=["ML", "databases"])
        cat.set_fields(vec, ["title=Vector databases, explained", "issued=2024-06"])
        store = cat.store
        with store.transaction():
            store.record_fetch_attempt(_attempt(vec, b"<p>vectors</p>", "Vectors are lists.", "2026-01-01T00:00:00Z"))
            store.record_fetch_attempt(_attempt(vec, b"<p>vectors 2</p>", "Vectors, again.", "2026-01-02T00:00:00Z"))
            paper = cat.resolve("https://example.org/paper")
            store.record_fetch_attempt(_attempt(paper, b"<p>vectors</p>", "Same body.", "2026-01-01T00:00:00Z"))
        from refman.exports_registry import RegisteredExport

        cat.register_export(RegisteredExport(name="all", path=str(tmp / "all.bib"), format="biblatex",
                                             all=True))
    return path


def exports(location: Path | str) -> dict[str, str]:
    with Catalog.open(location, create=False) as cat:
        return {fmt: cat.export(fmt) for fmt in ("biblatex", "csljson")}


def table_rows(location: Path | str) -> dict[str, Any]:
    """What the catalog holds, without its ids: every mention, tag, pin, key, alias, snapshot, text, export."""
    with Catalog.open(location, create=False) as cat:
        store = cat.store
        url = store.source_urls()
        keys = store.citekeys_of(None)

        def who(sid: int) -> Any:
            return url.get(sid) or keys.get(sid)

        out: dict[str, Any] = {}
        for table in ("source", "field_value", "source_tag", "source_alias", "mention", "snapshot",
                      "source_text", "note", "blob"):
            rows = [r for chunk in store.read_copy_rows(table) for r in chunk]
            if table == "source":
                rows = [(who(r[0]), *r[1:9], *r[10:]) for r in rows]  # label_note is a note id
            elif table == "mention":
                notes = {r[0]: r[2] for chunk in store.read_copy_rows("note") for r in chunk}
                rows = [(who(r[1]), notes[r[2]], *r[3:]) for r in rows]
            elif table == "snapshot":
                rows = [(who(r[1]), *r[2:]) for r in rows]
            elif table == "source_text":
                rows = [(who(r[0]), *r[2:]) for r in rows]
            elif table == "note":
                rows = [r[1:] for r in rows]
            elif table in ("field_value", "source_tag"):
                rows = [(who(r[0]), *r[1:]) for r in rows]
            elif table == "source_alias":
                rows = [(r[0], who(r[1]), r[2]) for r in rows]
            out[table] = sorted(rows, key=repr)
        out["exports"] = sorted((r.name, r.path, r.format, r.options) for r in store.registered_exports())
    return out


@pytest.fixture
def personal(tmp_path: Path) -> Path:
    return build_catalog(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    if request.param == "sqlite":
        yield tmp_path / "team.db"
        return
    with fresh_catalog_database() as url:
        yield url


def test_a_copy_into_an_empty_catalog_exports_the_same_and_holds_every_row(
        personal: Path, empty_target: Path | str, tmp_path: Path) -> None:
    before = exports(personal)  # gives every source its key first: the copy carries the keys
    with Catalog.open(personal, create=False) as cat:
        report = cat.copy_to(empty_target)
    counts = report["counts"]
    assert counts["sources"] == {"copied": 9, "merged": 0, "skipped": 0}
    assert counts["blobs"]["copied"] == 2  # two snapshots share one body: it is copied once
    assert counts["snapshots"]["copied"] == 3 and counts["exports"]["copied"] == 1
    assert report["key_clashes"] == [] and report["pin_conflicts"] == []
    assert exports(empty_target) == before
    assert table_rows(empty_target) == table_rows(personal)
    with Catalog.open(empty_target, create=False) as team:  # foreign keys and the search index agree
        assert team.check_integrity()["ok"]
    with Catalog.open(tmp_path / "back.db") as back:  # and back again, from whichever backend
        assert back.copy_from(empty_target)["counts"]["sources"]["copied"] == 9
    assert exports(tmp_path / "back.db") == before
    assert table_rows(tmp_path / "back.db") == table_rows(personal)
    if isinstance(empty_target, str) and not _postgres_searches():
        return  # the PostgreSQL search group is not on this branch yet (pg-search)
    assert searched(empty_target, "again") == ["https://example.com/vectors"]  # the archived text is indexed
    for query in ("again", "网络", "vector", "tag:ml", "introduction", "Knuth"):
        assert searched(empty_target, query) == searched(personal, query), query


def _postgres_searches() -> bool:
    from refman.store.postgres.store import PostgresStore

    return hasattr(PostgresStore, "search_sources")


def searched(location: Path | str, query: str) -> list[str]:
    with Catalog.open(location, create=False) as cat:
        return sorted(hit.url or hit.title or "" for hit in cat.search(query))


def test_a_copy_into_a_catalog_with_the_same_sources_merges_them(personal: Path, empty_target: Path | str) -> None:
    team = empty_target
    with Catalog.open(team) as cat:
        vec = cat.add("https://example.com/vectors", tags=["team"], title="The team's title").id
        cat.store.store_citekeys([("teamkey2024", vec)])
        doi = cat.add("https://publisher.example.com/jdb/1", tags=["journal"]).id
        cat.set_fields(doi, ["doi=10.1234/JDB.2024.1"])
        other = cat.add("https://example.com/unrelated").id
        cat.store.store_citekeys([("knuth1997art", other)])  # the key of another work in the copy
    before_personal = table_rows(personal)
    with Catalog.open(personal, create=False) as cat:
        mine = cat.resolve("https://example.com/vectors")
        copied_pairs = {(e.field, e.origin) for e in cat.store.field_evidence_for([mine])[mine]}
    with Catalog.open(personal, create=False) as cat:
        report = cat.copy_to(team)
    assert report["counts"]["sources"] == {"copied": 7, "merged": 2, "skipped": 0}
    assert report["key_clashes"] == [{"source": report["key_clashes"][0]["source"], "key": "knuth1997art",
                                      "renamed": "knuth1997arta"}]
    assert report["pin_conflicts"] == [{"source": vec, "field": "title", "kept": "The team's title",
                                        "copied": "Vector databases, explained"}]
    # the personal catalog's key of the vector page (the registered export gave it one) gives way to the team's
    assert [(d["source"], d["kept"]) for d in report["dropped_keys"]] == [(vec, "teamkey2024")]
    with Catalog.open(team, create=False) as cat:
        merged = listed(cat, vec)
        assert merged["title"] == "The team's title"  # the target's pin wins
        assert merged["citekey"] == "teamkey2024"
        assert sorted(merged["tags"]) == ["databases", "ml", "team"]
        assert sorted((m["path"], m["label"]) for m in cat.store.mentions_of(vec)) == [
            ("Databases.md", "vec"), ("Networks.md", "vec")]
        assert [s["fetched_at"] for s in cat.store.snapshot_history(vec)] == [
            "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]
        fields = {(e.field, e.origin) for e in cat.store.field_evidence_for([vec])[vec]}
        assert {("title", "user"), ("issued", "user"), ("title", "page:citation")} <= fields
        assert copied_pairs <= fields
        journal = listed(cat, doi)
        assert sorted(journal["tags"]) == ["databases", "journal", "ml"]
        assert journal["citekey"] == "lovelace2024vector"  # the target source had no key: it takes the copied one
        assert journal["title"] == "Vector search at scale"  # the imported fields now tell its title
        assert cat.resolve("https://example.com/unrelated") == other
        assert listed(cat, cat.resolve("knuth1997arta"))["title"] == "The Art of Computer Programming"
    # every mention, tag, pin and key of the copied catalog is in the target (keys: or renamed)
    after = table_rows(team)
    assert set(before_personal["mention"]) <= set(after["mention"])
    assert {(t[1]) for t in before_personal["source_tag"]} <= {t[1] for t in after["source_tag"]}
    pins = {(e[1], e[3]) for e in after["field_value"] if e[2] == "user"}
    assert {(e[1], e[3]) for e in before_personal["field_value"] if e[2] == "user"} - pins == {
        ("title", '"Vector databases, explained"')}  # the one conflict, reported above
    # a second copy adds nothing new: every source merges, every snapshot and body is there already
    with Catalog.open(personal, create=False) as cat:
        again = cat.copy_to(team)
    assert again["counts"]["sources"]["copied"] == 0 and again["counts"]["snapshots"]["copied"] == 0
    assert again["counts"]["blobs"] == {"copied": 0, "merged": 0, "skipped": 2}
    assert again["counts"]["texts"] == {"copied": 0, "merged": 0, "skipped": 2}
    assert report["counts"]["texts"] == {"copied": 1, "merged": 1, "skipped": 0}  # the team had no text of either
    assert again["counts"]["mentions"]["skipped"] == before_personal["mention"].__len__()
    assert table_rows(team)["mention"] == after["mention"]
    with Catalog.open(team, create=False) as cat:  # the search index kept up with every merge
        assert cat.check_integrity()["ok"]
        assert listed(cat, vec)["id"] in {hit.id for hit in cat.search("again")}


def listed(cat: Catalog, source_id: int) -> dict[str, Any]:
    return cat.store.list_sources(ids=[source_id])[0]


def test_a_newer_copied_note_replaces_the_targets_mentions_of_it(tmp_path: Path, empty_target: Path | str) -> None:
    # both catalogs know the same note (same root and path), imported at different times
    team = empty_target
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "n.md").write_text("[a]: https://a.example.com/\n", encoding="utf-8")
    with Catalog.open(team) as cat:
        cat.import_paths([vault])
    _run_sql(team, "UPDATE note SET imported_at = '2020-01-01T00:00:00Z'")  # long ago (times are to the second)
    (vault / "n.md").write_text("[b]: https://b.example.com/\n", encoding="utf-8")
    with Catalog.open(tmp_path / "mine.db") as mine:
        mine.import_paths([vault])
        report = mine.copy_to(team)
    assert report["notes_replaced"] == [{"root": str(vault.resolve()), "path": "n.md"}]
    with Catalog.open(team, create=False) as cat:
        assert [m["label"] for m in cat.store.mentions_of(cat.resolve("https://b.example.com/"))] == ["b"]
        assert cat.store.mentions_of(cat.resolve("https://a.example.com/")) == []
        assert cat.check_integrity()["ok"]
        # the older one copied back changes nothing of that note
        back = cat.copy_to(tmp_path / "mine.db")
    assert back["notes_replaced"] == [] and back["counts"]["notes"]["skipped"] == 1


def _run_sql(location: Path | str, sql: str) -> None:
    """One write straight to a test catalog's database (test data the commands cannot make)."""
    if isinstance(location, Path):
        with sqlite3.connect(location) as conn:
            conn.execute(sql)
        conn.close()
        return
    import psycopg

    with psycopg.connect(location, autocommit=True) as pg_conn:
        pg_conn.execute(sql)  # type: ignore[arg-type]


def test_a_failed_copy_writes_nothing(personal: Path, tmp_path: Path) -> None:
    team = tmp_path / "team.db"
    with Catalog.open(team) as cat:
        cat.add("https://example.com/first")
    before = table_rows(team)
    conn = sqlite3.connect(personal)
    conn.execute("INSERT INTO mention (source_id, note_id, ordinal, line, label, kind)"
                 " VALUES (1, 9999, 0, 1, 'x', 'definition')")  # a mention of a note the copy cannot place
    conn.commit()
    conn.close()
    with Catalog.open(personal, create=False) as cat, pytest.raises(KeyError):
        cat.copy_to(team)
    assert table_rows(team) == before


def test_the_command_line_copies_both_ways_and_reports_json(personal: Path, tmp_path: Path) -> None:
    refman = str(Path(sys.executable).parent / "refman")
    team = tmp_path / "team.db"
    out = subprocess.run([refman, "--db", str(personal), "db", "copy", "--to", str(team), "--json"],
                         capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["counts"]["sources"]["copied"] == 9 and out.stderr == ""  # no progress bar in a pipe
    back = subprocess.run([refman, "--db", str(tmp_path / "back.db"), "db", "copy", "--from", str(team)],
                          capture_output=True, text=True, check=True)
    assert re.search(r"^  9 sources copied$", back.stdout, re.M), back.stdout
    assert exports(tmp_path / "back.db") == exports(personal)
    both = subprocess.run([refman, "--db", str(team), "db", "copy"], capture_output=True, text=True)
    assert both.returncode == 2 and "give one of --to" in both.stderr
    itself = subprocess.run([refman, "--db", str(team), "db", "copy", "--to", str(team)], capture_output=True,
                            text=True)
    assert itself.returncode == 2 and "into itself" in itself.stderr


def test_a_terminal_shows_a_progress_bar(personal: Path, tmp_path: Path) -> None:
    from terminal import run_on_a_terminal

    refman = str(Path(sys.executable).parent / "refman")
    proc, drawn = run_on_a_terminal([refman, "--db", str(personal), "db", "copy", "--to", str(tmp_path / "t.db")],
                                    stream="stderr")
    assert proc.returncode == 0 and b"copy" in drawn and b"rows" in drawn
    assert b"9 sources copied" in proc.stdout


def test_two_copied_sources_of_one_work_merge_into_the_same_target_source(tmp_path: Path) -> None:
    (tmp_path / "refs.bib").write_text("@article{plain2024,\n  title = {The work},\n  doi = {10.5555/work},\n"
                                       "  keywords = {bib},\n}\n", encoding="utf-8")
    with Catalog.open(tmp_path / "mine.db") as mine:
        mine.add("https://work.example/page", tags=["page"], note="the landing page")
        mine.import_paths([tmp_path / "refs.bib"])  # the same work known by its DOI only: another source here
        assert mine.count() == 2
    with Catalog.open(tmp_path / "team.db") as team:  # the team knows the page has that DOI
        work = team.add("https://work.example/page", tags=["team"], note="ours").id
        team.set_fields(work, ["doi=10.5555/work"])
    with Catalog.open(tmp_path / "mine.db", create=False) as mine:
        report = mine.copy_to(tmp_path / "team.db")
    assert report["counts"]["sources"] == {"copied": 0, "merged": 2, "skipped": 0}
    with Catalog.open(tmp_path / "team.db", create=False) as team:
        assert team.count() == 1
        merged = listed(team, work)
        assert sorted(merged["tags"]) == ["bib", "page", "team"]
        assert merged["note"] == "ours\n\nthe landing page"
        assert merged["citekey"] == "plain2024"
