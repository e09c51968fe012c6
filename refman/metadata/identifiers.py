"""DOIs and arXiv ids: recognised in meta values, URLs and text, and normalised."""

from __future__ import annotations

import re
from urllib.parse import unquote

# A DOI: "10." registrant "/" suffix; the suffix runs to whitespace, a quote or an angle bracket.
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)", re.IGNORECASE)
_DOI_PREFIX = re.compile(r"^\s*(?:doi\s*:\s*|https?://(?:dx\.)?doi\.org/|info:doi/|urn:doi:)", re.IGNORECASE)
_TRAILING = ".,;:)]}>»\u201d\u2019'\""
_ARXIV_NEW = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(v\d+)?(?![\d])")
_ARXIV_OLD = re.compile(r"\b([a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?\b")
_ARXIV_URL = re.compile(r"arxiv\.org/(?:abs|pdf|html)/([^\s?#]+?)(?:\.pdf)?(?:[?#]|$)", re.IGNORECASE)
_ARXIV_TEXT = re.compile(r"arXiv\s*:\s*(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(v\d+)?", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)


def normalize_doi(value: str | None) -> str | None:
    """'https://doi.org/10.1000/ABC.' → '10.1000/abc'; None when `value` holds no DOI. Idempotent."""
    if not value:
        return None
    text = _DOI_PREFIX.sub("", unquote(value.strip()))
    match = _DOI.search(text)
    if not match:
        return None
    doi = match.group(1)
    # Unbalanced closing brackets and sentence punctuation at the end belong to the text around the DOI.
    while doi and doi[-1] in _TRAILING:
        if doi[-1] in ")]}" and doi.count({")": "(", "]": "[", "}": "{"}[doi[-1]]) >= doi.count(doi[-1]):
            break
        doi = doi[:-1]
    for tail in ("/abstract", "/full", "/pdf", "/epdf", "/meta", "/html", "/references"):
        if doi.lower().endswith(tail):
            doi = doi[: -len(tail)]
    doi = doi.lower()
    return doi if re.fullmatch(r"10\.\d{4,9}/\S+", doi) else None


def doi_from_url(url: str | None) -> str | None:
    """A DOI embedded in a URL path: doi.org/10.…, /doi/10.…, /doi/abs/10.…, /article/10.…."""
    if not url:
        return None
    path = unquote(url)
    match = re.search(r"(?:doi\.org/|/doi/(?:abs/|full/|pdf/|epdf/|book/)?|/article/|/chapter/)(10\.\d{4,9}/[^?#\s]+)",
                      path, re.IGNORECASE)
    if not match:
        return None
    return normalize_doi(match.group(1))


def dois_in_text(text: str) -> list[str]:
    """DOIs written in text, each normalised, first occurrence first."""
    out: list[str] = []
    for match in _DOI.finditer(text):
        doi = normalize_doi(match.group(1))
        if doi and doi not in out:
            out.append(doi)
    return out


def normalize_arxiv(value: str | None) -> str | None:
    """'arXiv:2106.01234v2' / 'https://arxiv.org/abs/2106.01234' / '10.48550/arXiv.2106.01234' → '2106.01234'."""
    if not value:
        return None
    text = value.strip()
    doi = _ARXIV_DOI.match(text)
    if doi:
        text = doi.group(1)
    url = _ARXIV_URL.search(text)
    if url:
        text = url.group(1)
    text = re.sub(r"^arxiv\s*:\s*", "", text, flags=re.IGNORECASE)
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        match = pattern.fullmatch(text) or pattern.match(text)
        if match:
            return match.group(1)
    return None


def arxiv_from_url(url: str | None) -> str | None:
    if not url:
        return None
    match = _ARXIV_URL.search(url)
    return normalize_arxiv(match.group(1)) if match else None


def arxiv_in_text(text: str) -> str | None:
    """The first 'arXiv:NNNN.NNNNN' written in text."""
    match = _ARXIV_TEXT.search(text)
    return match.group(1) if match else None
