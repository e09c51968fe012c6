"""An import leaves the search index exactly as `refman db reindex` would build it, and the cached citation
columns exactly as a merge of the stored evidence would: on a first import, through the process pool, and
after re-imports that edit, add and remove notes around sources that carry tags and notes of their own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from catalog_checks import assert_index_and_columns_are_exact, index_rows

from refman.catalog import add_source, tag_sources
from refman.notes import importer
from refman.notes.importer import import_vault
from refman.store import connect
from refman.store.sqlite import SqliteStore

NOTES = {
    "zh/数据.md": """# 数据

[数据库与数据仓库的区别 - 小波律动的文章 - 知乎]: https://zhuanlan.zhihu.com/p/1?utm_source=x
> 我的笔记：数据仓库适合分析。

[RDMA 网络 | SDNLAB]: https://www.sdnlab.com/rdma.html
[The rise of AI data infrastructure (6/24/2024)]: https://www.felicis.com/insight/ai-data-infrastructure
""",
    "en/infra.md": """# Infra

> 🔗 https://en.wikipedia.org/wiki/Overlay_network

【尚硅谷-网络安全之密码学，信息安全\\加密算法教程】 https://www.bilibili.com/video/BV1tz4y197hm/?vd_source=1

[Felicis again]: https://www.felicis.com/insight/ai-data-infrastructure#top
[👍 Overlay networks explained]: https://en.wikipedia.org/wiki/Overlay_network "a title"
- my point about overlays
""",
    "en/late.md": """# Late

🏠 https://late.example.com/home

[Late label (2023)]: https://late.example.com/home
""",
}


def write_vault(root: Path, notes: dict[str, str]) -> None:
    for rel, text in notes.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")




@pytest.fixture(params=["serial", "pool"])
def conn(request: pytest.FixtureRequest, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> sqlite3.Connection:
    if request.param == "pool":
        monkeypatch.setattr(importer, "_POOL_THRESHOLD", 1)
    return connect(db_path)


def test_first_import(tmp_path: Path, conn: sqlite3.Connection) -> None:
    write_vault(tmp_path, NOTES)
    report = import_vault(SqliteStore(conn), [tmp_path])
    assert report.definitions == 6 and report.bare_references == 3 and report.sources_new == 6
    assert_index_and_columns_are_exact(conn)
    late = conn.execute("SELECT title, issued FROM source WHERE host = 'late.example.com'").fetchone()
    assert tuple(late) == ("Late label", "2023")  # the definition spoke, not 🏠


def test_reimports_keep_the_index_exact(tmp_path: Path, conn: sqlite3.Connection) -> None:
    store = SqliteStore(conn)  # until the tests of this module open a store
    write_vault(tmp_path, NOTES)
    import_vault(SqliteStore(conn), [tmp_path])
    sid, _ = add_source(store, "https://www.sdnlab.com/rdma.html", note="用户笔记 about RDMA")
    tag_sources(store, [sid], add=["网络", "rdma"])
    added, _ = add_source(store, "https://hand.example.com/", title="By hand")
    assert index_rows(conn)  # triggers kept these in sync
    # edit the label note of felicis, cite the hand-added source, drop a note, add a note
    write_vault(tmp_path, {
        "en/infra.md": NOTES["en/infra.md"].replace("[Felicis again]", "[AI data infrastructure | Felicis]"),
        "zh/数据.md": NOTES["zh/数据.md"].replace("[RDMA 网络 |", "[RDMA 网络指南 |") + "\n[手工]: https://hand.example.com/\n",
        "en/new.md": "[RDMA 再次]: https://www.sdnlab.com/rdma.html\n\nhttps://new.example.com/page\n",
    })
    (tmp_path / "en" / "late.md").unlink()
    report = import_vault(SqliteStore(conn), [tmp_path])
    assert report.notes_removed == 1 and report.sources_new == 1
    assert_index_and_columns_are_exact(conn)
    felicis = conn.execute("SELECT title, container_title, issued FROM source WHERE host = 'felicis.com'").fetchone()
    # every label counts: the fuller labels tie, en/infra.md comes first; the date comes from zh/数据.md
    assert tuple(felicis) == ("AI data infrastructure", "Felicis", "2024-06-24")
    hand = conn.execute("SELECT title, added_by, first_cited_at IS NOT NULL FROM source WHERE id = ?",
                        (added,)).fetchone()
    assert tuple(hand) == ("By hand", "add", 1)  # the pinned title stays; now cited by a note
    # en/new.md's bare label [RDMA 再次] comes first, but the fuller label (it names the site) gives the title
    rdma = conn.execute("SELECT title, container_title FROM source WHERE url = 'https://www.sdnlab.com/rdma.html'"
                        ).fetchone()
    assert tuple(rdma) == ("RDMA 网络指南", "SDNLAB")
    # unchanged re-import: nothing written, index still exact
    again = import_vault(SqliteStore(conn), [tmp_path])
    assert again.notes_scanned == 0
    assert_index_and_columns_are_exact(conn)


def test_stale_index_row_above_every_source_is_replaced(tmp_path: Path, conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO search_fts(rowid, title, notes) VALUES (1, 'stale', 'stale')")
    write_vault(tmp_path, NOTES)
    import_vault(SqliteStore(conn), [tmp_path])
    assert_index_and_columns_are_exact(conn)
    assert not conn.execute("SELECT 1 FROM search_fts WHERE search_fts MATCH 'stale'").fetchall()
