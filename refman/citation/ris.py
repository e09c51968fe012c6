"""RIS writer for other reference managers (Zotero, EndNote, Mendeley).

Types: webpage ELEC, post-weblog BLOG, article-newspaper NEWS, article-magazine MGZN, article-journal JOUR,
paper-conference CPAPER, report RPRT, software COMP, book BOOK, chapter CHAP, thesis THES, dataset DATA,
motion_picture VIDEO, preprints (article) and documents GEN. Tags: ID citation key, AU one per author
("Family, Given" or the literal name), TI, T2 container, PB, PY year, DA YYYY/MM/DD/, UR, DO, LA, Y2 access
date, AB, KW one per tag, N1 note, VL/IS/SP/EP, ER. Values are single-line (whitespace normalised)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from refman.citation.item import CitationItem
from refman.citation.latex import normalise
from refman.citation.stream import Chunks, joined

RIS_TYPES = {
    "webpage": "ELEC", "post-weblog": "BLOG", "article-newspaper": "NEWS", "article-magazine": "MGZN",
    "article-journal": "JOUR", "paper-conference": "CPAPER", "report": "RPRT", "software": "COMP",
    "book": "BOOK", "chapter": "CHAP", "thesis": "THES", "dataset": "DATA", "motion_picture": "VIDEO",
    "article": "GEN", "document": "GEN",
}


def _date(value: str) -> str:
    parts = value.split("-")
    return "/".join(parts + [""] * (4 - len(parts)))  # 2024-06 → 2024/06//


def ris_entry(item: CitationItem) -> str:
    lines: list[tuple[str, str | None]] = [("TY", RIS_TYPES.get(item.type, "GEN")), ("ID", item.id)]
    for n in item.author:
        if n.literal or not n.family:
            lines.append(("AU", n.literal or n.given))
        else:
            family = " ".join(p for p in (n.non_dropping_particle, n.family) if p)
            given = " ".join(p for p in (n.given, n.dropping_particle) if p)
            lines.append(("AU", ", ".join(p for p in (family, given, n.suffix) if p)))
    lines += [("TI", item.title), ("T2", item.container_title), ("PB", item.publisher)]
    if item.issued:
        lines += [("PY", item.issued[:4]), ("DA", _date(item.issued))]
    lines += [("VL", item.volume), ("IS", item.issue)]
    if item.page:
        start, _, end = item.page.replace("\u2013", "-").partition("-")
        lines += [("SP", start.strip()), ("EP", end.strip() or None)]
    lines += [("UR", item.URL), ("DO", item.DOI), ("LA", item.language), ("M3", item.genre)]
    if item.archive_id:
        lines += [("AN", item.archive_id), ("DB", "arXiv")]
    if item.accessed:
        lines.append(("Y2", _date(item.accessed)))
    lines += [("KW", tag) for tag in item.keyword]
    lines += [("AB", item.abstract), ("N1", item.note)]
    out = []
    for tag, value in lines:
        if value:
            clean = normalise(value)
            if clean:
                out.append(f"{tag}  - {clean}")
    out.append("ER  - ")
    return "\n".join(out) + "\n"


def iter_ris(chunks: Chunks) -> Iterator[str]:
    """The RIS export of items given in chunks, as text pieces (refman.citation.stream)."""
    return joined(chunks, ris_entry, "\n")


def write_ris(items: Iterable[CitationItem]) -> str:
    return "".join(iter_ris([items]))
