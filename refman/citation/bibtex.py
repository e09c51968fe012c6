"""BibLaTeX (biber) and classic BibTeX writers, following ../shared/EXPORT-NOTES.md.

Entry types, BibLaTeX (`write_biblatex`):
    webpage, post-weblog, document, motion_picture  → @online (site or publisher in `organization`)
    article-newspaper / article-magazine            → @article + journaltitle + entrysubtype newspaper/magazine
    article-journal                                 → @article + journaltitle (volume, number, pages)
    paper-conference                                → @inproceedings + booktitle
    article (preprint)                              → @online + eprint/eprinttype = arxiv
    report                                          → @report + institution (+ type from genre)
    software                                        → @software (organization)
    book / chapter / thesis / dataset               → @book / @incollection / @thesis / @dataset
A type whose container (journal, proceedings, institution) is unknown falls back to @online, which only needs
a title and a URL. Dates are ISO (`date = {2024-06}`), `urldate` the access date, `langid` the babel/polyglossia
name of a non-English language, tags in `keywords`, the user's note in `annotation`.

Classic BibTeX (`write_bibtex`): @article (needs journal and year), @inproceedings (booktitle and year),
@techreport (institution and year), else @misc with `howpublished = {\\url{…}}`; `year` + unbraced month macro,
`note = {Accessed: YYYY-MM-DD}`, `url`, `doi`; user note in `annote`.

Rules common to both:
- text is normalised and escaped by refman.citation.latex (UTF-8 by default, `ascii=True` for braced LaTeX
  accents: the default for classic BibTeX); `url`, `doi` and `eprint` are verbatim;
- titles are brace-protected (`{{…}}`) so that neither classic styles nor pandoc's APA change their case;
- organisations are double-braced (`author = {{Intel Capital}}`, `organization = {{…}}`);
- literal author rule: no author is ever invented, except that classic @article, @inproceedings and
  @techreport — whose styles require an author — use the publisher (else the site/journal, the institution)
  as an organisation author. BibLaTeX, CSL-JSON and RIS never do (biblatex styles and CSL processors put the
  title first themselves); formatted references (`refman cite`) follow the rule in refman.citation.styles.
- undated sources get no `date`/`year` (a publication date is never made up from the access date). biblatex's
  data model (blx-dm.def) lists `date` or `year` as mandatory for @online, @article, @report, @misc…, so
  `biber --validate-datamodel` reports such entries (`urldate` does not count); plain biber runs do not, and
  the styles handle them (authoryear's label falls back to the access year, else "n.d."). The EDTF values that
  silence the validator (`date = {XXXX}`, `{../..}`) print as "()" and "(--)" (biber 2.18, biblatex 3.18).
Output is deterministic: entries in the order given, fields in a fixed order. The `iter_*` writers take the
items in chunks and yield the text piece by piece (refman.citation.stream); `write_*` is their one-string form."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache, partial

from refman.citation.item import CitationItem, CSLName
from refman.citation.latex import escape, has_cjk, normalise
from refman.citation.stream import Chunks, joined

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

# BCP 47 primary language → babel/polyglossia name (biblatex `langid`). English is left out on purpose.
LANGIDS = {
    "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese", "nl": "dutch",
    "ru": "russian", "uk": "ukrainian", "pl": "polish", "cs": "czech", "sk": "slovak", "sv": "swedish",
    "da": "danish", "nb": "norsk", "no": "norsk", "nn": "nynorsk", "fi": "finnish", "el": "greek",
    "tr": "turkish", "hu": "magyar", "ro": "romanian", "ca": "catalan", "hr": "croatian", "sl": "slovenian",
    "bg": "bulgarian", "et": "estonian", "lt": "lithuanian", "lv": "latvian", "he": "hebrew", "ar": "arabic",
    "fa": "farsi", "hi": "hindi", "vi": "vietnamese", "id": "indonesian", "ms": "malay", "th": "thai",
    "ja": "japanese", "ko": "korean", "zh": "chinese", "eo": "esperanto", "la": "latin", "is": "icelandic",
    "ga": "irish", "cy": "welsh", "eu": "basque", "gl": "galician", "sr": "serbian",
}
_PORTUGUESE_BR = {"pt-br": "brazilian"}


def langid(language: str | None) -> str | None:
    if not language:
        return None
    return _langid(language)


@lru_cache(maxsize=1024)
def _langid(language: str) -> str | None:
    tag = language.strip().lower().replace("_", "-")
    if tag in _PORTUGUESE_BR:
        return _PORTUGUESE_BR[tag]
    return LANGIDS.get(tag.split("-")[0])


# ---- field formatting ----------------------------------------------------------------------------------


def text(value: str | None, ascii: bool) -> str | None:
    if not value:
        return None
    value = normalise(value)
    return escape(value, ascii) if value else None


@lru_cache(maxsize=16384)
def _short_text(value: str, ascii: bool) -> str | None:
    """`text` for values that repeat across a catalog (sites, publishers, name parts)."""
    return text(value, ascii)


def verbatim(value: str | None) -> str | None:
    """url/doi/eprint: no escaping, but braces, backslashes and spaces are percent-encoded so that the field
    stays balanced (a URL never needs them raw)."""
    if not value:
        return None
    value = normalise(value)
    if "{" in value or "}" in value or "\\" in value or " " in value:
        for raw, enc in (("{", "%7B"), ("}", "%7D"), ("\\", "%5C"), (" ", "%20")):
            value = value.replace(raw, enc)
    return value or None


def url_macro(url: str) -> str:
    """`\\url{…}` inside a field (howpublished): `%` and `#` escaped, or the compile breaks (EXPORT-NOTES)."""
    return "\\url{" + url.replace("%", "\\%").replace("#", "\\#") + "}"


def _protect_word(part: str) -> str:
    """Brace a name part that BibTeX would otherwise split or misread (spaces, commas, the word 'and')."""
    if not part:
        return part
    lowered = f" {part.lower()} "
    if " " in part or "," in part or " and " in lowered or part[0].islower():
        return "{" + part + "}"
    return part


def name(n: CSLName, ascii: bool) -> str | None:
    return _name(n.family, n.given, n.literal, n.non_dropping_particle, n.dropping_particle, n.suffix, ascii)


@lru_cache(maxsize=16384)  # the same people and organisations appear in many entries
def _name(family: str | None, given: str | None, literal: str | None, ndp: str | None, dp: str | None,
          suffix_raw: str | None, ascii: bool) -> str | None:
    n = CSLName.trusted(family=family, given=given, literal=literal, non_dropping_particle=ndp,
                        dropping_particle=dp, suffix=suffix_raw)
    if n.literal or not n.family:
        literal = text(n.literal or n.given, ascii)
        return "{" + literal + "}" if literal else None
    family = text(n.family, ascii) or ""
    given = text(n.given, ascii)
    suffix = text(n.suffix, ascii)
    particle = text(" ".join(p for p in (n.dropping_particle, n.non_dropping_particle) if p), ascii)
    if particle and particle[0].islower() and "," not in particle and " and " not in f" {particle} ":
        last = f"{particle} {_protect_word(family)}"  # lower-case words before the family: BibTeX's von part
    elif particle:
        last = "{" + f"{particle} {family}" + "}"
    else:
        last = _protect_word(family)
    parts = [last]
    if suffix:
        parts.append(_protect_word(suffix))
    if given:
        parts.append("{" + given + "}" if "," in given or " and " in f" {given.lower()} " else given)
    elif suffix:
        parts.append("")
    return ", ".join(parts)


def names(people: Iterable[CSLName], ascii: bool) -> str | None:
    if not people:
        return None
    formatted = [f for f in (name(n, ascii) for n in people) if f]
    return " and ".join(formatted) if formatted else None


def org(value: str | None, ascii: bool) -> str | None:
    escaped = _short_text(value, ascii) if value else None
    return "{" + escaped + "}" if escaped else None


def title(value: str | None, ascii: bool) -> str | None:
    escaped = text(value, ascii)
    return "{" + escaped + "}" if escaped else None


def _entry(kind: str, key: str, fields: list[tuple[str, str | None]], raw: frozenset[str] = frozenset()) -> str:
    lines = [f"@{kind}{{{key},\n"]
    for fname, value in fields:
        if value:  # None or "" is left out
            lines.append(f"  {fname} = {value},\n" if fname in raw else f"  {fname} = {{{value}}},\n")
    lines.append("}\n")
    return "".join(lines)


def _keywords(item: CitationItem, ascii: bool) -> str | None:
    if not item.keyword:
        return None
    tags = [t for t in (_short_text(k.replace(",", " "), ascii) for k in item.keyword) if t]
    return ", ".join(tags) if tags else None


def _pages(page: str | None) -> str | None:
    if not page:
        return None
    value = normalise(page).replace("\u2013", "--").replace("\u2014", "--")
    if "--" not in value and "-" in value:
        value = value.replace("-", "--", 1)
    return escape(value) if any(c in value for c in "\\&%$#_~^{}") else value


# ---- BibLaTeX -------------------------------------------------------------------------------------------

_SUBTYPE = {"article-newspaper": "newspaper", "article-magazine": "magazine"}


def biblatex_type(item: CitationItem) -> str:
    t = item.type
    container = item.container_title or item.publisher
    if t in ("article-newspaper", "article-magazine"):
        return "article" if container else "online"
    if t == "article-journal":
        return "article" if item.container_title else "online"
    if t == "paper-conference":
        return "inproceedings" if item.container_title else "online"
    if t == "report":
        return "report" if container else "online"
    if t == "software":
        return "software"
    if t == "book":
        return "book"
    if t == "chapter":
        return "incollection" if item.container_title else "online"
    if t == "thesis":
        return "thesis" if item.publisher else "online"
    if t == "dataset":
        return "dataset"
    return "online"


def biblatex_entry(item: CitationItem, ascii: bool = False) -> str:
    kind = biblatex_type(item)
    site = item.container_title or item.publisher
    fields: list[tuple[str, str | None]] = [
        ("author", names(item.author, ascii)),
        ("editor", names(item.editor, ascii)),
        ("title", title(item.title, ascii)),
    ]
    if kind == "article":
        journal = item.container_title or item.publisher
        fields += [
            ("journaltitle", _short_text(journal, ascii) if journal else None),
            ("entrysubtype", _SUBTYPE.get(item.type)),
            ("volume", text(item.volume, ascii)),
            ("number", text(item.issue, ascii)),
            ("pages", _pages(item.page)),
        ]
    elif kind in ("inproceedings", "incollection"):
        fields += [
            ("booktitle", title(item.container_title, ascii)),
            ("publisher", org(item.publisher, ascii)),
            ("pages", _pages(item.page)),
        ]
    elif kind in ("report", "thesis"):
        fields += [
            ("institution", org(item.publisher or item.container_title, ascii)),
            ("type", text(item.genre, ascii)),
            ("number", text(item.issue, ascii) if kind == "report" else None),
        ]
    elif kind in ("book", "dataset"):
        fields += [("publisher", org(item.publisher, ascii))]
    else:  # online, software
        fields += [("organization", org(site, ascii))]
    fields += [
        ("date", item.issued),
        ("doi", verbatim(item.DOI)),
    ]
    if item.archive_id:
        fields += [("eprint", verbatim(item.archive_id)), ("eprinttype", "arxiv")]
    fields += [
        ("url", verbatim(item.URL)),
        ("urldate", item.accessed),
        ("addendum", _archived_addendum(item)),
        ("langid", langid(item.language)),
        ("keywords", _keywords(item, ascii)),
        ("abstract", text(item.abstract, ascii)),
        ("annotation", text(item.note, ascii)),
    ]
    return _entry(kind, item.id, fields)


def _archived_addendum(item: CitationItem) -> str | None:
    """BibLaTeX has no field for an archived copy. The convention: `addendum` ("miscellaneous data printed at the
    end of the entry", biblatex manual 2.2.2) = `Archived at \\url{memento} on YYYY-MM-DD`, the URL through
    `url_macro` (verbatim, `%` and `#` escaped); `urldate` stays the day refman last read the live page."""
    if not item.archive_url:
        return None
    on = f" on {item.archive_date}" if item.archive_date else ""
    return f"Archived at {url_macro(verbatim(item.archive_url))}{on}"


def iter_biblatex(chunks: Chunks, ascii: bool = False) -> Iterator[str]:
    """The BibLaTeX export of items given in chunks, as text pieces (refman.citation.stream)."""
    return joined(chunks, partial(biblatex_entry, ascii=ascii), "\n")


def write_biblatex(items: Iterable[CitationItem], ascii: bool = False) -> str:
    return "".join(iter_biblatex([items], ascii))


# ---- classic BibTeX -------------------------------------------------------------------------------------


def bibtex_type(item: CitationItem) -> str:
    year = bool(item.issued)
    if item.type in ("article-journal", "article-newspaper", "article-magazine") and year:
        return "article" if (item.container_title or item.publisher) else "misc"
    if item.type == "paper-conference" and year and item.container_title:
        return "inproceedings"
    if item.type == "report" and year and (item.publisher or item.container_title):
        return "techreport"
    return "misc"


def _stand_in_author(item: CitationItem, ascii: bool) -> str | None:
    """The documented literal-author rule for classic types that require an author."""
    return org(item.publisher or item.container_title, ascii)


def bibtex_entry(item: CitationItem, ascii: bool = True) -> str:
    kind = bibtex_type(item)
    authors = names(item.author, ascii)
    if not authors and kind != "misc":
        authors = _stand_in_author(item, ascii)
    year = item.issued[:4] if item.issued else None
    month = MONTHS[int(item.issued[5:7]) - 1] if item.issued and len(item.issued) >= 7 else None
    url = verbatim(item.URL)
    fields: list[tuple[str, str | None]] = [
        ("author", authors),
        ("editor", names(item.editor, ascii)),
        ("title", title(item.title, ascii)),
    ]
    if kind == "article":
        fields += [
            ("journal", text(item.container_title or item.publisher, ascii)),
            ("volume", text(item.volume, ascii)),
            ("number", text(item.issue, ascii)),
            ("pages", _pages(item.page)),
        ]
    elif kind == "inproceedings":
        fields += [
            ("booktitle", title(item.container_title, ascii)),
            ("publisher", org(item.publisher, ascii)),
            ("pages", _pages(item.page)),
        ]
    elif kind == "techreport":
        fields += [
            ("institution", org(item.publisher or item.container_title, ascii)),
            ("type", text(item.genre, ascii)),
            ("number", text(item.issue, ascii)),
        ]
    else:
        fields += [
            ("howpublished", url_macro(url) if url else None),
            ("organization", org(item.container_title or item.publisher, ascii)),
        ]
    if not authors:  # classic styles sort (and alpha labels) by `key` when there is no author
        fields.append(("key", text(item.container_title or item.publisher or item.title, ascii)))
    fields += [
        ("year", year),
        ("month", month),
        ("note", f"Accessed: {item.accessed}" if item.accessed else None),
        ("doi", verbatim(item.DOI)),
    ]
    if item.archive_id:
        fields += [("eprint", verbatim(item.archive_id)), ("archiveprefix", "arXiv")]
    fields += [
        ("url", url),
        ("language", text(_language_name(item.language), ascii)),
        ("keywords", _keywords(item, ascii)),
        ("abstract", text(item.abstract, ascii)),
        ("annote", text(item.note, ascii)),
    ]
    return _entry(kind, item.id, fields, raw=frozenset({"month"}))


def _language_name(language: str | None) -> str | None:
    """Classic styles ignore `language`; it is kept (as a babel name) for managers that read it."""
    return langid(language)


def iter_bibtex(chunks: Chunks, ascii: bool = True) -> Iterator[str]:
    """The classic BibTeX export of items given in chunks, as text pieces (refman.citation.stream)."""
    return joined(chunks, partial(bibtex_entry, ascii=ascii), "\n")


def write_bibtex(items: Iterable[CitationItem], ascii: bool = True) -> str:
    return "".join(iter_bibtex([items], ascii))


def needs_unicode_engine(items: Iterable[CitationItem]) -> bool:
    """True when some entry has CJK text (xelatex/lualatex with xeCJK or ctex are then needed)."""
    return any(has_cjk(" ".join(filter(None, (i.title, i.container_title, i.publisher)))) for i in items)
