"""Citation metadata from archived pages and PDFs: every field with where it came from.

This package's import stays light (no lxml, trafilatura or pypdf at import time) because `refman list` imports it;
the extractors load their parsers on first call."""

from __future__ import annotations

from typing import Any

from refman.metadata.types import PageMetadata

__all__ = ["PageMetadata", "html_metadata", "pdf_metadata"]


def html_metadata(html: str, url: str, *, trafilatura_metadata: dict[str, Any] | None = None) -> PageMetadata:
    """Metadata of an HTML page (decoded text) fetched from `url`; `trafilatura_metadata` is trafilatura's
    metadata dict when the caller already ran it (saves a second pass)."""
    from refman.metadata.html import extract_html

    return extract_html(html, url, trafilatura_metadata=trafilatura_metadata)


def pdf_metadata(data: bytes) -> PageMetadata:
    """Metadata of a PDF (document info, XMP, identifiers on the first page). Never raises on bad PDFs."""
    from refman.metadata.pdf import extract_pdf

    return extract_pdf(data)
