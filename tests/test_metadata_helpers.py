"""Unit tests of the metadata helpers: authors, dates, identifiers, language tags, titles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refman.metadata.authors import clean_author, display_name, is_junk_author, split_authors, to_csl_name
from refman.metadata.dates import parse_date
from refman.metadata.identifiers import (
    arxiv_from_url,
    arxiv_in_text,
    doi_from_url,
    dois_in_text,
    normalize_arxiv,
    normalize_doi,
)
from refman.metadata.language import normalize_language
from refman.metadata.titles import clean_title


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A. Smith, B. Jones and C. Brown", ["A. Smith", "B. Jones", "C. Brown"]),
        ("Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
        ("Jane Doe; John Roe", ["Jane Doe", "John Roe"]),
        ("By Alexander M. Rush", ["Alexander M. Rush"]),
        ("Rush, Alexander M.", ["Rush, Alexander M."]),
        ("Isabel Caro, Rocío Latorre y José Miguel Wilson", ["Isabel Caro", "Rocío Latorre", "José Miguel Wilson"]),
        ("Michael L. Anderson, PhD; Carlos Dobkin, PhD", ["Michael L. Anderson, PhD", "Carlos Dobkin, PhD"]),
        ("Oli Coleman View author archive Get author RSS feed", ["Oli Coleman"]),
        ("Pete Evans · CBC News", ["Pete Evans"]),
        ("Laura E. Adkins", ["Laura E. Adkins"]),
        ("See full bio", []),
        ("Lesedauer: 3 Min", []),
        ("Follow", []),
        ("March", []),
        ("jane@example.com", []),
        ("https://example.com/author/jane", []),
        ("张三", ["张三"]),
    ],
)
def test_split_authors(text: str, expected: list[str]) -> None:
    assert split_authors(text, ["CBC"]) == expected


def test_site_name_is_not_an_author_and_is_stripped_when_glued() -> None:
    assert is_junk_author("The Verge", ["The Verge"])
    assert clean_author("Jane Doe - The Verge", ["The Verge"]) == "Jane Doe"
    assert clean_author("Jane Doe | The Verge", ["The Verge"]) == "Jane Doe"


def test_citation_author_keeps_family_given() -> None:
    assert split_authors("Rush, Alexander M.", one_person=True) == ["Rush, Alexander M."]
    assert to_csl_name("Rush, Alexander M.") == {"family": "Rush", "given": "Alexander M."}


@pytest.mark.parametrize(
    ("name", "csl"),
    [
        ("Alexander M. Rush", {"family": "Rush", "given": "Alexander M."}),
        ("Ludwig van Beethoven", {"family": "van Beethoven", "given": "Ludwig"}),
        ("Michael L. Anderson, PhD", {"family": "Anderson", "given": "Michael L.", "suffix": "PhD"}),
        ("张三", {"literal": "张三"}),
        ("Reuters", {"literal": "Reuters"}),
        ("Associated Press", {"literal": "Associated Press"}),
    ],
)
def test_to_csl_name(name: str, csl: dict[str, str]) -> None:
    assert to_csl_name(name) == csl
    assert display_name(csl) == name


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2020-01-10T08:00:00+01:00", "2020-01-10"),
        ("2019-04-28 06:01:07", "2019-04-28"),
        ("2024", "2024"),
        ("2024-06", "2024-06"),
        ("2017/01", "2017-01"),
        ("2021/03/15", "2021-03-15"),
        ("January 10, 2020", "2020-01-10"),
        ("10 January 2020", "2020-01-10"),
        ("Jan. 5, 2021", "2021-01-05"),
        ("10.01.2020", "2020-01-10"),
        ("06/24/2024", "2024-06-24"),
        ("2018年3月5日", "2018-03-05"),
        ("1 de marzo de 2019", "2019-03-01"),
        ("3. März 2020", "2020-03-03"),
        ("Mon, 06 Jan 2020 10:00:00 GMT", "2020-01-06"),
        ("20200110", "2020-01-10"),
        ("Updated 3 minutes ago", None),
        ("2020-02-30", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(raw: str | None, iso: str | None) -> None:
    assert parse_date(raw) == iso


@pytest.mark.parametrize(
    ("raw", "doi"),
    [
        ("10.1000/ABC.123", "10.1000/abc.123"),
        ("doi:10.1000/xyz", "10.1000/xyz"),
        ("https://doi.org/10.1088/0026-1394/12/4/002", "10.1088/0026-1394/12/4/002"),
        ("https://dx.doi.org/10.1000/xyz.", "10.1000/xyz"),
        ("info:doi/10.1000/a(b)c", "10.1000/a(b)c"),
        ("(see 10.1000/abc)", "10.1000/abc"),
        ("not a doi", None),
    ],
)
def test_normalize_doi(raw: str, doi: str | None) -> None:
    assert normalize_doi(raw) == doi


def test_doi_in_urls_and_text() -> None:
    assert doi_from_url("https://link.springer.com/article/10.1007/s11926-017-0626-z") == "10.1007/s11926-017-0626-z"
    assert doi_from_url("https://www.acpjournals.org/doi/10.7326/M19-3075") == "10.7326/m19-3075"
    assert doi_from_url("https://journal.example.org/doi/abs/10.5555/x.1?foo=1") == "10.5555/x.1"
    assert doi_from_url("https://example.com/blog/post") is None
    assert dois_in_text("see doi:10.1/aa and https://doi.org/10.1234/B.") == ["10.1234/b"]


def test_arxiv() -> None:
    assert normalize_arxiv("arXiv:2106.01234v2") == "2106.01234"
    assert normalize_arxiv("10.48550/arXiv.2106.01234") == "2106.01234"
    assert arxiv_from_url("https://arxiv.org/abs/2106.01234v3") == "2106.01234"
    assert arxiv_from_url("https://arxiv.org/pdf/hep-th/9901001.pdf") == "hep-th/9901001"
    assert arxiv_in_text("Preprint. arXiv:1706.03762v5 [cs.CL] 6 Dec 2017") == "1706.03762"


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("en_US", "en-US"),
        ("zh-cn", "zh-CN"),
        ("pt-br", "pt-BR"),
        ("EN", "en"),
        ("eng", "en"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("en-US,en;q=0.9", "en-US"),
        ("English", "en"),
        ("x-default", None),
        ("", None),
        ("not a language", None),
    ],
)
def test_normalize_language(raw: str, tag: str | None) -> None:
    assert normalize_language(raw) == tag


@pytest.mark.parametrize(
    ("title", "sites", "host", "clean"),
    [
        ("Managing Python Environments | Pluralsight", ["Pluralsight"], None, "Managing Python Environments"),
        ("Why we love Rust - Stack Overflow Blog", [], "stackoverflow.blog", "Why we love Rust"),
        ("Pluralsight Tech Blog | Managing Python Environments", ["Pluralsight"], None,
         "Managing Python Environments"),
        ("Bielersee-Winterhechte | petri-heil.ch | Dein Fischereimagazin", [], "www.petri-heil.ch",
         "Bielersee-Winterhechte"),
        ("Python: a tutorial", ["Real Python"], None, "Python: a tutorial"),
        ("A title - with a dash", [], None, "A title - with a dash"),
        ("数据库与数据仓库的区别_新浪网", ["新浪网"], None, "数据库与数据仓库的区别"),
    ],
)
def test_clean_title(title: str, sites: list[str], host: str | None, clean: str) -> None:
    assert clean_title(title, sites, host) == clean


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_author_splitting_never_raises(text: str) -> None:
    names = split_authors(text, ["Site"])
    assert all(isinstance(n, str) and n for n in names)
    for name in names:
        assert to_csl_name(name)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_date_parsing_never_raises(text: str) -> None:
    got = parse_date(text)
    assert got is None or len(got) in (4, 7, 10)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_doi_normaliser_is_idempotent(text: str) -> None:
    once = normalize_doi("10.1234/" + text)
    assert once is None or normalize_doi(once) == once
    assert normalize_doi(text) is None or normalize_doi(normalize_doi(text)) == normalize_doi(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_language_normaliser_is_idempotent(text: str) -> None:
    once = normalize_language(text)
    assert once is None or normalize_language(once) == once
