"""The search query language, parsed leniently into a backend-neutral tree (refman.store.search.ParsedQuery).

Syntax: words (all must match), "exact phrases", prefix*, OR, -word / NOT word, (parentheses), and field filters
title:, author:, site:, tag: (also note:, text:) before a word or a "phrase". AND is accepted and implied.

Each store turns the tree into its own query (SQLite: an FTS5 MATCH expression in which every word or phrase is
quoted, see refman.store.sqlite.search; so no user text is ever query syntax). Parsing never fails on odd
input: unbalanced quotes run to the end, stray parentheses and dangling operators are dropped, words with no
letter or digit are ignored. A query with nothing searchable left, an unknown field (`foo:bar`; a URL's
`https://` is not a field), a field with nothing after it (`title:`) and a query of more than MAX_QUERY_CHARS
characters raise QueryError: those are mistakes the user wants to hear about.

CJK: each CJK character is its own token in the index, so a CJK word becomes a phrase of its characters
(`数据库` → tokens `数 据 库`), which matches exactly that run of characters anywhere in the text. Every term
carries its `tokens` in the index's form (cjk_space, tag tokens around a tag), so that no store splits text.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from refman.errors import QueryError
from refman.store.search import And, Node, Not, Or, ParsedQuery, Term
from refman.vocabulary import CJK_INDEXED

# Kana, CJK Ext A, CJK Unified, Hangul syllables, CJK compatibility, CJK Ext B–F: what migration 0002 indexes.
CJK_RANGES = CJK_INDEXED
# Tokens put around each tag in the index so that tag:x matches a whole tag (private-use: never typed).
TAG_OPEN, TAG_CLOSE = "\ue000", "\ue001"
# Private-use characters (our tag tokens) and control characters (FTS5 stops a string at NUL) are dropped.
_UNWANTED = "[\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what _UNWANTED drops from ASCII text


@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    """A pattern compiled on first use. A character class over the CJK ranges costs ~1 ms to compile (sre
    builds a 64k-entry table): paid only when non-ASCII text needs it, not on every start of `refman search`."""
    return re.compile(pattern)

# User-facing field name → index column (refman.store.search.INDEX_COLUMNS).
FIELDS = {
    "title": "title",
    "author": "authors", "authors": "authors",
    "site": "site", "host": "site",
    "tag": "tags", "tags": "tags",
    "note": "notes", "notes": "notes",
    "text": "body", "body": "body",
}
MAX_QUERY_CHARS = 1000  # longer is not a query someone typed; refused before any work
_FIELD_NAME = re.compile(r"^[A-Za-z_]+$")
MAX_DEPTH = 16  # deeper parentheses are flattened: nobody means them, and recursion must stay bounded
MAX_TERMS = 64


def _space_run(match: re.Match[str]) -> str:
    return " " + "  ".join(match.group()) + " "  # byte-identical to the triggers' per-character spacing


def cjk_space(text: str) -> str:
    """The indexed form of text: a space on both sides of every CJK character (one token per character).
    Whole runs are replaced at once: a per-character template substitution costs 3× more on Chinese text."""
    return text if text.isascii() else compiled(f"[{CJK_RANGES}]+").sub(_space_run, text)


def _searchable(text: str) -> bool:
    """Whether unicode61 would find at least one token in text (token characters: L*, N*, Co)."""
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or cat == "Co":
            return True
    return False


def _term(text: str, column: str | None = None, prefix: bool = False, phrase: bool = False) -> Term:
    tokens = cjk_space(text)
    if column == "tags":  # a whole tag: between its tokens (only the opening one for a prefix)
        tokens = f"{TAG_OPEN} {tokens}" + ("" if prefix else f" {TAG_CLOSE}")
    return Term(text, column, prefix, phrase, tokens)


# --- lexer -----------------------------------------------------------------------------------------------

_OPS = {"OR", "AND", "NOT"}
_BREAK = set('()"') | {" ", "\t", "\n", "\r", "\u3000"}


def _lex(query: str) -> list[tuple[str, object]]:
    """Tokens: ('(', None), (')', None), ('OR'|'AND'|'NOT', None), ('-', None), ('TERM', Term)."""
    s = (_CONTROL if query.isascii() else compiled(_UNWANTED)).sub(" ", query)
    out: list[tuple[str, object]] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append((c, None))
            i += 1
        elif c == '"':
            text, i = _read_phrase(s, i)
            prefix = i < n and s[i] == "*"
            i += prefix
            out.append(("TERM", _term(text, prefix=prefix, phrase=True)))
        elif c == "-" and i + 1 < n and not s[i + 1].isspace() and s[i + 1] != "-":
            out.append(("-", None))
            i += 1
        else:
            j = i
            while j < n and s[j] not in _BREAK and not s[j].isspace():
                j += 1
            chunk, i = s[i:j], j
            if chunk in _OPS:
                out.append((chunk, None))
                continue
            name, colon, rest = chunk.partition(":")
            column = FIELDS.get(name.lower()) if colon else None
            if colon and column is None and _FIELD_NAME.match(name) and rest and not rest.startswith("//"):
                raise QueryError(f"unknown field {name}: in the query; known fields: {', '.join(_KNOWN)}")
            if column and not rest and i < n and s[i] == "(":
                out.append(("FIELD", column))  # title:(a OR b): the field applies to the group
                continue
            if column and not rest and (i >= n or s[i] != '"'):
                raise QueryError(f"{chunk} needs a word, a \"phrase\" or a (group) right after it, e.g. "
                                 f"{name}:word")
            if column and not rest and i < n and s[i] == '"':
                text, i = _read_phrase(s, i)
                prefix = i < n and s[i] == "*"
                i += prefix
                out.append(("TERM", _term(text, column=column, prefix=prefix, phrase=True)))
                continue
            if column and rest:
                chunk = rest
            else:
                column = None
            prefix = chunk.endswith("*")
            out.append(("TERM", _term(chunk.rstrip("*"), column=column, prefix=prefix)))
    return out


_KNOWN = ("title:", "author:", "site:", "tag:", "note:", "text:")


def _read_phrase(s: str, i: int) -> tuple[str, int]:
    """The text between the quote at s[i] and the next quote (or the end: unbalanced quotes are forgiven)."""
    end = s.find('"', i + 1)
    if end < 0:
        return s[i + 1:], len(s)
    return s[i + 1:end], end + 1


# --- parser ----------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[tuple[str, object]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def parse(self) -> Node | None:
        items: list[Node] = []
        while self.peek() is not None:
            node = self.parse_or()
            if node is not None:
                items.append(node)
            if self.peek() == ")":  # a stray closing parenthesis
                self.pos += 1
        return _and(items)

    def parse_or(self) -> Node | None:
        items: list[Node] = []
        while True:
            node = self.parse_and()
            if node is not None:
                items.append(node)
            if self.peek() == "OR":
                self.pos += 1
                continue
            break
        if not items:
            return None
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node | None:
        items: list[Node] = []
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.pos += 1
                continue
            node = self.parse_unary()
            if node is not None:
                items.append(node)
        return _and(items)

    def parse_unary(self) -> Node | None:
        negations = 0
        while self.peek() in ("NOT", "-"):  # a loop, not recursion: `NOT NOT … x` may be long
            negations += 1
            self.pos += 1
        if self.peek() in (None, ")", "OR", "AND"):
            return None  # a dangling negation
        kind, value = self.tokens[self.pos]
        self.pos += 1
        node: Node | None = None
        if kind == "(":
            if self.depth >= MAX_DEPTH:
                return None  # drop the parenthesis; its contents are read at this level
            self.depth += 1
            node = self.parse_or()
            self.depth -= 1
            if self.peek() == ")":
                self.pos += 1
        elif kind == "TERM":
            assert isinstance(value, Term)
            node = value if _searchable(value.text) else None
        elif kind == "FIELD":
            assert isinstance(value, str)
            node = self.parse_unary()
            node = None if node is None else _in_column(node, value)
        if node is None or negations % 2 == 0:
            return node
        return node.child if isinstance(node, Not) else Not(node)


def _in_column(node: Node, column: str) -> Node:
    """`field:(…)`: every term inside without a field of its own searches `column`."""
    if isinstance(node, Term):
        return node if node.column else _term(node.text, column, node.prefix, node.phrase)
    if isinstance(node, Not):
        return Not(_in_column(node.child, column))
    return type(node)(tuple(_in_column(c, column) for c in node.children))


def _and(items: list[Node]) -> Node | None:
    if not items:
        return None
    return items[0] if len(items) == 1 else And(tuple(items))


# --- the parsed query -----------------------------------------------------------------------------------


def _terms(node: Node | None) -> list[Term]:
    if node is None:
        return []
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        return _terms(node.child)
    return [t for c in node.children for t in _terms(c)]


def parse_query(query: str) -> ParsedQuery:
    """Parse a user's query. Raises QueryError for a query too long, an unknown field (`foo:bar`) or a field
    with nothing after it (`title:`); any other odd input is read leniently."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long: {len(query)} characters (at most {MAX_QUERY_CHARS})")
    tree = _Parser(_lex(query)).parse()
    terms = _terms(tree)
    if len(terms) > MAX_TERMS:
        raise QueryError(f"query too long: {len(terms)} words (at most {MAX_TERMS})")
    if tree is None:
        return ParsedQuery()
    return ParsedQuery(tree=tree, terms=tuple(terms), adjacent=_adjacent(tree))


def _adjacent(tree: Node) -> str | None:
    """`gpu market` → the tokens `gpu market`: 2–6 plain words, which rank first when side by side."""
    if not isinstance(tree, And) or not 2 <= len(tree.children) <= 6:
        return None
    words = tree.children
    if not all(isinstance(w, Term) and w.column is None and not w.prefix and not w.phrase for w in words):
        return None
    return " ".join(w.tokens for w in words if isinstance(w, Term))
