"""Citation keys: the default pattern, uniqueness, stability, rekey and pinning."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_citation_helpers import add_source, catalog, sample_catalog

from refman.catalog import resolve_source
from refman.citation.item import CitationItem, CSLName
from refman.citation.keys import (
    base_key,
    citekey_is_free,
    ensure_citekeys,
    pin_citekey,
    rekey,
    suffixes,
    unique_key,
)
from refman.errors import NotFoundError, UsageError


def item(**kw) -> CitationItem:  # type: ignore[no-untyped-def]
    return CitationItem(id="x", URL=kw.pop("URL", "https://www.example.com/a"), **kw)


def test_default_pattern() -> None:
    it = item(title="The Rise of AI Data Infrastructure", issued="2024-06-24", author=[CSLName(family="Myers")])
    assert base_key(it) == "myers2024riseaidata"


def test_accents_org_host_and_no_year() -> None:
    assert base_key(item(title="Café", author=[CSLName(family="Müller")])) == "mullercafe"
    assert base_key(item(title="Deep Dive", author=[CSLName(literal="The Intel Capital")])) == "inteldeepdive"
    assert base_key(item(title="On GPUs", publisher="NVIDIA Corp")) == "nvidiagpus"
    assert base_key(item(title="x", URL="https://www.nytimes.com/a")) == "nytimesx"
    assert base_key(item(URL="https://bbc.co.uk/a")) == "bbc"


def test_chinese_is_pinyin_and_short() -> None:
    key = base_key(item(title="数据库与数据仓库的区别与联系", issued="2023", author=[CSLName(family="张", given="三")]))
    assert key == "zhang2023shujukuyu"
    long = base_key(item(title="一二三四五六七八九十" * 3, author=[CSLName(literal="中华人民共和国国家统计局")]))
    assert long.isascii() and len(long) <= 30


def test_length_cut_at_word_boundary() -> None:
    key = base_key(item(title="A Journal Article Extraordinaire", issued="2022",
                        author=[CSLName(family="García Márquez")]))
    assert key == "garciamarquez2022journal"


def test_suffix_sequence() -> None:
    gen = suffixes()
    seq = [next(gen) for _ in range(29)]
    assert seq[:3] == ["", "a", "b"] and seq[26] == "z" and seq[27] == "aa" and seq[28] == "ab"
    taken = {"k", "ka"}
    assert unique_key("K", taken) == "Kb"


def test_ensure_assigns_once_and_keeps_keys(tmp_path: Path) -> None:
    conn = sample_catalog(tmp_path / "c.db")
    keys = ensure_citekeys(conn)
    assert keys[1] == "myers2024riseaidata"
    assert len({k.lower() for k in keys.values()}) == len(keys)
    # metadata changes (a fetch) never change a stored key
    conn.execute("UPDATE source SET title = 'Something Else', issued = '1999' WHERE id = 1")
    assert ensure_citekeys(conn, [1]) == {1: "myers2024riseaidata"}


def test_clashing_source_gets_suffix_and_old_key_stays(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="The Rise of AI Data Infrastructure", issued="2024",
                   author=[{"family": "Myers"}])
    assert ensure_citekeys(conn, [a])[a] == "myers2024riseaidata"
    b = add_source(conn, "https://a.example/2", title="Rise of AI data infrastructure!", issued="2024-01",
                   author=[{"family": "MYERS"}])
    assert ensure_citekeys(conn)[b] == "myers2024riseaidataa"
    assert ensure_citekeys(conn, [a])[a] == "myers2024riseaidata"


def test_case_insensitive_uniqueness_against_pinned(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="x")
    pin_citekey(conn, a, "Myers2024RiseAIData")
    b = add_source(conn, "https://a.example/2", title="Rise AI Data", issued="2024", author=[{"family": "Myers"}])
    assert ensure_citekeys(conn, [b])[b] == "myers2024riseaidataa"


def test_pin_validation(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="x")
    b = add_source(conn, "https://a.example/2", title="y")
    assert pin_citekey(conn, a, "smith:2024") == "smith:2024"
    for bad in ("", "has space", "naïve", "a{b}", "12345", "a,b", "%x", "a/b"):
        with pytest.raises(UsageError):
            pin_citekey(conn, b, bad)
    with pytest.raises(UsageError):
        pin_citekey(conn, b, "SMITH:2024")  # taken, case-insensitively
    with pytest.raises(NotFoundError):
        pin_citekey(conn, 999, "free")
    assert pin_citekey(conn, a, "Smith:2024") == "Smith:2024"  # re-pinning its own key in another case
    assert not citekey_is_free(conn, "SMITH:2024") and citekey_is_free(conn, "smith:2024", a)
    assert citekey_is_free(conn, "other2024") and not citekey_is_free(conn, "bad key")


def test_stored_key_survives_algorithm_change(tmp_path: Path) -> None:
    """An upgrade that changes the default pattern must not touch keys already given out."""
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="Old Style", issued="2020", author=[{"family": "Lee"}])
    conn.execute("UPDATE source SET citekey = 'Lee_2020_OldStyle' WHERE id = ?", (a,))
    assert ensure_citekeys(conn)[a] == "Lee_2020_OldStyle"


def test_rekey_only_when_asked(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="Old Title", issued="2020", author=[{"family": "Lee"}])
    ensure_citekeys(conn)
    conn.execute("UPDATE source SET title = 'New Title' WHERE id = ?", (a,))
    assert ensure_citekeys(conn)[a] == "lee2020oldtitle"
    dry = rekey(conn, [a], dry_run=True)
    assert [(r.old, r.new) for r in dry] == [("lee2020oldtitle", "lee2020newtitle")]
    assert ensure_citekeys(conn)[a] == "lee2020oldtitle"
    rekey(conn, [a])
    assert ensure_citekeys(conn)[a] == "lee2020newtitle"
    # a second rekey is a no-op: a key that is already the default stays
    assert not any(r.changed for r in rekey(conn, None))


def test_rekey_swap_does_not_trip_unique(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="One", issued="2020", author=[{"family": "Lee"}])
    b = add_source(conn, "https://a.example/2", title="Two", issued="2020", author=[{"family": "Lee"}])
    pin_citekey(conn, a, "lee2020two")
    pin_citekey(conn, b, "lee2020one")
    results = {r.source_id: r.new for r in rekey(conn, [a, b])}
    assert results == {a: "lee2020one", b: "lee2020two"}


def test_resolve_by_id_key_url(tmp_path: Path) -> None:
    conn = sample_catalog(tmp_path / "c.db")
    ensure_citekeys(conn)
    assert resolve_source(conn, "1") == 1
    assert resolve_source(conn, "MYERS2024riseaidata") == 1
    assert resolve_source(conn, "https://www.felicis.com/insight/ai-data-infrastructure") == 1
    with pytest.raises(NotFoundError):
        resolve_source(conn, "nosuchkey")
