"""Bare reference lines (`> 🔗 https://…`, `【Title】 https://…`): the rule, its false positives, markdown-it-py
as the oracle for "this line is paragraph text and the URL is plain text", and the real vault."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from refman.notes.scan import prepare_text, scan_markdown

VAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "vault"
needs_vault = pytest.mark.skipif(not VAULT.is_dir(), reason="../shared/corpus/vault is absent")
_MD = MarkdownIt("commonmark")


def bare(text: str) -> list[tuple[int, str, str | None, str, str | None]]:
    return [(b.line, b.url, b.title, b.label, b.marker) for b in scan_markdown(text).bare]


FOUND = [
    ("quote source line", "## Intro\n> 🔗 https://en.wikipedia.org/wiki/Overlay_network\n\nText.\n",
     [(2, "https://en.wikipedia.org/wiki/Overlay_network", None, "", "🔗")]),
    ("title in 【】, backslash literal", "【尚硅谷-密码学，信息安全\\加密算法教程】 https://www.bilibili.com/video/BV1/?x=1\n",
     [(1, "https://www.bilibili.com/video/BV1/?x=1", "尚硅谷-密码学，信息安全\\加密算法教程",
       "尚硅谷-密码学，信息安全\\加密算法教程", None)]),
    ("title in 《》 and quotes", "《深入理解计算机系统》 https://csapp.cs.cmu.edu/\n\n\"A talk\" https://youtu.be/abc\n",
     [(1, "https://csapp.cs.cmu.edu/", "深入理解计算机系统", "深入理解计算机系统", None),
      (3, "https://youtu.be/abc", "A talk", "A talk", None)]),
    ("marker and title", "⭐ 【Good read】 https://example.com/a\n",
     [(1, "https://example.com/a", "Good read", "Good read", "⭐")]),
    ("URL alone after a heading", "### Other Resources\nhttps://hpcwiki.io\nHPC 比赛，通常指……\n",
     [(2, "https://hpcwiki.io", None, "", None)]),
    ("lines of links in one paragraph", "🏠 https://rasp.baidu.com/\n🚧 https://github.com/baidu/openrasp\n",
     [(1, "https://rasp.baidu.com/", None, "", "🏠"), (2, "https://github.com/baidu/openrasp", None, "", "🚧")]),
    ("URL lines after a link line", "↗ [Colab](../Colab.md)\nhttps://bitdeer.com/en/\nhttps://autodl.com/login\n",
     [(2, "https://bitdeer.com/en/", None, "", None), (3, "https://autodl.com/login", None, "", None)]),
    ("list items", "- https://example.com/one\n  * https://example.com/two\n",
     [(1, "https://example.com/one", None, "", None), (2, "https://example.com/two", None, "", None)]),
    ("caption is a label, not a title", "下载本项目：https://github.com/a/b/releases\nGitHub: https://github.com/c/d\n",
     [(1, "https://github.com/a/b/releases", None, "下载本项目", None),
      (2, "https://github.com/c/d", None, "GitHub", None)]),
    ("after a sentence that ended", "Further reading:\nhttps://example.com/more\n",
     [(2, "https://example.com/more", None, "", None)]),
    ("balanced parentheses, hard break", "https://en.wikipedia.org/wiki/Vagrant_(software)\\\nnext\n",
     [(1, "https://en.wikipedia.org/wiki/Vagrant_(software)", None, "", None)]),
    ("lazy quote continuation", "> quoted text.\nhttps://example.com/lazy\n",
     [(2, "https://example.com/lazy", None, "", None)]),
    ("CRLF", "🔗 https://example.com/crlf\r\n", [(1, "https://example.com/crlf", None, "", "🔗")]),
]

NOT_FOUND = [
    ("prose ending with a URL", "For details see https://tug.org/texlive/doc.html\n"),
    ("prose with colon is too long", "x" * 120 + ": https://example.com/\n"),
    ("URL continuing a sentence", "The code of conduct is available at\nhttps://www.contributor-covenant.org/x.html\n"),
    ("URL then more words", "https://example.com/ is the home page\n"),
    ("sentence punctuation", "https://tidelift.com/security.\n"),
    ("inline link", "[Docs](https://example.com/docs)\n"),
    ("image link", "[![x](https://e.com/x.png)](https://e.com/page)\n"),
    ("autolink", "<https://example.com/auto>\n"),
    ("code span", "`https://example.com/code`\n"),
    ("inline HTML", "<small>https://zhuanlan.zhihu.com/p/332290846</small>\n"),
    ("parenthesised", "(https://github.com/psf/requests/security)\n"),
    ("quoted config value", 'Default: "https://registry.npmjs.org/"\n'),
    ("fenced code", "```\n🔗 https://example.com/fenced\n```\n"),
    ("tilde fence in a quote", "> ~~~\n> https://example.com/fenced\n> ~~~\n"),
    ("indented code", "    https://example.com/indented\n"),
    ("HTML block", "<div>\nhttps://example.com/html\n</div>\n"),
    ("HTML comment", "<!--\nhttps://example.com/comment\n-->\n"),
    ("ATX heading", "## https://example.com/heading\n"),
    ("setext heading", "https://example.com/setext\n===\n"),
    ("localhost", "http://localhost:8080/\n"),
    ("IP address", "http://127.0.0.1:5000/x\n"),
    ("host without a dot", "http://unix:/var/run/socket\n"),
    ("definition syntax CommonMark rejects", "![](pic.png)\n[Title]: https://example.com/not-a-definition\n"),
    ("symbol glued to a word", "→Next https://example.com/x\n"),
    ("table row", "| site | https://example.com/t |\n"),
    ("front matter", "---\nsource: https://example.com/fm\n---\n"),
]


@pytest.mark.parametrize(("name", "text", "want"), FOUND, ids=[c[0] for c in FOUND])
def test_found(name: str, text: str, want: list[tuple[int, str, str | None, str, str | None]]) -> None:
    assert bare(text) == want


@pytest.mark.parametrize(("name", "text"), NOT_FOUND, ids=[c[0] for c in NOT_FOUND])
def test_not_found(name: str, text: str) -> None:
    assert bare(text) == []


def test_definitions_are_not_bare_lines() -> None:
    result = scan_markdown("[Real]: https://example.com/def\n\n🔗 https://example.com/bare\n")
    assert [d.destination for d in result.definitions] == ["https://example.com/def"]
    assert [b.url for b in result.bare] == ["https://example.com/bare"]


# --- markdown-it-py as the oracle ----------------------------------------------------------------------------


def _plain_text_lines(text: str) -> dict[int, str]:
    """1-based line → the plain text markdown-it sees on that line of a paragraph (text tokens outside links)."""
    tokens = _MD.parse(prepare_text(text))
    out: dict[int, str] = {}
    for i, tok in enumerate(tokens):
        if tok.type != "inline" or tokens[i - 1].type != "paragraph_open" or tok.map is None:
            continue
        line, depth = tok.map[0] + 1, 0
        for child in tok.children or []:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "link_open":
                depth += 1
            elif child.type == "link_close":
                depth -= 1
            elif child.type == "text" and depth == 0:
                out[line] = out.get(line, "") + child.content
    return out


def _agrees(text: str) -> None:
    plain = _plain_text_lines(text)
    for b in scan_markdown(text).bare:
        assert b.line in plain, (b, text)
        assert plain[b.line].rstrip().endswith(b.url), (b, plain[b.line], text)


_LINES = [
    "🔗 https://example.com/a", "> 🔗 https://example.com/q", "【T】 https://example.com/t", "https://example.com/u",
    "- https://example.com/l", "see https://example.com/s", "[x](https://example.com/x)", "<https://example.com/y>",
    "`https://example.com/c`", "```", "~~~", "    https://example.com/i", "<div>", "</div>", "<!--", "-->",
    "## https://example.com/h", "===", "---", "", "", "prose line", "> quote", "1. item", "[d]: https://example.com/d",
    "text:", "https://example.com/end.", "<span>https://example.com/s</span>", "GitHub: https://github.com/a/b",
    "* 📎 https://example.com/m", "\thttps://example.com/tab", "  > https://example.com/nested",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_LINES), max_size=16), st.sampled_from(["", "> ", "- ", "> - "]))
def test_every_bare_line_is_paragraph_plain_text_for_markdown_it(lines: list[str], prefix: str) -> None:
    _agrees("\n".join(prefix + ln if i % 3 == 0 else ln for i, ln in enumerate(lines)) + "\n")


# --- the real vault --------------------------------------------------------------------------------------------


def _corpus() -> list[tuple[str, int, str, str | None, str | None]]:
    found = []
    for path in sorted(VAULT.rglob("*.md")):
        if path.name in ("EXPECTED.md", "SOURCE.md"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        _agrees(text)
        found += [(str(path.relative_to(VAULT)), b.line, b.url, b.title, b.marker) for b in scan_markdown(text).bare]
    return found


@needs_vault
def test_real_vault_bare_lines_and_expected_items_32_33() -> None:
    found = _corpus()
    # 24 lines in 668 notes: 14 with a marker (🔗 ×5, 🏠 ×3, 🚧 ×2, 📎 ×2, 🎬, 🖇), 8 URLs alone, 2 【title】 lines;
    # every one is a reference a person would want in the catalog (see the rule in refman.notes.scan).
    assert len(found) == 24
    assert sum(1 for f in found if f[4]) == 14 and sum(1 for f in found if f[3]) == 2
    overlay = [f for f in found if f[0].endswith("Overlay Network.md")]
    assert (overlay[0][1], overlay[0][2], overlay[0][3], overlay[0][4]) == (
        18, "https://en.wikipedia.org/wiki/Overlay_network", None, "🔗")  # EXPECTED item 32
    crypto = [f for f in found if f[0].endswith("Cryptography.md")]
    assert crypto[0][1] == 40 and crypto[0][3] == "尚硅谷-网络安全之密码学，信息安全\\加密算法教程"  # item 33
    assert crypto[0][2].startswith("https://www.bilibili.com/video/BV1tz4y197hm/?share_source=copy_web")
    assert not [f for f in found if f[0].startswith("oam/")]  # oam writes its URLs in code or as links
