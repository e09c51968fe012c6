"""Citation keys: the default pattern, uniqueness, stability, rekey and pinning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from citation_helpers import add_source, catalog, sample_catalog

from refman.catalog import add_source as catalog_add_source
from refman.catalog import set_fields
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
from refman.evidence import refresh_sources
from refman.references import resolve_source
from refman.store.sources import NewEvidence
from refman.store.sqlite import SqliteStore


def item(**kw) -> CitationItem:  # type: ignore[no-untyped-def]
    return CitationItem(id="x", URL=kw.pop("URL", "https://www.example.com/a"), **kw)


def fetched_source(store: SqliteStore, url: str, **fields: Any) -> int:
    """A source whose metadata came from its page (evidence of origin page:citation, merged into its columns)."""
    sid, created = catalog_add_source(store, url)
    assert created
    store.put_field_evidence([NewEvidence(sid, name, "page:citation", value, "2024-01-01T00:00:00Z")
                              for name, value in fields.items()])
    refresh_sources(store, [sid])
    return sid


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
    keys = ensure_citekeys(SqliteStore(conn))
    assert keys[1] == "myers2024riseaidata"
    assert len({k.lower() for k in keys.values()}) == len(keys)
    # metadata changes (a fetch) never change a stored key
    set_fields(SqliteStore(conn), 1, ["title=Something Else", "issued=1999"])
    assert ensure_citekeys(SqliteStore(conn), [1]) == {1: "myers2024riseaidata"}


def test_clashing_source_gets_suffix_and_old_key_stays(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="The Rise of AI Data Infrastructure", issued="2024",
                   author=[{"family": "Myers"}])
    assert ensure_citekeys(SqliteStore(conn), [a])[a] == "myers2024riseaidata"
    b = add_source(conn, "https://a.example/2", title="Rise of AI data infrastructure!", issued="2024-01",
                   author=[{"family": "MYERS"}])
    assert ensure_citekeys(SqliteStore(conn))[b] == "myers2024riseaidataa"
    assert ensure_citekeys(SqliteStore(conn), [a])[a] == "myers2024riseaidata"


def test_case_insensitive_uniqueness_against_pinned(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="x")
    pin_citekey(SqliteStore(conn), a, "Myers2024RiseAIData")
    b = add_source(conn, "https://a.example/2", title="Rise AI Data", issued="2024", author=[{"family": "Myers"}])
    assert ensure_citekeys(SqliteStore(conn), [b])[b] == "myers2024riseaidataa"


def test_pin_validation(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="x")
    b = add_source(conn, "https://a.example/2", title="y")
    assert pin_citekey(SqliteStore(conn), a, "smith:2024") == "smith:2024"
    for bad in ("", "has space", "naïve", "a{b}", "12345", "a,b", "%x", "a/b"):
        with pytest.raises(UsageError):
            pin_citekey(SqliteStore(conn), b, bad)
    with pytest.raises(UsageError):
        pin_citekey(SqliteStore(conn), b, "SMITH:2024")  # taken, case-insensitively
    with pytest.raises(NotFoundError):
        pin_citekey(SqliteStore(conn), 999, "free")
    assert pin_citekey(SqliteStore(conn), a, "Smith:2024") == "Smith:2024"  # re-pinning its own key in another case
    assert not citekey_is_free(SqliteStore(conn), "SMITH:2024") and citekey_is_free(SqliteStore(conn), "smith:2024", a)
    assert citekey_is_free(SqliteStore(conn), "other2024") and not citekey_is_free(SqliteStore(conn), "bad key")


def test_stored_key_survives_algorithm_change(tmp_path: Path) -> None:
    """An upgrade that changes the default pattern must not touch keys already given out."""
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="Old Style", issued="2020", author=[{"family": "Lee"}])
    SqliteStore(conn).store_citekey(a, "Lee_2020_OldStyle")  # given out by an older default pattern
    assert ensure_citekeys(SqliteStore(conn))[a] == "Lee_2020_OldStyle"


def test_rekey_only_when_asked(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = fetched_source(SqliteStore(conn), "https://a.example/1", title="Old Title", issued="2020",
                       author=[{"family": "Lee"}])
    ensure_citekeys(SqliteStore(conn))
    set_fields(SqliteStore(conn), a, ["title=New Title"])
    assert ensure_citekeys(SqliteStore(conn))[a] == "lee2020oldtitle"
    dry = rekey(SqliteStore(conn), [a], dry_run=True)
    assert [(r.old, r.new) for r in dry] == [("lee2020oldtitle", "lee2020newtitle")]
    assert ensure_citekeys(SqliteStore(conn))[a] == "lee2020oldtitle"
    rekey(SqliteStore(conn), [a])
    assert ensure_citekeys(SqliteStore(conn))[a] == "lee2020newtitle"
    # a second rekey is a no-op: a key that is already the default stays
    assert not any(r.changed for r in rekey(SqliteStore(conn), None))


def test_rekey_swap_does_not_trip_unique(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="One", issued="2020", author=[{"family": "Lee"}])
    b = add_source(conn, "https://a.example/2", title="Two", issued="2020", author=[{"family": "Lee"}])
    pin_citekey(SqliteStore(conn), a, "lee2020two")
    pin_citekey(SqliteStore(conn), b, "lee2020one")
    results = {r.source_id: r.new for r in rekey(SqliteStore(conn), [a, b])}
    assert results == {a: "lee2020one", b: "lee2020two"}


def test_resolve_by_id_key_url(tmp_path: Path) -> None:
    conn = sample_catalog(tmp_path / "c.db")
    ensure_citekeys(SqliteStore(conn))
    assert resolve_source(SqliteStore(conn), "1") == 1
    assert resolve_source(SqliteStore(conn), "MYERS2024riseaidata") == 1
    assert resolve_source(SqliteStore(conn), "https://www.felicis.com/insight/ai-data-infrastructure") == 1
    with pytest.raises(NotFoundError):
        resolve_source(SqliteStore(conn), "nosuchkey")


# ---- transactions: catalog.transaction joins an open one ------------------------------------------------------


def test_transaction_commits_or_rolls_back_on_its_own(tmp_path: Path) -> None:
    from refman.store.sqlite.base import transaction

    conn = catalog(tmp_path / "c.db")
    with transaction(conn):
        add_source(conn, "https://a.example/kept", title="Kept")
    assert not conn.in_transaction
    with pytest.raises(RuntimeError), transaction(conn):
        add_source(conn, "https://a.example/dropped", title="Dropped")
        raise RuntimeError("boom")
    assert not conn.in_transaction
    assert [r[0] for r in conn.execute("SELECT title FROM source")] == ["Kept"]


def test_transaction_joins_the_callers_transaction(tmp_path: Path) -> None:
    from refman.store.sqlite.base import transaction

    conn = catalog(tmp_path / "c.db")
    other = catalog(tmp_path / "c.db")
    conn.execute("BEGIN IMMEDIATE")
    a = add_source(conn, "https://a.example/1", title="Outer")
    with transaction(conn):  # no BEGIN (that would fail: a transaction is open) and no COMMIT
        add_source(conn, "https://a.example/2", title="Inner")
    assert conn.in_transaction
    assert other.execute("SELECT count(*) FROM source").fetchone()[0] == 0  # nothing committed yet
    # an error inside a joined block undoes that block's writes only, and reaches the caller
    with pytest.raises(RuntimeError), transaction(conn):
        add_source(conn, "https://a.example/3", title="Failed")
        raise RuntimeError("boom")
    assert conn.in_transaction
    # ensure_citekeys joins too: its keys land (or not) with the caller's transaction
    assert ensure_citekeys(SqliteStore(conn), [a]) == {a: "aouter"}
    assert conn.in_transaction and other.execute("SELECT count(*) FROM source").fetchone()[0] == 0
    conn.execute("COMMIT")
    assert [tuple(r) for r in other.execute("SELECT title, citekey FROM source ORDER BY id")] == [
        ("Outer", "aouter"), ("Inner", None)]


def test_callers_rollback_undoes_joined_keys(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = add_source(conn, "https://a.example/1", title="One")
    conn.execute("BEGIN IMMEDIATE")
    assert ensure_citekeys(SqliteStore(conn))[a] == "aone"
    rekey(SqliteStore(conn), [a])
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT citekey FROM source").fetchone()[0] is None


def test_ensure_citekeys_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error part-way (here in the third page of 2,000 keyless sources) stores no key at all."""
    import refman.citation.keys as keys_mod

    conn = catalog(tmp_path / "c.db")
    store = SqliteStore(conn)
    with store.transaction():
        for i in range(4500):
            store.insert_source(f"https://e.example/{i}", f"https://e.example/{i}", "e", "", added_by="note",
                                fields={"title": f"Title {i}"})
    real, calls = keys_mod.unique_key, []

    def failing(base: str, taken: set[str]) -> str:
        calls.append(base)
        if len(calls) == 4200:
            raise RuntimeError("boom")
        return real(base, taken)

    monkeypatch.setattr(keys_mod, "unique_key", failing)
    with pytest.raises(RuntimeError):
        ensure_citekeys(SqliteStore(conn))
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM source WHERE citekey IS NOT NULL").fetchone()[0] == 0
    monkeypatch.setattr(keys_mod, "unique_key", real)
    keys = ensure_citekeys(SqliteStore(conn))
    assert len(keys) == 4500 and keys[1] == "etitle0" and keys[4500] == "etitle4499"


def test_rekey_dry_run_writes_nothing(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    a = fetched_source(SqliteStore(conn), "https://a.example/1", title="Old Title", issued="2020",
                       author=[{"family": "Lee"}])
    ensure_citekeys(SqliteStore(conn))
    set_fields(SqliteStore(conn), a, ["title=New Title"])
    before = conn.total_changes
    assert [r.new for r in rekey(SqliteStore(conn), None, dry_run=True)] == ["lee2020newtitle"]
    assert conn.total_changes == before and not conn.in_transaction
    assert conn.execute("SELECT citekey FROM source").fetchone()[0] == "lee2020oldtitle"


def test_key_from_row_equals_key_from_item(tmp_path: Path) -> None:
    """ensure_citekeys computes keys from a few columns (KeySource), not from built items: same keys."""
    from refman.citation.build import item_from_row, key_source_from_row

    conn = sample_catalog(tmp_path / "c.db")
    add_source(conn, "https://a.example/odd", title="  Spaced  ", issued="2024-13-40", publisher=" ",
               author=[{"given": "Mononym"}, {"family": "Second"}])
    add_source(conn, "https://a.example/junk", title="Junk Authors", author=["", 3, {"family": ""}])
    store = SqliteStore(conn)
    full = {r[0]: item_from_row(r) for r in store.citation_rows(None, ()).sources}
    light = {r[0]: key_source_from_row(r) for page in store.keyless_key_rows(None) for r in page}
    assert len(light) == len(full) == 13
    assert {sid: base_key(it) for sid, it in full.items()} == {sid: base_key(ks) for sid, ks in light.items()}
