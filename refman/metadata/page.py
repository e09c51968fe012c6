"""Reading an HTML page: the lxml tree and the evidence found in it, before any judgement.

`parse_tree` parses the page once with lxml; `Page` holds what its markup declares (<meta> by name/property,
<link rel>, JSON-LD scripts, <title>, the <h1> or else the first <h2>, <html lang>, microdata and rel=author
links of the first item). The helpers find evidence in the page's text: author-profile links, a byline or a date
printed after the <h1>, whether a name is printed in the article's header, and a DOI printed near the title
(read in document order, skipping navigation, the site's footer and references sections). Choosing a value per
field from this evidence is `refman.metadata.html`'s job."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from refman.metadata.authors import name_key, split_authors
from refman.metadata.dates import parse_date
from refman.metadata.identifiers import normalize_doi

_PARSER = lxml.html.HTMLParser(recover=True, remove_comments=True, remove_pis=True, collect_ids=False)
_UNSET = object()


class Page:
    """The raw evidence read from the tree."""

    def __init__(self, root: Any) -> None:
        self.meta: dict[str, list[str]] = {}
        for el in root.iter("meta"):
            key = el.get("name") or el.get("property") or el.get("itemprop") or el.get("http-equiv")
            value = el.get("content")
            if value is None:
                value = el.get("value")
            if key and value and value.strip():
                for k in key.split():  # property="og:title twitter:title"
                    self.meta.setdefault(k.strip().lower(), []).append(value.strip())
        self.links: dict[str, list[str]] = {}
        for el in root.iter("link"):
            href = el.get("href")
            for rel in (el.get("rel") or "").lower().split():
                if href:
                    self.links.setdefault(rel, []).append(href.strip())
        self.scripts = [el.text or "" for el in root.iter("script")
                        if (el.get("type") or "").strip().lower() == "application/ld+json"]
        titles = [el.text_content() for el in root.iter("title")]
        self.title = titles[0].strip() if titles and titles[0] else None
        h1 = root.find(".//h1")
        self.h1 = re.sub(r"\s+", " ", h1.text_content()).strip() if h1 is not None else None
        self.h1_el = h1
        # Without an <h1> (some templates give the article's heading an <h2>), the first <h2>: a title only
        # when another source agrees with it.
        h2 = root.find(".//h2") if h1 is None else None
        self.h2 = re.sub(r"\s+", " ", h2.text_content()).strip() if h2 is not None else None
        self.lang = root.get("lang") or root.get("xml:lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        self.microdata: dict[str, list[str]] = {}
        scopes: dict[str, Any] = {}
        for el in root.xpath("//*[@itemprop='author' or @itemprop='datePublished' or @itemprop='creator']"):
            if el.tag in ("meta", "link"):
                continue
            # Only the first item's properties: later items are often cited works or related articles.
            prop = el.get("itemprop")
            owner = next((a for a in el.iterancestors() if a.get("itemscope") is not None), None)
            if scopes.setdefault(prop, owner) is not owner:
                continue
            value = el.get("datetime") or el.get("content")
            if not value:
                inner = el.xpath(".//*[@itemprop='name']")
                value = (inner[0].get("content") or inner[0].text_content()) if inner else el.text_content()
            self._micro(prop, value)
        # rel=author links: the first byline only (later ones are teasers of related articles).
        parent: Any = _UNSET
        for el in root.xpath("//a[@rel='author']"):
            if parent is _UNSET:
                parent = el.getparent()
            elif el.getparent() is not parent:
                break
            self._micro("author", el.text_content())
        self.root = root

    def _micro(self, prop: str, value: str | None) -> None:
        value = re.sub(r"\s+", " ", value or "").strip()
        if value and len(value) < 200:
            self.microdata.setdefault(prop.lower(), []).append(value)

    def get(self, *keys: str) -> list[str]:
        out: list[str] = []
        for key in keys:
            out.extend(self.meta.get(key, ()))
        return out

    def first(self, *keys: str) -> str | None:
        got = self.get(*keys)
        return got[0] if got else None


def parse_tree(html: str) -> Any:
    """The lxml root of `html` (an encoding declaration in a str is dropped: lxml refuses it)."""
    if not html or not html.strip():
        return lxml.html.fromstring("<html></html>")
    try:
        return lxml.html.document_fromstring(html, parser=_PARSER)
    except ValueError:
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
        try:
            return lxml.html.document_fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(
                recover=True, remove_comments=True, encoding="utf-8"))
        except (ValueError, etree.ParserError):
            return lxml.html.fromstring("<html></html>")
    except etree.ParserError:
        return lxml.html.fromstring("<html></html>")

_BYLINE = re.compile(r"^(?:by|von|par|por|di|door|text von|text|texto|texte|written by|autor|auteur|author)"
                     r"\s*[:：]?\s+(.{3,80})$|(?:^|\s)(?:autor|autorin|author|auteur|autore|text)\s*[:：]\s*(.{3,80})$",
                     re.IGNORECASE)
# The profile's slug may end in a numeric id ('/auteur/jane-doe-187').
_AUTHOR_PATH = re.compile(r"/(?:authors?|autor(?:en|in)?|auteurs?|autore|by|profiles?|writers?|"
                          r"journalists?|contributors?)/([a-z][a-z-]+[a-z])(?:-\d+)?/?$", re.IGNORECASE)


def author_links(page: Page) -> list[str]:
    """Names of the first author-profile links (href '/author/jane-doe', text 'Jane Doe'): the link text must
    spell the slug, which keeps menus and teasers out."""
    out: list[str] = []
    parent: Any = _UNSET
    for el in page.root.xpath("//a[contains(@href, '/aut') or contains(@href, '/by/') or contains(@href, '/prof')"
                              " or contains(@href, '/writer') or contains(@href, '/journalist')"
                              " or contains(@href, '/contributor')]"):
        match = _AUTHOR_PATH.search(urlsplit(el.get("href")).path)
        if not match:
            continue
        text = re.sub(r"\s+", " ", el.text_content()).strip()
        if name_key(text) != match.group(1).replace("-", " ").lower():
            continue
        if parent is _UNSET:
            parent = el.getparent()
        elif el.getparent() is not parent:
            break
        out.append(text)
    return out


def bylines(page: Page, site_names: list[str] | None = None) -> list[str]:
    """'By Jane Doe' written in one of the first elements after the <h1>. A byline that names only the site
    (a staff account posting a syndicated piece) gives way to a later one naming a person ('Written by: Jane
    Doe' at the top of the article's text)."""
    h1 = page.h1_el
    if h1 is None:
        return []
    site_byline: list[str] = []
    seen = 0
    for el in following(h1):
        seen += 1
        if seen > 120:
            break
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript"):
            continue
        text = re.sub(r"\s+", " ", " ".join(el.itertext())).strip()
        if len(text) > 100:
            continue
        match = _BYLINE.search(text)
        if match:
            value = re.split(r"\s+(?:[|•·,]|on|am|le|el|\d|\w+\s*:)", match.group(1) or match.group(2))[0]
            if site_names and not split_authors(value, site_names) and split_authors(value, []):
                site_byline = site_byline or [value]
                continue
            return [value]
    return site_byline


def printed_after_h1(page: Page, name: str, budget: int = 3000) -> bool:
    """Is `name` printed in the first `budget` characters of text after the <h1> (the article's header)?"""
    key, seen, parts = name_key(name), 0, []
    for el in following(page.h1_el):
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript"):
            continue
        for text in (el.text, el.tail):
            if text and text.strip():
                parts.append(text)
                seen += len(text)
        if seen > budget:
            break
    return bool(key) and key in name_key(" ".join(parts))


_YEARISH = re.compile(r"(?:19|20)\d\d")


def date_after_h1(page: Page) -> str | None:
    """The first full date in a <time datetime> or a short text within the elements after the <h1>."""
    if page.h1_el is None:
        return None
    for seen, el in enumerate(following(page.h1_el)):
        if seen > 150:
            break
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript"):
            continue
        value = el.get("datetime")
        if not value:
            text = (el.text or "").strip()
            if not text or len(text) > 60 or not _YEARISH.search(text):
                continue
            value = text
        got = parse_date(value)
        if got and len(got) == 10:
            return got
    return None


def following(el: Any) -> Any:
    """Elements after `el` in document order."""
    node = el
    while node is not None:
        for sib in node.itersiblings():
            yield sib
            yield from sib.iterdescendants()
        node = node.getparent()


_DOI_LABEL = re.compile(r"(?:\bdoi\s*[:.]?\s*|doi\.org/)(10\.\d{4,9}/[^\s\"'<>&]+)", re.IGNORECASE)
_DOI_SHAPE = re.compile(r"10\.\d{4,9}/")
_DOI_FIRST = re.compile(r"^\s*(10\.\d{4,9}/[^\s\"'<>&]+)")
_DOI_LABEL_END = re.compile(r"\bdoi\s*[:.]?\s*$", re.IGNORECASE)
# A heading that opens the list of works the page cites (or that cite it, or related ones): DOIs from there on
# are other works' DOIs.
_REFERENCES = re.compile(
    r"^\W*(?:\d+(?:\.\d+)*\.?\s*)?(?:references|reference list|bibliography|works cited|literature cited|"
    r"literatur(?:verzeichnis)?|quellen(?:verzeichnis)?|références(?: bibliographiques)?|bibliographie|"
    r"referencias(?: bibliográficas)?|bibliografía|bibliografia|riferimenti(?: bibliografici)?|referências|"
    r"参考文献|引用文献|cited by|citing articles|related articles|similar articles|"
    r"recommended articles|more like this)\W*$",
    re.IGNORECASE,
)
_REFERENCE_BOX = re.compile(r"(?:^|[\s_-])(?:references?|ref-list|reflist|bibliography|cited-by|citedby)(?:$|[\s_-])",
                            re.IGNORECASE)
_FOOTER_BOX = re.compile(r"(?:^|[\s_-])footer(?:$|[\s_-])", re.IGNORECASE)
_BOILERPLATE_TAGS = frozenset(["nav", "aside", "script", "style", "noscript", "template", "select", "svg", "form"])
# Characters of text (whitespace collapsed) read after the title: a landing page prints its DOI in the header
# block (authors, journal, perhaps an abstract); a DOI after a whole article's text is a work it cites.
_DOI_TEXT_BUDGET = 3000


def doi_near_title(page: Page, html: str, titles: list[str]) -> str | None:
    """The page's own DOI printed after its title (or <h1>): scholarly landing pages without meta tags show it
    as 'doi: 10.…', 'DOI</dt><dd>10.…' or a doi.org link. Read in document order over the first 3000 characters
    of text, skipping what is not about this work: navigation, sidebars, the site's footer (a repository's
    certification badge), and everything from a references / 'cited by' / related-articles section on (the DOIs
    of other works)."""
    body = html.find("<body")
    if not _DOI_SHAPE.search(html, max(body, 0)):
        return None  # most pages: no DOI-shaped text at all
    anchor = page.h1_el if page.h1_el is not None else title_element(page.root, titles)
    if anchor is None:
        return None
    previous = ""
    seen = 0
    for text in texts_after(anchor):
        if text is None:
            return None
        match = _DOI_LABEL.search(text)
        if match is None and _DOI_LABEL_END.search(previous):
            match = _DOI_FIRST.match(text)  # the label in one element, the DOI in the next
        if match:
            return normalize_doi(match.group(1))
        if text.strip():
            previous = text
            seen += len(" ".join(text.split()))
        if seen > _DOI_TEXT_BUDGET:
            return None
    return None


def title_element(root: Any, titles: list[str]) -> Any:
    """The first body element whose own text starts with one of the titles."""
    heads = [re.sub(r"\s+", " ", t).strip()[:30] for t in titles if t and len(t.strip()) >= 8]
    if not heads:
        return None
    body = root.find("body")
    for el in (body if body is not None else root).iter():
        text = el.text if isinstance(el.tag, str) else None
        if text and len(text) >= 8:
            text = re.sub(r"\s+", " ", text).strip()
            if any(text.startswith(h) for h in heads):
                return el
    return None


def texts_after(anchor: Any) -> Any:
    """The text pieces after `anchor` in document order (element text, a doi.org link's href, tails); None when
    a references section begins."""
    node = anchor
    while node is not None:
        if node.tail:
            yield node.tail
        for sib in node.itersiblings():
            walk = etree.iterwalk(sib, events=("start", "end"))
            for event, el in walk:
                if event == "end":
                    if el is not sib and el.tail:
                        yield el.tail
                    continue
                if not isinstance(el.tag, str):
                    continue
                if _skip_for_doi(el):
                    walk.skip_subtree()
                    continue
                text = el.text
                if text and len(text) < 80 and el.tag not in ("a", "option") and _REFERENCES.match(text.strip()):
                    yield None
                    return
                if el.tag == "a" and "doi.org/10." in (el.get("href") or ""):
                    yield el.get("href")
                if text:
                    yield text
            if sib.tail:
                yield sib.tail
        node = node.getparent()


def _skip_for_doi(el: Any) -> bool:
    tag = el.tag
    if tag in _BOILERPLATE_TAGS:
        return True
    names = f"{el.get('class') or ''} {el.get('id') or ''}"
    if tag == "footer" or el.get("role") == "contentinfo" or (len(names) > 1 and _FOOTER_BOX.search(names)):
        # The site's footer (its badges and certifications); an article's own footer may print its DOI.
        return not any(a.tag == "article" for a in el.iterancestors())
    return len(names) > 1 and bool(_REFERENCE_BOX.search(names))
