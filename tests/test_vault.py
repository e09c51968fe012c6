"""Vault import: definitions → sources and mentions, incremental re-import, bad input."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from refman.notes.importer import decode_note, import_vault
from refman.store import connect
from refman.store.sqlite import SqliteStore

REF_NOTE = """# Note A

Some prose.

## Ref
[The rise of AI data infrastructure (6/24/2024)]: https://www.felicis.com/insight/ai-data-infrastructure?utm_source=x
> The quote is my note on this source.

[专家系统概述 - 小波律动的文章 - 知乎]: https://zhuanlan.zhihu.com/p/1
[chmod]: chmod.md
[mail]: mailto:a@b.org
"""

OTHER_NOTE = """# Note B

```
[not a definition]: https://example.com/in-code
```

[Rise again]: https://www.felicis.com/insight/ai-data-infrastructure#top
[Rise again]: https://example.com/duplicate-label
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    write(root / "a.md", REF_NOTE)
    write(root / "sub" / "b.md", OTHER_NOTE)
    write(root / ".obsidian" / "hidden.md", "[x]: https://hidden.example.com/\n")
    write(root / ".trash" / "old.md", "[x]: https://trash.example.com/\n")
    return root


@pytest.fixture
def conn(db_path: Path) -> sqlite3.Connection:
    return connect(db_path)


def sources(conn: sqlite3.Connection) -> dict[str, sqlite3.Row]:
    return {r["url"]: r for r in conn.execute("SELECT * FROM source")}


def test_import_builds_sources_and_mentions(vault: Path, conn: sqlite3.Connection) -> None:
    report = import_vault(SqliteStore(conn), [vault])
    assert report.notes_scanned == 2
    assert report.definitions == 3  # web definitions; the duplicate label and the fenced one do not count
    by_url = sources(conn)
    assert set(by_url) == {"https://www.felicis.com/insight/ai-data-infrastructure", "https://zhuanlan.zhihu.com/p/1"}
    felicis = by_url["https://www.felicis.com/insight/ai-data-infrastructure"]
    assert felicis["title"] == "The rise of AI data infrastructure"
    assert felicis["issued"] == "2024-06-24"
    assert felicis["url_as_written"].endswith("utm_source=x")
    mentions = conn.execute(
        "SELECT n.path, m.line, m.label, m.annotation FROM mention m JOIN note n ON n.id = m.note_id"
        " WHERE m.source_id = ? ORDER BY n.path", (felicis["id"],)
    ).fetchall()
    assert [(m[0], m[1]) for m in mentions] == [("a.md", 6), ("sub/b.md", 7)]
    assert "my note on this source" in (mentions[0][3] or "")
    zhihu = by_url["https://zhuanlan.zhihu.com/p/1"]
    assert zhihu["title"] == "专家系统概述"
    assert zhihu["container_title"] == "知乎"
    assert json.loads(zhihu["author"]) == [{"literal": "小波律动"}]
    reasons = sorted((s["url"], s["reason"]) for s in report.skipped)
    assert reasons == [("chmod.md", "relative link"), ("mailto:a@b.org", "mailto: link, not a web page")]
    assert any("duplicate" in w["message"] for w in report.warnings)
    hidden = conn.execute("SELECT count(*) FROM note WHERE path LIKE '.%'").fetchone()[0]
    assert hidden == 0


def test_reimport_unchanged_is_skipped(vault: Path, conn: sqlite3.Connection) -> None:
    import_vault(SqliteStore(conn), [vault])
    before = conn.execute("SELECT count(*) FROM mention").fetchone()[0]
    report = import_vault(SqliteStore(conn), [vault])
    assert report.notes_unchanged == 2 and report.notes_scanned == 0
    assert report.sources_new == 0
    # same content, new mtime: re-hashed but not re-scanned
    os.utime(vault / "a.md", ns=(1, 1))
    report = import_vault(SqliteStore(conn), [vault])
    assert report.notes_unchanged == 2 and report.notes_scanned == 0
    assert conn.execute("SELECT count(*) FROM mention").fetchone()[0] == before


def test_changed_note_replaces_its_mentions_and_label(vault: Path, conn: sqlite3.Connection) -> None:
    import_vault(SqliteStore(conn), [vault])
    text = REF_NOTE.replace("The rise of AI data infrastructure (6/24/2024)", "AI data infrastructure | Felicis")
    write(vault / "a.md", text + "\n[New one]: https://new.example.com/\n")
    report = import_vault(SqliteStore(conn), [vault])
    assert report.notes_scanned == 1 and report.sources_new == 1
    felicis = sources(conn)["https://www.felicis.com/insight/ai-data-infrastructure"]
    assert felicis["title"] == "AI data infrastructure"
    assert felicis["container_title"] == "Felicis"
    assert felicis["issued"] is None
    assert conn.execute("SELECT count(*) FROM mention WHERE source_id = ?", (felicis["id"],)).fetchone()[0] == 2


def test_removed_note_leaves_orphan_source(vault: Path, conn: sqlite3.Connection) -> None:
    store = SqliteStore(conn)  # until the tests of this module open a store
    import_vault(SqliteStore(conn), [vault])
    (vault / "a.md").unlink()
    report = import_vault(SqliteStore(conn), [vault])
    assert report.notes_removed == 1
    zhihu = sources(conn)["https://zhuanlan.zhihu.com/p/1"]
    assert conn.execute("SELECT count(*) FROM mention WHERE source_id = ?", (zhihu["id"],)).fetchone()[0] == 0
    from refman.catalog import list_sources

    assert [s["url"] for s in list_sources(store, orphans=True)] == ["https://zhuanlan.zhihu.com/p/1"]


def test_bad_input_is_reported_and_the_rest_goes_on(tmp_path: Path, conn: sqlite3.Connection) -> None:
    root = tmp_path / "v"
    write(root / "gb.md", "## Ref\n[中文标题：数据库与数据仓库的区别 | 知乎专栏]: https://gb.example.com/\n".encode("gb18030"))
    write(root / "latin.md", "## Ref\n[Caf\xe9 cr\xe8me \u2013 a r\xe9sum\xe9]: https://latin.example.com/\n".encode("cp1252"))
    write(root / "bom.md", b"\xef\xbb\xbf[BOM title]: https://bom.example.com/\n")
    write(root / "crlf.md", b"# T\r\n\r\n[CRLF title]: https://crlf.example.com/\r\n")
    write(root / "binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR[x]: https://binary.example.com/")
    write(root / "good.md", "[Good]: https://good.example.com/\n")
    report = import_vault(SqliteStore(conn), [root])
    urls = set(sources(conn))
    assert urls == {f"https://{h}.example.com/" for h in ("gb", "latin", "bom", "crlf", "good")}
    titles = {r["url"]: r["title"] for r in sources(conn).values()}
    assert titles["https://gb.example.com/"] == "中文标题：数据库与数据仓库的区别"
    assert titles["https://latin.example.com/"].startswith("Café crème")
    assert titles["https://bom.example.com/"] == "BOM title"
    assert titles["https://crlf.example.com/"] == "CRLF title"
    skipped = {s["path"]: s["reason"] for s in report.skipped}
    assert "binary" in skipped["binary.md"]
    warned = {w["path"] for w in report.warnings}
    assert {"gb.md", "latin.md"} <= warned
    note = conn.execute("SELECT status, reason FROM note WHERE path = 'binary.md'").fetchone()
    assert note["status"] == "skipped"


def test_missing_path_is_a_clear_error(tmp_path: Path, conn: sqlite3.Connection) -> None:
    from refman.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no such file or folder"):
        import_vault(SqliteStore(conn), [tmp_path / "nope"])


def test_same_url_twice_in_one_note_is_two_mentions(tmp_path: Path, conn: sqlite3.Connection) -> None:
    write(tmp_path / "n.md", "[A]: https://x.example.com/p\n[B]: https://X.example.com/p#frag\n")
    report = import_vault(SqliteStore(conn), [tmp_path / "n.md"])
    assert report.sources_new == 1 and report.mentions == 2


def test_decode_note_fallbacks() -> None:
    assert decode_note("héllo".encode())[1] == "utf-8"
    assert decode_note(b"\xef\xbb\xbfx")[0] == "x"
    text, _, problem = decode_note("数据仓库与数据湖的区别，以及它们在机器学习中的用途。".encode("gb18030"))
    assert text is not None and "数据仓库" in text and problem
    assert decode_note(b"a\x00b")[0] is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read unreadable files")
def test_unreadable_file_is_reported(tmp_path: Path, conn: sqlite3.Connection) -> None:
    path = write(tmp_path / "locked.md", "[A]: https://a.example.com/\n")
    path.chmod(0)
    try:
        report = import_vault(SqliteStore(conn), [tmp_path])
    finally:
        path.chmod(0o644)
    assert any("unreadable" in (s["reason"] or "") for s in report.skipped)


# --- orphans: cited once, cited no more ----------------------------------------------------------------------


def test_orphans_are_sources_notes_cited_once_and_no_longer_cite(tmp_path: Path, conn: sqlite3.Connection) -> None:
    from refman.catalog import add_source, catalog_stats, list_sources

    store = SqliteStore(conn)  # until the tests of this module open a store
    root = tmp_path / "v"
    write(root / "a.md", "[A]: https://a.example.com/\n[Hand later cited]: https://later.example.com/\n")
    by_hand, _ = add_source(store, "https://hand.example.com/", title="Never cited")
    later, _ = add_source(store, "https://later.example.com/")
    import_vault(SqliteStore(conn), [root])
    assert list_sources(store, orphans=True) == [] and catalog_stats(store)["orphans"] == 0
    write(root / "a.md", "# nothing cited any more\n")
    import_vault(SqliteStore(conn), [root])
    orphans = {s["url"]: s for s in list_sources(store, orphans=True)}
    assert set(orphans) == {"https://a.example.com/", "https://later.example.com/"}
    assert orphans["https://later.example.com/"]["added_by"] == "add"
    assert orphans["https://a.example.com/"]["added_by"] == "note"
    assert orphans["https://a.example.com/"]["first_cited_at"]
    assert by_hand not in {s["id"] for s in list_sources(store, orphans=True)}
    assert catalog_stats(store)["orphans"] == 2 and later in {s["id"] for s in orphans.values()}


def test_bibliography_sources_are_not_orphans(tmp_path: Path, conn: sqlite3.Connection) -> None:
    from refman.catalog import import_bibliographies, list_sources

    store = SqliteStore(conn)  # until the tests of this module open a store
    bib = write(tmp_path / "refs.bib", "@online{k, title={T}, url={https://bib.example.com/}}\n")
    import_bibliographies(store, [bib])
    assert [s["added_by"] for s in list_sources(store)] == ["bibliography"]
    assert list_sources(store, orphans=True) == []


# --- bare reference lines --------------------------------------------------------------------------------------


def test_bare_reference_lines_become_mentions_of_their_own_kind(tmp_path: Path, conn: sqlite3.Connection) -> None:
    from refman.catalog import list_sources, show_source

    store = SqliteStore(conn)  # until the tests of this module open a store
    write(tmp_path / "n.md", "## Intro\n> 🔗 https://en.wikipedia.org/wiki/Overlay_network\n\n"
                             "【尚硅谷-密码学\\加密算法教程】 https://www.bilibili.com/video/BV1/?vd_source=x\n\n"
                             "See https://prose.example.com/ for more\n\n[Def]: https://def.example.com/\n")
    report = import_vault(SqliteStore(conn), [tmp_path / "n.md"])
    assert (report.definitions, report.bare_references, report.mentions) == (1, 2, 3)
    items = {s["url"]: s for s in list_sources(store)}
    assert set(items) == {"https://en.wikipedia.org/wiki/Overlay_network", "https://www.bilibili.com/video/BV1/",
                          "https://def.example.com/"}
    wiki = items["https://en.wikipedia.org/wiki/Overlay_network"]
    assert wiki["title"] is None  # no title in the line: a fetch fills it
    assert wiki["mentions"] == [{"path": "n.md", "line": 2, "label": "", "kind": "bare"}]
    assert show_source(store, wiki["id"])["mentions"][0]["flag"] == "🔗"
    video = items["https://www.bilibili.com/video/BV1/"]
    assert video["title"] == "尚硅谷-密码学\\加密算法教程" and video["mentions"][0]["kind"] == "bare"
    assert video["url_as_written"].endswith("vd_source=x")
    assert items["https://def.example.com/"]["mentions"][0]["kind"] == "definition"


def test_progress_is_reported(tmp_path: Path, conn: sqlite3.Connection) -> None:
    for i in range(3):
        write(tmp_path / f"n{i}.md", f"[N{i}]: https://n{i}.example.com/\n")
    calls: list[tuple[int, int]] = []
    import_vault(SqliteStore(conn), [tmp_path], progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)
    calls.clear()
    import_vault(SqliteStore(conn), [tmp_path], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 0)]  # nothing to read


def test_a_commit_between_the_first_reads_and_the_write_lock_is_seen(tmp_path: Path, db_path: Path,
                                                                     conn: sqlite3.Connection) -> None:
    """Which notes changed is decided again under the lock when another writer committed after the first reads:
    here another import of the same vault, which runs when this one reports its first progress (0 of 2 read,
    just before it takes the lock)."""
    root = tmp_path / "v"
    write(root / "a.md", "[A title]: https://a.example.com/\n[Shared]: https://shared.example.com/\n")
    write(root / "b.md", "[B]: https://b.example.com/\n[Shared again]: https://shared.example.com/\n")
    other = SqliteStore(connect(db_path))

    def meanwhile(done: int, total: int) -> None:
        if done == 0:
            import_vault(other, [root])

    report = import_vault(SqliteStore(conn), [root], progress=meanwhile)
    other.close()
    assert report.notes_unchanged == 2 and report.notes_scanned == 0 and report.sources_new == 0
    assert conn.execute("SELECT count(*) FROM note").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM source").fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM mention").fetchone()[0] == 4


def test_imports_leave_every_reference_whole_and_foreign_keys_on(vault: Path, conn: sqlite3.Connection) -> None:
    """The import writes with foreign-key checks off (it maps every id itself): after new, changed, moved and
    removed notes, nothing points at a row that is gone, and the connection checks foreign keys again."""
    import_vault(SqliteStore(conn), [vault])
    write(vault / "a.md", REF_NOTE + "\n[New one]: https://new.example.com/\n")
    (vault / "sub" / "b.md").rename(vault / "c.md")
    import_vault(SqliteStore(conn), [vault])
    (vault / "a.md").unlink()
    report = import_vault(SqliteStore(conn), [vault])
    assert report.notes_removed == 1
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM mention m LEFT JOIN note n ON n.id = m.note_id"
                        " WHERE n.id IS NULL").fetchone()[0] == 0


def test_a_new_catalogs_label_usage_is_counted_as_the_catalog_counts_it(tmp_path: Path, db_path: Path) -> None:
    """A first import counts which labels name several pages from the mentions it holds; the count must be
    the catalog's own (store.label_usage) once they are written: same keys (case-folded, CJK and emoji
    included), same numbers, labels of one page left out."""
    from refman.notes import importer
    from refman.store import open_store

    labels = ["Docs", "Ünïcode Title", "数据 网络", "👍 Flagged", "here", "Some Title"]
    variants = [str.lower, str.upper, str.title, str]
    for n in range(4):  # each note spells the labels its own way (a label repeated in one note is a duplicate)
        lines = [f"[{variants[n](label)}]: https://example.com/{n}/{i}" for i, label in enumerate(labels)]
        lines.append(f"[Only in note {n}]: https://example.com/{n}/only")
        lines += [f"Use [{labels[0]}] and [text][{labels[4]}]."]
        write(tmp_path / "v" / f"n{n}.md", "\n".join(lines) + "\n")
    seen: list[dict[str, int]] = []
    original = importer._CatalogWriter._label_usage

    def spy(self: importer._CatalogWriter) -> dict[str, int]:
        seen.append(original(self))
        return seen[-1]

    importer._CatalogWriter._label_usage = spy  # type: ignore[method-assign]
    try:
        with open_store(db_path) as store:
            import_vault(store, [tmp_path / "v"])
            assert seen and seen[0] == store.label_usage()
            assert seen[0]["docs"] == 4 and seen[0]["数据 网络"] == 4 and "👍 flagged" in seen[0]
            assert not any(key.startswith("only in note") for key in seen[0])
    finally:
        importer._CatalogWriter._label_usage = original  # type: ignore[method-assign]


def test_a_write_that_fails_on_the_writer_thread_fails_the_whole_import(tmp_path: Path, db_path: Path) -> None:
    """Many notes are written on a writer thread while the parsed notes are prepared: an error there (here a
    trigger in the catalog refusing one mention, as a full disk or a constraint would) stops the import, which
    leaves nothing behind, no thread either, and the catalog works afterwards."""
    import threading

    from refman.notes.importer import _POOL_THRESHOLD
    from refman.store import open_store

    notes = _POOL_THRESHOLD + 200  # enough for the parser pool and the writer thread
    for n in range(notes):
        label = "boom" if n == notes - 150 else f"Page {n}"
        write(tmp_path / "v" / f"n{n:04}.md", f"[{label}]: https://example.com/{n}\n[Shared]: https://example.com/s\n")
    with open_store(db_path) as store:
        store.conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON mention WHEN new.label = 'boom'"
                           " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        threads = threading.active_count()
        with pytest.raises(Exception, match="refused by the test"):
            import_vault(store, [tmp_path / "v"])
        assert threading.active_count() == threads
        assert store.conn.execute("SELECT count(*) FROM note").fetchone()[0] == 0
        assert store.conn.execute("SELECT count(*) FROM source").fetchone()[0] == 0
        store.conn.execute("DROP TRIGGER refuse")
        report = import_vault(store, [tmp_path / "v"])
    assert report.notes_scanned == notes and report.mentions == 2 * notes
