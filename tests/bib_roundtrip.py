"""Round trip of third-party bibliography files through refman, compared field by field with a reference parser.

Not a test module: tests/test_bibliography_roundtrip.py runs it on the fixture files, and
`python tests/bib_roundtrip.py [DIR...]` prints the report (per source: files, entries, imported, fields
compared, lost, changed, and what each difference is).

BibTeX: each file is decoded (refman.citation.bibliography_reader.decode_file: the encoding is tested elsewhere)
and read by python-bibtexparser 2 with its LaTeX decoder (pylatexenc) and name splitter: that is the reference.
The file is imported into a fresh catalog; each entry's source is exported as BibLaTeX and read back by the same
reference parser. Each field of the reference entry is then looked up in the exported one, the names a field
may take in BibLaTeX and classic BibTeX counted as one (journal = journaltitle, address = location, school =
institution, year + month = date, annote = annotation, a URL in howpublished = url), values compared after the
reference's own decoding, whitespace folded, dashes in page ranges and DOIs written as URLs normalised.

CSL-JSON: each item is imported and exported as CSL-JSON; every variable of the input must come back equal.

Differences fall into the classes of EXPECTED (each with its reason); anything else is a loss."""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ALIASES = {"journal": "journaltitle", "address": "location", "school": "institution", "annote": "annotation",
           "archiveprefix": "eprinttype", "primaryclass": "eprintclass", "lastchecked": "urldate",
           "key": None}  # `key` is classic BibTeX's sort key: refman writes its own when there is no author
# differences that are not losses, with why
EXPECTED = {
    "reference-unresolved-macro": "bibtexparser leaves `a # b` with an @string macro unresolved; refman "
                                  "resolves it (the value refman writes is the expanded text)",
    "doi-normalised": "a DOI written as a URL or with `doi:` is written as the bare DOI (the issue asks for it)",
    "keyless": "an entry without a key gets a generated key (the key is not a field)",
    "merged-same-work": "entries of one file with the same URL, DOI or ISBN are one work in the catalog (the "
                        "last entry's fields win): each is compared with the merged source",
    "reference-failed": "bibtexparser rejects the block (a field given twice, a duplicate key): refman imports "
                        "it, so there is nothing to compare it with",
    "unescaped-ampersand": "a raw `&` (invalid in LaTeX text) is dropped by the reference decoder; refman keeps "
                           "it and writes `\\&`",
    "commented-out": "`%@book{…`: biber reads an entry commented out with `%` as a comment, and so does refman; "
                     "bibtexparser reads it as an entry",
    "eprinttype-case": "biblatex reads `eprinttype` as a case-insensitive key: `arXiv` is written `arxiv`",
    "url-normalised": "a source's URL is its identity, normalised (lower-case host, `/` for an empty path, "
                      "tracking parameters dropped): refman exports that URL",
}


@dataclass
class Report:
    source: str
    files: int = 0
    entries: int = 0  # as the reference parser reads them
    imported: int = 0
    compared: int = 0
    lost: int = 0
    changed: int = 0
    expected: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    by_field: Counter[str] = field(default_factory=Counter)  # "field lost" / "field changed"
    first_example: dict[str, str] = field(default_factory=dict)

    def note(self, what: str, example: str) -> None:
        self.by_field[what] += 1
        self.first_example.setdefault(what, example[:400])
        self.examples.append(example[:400])

    def row(self) -> str:
        extra = ", ".join(f"{k} {v}" for k, v in sorted(self.expected.items()))
        return (f"| {self.source} | {self.files} | {self.entries} | {self.imported} | {self.compared} | "
                f"{self.lost} | {self.changed} | {extra} |")


def _reference(text: str) -> Any:
    import bibtexparser
    from bibtexparser import middlewares as m

    return bibtexparser.parse_string(text, append_middleware=[
        m.NormalizeFieldKeys(), m.SeparateCoAuthors(), m.SplitNameParts()])


@cache
def _latex(value: str) -> str:
    """The reference's LaTeX decoding: pylatexenc, as bibtexparser's LatexDecodingMiddleware uses it, with every
    value (bibtexparser's own middleware drops `\\&` in some fields)."""
    if not re.search(r"[\\{}$~]|--|``|''", value):
        return value
    global _CONVERTER
    if _CONVERTER is None:
        from pylatexenc.latex2text import LatexNodes2Text

        _CONVERTER = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)
    try:
        return str(_CONVERTER.latex_to_text(value))
    except Exception:  # pylatexenc's parse errors: compare the raw text
        return value


_CONVERTER: Any = None


def _fold(value: Any) -> Any:
    if isinstance(value, list):
        return [_fold(v) for v in value]
    if hasattr(value, "last"):  # bibtexparser NameParts
        return "|".join(" ".join(_fold(p) for p in part) for part in (value.first, value.von, value.last, value.jr))
    text = _latex(" ".join(str(value).split()))
    text = text.replace("\xa0", " ").replace("\xad", "").replace("\u02c6", "^")  # nbsp: refman folds spaces
    text = " ".join(text.split())  # soft hyphen; pylatexenc: ^ as ˆ
    while len(text) >= 2 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1].strip()
    return text.replace("{", "").replace("}", "")


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                       "nov", "dec"), 1)}


def _date(fields: dict[str, Any]) -> str | None:
    if "date" in fields:
        return str(fields["date"]).replace("--", "/")
    year = fields.get("year")
    if not year:
        return None
    year = str(year).replace("--", "/").replace("–", "/")
    month = str(fields.get("month") or "").strip().lower()
    num = int(month) if month.isdigit() else _MONTHS.get(month[:3])
    return f"{year}-{num:02d}" if num and re.fullmatch(r"\d{4}", year) else year


def _canonical(entry: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    present = {f.key.lower() for f in entry.fields}
    for f in entry.fields:
        name = f.key.lower()
        alias = ALIASES.get(name, name)
        if alias is None:
            continue
        # two names of one field: when an entry has both (ACM's address and location), each is its own field
        fields.setdefault(name if alias in present and alias != name else alias, _fold(f.value))
    raw = {f.key.lower(): f.value for f in entry.fields}
    out = {k: v for k, v in fields.items() if k not in ("year", "month", "date")}
    date = _date(raw)
    if date:
        out["date"] = date
    if "pages" in out:
        out["pages"] = re.sub(r"\s*(--|–|—|-)\s*", "-", out["pages"])
    if "doi" in out:
        m = re.search(r"10\.\d+(?:\.\d+)*/\S+", out["doi"])
        out["doi"] = m.group(0) if m else out["doi"]
    if "howpublished" in out and "url" not in out and re.match(r"(\\url)?https?://", out["howpublished"]):
        out["url"] = re.sub(r"^\\url", "", out.pop("howpublished"))
    for name in ("keywords",):
        if name in out:
            out[name] = sorted({k.strip() for k in re.split(r"[,;]", out[name]) if k.strip()})
    if "url" in out:
        out["url"] = out["url"].replace("\\&", "&").replace("\\%", "%").replace("\\_", "_").replace("\\#", "#")
    return out


def _fresh_catalog(work: Path, template: Path, n: int) -> Any:
    """A new empty catalog for one file (a copy of a migrated template: migrating each would be slower)."""
    from refman.store import connect

    db = work / f"{n}.db"
    shutil.copy(template, db)
    return connect(db)


def roundtrip_bib(files: list[Path], source: str, template: Path) -> Report:
    from refman.catalog import import_bibliographies
    from refman.citation.bibliography_reader import decode_file
    from refman.citation.bibtex import biblatex_entry
    from refman.citation.build import load_items
    from refman.errors import UsageError
    from refman.store.sqlite import SqliteStore

    report = Report(source)
    work = Path(tempfile.mkdtemp())
    try:
        for path in files:
            report.files += 1
            text, _enc, _problem = decode_file(path.read_bytes())
            ref = _reference(text)
            report.entries += len(ref.entries)
            report.expected["reference-failed"] += len(ref.failed_blocks)
            plain = work / "in.bib"
            plain.write_text(text, encoding="utf-8")
            conn = _fresh_catalog(work, template, report.files)
            try:
                result = import_bibliographies(SqliteStore(conn), [plain])
            except UsageError:
                result = {"ids": []}
            ids = result["ids"]
            report.imported += sum(1 for i in ids if i is not None)
            ours = _ours_in_reference_order(ref, ids, text)
            items = load_items(SqliteStore(conn), sorted({i for i in ids if i is not None}))
            exported = _reference("\n".join(biblatex_entry(it.model_copy(update={"id": f"s{sid}"}))
                                             for sid, it in items))
            back = {int(e.key[1:]): e for e in exported.entries}
            shared = Counter(i for i in ids if i is not None)
            for ref_entry, sid in ours:
                if sid is None:
                    if re.search(r"%[ \t%]*@\w+\s*[{(]\s*" + re.escape(ref_entry.key) + r"\s*,", text):
                        report.expected["commented-out"] += 1
                        continue
                    report.lost += len(ref_entry.fields)
                    report.note("entry lost", f"{path.name}: entry {ref_entry.key!r} not imported")
                    continue
                if not ref_entry.key:
                    report.expected["keyless"] += 1
                _compare(report, path.name, ref_entry, back[sid], shared[sid] > 1)
            conn.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _ours_in_reference_order(ref: Any, ids: list[int | None], text: str) -> list[tuple[Any, int | None]]:
    """Pair the reference's entries with refman's sources: both read the file's entries in order; refman also
    imports what the reference rejects (its failed blocks), which are skipped here by their keys and types."""
    from refman.citation.bibparse import parse_bib

    parsed, _ = parse_bib(text)
    ours = [(e.type, e.key, sid) for e, sid in zip(parsed, ids, strict=False)]
    out: list[tuple[Any, int | None]] = []
    pos = 0
    for entry in ref.entries:
        while pos < len(ours) and (ours[pos][0], ours[pos][1]) != (entry.entry_type.lower(), entry.key):
            pos += 1
        out.append((entry, ours[pos][2] if pos < len(ours) else None))
        pos += 1
    return out


def _compare(report: Report, name: str, ref_entry: Any, exported: Any, merged: bool) -> None:
    want = _canonical(ref_entry)
    got = _canonical(exported)
    raw: dict[str, str] = {}
    for f in ref_entry.fields:
        raw.setdefault(f.key.lower(), str(f.value))
        raw.setdefault(ALIASES.get(f.key.lower()) or f.key.lower(), str(f.value))
    for key, value in want.items():
        report.compared += 1
        if got.get(key) == value:
            continue
        if merged:
            report.expected["merged-same-work"] += 1
        elif re.search(r"\s#(\s|$)", raw.get(key, "")) or re.search(r"\w #(\W|$)", str(value)):
            report.expected["reference-unresolved-macro"] += 1
        elif key == "doi" and got.get("doi") and got["doi"].lower() in str(value).lower():
            report.expected["doi-normalised"] += 1
        elif isinstance(value, str) and "&" in raw.get(key, "").replace("\\&", "") \
                and value.split() == str(got.get(key, "")).replace("&", " ").split():
            report.expected["unescaped-ampersand"] += 1
        elif key == "eprinttype" and str(got.get(key)).lower() == str(value).lower():
            report.expected["eprinttype-case"] += 1
        elif key == "url" and got.get("url") and _normalised_url(str(value)) == got["url"]:
            report.expected["url-normalised"] += 1
        elif key not in got:
            report.lost += 1
            report.note(f"{key} lost", f"{name}: {ref_entry.key}: {key} lost: {value!r}")
        else:
            report.changed += 1
            report.note(f"{key} changed", f"{name}: {ref_entry.key}: {key} {value!r} → {got[key]!r}")


def _normalised_url(url: str) -> str | None:
    from refman.errors import UsageError
    from refman.urls import normalise_url

    try:
        return normalise_url(url).url
    except UsageError:
        return None


def roundtrip_csl(files: list[Path], source: str, template: Path) -> Report:
    from refman.catalog import import_bibliographies
    from refman.citation.build import load_items
    from refman.errors import UsageError
    from refman.store.sqlite import SqliteStore

    report = Report(source)
    work = Path(tempfile.mkdtemp())
    try:
        for path in files:
            report.files += 1
            try:
                data = json.loads(path.read_text(encoding="utf-8-sig"))
            except ValueError:
                continue
            items_in = data if isinstance(data, list) else data.get("items", [data]) if isinstance(data, dict) else []
            items_in = [i for i in items_in if isinstance(i, dict)]
            report.entries += len(items_in)
            conn = _fresh_catalog(work, template, report.files)
            try:
                ids = import_bibliographies(SqliteStore(conn), [path])["ids"]
            except UsageError as exc:
                report.lost += sum(len(i) for i in items_in)
                report.examples.append(f"{path.name}: refused: {exc}")
                conn.close()
                continue
            report.imported += sum(1 for i in ids if i is not None)
            built = dict(load_items(SqliteStore(conn), [i for i in set(ids) if i is not None]))
            shared = Counter(i for i in ids if i is not None)
            for original, sid in zip(items_in, ids, strict=True):
                if sid is None:
                    report.lost += len(original)
                    continue
                merged = shared[sid] > 1
                back = built[sid].to_csl()
                for key, value in original.items():
                    if key in ("id", "citation-key") or value in ("", [], {}, None):
                        continue  # empty values carry nothing
                    report.compared += 1
                    if back.get(key) == value or _same_csl(back.get(key), value):
                        continue
                    if merged:
                        report.expected["merged-same-work"] += 1
                    elif key == "URL" and _normalised_url(str(value)) == back.get("URL"):
                        report.expected["url-normalised"] += 1
                    elif key not in back:
                        report.lost += 1
                        report.note(f"{key} lost", f"{path.name}: {original.get('id')}: {key} lost: {value!r}")
                    else:
                        report.changed += 1
                        report.note(f"{key} changed",
                                    f"{path.name}: {original.get('id')}: {key} {value!r} → {back[key]!r}")
            conn.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _same_csl(got: Any, want: Any) -> bool:
    return json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)


def template_catalog(directory: Path) -> Path:
    from refman.store import connect

    path = directory / "template.db"
    connect(path).close()
    return path


def main(argv: list[str]) -> None:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "shared" / "peer-fixtures"
    with tempfile.TemporaryDirectory() as tmp:
        template = template_catalog(Path(tmp))
        print("| source | files | entries | imported | fields compared | lost | changed | expected differences |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        reports = [roundtrip_bib(sorted(folder.glob("*.bib")), f"bib/{folder.name}", template)
                   for folder in sorted((root / "bib").iterdir())]
        reports += [roundtrip_csl(sorted(folder.glob("*.json")), f"csljson/{folder.name}", template)
                    for folder in sorted((root / "csljson").iterdir())]
        for r in reports:
            print(r.row())
        for r in reports:
            for what, count in r.by_field.most_common():
                print(f"{r.source}: {count} × {what}, e.g. {r.first_example[what]}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main(sys.argv[1:])
