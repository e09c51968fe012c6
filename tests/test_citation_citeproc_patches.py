"""refman.citation.styles._citeproc: each patch of citeproc-py, on items outside the reference corpus (the corpus
itself is tests/test_citation_reference_outputs.py)."""

from __future__ import annotations

import pytest

from refman.citation.item import CitationItem, CSLName
from refman.citation.styles import format_bibliography
from refman.citation.styles._citeproc import normalize_suffix

SMITH = [CSLName(family="Smith", given="Anna")]
CRUZ = CSLName.model_validate({"family": "Cruz", "given": "Ana", "non-dropping-particle": "de la"})


def one(item: CitationItem, style: str, locale: str | None = None) -> str:
    (text,) = format_bibliography([item], style, locale=locale)
    return text


def test_group_with_a_constant_and_an_untaken_branch_is_kept() -> None:
    # GB/T's "[J]": a type code (constant) grouped with a medium code whose variables sit in a branch not taken
    item = CitationItem(id="a", type="article-journal", title="Sea ice", author=SMITH, container_title="Nature",
                        issued="2001", volume="3", page="5-9")
    assert "Sea ice[J]. Nature, 2001, 3: 5-9" in one(item, "gb-t-7714-numeric")
    book = CitationItem(id="b", type="book", title="Sea ice", author=SMITH, publisher="P", issued="2001")
    assert "Sea ice[M]" in one(book, "gb-t-7714-numeric")
    online = book.model_copy(update={"URL": "https://e.org/b"})
    assert "Sea ice[M/OL]" in one(online, "gb-t-7714-numeric")


def test_group_of_only_empty_variables_and_a_term_is_dropped() -> None:
    thesis = CitationItem(id="t", type="thesis", title="Sea ice", author=SMITH, publisher="MIT", genre="PhD thesis",
                          issued="2001")
    text = one(thesis, "apa")
    assert "(Publication" not in text and "[PhD thesis]" in text
    # a macro that renders only a term counts as content (citeproc-js: a macro is a group of its own)
    preprint = CitationItem(id="p", type="article", title="Sea ice", author=SMITH, issued="2001")
    assert "Preprint" in one(preprint, "chicago-author-date")


def test_label_of_an_empty_variable_prints_nothing() -> None:
    news = CitationItem(id="n", type="article-newspaper", title="Sea ice", author=SMITH, container_title="The Times",
                        issued="2001-05-03")
    assert "Edition" not in one(news, "chicago-author-date")


def test_substituted_title_is_styled_and_not_repeated() -> None:
    bare = CitationItem(id="x", type="document", title="the big picture", issued="2001", URL="https://e.org/x")
    mla = one(bare, "mla")
    assert mla.startswith("“The Big Picture.”") and mla.lower().count("big picture") == 1
    assert one(bare, "apa").lower().count("big picture") == 1
    # GB/T author-date puts its "anonymous" term in the author's place (English for an English work)
    assert one(bare, "gb-t-7714-author-date").startswith("Anon, 2001. the big picture[Z/OL]")
    chinese = bare.model_copy(update={"title": "数据中心"})
    assert one(chinese, "gb-t-7714-author-date").startswith("佚名, 2001. 数据中心[Z/OL]")


def test_title_case_after_quotation_marks_and_for_labels() -> None:
    item = CitationItem(id="q", type="article-journal", title="the “big” picture of a sea", author=SMITH,
                        container_title="J", issued="2001")
    assert "“The ‘Big’ Picture of a Sea.”" in one(item, "chicago-author-date")
    chapter = CitationItem(id="c", type="chapter", title="T", author=SMITH, container_title="Book",
                           editor=[CSLName(family="Eve", given="Ann")], publisher="P", issued="2001")
    assert "(Ed.)" in one(chapter, "apa")


@pytest.mark.parametrize("edition,expected", [("1", "1st ed."), ("2", "2nd ed."), ("11", "11th ed."),
                                              ("21", "21st ed."), ("112", "112th ed."), ("103", "103rd ed.")])
def test_ordinals_in_english(edition: str, expected: str) -> None:
    book = CitationItem(id="b", type="book", title="T", author=SMITH, publisher="P", issued="2001",
                        more={"edition": edition})
    assert expected in one(book, "chicago-author-date")


def test_ordinals_come_from_one_locale() -> None:
    book = CitationItem(id="b", type="book", title="数据", author=[CSLName(family="张", given="三")], publisher="P",
                        issued="2001", language="zh-CN", more={"edition": "2"})
    text = one(book, "gb-t-7714-numeric")
    assert "2 版" in text and "2nd" not in text


def test_punctuation_merges_at_seams() -> None:
    report = CitationItem(id="r", type="report", title="Stop!", author=SMITH, publisher="P", issued="2001",
                          more={"number": "TR-4"})
    text = one(report, "gb-t-7714-numeric")
    assert "Stop! TR-4[R]" in text and "!:" not in text


def test_latin_names_in_a_chinese_item_are_family_first() -> None:
    item = CitationItem(id="z", type="article-journal", title="数据", container_title="J", issued="2001",
                        language="zh-CN", author=[CSLName(family="Smith", given="John", suffix="Jr."), CRUZ])
    assert one(item, "apa").startswith("Smith J., & de la Cruz A. (2001)")
    assert one(item, "ieee").startswith("[1] Smith J. and de la Cruz A.,")
    english = item.model_copy(update={"language": "en"})
    assert one(english, "apa").startswith("Smith, J., Jr., & de la Cruz, A. (2001)")


def test_suffix_follows_initialize_with() -> None:
    assert normalize_suffix("Jr.", " ") == "Jr"
    assert normalize_suffix("Jr.", ". ") == "Jr."
    assert normalize_suffix("III", " ") == "III"
    item = CitationItem(id="s", type="book", title="T", publisher="P", issued="2001",
                        author=[CSLName(family="Smith", given="John", suffix="Jr.")])
    assert one(item, "gb-t-7714-author-date").startswith("SMITH J Jr, 2001.")
    assert one(item, "apa").startswith("Smith, J., Jr. (2001)")


def test_styles_are_parsed_once_and_rendering_is_repeatable() -> None:
    from refman.citation.styles import _STYLES

    item = CitationItem(id="a", type="book", title="T", author=SMITH, publisher="P", issued="2001")
    first = one(item, "apa")
    kept = len(_STYLES)
    assert one(item, "apa") == first and len(_STYLES) == kept
