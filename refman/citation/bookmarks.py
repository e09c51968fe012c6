"""Reader for the Netscape bookmark file that every browser exports (bookmarks.html).

Each `<A HREF=…>` with an http(s) address is a web page: its text is the title, the folders it sits in are
its tags (the browser's own toolbar and "other/unfiled" roots are not), a `TAGS="a,b"` attribute (Firefox,
Pinboard) adds tags and a `<DD>` description after it is the note. Other links (javascript:, place:, file:)
are reported as warnings with their line."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

_ROOT_FLAGS = ("personal_toolbar_folder", "unfiled_bookmarks_folder")


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.folders: list[str | None] = []  # None: a root folder that gives no tag
        self.pending_folder: str | None = None
        self.pending_root = False
        self.in_h3 = False
        self.link: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None
        self.in_dd = False
        self.items: list[dict[str, Any]] = []
        self.skipped: list[tuple[int, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v or "" for k, v in attrs}
        if tag == "h3":
            self.in_h3, self.text = True, []
            self.pending_root = any(a.get(f, "").lower() == "true" for f in _ROOT_FLAGS)
        elif tag == "dl":
            self.folders.append(None if self.pending_root else self.pending_folder)
            self.pending_folder, self.pending_root = None, False
        elif tag == "a":
            self.link = {"href": a.get("href", ""), "tags": a.get("tags", ""), "line": self.getpos()[0]}
            self.text = []
            self.in_dd = False
        elif tag == "dd":
            self.in_dd, self.text = True, []
        elif tag == "dt":
            self._end_dd()

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3":
            self.in_h3 = False
            self.pending_folder = " ".join("".join(self.text).split()) or None
        elif tag == "dl":
            self._end_dd()
            if self.folders:
                self.folders.pop()
        elif tag == "a" and self.link is not None:
            self._finish_link()

    def handle_data(self, data: str) -> None:
        if self.in_h3 or self.link is not None or self.in_dd:
            self.text.append(data)

    def _end_dd(self) -> None:
        if self.in_dd and self.last is not None:
            note = " ".join("".join(self.text).split())
            if note:
                self.last["note"] = note
        self.in_dd = False

    def _finish_link(self) -> None:
        link, self.link = self.link, None
        assert link is not None
        href = link["href"].strip()
        title = " ".join("".join(self.text).split()) or None
        if not href.lower().startswith(("http://", "https://")):
            self.skipped.append((link["line"], f"not a web address: {href[:80]}"))
            return
        tags = [f for f in self.folders if f]
        tags += [t.strip() for t in link["tags"].split(",") if t.strip()]
        self.last = {
            "url": href, "doi": None, "isbn": None, "citekey": None, "title": title, "author": [], "editor": [],
            "issued": None, "accessed": None, "container_title": None, "publisher": None, "type": "webpage",
            "language": None, "abstract": None, "volume": None, "issue": None, "page": None, "genre": None,
            "archive_id": None, "tags": list(dict.fromkeys(tags)), "note": None, "more": {}, "verbatim": {},
        }
        self.items.append(self.last)


def read_bookmarks(text: str) -> Any:
    from refman.citation.bibliography_file import Bibliography

    parser = _Parser()
    parser.feed(text)
    parser.close()
    result = Bibliography("bookmarks", parser.items)
    result.warnings = [{"line": line, "message": message} for line, message in parser.skipped]
    return result
