"""Bibliography import: the BibTeX parser, encodings, CSL-JSON dates and types, RIS, bookmarks, works without a
URL in the catalog (identity, `refman set ID url=…`, never fetched) and the `refman import` CLI on bad files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli_catalog import no_traceback, run

from refman.catalog import import_bibliographies, set_fields
from refman.citation.bibliography_reader import decode_file, load_bibliography
from refman.citation.bibparse import parse_bib
from refman.citation.export import render_export, selected_items
from refman.citation.fields import clean_doi, csl_date_to_iso, edtf_date, isbn13
from refman.citation.selection import Selection
from refman.errors import UsageError
from refman.fetch.pipeline import select_source_ids
from refman.references import resolve_source
from refman.store import connect, open_store
from refman.store.sqlite import SqliteStore

ZOTERO_BIB = r"""@string{jgr = "J. Geophys. " # "Res."}
@article{leinaas1977,
  author = {Leinaas, J. M. and Myrheim, J.},
  title = {On the theory of identical particles},
  journal = {Il Nuovo Cimento B},
  volume = {37}, number = {1}, pages = {1--23},
  year = {1977}, month = jan,
  doi = {http://dx.doi.org/10.1007/BF02727953},
  issn = {1826-9877},
  shortjournal = {Nuovo Cim B},
  urldate = {2024-05-01},
}
@book{knuth,
  author = {Knuth, Donald E.},
  title = {The {\TeX}book: $\beta$ and {\textmu}},
  publisher = {Addison-Wesley}, address = {Reading, MA}, edition = {2},
  year = {1984}, isbn = {0-201-13447-0},
  file = {:knuth.pdf:PDF},
}
@inproceedings{dourish,
  author = {Paul Dourish and Kari
   Nies and others},
  title = {Something},
  booktitle = jgr,
  year = {1982--1983},
  url = {https://example.org/a?b=1\&c=2},
  Author-Email = {a@b},
  Author-Email = {c@d},
}
@misc{,
  title = {Keyless one},
}
@misc{,
  title = {Keyless two},
  doi = {doi:10.5555/ABC.Def},
}
@report{nber,
  author = {Smith, A.},
  title = {A Working Paper},
  institution = {NBER},
  number = {w1234},
  date = {2020},
}
"""


def _bib(tmp_path: Path, text: str, name: str = "refs.bib") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bibtex_classes_of_input(tmp_path: Path) -> None:
    bib = load_bibliography(_bib(tmp_path, ZOTERO_BIB))
    by_title = {e["title"]: e for e in bib.entries}
    assert len(bib.entries) == 6  # both keyless entries are there
    leinaas = by_title["On the theory of identical particles"]
    assert (leinaas["volume"], leinaas["issue"], leinaas["page"]) == ("37", "1", "1-23")
    assert leinaas["doi"] == "10.1007/BF02727953" and leinaas["issued"] == "1977-01"
    assert leinaas["accessed"] == "2024-05-01"
    assert leinaas["more"] == {"ISSN": "1826-9877", "container-title-short": "Nuovo Cim B"}
    knuth = by_title["The TeXbook: β and µ"]
    assert knuth["isbn"] == "9780201134476" and knuth["url"] is None and knuth["type"] == "book"
    assert knuth["more"]["publisher-place"] == "Reading, MA" and knuth["more"]["edition"] == "2"
    assert knuth["verbatim"]["bib"]["fields"] == [["file", ":knuth.pdf:PDF"]]
    assert knuth["verbatim"]["bib"]["as"] == {"publisher": "publisher", "publisher-place": "address"}
    dourish = by_title["Something"]
    assert dourish["author"] == [{"family": "Dourish", "given": "Paul"}, {"family": "Nies", "given": "Kari"},
                                 {"literal": "et al."}]
    assert dourish["container_title"] == "J. Geophys. Res." and dourish["issued"] == "1982/1983"
    assert dourish["url"] == "https://example.org/a?b=1&c=2"
    assert dourish["verbatim"]["bib"]["fields"] == [["author-email", "a@b"]]
    assert dourish["verbatim"]["bib"]["repeated"] == [["author-email", "c@d"]]
    assert by_title["Keyless two"]["doi"] == "10.5555/ABC.Def"  # the case as given
    nber = by_title["A Working Paper"]
    assert nber["type"] == "report" and nber["more"]["number"] == "w1234" and nber["publisher"] == "NBER"
    messages = [w["message"] for w in bib.warnings]
    assert any("'author-email' given more than once" in m for m in messages)


def test_syntax_errors_are_reported_with_their_line_and_the_rest_is_read(tmp_path: Path) -> None:
    text = "@article{ok1, title = {One}}\n\n@article{broken,\n  title = {Two\n  year = 2000,\n}\n" \
           "@article{ok2, title = {Three}, title = {Again}}\n@article{ok1, title = {Dup key}}\n"
    bib = load_bibliography(_bib(tmp_path, text))
    assert [e["title"] for e in bib.entries] == ["One", "Three", "Dup key"]
    assert [(w["line"], w["message"]) for w in bib.warnings] == [
        (7, "expected ',' or '}' after field 'title' (missing comma?) (entry at line 3 skipped)"),
        (7, "ok2: field 'title' given more than once (all kept)"),
        (8, "duplicate key 'ok1' (first at line 1): imported as another entry with a new key")]
    with pytest.raises(UsageError, match=r"refs\.bib:2: unbalanced braces"):
        load_bibliography(_bib(tmp_path, "@article{x,\n  title = {never closed\n"))


def test_encodings(tmp_path: Path) -> None:
    entry = "@article{k, title = {Caf\u00e9 \u2014 Stra\u00dfe}}\n"
    cp1252 = tmp_path / "win.bib"
    cp1252.write_bytes(b"% Encoding: windows-1252\n" + entry.encode("cp1252"))
    latin1 = tmp_path / "latin.bib"
    latin1.write_bytes("@article{k, title = {Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00e0 la fa\u00e7on}}\n"
                       .encode("latin-1"))
    utf16 = tmp_path / "u16.bib"
    utf16.write_bytes(entry.encode("utf-16"))
    utf16be = tmp_path / "u16be.bib"
    utf16be.write_bytes(entry.encode("utf-16-be"))
    gbk = tmp_path / "gbk.bib"
    gbk.write_bytes("@article{k, title = {中文标题：数据中心网络的设计与实现研究}, author = {张三 and 李四}}\n"
                    .encode("gbk"))
    assert load_bibliography(cp1252).entries[0]["title"] == "Café — Straße"
    assert load_bibliography(latin1).entries[0]["title"] == "Café naïve résumé à la façon"
    assert load_bibliography(utf16).entries[0]["title"] == "Café — Straße"
    assert load_bibliography(utf16be).entries[0]["title"] == "Café — Straße"
    got = load_bibliography(gbk)
    assert got.entries[0]["title"] == "中文标题：数据中心网络的设计与实现研究"
    assert "decoded as gb18030" in got.warnings[0]["message"]
    assert decode_file(b"\xef\xbb\xbf@a{}")[1] == "utf-8-sig"


@pytest.mark.parametrize("written", ["10.1000/Xyz", "doi:10.1000/Xyz", "https://doi.org/10.1000/Xyz",
                                     "http://dx.doi.org/10.1000/Xyz", "DOI: 10.1000/Xyz."])
def test_doi_forms(written: str) -> None:
    assert clean_doi(written) == "10.1000/Xyz"


def test_isbn_and_dates() -> None:
    assert isbn13("0-201-13447-0") == isbn13("978-0-201-13447-6") == "9780201134476"
    assert isbn13("0-201-13447-1") is None  # bad check digit
    assert edtf_date("1982--1983") == "1982/1983" and edtf_date("-0044") == "-0044"
    assert edtf_date("2004-04-05T14:34:00") == "2004-04-05" and edtf_date("n.d.") is None
    assert csl_date_to_iso({"date-parts": [[-44, 3, 15]]}) == "-0044-03-15"
    assert csl_date_to_iso({"date-parts": [["2000", "", ""]]}) == "2000"
    assert csl_date_to_iso({"date-parts": [[1982], [1983]]}) == "1982/1983"
    assert csl_date_to_iso({"raw": "1999-05"}) == "1999-05"
    assert csl_date_to_iso({"literal": "Spring of the year"}) is None


def test_csljson_types_dates_and_verbatim(tmp_path: Path) -> None:
    items = [
        {"id": "caesar", "type": "legal_case", "title": "De bello", "issued": {"date-parts": [[-50]]}},
        {"id": "odd", "type": "not-a-csl-type", "title": "Odd", "issued": {"date-parts": [[2001, 2]],
                                                                         "season": 1, "circa": True}},
        {"id": "x", "type": "book", "title": "X", "ISBN": "0-201-13447-0", "number-of-pages": 321,
         "translator": [{"family": "T", "given": "U"}], "original-date": {"date-parts": [[1900]]}},
    ]
    path = tmp_path / "items.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    conn = connect(tmp_path / "c.db")
    import_bibliographies(SqliteStore(conn), [path])
    out = json.loads(render_export(selected_items(SqliteStore(conn), Selection()), "csljson"))
    by_id = {i["id"]: i for i in out}
    for original in items:
        got = by_id[original["id"]]
        assert {k: got.get(k) for k in original} == original  # every field, as written


def test_json_that_is_not_csl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "package.json"
    path.write_text(json.dumps({"name": "x", "version": "1"}), encoding="utf-8")
    with pytest.raises(UsageError, match="not CSL-JSON"):
        load_bibliography(path)
    path.write_text(json.dumps([{"foo": 1}]), encoding="utf-8")
    with pytest.raises(UsageError, match="not CSL-JSON"):
        load_bibliography(path)


RIS = """TY  - JOUR
AU  - Leinaas, J. M.
AU  - Myrheim, J.
TI  - On the theory of identical particles
T2  - Il Nuovo Cimento B
JA  - Nuovo Cim B
PY  - 1977
DA  - 1977/01/01/
VL  - 37
IS  - 1
SP  - 1
EP  - 23
SN  - 1826-9877
DO  - 10.1007/BF02727953
UR  - https://link.springer.com/article/10.1007/BF02727953
Y2  - 2024/05/01/
KW  - physics
KW  - anyons
L1  - file:///home/u/leinaas.pdf
C1  - Oslo
ER  -

TY  - BOOK
AU  - Knuth, Donald E.
A2  - Editor, Some
TI  - The TeXbook
PB  - Addison-Wesley
CY  - Reading, MA
ET  - 2
PY  - 1984
SN  - 0-201-13447-0
ER  -
"""


def test_ris_import_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "refs.ris"
    path.write_text(RIS, encoding="utf-8")
    a, b = load_bibliography(path).entries
    assert a["type"] == "article-journal" and a["page"] == "1-23" and a["issued"] == "1977-01-01"
    assert a["url"] == "https://link.springer.com/article/10.1007/BF02727953" and a["tags"] == ["physics", "anyons"]
    assert a["more"] == {"ISSN": "1826-9877", "container-title-short": "Nuovo Cim B"}
    assert a["verbatim"]["ris"]["fields"] == [["L1", "file:///home/u/leinaas.pdf"], ["C1", "Oslo"]]
    assert b["isbn"] == "9780201134476" and b["url"] is None and b["editor"] == [{"family": "Editor",
                                                                                  "given": "Some"}]
    conn = connect(tmp_path / "c.db")
    import_bibliographies(SqliteStore(conn), [path])
    out = render_export(selected_items(SqliteStore(conn), Selection()), "ris")
    again = tmp_path / "again.ris"
    again.write_text(out, encoding="utf-8")
    back = load_bibliography(again).entries
    for first, second in zip(sorted([a, b], key=lambda e: e["title"]), sorted(back, key=lambda e: e["title"]),
                             strict=True):
        for key in ("title", "author", "editor", "issued", "accessed", "container_title", "publisher", "volume",
                    "issue", "page", "doi", "url", "isbn", "more", "tags", "type"):
            assert second[key] == first[key] or sorted(second[key]) == sorted(first[key]), key
        assert second["verbatim"].get("ris", {}).get("fields") == first["verbatim"].get("ris", {}).get("fields")


BOOKMARKS = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
<DL><p>
    <DT><H3 ADD_DATE="1" PERSONAL_TOOLBAR_FOLDER="true">Bookmarks bar</H3>
    <DL><p>
        <DT><A HREF="https://example.com/a" ADD_DATE="1">Page &amp; A</A>
        <DT><H3>Machine Learning</H3>
        <DL><p>
            <DT><A HREF="https://example.com/b" TAGS="gpu,infra">Page B</A>
            <DD>Why I keep it
            <DT><A HREF="javascript:alert(1)">Bookmarklet</A>
        </DL><p>
    </DL><p>
    <DT><A HREF="https://example.com/c">Page C</A>
</DL><p>
"""


def test_bookmarks_import(tmp_path: Path) -> None:
    path = tmp_path / "bookmarks.html"
    path.write_text(BOOKMARKS, encoding="utf-8")
    bib = load_bibliography(path)
    got = {e["url"]: (e["title"], e["tags"], e["note"]) for e in bib.entries}
    assert got == {"https://example.com/a": ("Page & A", [], None),
                   "https://example.com/b": ("Page B", ["Machine Learning", "gpu", "infra"], "Why I keep it"),
                   "https://example.com/c": ("Page C", [], None)}
    assert [w["line"] for w in bib.warnings] == [13]
    store = open_store(tmp_path / "c.db")
    conn = store.conn
    import_bibliographies(store, [path])
    sid = resolve_source(store, "https://example.com/b")
    assert {r[0] for r in conn.execute("SELECT tag FROM source_tag WHERE source_id = ?", (sid,))} == {
        "Machine-Learning", "gpu", "infra"}


# ---- works without URL in the catalog ----------------------------------------------------------------------


def test_urlless_works_identity_and_reimport(tmp_path: Path) -> None:
    store = open_store(tmp_path / "c.db")
    conn = store.conn
    path = _bib(tmp_path, ZOTERO_BIB)
    first = import_bibliographies(store, [path])
    assert (first["new"], first["without_url"], first["skipped"]) == (6, 5, 0)
    again = import_bibliographies(store, [path])
    assert (again["new"], again["matched"]) == (0, 6)
    # the same works by other identities: DOI in another case, ISBN-10 written as ISBN-13
    other = _bib(tmp_path, "@article{x, title = {T}, doi = {10.1007/bf02727953}}\n"
                           "@book{y, title = {B}, isbn = {978-0-201-13447-6}}\n", "other.bib")
    third = import_bibliographies(store, [other])
    assert (third["new"], third["matched"]) == (0, 2)
    assert conn.execute("SELECT count(*) FROM source").fetchone()[0] == 6
    # two URL-less works cannot share a DOI
    with pytest.raises(sqlite3.IntegrityError):
        store.insert_source(None, None, None, "t", added_by="add", fields={"doi": "10.1007/BF02727953"})
    assert select_source_ids(store) == [resolve_source(store, "dourish")]  # only the one with a URL is fetched
    assert select_source_ids(store, all_sources=True) == [resolve_source(store, "dourish")]
    assert select_source_ids(store, ["knuth"]) == []


def test_set_url_gives_a_url_and_merges_with_the_source_of_that_url(tmp_path: Path) -> None:
    store = open_store(tmp_path / "c.db")
    conn = store.conn
    import_bibliographies(store, [_bib(tmp_path, ZOTERO_BIB)])
    knuth = resolve_source(store, "knuth")
    done = set_fields(store, knuth, ["url=https://example.com/TeXbook"])
    assert done == {"url": "https://example.com/TeXbook"}
    assert resolve_source(store, "https://example.com/TeXbook") == knuth
    # an existing web page of that URL: the URL-less work merges into it, nothing of either is lost
    from refman.catalog import add_source

    page, _ = add_source(store, "https://example.com/leinaas", tags=["physics"])
    leinaas = resolve_source(store, "leinaas1977")
    done = set_fields(store, leinaas, ["url=https://example.com/leinaas"])
    assert done["merged"]["kept"] == page and done["merged"]["dropped"] == [leinaas]
    item = dict(selected_items(SqliteStore(conn), Selection(refs=[str(page)]))[0])
    assert item["volume"] == "37" and item["page"] == "1-23" and item["DOI"] == "10.1007/BF02727953"
    assert item["more"]["ISSN"] == "1826-9877" and item["keyword"] == ["physics"]
    assert item["id"] == "leinaas1977"  # the page had no key yet: the work's key survives
    with pytest.raises(UsageError, match="has a URL already"):
        set_fields(store, page, ["url=https://example.com/other"])


def test_cli_import_errors_and_report(cli_env: dict[str, str], tmp_path: Path) -> None:
    broken = _bib(tmp_path, "@article{a, title = {One}}\n@article{b,\n  title = {Two\n", "broken.bib")
    proc = run(cli_env, "import", str(broken), check=False)
    no_traceback(proc)
    assert proc.returncode == 0 and "broken.bib:3:" in proc.stderr and "1 bibliography entry →" in proc.stdout
    only_broken = _bib(tmp_path, "@article{b,\n  title = {Two\n", "only.bib")
    proc = run(cli_env, "import", str(only_broken), check=False)
    no_traceback(proc)
    assert proc.returncode == 2 and "only.bib:2:" in proc.stderr
    notcsl = tmp_path / "data.json"
    notcsl.write_text('{"name": "x"}', encoding="utf-8")
    proc = run(cli_env, "import", str(notcsl), check=False)
    no_traceback(proc)
    assert proc.returncode == 2 and "not CSL-JSON" in proc.stderr
    ris = tmp_path / "refs.ris"
    ris.write_text(RIS, encoding="utf-8")
    report = json.loads(run(cli_env, "import", str(ris), "--json").stdout)["bibliography"]
    assert (report["entries"], report["new"], report["without_url"]) == (2, 2, 1)
    shown = json.loads(run(cli_env, "show", "https://link.springer.com/article/10.1007/BF02727953", "--json").stdout)
    assert shown["title"] == "On the theory of identical particles"
    listed = json.loads(run(cli_env, "list", "--json").stdout)
    assert [s["url"] for s in listed][-2:] == ["https://link.springer.com/article/10.1007/BF02727953", None]
    exported = run(cli_env, "export", "--format", "biblatex").stdout
    assert "isbn = {0-201-13447-0}" in exported and "location = {Reading, MA}" in exported


# ---- the parser on generated input ---------------------------------------------------------------------------

_value = st.text(alphabet=st.characters(blacklist_characters="{}\\\x00", blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=80, deadline=None)
@given(fields=st.lists(st.tuples(st.from_regex(r"[a-z][a-z\-]{0,10}", fullmatch=True), _value), max_size=6),
       key=st.from_regex(r"[A-Za-z0-9:_\-]{0,12}", fullmatch=True), paren=st.booleans())
def test_parser_reads_back_any_entry(fields: list[tuple[str, str]], key: str, paren: bool) -> None:
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    opener, closer = ("(", ")") if paren else ("{", "}")
    text = f"% a comment with user@example.org\n@misc{opener}{key},\n{body}\n{closer}\n@comment{{x}}\n"
    entries, problems = parse_bib(text)
    assert len(entries) == 1
    assert entries[0].key == key and entries[0].fields == [(n, v) for n, v in fields]
    assert all("given more than once" in p.message for p in problems)
