"""Judgement between conflicting dates and DOIs on HTML pages: each rule on a small hand-written page.

Dates: publication over modification, an issue's month refined by the article's own day, the local day a
UTC instant falls on, the permalink's day. DOIs: the page's own, printed near its title, not a cited work's,
a badge's or a related article's."""

from __future__ import annotations

from typing import Any

import pytest

from refman.metadata import PageMetadata, html_metadata


def page(head: str = "", body: str = "", url: str = "https://example.org/a", traf: dict[str, Any] | None = None,
         ) -> PageMetadata:
    html = f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"
    return html_metadata(html, url, trafilatura_metadata=traf or {})


def issued(m: PageMetadata) -> tuple[Any, Any]:
    return m.fields.get("issued", (None, None))


# ---------- dates ----------

JOURNAL_HEAD = """
<title>Drug reactions in rheumatology | Current Rheumatology Reports</title>
<meta name="citation_title" content="Drug reactions in rheumatology">
<meta name="citation_journal_title" content="Current Rheumatology Reports">
<meta name="citation_publication_date" content="{pub}">
<meta name="citation_online_date" content="{online}">
<meta name="citation_cover_date" content="{cover}">
"""


def test_issue_month_takes_the_articles_day_not_the_cover_dates_filler() -> None:
    """An issue's month ('2023/01') and its cover date ('2023/01/01', a filler day): the online date within
    that month is the day."""
    m = page(JOURNAL_HEAD.format(pub="2023/01", online="2023/01/27", cover="2023/01/01"))
    assert issued(m) == ("2023-01-27", "page:citation")


def test_online_first_article_takes_its_day_within_the_issues_year_only() -> None:
    m = page(JOURNAL_HEAD.format(pub="2022/09", online="2022/05/04", cover="2022/09/01"))
    assert issued(m)[0] == "2022-05-04"  # published online in May, printed in the September issue
    m = page(JOURNAL_HEAD.format(pub="2022/02", online="2021/12/10", cover="2022/02/01"))
    assert issued(m)[0] == "2022-02"  # the year of the issue stays; a day from another year does not refine it


def test_cover_date_alone_and_month_confirmed_by_dublin_core() -> None:
    m = page('<meta name="citation_title" content="T"><meta name="citation_cover_date" content="2015/10/01">')
    assert issued(m)[0] == "2015-10-01"  # the only date there is
    m = page('<meta name="citation_publication_date" content="2015/10">'
             '<meta name="DC.Date" content="2015-10-01">',
             traf={"date": "2015-10-24"})
    assert issued(m)[0] == "2015-10-01"  # a metadata day before trafilatura's guess from the text


def test_a_modification_date_never_refines_a_partial_date() -> None:
    m = page('<meta name="DC.date" content="2019-07">'
             '<meta property="article:modified_time" content="2019-07-30T10:00:00+02:00">')
    assert issued(m)[0] == "2019-07"


def test_published_keys_before_a_bare_date_key() -> None:
    """Some platforms fill a bare 'date' meta (or sailthru.date) with the last revision."""
    m = page('<meta name="sailthru.date" content="2016-12-15T13:50:38Z">'
             '<meta name="og:article:published_time" content="2016-12-14T06:02:15Z">'
             '<meta name="og:article:modified_time" content="2016-12-15T13:50:38Z">')
    assert issued(m) == ("2016-12-14", "page:og")
    m = page('<meta name="date" content="2021-08-30"><meta name="pubdate" content="2021-08-02">')
    assert issued(m)[0] == "2021-08-02"


NEWS = """<article><h1>Investigators say most stolen cars crossed the border</h1>
<p class="byline">By <a href="/author/ana-perez">Ana Pérez</a></p><p class="date">{printed}</p>
<p>La Paz. The investigator said on Tuesday that he had not published all of his material.</p></article>"""


def ld(date_published: str) -> str:
    return ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",'
            f' "headline": "Investigators say most stolen cars crossed the border", "datePublished": "{date_published}"'
            "}</script>")


@pytest.mark.parametrize(
    ("instant", "printed", "day"),
    [
        ("Wed, 04 May 2022 02:41:00 GMT", "3 de mayo de 2022", "2022-05-03"),  # evening in the Americas
        ("2018-06-12T23:00:00.000Z", "13 juin 2018", "2018-06-13"),  # early morning in Europe
        ("2022-05-04T15:00:00Z", "3 May 2022", "2022-05-04"),  # 15:00 UTC is 4 May in every zone west of +9…
        ("2022-05-04T09:00:00Z", "5 May 2022", "2022-05-04"),  # …and 09:00 UTC is 5 May nowhere
        ("2022-05-04T02:00:00Z", "1 May 2022", "2022-05-04"),  # more than a day apart: another date
    ],
)
def test_a_utc_instant_takes_the_local_day_printed_under_the_headline(instant: str, printed: str, day: str) -> None:
    m = page(ld(instant), NEWS.format(printed=printed), url="https://news.example.bo/nacional/autos_276757")
    assert issued(m)[0] == day


def test_a_local_timestamp_is_not_moved_by_the_printed_day() -> None:
    m = page(ld("2022-05-04T02:41:00-04:00"), NEWS.format(printed="3 May 2022"))
    assert issued(m)[0] == "2022-05-04"


BLOG_BODY = "<h1>The most beautiful end of the world</h1><p>A beach is a beach is a beach, they say.</p>"


def test_the_permalinks_day_wins_over_a_later_republication_date() -> None:
    """Blog platforms keep the permalink of a post and re-date it when it is edited or re-published."""
    head = ('<meta itemprop="datePublished" content="2019-06-17T18:28:00+0200">'
            + '<script type="application/ld+json">{"@type": "BlogPosting", "headline": "The most beautiful end of'
            ' the world", "datePublished": "2019-06-17T18:28:00+0200"}</script>')
    m = page(head, BLOG_BODY, url="https://www.example-blog.de/home/2017/7/12/end-of-the-world")
    assert issued(m) == ("2017-07-12", "page:meta")
    assert ("2019-06-17", "page:json-ld") in m.candidates["issued"]  # the losing evidence is kept


@pytest.mark.parametrize(
    ("url", "published", "day"),
    [
        ("https://pagesix.example/2016/12/19/embryo-drama/", "2016-12-20T00:08:44-05:00", "2016-12-20"),  # a day
        ("https://example.org/2016/12/19/post/", "2016-12-18T10:00:00+01:00", "2016-12-18"),  # an earlier date
        ("https://example.org/news/2020-01-10-emissions", None, "2020-01-10"),  # no other date: the URL's
        ("https://example.org/archive/2020/01/post", None, None),  # a month in the path is not a day
        ("https://example.org/p?date=2020/01/10", None, None),  # the query is not the path
    ],
)
def test_url_dates(url: str, published: str | None, day: str | None) -> None:
    head = f'<meta property="article:published_time" content="{published}">' if published else ""
    m = page(head, BLOG_BODY, url=url)
    assert issued(m)[0] == day


def test_a_partial_metadata_date_takes_the_urls_day_within_it() -> None:
    m = page('<meta name="DC.date" content="2014-03">', BLOG_BODY, url="https://example.org/2014/03/05/mahu/")
    assert issued(m)[0] == "2014-03-05"


# ---------- DOIs printed on the page ----------

LANDING = """<header class="site"><a href="/"><img src="/logo.png" alt="Linguistics archive"></a></header>
<h1>Attractors in the declarative-to-procedural shift</h1>
<p><a href="/people/haider">Hubert Haider</a>, November 2023</p>
<table><tr><td>Reference: </td><td>archive/006747</td></tr>
<tr><td>Published in: </td><td>Acta Linguistica 70: 195-218 {own}</td></tr></table>
<p>Abstract. The theory of grammar change as a result of cognitive evolution models directions of change.</p>
{rest}"""

REFERENCES = """<h2>References</h2><ol>
<li>Chomsky, N. (1995). The Minimalist Program. doi:10.7551/mitpress/9780262527347.001.0001</li>
<li>Kayne, R. (1994). The Antisymmetry of Syntax. https://doi.org/10.2307/j.ctt1xp3m6</li></ol>"""

FOOTER = """<footer><ul><li><a href="/support">Support</a></li>
<li class="badge"><a href="https://doi.org/10.34894/ABCDEF"><img src="/img/trust-seal.png" alt="seal"></a></li>
</ul></footer>"""


def doi(m: PageMetadata) -> tuple[Any, Any]:
    return m.fields.get("doi", (None, None))


def test_the_pages_own_doi_near_its_title() -> None:
    m = page("<title>Attractors - archive/006747</title>",
             LANDING.format(own="https://doi.org/10.1556/2062.2023.00642", rest=REFERENCES + FOOTER))
    assert doi(m) == ("10.1556/2062.2023.00642", "page:text")


def test_cited_works_and_a_footer_badge_are_not_the_pages_doi() -> None:
    m = page("<title>Attractors - archive/006747</title>", LANDING.format(own="", rest=REFERENCES + FOOTER))
    assert doi(m) == (None, None)
    m = page("<title>Attractors - archive/006747</title>", LANDING.format(own="", rest=FOOTER))
    assert doi(m) == (None, None)  # the site's footer, even without a references list
    old_style = FOOTER.replace("<footer>", '<div id="page-footer">').replace("</footer>", "</div>")
    m = page("<title>Attractors - archive/006747</title>", LANDING.format(own="", rest=old_style))
    assert doi(m) == (None, None)


def test_a_references_list_marked_by_its_class_is_skipped() -> None:
    refs = ('<section class="c-article-references"><ol><li>Smith J. (2020) Water. doi: 10.1000/water.1</li>'
            "</ol></section>")
    m = page("", LANDING.format(own="", rest=refs))
    assert doi(m) == (None, None)


def test_a_doi_label_and_value_in_separate_elements() -> None:
    body = ("<h1>Soil moisture in alpine meadows</h1><dl><dt>Journal</dt><dd>Alpine Research</dd>"
            "<dt>DOI</dt><dd>10.1234/alp.2019.7</dd></dl><p>Abstract. We measured soil moisture.</p>")
    assert doi(page("", body))[0] == "10.1234/alp.2019.7"


def test_a_doi_in_the_articles_own_footer_counts() -> None:
    body = ("<article><h1>Soil moisture in alpine meadows</h1><p>We measured soil moisture on three slopes.</p>"
            "<footer>Cite as: Müller A. (2019). doi:10.1234/alp.2019.7</footer></article>")
    assert doi(page("", body))[0] == "10.1234/alp.2019.7"


def test_a_news_article_about_a_study_does_not_take_the_studys_doi() -> None:
    story = ("<h1>Hibernating astronauts would need smaller spacecraft</h1><p>by Space Agency</p>"
             "<p>If a spaceship has no hyperdrive it usually has hibernation pods.</p>"
             "<p><strong>More information:</strong> G. Petit et al. Hibernation and torpor, Handbook of Life"
             ' Support (2018). <a href="http://dx.doi.org/10.1007/978-3-319-09575-2_199-1">DOI:'
             " 10.1007/978-3-319-09575-2_199-1</a></p>")
    head = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Hibernating astronauts'
            ' would need smaller spacecraft"}</script>')
    assert doi(page(head, story))[0] is None
    # Without structured data, the same citation after a whole article's text is still another work's.
    long_story = story.replace("<p>If a spaceship", "<p>" + "Researchers studied long flights. " * 120
                               + "If a spaceship")
    assert doi(page("", long_story))[0] is None
