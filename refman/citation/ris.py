"""RIS writer for other reference managers (Zotero, EndNote, Mendeley).

Types: webpage ELEC, post-weblog BLOG, article-newspaper NEWS, article-magazine MGZN, article-journal JOUR,
paper-conference CPAPER, report RPRT, software COMP, book BOOK, chapter CHAP, thesis THES, dataset DATA,
motion_picture VIDEO, preprints (article) and documents GEN. Tags: ID citation key, AU one per author
("Family, Given" or the literal name), TI, T2 container, PB, PY year, DA YYYY/MM/DD/, UR, DO, LA, Y2 access
date, AB, KW one per tag, N1 note, VL/IS/SP/EP, A2 editors, SN ISBN/ISSN, ET edition, CY place, T3 series,
ER. Values are single-line (whitespace normalised). An item imported from RIS gets back its own type and the
tags refman does not map (refman.citation.ris_import)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from refman.citation.item import CitationItem, CSLName, year_of
from refman.citation.latex import normalise
from refman.citation.stream import Chunks, joined

RIS_TYPES = {
    "webpage": "ELEC", "post-weblog": "BLOG", "article-newspaper": "NEWS", "article-magazine": "MGZN",
    "article-journal": "JOUR", "paper-conference": "CPAPER", "report": "RPRT", "software": "COMP",
    "book": "BOOK", "chapter": "CHAP", "thesis": "THES", "dataset": "DATA", "motion_picture": "VIDEO",
    "article": "GEN", "document": "GEN",
}


def _date(value: str) -> str:
    if value.startswith("-"):  # BCE: RIS has no form for it but the year
        return f"{value}///"
    parts = value.split("-")
    return "/".join(parts + [""] * (4 - len(parts)))  # 2024-06 → 2024/06//


def _name(n: CSLName) -> str | None:
    if n.literal or not n.family:
        return n.literal or n.given
    family = " ".join(p for p in (n.non_dropping_particle, n.family) if p)
    given = " ".join(p for p in (n.given, n.dropping_particle) if p)
    return ", ".join(p for p in (family, given, n.suffix) if p)


def _more(item: CitationItem, var: str) -> str | None:
    value = item.more.get(var) if item.more else None
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def ris_entry(item: CitationItem) -> str:
    from refman.citation.build import names_from_list
    from refman.citation.ris_import import RIS_TO_CSL

    kind = RIS_TYPES.get(item.type, "GEN")
    verbatim = item.verbatim.get("ris") if item.verbatim else None
    if verbatim and RIS_TO_CSL.get(str(verbatim.get("type"))) == item.type:
        kind = str(verbatim["type"])
    lines: list[tuple[str, str | None]] = [("TY", kind), ("ID", item.id)]
    lines += [("AU", _name(n)) for n in item.author]
    lines += [("A2", _name(n)) for n in item.editor]
    lines += [("A3", _name(n)) for n in names_from_list(item.more.get("collection-editor") if item.more else None)]
    lines += [("TI", item.title), ("T2", item.container_title), ("JA", _more(item, "container-title-short")),
              ("T3", _more(item, "collection-title")), ("PB", item.publisher), ("CY", _more(item, "publisher-place")),
              ("ET", _more(item, "edition")), ("SN", _more(item, "ISBN") or _more(item, "ISSN"))]
    if item.issued:
        lines += [("PY", year_of(item.issued)), ("DA", _date(item.issued.partition("/")[0]))]
    lines += [("VL", item.volume), ("IS", item.issue)]
    if item.page:
        start, _, end = item.page.replace("\u2013", "-").partition("-")
        lines += [("SP", start.strip()), ("EP", end.strip() or None)]
    lines += [("UR", item.URL), ("DO", item.DOI), ("LA", item.language), ("M3", item.genre)]
    if item.archive_id:
        lines += [("AN", item.archive_id), ("DB", "arXiv")]
    if item.accessed:
        lines.append(("Y2", _date(item.accessed)))
    lines += [("KW", tag) for tag in item.keywords()]
    lines += [("AB", item.abstract), ("N1", item.note)]
    if verbatim:
        lines += [(str(tag), str(value)) for tag, value in verbatim.get("fields") or []]
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
