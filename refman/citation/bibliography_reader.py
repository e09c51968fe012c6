"""Read bibliographies: BibTeX/BibLaTeX (.bib), CSL-JSON (.json), RIS (.ris) and browser bookmarks (.html).

`load_bibliography(path)` returns a Bibliography: one plain dict per entry, for the catalog code to add as
sources, and warnings with line numbers (a malformed entry, a field given twice, a duplicate key, an undefined
macro). Each entry dict has:
    url, doi (case kept), isbn (ISBN-13, for identity), citekey, title, author (CSL names), editor, issued
    (ISO/EDTF, see refman.citation.item), accessed, container_title, publisher, type (CSL type), language
    (BCP 47), abstract, volume, issue, page, genre, archive_id, tags (list), note (the user's note: annote),
    more (every other CSL variable), verbatim (what cannot be mapped, per format: refman.citation.item)
Missing values are None (tags, author, editor: []; more, verbatim: {}). Entries with no URL are returned too:
the catalog identifies them by DOI, ISBN or key. LaTeX in .bib fields is decoded by refman.citation.latex.

Files are decoded from their bytes: a BOM (UTF-8, UTF-16), JabRef's `% Encoding: NAME` header, UTF-8, UTF-16
without BOM, else the likeliest legacy encoding (Latin-1/Windows-1252, GBK/GB18030, Big5, Shift_JIS …), which is
reported as a warning."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from refman.citation.bibliography_file import Bibliography
from refman.citation.bibparse import BibEntry, parse_bib
from refman.citation.fields import (
    BIB_TO_CSL_TYPE,
    BOOKISH,
    DATE_FIELDS,
    NAME_FIELDS,
    TEXT_FIELDS,
    THESIS_GENRE,
    clean_doi,
    csl_date_to_iso,
    edtf_date,
    identity_isbn,
)
from refman.citation.latex import decode, normalise, strip_outer_braces
from refman.errors import UsageError

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_LANGS = {
    "english": "en", "american": "en-US", "british": "en-GB", "german": "de", "ngerman": "de", "french": "fr",
    "spanish": "es", "italian": "it", "portuguese": "pt", "brazilian": "pt-BR", "dutch": "nl",
    "russian": "ru", "japanese": "ja", "chinese": "zh", "korean": "ko", "polish": "pl", "swedish": "sv",
    "usenglish": "en-US", "ukenglish": "en-GB", "austrian": "de-AT", "naustrian": "de-AT", "czech": "cs",
    "danish": "da", "finnish": "fi", "greek": "el", "norwegian": "nb", "norsk": "nb", "turkish": "tr",
    "ukrainian": "uk", "hungarian": "hu", "magyar": "hu", "catalan": "ca", "croatian": "hr", "latin": "la",
}
_URL_IN = re.compile(r"\\url\{([^}]*)\}")
BIBLIOGRAPHY_SUFFIXES = (".bib", ".bibtex", ".biblatex", ".json", ".ris", ".html", ".htm")


def read_bibliography(path: str | Path) -> list[dict[str, Any]]:
    """The entries of a bibliography file (see load_bibliography)."""
    return load_bibliography(path).entries


def load_bibliography(path: str | Path) -> Bibliography:
    """Entries and warnings of a .bib, CSL .json, .ris or bookmarks .html file. Raises UsageError for an
    unreadable file, a JSON file that is not CSL-JSON, or a file in which nothing could be read because of
    syntax errors (the message names the first line)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    raw, encoding, problem = decode_file(data)
    suffix = path.suffix.lower()
    stripped = raw.lstrip()
    if suffix == ".json" or (suffix not in (".bib", ".ris") and stripped.startswith(("[", "{"))):
        result = Bibliography("csl", read_csljson(raw))
    elif suffix == ".ris" or (suffix != ".bib" and re.match(r"TY  - ", stripped)):
        from refman.citation.ris_import import read_ris

        result = read_ris(raw)
    elif suffix in (".html", ".htm") or stripped[:200].upper().startswith("<!DOCTYPE NETSCAPE-BOOKMARK"):
        from refman.citation.bookmarks import read_bookmarks

        result = read_bookmarks(raw)
    else:
        result = read_bib_file(raw)
    result.encoding = encoding
    if problem:
        result.warnings.insert(0, {"line": None, "message": problem})
    if not result.entries and any(w["line"] for w in result.warnings) and result.format == "bib":
        first = next(w for w in result.warnings if w["line"])
        raise UsageError(f"{path}:{first['line']}: {first['message']}")
    return result


def decode_file(data: bytes) -> tuple[str, str, str | None]:
    """(text, encoding, warning) for the bytes of a bibliography file."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace"), codec, None
    if len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] != 0:
        return data.decode("utf-16-be", errors="replace"), "utf-16-be", None
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        return data.decode("utf-16-le", errors="replace"), "utf-16-le", None
    try:  # valid UTF-8 is UTF-8 whatever a header says (an editor re-saved the file without updating it)
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    header = re.search(rb"^%\s*Encoding:\s*([A-Za-z0-9_.:-]+)", data[:2000], re.M)
    if header:
        codec = header.group(1).decode("ascii").lower()
        try:
            return data.decode(codec), codec, None
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration (JabRef writes UTF-8 over a cp1252 file): detect below
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["cp1252", "gb18030", "big5", "shift_jis", "euc_kr", "cp1251",
                                          "iso8859_2", "iso8859_7"]).best()
    codec = best.encoding if best is not None else "cp1252"
    if codec in ("gb2312", "gbk"):
        codec = "gb18030"
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        codec, text = "cp1252", data.decode("cp1252", errors="replace")
    return text, codec, f"not valid UTF-8; decoded as {codec}"


# ---- BibTeX / BibLaTeX --------------------------------------------------------------------------------


def _field(fields: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if value:
            text = decode(strip_outer_braces(value))
            if text:
                return text
    return None


def _url_value(value: str | None) -> str | None:
    """url/howpublished as written: `\\url{…}` unwrapped, TeX escapes (`\\&`, `\\%`, `\\#`, `\\_`, `\\~`) undone."""
    if not value:
        return None
    value = normalise(strip_outer_braces(value))
    m = _URL_IN.search(value)
    value = m.group(1) if m else value
    return re.sub(r"\\([&%#_~$])", r"\1", value).replace("\\textasciitilde{}", "~").strip() or None


def split_names(value: str) -> list[str]:
    """A BibTeX name list split on top-level `and` (any whitespace around it: names wrap across lines)."""
    value = " ".join(value.split())
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
    out: list[str] = []
    cur: list[str] = []
    depth = 0
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


ET_AL = {"literal": "et al."}  # `and others`: the list goes on (BibTeX writes it back as `and others`)


def parse_names(value: str | None) -> list[dict[str, str]]:
    if not value:
        return []
    out = []
    for raw in split_names(value):
        if raw.lower() == "others":
            out.append(dict(ET_AL))
            continue
        name = parse_name(raw)
        if name:
            out.append(name)
    return out


def _lower_word(word: str) -> bool:
    """BibTeX's von test: the first letter at brace depth 0 (or of a special character) is lower case."""
    depth = 0
    i = 0
    while i < len(word):
        ch = word[i]
        if ch == "{":
            if depth == 0 and word.startswith("{\\", i):  # a special character: its letter decides
                m = re.match(r"\{\\[^A-Za-z]?([A-Za-z]+)?\s*\{?([A-Za-z])?", word[i:])
                letter = (m.group(2) or (m.group(1) or "")[:1]) if m else ""
                return letter.islower() if letter else False
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch.isalpha() and depth == 0:
            return ch.islower()
        i += 1
    return False


def parse_name(raw: str) -> dict[str, str]:
    """One BibTeX name → a CSL name: `{Org}` → literal; `von Last, Jr, First` / `First von Last`."""
    raw = " ".join(raw.split())
    if raw.startswith("{") and raw.endswith("}") and strip_outer_braces(raw) != raw and "," not in _top(raw):
        return {"literal": decode(raw)}
    parts = _split_top(raw, ",")
    von: list[str] = []
    if len(parts) == 1:
        words = [w for w in _split_top(parts[0], " ") if w]
        if not words:
            return {}
        if len(words) == 1:
            return {"family": decode(words[0])}
        # First von Last: the von part starts at the first lower-case word after the first
        idx = next((i for i, w in enumerate(words[:-1]) if i > 0 and _lower_word(w)), len(words) - 1)
        given, rest = words[:idx], words[idx:]
        # von runs from its first lower-case word to the last one before the final word (BibTeX's rule)
        last_lower = max((i for i, w in enumerate(rest[:-1]) if _lower_word(w)), default=-1)
        von = rest[: last_lower + 1]
        family = rest[last_lower + 1 :]
        out = {"family": decode(" ".join(family)), "given": decode(" ".join(given))}
    else:
        last, first = parts[0], parts[-1]
        suffix = parts[1] if len(parts) == 3 else None
        words = [w for w in _split_top(last, " ") if w]
        # von: up to the last lower-case word before the final one (BibTeX's rule, as biber reads it too)
        last_lower = max((i for i, w in enumerate(words[:-1]) if _lower_word(w)), default=-1)
        von, words = words[: last_lower + 1], words[last_lower + 1 :]
        out = {"family": decode(" ".join(words)), "given": decode(first)}
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


def _month(raw: str | None) -> int | None:
    if not raw:
        return None
    text = decode(strip_outer_braces(raw)).strip().lower().rstrip(".")
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 12 else None
    return _MONTHS.get(text[:3]) if text[:3] in _MONTHS and (len(text) == 3 or text.isalpha()) else None


def _bib_date(fields: dict[str, str], kept: set[str]) -> str | None:
    """issued from `date`, else `year` (a range `1982--1983` too) and `month`; a field it cannot read is left
    out of `kept` so that it stays verbatim."""
    date = _field(fields, "date")
    if date:
        iso = edtf_date(date)
        if iso:
            kept.add("date")
        return iso
    year = _field(fields, "year")
    iso = edtf_date(year) if year else None
    if not iso:
        return None
    kept.add("year")
    if "month" in fields:
        month = _month(fields["month"])
        if month and len(iso) == 4:
            kept.add("month")
            return f"{iso}-{month:02d}"
    return iso


def read_bib_file(text: str) -> Bibliography:
    entries, problems = parse_bib(text)
    result = Bibliography("bib", warnings=[{"line": p.line, "message": p.message} for p in problems])
    seen: dict[str, int] = {}
    for entry in entries:
        if entry.key:
            low = entry.key.lower()
            if low in seen:
                result.warnings.append({"line": entry.line, "message":
                                        f"duplicate key {entry.key!r} (first at line {seen[low]}): imported"
                                        " as another entry with a new key"})
            else:
                seen[low] = entry.line
        result.entries.append(bib_item(entry))
    result.entries = [e for e in result.entries if e is not None]
    return result


def read_bib(text: str) -> list[dict[str, Any]]:
    return read_bib_file(text).entries


def bib_item(entry: BibEntry) -> dict[str, Any]:
    """One parsed .bib entry → an entry dict (see the module docstring)."""
    fields = entry.first()
    kind = entry.type
    kept: set[str] = set()
    ctype = BIB_TO_CSL_TYPE.get(kind, "document")
    subtype = (fields.get("entrysubtype") or "").strip("{} ").lower()
    if kind == "article" and subtype in ("newspaper", "magazine"):
        ctype = f"article-{subtype}"
        kept.add("entrysubtype")
    url = _url_value(fields.get("url"))
    if url:
        kept.add("url")
    elif fields.get("howpublished"):
        candidate = _url_value(fields["howpublished"])
        if candidate and candidate.startswith(("http://", "https://")):
            url = candidate
            kept.add("howpublished")
    if url and not url.lower().startswith(("http://", "https://")):
        url = None
        kept.discard("url")
    doi_raw = _url_value(fields.get("doi"))
    doi = clean_doi(doi_raw)
    if doi:
        kept.add("doi")
    elif url and "doi.org/" in url.lower():
        doi = clean_doi(url)
    archive_id = None
    eprinttype = (fields.get("eprinttype") or fields.get("archiveprefix") or "").strip("{} ").lower()
    if eprinttype == "arxiv" and fields.get("eprint"):
        archive_id = _url_value(fields["eprint"])
        kept.update(("eprint", "eprinttype" if fields.get("eprinttype") else "archiveprefix"))
        if kind in ("online", "misc", "unpublished", "article") and not fields.get("journaltitle") \
                and not fields.get("journal"):
            ctype = "article"
    if ctype == "document" and url:  # @misc with a URL: a web page, as Zotero and Better BibTeX write them
        ctype = "webpage"
    if kind in ("online", "www", "electronic", "webpage") and fields.get("organization"):
        container_fields: tuple[str, ...] = ("organization",)
    elif ctype in ("report", "thesis"):
        container_fields = ()
    else:
        container_fields = ("journaltitle", "journal", "booktitle")
    names_used: dict[str, str] = {}  # CSL variable → the .bib field it came from, to write it back there
    container = None
    for name in container_fields:
        container = _field(fields, name)
        if container:
            kept.add(name)
            names_used["container-title"] = name
            break
    publisher_fields = ("publisher", "institution", "school", "organization")
    publisher = None
    for name in publisher_fields:
        if name in fields and name not in kept and (name != "organization" or not fields.get("publisher")):
            publisher = _field(fields, name)
            if publisher:
                kept.add(name)
                names_used["publisher"] = name
                break
    number_var = ("issue" if ctype.startswith("article") else "collection-number" if ctype in BOOKISH
                  else "number")
    issue = None
    more: dict[str, Any] = {}
    number = _field(fields, "number")
    if number:
        kept.add("number")
        if number_var == "issue":
            issue = number
        else:
            more[number_var] = number
    if fields.get("issue") and issue is None:
        issue = _field(fields, "issue")
        kept.add("issue")
        names_used["issue"] = "issue"
    genre = _field(fields, "type") or THESIS_GENRE.get(kind)
    if fields.get("type"):
        kept.add("type")
    for bib_name, csl_name in TEXT_FIELDS.items():
        if bib_name == "location" and fields.get("address"):
            continue  # classic `address` is the publisher's place; `location` beside it (ACM) stays as written
        if bib_name in fields and csl_name not in more:
            value = _field(fields, bib_name)
            if value:
                more[csl_name] = value
                kept.add(bib_name)
                if bib_name == "address":
                    names_used["publisher-place"] = "address"
    for bib_name, csl_name in NAME_FIELDS.items():
        if bib_name in ("author", "editor"):
            continue
        names = parse_names(fields.get(bib_name))
        if names:
            more[csl_name] = names
            kept.add(bib_name)
    for bib_name, csl_name in DATE_FIELDS.items():
        iso = edtf_date(_field(fields, bib_name))
        if iso:
            from refman.citation.item import csl_date

            more[csl_name] = csl_date(iso)
            kept.add(bib_name)
    medium = fields.get("howpublished") if "howpublished" not in kept else None
    if medium:
        more["medium"] = _field(fields, "howpublished")
        kept.add("howpublished")
    for name in ("pmid", "pmcid"):
        if name in fields:
            kept.add(name)
    accessed = edtf_date(_field(fields, "urldate"))
    if accessed:
        kept.add("urldate")
    elif fields.get("lastchecked"):
        accessed = edtf_date(_field(fields, "lastchecked"))
        if accessed:
            kept.add("lastchecked")
    note = _field(fields, "annotation", "annote")
    kept.update(n for n in ("annotation", "annote") if n in fields and note)
    langid = (_field(fields, "langid") or _field(fields, "language") or "").strip()
    language = _LANGS.get(langid.lower(), langid if re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", langid) else None)
    if language and not language.startswith("en"):  # English gets no langid in exports: kept as written
        kept.update(n for n in ("langid", "language") if n in fields)
    tags_raw = _field(fields, "keywords") or ""
    if tags_raw:
        kept.add("keywords")
    issued = _bib_date(fields, kept)
    for name in ("title", "abstract", "volume", "pages", "author", "editor"):
        if name in fields:
            kept.add(name)
    # the rest, verbatim: unmapped fields, and the later values of a field given more than once
    seen: set[str] = set()
    rest: list[list[str]] = []
    repeated: list[list[str]] = []
    for name, value in entry.fields:
        if name in seen:
            repeated.append([name, value])
        elif name not in kept:
            rest.append([name, value])
        seen.add(name)
    verbatim: dict[str, Any] = {}
    verbatim["bib"] = {"type": kind, "fields": rest, "as": names_used, **({"repeated": repeated} if repeated else {})}
    return {
        "url": url,
        "doi": doi,
        "isbn": identity_isbn(ctype, more.get("ISBN")),
        "citekey": entry.key or None,
        "title": _field(fields, "title"),
        "author": parse_names(fields.get("author")),
        "editor": parse_names(fields.get("editor")),
        "issued": issued,
        "accessed": accessed,
        "container_title": container,
        "publisher": publisher,
        "type": ctype,
        "language": language,
        "abstract": _field(fields, "abstract"),
        "volume": _field(fields, "volume"),
        "issue": issue,
        "page": _pages(_field(fields, "pages")),
        "genre": genre,
        "archive_id": archive_id,
        "tags": [t.strip() for t in re.split(r"[,;]", tags_raw) if t.strip()],
        "note": note,
        "more": more,
        "verbatim": verbatim,
    }


def _pages(value: str | None) -> str | None:
    """BibTeX `1--23` → CSL `1-23` (a range is a hyphen in CSL; citeproc renders the dash)."""
    if not value:
        return None
    return re.sub(r"\s*(?:--|–|—)\s*", "-", value)


# ---- CSL-JSON -------------------------------------------------------------------------------------------

_NAME_KEYS = ("family", "given", "literal", "non-dropping-particle", "dropping-particle", "suffix")
# CSL variables that refman reads into its own fields (the rest go to `more` as they are)
_CSL_OWN = {"id", "type", "title", "author", "editor", "issued", "accessed", "container-title", "publisher",
            "URL", "DOI", "language", "abstract", "volume", "issue", "page", "genre", "annote", "keyword",
            "citation-key"}


# entry field ← CSL variable, for the plain text ones
_CSL_TEXT_VARS = (
    ("url", "URL"), ("doi", "DOI"), ("title", "title"), ("container_title", "container-title"),
    ("publisher", "publisher"), ("language", "language"), ("abstract", "abstract"), ("volume", "volume"),
    ("issue", "issue"), ("page", "page"), ("genre", "genre"), ("note", "annote"),
)


def _csl_names(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    out = []
    for n in value:
        if isinstance(n, dict):
            name = {k: str(n[k]) for k in _NAME_KEYS if n.get(k) not in (None, "")}
            if name:
                out.append(name)
        elif isinstance(n, str) and n.strip():
            out.append({"literal": n.strip()})
    return out


_CSL_MARKERS = frozenset({"id", "type", "title", "author", "issued", "container-title", "DOI", "URL", "editor"})


def read_csljson(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise UsageError("not CSL-JSON: expected a list of items")
    if data and not any(isinstance(i, dict) and _CSL_MARKERS & i.keys() for i in data):
        raise UsageError("not CSL-JSON: no item has any of " + ", ".join(f'"{k}"' for k in sorted(_CSL_MARKERS)))
    from refman.citation.item import CitationItem

    known_types = set(CitationItem.model_fields["type"].annotation.__args__)  # type: ignore[union-attr]
    out = []
    for item in data:
        if isinstance(item, dict):
            out.append(csl_item(item, known_types))
    return out


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def csl_item(item: dict[str, Any], known_types: set[str]) -> dict[str, Any]:
    """One CSL-JSON item → an entry dict. What refman's own fields cannot hold exactly (an unknown type, a
    date with a season, circa or literal, numbers written as numbers) is kept in verbatim["csl"]."""
    raw_type = item.get("type")
    ctype = raw_type if raw_type in known_types else "document"
    keyword = item.get("keyword") or ""
    more = {k: v for k, v in item.items() if k not in _CSL_OWN and v not in (None, "", [], {})}
    cid = item.get("citation-key") or item.get("id")
    entry: dict[str, Any] = {field: _text(item.get(var)) for field, var in _CSL_TEXT_VARS}
    entry.update({
        "doi": clean_doi(entry["doi"]) or None,
        "isbn": identity_isbn(ctype, _text(item.get("ISBN"))),
        "citekey": str(cid) if cid is not None and str(cid).strip() and not str(cid).isdigit() else None,
        "author": _csl_names(item.get("author")),
        "editor": _csl_names(item.get("editor")),
        "issued": csl_date_to_iso(item.get("issued")),
        "accessed": csl_date_to_iso(item.get("accessed")),
        "type": ctype,
        "archive_id": None,
        "tags": [t.strip() for t in str(keyword).split(",") if t.strip()],
        "more": more,
        "verbatim": {},
    })
    if entry["url"] and not entry["url"].lower().startswith(("http://", "https://")):
        more["URL"] = entry["url"]  # not a web address (a file path, a "urn:"): kept, never fetched
        entry["url"] = None
    # what does not survive as written: compare with what the item would give back
    csl = _as_csl(entry)
    kept = {k: [item[k], csl.get(k)] for k in item if k in _CSL_OWN and k not in ("id", "citation-key")
            and item[k] not in (None, "") and csl.get(k) != item[k]}
    if kept:
        entry["verbatim"] = {"csl": kept}
    return entry


def _as_csl(entry: dict[str, Any]) -> dict[str, Any]:
    from refman.citation.item import CitationItem, CSLName

    built = CitationItem.trusted(
        id="x", type=entry["type"], title=entry["title"], container_title=entry["container_title"],
        publisher=entry["publisher"], issued=entry["issued"], accessed=entry["accessed"], URL=entry["url"],
        DOI=entry["doi"], language=entry["language"], abstract=entry["abstract"], volume=entry["volume"],
        issue=entry["issue"], page=entry["page"], genre=entry["genre"], note=entry["note"],
        author=[CSLName.model_validate(n) for n in entry["author"]],
        editor=[CSLName.model_validate(n) for n in entry["editor"]],
        keyword=entry["tags"],
    )
    return built.to_csl()
