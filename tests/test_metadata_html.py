"""Metadata from HTML pages: each evidence type, conflicts between them, junk, @graph JSON-LD, CJK pages.

The pages in tests/pages/ are small hand-written pages shaped like real ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from refman.evidence import FIELDS
from refman.metadata import PageMetadata, html_metadata

PAGES = Path(__file__).parent / "pages"


def meta(name: str, url: str, traf: dict[str, Any] | None = None) -> PageMetadata:
    return html_metadata((PAGES / name).read_text(encoding="utf-8"), url, trafilatura_metadata=traf or {})


def value(m: PageMetadata, field: str) -> Any:
    return m.fields.get(field, (None, None))[0]


def origin(m: PageMetadata, field: str) -> str | None:
    return m.fields.get(field, (None, None))[1]


def test_highwire_citation_tags_win_and_keep_family_given() -> None:
    m = meta("scholarly.html", "https://journal.example.org/doi/10.5555/jmr.2021.0042")
    assert value(m, "title") == "Sparse Attention for Long Documents"
    assert origin(m, "title") == "page:citation"
    assert value(m, "author") == [
        {"family": "Rush", "given": "Alexander M."},
        {"family": "Lovelace", "given": "Ada"},
        {"family": "Kim", "given": "Yoon"},
    ]
    assert value(m, "issued") == "2021-03-15"  # publication date, not the online date
    assert value(m, "container_title") == "Journal of Machine Reading"  # the journal, not og:site_name
    assert value(m, "publisher") == "Example Press"
    assert value(m, "doi") == "10.5555/jmr.2021.0042"
    assert (value(m, "volume"), value(m, "issue"), value(m, "page")) == ("12", "3", "101-119")
    assert value(m, "type") == "article-journal"
    assert value(m, "language") == "en"
    assert m.pdf_url == "https://journal.example.org/pdf/jmr.2021.0042.pdf"
    assert m.canonical_url == "https://journal.example.org/doi/10.5555/jmr.2021.0042"
    # The losing evidence is kept for `refman show`.
    assert ("2020-11-02", "page:citation") in m.candidates["issued"]
    assert any(o == "page:dc" for _, o in m.candidates["author"])


def test_json_ld_graph_with_id_references() -> None:
    m = meta("news_graph.html", "https://planet.example/news/tram")
    assert value(m, "title") == "Council approves new tram line"  # og:title's suffix removed by agreement
    assert value(m, "author") == [{"family": "Lane", "given": "Lois"}, {"family": "Kent", "given": "Clark"}]
    assert origin(m, "author") == "page:json-ld"
    assert value(m, "issued") == "2023-05-02"  # datePublished, not dateModified
    assert value(m, "publisher") == "Planet Media Group"
    assert value(m, "container_title") == "The Daily Planet"
    assert value(m, "type") == "article-newspaper"
    assert value(m, "language") == "en-GB"  # "en_GB" normalised


def test_site_name_as_meta_author_is_rejected_when_people_are_named() -> None:
    m = meta("news_graph.html", "https://planet.example/news/tram")
    authors = [a for names, _ in m.candidates["author"] for a in names]
    assert {"literal": "The Daily Planet"} not in authors


def test_opengraph_blog_post_with_profile_url_and_by_prefix() -> None:
    m = meta("blog_og.html", "https://blog.felicis.example/2022/rust")
    assert value(m, "title") == "Warum wir Rust lieben"
    assert value(m, "author") == [{"family": "Muster", "given": "Jana"}]  # "Von " stripped
    assert value(m, "issued") == "2022-11-30"
    assert value(m, "container_title") == "Felicis Blog"
    assert value(m, "type") == "post-weblog"
    assert value(m, "language") == "de-DE"
    assert value(m, "abstract") == "Ein Erfahrungsbericht."


def test_page_with_only_a_title() -> None:
    m = meta("title_only.html", "https://www.greenthumbweekly.example/ferns")
    assert value(m, "title") == "How to repot a fern"  # the suffix is the host's name
    assert value(m, "container_title") == "Greenthumbweekly"  # a readable form of the host
    assert value(m, "type") == "webpage"
    assert "author" not in m.fields and "issued" not in m.fields


def test_title_suffix_kept_without_site_evidence() -> None:
    m = meta("title_only.html", "https://unrelated.example/ferns")
    assert value(m, "title") == "How to repot a fern | Green Thumb Weekly"


def test_cjk_page() -> None:
    m = meta("cjk.html", "https://tech.sina.example/db")
    assert value(m, "title") == "数据库与数据仓库的区别"
    assert value(m, "author") == [{"literal": "张三"}]
    assert value(m, "container_title") == "新浪网"
    assert value(m, "language") == "zh-CN"
    assert value(m, "issued") == "2024-03-05"


def test_dublin_core_only() -> None:
    m = meta("dublin_core.html", "https://repo.example/items/7")
    assert value(m, "title") == "Soil moisture in alpine meadows"
    assert origin(m, "title") == "page:dc"
    assert value(m, "author") == [{"family": "Müller", "given": "Anna"}, {"family": "Rossi", "given": "Marco"}]
    assert value(m, "issued") == "2019-07"  # partial dates stay partial
    assert value(m, "doi") == "10.1234/alp.2019.7"
    assert value(m, "language") == "de"
    assert value(m, "publisher") == "Alpine Institute"


def test_junk_authors_are_rejected_and_the_byline_link_is_used() -> None:
    m = meta("junk_authors.html", "https://buildweekly.example/tips")
    assert value(m, "author") == [{"family": "Hopper", "given": "Grace"}]
    assert value(m, "issued") == "2024-06-24"  # the date printed under the headline
    assert value(m, "title") == "Ten tips for faster builds"


def test_trafilatura_metadata_is_a_fallback_and_is_cleaned() -> None:
    traf = {"title": "Ten tips for faster builds", "author": "Grace Hopper; Follow", "date": "2024-06-20",
            "sitename": "buildweekly.example"}
    m = html_metadata("<html><body><p>text</p></body></html>", "https://buildweekly.example/t",
                      trafilatura_metadata=traf)
    assert value(m, "title") == "Ten tips for faster builds"
    assert origin(m, "title") == "page:trafilatura"
    assert value(m, "author") == [{"family": "Hopper", "given": "Grace"}]
    # the page never writes the day: trafilatura's guess keeps only what the page supports
    assert value(m, "issued") == "2024"
    assert value(m, "container_title") == "Buildweekly"
    written = html_metadata("<html><body><p>Posted June 20, 2024</p></body></html>", "https://buildweekly.example/t",
                            trafilatura_metadata=traf)
    assert value(written, "issued") == "2024-06-20"


@pytest.mark.parametrize(
    ("url", "html", "csl_type", "extra"),
    [
        ("https://github.com/owner/project", "<title>owner/project: a tool</title>", "software", {}),
        ("https://arxiv.org/abs/2106.01234v2", "<title>[2106.01234] A paper</title>", "article",
         {"archive_id": "2106.01234", "genre": "preprint"}),
        ("https://example.org/p", '<meta name="citation_title" content="T">'
         '<meta name="citation_conference_title" content="Proc. X">', "paper-conference", {}),
        ("https://example.org/p", '<script type="application/ld+json">{"@type": "BlogPosting", '
         '"headline": "H", "author": {"@type": "Person", "name": "Ann Lee"}}</script>', "post-weblog", {}),
        ("https://example.org/p", '<script type="application/ld+json">[{"@type": "Report", "name": "R"}]</script>',
         "report", {}),
        ("https://example.org/p", "<title>Plain</title>", "webpage", {}),
    ],
)
def test_csl_type_inference(url: str, html: str, csl_type: str, extra: dict[str, str]) -> None:
    m = html_metadata(f"<html><head>{html}</head><body></body></html>", url, trafilatura_metadata={})
    assert value(m, "type") == csl_type
    for field, expected in extra.items():
        assert value(m, field) == expected


def test_doi_from_url_and_from_text_near_the_title() -> None:
    m = html_metadata("<html><body><h1>A study</h1></body></html>", "https://x.example/doi/10.1234/ABC",
                      trafilatura_metadata={})
    assert value(m, "doi") == "10.1234/abc"
    page = ("<html><head><title>A study of things</title></head><body><h1>A study of things</h1>"
            "<p>Published in J. Things. https://doi.org/10.5678/things.1</p></body></html>")
    m = html_metadata(page, "https://x.example/p/1", trafilatura_metadata={})
    assert value(m, "doi") == "10.5678/things.1"


def test_broken_inputs_do_not_raise() -> None:
    for html in ("", "   ", "<?xml version='1.0' encoding='utf-8'?><html><title>X</title></html>",
                 '<script type="application/ld+json">{not json</script>', "\x00\x01binary"):
        m = html_metadata(html, "https://x.example/", trafilatura_metadata={})
        assert isinstance(m, PageMetadata)


def test_fields_and_origins_are_the_merge_names() -> None:
    m = meta("scholarly.html", "https://journal.example.org/x")
    assert set(m.fields) <= set(FIELDS)
    allowed = {"page:citation", "page:json-ld", "page:dc", "page:og", "page:meta", "page:trafilatura", "page:text"}
    assert {o for _, o in m.fields.values()} <= allowed


def test_without_trafilatura_metadata_it_runs_trafilatura_itself() -> None:
    html = (PAGES / "title_only.html").read_text(encoding="utf-8")
    m = html_metadata(html, "https://www.greenthumbweekly.example/ferns")
    assert value(m, "title") == "How to repot a fern"


def test_package_import_is_light() -> None:
    code = ("import sys, refman.metadata; "
            "print(any(m in sys.modules for m in ('lxml', 'trafilatura', 'pypdf')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
