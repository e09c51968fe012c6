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

from refman.citation.fields import CSL_TO_BIB_NONSTANDARD, CSL_TO_BIBLATEX_TYPE
from refman.citation.item import CitationItem, CSLName, month_of, year_of
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
    if particle and _starts_lower(particle.split()[-1]) and "," not in particle and " and " not in f" {particle} ":
        last = f"{particle} {_protect_word(family)}"  # up to a lower-case word before the family: BibTeX's von
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


def _starts_lower(word: str) -> bool:
    """BibTeX's test for a von word: its first letter is lower case."""
    return next((c.islower() for c in word if c.isalpha()), False)


def names(people: Iterable[CSLName], ascii: bool) -> str | None:
    if not people:
        return None
    formatted = [f for f in (name(n, ascii) if n.literal != "et al." else "others" for n in people) if f]
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
    tags = [t for t in (_short_text(k.replace(",", " "), ascii)
                        for k in (item.keywords() if item.verbatim else item.keyword)) if t]
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
_IN_BOOK = ("inproceedings", "incollection", "inreference", "inbook")
_BOOK = ("book", "collection", "proceedings", "reference", "mvbook", "booklet", "manual", "periodical")


def biblatex_type(item: CitationItem) -> str:
    """The entry type written: an imported entry's own type (@mvbook, @techreport …) while refman would still
    write that entry as the type it maps to, else refman's (see _kind)."""
    kind = _kind(item)
    verbatim = item.verbatim.get("bib") if item.verbatim else None
    if verbatim and verbatim.get("type"):
        from refman.citation.fields import BIB_TO_CSL_TYPE

        original = str(verbatim["type"]).lower()
        if BIB_TO_CSL_TYPE.get(original, "document") == item.type or (original in ("misc", "online") and item.URL
                                                                        and kind == "online"):
            return original
    return kind


def _kind(item: CitationItem) -> str:
    """refman's entry type for an item. A web item (it has a URL) whose container is unknown falls back to
    @online, which only needs a title and a URL; without a URL the type is kept, or @misc for web types."""
    t = item.type
    kind = CSL_TO_BIBLATEX_TYPE.get(t, "misc")
    if item.URL:
        container = item.container_title or item.publisher
        if t in ("article-newspaper", "article-magazine", "report"):
            kind = kind if container else "online"
        elif t in ("article-journal", "paper-conference", "chapter"):
            kind = kind if item.container_title else "online"
        elif t == "thesis":
            kind = kind if item.publisher else "online"
        elif kind == "misc":
            kind = "online"
    elif kind == "online":
        kind = "misc"
    return kind


def _more_text(item: CitationItem, var: str, ascii: bool) -> str | None:
    value = item.more.get(var) if item.more else None
    if value is None or isinstance(value, (dict, list)):
        return None
    return text(str(value), ascii)


def _more_names(item: CitationItem, var: str, ascii: bool) -> str | None:
    from refman.citation.build import names_from_list

    value = item.more.get(var) if item.more else None
    return names(names_from_list(value), ascii) if value else None


def _more_date(item: CitationItem, var: str) -> str | None:
    from refman.citation.fields import csl_date_to_iso

    value = item.more.get(var) if item.more else None
    return csl_date_to_iso(value) if value else None


def _number(item: CitationItem, kind: str, ascii: bool) -> str | None:
    if kind == "article":
        return text(item.issue, ascii)
    if kind in _IN_BOOK or kind in _BOOK:
        return _more_text(item, "collection-number", ascii)
    return _more_text(item, "number", ascii) or (text(item.issue, ascii) if kind == "report" else None)


def _verbatim_fields(item: CitationItem, written: set[str]) -> list[tuple[str, str | None]]:
    """What an imported .bib entry had that refman does not map, as it was written: its unmapped fields (unless
    refman writes a field of that name now) and the later values of a field it gave more than once."""
    verbatim = item.verbatim.get("bib") if item.verbatim else None
    if not verbatim:
        return []
    out: list[tuple[str, str | None]] = [(str(n), str(v)) for n, v in verbatim.get("fields") or []
                                         if n not in written]
    return out + [(str(n), str(v)) for n, v in verbatim.get("repeated") or []]


_NO_MORE: dict[str, str | None] = {}


def _more_fields(item: CitationItem, ascii: bool) -> dict[str, str | None]:
    """The BibLaTeX fields of the item's other CSL variables (`more`), by field name."""
    out: dict[str, str | None] = {bib: _more_text(item, var, ascii) for var, bib in _MORE_TEXT}
    out["eventtitle"] = out["eventtitle"] or _more_text(item, "event", ascii)
    out["translator"] = _more_names(item, "translator", ascii)
    out["bookauthor"] = _more_names(item, "container-author", ascii)
    out["origdate"] = _more_date(item, "original-date")
    out["eventdate"] = _more_date(item, "event-date")
    for var, bib in CSL_TO_BIB_NONSTANDARD.items():
        out[bib] = _more_text(item, var, ascii)
    return out


_MORE_TEXT = (("title-short", "shorttitle"), ("container-title-short", "shortjournal"),
              ("event-title", "eventtitle"), ("event-place", "venue"), ("collection-title", "series"),
              ("number-of-volumes", "volumes"), ("edition", "edition"), ("version", "version"),
              ("chapter-number", "chapter"), ("number-of-pages", "pagetotal"), ("publisher-place", "location"),
              ("medium", "howpublished"), ("ISBN", "isbn"), ("ISSN", "issn"), ("note", "note"))
# entry types whose fields name the container themselves (the rest get it from the fallback below)
_CONTAINER_WRITTEN = frozenset({"article", "periodical", "online", "software", "misc", *_IN_BOOK})


def biblatex_entry(item: CitationItem, ascii: bool = False) -> str:
    kind = _kind(item)
    site = item.container_title or item.publisher
    m = _more_fields(item, ascii) if item.more else _NO_MORE  # most web pages have none: no lookups
    fields: list[tuple[str, str | None]] = [
        ("author", names(item.author, ascii)),
        ("editor", names(item.editor, ascii)),
        ("translator", m.get("translator")),
        ("bookauthor", m.get("bookauthor")),
        ("title", title(item.title, ascii)),
        ("shorttitle", m.get("shorttitle")),
    ]
    if kind in ("article", "periodical"):
        journal = item.container_title or (item.publisher if item.URL else None)
        fields += [
            ("journaltitle", _short_text(journal, ascii) if journal else None),
            ("shortjournal", m.get("shortjournal")),
            ("entrysubtype", _SUBTYPE.get(item.type)),
        ]
    elif kind in _IN_BOOK:
        fields += [("booktitle", title(item.container_title, ascii))]
    fields += [("eventtitle", m.get("eventtitle")), ("venue", m.get("venue")), ("series", m.get("series")),
               ("volume", text(item.volume, ascii)),
               ("volumes", m.get("volumes")),
               ("number", _number(item, kind, ascii)),
               ("issue", text(item.issue, ascii) if kind not in ("article", "report") else None),
               ("edition", m.get("edition")),
               ("version", m.get("version")),
               ("chapter", m.get("chapter")),
               ("pages", _pages(item.page)),
               ("pagetotal", m.get("pagetotal"))]
    if kind in ("report", "thesis"):
        fields += [
            ("institution", org(item.publisher or item.container_title, ascii)),
            # biblatex requires `type` on @report/@thesis: the genre, else the generic technical report
            ("type", text(item.genre, ascii) or ("techreport" if kind == "report" else None)),
        ]
    elif kind in ("online", "software", "misc"):  # the site or publisher: biblatex's `organization`
        fields += [("organization", org(site, ascii)), ("type", text(item.genre, ascii) if kind == "misc" else None)]
    else:
        fields += [("publisher", org(item.publisher, ascii)), ("type", text(item.genre, ascii))]
    fields += [
        ("location", m.get("location")),
        ("howpublished", m.get("howpublished")),
        ("date", item.issued),
        ("origdate", m.get("origdate")),
        ("eventdate", m.get("eventdate")),
        ("isbn", m.get("isbn")),
        ("issn", m.get("issn")),
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
        ("note", m.get("note")),
        ("annotation", text(item.note, ascii)),
        ("pmid", m.get("pmid")),
        ("pmcid", m.get("pmcid")),
    ]
    if item.verbatim:
        fields = _as_written(item, fields, ascii)
    used = item.verbatim.get("bib", {}).get("as", {}) if item.verbatim else {}
    # a container or publisher that refman's type has no field for: under the file's name, else booktitle
    if item.container_title and kind not in _CONTAINER_WRITTEN:
        written = {n for n, v in fields if v}
        if not written & {"journaltitle", "journal", "booktitle", "organization"}:
            fields.append((used.get("container-title") or "booktitle", title(item.container_title, ascii)))
    if item.publisher and used.get("publisher"):
        written = {n for n, v in fields if v}
        if not written & set(_PUBLISHER_NAMES):
            fields.append((used["publisher"], org(item.publisher, ascii)))
    if item.verbatim:
        fields += _verbatim_fields(item, {n for n, v in fields if v})
    return _entry(biblatex_type(item) if item.verbatim else kind, item.id, fields)


_PUBLISHER_NAMES = ("publisher", "organization", "institution", "school")
_CONTAINER_NAMES = ("journaltitle", "journal", "booktitle", "organization")


def _as_written(item: CitationItem, fields: list[tuple[str, str | None]], ascii: bool) -> list[tuple[str, str | None]]:
    """An imported entry's publisher and container under the field names its file gave them (`school`,
    `organization` …) rather than refman's choice for the type."""
    used = item.verbatim.get("bib", {}).get("as") if item.verbatim else None
    if not used:
        return fields
    present = {n for n, v in fields if v}
    values = {"publisher": {org(item.publisher, ascii)} if item.publisher else set(),
              "container-title": {org(item.container_title, ascii), title(item.container_title, ascii),
                                  _short_text(item.container_title, ascii)} if item.container_title else set(),
              "issue": {text(item.issue, ascii)} if item.issue else set(),
              "publisher-place": {_more_text(item, "publisher-place", ascii)}}
    out = []
    for name, value in fields:
        for var, names_for in (("publisher", _PUBLISHER_NAMES), ("container-title", _CONTAINER_NAMES),
                               ("issue", ("number", "issue")), ("publisher-place", ("location", "address"))):
            wanted = used.get(var)
            if value and wanted and name != wanted and name in names_for and value in values[var] \
                    and wanted not in present:
                present.discard(name)
                present.add(wanted)
                name = wanted
                break
        out.append((name, value))
    return out


def _archived_addendum(item: CitationItem) -> str | None:
    """BibLaTeX has no field for an archived copy. The convention: `addendum` ("miscellaneous data printed at the
    end of the entry", biblatex manual 2.2.2) = `Archived at \\url{memento} on YYYY-MM-DD`, the URL through
    `url_macro` (verbatim, `%` and `#` escaped); `urldate` stays the day refman last read the live page."""
    if not item.archive_url:
        return None
    on = f" on {item.archive_date}" if item.archive_date else ""
    return f"Archived at {url_macro(verbatim(item.archive_url) or '')}{on}"


def iter_biblatex(chunks: Chunks, ascii: bool = False) -> Iterator[str]:
    """The BibLaTeX export of items given in chunks, as text pieces (refman.citation.stream)."""
    return joined(chunks, partial(biblatex_entry, ascii=ascii), "\n")


def write_biblatex(items: Iterable[CitationItem], ascii: bool = False) -> str:
    return "".join(iter_biblatex([items], ascii))


# ---- classic BibTeX -------------------------------------------------------------------------------------


_CLASSIC = frozenset({"article", "book", "booklet", "inbook", "incollection", "inproceedings", "manual",
                      "mastersthesis", "misc", "phdthesis", "proceedings", "techreport", "unpublished"})


def bibtex_type(item: CitationItem) -> str:
    from refman.citation.fields import BIB_TO_CSL_TYPE

    verbatim = item.verbatim.get("bib") if item.verbatim else None
    original = str(verbatim.get("type") or "").lower() if verbatim else ""
    if original in _CLASSIC and BIB_TO_CSL_TYPE.get(original) == item.type:
        return original
    year = bool(item.issued)
    t = item.type
    if t in ("article-journal", "article-newspaper", "article-magazine") and year:
        return "article" if (item.container_title or item.publisher) else "misc"
    if t == "paper-conference" and year and item.container_title:
        return "inproceedings"
    if t == "report" and year and (item.publisher or item.container_title):
        return "techreport"
    if t == "book" and year and item.publisher:
        return "book"
    if t == "chapter" and year and item.container_title and item.publisher:
        return "incollection"
    if t == "thesis" and year and item.publisher:
        return "mastersthesis" if "master" in (item.genre or "").lower() else "phdthesis"
    if t == "manuscript":
        return "unpublished"
    return "misc"


def _stand_in_author(item: CitationItem, ascii: bool) -> str | None:
    """The documented literal-author rule for classic types that require an author."""
    return org(item.publisher or item.container_title, ascii)


def bibtex_entry(item: CitationItem, ascii: bool = True) -> str:
    kind = bibtex_type(item)
    m = _more_fields(item, ascii) if item.more else _NO_MORE
    authors = names(item.author, ascii)
    if not authors and kind in ("article", "inproceedings", "techreport"):
        authors = _stand_in_author(item, ascii)
    year = year_of(item.issued)
    if item.issued and "/" in item.issued:  # a range: 1982--1983
        year = f"{year}--{year_of(item.issued.partition('/')[2])}"
    month_number = month_of(item.issued)
    month = MONTHS[month_number - 1] if month_number else None
    url = verbatim(item.URL)
    fields: list[tuple[str, str | None]] = [
        ("author", authors),
        ("editor", names(item.editor, ascii)),
        ("translator", m.get("translator")),
        ("title", title(item.title, ascii)),
    ]
    if kind == "article":
        fields += [("journal", text(item.container_title or item.publisher, ascii))]
    elif kind in ("inproceedings", "incollection", "inbook"):
        fields += [("booktitle", title(item.container_title, ascii))]
    fields += [("series", m.get("series")),
               ("volume", text(item.volume, ascii)),
               ("number", _number(item, "report" if kind == "techreport" else kind, ascii)),
               ("edition", m.get("edition")),
               ("chapter", m.get("chapter")),
               ("pages", _pages(item.page))]
    if kind == "techreport":
        fields += [("institution", org(item.publisher or item.container_title, ascii)),
                   ("type", text(item.genre, ascii))]
    elif kind in ("phdthesis", "mastersthesis"):
        fields += [("school", org(item.publisher, ascii)), ("type", text(item.genre, ascii)
                                                             if item.genre not in THESIS_GENRES else None)]
    elif kind in ("book", "incollection", "inproceedings", "inbook", "proceedings", "booklet", "manual"):
        fields += [("publisher", org(item.publisher, ascii))]
    elif kind != "article":
        fields += [
            ("howpublished", url_macro(url) if url else m.get("howpublished")),
            ("organization", org(item.container_title or item.publisher, ascii)),
        ]
    if not authors:  # classic styles sort (and alpha labels) by `key` when there is no author
        fields.append(("key", text(item.container_title or item.publisher or item.title, ascii)))
    note = m.get("note")
    if item.accessed:
        note = f"{note}. Accessed: {item.accessed}" if note else f"Accessed: {item.accessed}"
    fields += [
        ("address", m.get("location")),
        ("year", year),
        ("month", month),
        ("note", note),
        ("isbn", m.get("isbn")),
        ("issn", m.get("issn")),
        ("doi", verbatim(item.DOI)),
    ]
    if item.archive_id:
        fields += [("eprint", verbatim(item.archive_id)), ("archiveprefix", "arXiv")]
    fields += [
        ("url", url),
        ("urldate", item.accessed),  # unknown to classic styles (they print `note`); read by managers
        ("language", text(_language_name(item.language), ascii)),
        ("keywords", _keywords(item, ascii)),
        ("abstract", text(item.abstract, ascii)),
        ("annote", text(item.note, ascii)),
        ("pmid", m.get("pmid")),
        ("pmcid", m.get("pmcid")),
    ]
    if item.verbatim:
        fields += _verbatim_fields(item, {n for n, v in fields if v})
    return _entry(kind, item.id, fields, raw=frozenset({"month"}))


THESIS_GENRES = ("PhD thesis", "Master's thesis")


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
