"""Titles and authors on hand-written pages: breadcrumb sections in a <title>, a headline printed with its
kicker, an <h2> heading on pages without an <h1>; site-named bylines and staff accounts, author-profile links
with numeric ids, a host turned into a name, "Name for The Outlet" bylines."""

from __future__ import annotations

from typing import Any

import pytest

from refman.metadata import PageMetadata, html_metadata
from refman.metadata.authors import display_name, split_authors
from refman.metadata.titles import clean_title


def page(head: str = "", body: str = "", url: str = "https://example.org/a", traf: dict[str, Any] | None = None,
         ) -> PageMetadata:
    html = f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"
    return html_metadata(html, url, trafilatura_metadata=traf or {})


def title(m: PageMetadata) -> Any:
    return m.fields.get("title", (None, None))[0]


def authors(m: PageMetadata) -> list[str]:
    return [display_name(n) for n in m.fields.get("author", ([], None))[0]]


# ---------- titles ----------

@pytest.mark.parametrize(
    ("raw", "sites", "clean"),
    [
        ("这个约会软件想帮你找对象_智能_好奇心日报", ["好奇心日报"], "这个约会软件想帮你找对象"),
        ("Councils brace for a cold winter of closures | Politics | The Daily Courier", ["The Daily Courier"],
         "Councils brace for a cold winter of closures"),
        ("Councils brace for a cold winter of closures | Local | Politics | The Daily Courier",
         ["The Daily Courier"], "Councils brace for a cold winter of closures"),
        # Not a breadcrumb: a numbered part, a long second segment, another separator before the site.
        ("Building a compiler from scratch - Part 2 - Code Notes", ["Code Notes"],
         "Building a compiler from scratch - Part 2"),
        ("Short note - on a longer subtitle of this post - Code Notes", ["Code Notes"],
         "Short note - on a longer subtitle of this post"),
        ("Brexit: what happens to the border now - Politics | The Daily Courier", ["The Daily Courier"],
         "Brexit: what happens to the border now - Politics"),
    ],
)
def test_breadcrumb_sections_between_title_and_site_go_with_the_site(raw: str, sites: list[str], clean: str,
                                                                    ) -> None:
    assert clean_title(raw, sites) == clean


def test_headline_printed_with_its_kicker_is_cited_whole() -> None:
    """The <h1> (and og:title) print 'Kicker: Headline'; only the <title> has the bare headline. The <h1> is
    what readers see: it does not vote for a part of itself."""
    full = "Second official trip outside the capital: President opens tour of the south on Wednesday"
    m = page(f"<title>President opens tour of the south on Wednesday - Daily Courier</title>"
             f"<meta property='og:title' content='{full}'><meta property='og:site_name' content='Daily Courier'>",
             f"<h1>{full}</h1><p>The president left on Wednesday.</p>")
    assert title(m) == full


def test_social_titles_with_a_section_kicker_still_give_way_to_the_h1() -> None:
    m = page("<title>Politics: Mayor resigns after budget vote - Daily Courier</title>"
             "<meta property='og:title' content='Politics: Mayor resigns after budget vote'>"
             "<meta property='og:site_name' content='Daily Courier'>",
             "<h1>Mayor resigns after budget vote</h1><p>The mayor resigned.</p>")
    assert title(m) == "Mayor resigns after budget vote"


def test_h2_heading_without_h1_when_another_source_agrees() -> None:
    """A template without an <h1>: the article's <h2> is its heading when og:title holds it (here with the
    magazine's issue number appended)."""
    head = ("<title>The historic somersault (2021/5): gourmet</title>"
            "<meta property='og:title' content='The historic somersault (2021/5)'>"
            "<meta property='og:site_name' content='gourmet'>")
    m = page(head, "<nav>Travel</nav><header><h2>The historic somersault</h2></header><p>Leipzig and Dresden.</p>",
             traf={"title": "The historic somersault (2021/5)"})
    assert title(m) == "The historic somersault"
    # An <h2> that no other source supports ('Related stories') is not a title.
    m = page(head, "<h2>Related stories and more reading</h2><p>Leipzig and Dresden.</p>")
    assert title(m) == "The historic somersault (2021/5)"


# ---------- authors ----------

SYNDICATED = """
<title>Forest rights key to climate - The Planet Press</title>
<meta property="og:site_name" content="The Planet Press">
<meta name="author" content="The Planet Press">
"""


def test_site_named_byline_gives_way_to_the_writer_named_in_the_article() -> None:
    body = ("<h1>Forest rights key to climate</h1>"
            "<div class='meta'>By <a href='/author/planetpress/'>The Planet Press</a> - January 17, 2020</div>"
            "<div class='content'><p><em>Courtesy of Forests News</em></p>"
            "<p><em>Written by: <a href='https://news.example.org/63537'>Julia Mollard</a></em></p>"
            "<p>Indigenous peoples have managed landscapes for millennia.</p></div>")
    m = page(SYNDICATED, body, traf={"author": "The Planet Press"})
    assert authors(m) == ["Julia Mollard"]
    # No writer named anywhere: the site is the author.
    m = page(SYNDICATED, body.replace("Written by: ", "Photo: ").replace("Julia Mollard", "Forests News"))
    assert authors(m) == ["The Planet Press"]


STAFF_POST = """
<title>Transit trust rejects county data - City Today</title>
<meta property="og:site_name" content="City Today">
"""
STAFF_BODY = """
<aside><h3>Recent Comments</h3><ul><li><a href='http://example.com/bill'>Bill Osbourne</a> on
<a href='/2023/10/31/stadium'>Stadium plans</a></li></ul></aside>
<article><h1>Transit trust rejects county data</h1>
<div class='post-head'>Written by <a href='/author/admin/' rel='author'>City Today</a> on November 7, 2023</div>
<p>The trust voted on Tuesday.</p>{extra}</article>
"""


def test_site_as_author_beats_trafilaturas_guess_from_a_sidebar() -> None:
    """rel=author names the site (a staff account); trafilatura's name comes from the comments widget."""
    m = page(STAFF_POST, STAFF_BODY.format(extra=""), traf={"author": "Bill Osbourne"})
    assert authors(m) == ["City Today"]


def test_trafilaturas_name_printed_under_the_headline_is_kept() -> None:
    """The markup names only the site, but the name trafilatura found is printed in the article's header."""
    extra = "<div class='credits'><span>Words</span> <span>Michael Hingley</span></div>"
    m = page(STAFF_POST, STAFF_BODY.format(extra=extra), traf={"author": "Michael Hingley"})
    assert authors(m) == ["Michael Hingley"]


def test_author_profile_link_with_numeric_id_beats_the_site_as_json_ld_author() -> None:
    ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",'
          '"headline": "Glyphosate: anatomy of a collective intoxication",'
          '"author": {"@type": "Organization", "name": "L\'Opinion"}}</script>'
          "<meta property='og:site_name' content=\"L'Opinion\">")
    body = ("<h1>Glyphosate: anatomy of a collective intoxication</h1><div class='article_authors'>"
            "<span class='article_author-name'><a href='/auteur/emmanuelle-ducroix-187'>Emmanuelle Ducroix</a>"
            "</span></div><p>Text.</p>")
    m = page(ld, body, url="https://www.opinion.example/edition/economie/glyphosate-186859",
             traf={"author": "L'Opinion"})
    assert authors(m) == ["Emmanuelle Ducroix"]


def test_trafilaturas_host_turned_name_is_not_an_author() -> None:
    """<meta name=author content='pfarrblatt.at'> is the site; trafilatura turns it into a 'name'."""
    m = page("<meta name='author' content='pfarrblatt.at'><title>Childcare for single parents</title>",
             "<h1>Childcare for single parents</h1><p>Text.</p>",
             url="https://www.pfarrblatt.at/aktuelles/136290/childcare", traf={"author": "Pfarrblatt At"})
    assert authors(m) == []


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("Glen Owain And Brendan Carling For The Mail On Sunday", ["Glen Owain", "Brendan Carling"]),
        ("Jane Doe for Reuters", ["Jane Doe"]),
        ("Ludwig van Beethoven for The Times", ["Ludwig van Beethoven"]),
        # Organisations with "for" in their name stay whole.
        ("Center for American Progress", ["Center for American Progress"]),
        ("Organization for Transformative Works", ["Organization for Transformative Works"]),
        ("National Institute for Health Research", ["National Institute for Health Research"]),
    ],
)
def test_name_for_outlet_byline_keeps_the_name(raw: str, names: list[str]) -> None:
    assert split_authors(raw) == names
