"""Find CommonMark link reference definitions (``[label]: destination "title"``) in a Markdown note.

The scanner is a trimmed, allocation-free port of markdown-it-py's block parser (the oracle the tests compare
against), keeping only what decides *where a definition may start*: indented code, fences, block quotes,
thematic breaks, lists, definitions, HTML blocks, ATX and setext headings and paragraphs. It builds no tokens and
parses no inline content, and dispatches on a line's first character, so most lines cost a few comparisons.

Rules (CommonMark 0.31, as markdown-it-py implements them):

- A definition starts a block: up to 3 spaces of indentation (tabs expand to stops of 4), directly at the top
  level or inside block quotes and list items (nested too). It cannot interrupt a paragraph, but several
  definitions in a row at the start of a paragraph are all definitions, and lazy continuation lines count.
- The label may span lines, has no unescaped brackets, is at most 999 characters and not blank. The destination
  is ``<…>`` (may contain spaces) or a run without spaces/control characters and with balanced parentheses. The
  optional title is ``"…"``, ``'…'`` or ``(…)``, may start on the next line and span lines (no blank line).
  Backslash escapes and entity references are resolved in all three.
- Never inside fenced code (``` and ~~~; a closing fence uses the same character and is at least as long, so
  longer fences enclose shorter ones; an unclosed fence runs to the end of its container), indented code, or any
  of the 7 kinds of HTML block (``<!-- … -->`` comments spanning lines included).
- Labels match case-insensitively after collapsing whitespace; the first definition of a label wins, later ones
  go to ``duplicates`` with a warning.
- A YAML front matter block (``---`` on the first line, closed by ``---`` or ``...``) is skipped; an unclosed one
  is ordinary Markdown. CRLF and lone CR line endings work, a leading BOM is ignored, NUL becomes U+FFFD.
- Unlike markdown-it-py, any destination is kept (``javascript:``, ``file:`` … are still definitions in
  CommonMark; markdown-it drops them for safety). Deciding what is a web source happens later.

Annotation (the user's note on a source): the blocks that follow a definition *in the same container* (the
document, a block quote or a list item), blank lines between them allowed, up to but excluding the next
definition (or a block that contains one), an ATX or setext heading, a thematic break, or the end of the
container. It is the Markdown source of those lines with the container's indentation removed (block-quote
markers of an enclosing quote removed, nested quote/list markers kept), stripped; ``None`` when empty. So in
``[A]: url`` + ``> excerpt`` + ``- point`` the annotation of A is ``"> excerpt\\n- point"``, and a definition
that is directly followed by another one has none.

Bare reference lines (not CommonMark; reported in ``ScanResult.bare``, never as definitions). Notes also cite
a page with a line of its own that holds a plain URL, e.g. ``> 🔗 https://…`` above an excerpt, or
``【Some title】 https://…``. A line of a *paragraph* (at the top level, in a block quote or in a list item; so
never in code, HTML blocks, comments or headings) is a bare reference when, after its container markers, it is

    [marker] [title] URL        marker: up to 8 non-ASCII symbol characters (emoji such as 🔗 🏠 🚧 🎬 ↗ →)
                                title:  text in 【】 《》 「」 『』 “” "" or [] (backslash escapes resolved)
    [marker] caption: URL       caption: up to 100 characters ending in `:` or `：` (kept as the label, not a
                                title: "Source:", "GitHub:", "下载本项目：" name a role more often than the page)

where URL is a plain-text ``http(s)://`` URL ending the line (an optional trailing backslash hard break aside):
nothing but the forms above before it, and it is not written as an inline link, autolink, code span or inline
HTML (the characters ``<>"'`` and backquote end a URL here, so such forms never match). Rejected, because prose
and examples write them: a URL ending in sentence punctuation (``.,;:!?`` and their full-width forms) or an
unbalanced ``)``; hosts without a dot, IP addresses and ``localhost``; any other text before the URL ("see
https://…", "available at https://…"); and a URL alone on a line that continues a sentence from the line above
(that line ends in a letter, digit or comma and is not itself a bare reference line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.entities import html5 as _HTML5
from itertools import accumulate
from operator import add, sub

__all__ = ["BareReference", "Definition", "ScanResult", "ScanWarning", "normalize_label", "scan_markdown"]

MAX_LABEL_CHARS = 999
_MAX_NESTING = 20  # markdown-it's commonmark preset stops parsing deeper containers

# --- character helpers (same sets as markdown-it) ------------------------------------------------------------

_MD_TRIM_CHARS = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_MD_WS_RE = re.compile("[" + re.escape(_MD_TRIM_CHARS) + "]+")
_ENTITIES = {name.rstrip(";"): chars for name, chars in _HTML5.items()}
_UNESCAPE_RE = re.compile(r'\\([!"#$%&\'()*+,\-./:;<=>?@[\\\]^_`{|}~])|&([a-z#][a-z0-9]{1,31});', re.IGNORECASE)
_DEC_RE = re.compile(r"#([0-9]{1,8})")
_HEX_RE = re.compile(r"#x([a-f0-9]{1,8})", re.IGNORECASE)


def _valid_code_point(c: int) -> bool:
    return not (
        0xD800 <= c <= 0xDFFF
        or 0xFDD0 <= c <= 0xFDEF
        or (c & 0xFFFF) in (0xFFFF, 0xFFFE)
        or c <= 0x08
        or c == 0x0B
        or 0x0E <= c <= 0x1F
        or 0x7F <= c <= 0x9F
        or c > 0x10FFFF
    )


def _unescape_sub(m: re.Match[str]) -> str:
    if m.group(1):
        return m.group(1)
    name = m.group(2)
    if name in _ENTITIES:
        return _ENTITIES[name]
    num = _DEC_RE.fullmatch(name)
    code = int(num.group(1)) if num else None
    if code is None and (num := _HEX_RE.fullmatch(name)):
        code = int(num.group(1), 16)
    if code is not None and _valid_code_point(code):
        return chr(code)
    return m.group(0)


def _unescape(s: str) -> str:
    """Resolve backslash escapes and entity references (markdown-it's unescapeAll)."""
    if "\\" not in s and "&" not in s:
        return s
    return _UNESCAPE_RE.sub(_unescape_sub, s)


def normalize_label(raw: str) -> str:
    """The matching key of a raw label: trimmed, inner whitespace collapsed, case-folded (CommonMark)."""
    return _MD_WS_RE.sub(" ", raw.strip(_MD_TRIM_CHARS)).lower().upper()


def _key_and_label(raw: str) -> tuple[str, str]:
    """(normalize_label(raw), the label as shown: escapes resolved, whitespace collapsed) with one regex pass
    when there is nothing to unescape (the usual case)."""
    if "\\" not in raw and "&" not in raw:
        label = _MD_WS_RE.sub(" ", raw.strip(_MD_TRIM_CHARS))
        return label.lower().upper(), label
    return normalize_label(raw), _MD_WS_RE.sub(" ", _unescape(raw).strip(_MD_TRIM_CHARS))


# --- result types ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Definition:
    label: str  # escapes and entities resolved, whitespace collapsed and trimmed
    destination: str  # angle brackets removed, escapes resolved, not percent-encoded
    title: str | None
    line: int  # 1-based line of the `[`
    annotation: str | None  # the note written under the definition (see module docstring)
    end_line: int = 0  # 1-based last line of the definition
    key: str = ""  # normalised label used for matching


@dataclass(frozen=True, slots=True)
class ScanWarning:
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class BareReference:
    """A bare reference line (see the module docstring)."""

    line: int  # 1-based
    url: str  # as written
    title: str | None  # from 【…】-style delimiters, escapes resolved
    label: str  # the title, or the caption before the colon, or ""
    marker: str | None  # leading emoji/symbol marker (🔗, 🏠, …)


@dataclass
class ScanResult:
    definitions: list[Definition] = field(default_factory=list)
    duplicates: list[Definition] = field(default_factory=list)
    warnings: list[ScanWarning] = field(default_factory=list)
    bare: list[BareReference] = field(default_factory=list)


# --- HTML block starts (CommonMark kinds 1-7) -----------------------------------------------------------------

_BLOCK_NAMES = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|dialog|dir|div|"
    "dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h1|h2|h3|h4|h5|h6|head|header|hr|html|iframe|"
    "legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|p|param|search|section|summary|table|"
    "tbody|td|tfoot|th|thead|title|tr|track|ul"
)
_ATTR = r"(?:\s+[a-zA-Z_:][a-zA-Z0-9:._-]*(?:\s*=\s*(?:[^\"'=<>`\x00-\x20]+|'[^']*'|\"[^\"]*\"))?)"
_OPEN_CLOSE_TAG = r"(?:<[A-Za-z][A-Za-z0-9\-]*" + _ATTR + r"*\s*\/?>|<\/[A-Za-z][A-Za-z0-9\-]*\s*>)"
# (start regex, end regex or None for "ends at a blank line", can interrupt a paragraph)
_HTML_SEQUENCES: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, bool], ...] = (
    (
        re.compile(r"<(?a:(script|pre|style|textarea))(?=(\s|>|$))", re.IGNORECASE),
        re.compile(r"<\/(?a:(script|pre|style|textarea))>", re.IGNORECASE),
        True,
    ),
    (re.compile(r"<!--"), re.compile(r"-->"), True),
    (re.compile(r"<\?"), re.compile(r"\?>"), True),
    (re.compile(r"<![A-Za-z]"), re.compile(r">"), True),
    (re.compile(r"<!\[CDATA\["), re.compile(r"\]\]>"), True),
    (re.compile(r"</?(?a:(" + _BLOCK_NAMES + r"))(?=(\s|/?>|$))", re.IGNORECASE), None, True),
    (re.compile(_OPEN_CLOSE_TAG + r"\s*$"), None, False),
)

# Fast paths for the definition parser.
_LABEL_STOP_RE = re.compile(r"[\[\]\n\\]")
_PLAIN_DEST_RE = re.compile(r"[^\x00-\x20\x7f\\()]*")
_ANGLE_STOP_RE = re.compile(r"[\n<>\\]")
_SPACES_RE = re.compile(r"[ \t]*")
_SIMPLE_DEF_RE = re.compile(r"\[([^\[\]\\\n]{1,999})\]:[ \t]*([^\x00-\x20\x7f\\()<]+)[ \t]*\Z")
_DIGITS = frozenset("0123456789")
# First characters that may start a block which interrupts a paragraph.
_INTERRUPT_START = frozenset("`~>*-_+0123456789<#")
_FRONT_MATTER_RE = re.compile(r"---[ \t]*\n(?:.*\n)*?(?:---|\.\.\.)[ \t]*(?:\n|\Z)")


# Bare reference lines.
_BARE_URL_RE = re.compile(r"(?i:https?)://[^\s<>\"'`\\]+")
_BARE_TAIL_RE = re.compile(r"\\?[ \t]*")
_BARE_BEFORE = frozenset(" \t:：】》」』”\"]")
_BARE_PUNCT = frozenset(".,;:!?。，；：！？、")
_BARE_CLOSERS = {"【": "】", "《": "》", "「": "」", "『": "』", "“": "”", '"': '"', "[": "]"}
_BARE_MARKER_EXTRA = frozenset("\u200d\ufe0f\ufe0e\u20e3")
_BARE_MAX_MARKER = 8
_BARE_MAX_CAPTION = 100
_IPV4_RE = re.compile(r"[0-9.]+")


def _marker_end(text: str) -> int:
    """Length of the leading run of emoji/symbol characters of `text` (0 if none or too long)."""
    from unicodedata import category

    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch < "\x80":
            break
        if ch in _BARE_MARKER_EXTRA or category(ch) in ("So", "Sm", "Sk"):
            i += 1
            continue
        break
    return i if i <= _BARE_MAX_MARKER else 0


def _public_host(url: str) -> bool:
    """Whether the URL's host looks like a public web host (a dot, not an IP address, not localhost)."""
    host = url.split("/", 3)[2].rpartition("@")[2]
    if host.startswith("["):
        return False
    host = host.split(":", 1)[0].rstrip(".").lower()
    return "." in host and not _IPV4_RE.fullmatch(host) and not host.endswith((".localhost", ".local"))


def _continues_sentence(prev: str | None) -> bool:
    if not prev:
        return False
    tail = prev.rstrip(" \t\\")
    return bool(tail) and (tail[-1].isalnum() or tail[-1] in ",，、")


def bare_reference(text: str, prev: str | None = None) -> tuple[str, str | None, str, str | None] | None:
    """(url, title, label, marker) when `text` (one paragraph line, container markers removed) is a bare
    reference line. `prev`: the previous line of the paragraph, None when there is none or it was a bare
    reference line itself."""
    end = len(text)
    i = text.rfind("://", 0, end)
    if i < 4 or (text[0] == "[" and "]:" in text):  # definition syntax: CommonMark alone decides
        return None
    start = i - 5 if i >= 5 and text[i - 5 : i].lower() == "https" else i - 4
    if text[start : start + 4].lower() != "http":
        return None
    m = _BARE_URL_RE.match(text, start)
    if m is None or _BARE_TAIL_RE.match(text, m.end()).end() != end:  # type: ignore[union-attr]  # a * pattern: always matches
        return None
    if start and text[start - 1] not in _BARE_BEFORE:
        return None
    url = m.group()
    if url[-1] in _BARE_PUNCT or (url[-1] == ")" and url.count("(") < url.count(")")) or not _public_host(url):
        return None
    prefix = text[:start].strip()
    if not prefix:
        return None if _continues_sentence(prev) else (url, None, "", None)
    caption = prefix[-1] in ":："
    if caption:
        prefix = prefix[:-1].rstrip()
    k = _marker_end(prefix)
    marker = prefix[:k] or None
    rest = prefix[k:].lstrip()
    if marker is not None and k < len(prefix) and not prefix[k].isspace() and rest:
        return None  # a symbol glued to a word is text, not a marker
    if not rest:
        return url, None, "", marker
    close = _BARE_CLOSERS.get(rest[0])
    if close is not None and len(rest) > 2 and rest[-1] == close and close not in rest[1:-1] and not caption:
        title = _MD_WS_RE.sub(" ", _unescape(rest[1:-1]).strip(_MD_TRIM_CHARS))
        return (url, title, title, marker) if title else None
    if caption and len(rest) <= _BARE_MAX_CAPTION and "://" not in rest:
        return url, None, _unescape(rest), marker
    return None


class _Parser:
    """markdown-it's StateBlock plus the block rules, reduced to what finds definitions."""

    __slots__ = (
        "annot_blocks",
        "bMarks",
        "bare",
        "blkIndent",
        "bsCount",
        "defs",
        "eMarks",
        "level",
        "line",
        "lineMax",
        "listIndent",
        "parentType",
        "sCount",
        "src",
        "tShift",
        "unclosed_fence",
    )

    def __init__(self, src: str) -> None:
        self.src = src
        lines = src.split("\n")
        if src.endswith("\n"):
            lines.pop()
        elif not lines[-1].strip(" \t"):
            lines.pop()  # markdown-it gives a final whitespace-only line without "\n" no marker
        n = len(lines)
        lens = list(map(len, lines))
        tshift = list(map(sub, lens, map(len, [ln.lstrip(" \t") for ln in lines])))
        bmarks = [0, *accumulate([ln + 1 for ln in lens])]
        bmarks[n] = len(src)
        emarks = list(map(add, bmarks, lens))
        emarks.append(len(src))
        scount = tshift[:]
        if "\t" in src:
            for i, ln in enumerate(lines):
                t = tshift[i]
                if t and "\t" in ln[:t]:
                    off = 0
                    for ch in ln[:t]:
                        off += 4 - off % 4 if ch == "\t" else 1
                    scount[i] = off
        tshift.append(0)
        scount.append(0)
        self.bMarks = bmarks
        self.eMarks = emarks
        self.tShift = tshift
        self.sCount = scount
        self.bsCount = [0] * (n + 1)
        self.blkIndent = 0
        self.line = 0
        self.lineMax = n
        self.listIndent = -1
        self.parentType = "root"
        self.level = 0
        # each: (start line, end line excl., key, label, dest, title or None)
        self.defs: list[tuple[int, int, str, str, str, str | None]] = []
        # annotation source per definition index, cut while the container's line marks are in effect
        self.annot_blocks: dict[int, str] = {}
        self.unclosed_fence = -1
        # bare reference lines: (line index, url, title, label, marker)
        self.bare: list[tuple[int, str, str | None, str, str | None]] = []

    # --- helpers ---------------------------------------------------------------------------------------------

    def is_empty(self, line: int) -> bool:
        return bool(self.bMarks[line] + self.tShift[line] >= self.eMarks[line])

    def skip_spaces(self, pos: int) -> int:
        src = self.src
        n = len(src)
        while pos < n and src[pos] in " \t":
            pos += 1
        return pos

    def get_lines(self, begin: int, end: int, indent: int) -> str:
        """Source of lines [begin, end) with `indent` columns of indentation removed (markdown-it getLines)."""
        src, bmarks, emarks, tshift, bscount = self.src, self.bMarks, self.eMarks, self.tShift, self.bsCount
        out = []
        for line in range(begin, end):
            line_indent = 0
            first = line_start = bmarks[line]
            last = emarks[line] + 1 if line + 1 < end else emarks[line]
            while first < last and line_indent < indent:
                ch = src[first]
                if ch == "\t":
                    line_indent += 4 - (line_indent + bscount[line]) % 4
                elif ch == " " or first - line_start < tshift[line]:
                    line_indent += 1
                else:
                    break
                first += 1
            if line_indent > indent:
                out.append(" " * (line_indent - indent) + src[first:last])
            else:
                out.append(src[first:last])
        return "".join(out)

    # --- block loop ------------------------------------------------------------------------------------------

    def tokenize(self, start_line: int, end_line: int) -> None:
        bmarks, emarks, tshift, scount, src = self.bMarks, self.eMarks, self.tShift, self.sCount, self.src
        line = start_line
        defs = self.defs
        # Annotation tracking: the definition whose note we are collecting, the span so far.
        target = -1
        span_start = span_end = -1
        while line < end_line:
            # skipEmptyLines
            line_max = self.lineMax
            while line < line_max and bmarks[line] + tshift[line] >= emarks[line]:
                line += 1
            self.line = line
            if line >= end_line:
                break
            sc = scount[line]
            if sc < self.blkIndent:
                break
            if self.level >= _MAX_NESTING:
                self.line = end_line
                break
            ndefs = len(defs)
            kind = self._block(line, end_line)
            # kind: 0 = content block, 1 = definition, 2 = heading / thematic break
            if kind == 1:
                if target >= 0 and span_start >= 0:
                    self.annot_blocks[target] = self.get_lines(span_start, span_end, self.blkIndent)
                target = len(defs) - 1
                span_start = -1
            elif target >= 0:
                if kind == 2 or len(defs) != ndefs:
                    if span_start >= 0:
                        self.annot_blocks[target] = self.get_lines(span_start, span_end, self.blkIndent)
                    target = -1
                else:
                    if span_start < 0:
                        span_start = line
                    span_end = self.line
            line = self.line
            if line < end_line and bmarks[line] + tshift[line] >= emarks[line]:
                line += 1
                self.line = line
        if target >= 0 and span_start >= 0:
            self.annot_blocks[target] = self.get_lines(span_start, span_end, self.blkIndent)
        del src

    def _block(self, line: int, end_line: int) -> int:
        """Run the first matching block rule at `line`; return its kind (see tokenize)."""
        sc = self.sCount[line]
        if sc - self.blkIndent >= 4:
            self._code(line, end_line)
            return 0
        pos = self.bMarks[line] + self.tShift[line]
        ch = self.src[pos]
        if ch in "`~" and self._fence(line, end_line):
            return 0
        if ch == ">":
            self._blockquote(line, end_line)
            return 0
        if ch in "*-_" and self._hr(line):
            self.line = line + 1
            return 2
        if (ch in "*-+" or ch in _DIGITS) and self._list(line, end_line, False, ""):
            return 0
        if ch == "[" and self._reference(line):
            return 1
        if ch == "<" and self._html_block(line, end_line, False):
            return 0
        if ch == "#" and self._heading(line):
            self.line = line + 1
            return 2
        return self._paragraph(line, end_line)

    def _terminates(self, line: int, parent: str) -> bool:
        """Whether a block starting at `line` may interrupt a paragraph/quote/definition (silent rules)."""
        if self.sCount[line] - self.blkIndent >= 4:
            return False
        pos = self.bMarks[line] + self.tShift[line]
        if pos >= self.eMarks[line]:
            return False
        ch = self.src[pos]
        if ch not in _INTERRUPT_START:
            return False
        if ch in "`~":
            return self._fence_open(line) > 0
        if ch == ">":
            return True
        if ch in "*-_" and self._hr(line):
            return True
        if (ch in "*-+" or ch in _DIGITS) and self._list(line, 0, True, parent):
            return True
        if ch == "<":
            return self._html_block(line, 0, True)
        if ch == "#":
            return self._heading(line)
        return False

    def _terminates_list(self, line: int) -> bool:
        """Terminator rules of a list (fence, blockquote, hr), after the code-block check done by the caller."""
        pos = self.bMarks[line] + self.tShift[line]
        if pos >= self.eMarks[line]:
            return False
        ch = self.src[pos]
        if ch in "`~":
            return self._fence_open(line) > 0
        if ch == ">":
            return True
        return ch in "*-_" and self._hr(line)

    # --- leaf rules ------------------------------------------------------------------------------------------

    def _code(self, line: int, end_line: int) -> None:
        scount, blk = self.sCount, self.blkIndent
        last = nxt = line + 1
        while nxt < end_line:
            if self.is_empty(nxt):
                nxt += 1
                continue
            if scount[nxt] - blk >= 4:
                nxt += 1
                last = nxt
                continue
            break
        self.line = last

    def _fence_open(self, line: int) -> int:
        """Length of the opening fence at `line`, or 0."""
        src = self.src
        pos = self.bMarks[line] + self.tShift[line]
        mx = self.eMarks[line]
        if pos + 3 > mx:
            return 0
        marker = src[pos]
        end = pos + 1
        while end < mx and src[end] == marker:
            end += 1
        length = end - pos
        if length < 3:
            return 0
        if marker == "`" and "`" in src[end:mx]:
            return 0
        return int(length)

    def _fence(self, line: int, end_line: int) -> bool:
        length = self._fence_open(line)
        if not length:
            return False
        src, bmarks, emarks, tshift, scount = self.src, self.bMarks, self.eMarks, self.tShift, self.sCount
        blk = self.blkIndent
        marker = src[bmarks[line] + tshift[line]]
        nxt = line
        closed = False
        while True:
            nxt += 1
            if nxt >= end_line:
                break
            pos = bmarks[nxt] + tshift[nxt]
            mx = emarks[nxt]
            if pos < mx and scount[nxt] < blk:
                break
            if pos >= len(src):
                break
            if src[pos] != marker:
                continue
            if scount[nxt] - blk >= 4:
                continue
            end = pos
            while end < mx and src[end] == marker:
                end += 1
            if end - pos < length:
                continue
            if self.skip_spaces(end) < mx:
                continue
            closed = True
            break
        if not closed and nxt >= self.lineMax and self.unclosed_fence < 0:
            self.unclosed_fence = line
        self.line = nxt + (1 if closed else 0)
        return True

    def _hr(self, line: int) -> bool:
        src = self.src
        pos = self.bMarks[line] + self.tShift[line]
        mx = self.eMarks[line]
        marker = src[pos]
        cnt = 1
        pos += 1
        while pos < mx:
            ch = src[pos]
            pos += 1
            if ch == marker:
                cnt += 1
            elif ch != " " and ch != "\t":
                return False
        return cnt >= 3

    def _heading(self, line: int) -> bool:
        src = self.src
        pos = self.bMarks[line] + self.tShift[line]
        mx = self.eMarks[line]
        if pos >= mx:
            return False
        level = 1
        pos += 1
        while pos < mx and src[pos] == "#" and level <= 6:
            level += 1
            pos += 1
        return not (level > 6 or (pos < mx and src[pos] not in " \t"))

    def _html_block(self, line: int, end_line: int, silent: bool) -> bool:
        src = self.src
        pos = self.bMarks[line] + self.tShift[line]
        mx = self.eMarks[line]
        text = src[pos:mx]
        seq = None
        for s in _HTML_SEQUENCES:
            if s[0].match(text):
                seq = s
                break
        if seq is None:
            return False
        if silent:
            return seq[2]
        end_re = seq[1]
        nxt = line + 1
        if end_re is None or not end_re.search(text):
            scount, blk, bmarks, emarks, tshift = self.sCount, self.blkIndent, self.bMarks, self.eMarks, self.tShift
            while nxt < end_line:
                empty = bmarks[nxt] + tshift[nxt] >= emarks[nxt]
                if scount[nxt] < blk and (end_re is None or not empty):
                    break
                if end_re is None:
                    if empty:
                        break
                elif end_re.search(src, bmarks[nxt] + tshift[nxt], emarks[nxt]):
                    if not empty:
                        nxt += 1
                    break
                nxt += 1
        self.line = nxt
        return True

    def _paragraph(self, line: int, end_line: int) -> int:
        """lheading, falling back to paragraph; returns 2 for a setext heading, else 0."""
        src, bmarks, emarks, tshift, scount = self.src, self.bMarks, self.eMarks, self.tShift, self.sCount
        blk = self.blkIndent
        nxt = line + 1
        heading = False
        limit = end_line
        while nxt < limit:
            pos = bmarks[nxt] + tshift[nxt]
            mx = emarks[nxt]
            if pos >= mx:
                break
            sc = scount[nxt]
            if sc - blk > 3:
                nxt += 1
                continue
            ch = src[pos]
            if sc >= blk and ch in "-=":
                end = pos
                while end < mx and src[end] == ch:
                    end += 1
                while end < mx and src[end] in " \t":
                    end += 1
                if end >= mx:
                    heading = True
                    break
            if sc < 0:
                nxt += 1
                continue
            if ch in _INTERRUPT_START and self._terminates(nxt, "paragraph"):
                break
            nxt += 1
        else:
            # lheading stops at end_line, paragraph at lineMax: continue the paragraph if they differ
            line_max = self.lineMax
            while nxt < line_max:
                pos = bmarks[nxt] + tshift[nxt]
                if pos >= emarks[nxt]:
                    break
                sc = scount[nxt]
                if sc - blk > 3 or sc < 0:
                    nxt += 1
                    continue
                if src[pos] in _INTERRUPT_START and self._terminates(nxt, "paragraph"):
                    break
                nxt += 1
        if heading:
            self.line = nxt + 1
            return 2
        self.line = nxt
        if src.find("://", bmarks[line], emarks[nxt - 1]) >= 0:
            self._bare_lines(line, nxt)
        return 0

    def _bare_lines(self, line: int, end: int) -> None:
        """Record the bare reference lines of the paragraph on lines [line, end)."""
        src, bmarks, emarks, tshift = self.src, self.bMarks, self.eMarks, self.tShift
        prev: str | None = None
        for ln in range(line, end):
            text = src[bmarks[ln] + tshift[ln] : emarks[ln]]
            found = bare_reference(text, prev) if "://" in text else None
            if found is not None:
                self.bare.append((ln, *found))
                prev = None
            else:
                prev = text

    # --- containers ------------------------------------------------------------------------------------------

    def _blockquote(self, start_line: int, end_line: int) -> None:
        src, bmarks, emarks, tshift, scount, bscount = (
            self.src,
            self.bMarks,
            self.eMarks,
            self.tShift,
            self.sCount,
            self.bsCount,
        )
        old_line_max = self.lineMax
        saved: list[tuple[int, int, int, int]] = []
        old_parent = self.parentType
        self.parentType = "blockquote"
        last_line_empty = False
        nxt = start_line
        while nxt < end_line:
            is_outdented = scount[nxt] < self.blkIndent
            pos = bmarks[nxt] + tshift[nxt]
            mx = emarks[nxt]
            if nxt != start_line and pos >= mx:
                break
            if src[pos] == ">" and (nxt == start_line or not is_outdented):
                pos += 1
                initial = offset = scount[nxt] + 1
                second = src[pos] if pos < len(src) else ""
                adjust_tab = False
                if second == " ":
                    pos += 1
                    initial += 1
                    offset += 1
                    space_after = True
                elif second == "\t":
                    space_after = True
                    if (bscount[nxt] + offset) % 4 == 3:
                        pos += 1
                        initial += 1
                        offset += 1
                    else:
                        adjust_tab = True
                else:
                    space_after = False
                saved.append((bmarks[nxt], tshift[nxt], scount[nxt], bscount[nxt]))
                bmarks[nxt] = pos
                while pos < mx:
                    ch = src[pos]
                    if ch == "\t":
                        offset += 4 - (offset + bscount[nxt] + (1 if adjust_tab else 0)) % 4
                    elif ch == " ":
                        offset += 1
                    else:
                        break
                    pos += 1
                last_line_empty = pos >= mx
                bscount[nxt] = scount[nxt] + 1 + (1 if space_after else 0)
                scount[nxt] = offset - initial
                tshift[nxt] = pos - bmarks[nxt]
                nxt += 1
                continue
            if last_line_empty:
                break
            if self._terminates(nxt, "blockquote"):
                self.lineMax = nxt
                if self.blkIndent != 0:
                    saved.append((bmarks[nxt], tshift[nxt], scount[nxt], bscount[nxt]))
                    scount[nxt] -= self.blkIndent
                break
            saved.append((bmarks[nxt], tshift[nxt], scount[nxt], bscount[nxt]))
            scount[nxt] = -1  # lazy continuation line
            nxt += 1
        old_indent = self.blkIndent
        self.blkIndent = 0
        self.level += 1
        self.tokenize(start_line, nxt)
        self.level -= 1
        self.lineMax = old_line_max
        self.parentType = old_parent
        for i, (b, t, s, bs) in enumerate(saved):
            ln = start_line + i
            bmarks[ln] = b
            tshift[ln] = t
            scount[ln] = s
            bscount[ln] = bs
        self.blkIndent = old_indent

    def _ordered_marker(self, line: int) -> int:
        src = self.src
        start = pos = self.bMarks[line] + self.tShift[line]
        mx = self.eMarks[line]
        if pos + 1 >= mx:
            return -1
        if src[pos] not in _DIGITS:
            return -1
        pos += 1
        while True:
            if pos >= mx:
                return -1
            ch = src[pos]
            pos += 1
            if ch in _DIGITS:
                if pos - start >= 10:
                    return -1
                continue
            if ch == ")" or ch == ".":
                break
            return -1
        if pos < mx and src[pos] not in " \t":
            return -1
        return int(pos)

    def _bullet_marker(self, line: int) -> int:
        src = self.src
        pos = self.bMarks[line] + self.tShift[line]
        mx = self.eMarks[line]
        if pos >= len(src) or src[pos] not in "*-+":
            return -1
        pos += 1
        if pos < mx and src[pos] not in " \t":
            return -1
        return int(pos)

    def _list(self, start_line: int, end_line: int, silent: bool, parent: str) -> bool:
        src, bmarks, tshift, scount, bscount, emarks = (
            self.src,
            self.bMarks,
            self.tShift,
            self.sCount,
            self.bsCount,
            self.eMarks,
        )
        if self.listIndent >= 0 and scount[start_line] - self.listIndent >= 4 and scount[start_line] < self.blkIndent:
            return False
        terminating = silent and parent == "paragraph" and scount[start_line] >= self.blkIndent
        pos_after = self._ordered_marker(start_line)
        if pos_after >= 0:
            ordered = True
            start = bmarks[start_line] + tshift[start_line]
            if terminating and int(src[start : pos_after - 1]) != 1:
                return False
        else:
            pos_after = self._bullet_marker(start_line)
            if pos_after < 0:
                return False
            ordered = False
        if terminating and self.skip_spaces(pos_after) >= emarks[start_line]:
            return False
        if silent:
            return True
        marker_char = src[pos_after - 1]
        nxt = start_line
        old_parent = self.parentType
        self.parentType = "list"
        self.level += 1
        while nxt < end_line:
            pos = pos_after
            mx = emarks[nxt]
            initial = offset = scount[nxt] + pos_after - (bmarks[start_line] + tshift[start_line])
            while pos < mx:
                ch = src[pos]
                if ch == "\t":
                    offset += 4 - (offset + bscount[nxt]) % 4
                elif ch == " ":
                    offset += 1
                else:
                    break
                pos += 1
            content_start = pos
            indent_after = 1 if content_start >= mx else offset - initial
            if indent_after > 4:
                indent_after = 1
            indent = initial + indent_after
            old_tshift = tshift[start_line]
            old_scount = scount[start_line]
            old_list_indent = self.listIndent
            self.listIndent = self.blkIndent
            self.blkIndent = indent
            tshift[start_line] = content_start - bmarks[start_line]
            scount[start_line] = offset
            self.level += 1
            if content_start >= mx and self.is_empty(start_line + 1):
                self.line = min(self.line + 2, end_line)
            else:
                self.tokenize(start_line, end_line)
            self.level -= 1
            self.blkIndent = self.listIndent
            self.listIndent = old_list_indent
            tshift[start_line] = old_tshift
            scount[start_line] = old_scount
            nxt = start_line = self.line
            if nxt >= end_line:
                break
            if scount[nxt] < self.blkIndent:
                break
            if scount[start_line] - self.blkIndent >= 4:
                break
            if self._terminates_list(nxt):
                break
            if ordered:
                pos_after = self._ordered_marker(nxt)
                if pos_after < 0:
                    break
            else:
                pos_after = self._bullet_marker(nxt)
                if pos_after < 0:
                    break
            if marker_char != src[pos_after - 1]:
                break
        self.level -= 1
        self.line = nxt
        self.parentType = old_parent
        return True

    # --- link reference definition ---------------------------------------------------------------------------

    def _next_line(self, nxt: int) -> str | None:
        """The next line's text (indent removed, with its newline) if it may continue a definition."""
        if nxt >= self.lineMax or self.is_empty(nxt):
            return None
        if not (self.sCount[nxt] - self.blkIndent >= 4 or self.sCount[nxt] < 0) and self._terminates(nxt, "reference"):
            return None
        return self.src[self.bMarks[nxt] + self.tShift[nxt] : self.eMarks[nxt] + 1]

    def _skip_spaces(self, string: str, pos: int, nxt: int) -> tuple[str, int, int]:
        """Skip spaces, tabs and newlines from `pos`, appending each next line that may continue the definition
        to `string`. Returns (string, position of the next other character or the end, next line index)."""
        pos = _SPACES_RE.match(string, pos).end()  # type: ignore[union-attr]  # a * pattern: always matches
        mx = len(string)
        while pos < mx:
            ch = string[pos]
            if ch == "\n":
                if (more := self._next_line(nxt)) is not None:
                    string += more
                    mx = len(string)
                    nxt += 1
            elif ch != " " and ch != "\t":
                break
            pos += 1
        return string, pos, nxt

    def _reference(self, start_line: int) -> bool:
        src = self.src
        # Fast path for the usual one-line `[label]: url` whose next line cannot hold a title.
        m = _SIMPLE_DEF_RE.match(src, self.bMarks[start_line] + self.tShift[start_line], self.eMarks[start_line])
        if m is not None:
            nxt = start_line + 1
            pos = self.bMarks[nxt] + self.tShift[nxt] if nxt < self.lineMax else 0
            # A slice, not an index: a last line of only blockquote markers and spaces starts at the end of the text.
            if nxt >= self.lineMax or src[pos:pos + 1] not in ("\"", "'", "("):
                raw_label = m.group(1)
                key, label = _key_and_label(raw_label)
                if key:
                    self.defs.append((start_line, nxt, key, label, _unescape(m.group(2)), None))
                    self.line = nxt
                    return True
        string = src[self.bMarks[start_line] + self.tShift[start_line] : self.eMarks[start_line] + 1]
        nxt = start_line + 1
        mx = len(string)
        label_end = -1
        pos = 1
        search = _LABEL_STOP_RE.search
        while pos < mx:
            m = search(string, pos)
            if m is None:
                break
            pos = m.start()
            ch = string[pos]
            if ch == "[":
                return False
            if ch == "]":
                label_end = pos
                break
            if ch == "\n":
                if (more := self._next_line(nxt)) is not None:
                    string += more
                    mx = len(string)
                    nxt += 1
            else:  # backslash
                pos += 1
                if pos < mx and string[pos] == "\n" and (more := self._next_line(nxt)) is not None:
                    string += more
                    mx = len(string)
                    nxt += 1
            pos += 1
        if label_end < 0 or label_end + 1 >= mx or string[label_end + 1] != ":":
            return False
        raw_label = string[1:label_end]
        if len(raw_label) > MAX_LABEL_CHARS:
            return False

        # spaces and newlines before the destination
        string, pos, nxt = self._skip_spaces(string, label_end + 2, nxt)
        mx = len(string)

        # destination
        dest_start = pos
        if pos < mx and string[pos] == "<":
            pos += 1
            while True:
                m = _ANGLE_STOP_RE.search(string, pos)
                if m is None:
                    return False
                pos = m.start()
                ch = string[pos]
                if ch == ">":
                    dest = _unescape(string[dest_start + 1 : pos])
                    pos += 1
                    break
                if ch == "\\" and pos + 1 < mx:
                    pos += 2
                    continue
                if ch == "\\":
                    pos += 1
                    continue
                return False  # newline or "<"
        else:
            level = 0
            while pos < mx:
                pos = _PLAIN_DEST_RE.match(string, pos).end()  # type: ignore[union-attr]  # a * pattern: always matches
                if pos >= mx:
                    break
                ch = string[pos]
                if ch == "\\":
                    if pos + 1 < mx:
                        if string[pos + 1] == " ":
                            break
                        pos += 2
                        continue
                    pos += 1
                    continue
                if ch == "(":
                    level += 1
                    if level > 32:
                        return False
                elif ch == ")":
                    if level == 0:
                        break
                    level -= 1
                else:
                    break  # space or control character
                pos += 1
            if pos == dest_start or level != 0:
                return False
            dest = _unescape(string[dest_start:pos])

        dest_end_pos = pos
        dest_end_line = nxt

        # spaces before the title
        start = pos
        string, pos, nxt = self._skip_spaces(string, pos, nxt)
        mx = len(string)

        # markdown-it quirk kept for agreement: the "whitespace before the title" test uses the position where
        # the last title line was appended, so a multi-line title may directly follow `<dest>`.
        title: str | None = None
        ok = False
        ppos = pos
        tpos = tstart = pos + 1
        if pos < mx and string[pos] in "\"'(":
            close = ")" if string[pos] == "(" else string[pos]
            while True:
                while tpos < mx:
                    ch = string[tpos]
                    if ch == close:
                        ok = True
                        break
                    if ch == "(" and close == ")":
                        break
                    if ch == "\\" and tpos + 1 < mx:
                        tpos += 1
                    tpos += 1
                if ok or tpos < mx:
                    break
                more = self._next_line(nxt)
                if more is None:
                    break
                ppos = mx
                string += more
                mx = len(string)
                nxt += 1
        if ok and ppos < mx and start != ppos:
            title = _unescape(string[tstart:tpos])
            pos = tpos + 1
        else:
            pos = dest_end_pos
            nxt = dest_end_line

        # rest of the line must be blank
        while pos < mx and string[pos] in " \t":
            pos += 1
        if pos < mx and string[pos] != "\n" and title:  # markdown-it tests truthiness: "" keeps garbage
            # garbage after the title: it may still be a definition without one
            title = None
            pos = dest_end_pos
            nxt = dest_end_line
            while pos < mx and string[pos] in " \t":
                pos += 1
        if pos < mx and string[pos] != "\n":
            return False
        key, label = _key_and_label(raw_label)
        if not key:
            return False
        self.defs.append((start_line, nxt, key, label, dest, title or None))
        self.line = nxt
        return True


def _strip_front_matter(text: str) -> str:
    """Blank out a YAML front matter block, keeping line numbers."""
    if not text.startswith("---"):
        return text
    m = _FRONT_MATTER_RE.match(text)
    if m is None:
        return text
    block = m.group(0)
    return "\n" * block.count("\n") + text[m.end() :]


def prepare_text(text: str) -> str:
    """Normalise line endings, drop a BOM, replace NUL and blank out front matter (line numbers kept)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    return _strip_front_matter(text)


def scan_markdown(text: str) -> ScanResult:
    """All link reference definitions of a Markdown note, first per label, with duplicates and warnings."""
    result = ScanResult()
    src = prepare_text(text)
    if "]:" not in src and "://" not in src:  # every definition has `]:` after its label; bare lines a URL
        return result
    parser = _Parser(src)
    parser.tokenize(0, parser.lineMax)
    first_line: dict[str, int] = {}
    annot = parser.annot_blocks
    for i, (start, end, key, label, dest, title) in enumerate(parser.defs):
        note = None
        if i in annot:
            note = annot[i].strip() or None
        d = Definition(label, dest, title, start + 1, note, end, key)
        if key in first_line:
            result.duplicates.append(d)
            result.warnings.append(
                ScanWarning(start + 1, f'duplicate label "{label}" (first defined on line {first_line[key]}); ignored')
            )
        else:
            first_line[key] = start + 1
            result.definitions.append(d)
    if parser.unclosed_fence >= 0:
        result.warnings.append(
            ScanWarning(parser.unclosed_fence + 1, "code fence is never closed; it runs to the end of the note")
        )
    result.warnings.sort(key=lambda w: w.line)
    result.bare = [BareReference(ln + 1, url, title, label, marker) for ln, url, title, label, marker in parser.bare]
    return result
