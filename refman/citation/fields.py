"""The CSL ↔ BibLaTeX/BibTeX ↔ RIS mapping of fields and entry types.

It follows the mapping that Better BibTeX and citation-js (plugin-bibtex) document, reduced to what a CSL
processor and biber both understand. A BibLaTeX field that has a CSL variable maps to it; one that has none is
kept verbatim in `CitationItem.verbatim["bib"]` and written back into .bib exports only (see item.py).

| BibLaTeX | CSL | | BibLaTeX | CSL |
| --- | --- | --- | --- | --- |
| author, editor, translator | same | | bookauthor | container-author |
| title, shorttitle | title, title-short | | journaltitle/journal, booktitle | container-title |
| shortjournal | container-title-short | | series | collection-title |
| volume, volumes | volume, number-of-volumes | | pages, pagetotal | page, number-of-pages |
| number | issue (@article), collection-number (books, in-books), number (others) | | issue | issue (if no number) |
| edition, version, chapter | edition, version, chapter-number | | type | genre |
| publisher, institution, school | publisher | | organization | publisher (site: container-title on @online) |
| location/address, venue | publisher-place, event-place | | eventtitle | event-title |
| date/year+month, origdate, eventdate, urldate | issued, original-date, event-date, accessed | | |  |
| doi, isbn, issn, url, pmid, pmcid | DOI, ISBN, ISSN, URL, PMID, PMCID | | eprint (arXiv) | number + archive |
| note, annotation/annote, abstract | note, annote (the user's note), abstract | | keywords | keyword (tags) |
| langid/language | language (BCP 47) | | howpublished (not a URL) | medium |
"""

from __future__ import annotations

import re
from typing import Any

# ---- entry types ------------------------------------------------------------------------------------------

BIB_TO_CSL_TYPE = {
    "article": "article-journal", "book": "book", "mvbook": "book", "booklet": "pamphlet",
    "inbook": "chapter", "bookinbook": "chapter", "suppbook": "chapter", "incollection": "chapter",
    "suppcollection": "chapter", "collection": "book", "mvcollection": "book", "inproceedings": "paper-conference",
    "conference": "paper-conference", "proceedings": "book", "mvproceedings": "book", "manual": "report",
    "misc": "document", "online": "webpage", "www": "webpage", "electronic": "webpage", "webpage": "webpage",
    "patent": "patent", "periodical": "periodical", "suppperiodical": "article-journal", "report": "report",
    "techreport": "report", "thesis": "thesis", "phdthesis": "thesis", "mastersthesis": "thesis",
    "unpublished": "manuscript", "dataset": "dataset", "software": "software", "artwork": "graphic",
    "audio": "song", "image": "graphic", "legislation": "legislation", "jurisdiction": "legal_case",
    "legal": "treaty", "letter": "personal_communication", "movie": "motion_picture", "video": "motion_picture",
    "music": "song", "performance": "performance", "review": "review", "standard": "standard",
    "reference": "book", "mvreference": "book", "inreference": "entry-encyclopedia", "set": "document",
    "customa": "document", "customb": "document", "customc": "document", "customd": "document",
    "custome": "document", "customf": "document",
}
THESIS_GENRE = {"phdthesis": "PhD thesis", "mastersthesis": "Master's thesis"}

# CSL type → BibLaTeX entry type, when the item has what the type needs (refman.citation.bibtex decides)
CSL_TO_BIBLATEX_TYPE = {
    "article-journal": "article", "article-magazine": "article", "article-newspaper": "article",
    "paper-conference": "inproceedings", "report": "report", "software": "software", "book": "book",
    "chapter": "incollection", "thesis": "thesis", "dataset": "dataset", "pamphlet": "booklet",
    "patent": "patent", "periodical": "periodical", "manuscript": "unpublished", "graphic": "artwork",
    "song": "audio", "legislation": "legislation", "legal_case": "jurisdiction", "treaty": "legal",
    "personal_communication": "letter", "motion_picture": "video", "performance": "performance",
    "review": "review", "review-book": "review", "standard": "standard", "entry-encyclopedia": "inreference",
    "entry-dictionary": "inreference", "entry": "inreference", "collection": "collection",
    "classic": "book", "map": "misc", "figure": "artwork", "musical_score": "misc", "interview": "misc",
    "speech": "misc", "broadcast": "misc", "event": "misc", "hearing": "misc", "bill": "legislation",
    "regulation": "legislation", "post": "online", "post-weblog": "online", "webpage": "online",
    "document": "misc", "article": "online",
}

# ---- fields -----------------------------------------------------------------------------------------------

# plain text fields: BibLaTeX name → CSL variable (aliases first-come: journaltitle before journal)
TEXT_FIELDS = {
    "shorttitle": "title-short", "shortjournal": "container-title-short", "series": "collection-title",
    "volumes": "number-of-volumes", "pagetotal": "number-of-pages", "edition": "edition", "version": "version",
    "chapter": "chapter-number", "location": "publisher-place", "address": "publisher-place",
    "venue": "event-place", "eventtitle": "event-title", "isbn": "ISBN", "issn": "ISSN", "pmid": "PMID",
    "pmcid": "PMCID", "note": "note",
}
NAME_FIELDS = {"author": "author", "editor": "editor", "translator": "translator", "bookauthor": "container-author"}
DATE_FIELDS = {"origdate": "original-date", "eventdate": "event-date"}
# CSL variable → BibLaTeX field for the `more` variables, written by refman.citation.bibtex
CSL_TO_BIB_TEXT = {
    "title-short": "shorttitle", "container-title-short": "shortjournal", "collection-title": "series",
    "number-of-volumes": "volumes", "number-of-pages": "pagetotal", "edition": "edition", "version": "version",
    "chapter-number": "chapter", "publisher-place": "location", "event-place": "venue",
    "event-title": "eventtitle", "event": "eventtitle", "ISBN": "isbn", "ISSN": "issn", "note": "note",
}
# CSL variables whose BibLaTeX field is not in biber's standard data model: written to BibTeX and BibLaTeX
# files as they are (biber keeps unknown fields; `--validate-datamodel` warns about them)
CSL_TO_BIB_NONSTANDARD = {"PMID": "pmid", "PMCID": "pmcid"}
CSL_TO_BIB_NAMES = {"translator": "translator", "container-author": "bookauthor"}
CSL_TO_BIB_DATES = {"original-date": "origdate", "event-date": "eventdate"}

# types whose ISBN is their container's (a chapter, a conference paper): an ISBN identifies only whole works
PART_TYPES = {"chapter", "paper-conference", "entry", "entry-dictionary", "entry-encyclopedia", "article-journal",
              "article-magazine", "article-newspaper", "review", "review-book", "article"}


def identity_isbn(ctype: str, isbn: str | None) -> str | None:
    """The ISBN-13 that identifies a work of type `ctype`, or None (see PART_TYPES)."""
    return None if ctype in PART_TYPES else isbn13(isbn)


BOOKISH = {"book", "chapter", "paper-conference", "entry-encyclopedia", "entry-dictionary", "collection"}

# ---- identifiers ------------------------------------------------------------------------------------------

_DOI = re.compile(r"10\.\d+(?:\.\d+)*/\S+")


def clean_doi(value: str | None) -> str | None:
    """A DOI as written in the wild (`doi:10…`, `https://doi.org/10…`, `http://dx.doi.org/10…`) → `10…`, its
    case kept (DOIs compare case-insensitively); None when there is no DOI in it."""
    if not value:
        return None
    m = _DOI.search(value.strip())
    if not m:
        return None
    doi = m.group(0)
    from urllib.parse import unquote

    return unquote(doi).rstrip(".,;")


def isbn13(value: str | None) -> str | None:
    """The first ISBN in `value`, as ISBN-13 digits (an ISBN-10 is converted); None if there is none valid."""
    if not value:
        return None
    for raw in re.split(r"[,;]|\s(?=\d)", value):
        digits = re.sub(r"[^0-9Xx]", "", raw.split("(")[0]).upper()
        if len(digits) == 10 and _isbn10_ok(digits):
            core = "978" + digits[:9]
            return core + _isbn13_check(core)
        if len(digits) == 13 and digits.isdigit() and _isbn13_check(digits[:12]) == digits[12]:
            return digits
    return None


def _isbn10_ok(digits: str) -> bool:
    if not digits[:9].isdigit() or not (digits[9].isdigit() or digits[9] == "X"):
        return False
    total = sum((10 - i) * int(c) for i, c in enumerate(digits[:9]))
    total += 10 if digits[9] == "X" else int(digits[9])
    return total % 11 == 0


def _isbn13_check(core: str) -> str:
    total = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(core))
    return str((10 - total % 10) % 10)


# ---- dates ------------------------------------------------------------------------------------------------

_EDTF = re.compile(r"^(-?\d{1,4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?(?:T[\d:.Z+-]*)?$")


def _one(text: str) -> str | None:
    m = _EDTF.match(text.strip())
    if not m:
        return None
    year = int(m.group(1))
    out = f"-{abs(year):04d}" if year < 0 else f"{year:04d}"
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            return out if 21 <= month <= 24 else None  # EDTF seasons: the year only
        out += f"-{month:02d}"
        if m.group(3):
            day = int(m.group(3))
            if not 1 <= day <= 31:
                return None
            out += f"-{day:02d}"
    return out


def edtf_date(text: str | None) -> str | None:
    """A BibLaTeX/EDTF date (`2004-04-05`, `2004/2005`, `1982--1983`, `-0044`, `2004-04-05T14:34`) → the
    stored form (refman.citation.item); None when it is not one (`n.d.`, `forthcoming`, `199u`)."""
    if not text:
        return None
    text = text.strip().replace("--", "/").replace("\u2013", "/")
    if "/" in text:
        start, _, end = text.partition("/")
        a = _one(start) if start.strip() not in ("", "..") else None
        b = _one(end) if end.strip() not in ("", "..") else None
        if a and b:
            return a if a == b else f"{a}/{b}"
        return a or None
    return _one(text)


def csl_date_to_iso(value: Any) -> str | None:
    """A CSL date object → the stored form: date-parts may hold numbers or numeric strings, empty parts,
    negative (BCE) years and a second (end) part; a `raw` string is read like a BibLaTeX date. None when it
    gives no year (a `literal` date, a season alone)."""
    if isinstance(value, str):
        return edtf_date(value)
    if not isinstance(value, dict):
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts:
        ends = [_parts_iso(p) for p in parts[:2] if isinstance(p, list)]
        ends = [e for e in ends if e]
        if ends:
            return ends[0] if len(ends) == 1 or ends[0] == ends[1] else f"{ends[0]}/{ends[1]}"
    raw = value.get("raw")
    return edtf_date(raw) if isinstance(raw, str) else None


def _parts_iso(parts: list[Any]) -> str | None:
    nums: list[int] = []
    for p in parts[:3]:
        try:
            nums.append(int(str(p).strip()))
        except ValueError:
            break
    if not nums:
        return None
    text = "-".join([str(nums[0]) if nums[0] >= 0 else f"-{abs(nums[0]):04d}", *(str(n) for n in nums[1:])])
    if nums[0] >= 0:
        text = f"{nums[0]:04d}" + text[len(str(nums[0])):]
    return _one(text)
