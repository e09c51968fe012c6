"""Citation-metadata accuracy and cost on the real-page corpus: refman vs trafilatura alone.

    .venv/bin/python benchmarks/bench_metadata.py [--procs N] [--limit N] [--show N] [--field F]

For each page of ../shared/corpus/web/truth.jsonl: decode the bytes, run `trafilatura.bare_extraction` once
(with metadata), hand its metadata to `refman.metadata.html_metadata`, and score both against the truth.

Scoring (rules from the corpus README/SOURCE.md; names compared with case, accents and punctuation folded):
- title: exact after whitespace/case folding; lenient when one contains the other.
- authors: exact when the sets of names are equal; lenient when at least one name is right. Names are compared as
  "Given Family[, Suffix]" (refman's CSL names displayed), trafilatura's author string split on ";".
- date: the ISO day of the truth (its first 10 characters) equal to refman's `issued`; lenient ±1 day
  (postlight truth is a UTC instant). Only truths with a full day count.
- year: the first four characters of `issued` (scholarly pages).
- site_name: refman's `container_title` (site, journal or blog) equal; lenient when one contains the other or the
  publisher matches (readability takes some site names from JSON-LD publisher).
- publisher / container_title (papis): equal after folding; lenient containment. trafilatura has no publisher or
  journal field, so its sitename is scored for both.
- doi: lower-case equality. language: BCP 47 equality ignoring case (truth "eng" read as "en"); lenient same
  primary language.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
import unicodedata
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "web"

ORIGIN_FIELD = {"authors": "author", "date": "issued", "year": "issued", "site_name": "container_title"}
FIELDS = ("title", "authors", "date", "year", "site_name", "publisher", "container_title", "doi", "language")


# ---------- decoding ----------

def decode(body: bytes) -> str:
    try:
        from refman.fetch.charset import decode_html  # the fetcher's decoder, when it exists

        return decode_html(body, None)[0]
    except ImportError:
        pass
    head = body[:4096].decode("ascii", "replace")
    match = re.search(r"<meta[^>]+charset=[\"']?([\w-]+)", head, re.IGNORECASE)
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace")
    if match:
        try:
            return body.decode(match.group(1), "replace")
        except LookupError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(body).best()
        return str(best) if best is not None else body.decode("utf-8", "replace")


# ---------- one page ----------

def run_page(rec: dict[str, Any]) -> dict[str, Any]:
    import trafilatura

    from refman.metadata import html_metadata
    from refman.metadata.authors import display_name

    body = (CORPUS / rec["file"]).read_bytes()
    if rec["file"].endswith(".gz"):
        body = gzip.decompress(body)
    html = decode(body)
    url = rec.get("original_url") or ""
    t0 = time.perf_counter()
    doc = trafilatura.bare_extraction(html, url=url or None, with_metadata=True)
    t1 = time.perf_counter()
    traf = doc.as_dict() if doc is not None and hasattr(doc, "as_dict") else (doc or {})
    meta = html_metadata(html, url, trafilatura_metadata=traf)
    t2 = time.perf_counter()
    f = meta.fields
    ours = {
        "title": f.get("title", (None,))[0],
        "authors": [display_name(n) for n in f.get("author", ([],))[0]],
        "issued": f.get("issued", (None,))[0],
        "site_name": f.get("container_title", (None,))[0],
        "container_title": f.get("container_title", (None,))[0],
        "publisher": f.get("publisher", (None,))[0],
        "doi": f.get("doi", (None,))[0],
        "language": f.get("language", (None,))[0],
        "type": f.get("type", (None,))[0],
    }
    theirs = {
        "title": traf.get("title"),
        "authors": [a.strip() for a in (traf.get("author") or "").split(";") if a.strip()],
        "issued": traf.get("date"),
        "site_name": traf.get("sitename"),
        "container_title": traf.get("sitename"),
        "publisher": traf.get("sitename"),
        "doi": None,
        "language": traf.get("language"),
    }
    return {"id": rec["id"], "ours": ours, "theirs": theirs, "t_traf": t1 - t0, "t_meta": t2 - t1,
            "origins": {k: v[1] for k, v in f.items()}}


# ---------- scoring ----------

def fold(text: Any) -> str:
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def lang_key(value: Any) -> str:
    from refman.metadata.language import normalize_language

    return (normalize_language(str(value)) or "").lower() if value else ""


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value and len(str(value)) >= 10 else None
    except ValueError:
        return None


def score(rec: dict[str, Any], pred: dict[str, Any]) -> dict[str, tuple[bool, bool]]:
    """field → (exact, lenient) for the fields this record's truth has."""
    out: dict[str, tuple[bool, bool]] = {}
    if rec.get("title"):
        t, p = fold(rec["title"]), fold(pred["title"])
        out["title"] = (bool(p) and t == p, bool(p) and (t in p or p in t))
    if rec.get("authors"):
        truth = {fold(a) for a in rec["authors"] if fold(a)}
        got = {fold(a) for a in pred["authors"] if fold(a)}
        out["authors"] = (truth == got, bool(truth & got))
    if rec.get("date") and _day(rec["date"]):
        t, p = _day(rec["date"]), _day(pred["issued"])
        out["date"] = (t == p, p is not None and abs(t - p) <= timedelta(days=1))
    if rec.get("year"):
        ok = str(pred["issued"] or "")[:4] == str(rec["year"])
        out["year"] = (ok, ok)
    for name, key in (("site_name", "site_name"), ("publisher", "publisher"), ("container_title", "container_title")):
        if rec.get(name):
            t, p = fold(rec[name]), fold(pred[key])
            lenient = bool(p) and (t in p or p in t)
            if name == "site_name" and fold(pred.get("publisher")) == t:
                lenient = True
            out[name] = (bool(p) and t == p, lenient)
    if rec.get("doi"):
        ok = str(pred["doi"] or "").lower() == rec["doi"].lower()
        out["doi"] = (ok, ok)
    if rec.get("language"):
        t, p = lang_key(rec["language"]), lang_key(pred["language"])
        out["language"] = (bool(p) and t == p, bool(p) and t.split("-")[0] == p.split("-")[0])
    return out


def pct(a: int, n: int) -> str:
    return f"{100 * a / n:.1f}%" if n else "–"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--show", type=int, default=8, help="wrong answers to print per field")
    ap.add_argument("--field", action="append", help="only print misses of these fields")
    args = ap.parse_args(argv)

    records = [json.loads(line) for line in (CORPUS / "truth.jsonl").read_text().splitlines() if line.strip()]
    if args.limit:
        records = records[: args.limit]
    start = time.perf_counter()
    if args.procs > 1:
        with ProcessPoolExecutor(args.procs) as pool:
            results = list(pool.map(run_page, records, chunksize=4))
    else:
        results = [run_page(r) for r in records]
    wall = time.perf_counter() - start

    totals: dict[str, dict[str, list[int]]] = {w: defaultdict(lambda: [0, 0, 0]) for w in ("ours", "theirs")}
    by_ds: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    misses: dict[str, list[str]] = defaultdict(list)
    for rec, res in zip(records, results, strict=True):
        ds = rec["source_dataset"].split(":")[0]
        for who in ("ours", "theirs"):
            for name, (exact, lenient) in score(rec, res[who]).items():
                cell = totals[who][name]
                cell[0] += 1
                cell[1] += exact
                cell[2] += lenient
                row = by_ds[ds][name]
                if who == "ours":
                    row[0] += 1
                    row[1] += exact
                else:
                    row[2] += exact
                if who == "ours" and not exact:
                    key = {"authors": "authors", "site_name": "site_name", "date": "issued", "year": "issued",
                           "container_title": "container_title"}.get(name, name)
                    truth = rec.get(name)
                    got = res["ours"].get(key)
                    origin = res["origins"].get(ORIGIN_FIELD.get(name, name), "-")
                    misses[name].append(f"  {rec['id']}: truth={truth!r} got={got!r} [{origin}]"
                                        f" traf={res['theirs'].get(key)!r}")

    print(f"## Citation metadata: refman vs trafilatura 2.3.1 ({len(records)} pages)\n")
    print("| field | n | refman exact | refman lenient | trafilatura exact | trafilatura lenient |")
    print("|---|---|---|---|---|---|")
    for name in FIELDS:
        o, t = totals["ours"].get(name), totals["theirs"].get(name)
        if not o:
            continue
        print(f"| {name} | {o[0]} | {pct(o[1], o[0])} | {pct(o[2], o[0])} | {pct(t[1], t[0])} | {pct(t[2], t[0])} |")
    print("\n## Per source dataset (exact: refman / trafilatura)\n")
    present = [f for f in FIELDS if any(f in row for row in by_ds.values())]
    print("| dataset | " + " | ".join(present) + " |")
    print("|---|" + "---|" * len(present))
    for ds in sorted(by_ds):
        cells = []
        for name in present:
            row = by_ds[ds].get(name)
            cells.append(f"{pct(row[1], row[0])} / {pct(row[2], row[0])} (n={row[0]})" if row else "")
        print(f"| {ds} | " + " | ".join(cells) + " |")

    traf_ms = [r["t_traf"] * 1000 for r in results]
    meta_ms = [r["t_meta"] * 1000 for r in results]
    both = [a + b for a, b in zip(traf_ms, meta_ms, strict=True)]
    print("\n## Cost per page\n")
    print("| | median ms | mean ms | total s |")
    print("|---|---|---|---|")
    print(f"| trafilatura alone | {statistics.median(traf_ms):.1f} | {statistics.mean(traf_ms):.1f} | "
          f"{sum(traf_ms) / 1000:.2f} |")
    print(f"| refman metadata only | {statistics.median(meta_ms):.2f} | {statistics.mean(meta_ms):.2f} | "
          f"{sum(meta_ms) / 1000:.2f} |")
    print(f"| trafilatura + refman | {statistics.median(both):.1f} | {statistics.mean(both):.1f} | "
          f"{sum(both) / 1000:.2f} |")
    print(f"\nadded cost: {100 * sum(meta_ms) / sum(traf_ms):.1f}% of trafilatura's time (total), "
          f"{100 * statistics.median(meta_ms) / statistics.median(traf_ms):.1f}% (median); "
          f"wall {wall:.1f}s with {args.procs} process(es)")

    print("\n## Remaining misses (refman, not exact)\n")
    for name in FIELDS:
        rows = misses.get(name, [])
        if args.field and name not in args.field:
            continue
        print(f"### {name}: {len(rows)} wrong")
        for line in rows[: args.show]:
            print(line[:400])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
