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


def xmp_packet(title: str | None = None, creators: tuple[str, ...] = (), created: str | None = None,
               language: str | None = None) -> bytes:
    """An XMP packet shaped like the ones LaTeX (hyperxmp) and PDF/A tools write."""
    parts = []
    if title is not None:
        parts.append(f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>')
    if creators:
        items = "".join(f"<rdf:li>{c}</rdf:li>" for c in creators)
        parts.append(f"<dc:creator><rdf:Seq>{items}</rdf:Seq></dc:creator>")
    if language:
        parts.append(f"<dc:language><rdf:Bag><rdf:li>{language}</rdf:li></rdf:Bag></dc:language>")
    if created:
        parts.append(f"<xmp:CreateDate>{created}</xmp:CreateDate>")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">'
        + "".join(parts)
        + "<pdf:Producer>pdfTeX-1.40.25</pdf:Producer>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode("utf-8")


def make_xmp_pdf(xmp: bytes, info: dict[str, str] | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    if info:
        writer.add_metadata(info)
    writer.xmp_metadata = xmp  # a /Metadata stream in the catalog
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_xmp_title_creators_and_date_without_document_info() -> None:
    data = make_xmp_pdf(xmp_packet("Sparse Attention for Long Documents", ("Rush, Alexander M.", "Ada Lovelace"),
                                   "2021-03-15T09:30:00+01:00", "en-GB"))
    m = pdf_metadata(data)
    assert m.fields["title"] == ("Sparse Attention for Long Documents", "pdf")
    # dc:creator keeps its order; "Family, Given" and initials survive.
    assert m.fields["author"] == ([{"family": "Rush", "given": "Alexander M."},
                                   {"family": "Lovelace", "given": "Ada"}], "pdf")
    assert m.fields["issued"] == ("2021-03-15", "pdf")
    assert m.fields["language"] == ("en-GB", "pdf")


def test_xmp_wins_over_junk_document_info() -> None:
    """Word's exporter writes its file name as /Title and the account as /Author; XMP holds the real ones."""
    data = make_xmp_pdf(xmp_packet("Soil Moisture in Alpine Meadows", ("Anna Müller", "Marco Rossi"),
                                   "2019-07-02T10:00:00Z"),
                        {"/Title": "Microsoft Word - draft3.docx", "/Author": "Administrator",
                         "/CreationDate": "D:20190702100000Z"})
    m = pdf_metadata(data)
    assert m.fields["title"][0] == "Soil Moisture in Alpine Meadows"
    assert m.fields["author"][0] == [{"family": "Müller", "given": "Anna"}, {"family": "Rossi", "given": "Marco"}]
    assert m.fields["issued"][0] == "2019-07-02"


def test_xmp_wins_over_valid_document_info_and_info_fills_the_gaps() -> None:
    """Both valid: XMP is the one PDF 2.0 keeps and tools write on purpose. A placeholder XMP title (or one
    that is missing) gives way to the info dictionary's title; the info's date fills a missing xmp:CreateDate."""
    data = make_xmp_pdf(xmp_packet("Attention Is All You Need", ("Ashish Vaswani", "Noam Shazeer")),
                        {"/Title": "attention is all you need (camera ready)", "/Author": "Vaswani et al",
                         "/CreationDate": "D:20170612120000Z"})
    m = pdf_metadata(data)
    assert m.fields["title"][0] == "Attention Is All You Need"
    assert m.fields["author"][0] == [{"family": "Vaswani", "given": "Ashish"}, {"family": "Shazeer", "given": "Noam"}]
    assert m.fields["issued"][0] == "2017-06-12"  # from /CreationDate: the XMP packet has no CreateDate
    # The losing evidence is kept.
    assert ("attention is all you need (camera ready)", "pdf") in m.candidates["title"]

    data = make_xmp_pdf(xmp_packet("untitled", ("Administrator",)),
                        {"/Title": "A Survey of Citation Parsing", "/Author": "Grace Hopper"})
    m = pdf_metadata(data)
    assert m.fields["title"][0] == "A Survey of Citation Parsing"
    assert m.fields["author"][0] == [{"family": "Hopper", "given": "Grace"}]
