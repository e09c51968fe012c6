"""A BibTeX/BibLaTeX reader that keeps everything and says where each problem is.

`parse_bib(text)` returns (entries, problems). It follows BibTeX's own grammar rather than a regular expression:
text outside `@…` blocks is a comment, and so is an `@` right after a `%` (`%@book{…`, biber's reading);
`@comment` and `@preamble` are skipped; `@string{name = value}` defines macros (the month macros `jan`…`dec` are
predefined); a value is a `{braced}` or `"quoted"` string, a number or a macro name, and `#` concatenates them.
Entries may be delimited by `{}` or `()`; the key may be empty (`@misc{,`); field names are case-insensitive.
Nothing is dropped silently:
- a field given twice is kept (both values, in order) and reported;
- an undefined macro is kept as its name and reported;
- a malformed entry is reported with its line number and skipped; parsing resumes at the next `@` that starts
  a line, so the rest of the file is read.
Values are returned as written between the outer delimiters (LaTeX is decoded later, per field)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

MONTH_MACROS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "may": "May", "jun": "June",
    "jul": "July", "aug": "August", "sep": "September", "oct": "October", "nov": "November", "dec": "December",
}
_IDENT = re.compile(r"[^\s\"#%'(),={}@]+")
_COMMENTED = re.compile(r"%[ \t%]*@\Z")  # `%` right before the `@` (JabRef's "% Encoding: X@article…" is not)
_BRACE = re.compile(r"(?<!\\)[{}]")  # an escaped brace (\{ \}) is text, as bibtexparser and biber read it
_ENTRY_START = re.compile(r"^[ \t]*@", re.M)


@dataclass
class BibEntry:
    type: str  # lower-cased entry type: article, online, …
    key: str  # "" for an entry without a key
    fields: list[tuple[str, str]]  # (lower-cased name, value with macros expanded) in file order
    line: int  # 1-based line of the `@`

    def first(self) -> dict[str, str]:
        """Field name → its first value."""
        out: dict[str, str] = {}
        for name, value in self.fields:
            out.setdefault(name, value)
        return out


@dataclass
class BibProblem:
    line: int
    message: str


@dataclass
class _State:
    text: str
    macros: dict[str, str] = field(default_factory=lambda: dict(MONTH_MACROS))
    problems: list[BibProblem] = field(default_factory=list)
    line_starts: list[int] = field(default_factory=list)

    def line(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos)


class _Syntax(Exception):
    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


def parse_bib(text: str) -> tuple[list[BibEntry], list[BibProblem]]:
    st = _State(text)
    st.line_starts = [0, *(m.end() for m in re.finditer(r"\n", text))]
    entries: list[BibEntry] = []
    pos, n = 0, len(text)
    while True:
        at = text.find("@", pos)
        if at < 0 or at >= n:
            break
        if _COMMENTED.search(text, max(0, at - 40), at + 1):  # `%@book{…`: commented out, as biber reads it
            pos = at + 1
            continue
        try:
            pos, entry = _block(st, at)
        except _Syntax as exc:
            st.problems.append(BibProblem(st.line(exc.pos), f"{exc.message} (entry at line {st.line(at)} skipped)"))
            m = _ENTRY_START.search(text, at + 1)
            pos = m.start() if m else n
            continue
        if entry is not None:
            entries.append(entry)
    _report_duplicate_fields(st, entries)
    return entries, st.problems


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos].isspace():
        pos += 1
    return pos


def _block(st: _State, at: int) -> tuple[int, BibEntry | None]:
    text = st.text
    m = _IDENT.match(text, at + 1)
    if not m:  # a stray "@" in comment text (an e-mail address)
        return at + 1, None
    kind = m.group(0).lower()
    pos = _skip_ws(text, m.end())
    if pos >= len(text) or text[pos] not in "{(":
        if kind in ("comment",):
            return pos, None
        # "@" inside free text such as "user@example.org": not an entry
        return m.end(), None
    close = "}" if text[pos] == "{" else ")"
    if kind == "comment":
        return _balanced_end(st, pos), None
    pos += 1
    if kind == "preamble":
        _, pos = _value(st, _skip_ws(text, pos))
        return _expect_close(st, pos, close), None
    if kind == "string":
        pos = _skip_ws(text, pos)
        name_m = _IDENT.match(text, pos)
        if not name_m:
            raise _Syntax(pos, "@string without a name")
        pos = _skip_ws(text, name_m.end())
        if pos >= len(text) or text[pos] != "=":
            raise _Syntax(pos, "expected '=' in @string")
        value, pos = _value(st, _skip_ws(text, pos + 1))
        st.macros[name_m.group(0).lower()] = value
        return _expect_close(st, pos, close), None
    # an entry: key, then fields
    pos = _skip_ws(text, pos)
    key_end = pos
    while key_end < len(text) and text[key_end] not in ",\n\r\t }" and not (close == ")" and text[key_end] == ")"):
        key_end += 1
    key = text[pos:key_end]
    after_key = _skip_ws(text, key_end)
    if "=" in key or (after_key < len(text) and text[after_key] == "="):  # no key: a field follows directly
        key, key_end = "", pos
    pos = _skip_ws(text, key_end)
    fields: list[tuple[str, str]] = []
    while True:
        while pos < len(text) and text[pos] == ",":  # also an empty field between two commas
            pos = _skip_ws(text, pos + 1)
        if pos >= len(text):
            raise _Syntax(pos, "file ends inside an entry (unbalanced braces?)")
        if text[pos] == close:
            return pos + 1, BibEntry(kind, key, fields, st.line(at))
        name_m = _IDENT.match(text, pos)
        if not name_m:
            raise _Syntax(pos, f"unexpected {text[pos]!r} where a field name should be")
        fname = name_m.group(0).lower()
        pos = _skip_ws(text, name_m.end())
        if pos >= len(text) or text[pos] != "=":
            raise _Syntax(pos, f"expected '=' after field name {name_m.group(0)!r}")
        value, pos = _value(st, _skip_ws(text, pos + 1))
        fields.append((fname, value))
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] not in ("," + close):
            raise _Syntax(pos, f"expected ',' or '{close}' after field {name_m.group(0)!r} (missing comma?)")


def _expect_close(st: _State, pos: int, close: str) -> int:
    pos = _skip_ws(st.text, pos)
    if pos >= len(st.text) or st.text[pos] != close:
        raise _Syntax(pos, f"expected '{close}'")
    return pos + 1


def _balanced_end(st: _State, pos: int) -> int:
    """Position after the group opened at `pos` ({…} or (…))."""
    text = st.text
    opener = text[pos]
    if opener == "(":
        end = text.find(")", pos)
        if end < 0:
            raise _Syntax(pos, "unclosed '('")
        return end + 1
    depth = 0
    for m in _BRACE.finditer(text, pos):
        if m.group() == "{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return m.end()
    raise _Syntax(pos, "unbalanced braces: '{' is never closed")


def _value(st: _State, pos: int) -> tuple[str, int]:
    """One field value: parts joined by `#`."""
    text = st.text
    parts: list[str] = []
    while True:
        if pos >= len(text):
            raise _Syntax(pos, "file ends where a value should be")
        ch = text[pos]
        if ch == "{":
            end = _balanced_end(st, pos)
            parts.append(text[pos + 1 : end - 1])
            pos = end
        elif ch == '"':
            depth, i = 0, pos + 1
            while i < len(text):
                c = text[i]
                if c == "{" and text[i - 1] != "\\":
                    depth += 1
                elif c == "}" and text[i - 1] != "\\":
                    depth -= 1
                elif c == '"' and depth == 0 and text[i - 1] != "\\":
                    break
                i += 1
            else:
                raise _Syntax(pos, 'unclosed \'"\'')
            parts.append(text[pos + 1 : i])
            pos = i + 1
        elif ch.isdigit():
            m = re.compile(r"\d+").match(text, pos)
            assert m is not None
            parts.append(m.group(0))
            pos = m.end()
        else:
            m = _IDENT.match(text, pos)
            if not m:
                raise _Syntax(pos, f"unexpected {ch!r} where a value should be")
            name = m.group(0)
            if name.lower() in st.macros:
                parts.append(st.macros[name.lower()])
            else:
                st.problems.append(BibProblem(st.line(pos), f"undefined macro {name!r} kept as text"))
                parts.append(name)
            pos = m.end()
        after = _skip_ws(text, pos)
        if after < len(text) and text[after] == "#":
            pos = _skip_ws(text, after + 1)
            continue
        return "".join(parts), pos


def _report_duplicate_fields(st: _State, entries: list[BibEntry]) -> None:
    for entry in entries:
        seen: set[str] = set()
        for name, _value in entry.fields:
            if name in seen:
                label = entry.key or f"entry at line {entry.line}"
                st.problems.append(BibProblem(entry.line, f"{label}: field {name!r} given more than once (all kept)"))
            seen.add(name)
