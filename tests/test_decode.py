"""Decoding notes that are not UTF-8: a BOM decides, plausible East Asian text wins, a doubtful guess is a skip."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refman.notes.decode import decode_note
from refman.notes.importer import import_vault
from refman.store import connect
from refman.store.sqlite import SqliteStore

ZH = "# 数据仓库\n\n数据仓库与数据湖的区别，以及它们在机器学习中的用途。我们在这里讨论存储和计算的分离。\n\n"
ZH_TW = "# 資料倉庫\n\n資料倉庫與資料湖的區別，以及它們在機器學習中的用途。我們在這裡討論儲存和計算的分離。\n\n"
JA = ("# データベース\n\nこれはデータベースについての説明です。"
      "私たちはここでストレージと計算の分離について議論します。\n\n")
KO = "# 데이터베이스\n\n데이터 웨어하우스와 데이터 레이크의 차이점, 그리고 머신러닝에서의 용도를 설명합니다.\n\n"
LATIN = "# Übersicht\n\nDie Straße führt zum Café. « Voilà » — c'était très naïf, señor. Größe: 5 €.\n\n"

CASES = [
    ("gbk", "[网络虚拟化简介 | 博客园]: https://www.cnblogs.com/x\n", "gb18030"),
    ("gbk", ZH * 4 + "[数据库与数据仓库的区别 - 知乎]: https://zhuanlan.zhihu.com/p/1\n", "gb18030"),
    ("big5", "[網路虛擬化簡介 | 部落格]: https://example.tw/x\n", "big5"),
    ("big5", ZH_TW * 4 + "[資料倉庫]: https://example.tw/y\n", "big5"),
    ("shift_jis", "[ネットワーク仮想化の紹介]: https://example.jp/x\n", "cp932"),
    ("shift_jis", JA * 4 + "[データベース入門]: https://example.jp/y\n", "cp932"),
    ("euc_jp", JA * 4 + "[データベース入門]: https://example.jp/y\n", "euc_jp"),
    ("euc_kr", "[네트워크 가상화 소개]: https://example.kr/x\n", "cp949"),
    ("euc_kr", KO * 4 + "[데이터베이스 입문]: https://example.kr/y\n", "cp949"),
    ("cp1252", "[Café résumé – naïve]: https://example.fr/x\n", "cp1252"),
    ("cp1252", LATIN * 4 + "[Größe und Straße]: https://example.de/y\n", "cp1252"),
]


@pytest.mark.parametrize(("codec", "text", "expected"), CASES)
def test_legacy_encodings_short_and_long(codec: str, text: str, expected: str) -> None:
    decoded, encoding, problem = decode_note(text.encode(codec))
    assert (decoded, encoding) == (text, expected)
    assert problem == f"not valid UTF-8; decoded as {expected}"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be", "utf-8-sig"])
@pytest.mark.parametrize("text", ["[数据 | 知乎]: https://zhuanlan.zhihu.com/p/2\n", "[T]: https://e.com/\n"])
def test_a_byte_order_mark_decides(codec: str, text: str) -> None:
    bom = "" if codec in ("utf-16", "utf-32", "utf-8-sig") else "\ufeff"
    decoded, encoding, problem = decode_note((bom + text).encode(codec))
    assert decoded == text and problem is None and encoding is not None


def test_doubtful_bytes_are_skipped_not_stored_as_mojibake() -> None:
    text, encoding, problem = decode_note(bytes(range(0x80, 0x100)) * 2)
    assert text is None and encoding is None
    assert problem is not None and "save the note as UTF-8" in problem
    assert decode_note(b"a\x00b")[0] is None


@given(st.binary(max_size=300))
def test_decode_never_fails_and_never_invents_replacement_characters(data: bytes) -> None:
    text, encoding, problem = decode_note(data)
    if text is not None and encoding not in ("utf-8-sig", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        assert "\ufffd" not in text or "\ufffd" in data.decode("utf-8", errors="ignore")
    if text is None:
        assert problem


def test_import_of_legacy_and_undecodable_notes(tmp_path: Path, db_path: Path) -> None:
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "gbk.md").write_bytes("[网络虚拟化简介 | 博客园]: https://www.cnblogs.com/x\n".encode("gbk"))
    (vault / "utf16.md").write_bytes("[Unicode note | Example]: https://example.com/u\n".encode("utf-16"))
    (vault / "junk.md").write_bytes(b"[x]: https://example.com/junk " + bytes(range(0x80, 0x100)) * 2)
    conn: sqlite3.Connection = connect(db_path)
    report = import_vault(SqliteStore(conn), [vault])
    titles = dict(conn.execute("SELECT url, title FROM source").fetchall())
    assert titles == {"https://www.cnblogs.com/x": "网络虚拟化简介", "https://example.com/u": "Unicode note"}
    assert conn.execute("SELECT container_title FROM source WHERE url = 'https://www.cnblogs.com/x'"
                        ).fetchone()[0] == "博客园"
    skipped = [s for s in report.skipped if s["path"] == "junk.md"]
    assert len(skipped) == 1 and "cannot be told" in skipped[0]["reason"]
    notes = dict(conn.execute("SELECT path, status FROM note").fetchall())
    assert notes == {"gbk.md": "ok", "utf16.md": "ok", "junk.md": "skipped"}
