"""Tests for refman.notes.scan: CommonMark link reference definitions, checked against markdown-it-py."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from refman.notes.scan import Definition, normalize_label, prepare_text, scan_markdown

_MD = MarkdownIt("commonmark")


def oracle(text: str) -> dict[str, tuple[str, str, int]]:
    """markdown-it-py's definitions: normalised label -> (href, title, 1-based line)."""
    env: dict = {}
    _MD.parse(prepare_text(text), env)  # front matter blanked, as markdown-it does not know it
    return {k: (v["href"], v["title"], v["map"][0] + 1) for k, v in env.get("references", {}).items()}


def ours(text: str) -> dict[str, tuple[str, str, int]]:
    """Our definitions in the oracle's shape (href normalised the way markdown-it does)."""
    out = {}
    for d in scan_markdown(text).definitions:
        out[d.key] = (_MD.normalizeLink(d.destination), d.title or "", d.line)
    return out


def defs(text: str) -> list[tuple[str, str, str | None, int]]:
    return [(d.label, d.destination, d.title, d.line) for d in scan_markdown(text).definitions]


# --- unit cases: (markdown, [(label, destination, title, line), ...]) --------------------------------------

CASES: list[tuple[str, str, list[tuple[str, str, str | None, int]]]] = [
    ("simple", "[foo]: /url\n", [("foo", "/url", None, 1)]),
    ("no space after colon", "[1.1 信息摘要]:https://a.b/c\n", [("1.1 信息摘要", "https://a.b/c", None, 1)]),
    ("three spaces", "   [foo]: /url\n", [("foo", "/url", None, 1)]),
    ("four spaces is code", "    [foo]: /url\n", []),
    ("tab is code", "\t[foo]: /url\n", []),
    ("double title", '[foo]: /url "the title"\n', [("foo", "/url", "the title", 1)]),
    ("single title", "[foo]: /url 'the title'\n", [("foo", "/url", "the title", 1)]),
    ("paren title", "[foo]: /url (the title)\n", [("foo", "/url", "the title", 1)]),
    ("title next line", '[foo]: /url\n   "the title"  \n', [("foo", "/url", "the title", 1)]),
    ("multi-line title", "[foo]: /url '\ntitle\nline1\n'\n", [("foo", "/url", "\ntitle\nline1\n", 1)]),
    ("title no blank line", "[foo]: /url 'title\n\nwith blank'\n", []),
    ("dest next line", "[foo]:\n/url\n", [("foo", "/url", None, 1)]),
    ("label over lines", "[\nfoo\n]: /url\nbar\n", [("foo", "/url", None, 1)]),
    ("angle dest with spaces", "[foo]: <my url> 't'\n", [("foo", "my url", "t", 1)]),
    ("empty angle dest", "[foo]: <>\n", [("foo", "", None, 1)]),
    ("angle dest unclosed", "[foo]: <bar\n", []),
    ("no dest", "[foo]:\n\n[foo]\n", []),
    ("escapes", r"[Issue \#852]: /a\*b 't\"x'" + "\n", [("Issue #852", "/a*b", 't"x', 1)]),
    ("entities", "[a &amp; b]: /u?x=1&amp;y=2 '&quot;q&quot;'\n", [("a & b", "/u?x=1&y=2", '"q"', 1)]),
    ("unescaped bracket", "[a[b]: /url\n", []),
    ("escaped bracket", r"[a\[b]: /url" + "\n", [("a[b", "/url", None, 1)]),
    ("blank label", "[ ]: /url\n", []),
    ("999 char label", "[" + "a" * 999 + "]: /u\n", [("a" * 999, "/u", None, 1)]),
    ("1000 char label", "[" + "a" * 1000 + "]: /u\n", []),
    ("garbage after title", '[foo]: /url "title" ok\n', []),
    ("garbage, title on next line", '[foo]: /url\n"title" ok\n', [("foo", "/url", None, 1)]),
    ("no space before title", '[foo]: /url"title"\n', [("foo", '/url"title"', None, 1)]),
    ("parens in dest", "[V]: https://e.org/Vagrant_(software)\n", [("V", "https://e.org/Vagrant_(software)", None, 1)]),
    (
        "mailto and relative",
        "[m]: mailto:a@b.c\n[n]: chmod.md\n",
        [("m", "mailto:a@b.c", None, 1), ("n", "chmod.md", None, 2)],
    ),
    ("javascript kept", "[j]: javascript:void(0)\n", [("j", "javascript:void(0)", None, 1)]),
    ("consecutive", "[a]: /a\n[b]: /b\n[c]: /c\n", [("a", "/a", None, 1), ("b", "/b", None, 2), ("c", "/c", None, 3)]),
    ("cannot interrupt paragraph", "text\n[foo]: /url\n", []),
    ("after paragraph and blank", "text\n\n[foo]: /url\n", [("foo", "/url", None, 3)]),
    ("then paragraph", "[foo]: /url\ntext\n[bar]: /b\n", [("foo", "/url", None, 1)]),
    ("after heading", "# Ref\n[foo]: /url\n", [("foo", "/url", None, 2)]),
    ("setext underline after def", "[foo]: /url\n===\n", [("foo", "/url", None, 1)]),
    ("setext heading before def", "Foo\n---\n[foo]: /url\n", [("foo", "/url", None, 3)]),
    ("setext heading containing def", "Foo\n[foo]: /url\n===\n", []),
    ("thematic break before", "***\n[foo]: /url\n", [("foo", "/url", None, 2)]),
    ("blockquote", "> [foo]: /url\n", [("foo", "/url", None, 1)]),
    ("nested blockquote", "> > [foo]: /url\n", [("foo", "/url", None, 1)]),
    ("list item", "- [foo]: /url\n", [("foo", "/url", None, 1)]),
    ("ordered list item", "1. [foo]: /url\n", [("foo", "/url", None, 1)]),
    ("list item second block", "- item\n\n  [foo]: /url\n", [("foo", "/url", None, 3)]),
    ("quote in list", "- > [foo]: /url\n", [("foo", "/url", None, 1)]),
    ("lazy line is no def start", "> para\n[foo]: /url\n", []),
    ("quote title on lazy line", '> [foo]: /url\n"title"\n', [("foo", "/url", "title", 1)]),
    ("backtick fence", "```\n[foo]: /url\n```\n", []),
    ("tilde fence", "~~~\n[foo]: /url\n~~~\n[bar]: /b\n", [("bar", "/b", None, 4)]),
    ("longer fence nests shorter", "````\n```\n[foo]: /url\n```\n[x]: /x\n````\n[bar]: /b\n", [("bar", "/b", None, 7)]),
    ("fence chars must match", "```\n~~~\n[foo]: /url\n```\n", []),
    ("unclosed fence", "```\n[foo]: /url\n", []),
    ("unclosed fence in quote ends with quote", "> ```\n> [a]: /a\n\n[b]: /b\n", [("b", "/b", None, 4)]),
    ("indented code", "    code\n\n    [foo]: /url\n", []),
    ("html comment", "<!--\n[foo]: /url\n-->\n[bar]: /b\n", [("bar", "/b", None, 4)]),
    ("html comment FIXME", "<!-- FIXME\n[foo]: https://a\n\n[bar]: https://b\n-->\n", []),
    ("html block type 6", "<div>\n[foo]: /url\n\n[bar]: /b\n", [("bar", "/b", None, 4)]),
    ("html block type 1", "<pre>\n[foo]: /url\n\n[x]: /x\n</pre>\n[bar]: /b\n", [("bar", "/b", None, 6)]),
    ("html type 7 after def", "[a]: /a\n<span>\n[b]: /b\n", [("a", "/a", None, 1)]),
    ("html type 7 cannot interrupt", "text\n<span>\n\n[b]: /b\n", [("b", "/b", None, 4)]),
    ("html type 7 block", "<span>\n[b]: /b\n", []),
    ("ipv6 in fence", "```\n[::1]:10000 (localhost): dial error\n```\n", []),
    ("ipv6 not a def", "[::1]:10000 (localhost): dial error\n", []),
    ("front matter", "---\ntitle: x\n[foo]: /url\n---\n[bar]: /b\n", [("bar", "/b", None, 5)]),
    ("front matter dots", "---\n[foo]: /url\n...\n[bar]: /b\n", [("bar", "/b", None, 4)]),
    ("unclosed front matter", "---\n[foo]: /url\n", [("foo", "/url", None, 2)]),
    ("crlf", "[a]: /a\r\n't'\r\n[b]: /b\r\n", [("a", "/a", "t", 1), ("b", "/b", None, 3)]),
    ("lone cr", "text\r\r[a]: /a\r", [("a", "/a", None, 3)]),
    ("bom", "\ufeff[a]: /a\n", [("a", "/a", None, 1)]),
    ("tabs after marker", ">\t[a]: /a\n-\t[b]: /b\n", [("a", "/a", None, 1), ("b", "/b", None, 2)]),
    ("whitespace label collapsed", "[ a \n  b ]: /u\n", [("a b", "/u", None, 1)]),
    ("no trailing newline", "[a]: /a", [("a", "/a", None, 1)]),
    ("empty list item after def", "[a]: /a\n-\n[b]: /b\n", [("a", "/a", None, 1), ("b", "/b", None, 3)]),
    ("empty item cannot interrupt paragraph", "text\n*\n[b]: /b\n", []),
]


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_cases(name: str, text: str, expected: list[tuple[str, str, str | None, int]]) -> None:
    assert defs(text) == expected
    if "javascript" not in text and "1000 char" not in name:
        assert ours(text) == oracle(text)


def test_duplicates_case_insensitive_first_wins() -> None:
    text = "[Website]: https://a\n[website]: https://b\n[WEB  SITE]: x\n[web site]: y\n"
    r = scan_markdown(text)
    assert [(d.label, d.destination) for d in r.definitions] == [("Website", "https://a"), ("WEB SITE", "x")]
    assert [(d.line, d.destination) for d in r.duplicates] == [(2, "https://b"), (4, "y")]
    assert [w.line for w in r.warnings] == [2, 4]
    assert r.warnings[0].message == 'duplicate label "website" (first defined on line 1); ignored'
    assert "\n" not in r.warnings[0].message


def test_escaped_label_key_differs_from_unescaped() -> None:
    # CommonMark matches labels on their raw text: `\#` and `#` are different labels.
    r = scan_markdown("[a\\#]: /1\n[a#]: /2\n")
    assert len(r.definitions) == 2
    assert normalize_label(" A \n b ") == normalize_label("a b")


def test_line_numbers_and_end_line() -> None:
    text = "# T\n\n[a]:\n  /a\n  'x\ny'\n[b]: /b\n"
    r = scan_markdown(text)
    assert [(d.line, d.end_line) for d in r.definitions] == [(3, 6), (7, 7)]


def test_unclosed_fence_warning() -> None:
    r = scan_markdown("ok\n\n```\n[a]: /a\n")
    assert r.definitions == []
    assert r.warnings and r.warnings[0].line == 3


# --- annotations ---------------------------------------------------------------------------------------------


def _notes(text: str) -> dict[str, str | None]:
    return {d.label: d.annotation for d in scan_markdown(text).definitions}


def test_annotation_paragraph_list_and_quote() -> None:
    text = (
        "## Ref\n"
        "[A]: https://a\n"
        "First line of my note.\n"
        "- point one\n"
        "  - nested\n"
        "\n"
        "> quoted excerpt\n"
        "\n"
        "[B]: https://b\n"
        "[C]: https://c\n"
        "![](pic.png)\n"
        "\n"
        "## Next\n"
        "text\n"
    )
    notes = _notes(text)
    assert notes["A"] == "First line of my note.\n- point one\n  - nested\n\n> quoted excerpt"
    assert notes["B"] is None
    assert notes["C"] == "![](pic.png)"


def test_annotation_after_blank_line_until_heading_or_break() -> None:
    text = "[A]: https://a\n\nNote about A.\n\n- list\n\n---\nother\n"
    assert _notes(text) == {"A": "Note about A.\n\n- list"}


def test_annotation_stops_before_block_with_definition() -> None:
    text = "[A]: https://a\nabout A\n\n- [B]: https://b\n  about B\n- [C]: https://c\n"
    assert _notes(text) == {"A": "about A", "B": "about B", "C": None}


def test_annotation_inside_quote_strips_markers() -> None:
    text = "> [A]: https://a\n> - one\n> - two\n\nafter\n"
    assert _notes(text) == {"A": "- one\n- two"}


def test_annotation_in_list_item_uses_item_indent() -> None:
    text = "1. [A]: https://a\n   note line\n\n   more\n2. next\n"
    assert _notes(text) == {"A": "note line\n\nmore"}


def test_setext_heading_ends_annotation() -> None:
    # `[A]` then a setext heading `Title\n---`: the heading is not an annotation
    assert _notes("[A]: https://a\nTitle\n---\n") == {"A": None}


# --- property tests against markdown-it-py -------------------------------------------------------------------

_label_text = st.sampled_from(
    [
        "foo",
        "Foo",
        "FOO",
        "a b",
        "a  b",
        "中文标题 | InfoQ",
        "Title (6/24/2024)",
        "x\\]y",
        "x\\[",
        "&amp;",
        "a\\#b",
        "1.1 信息",
        " foo ",
        "ẞ",
        "ß",
        "a\nb",
        "a\\",
        "",
        " ",
    ]
)
_dest = st.sampled_from(
    [
        "/url",
        "https://a.b/c?d=e&f",
        "<a b>",
        "<>",
        "<a\\>b>",
        "a(b)c",
        "a(b",
        "x\\ y",
        "chmod.md",
        "mailto:a@b.c",
        "https://zh.wikipedia.org/wiki/中文",
        "%20",
        "a\\)b",
        "<a\nb>",
        "&amp;x",
        "(",
    ]
)
_title = st.sampled_from(
    [
        "",
        ' "t"',
        " 't'",
        " (t)",
        ' "a\nb"',
        " 'x\n\ny'",
        "\n'next'",
        '\n"n" junk',
        ' "t" junk',
        " (a(b)",
        ' "q\\"x"',
        "\n  'ind'",
        ' ""',
        '\n""',
        " ' multi\nline\nend'",
        ' "a"   ',
    ]
)


@st.composite
def definition(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from(["", " ", "   ", "    ", "\t"]))
    sep = draw(st.sampled_from([" ", "", "  ", "\n", "\t", "\n  "]))
    return f"{indent}[{draw(_label_text)}]:{sep}{draw(_dest)}{draw(_title)}"


_JUNK = [
    "",
    "",
    "text",
    "中文段落",
    "  indented text",
    "    code",
    "\tcode",
    "# Heading",
    "## Ref",
    "===",
    "---",
    "***",
    "- item",
    "* item",
    "+ item",
    "1. one",
    "2) two",
    "-",
    "1.",
    "> quote",
    ">",
    "> > deep",
    "```",
    "````",
    "~~~",
    "``` js",
    "```a`b",
    "<!--",
    "-->",
    "<!-- c -->",
    "<div>",
    "</div>",
    "<span>",
    "<pre>",
    "</pre>",
    "<?php",
    "?>",
    "<!DOCTYPE x>",
    "<![CDATA[",
    "]]>",
    "![](pic.png)",
    "[x]",
    "[::1]:10000 (x): y",
    "[a]:b c",
    "---",
    "...",
    "  - nested",
    "   > q",
    "\t- tab item",
    "- > [q]: /q",
    "> - [l]: /l",
    "*",
]


@st.composite
def document(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(
            st.one_of(definition(), st.sampled_from(_JUNK), st.text(alphabet="[]:<>` \n-*>#\\\"'(x", max_size=8)),
            max_size=14,
        )
    )
    prefix = draw(st.sampled_from(["", "", "> ", "- ", "1. ", "  ", "> - "]))
    lines = [prefix + p if i % 2 == 0 else p for i, p in enumerate(parts)]
    if draw(st.booleans()):
        lines.insert(0, draw(st.sampled_from(["---\ntitle: x\n---", "---\n[fm]: /fm\n...", "---"])))
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
@example("> [foo]: /url\n\n> \n[foo]: /url\n> [foo]: /url\n> - [l]: /l\n> ")  # a last line "> ": IndexError
def test_agrees_with_markdown_it(text: str) -> None:
    assert ours(text) == oracle(text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_never_raises(text: str) -> None:
    r = scan_markdown(text)
    assert all(isinstance(d, Definition) for d in r.definitions)


_NOISE = st.sampled_from([*"[]:<>`~ \t\n-*+>#\\\"'()&;!1.ab中", "<!--", "-->", "```", "]: /u", "    "])


@settings(max_examples=200, deadline=None)
@given(st.lists(_NOISE, max_size=40).map("".join))
def test_agrees_on_noise(text: str) -> None:
    assert ours(text) == oracle(text)


@pytest.mark.parametrize("text", ["> - [a]: b\n>  ", ">- [a]: b\n>", "> 1. [a]: b\n> ", ">\n>\n> - [a]: b\n>   "])
def test_definition_before_a_last_line_of_quote_markers(text: str) -> None:
    """The line after a definition may start at the very end of the text (found by hypothesis: IndexError)."""
    assert ours(text) == oracle(text)
