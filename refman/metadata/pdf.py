"""Citation metadata from a PDF: document info, XMP, and identifiers printed on the first page (pypdf).

PDF metadata is written by the authoring tool more often than by the author, so every value is checked:
"Microsoft Word - draft3.docx", "untitled" or a file name is not a title; "Administrator" or "user" is not
an author. Never raises: a damaged or encrypted PDF gives what could be read, possibly nothing.

XMP wins over the document info dictionary when both hold a valid value: PDF 2.0 deprecates the info
dictionary in favour of XMP; publishers, LaTeX (hyperxmp) and PDF/A tools write dc:title and dc:creator on
purpose, while /Title is often the converter's file name; and dc:creator is an ordered list of people, where
/Author is one string to split. A placeholder in XMP is dropped, so the info dictionary's value is used then."""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime
from typing import Any

from refman.metadata.authors import split_authors, to_csl_name
from refman.metadata.dates import parse_date
from refman.metadata.identifiers import arxiv_in_text, dois_in_text, normalize_arxiv, normalize_doi
from refman.metadata.language import normalize_language
from refman.metadata.types import PageMetadata
from refman.vocabulary import Origin

log = logging.getLogger(__name__)
PDF = Origin.PDF

_BAD_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel)\s*-|untitled|no title|title|document\d*|presentation\d*|"
    r"slide \d+|print|layout \d*|template|\$?\{|<)|\.(?:docx?|pdf|tex|dvi|pptx?|xlsx?|odt|rtf|indd|qxd|ps|eps)$|"
    r"^[\w\-]+_[\w\-_]+$|^[\w-]*\d{3,}[\w-]*$",
    re.IGNORECASE,
)
_BAD_AUTHORS = frozenset(
    ["administrator", "admin", "user", "owner", "author", "unknown", "default", "windows user", "microsoft office user",
     "setup", "standard", "guest", "test", "pc", "home", "staff", "office", "adobe", "root", "compaq", "hp", "dell",
     "lenovo", "ibm", "acer", "asus", "toshiba", "nobody", "anonymous", "me", "utilisateur", "benutzer"]
)


def clean_pdf_title(value: Any) -> str | None:
    """The title, or None when it is an authoring tool's placeholder or a file name."""
    if not isinstance(value, str):
        return None
    text = re.sub(r"\s+", " ", value).strip().strip("\x00")
    if len(text) < 3 or len(text) > 400 or _BAD_TITLE.search(text):
        return None
    return text


def clean_pdf_authors(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, str):
        return []
    text = value.strip()
    if not text or text.lower() in _BAD_AUTHORS or (re.fullmatch(r"[\w.]+", text) and text.islower()):
        return []  # an account name ("jsmith", "user")
    names = [n for n in split_authors(text) if n.lower() not in _BAD_AUTHORS]
    return [to_csl_name(n) for n in names]


def _pdf_date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, str):
        match = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?", value.strip())
        if match:
            parts = [p for p in match.groups() if p]
            return parse_date("-".join(parts))
        return parse_date(value)
    return None


def extract_pdf(data: bytes) -> PageMetadata:
    out = PageMetadata()
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:  # an owner password we cannot open: nothing more to read
                return _finish(out)
    except Exception as exc:  # pypdf raises many types on damaged files; none of them is our caller's problem
        log.debug("unreadable PDF: %s", exc)
        return _finish(out)

    # XMP first, then the document info dictionary; each value is checked on its own, so a placeholder in one
    # (Word's "Microsoft Word - draft3.docx" title, an "Administrator" author) gives way to the other's value.
    _read_xmp(reader, out)
    _read_info(reader, out)

    try:
        if reader.pages:
            text = reader.pages[0].extract_text() or ""
            # A DOI printed on the first page is the paper's own; later pages cite other works.
            labelled = re.search(r"(?:doi\s*[:.]?\s*|doi\.org/)(10\.\d{4,9}/\S+)", text, re.IGNORECASE)
            dois = [normalize_doi(labelled.group(1))] if labelled else dois_in_text(text)[:1]
            for doi in dois:
                out.add_candidate("doi", doi, PDF)
            out.add_candidate("archive_id", normalize_arxiv(arxiv_in_text(text)), PDF)
    except Exception as exc:
        log.debug("PDF first page unreadable: %s", exc)
    return _finish(out)


def _read_xmp(reader: Any, out: PageMetadata) -> None:
    """dc:title (x-default first), dc:creator in order, xmp:CreateDate, dc:language, a DOI in dc:identifier."""
    try:
        xmp = reader.xmp_metadata
        if xmp is None:
            return
        titles = xmp.dc_title or {}
        title = (titles.get("x-default") or next(iter(titles.values()), None)) if isinstance(titles, dict) else None
        out.add_candidate("title", clean_pdf_title(title), PDF)
        creators = xmp.dc_creator or []
        out.add_candidate("author", [n for c in creators for n in clean_pdf_authors(c)], PDF)
        out.add_candidate("issued", _pdf_date(xmp.xmp_create_date), PDF)
        for lang in xmp.dc_language or []:
            out.add_candidate("language", normalize_language(lang), PDF)
        for ident in xmp.dc_identifier or []:
            out.add_candidate("doi", normalize_doi(ident), PDF)
    except Exception as exc:
        log.debug("PDF XMP unreadable: %s", exc)


def _read_info(reader: Any, out: PageMetadata) -> None:
    """/Title, /Author, /CreationDate, /Subject and a /doi-like key of the document info dictionary."""
    try:
        info = reader.metadata or {}
        out.add_candidate("title", clean_pdf_title(info.get("/Title")), PDF)
        out.add_candidate("author", clean_pdf_authors(info.get("/Author")), PDF)
        created = None
        try:
            created = info.creation_date if hasattr(info, "creation_date") else None
        except Exception:  # a malformed /CreationDate
            created = None
        out.add_candidate("issued", _pdf_date(created or info.get("/CreationDate")), PDF)
        out.add_candidate("abstract", info.get("/Subject") if isinstance(info.get("/Subject"), str) else None, PDF)
        for key in ("/doi", "/DOI", "/Identifier"):
            if isinstance(info.get(key), str):
                out.add_candidate("doi", normalize_doi(info[key]), PDF)
    except Exception as exc:
        log.debug("PDF document info unreadable: %s", exc)


def _finish(out: PageMetadata) -> PageMetadata:
    for name, cands in out.candidates.items():
        out.fields[name] = cands[0]
    if "archive_id" in out.fields:
        out.fields["type"] = ("article", PDF)
        out.fields["genre"] = ("preprint", PDF)
    else:
        out.fields["type"] = ("document", PDF)
    return out
