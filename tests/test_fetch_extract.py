"""refman.fetch.extract: every kind of body gives a clear outcome, never an exception."""

from __future__ import annotations

import io
import os

import pytest

from refman.fetch.extract import THIN_CHARS, classify, extract

PARAGRAPHS = [
    "Reference managers keep track of the sources a writer cites, and archive them for later reading.",
    "A web page can disappear at any time, so refman stores the page body and its main text when it fetches.",
    "The archived text is searchable, and the citation metadata found in the page is kept with its origin.",
    "Navigation menus, footers and comment sections are left out of the main text by the extractor.",
]


def article(body_paragraphs: list[str], *, title: str = "Archiving the web", head: str = "") -> str:
    paras = "\n".join(f"<p>{p}</p>" for p in body_paragraphs)
    return (
        f"<!DOCTYPE html><html><head>{head}<title>{title}</title>"
        '<meta name="citation_title" content="Archiving the web">'
        '<meta name="citation_author" content="Lovelace, Ada">'
        '<meta name="citation_publication_date" content="2021/03/04">'
        f"</head><body><nav><a href='/'>Home</a> <a href='/about'>About</a></nav>"
        f"<article><h1>{title}</h1>{paras}</article>"
        "<footer>Copyright 2024 Example Corp. All rights reserved.</footer></body></html>"
    )


def make_pdf(lines: list[str], title: str = "Test PDF", author: str = "Ada Lovelace") -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    })
    page[NameObject("/Resources")] = DictionaryObject({
        NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    })
    content = StreamObject()
    ops = "BT /F1 12 Tf 72 720 Td " + " ".join(f"({line}) Tj 0 -16 Td" for line in lines) + " ET"
    content.set_data(ops.encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_metadata({"/Title": title, "/Author": author})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_html_utf8_text_markdown_and_metadata() -> None:
    body = article(PARAGRAPHS).encode("utf-8")
    ext = extract(body, "https://example.org/a", "text/html", "utf-8")
    assert ext.outcome == "ok", ext.reason
    assert ext.kind == "html"
    assert PARAGRAPHS[1] in ext.text
    assert "All rights reserved" not in ext.text  # boilerplate stays out
    assert ext.markdown and PARAGRAPHS[2] in ext.markdown
    assert ext.charset and ext.charset.lower().replace("-", "") == "utf8"
    assert ext.fields.get("title", (None,))[0] == "Archiving the web"
    assert "candidates" in ext.metadata


def test_html_gbk_declared_only_in_meta() -> None:
    chinese = ["数据库与数据仓库的区别在于用途和结构，这一段文字用于测试中文网页的编码识别是否正确。",
               "网络爬虫需要遵守网站的规则，并且控制访问频率，避免给服务器带来过大的压力和负担。",
               "推理优化包括量化、剪枝和蒸馏等方法，它们可以显著降低模型的延迟和资源消耗，提升吞吐。"]
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'
    html = article(chinese, title="中文测试页面", head=meta)
    ext = extract(html.encode("gbk"), "http://example.cn/p", "text/html", None)
    assert ext.outcome == "ok", ext.reason
    assert chinese[0] in ext.text
    assert ext.charset and ext.charset.lower() in ("gbk", "gb18030", "gb2312")


def test_html_declared_utf8_but_cp1252() -> None:
    paras = [p + " Café, naïve façade — “quoted” déjà vu." for p in PARAGRAPHS]
    body = article(paras).encode("cp1252")
    ext = extract(body, "https://example.org/b", "text/html", "utf-8")
    assert ext.outcome == "ok", ext.reason
    assert "Café, naïve façade — “quoted” déjà vu." in ext.text
    assert "\ufffd" not in ext.text


def test_pdf_text_and_metadata() -> None:
    data = make_pdf(["Archiving the web for notes", "A second line of text that is long enough to count.",
                     "And a third line so that the page is not thin at all."])
    ext = extract(data, "https://example.org/paper.pdf", "application/pdf", None)
    assert ext.outcome == "ok", ext.reason
    assert ext.kind == "pdf"
    assert "Archiving the web for notes" in ext.text
    assert ext.fields.get("title", (None,))[0] == "Test PDF"


def test_pdf_labelled_octet_stream_is_sniffed() -> None:
    data = make_pdf(["Archiving the web for notes, a line long enough", "and another line of text to be safe here."])
    assert extract(data, "https://example.org/x", "application/octet-stream", None).kind == "pdf"


def test_damaged_pdf_is_an_error_not_a_crash() -> None:
    ext = extract(b"%PDF-1.7\n garbage garbage", "https://example.org/x.pdf", "application/pdf", None)
    assert ext.outcome in ("error", "thin")
    assert ext.reason


def test_plain_text_as_is() -> None:
    text = "Line one of a plain text file.\nLine two, with ümlauts.\n" * 5
    ext = extract(text.encode("utf-8"), "https://example.org/t.txt", "text/plain", "utf-8")
    assert ext.outcome == "ok"
    assert ext.kind == "text"
    assert ext.text == text


@pytest.mark.parametrize("ctype", ["image/png", "application/zip", "video/mp4"])
def test_unsupported_type(ctype: str) -> None:
    ext = extract(b"\x89PNG\r\n\x1a\n" + os.urandom(200), "https://example.org/i", ctype, None)
    assert ext.outcome == "unsupported"
    assert ctype in (ext.reason or "")


def test_empty_body() -> None:
    assert extract(b"", "https://example.org/", "text/html", None).outcome == "empty"
    assert extract(b"  \n ", "https://example.org/", "text/html", None).outcome == "empty"


def test_binary_labelled_html() -> None:
    ext = extract(os.urandom(2000) + b"\x00" * 10, "https://example.org/", "text/html", None)
    assert ext.outcome == "unsupported"
    assert ext.error_class == "binary"
    assert "labelled text/html" in (ext.reason or "")
    png = extract(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "https://example.org/", "text/html", None)
    assert png.outcome == "unsupported" and "PNG" in (png.reason or "")


def test_thin_javascript_page() -> None:
    html = ("<!DOCTYPE html><html><head><title>App</title><script src='/app.js'></script></head>"
            "<body><div id='root'></div><noscript>Enable JavaScript</noscript>"
            "<script>window.__DATA__={}</script></body></html>")
    ext = extract(html.encode(), "https://app.example.org/", "text/html", "utf-8")
    assert ext.outcome == "thin"
    assert "JavaScript" in (ext.reason or "")


def test_short_real_page_keeps_its_text() -> None:
    html = "<html><body><p>" + "Short but real notice about the project moving elsewhere. " * 3 + "</p></body></html>"
    ext = extract(html.encode(), "https://example.org/", "text/html", "utf-8")
    assert ext.outcome == "ok"
    assert len(ext.text) >= THIN_CHARS


def test_classify() -> None:
    assert classify(b"<!doctype html><html>", None) == ("html", None)
    assert classify(b"hello", "text/plain")[0] == "text"
    assert classify(b"%PDF-1.4 ...", "text/html")[0] == "pdf"
    assert classify(b"body{}", "text/css")[0] is None
    assert classify(b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00", "text/html")[0] == "html"  # UTF-16 with BOM


def test_no_second_trafilatura_metadata_pass_when_trafilatura_returns_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """trafilatura gives up on a page without text after computing its metadata; refman hands its metadata step
    an empty dict then, not None (None would run trafilatura's metadata pass a second time)."""
    import trafilatura

    from refman.metadata import html as html_meta

    html = ("<!DOCTYPE html><html lang='en'><head><title>Sign in | Example App</title>"
            "<meta property='og:site_name' content='Example App'></head><body><div id='root'></div></body></html>")
    assert trafilatura.bare_extraction(html, url="https://app.example.org/login", with_metadata=True) is None
    calls: list[str] = []
    monkeypatch.setattr(html_meta, "_trafilatura_metadata", lambda page, url: calls.append(url) or {})
    ext = extract(html.encode(), "https://app.example.org/login", "text/html", "utf-8")
    assert ext.outcome == "thin"
    assert calls == []
    assert ext.fields["title"][0] == "Sign in"  # the page's own metadata is still read
    assert ext.fields["language"][0] == "en"
