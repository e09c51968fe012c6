"""RIS reader: files as Zotero, Mendeley, EndNote and Web of Science export them.

A record runs from `TY  - ` to `ER  - `; a line is `XX  - value` (EndNote and some exporters write fewer spaces
or none after the dash; a line without a tag continues the previous value). Repeated tags add to a list (AU,
KW) or are kept verbatim. Tags refman maps (see RIS_TAGS): authors AU/A1, editors A2/ED (A3 series editors go
to collection-editor), TI/T1, T2/JO/JF/JA/BT (container; JA also container-title-short), T3 (series), PY/Y1/DA
(dates `2004/05/06/` or `2004`), Y2 (access date), SP/EP, VL, IS, SN (ISBN when it is one, else ISSN), PB, CY,
UR/L2, DO, AB/N2, KW, N1, LA, ET, M3 (genre), ID (citation key). Every other tag is kept in
verbatim["ris"] and written back by the RIS export."""

from __future__ import annotations

import re
from typing import Any

from refman.citation.fields import clean_doi, edtf_date, identity_isbn, isbn13

RIS_TO_CSL = {
    "JOUR": "article-journal", "JFULL": "article-journal", "EJOUR": "article-journal", "ABST": "article-journal",
    "INPR": "article-journal", "MGZN": "article-magazine", "NEWS": "article-newspaper", "BOOK": "book",
    "EBOOK": "book", "EDBOOK": "book", "SER": "book", "CTLG": "book", "CHAP": "chapter", "ECHAP": "chapter",
    "CONF": "paper-conference", "CPAPER": "paper-conference", "RPRT": "report", "THES": "thesis",
    "ELEC": "webpage", "WEB": "webpage", "ICOMM": "webpage", "BLOG": "post-weblog", "COMP": "software",
    "DATA": "dataset", "DBASE": "dataset", "VIDEO": "motion_picture", "MPCT": "motion_picture",
    "GEN": "document", "UNPB": "manuscript", "MANSCPT": "manuscript", "PAT": "patent", "STAND": "standard",
    "CASE": "legal_case", "STAT": "legislation", "BILL": "bill", "MAP": "map", "PAMP": "pamphlet",
    "SOUND": "song", "MUSIC": "song", "ART": "graphic", "ENCYC": "entry-encyclopedia",
    "DICT": "entry-dictionary", "HEAR": "hearing", "PCOMM": "personal_communication", "SLIDE": "speech",
    "GOVDOC": "report", "LEGAL": "legislation", "CHART": "figure", "FIGURE": "figure",
}
_LINE = re.compile(r"^([A-Z][A-Z0-9])  ?-(?: (.*)|\s*)$")
_OWN_TAGS = {"TY", "ER", "AU", "A1", "A2", "ED", "A3", "TI", "T1", "T2", "JO", "JF", "JA", "BT", "T3", "PY",
             "Y1", "DA", "Y2", "SP", "EP", "VL", "IS", "SN", "PB", "CY", "UR", "DO", "AB", "N2", "KW", "N1",
             "LA", "ET", "M3", "ID"}


def ris_name(value: str) -> dict[str, str]:
    """`Family, Given[, Suffix]` → a CSL name; a value without a comma is an organisation."""
    parts = [p.strip() for p in value.split(",")]
    if len(parts) == 1:
        return {"literal": parts[0]}
    name = {"family": parts[0], "given": parts[1]}
    if len(parts) > 2 and parts[2]:
        name["suffix"] = parts[2]
    return {k: v for k, v in name.items() if v}


def _ris_date(value: str | None) -> str | None:
    if not value:
        return None
    parts = value.strip().split("/")
    year = parts[0].strip()
    if not re.fullmatch(r"-?\d{1,4}", year):
        return edtf_date(value)
    text = year
    if len(parts) > 1 and parts[1].strip().isdigit():
        text += f"-{int(parts[1]):02d}"
        day = re.match(r"\d+", parts[2].strip()) if len(parts) > 2 else None
        if day:
            text += f"-{int(day.group()):02d}"
    return edtf_date(text)


def read_ris(text: str) -> Any:
    from refman.citation.bibliography_file import Bibliography

    result = Bibliography("ris")
    record: list[tuple[str, str]] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        m = _LINE.match(line.lstrip("\ufeff"))
        if m:
            tag, value = m.group(1), (m.group(2) or "").strip()
            if tag == "TY":
                if record:
                    result.warnings.append({"line": start, "message": "record without ER: ended at the next TY"})
                    result.entries.append(ris_item(record))
                record, start = [(tag, value)], lineno
            elif tag == "ER":
                if record:
                    result.entries.append(ris_item(record))
                record = []
            elif record:
                record.append((tag, value))
            else:
                result.warnings.append({"line": lineno, "message": f"{tag} line outside a record (no TY before it)"})
        elif line.strip() and record:  # a continuation line
            tag, value = record[-1]
            record[-1] = (tag, f"{value} {line.strip()}")
    if record:
        result.warnings.append({"line": start, "message": "last record has no ER line: imported anyway"})
        result.entries.append(ris_item(record))
    return result


def ris_item(record: list[tuple[str, str]]) -> dict[str, Any]:
    first: dict[str, str] = {}
    many: dict[str, list[str]] = {}
    for tag, value in record:
        if value:
            first.setdefault(tag, value)
            many.setdefault(tag, []).append(value)
    ty = first.get("TY", "GEN").upper()
    ctype = RIS_TO_CSL.get(ty, "document")

    def one(*tags: str) -> str | None:
        return next((first[t] for t in tags if first.get(t)), None)

    more: dict[str, Any] = {}
    series = one("T3")
    if series:
        more["collection-title"] = series
    if first.get("JA") and (first.get("T2") or first.get("JO") or first.get("JF")):
        more["container-title-short"] = first["JA"]
    sn = one("SN")
    if sn:
        more["ISBN" if isbn13(sn) else "ISSN"] = sn
    if one("CY"):
        more["publisher-place"] = one("CY")
    if one("ET"):
        more["edition"] = one("ET")
    if many.get("A3"):
        more["collection-editor"] = [ris_name(v) for v in many["A3"]]
    start, end = one("SP"), one("EP")
    page = f"{start}-{end}" if start and end and end != start else start
    urls = many.get("UR", [])
    url = next((u for u in urls if u.lower().startswith(("http://", "https://"))
                and "doi.org/" not in u.lower()), None)
    doi = clean_doi(one("DO")) or next((clean_doi(u) for u in urls if "doi.org/" in u.lower()), None)
    tags = [k.strip() for kw in many.get("KW", []) for k in re.split(r";", kw) if k.strip()]
    rest = [[tag, value] for tag, value in record if tag not in _OWN_TAGS and value]
    # the second and later values of single-valued tags, and URLs beyond the one kept
    for tag in ("TI", "T1", "T2", "PY", "DA", "AB", "N1", "DO", "SN", "PB", "ID"):
        rest += [[tag, v] for v in many.get(tag, [])[1:]]
    rest += [["UR", u] for u in urls if u != url and clean_doi(u) != doi]
    verbatim: dict[str, Any] = {}
    if rest or (ty not in _RIS_CANONICAL.get(ctype, ())):
        verbatim["ris"] = {"type": ty, "fields": rest}
    issued = _ris_date(one("DA")) or _ris_date(one("PY", "Y1"))
    return {
        "url": url,
        "doi": doi,
        "isbn": identity_isbn(ctype, more.get("ISBN")),
        "citekey": one("ID"),
        "title": one("TI", "T1"),
        "author": [ris_name(v) for v in many.get("AU", []) + many.get("A1", [])],
        "editor": [ris_name(v) for v in many.get("A2", []) + many.get("ED", [])],
        "issued": issued,
        "accessed": _ris_date(one("Y2")),
        "container_title": one("T2", "JO", "JF", "BT", "JA"),
        "publisher": one("PB"),
        "type": ctype,
        "language": one("LA"),
        "abstract": one("AB", "N2"),
        "volume": one("VL"),
        "issue": one("IS"),
        "page": page,
        "genre": one("M3"),
        "archive_id": None,
        "tags": tags,
        "note": one("N1"),
        "more": more,
        "verbatim": verbatim,
    }


# the RIS types refman writes for each CSL type (refman.citation.ris): another one is kept verbatim
_RIS_CANONICAL = {
    "webpage": ("ELEC",), "post-weblog": ("BLOG",), "article-newspaper": ("NEWS",), "article-magazine": ("MGZN",),
    "article-journal": ("JOUR",), "paper-conference": ("CPAPER",), "report": ("RPRT",), "software": ("COMP",),
    "book": ("BOOK",), "chapter": ("CHAP",), "thesis": ("THES",), "dataset": ("DATA",),
    "motion_picture": ("VIDEO",), "document": ("GEN",),
}
