"""Is a reference label the user's title for a page, or a link id? And one set of label hints per source.

Many vaults use reference definitions as link ids: `[website]: …`, `[docs]: …`, `[1]: …`, `[mcp-config]: …`,
with the prose showing its own text (`see the [setup guide][docs]`). Such a label names nothing: it must give no
title, date or site hint. `judge_label` decides from evidence, strongest first:

1. **Link text.** The note shows the link as `[text][label]` with a text other than the label, and the label is
   written in lower case (`[start the container at boot][start containers at boot]`, `[official
   documentation][docs]`): the label is an id. A capitalised label with another link text is still a title
   (`[blog post][Introducing URL and host header rewrite]`: the prose says "blog post", the label names the
   page). The link text the reader sees is the title fallback of a page whose labels are all ids
   (`link_title`), unless it is itself a generic link word (`here`, `official documentation`).
2. **Reused.** The same label (case-folded) names several different pages across the catalog's notes:
   `website` for 161 URLs cannot be the title of each. Short labels (up to four words) are ids from two pages
   on; a longer label only from three (a long title cited for a page and its mirror is still a title).
3. **One common word**: a generic link word (`website`, `docs`, `github`, `codebase`, `here`, `paper`, …).
4. **Slug-like**: lower-case ASCII with digits, `-`, `_`, `/`, `.` joining the words (`mcp-config`,
   `ref1`, `rfc_9110`, `1`), or a single lower-case word.

CJK labels are never slugs or common words (a one-word Chinese label is a title). Evidence 2 is vault-wide and
changes as notes are imported: the import re-judges every label whose usage changed (a label gained or lost a
page) and recomputes the hints of every source that carries it, so a later import can turn a title into an id
and back, and the hints always follow the current judgement (refman.notes.importer).

`combine_hints` merges the hints of all the labels of a source judged titles: for each field the most
specific value (a full date over a month over a year; the title of the fullest label, one that also gave a
date, site or author) and then the most frequent wins, ties going to the first
in (note path, line) order; values that disagree are returned as conflicts (`refman show` reports them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = ["COMMON_LINK_WORDS", "Judge", "combine_hints", "judge_label", "label_key", "link_title",
           "reference_uses"]

# fmt: off
COMMON_LINK_WORDS = frozenset({
    "website", "site", "homepage", "home", "home page", "web", "webpage", "page", "link", "links", "url", "here",
    "this", "source", "sources", "src", "code", "codebase", "repo", "repository", "github", "gitlab", "git",
    "docs", "doc", "documentation", "documents", "manual", "guide", "reference", "references", "ref", "spec",
    "specification", "api", "readme", "paper", "pdf", "article", "post", "blog", "blog post", "video",
    "youtube", "slides", "demo", "example", "examples", "tutorial", "wiki", "wikipedia", "download",
    "downloads", "install", "installation", "configuration", "config", "settings", "release", "releases",
    "changelog", "issue", "issues", "pr", "pull request", "discussion", "forum", "thread", "tweet", "twitter",
    "announcement", "news", "source code", "more", "details", "info", "official", "official site", "npm",
    "pypi", "crate", "package", "license", "faq", "about", "overview", "introduction", "intro", "note",
    "notes", "see", "see also", "original", "archive", "mirror", "project", "tool", "app", "docker hub",
    "man page", "manpage", "man", "command reference", "option", "options", "module", "plugin", "library",
})
# fmt: on
_SLUG = re.compile(r"[a-z0-9]+(?:[-_./:#][a-z0-9]+)*")
_HAS_JOINER_OR_DIGIT = re.compile(r"[-_./:#0-9]")
_WORD = re.compile(r"[a-z]+")
_REFERENCE_USE = re.compile(r"(?<!\\)\[((?:[^\[\]\n\\]|\\.){1,300})\]\[((?:[^\[\]\n\\]|\\.){1,300})\]")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[ \t]*$|\Z)", re.M | re.S)
_WS = re.compile(r"\s+")
_FLAG = re.compile(r"^[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F\u200D\s]+")


def label_key(label: str) -> str:
    """The case-folded, whitespace-collapsed label (CommonMark's matching key, also used across notes)."""
    return " ".join(label.split()).casefold()


def reference_uses(text: str) -> dict[str, str]:
    """{label_key: link text} of the full reference links `[text][label]` of a note whose text differs from
    the label (the first use of each label), outside fenced code."""
    if "][" not in text:
        return {}
    if "```" in text or "~~~" in text:
        text = _FENCE.sub("", text)
    uses: dict[str, str] = {}
    for m in _REFERENCE_USE.finditer(text):
        shown, key = _WS.sub(" ", m.group(1)).strip(), label_key(m.group(2))
        if shown and key and label_key(shown) != key and key not in uses:
            uses[key] = shown.replace("\\", "") if "\\" in shown else shown
    return uses


def judge_label(label: str, pages: int, link_text: str | None) -> str | None:
    """Why the label is a link id (`link-text`, `reused`, `common-word`, `slug`), or None: it is a title.
    `pages`: how many different sources carry this label (case-folded) across the catalog's notes;
    `link_text`: the text the note shows for it in `[text][label]`, if any."""
    text = label.strip()
    if text and ord(text[0]) >= 0x2000:  # a leading flag emoji is not part of the label's words
        text = _FLAG.sub("", text).strip()
    if link_text and not any(c.isupper() for c in text) and any(c.islower() for c in text):
        return "link-text"
    key = label_key(text)
    if not key:
        return None
    if _reused(key, pages):
        return "reused"
    if key in COMMON_LINK_WORDS:
        return "common-word"
    if key.isascii() and text == text.lower() and _SLUG.fullmatch(key) and (
            _HAS_JOINER_OR_DIGIT.search(key) or _WORD.fullmatch(key)):
        return "slug"
    return None


_MARKUP = "`*_~ "


def link_title(link_text: str | None) -> str | None:
    """The title a link text offers for a page: its text without code or emphasis markers, unless it is a
    generic link word or phrase (`here`, `docs`, `official documentation`, `this page`)."""
    if not link_text:
        return None
    text = link_text.replace("`", "").strip(_MARKUP)
    key = label_key(text)
    words = key.split()
    generic = words and all(w in COMMON_LINK_WORDS or w in _FILLER for w in words)
    if not any(c.isalpha() for c in text) or key in COMMON_LINK_WORDS or generic:
        return None
    return text


_FILLER = frozenset({"the", "a", "an", "official", "its", "their", "our", "my", "this", "that", "on", "in", "at",
                     "of", "for", "click", "see", "read", "full", "original", "latest", "online"})


def _reused(key: str, pages: int) -> bool:
    return pages >= 3 or (pages >= 2 and key.count(" ") < 4)


def _specificity(field: str, value: Any, entry: tuple[Any, ...]) -> int:
    """A full date beats a month beats a year; a title from a label that also gave a date, site or author
    (a fuller label) beats a bare one."""
    if field == "issued":
        return len(value)
    if field == "title":
        return (entry[1] is not None) + (entry[2] is not None) + (entry[3] is not None)
    return 0


def combine_hints(entries: Sequence[tuple[Any, ...]]) -> tuple[tuple[Any, ...] | None, dict[str, list[Any]]]:
    """Merge label hints (title, issued, container_title, author) given in (note path, line) order into one
    such tuple (None when there are none) and {field: [values]} for the fields whose values disagree."""
    if not entries:
        return None, {}
    first_entry = entries[0]
    if len(entries) == 1 or all(e == first_entry for e in entries):
        return tuple(first_entry), {}
    names = ("title", "issued", "container_title", "author")
    out: list[Any] = []
    conflicts: dict[str, list[Any]] = {}
    for i, name in enumerate(names):
        given = [e for e in entries if e[i]]
        if not given:
            out.append(None)
            continue
        values = [e[i] for e in given]
        v0 = values[0]
        if all(v == v0 for v in values):
            out.append(v0)
            continue
        stats: dict[Any, list[int]] = {}  # value → [specificity, count, -first position]
        for n, e in enumerate(given):
            v, sp = e[i], _specificity(name, e[i], e)
            st = stats.get(v)
            if st is None:
                stats[v] = [sp, 1, -n]
            else:
                st[1] += 1
                if sp > st[0]:
                    st[0] = sp
        best = max(stats, key=stats.__getitem__)
        out.append(best)
        distinct = list(stats)
        if name == "issued":  # a year and a full date of that year agree
            distinct = [v for v in distinct if not best.startswith(v)] + [best]
        if len(distinct) > 1:
            conflicts[name] = [best, *(v for v in distinct if v != best)]
    return tuple(out), conflicts


class Judge:
    """judge_label with the catalog's label usage ({label_key: pages} for the labels that name more than one
    page), cached per label."""

    def __init__(self, pages: dict[str, int]) -> None:
        self.pages = pages
        self._cache: dict[str, str | None] = {}

    def reused(self, label: str) -> str | None:
        """"reused" when the label (as the scanner stored it: whitespace collapsed) names several pages."""
        key = label.casefold()
        n = self.pages.get(key)
        return "reused" if n is not None and _reused(key, n) else None

    def __call__(self, label: str, link_text: str | None) -> str | None:
        if link_text:
            return judge_label(label, self.pages.get(label_key(label), 1), link_text)
        verdict = self._cache.get(label, "")
        if verdict == "":
            verdict = self._cache[label] = judge_label(label, self.pages.get(label_key(label), 1), None)
        return verdict
