"""Read bibliographies as Zotero and Better BibTeX write them: BibTeX/BibLaTeX (.bib) and CSL-JSON (.json).

`read_bibliography(path)` returns one plain dict per entry, for the catalog code to add as sources:
    url, doi, citekey, title, author (list of CSL name dicts), issued (ISO, possibly partial), container_title,
    publisher, type (CSL type), language (BCP 47 when known), abstract, tags (list), note
Missing values are None (tags: []). Entries with neither URL nor DOI are still returned (url None): the caller
decides (a DOI gives https://doi.org/<doi>). LaTeX in .bib fields is decoded by refman.citation.latex.decode."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from refman.citation.latex import decode, normalise, strip_outer_braces
from refman.errors import UsageError

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_BIB_TYPES = {
    "online": "webpage", "www": "webpage", "electronic": "webpage", "webpage": "webpage",
    "article": "article-journal", "inproceedings": "paper-conference", "conference": "paper-conference",
    "report": "report", "techreport": "report", "software": "software", "book": "book", "inbook": "chapter",
    "incollection": "chapter", "thesis": "thesis", "phdthesis": "thesis", "mastersthesis": "thesis",
    "dataset": "dataset", "misc": "webpage", "unpublished": "article", "booklet": "document",
    "manual": "document",
}
_LANGS = {
    "english": "en", "american": "en-US", "british": "en-GB", "german": "de", "ngerman": "de", "french": "fr",
    "spanish": "es", "italian": "it", "portuguese": "pt", "brazilian": "pt-BR", "dutch": "nl",
    "russian": "ru", "japanese": "ja", "chinese": "zh", "korean": "ko", "polish": "pl", "swedish": "sv",
}
_CSL_TYPES = {"webpage", "post-weblog", "article-newspaper", "article-magazine", "article-journal",
              "paper-conference", "article", "report", "document", "software", "book", "chapter", "thesis",
              "dataset", "motion_picture"}
_URL_IN = re.compile(r"\\url\{([^}]*)\}")


def read_bibliography(path: str | Path) -> list[dict[str, Any]]:
    """Entries of a .bib (BibTeX/BibLaTeX) or .json (CSL-JSON) file. Raises UsageError for an unreadable or
    malformed file."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    if path.suffix.lower() == ".json" or raw.lstrip().startswith(("[", "{")):
        return read_csljson(raw)
    return read_bib(raw)


# ---- BibTeX / BibLaTeX --------------------------------------------------------------------------------


def _field(fields: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if value:
            text = decode(strip_outer_braces(value))
            if text:
                return text
    return None


def _verbatim(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name)
    if not value:
        return None
    value = normalise(strip_outer_braces(value))
    m = _URL_IN.search(value)
    return (m.group(1) if m else value).replace("\\%", "%").replace("\\#", "#").replace("\\_", "_") or None


def split_names(value: str) -> list[str]:
    """A BibTeX name list split on top-level ' and '."""
    parts, depth, start, i = [], 0, 0, 0
    lowered = value.lower()
    while i < len(value):
        ch = value[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and lowered.startswith(" and ", i):
            parts.append(value[start:i])
            i += 5
            start = i
            continue
        i += 1
    parts.append(value[start:])
    return [p.strip() for p in parts if p.strip()]


def _split_top(value: str, sep: str) -> list[str]:
    out, depth, cur = [], 0, []
    for ch in value:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p.strip() for p in out]


def parse_name(raw: str) -> dict[str, str]:
    """One BibTeX name → a CSL name: `{Org}` → literal; `von Last, Jr, First` / `First von Last`."""
    raw = raw.strip()
    if raw.startswith("{") and raw.endswith("}") and strip_outer_braces(raw) != raw and "," not in _top(raw):
        return {"literal": decode(raw)}
    parts = _split_top(raw, ",")
    if len(parts) == 1:
        words = _split_top(parts[0], " ")
        words = [w for w in words if w]
        if len(words) == 1:
            return {"family": decode(words[0])}
        # First von Last: the von part starts at the first lower-case word after the first
        idx = next((i for i, w in enumerate(words[:-1]) if i > 0 and w[:1].islower()), len(words) - 1)
        given, rest = words[:idx], words[idx:]
        von = [w for w in rest[:-1] if w[:1].islower()]
        family = rest[len(von):]
        out = {"family": decode(" ".join(family)), "given": decode(" ".join(given))}
    else:
        last, given = parts[0], parts[-1]
        suffix = parts[1] if len(parts) == 3 else None
        words = [w for w in _split_top(last, " ") if w]
        von = []
        while len(words) > 1 and words[0][:1].islower():
            von.append(words.pop(0))
        out = {"family": decode(" ".join(words)), "given": decode(given)}
        if suffix:
            out["suffix"] = decode(suffix)
    if von:
        out["non-dropping-particle"] = decode(" ".join(von))
    return {k: v for k, v in out.items() if v}


def _top(value: str) -> str:
    """The characters of `value` outside any inner braces (after removing one outer pair)."""
    inner = value[1:-1]
    depth, out = 0, []
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _bib_date(fields: dict[str, str]) -> str | None:
    date = _field(fields, "date")
    if date:
        m = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", date)
        return m.group(0) if m else None
    year = _field(fields, "year")
    if not year or not re.match(r"^\d{4}$", year.strip()):
        return None
    month_raw = (fields.get("month") or "").strip().strip("{}").lower()[:3]
    month = _MONTHS.get(month_raw) or (int(month_raw) if month_raw.isdigit() and 1 <= int(month_raw) <= 12 else None)
    return f"{year.strip()}-{month:02d}" if month else year.strip()


def read_bib(text: str) -> list[dict[str, Any]]:
    import bibtexparser

    library = bibtexparser.parse_string(text)
    out = []
    for entry in library.entries:
        fields = {f.key.lower(): str(f.value) for f in entry.fields}
        kind = entry.entry_type.lower()
        ctype = _BIB_TYPES.get(kind, "webpage")
        subtype = (fields.get("entrysubtype") or "").strip("{} ").lower()
        if kind == "article" and subtype in ("newspaper", "magazine"):
            ctype = f"article-{subtype}"
        if fields.get("eprinttype", "").strip("{} ").lower() == "arxiv" or fields.get(
            "archiveprefix", ""
        ).strip("{} ").lower() == "arxiv":
            ctype = "article" if kind in ("online", "misc", "unpublished", "article") and not fields.get(
                "journaltitle") and not fields.get("journal") else ctype
        url = _verbatim(fields, "url") or _verbatim(fields, "howpublished")
        if url and not url.startswith(("http://", "https://")):
            url = None
        authors = [parse_name(n) for n in split_names(fields["author"])] if fields.get("author") else []
        tags_raw = _field(fields, "keywords") or ""
        langid = (_field(fields, "langid", "language") or "").strip().lower()
        out.append({
            "url": url,
            "doi": _verbatim(fields, "doi"),
            "citekey": entry.key,
            "title": _field(fields, "title"),
            "author": [a for a in authors if a],
            "issued": _bib_date(fields),
            "container_title": _field(fields, "journaltitle", "journal", "booktitle", "organization")
            if kind not in ("report", "techreport", "thesis") else None,
            "publisher": _field(fields, "publisher", "institution", "school")
            or (_field(fields, "organization") if kind in ("report", "techreport") else None),
            "type": ctype,
            "language": _LANGS.get(langid, langid or None) if langid else None,
            "abstract": _field(fields, "abstract"),
            "tags": [t.strip() for t in re.split(r"[,;]", tags_raw) if t.strip()],
            "note": _bib_note(fields),
        })
    return out


# ---- CSL-JSON -------------------------------------------------------------------------------------------


def _csl_date(value: Any) -> str | None:
    if isinstance(value, dict):
        parts = value.get("date-parts")
        if parts and isinstance(parts, list) and parts[0]:
            try:
                nums = [int(p) for p in parts[0][:3]]
            except (TypeError, ValueError):
                return None
            return "-".join([f"{nums[0]:04d}", *(f"{n:02d}" for n in nums[1:])])
        value = value.get("raw") or value.get("literal")
    if isinstance(value, str):
        m = re.match(r"^\d{4}(-\d{2}(-\d{2})?)?", value.strip())
        return m.group(0) if m else None
    return None


def read_csljson(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        data = data.get("items", [data])
    if not isinstance(data, list):
        raise UsageError("CSL-JSON must be a list of items")
    out = []
    for item in data:
        if not isinstance(item, dict):
            continue
        names = [
            {k: str(v) for k, v in n.items() if k in (
                "family", "given", "literal", "non-dropping-particle", "dropping-particle", "suffix") and v}
            for n in item.get("author") or [] if isinstance(n, dict)
        ]
        keyword = item.get("keyword") or ""
        ctype = item.get("type") if item.get("type") in _CSL_TYPES else "webpage"
        out.append({
            "url": item.get("URL") or None,
            "doi": item.get("DOI") or None,
            "citekey": str(item["id"]) if item.get("id") is not None and not str(item["id"]).isdigit() else None,
            "title": item.get("title") or None,
            "author": [n for n in names if n],
            "issued": _csl_date(item.get("issued")),
            "container_title": item.get("container-title") or None,
            "publisher": item.get("publisher") or None,
            "type": ctype,
            "language": item.get("language") or None,
            "abstract": item.get("abstract") or None,
            "tags": [t.strip() for t in str(keyword).split(",") if t.strip()],
            "note": item.get("annote") or item.get("note") or None,
        })
    return out


def _bib_note(fields: dict[str, str]) -> str | None:
    """The user's note: annotation/annote, else a `note` that is not just classic BibTeX's access date."""
    note = _field(fields, "annotation", "annote")
    if note:
        return note
    plain = _field(fields, "note")
    return None if plain and re.fullmatch(r"(?i)(last )?accessed:? ?[\d\-/]+\.?", plain) else plain
