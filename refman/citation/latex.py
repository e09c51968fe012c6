"""Text ↔ LaTeX for .bib fields: normalisation, escaping, and the inverse (decoding) for imports and tests.

Normalisation (applied to every text field before escaping; tests compare values after it):
- all Unicode whitespace runs (tabs, newlines, no-break, thin, narrow, ideographic spaces …) → one space, and
  leading/trailing space is dropped;
- zero-width characters (U+200B–U+200D, U+2060, U+FEFF, soft hyphen) and other control characters are dropped;
- in text without CJK characters, fullwidth ASCII forms (U+FF01–U+FF5E) fold to ASCII (NFKC); Chinese text keeps
  its fullwidth punctuation.

Escaping (EXPORT-NOTES.md): `& % $ # _` → `\\&` …; `{ }` → `\\{ \\}` when they pair up, else
`\\textbraceleft{}`/`\\textbraceright{}` (BibTeX counts escaped braces too, so an unpaired `\\{` would break the
entry); `~ ^ \\` → `\\textasciitilde{}`, `\\textasciicircum{}`, `\\textbackslash{}`; a literal `--` is kept from
turning into a dash as `-{}-` (and ``` `` ```, `''` likewise). With `ascii=True` Latin accents become
braced LaTeX (`{\\'e}`, `{\\"i}`, `{\\c{c}}`), typographic quotes, dashes and ellipsis become text commands
(`\\textquoteright{}`…); characters with no LaTeX form (CJK, emoji) stay UTF-8."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from refman.vocabulary import CJK_LETTERS, HAN_COMPATIBILITY

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_CONTROL = dict.fromkeys([*range(0, 32), 127, *range(0x80, 0xA0)], " ")
_FULLWIDTH = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
# CJK letters and compatibility ideographs, with radicals, CJK punctuation (U+3000–303F: 、。「」) and Bopomofo
_CJK = re.compile(f"[\u2e80-\u2fdf\u3000-\u303f\u3100-\u31ff{CJK_LETTERS}{HAN_COMPATIBILITY}]")
_CLEAN_TABLE = {**_ZERO_WIDTH, **_CONTROL}
_CLEAN_FOLD_TABLE = {**_CLEAN_TABLE, **_FULLWIDTH}


def normalise(text: str) -> str:
    """The documented normalisation of a text field (see the module docstring)."""
    if text.isascii() and text.isprintable() and "  " not in text and text == text.strip():
        return text  # the common case, fast
    table = _CLEAN_TABLE if _CJK.search(text) else _CLEAN_FOLD_TABLE
    return " ".join(text.translate(table).split())


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


# ---- escaping -------------------------------------------------------------------------------------------

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_BASIC = str.maketrans({**_SPECIAL, "{": r"\{", "}": r"\}"})
_UNPAIRED = str.maketrans({**_SPECIAL, "{": r"\textbraceleft{}", "}": r"\textbraceright{}"})
_NEEDS_ESCAPE = re.compile(r"[\\&%$#_~^{}]|--|``|''")
_LIGATURES = (("--", "-{}-"), ("``", "`{}`"), ("''", "'{}'"))

_ACCENTS = {  # combining mark → LaTeX accent command
    "\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0308": '"', "\u0304": "=", "\u0307": ".",
    "\u030a": "r", "\u030c": "v", "\u0306": "u", "\u0327": "c", "\u0328": "k", "\u030b": "H", "\u0323": "d",
    "\u0331": "b",
}
_LETTERS = {
    "ß": r"{\ss}", "æ": r"{\ae}", "Æ": r"{\AE}", "œ": r"{\oe}", "Œ": r"{\OE}", "ø": r"{\o}", "Ø": r"{\O}",
    "å": r"{\aa}", "Å": r"{\AA}", "ł": r"{\l}", "Ł": r"{\L}", "ı": r"{\i}", "ȷ": r"{\j}",
    "\u2013": r"\textendash{}", "\u2014": r"\textemdash{}", "\u2018": r"\textquoteleft{}",
    "\u2019": r"\textquoteright{}", "\u201c": r"\textquotedblleft{}", "\u201d": r"\textquotedblright{}",
    "\u2026": r"\ldots{}", "\u00ab": r"\guillemotleft{}", "\u00bb": r"\guillemotright{}",
    "\u00a3": r"\pounds{}", "\u00a7": r"\S{}", "\u00b6": r"\P{}", "\u00a9": r"\textcopyright{}",
    "\u00ae": r"\textregistered{}", "\u2122": r"\texttrademark{}", "\u00b0": r"\textdegree{}",
    "\u00a1": r"\textexclamdown{}", "\u00bf": r"\textquestiondown{}", "\u2022": r"\textbullet{}",
    "\u20ac": r"\texteuro{}", "\u00d7": r"\texttimes{}", "\u00b1": r"\textpm{}", "\u2032": "'",
    "\u02bc": "'", "\u00b7": r"\textperiodcentered{}",
}


class _AsciiTable(dict[int, str]):
    """str.translate table computing LaTeX for non-ASCII characters on first use."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        out = _LETTERS.get(ch) or _accented(ch) or ch
        self[cp] = out
        return out


def _accented(ch: str) -> str | None:
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    if not marks or not base.isascii() or not base.isalpha() or any(m not in _ACCENTS for m in marks):
        return None
    text = base
    for mark in marks:
        cmd = _ACCENTS[mark]
        text = f"\\{cmd}{text}" if not cmd.isalpha() and len(text) == 1 else f"\\{cmd}{{{text}}}"
    return "{" + text + "}"


_ASCII_BASIC = _AsciiTable(_BASIC)
_ASCII_UNPAIRED = _AsciiTable(_UNPAIRED)


def _braces_pair(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


# Character by character as str.translate would, but through a regular expression that only stops at the
# characters that change: str.translate looks every character up in the table (3x slower on titles).
_SPECIAL_CHAR = re.compile(r"[\\&%$#_~^{}]")
_SPECIAL_OR_NON_ASCII = re.compile(r"[\\&%$#_~^{}\x80-\U0010ffff]")


def _by_table(table: dict[int, str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        return table[ord(match.group())]

    return replace


_SUB_BASIC = _by_table(_BASIC)
_SUB_UNPAIRED = _by_table(_UNPAIRED)
_SUB_ASCII_BASIC = _by_table(_ASCII_BASIC)
_SUB_ASCII_UNPAIRED = _by_table(_ASCII_UNPAIRED)


def escape(text: str, ascii: bool = False) -> str:
    """A normalised text value → the content of a braced .bib field."""
    if text.isascii() and not _NEEDS_ESCAPE.search(text):
        return text
    paired = ("{" not in text and "}" not in text) or _braces_pair(text)
    if ascii:
        out = _SPECIAL_OR_NON_ASCII.sub(_SUB_ASCII_BASIC if paired else _SUB_ASCII_UNPAIRED, text)
    else:
        out = _SPECIAL_CHAR.sub(_SUB_BASIC if paired else _SUB_UNPAIRED, text)
    for pair, broken in _LIGATURES:  # keep TeX from reading a literal -- `` '' as a dash or a curly quote
        if pair in out:
            out = out.replace(pair, broken).replace(pair, broken)
    return out


# ---- decoding -------------------------------------------------------------------------------------------

_DECODE_SYMBOLS = {
    "textbackslash": "\\", "textasciitilde": "~", "textasciicircum": "^", "textbraceleft": "{",
    "textbraceright": "}", "ldots": "…", "dots": "…", "textellipsis": "…", "guillemotleft": "«",
    "guillemotright": "»", "pounds": "£", "S": "§", "P": "¶", "textcopyright": "©", "textregistered": "®",
    "texttrademark": "™", "textdegree": "°", "textexclamdown": "¡", "textquestiondown": "¿", "textbullet": "•",
    "texteuro": "€", "euro": "€", "texttimes": "×", "textpm": "±", "textperiodcentered": "·", "ss": "ß",
    "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "o": "ø", "O": "Ø", "aa": "å", "AA": "Å", "l": "ł", "L": "Ł",
    "i": "ı", "j": "ȷ", "textendash": "–", "textemdash": "—", "textquoteleft": "‘", "textquoteright": "’",
    "textquotedblleft": "“", "textquotedblright": "”", "textunderscore": "_", "textdollar": "$",
    "textpercent": "%", "textampersand": "&", "textbar": "|", "textless": "<", "textgreater": ">",
    "slash": "/", "space": " ", "relax": "", "textsection": "§", "textasciigrave": "`", "LaTeX": "LaTeX",
    "TeX": "TeX",
}
_MARK_OF = {cmd: mark for mark, cmd in _ACCENTS.items()}
_DOTLESS = {"ı": "i", "ȷ": "j"}


# commands that only format their argument: the argument's text stays
_FORMATTING = {
    "emph", "textit", "textbf", "textsc", "texttt", "textrm", "textsf", "textup", "textsl", "textmd", "url",
    "mkbibquote", "enquote", "mbox", "hbox", "textnormal", "NoCaseChange", "nocase", "ensuremath", "uppercase",
    "lowercase", "MakeUppercase", "MakeLowercase", "it", "bf", "sc", "em", "tt", "rm", "sf", "sl", "upshape",
    "itshape", "bfseries", "scshape", "mdseries", "normalfont", "protect", "mkbibemph", "mkbibitalic",
    "mkbibbold", "textsuperscript", "textsubscript", "noopsort", "path", "doi", "nolinkurl",
}
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_DECODE_NEEDED = re.compile(r"[\\{}$~`'-]")
_MATH = re.compile(r"(?<!\\)\$|\\\(")  # $…$ or \(…\)


def decode(value: str) -> str:
    """LaTeX in a .bib field → plain Unicode text: the inverse of `escape` (both modes), plus what Zotero and
    Better BibTeX write (`\\'{e}`, `\\'e`, `{\\'\\i}`, `\\url{…}`, `\\emph{…}`, `--`, ``` `` ```/`''`, `~`).
    Formatting commands keep their argument text. Math (`$\\beta$`) and any other command (`\\textmu`,
    `\\textalpha`, `\\v{c}`…) go through pylatexenc's LaTeX-to-text converter, which knows them all (slower:
    only the few values that need it). The result is normalised."""
    if not _DECODE_NEEDED.search(value):
        return normalise(value)
    if ("\\" in value or "$" in value) and (_MATH.search(value) or any(
        c not in _DECODE_SYMBOLS and c not in _MARK_OF and c not in _FORMATTING for c in _COMMAND.findall(value)
    )):
        return _pylatexenc(value)
    out: list[str] = []
    i, n = 0, len(value)
    pending_accent: list[str] = []
    while i < n:
        ch = value[i]
        if ch == "\\":
            if i + 1 >= n:
                i += 1
                continue
            nxt = value[i + 1]
            if nxt.isalpha():
                j = i + 1
                while j < n and value[j].isalpha():
                    j += 1
                name = value[i + 1 : j]
                i = j
                # swallow one space or an empty {} group after a command word
                if value.startswith("{}", i):
                    i += 2
                elif i < n and value[i] == " " and (name in _DECODE_SYMBOLS or name in _MARK_OF):
                    i += 1
                if name in _MARK_OF:
                    pending_accent.append(_MARK_OF[name])
                    continue
                if name in _DECODE_SYMBOLS:
                    out.append(_DECODE_SYMBOLS[name])
                    if pending_accent and name in ("i", "j"):
                        out[-1] = _apply_accent(_DOTLESS[out[-1]], pending_accent)
                        pending_accent = []
                # other commands (\url, \emph, \textit, \mkbibquote …) vanish; their {argument} stays as text
                continue
            if nxt in _MARK_OF:
                pending_accent.append(_MARK_OF[nxt])
                i += 2
                continue
            out.append(nxt if nxt not in "\\" else "")  # \& \% \$ \# \_ \{ \} \, \  …
            if nxt == ",":
                out[-1] = "\u202f"
            elif nxt == " ":
                out[-1] = " "
            elif nxt in "-/":  # \- a discretionary hyphen, \/ an italic correction: nothing in text
                out[-1] = ""
            i += 2
            continue
        if ch in "{}":
            i += 1
            continue
        if pending_accent:
            if ch.isspace():
                i += 1
                continue
            out.append(_apply_accent(ch, pending_accent))
            pending_accent = []
            i += 1
            continue
        if ch == "-" and value.startswith("---", i):
            out.append("—")
            i += 3
        elif ch == "-" and value.startswith("--", i):
            out.append("–")
            i += 2
        elif ch == "`" and value.startswith("``", i):
            out.append("“")
            i += 2
        elif ch == "'" and value.startswith("''", i):
            out.append("”")
            i += 2
        elif ch == "~":
            out.append(" ")
            i += 1
        else:
            out.append(ch)
            i += 1
    return normalise("".join(out))


_CONVERTER: Any = None
_SYMBOL_COMMAND = re.compile(r"\\(" + "|".join(sorted((re.escape(k) for k in _DECODE_SYMBOLS if len(k) > 1),
                                                         key=len, reverse=True)) + r")(?![A-Za-z])(?:\{\})?")


def _pylatexenc(value: str) -> str:
    global _CONVERTER
    if _CONVERTER is None:
        from pylatexenc.latex2text import LatexNodes2Text

        _CONVERTER = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)
    # refman's own symbols first (pylatexenc drops \TeX, \LaTeX)
    value = _SYMBOL_COMMAND.sub(lambda m: _DECODE_SYMBOLS[m.group(1)], value)
    try:
        text = _CONVERTER.latex_to_text(value)
    except Exception:  # pylatexenc's own errors on broken input: the text without its markup
        text = _COMMAND.sub("", value).replace("$", "").replace("{", "").replace("}", "")
    return normalise(text)


def _apply_accent(ch: str, marks: list[str]) -> str:
    """Marks were read outermost first; the innermost one is the first combining character."""
    return unicodedata.normalize("NFC", ch + "".join(reversed(marks)))


def strip_outer_braces(value: str) -> str:
    """`{Title}` → `Title` when the braces enclose the whole value (title protection)."""
    while len(value) >= 2 and value[0] == "{" and value[-1] == "}" and _braces_pair(value[1:-1]):
        value = value[1:-1]
    return value
