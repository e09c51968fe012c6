"""Keys of sources known only by their site: personal sites under shared hosts, IP hosts; clash suffixes after a
merge (dropped by `rekey` only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from citation_helpers import add_source, catalog
from hypothesis import given
from hypothesis import strategies as st

from refman.catalog import merge_sources, set_fields
from refman.citation.item import CitationItem
from refman.citation.keys import base_key, ensure_citekeys, rekey
from refman.store.sqlite import SqliteStore


def _key(url: str, title: str | None = None) -> str:
    return base_key(CitationItem(id="x", URL=url, title=title))


@pytest.mark.parametrize("url,expected", [
    ("https://openstack-xuexi.github.io/post/1", "openstackxuexi"),
    ("https://alice.gitlab.io/notes", "alice"),
    ("https://bob.medium.com/a-post-123", "bob"),
    ("https://medium.com/@carol/a-post", "medium"),
    ("https://dave.substack.com/p/why", "dave"),
    ("https://erin.wordpress.com/2020/01/x", "erin"),
    ("https://www.frank.blogspot.com/x", "frank"),
    ("https://docs.example.co.uk/x", "example"),
    ("https://github.com/owner/repo", "github"),
])
def test_site_names(url: str, expected: str) -> None:
    assert _key(url) == expected
    assert _key(url, "Untitled Post Here").startswith(expected)


@pytest.mark.parametrize("url", ["http://192.168.1.10/page", "http://[2001:db8::1]/page", "http://10.0.0.1:8080/x",
                                 "http://localhost/x"])
def test_ip_hosts_never_give_keys(url: str) -> None:
    assert _key(url) == "ref"
    assert _key(url, "Router Admin Guide") == "routeradminguide"


@given(st.ip_addresses())
def test_no_ip_address_becomes_a_key(ip: object) -> None:
    host = f"[{ip}]" if ":" in str(ip) else str(ip)
    assert _key(f"http://{host}/p", "T") == "t"


def test_clash_suffix_is_dropped_by_rekey_only(tmp_path: Path) -> None:
    conn = catalog(tmp_path / "c.db")
    store = SqliteStore(conn)  # until the tests of this module open a store

    def source(url: str) -> int:  # fields as evidence, so that merges recompute them
        sid = add_source(conn, url)
        set_fields(store, sid, ["title=Same Title", "issued=2024", "author=Myers, A"])
        return sid

    a, b = source("https://a.example/1"), source("https://b.example/2")
    keys = ensure_citekeys(SqliteStore(conn), [a, b])
    assert keys == {a: "myers2024sametitle", b: "myers2024sametitlea"}
    c = source("https://c.example/3")
    merge_sources(SqliteStore(conn), c, [a])  # the plain key's source is merged away: its key goes to c
    assert ensure_citekeys(SqliteStore(conn), [b, c]) == {b: "myers2024sametitlea", c: "myers2024sametitle"}
    merge_sources(SqliteStore(conn), b, [c])  # now b is the only one; its suffix stays until rekey
    assert ensure_citekeys(SqliteStore(conn), [b]) == {b: "myers2024sametitlea"}
    (change,) = rekey(SqliteStore(conn), [b])
    assert (change.old, change.new) == ("myers2024sametitlea", "myers2024sametitle")
    assert ensure_citekeys(SqliteStore(conn), [b]) == {b: "myers2024sametitle"}
