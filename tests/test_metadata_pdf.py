"""Metadata from PDFs: document info, XMP, identifiers on the first page, and sanity checks."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from refman.metadata import pdf_metadata
from refman.metadata.pdf import clean_pdf_authors, clean_pdf_title


def make_pdf(info: dict[str, str] | None = None, first_page_text: str | None = None) -> bytes:
    """A one-page PDF with document info and, optionally, a line of Helvetica text on the page."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    if first_page_text is not None:
        font = DictionaryObject({
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        })
        page[NameObject("/Resources")] = DictionaryObject({
            NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)}),
        })
        stream = DecodedStreamObject()
        escaped = first_page_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream.set_data(f"BT /F1 10 Tf 50 700 Td ({escaped}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if info:
        writer.add_metadata(info)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_document_info() -> None:
    data = make_pdf({"/Title": "Attention Is All You Need", "/Author": "Ashish Vaswani; Noam Shazeer",
                     "/CreationDate": "D:20170612120000Z"})
    m = pdf_metadata(data)
    assert m.fields["title"] == ("Attention Is All You Need", "pdf")
    assert m.fields["author"][0] == [{"family": "Vaswani", "given": "Ashish"}, {"family": "Shazeer", "given": "Noam"}]
    assert m.fields["issued"] == ("2017-06-12", "pdf")
    assert m.fields["type"] == ("document", "pdf")


def test_placeholder_title_and_account_author_are_dropped() -> None:
    m = pdf_metadata(make_pdf({"/Title": "Microsoft Word - draft3.docx", "/Author": "Administrator"}))
    assert "title" not in m.fields and "author" not in m.fields


def test_doi_and_arxiv_on_the_first_page() -> None:
    m = pdf_metadata(make_pdf(first_page_text="Journal of Things. doi:10.1234/JOT.2020.5 and more"))
    assert m.fields["doi"] == ("10.1234/jot.2020.5", "pdf")
    m = pdf_metadata(make_pdf(first_page_text="arXiv:1706.03762v5 [cs.CL] 6 Dec 2017"))
    assert m.fields["archive_id"] == ("1706.03762", "pdf")
    assert m.fields["type"] == ("article", "pdf")
    assert m.fields["genre"] == ("preprint", "pdf")


@pytest.mark.parametrize("data", [b"", b"not a pdf", b"%PDF-1.4\n%broken", make_pdf()[:200]])
def test_bad_pdfs_never_raise(data: bytes) -> None:
    m = pdf_metadata(data)
    assert m.fields["type"] == ("document", "pdf")


@pytest.mark.parametrize(
    ("title", "ok"),
    [("Microsoft Word - draft3.docx", False), ("untitled", False), ("report_final_v2", False),
     ("paper.pdf", False), ("Deep Learning for Citation Parsing", True), ("Q3", False)],
)
def test_clean_pdf_title(title: str, ok: bool) -> None:
    assert (clean_pdf_title(title) is not None) is ok


def test_clean_pdf_authors() -> None:
    assert clean_pdf_authors("user") == []
    assert clean_pdf_authors("jsmith") == []
    assert clean_pdf_authors("Grace Hopper") == [{"family": "Hopper", "given": "Grace"}]
