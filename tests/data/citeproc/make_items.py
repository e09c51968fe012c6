"""Writes items.json: 120 CSL-JSON items covering every type refman writes and the tricky fields of issue #12
(titles ending in ?/!/quotes, page ranges, particles, corporate authors, CJK, missing dates and titles).
Deterministic: `python tests/data/citeproc/make_items.py` rewrites the same file."""

import json
from pathlib import Path

TYPES = ["article-journal", "book", "chapter", "paper-conference", "report", "thesis", "webpage", "post-weblog",
         "article-newspaper", "article-magazine", "dataset", "software", "motion_picture", "manuscript",
         "article", "document"]
TITLES = ["On the theory of identical particles", "Is attention all you need?", "Stop!",
          "The \u201cbig\u201d picture", "What is a \u201cdataset\u201d?", "Deep learning: A review",
          "\u6570\u636e\u4e2d\u5fc3\u7f51\u7edc\u7684\u8bbe\u8ba1", "Caf\u00e9 culture and na\u00efve models",
          "Why 100% is not enough", None]
AUTHORS = [
    [{"family": "Leinaas", "given": "Jon Magne"}, {"family": "Myrheim", "given": "Jan"}],
    [{"family": "Beethoven", "given": "Ludwig", "non-dropping-particle": "van"}],
    [{"family": "Cruz", "given": "Ana", "non-dropping-particle": "de la"}],
    [{"literal": "World Health Organization"}],
    [{"family": "\u5f20", "given": "\u4e09"}, {"family": "\u674e", "given": "\u56db"}],
    [{"family": "Smith", "given": "John", "suffix": "Jr."}],
    [{"family": f"Author{i}", "given": "A."} for i in range(1, 9)],
    [],
]
PAGES = ["1-23", "123-129", "1234-1289", "45", "e1001", None]
DATES = [[2020, 5, 17], [1977], [2024, 6], None]
CONTAINERS = {"article-journal": "Il Nuovo Cimento B", "chapter": "Handbook of Examples",
              "paper-conference": "Proceedings of the Conference on Things", "article-newspaper": "The Times",
              "article-magazine": "Wired", "post-weblog": "A Blog", "webpage": "Example Site"}


def item(i: int) -> dict:
    t = TYPES[i % len(TYPES)]
    out: dict = {"id": f"item{i:03d}", "type": t}
    title = TITLES[i % len(TITLES)]
    if title:
        out["title"] = title
    authors = AUTHORS[(i // 2) % len(AUTHORS)]
    if authors:
        out["author"] = authors
    date = DATES[(i // 3) % len(DATES)]
    if date:
        out["issued"] = {"date-parts": [date]}
    if t in CONTAINERS:
        out["container-title"] = CONTAINERS[t]
    if t in ("article-journal", "chapter", "paper-conference"):
        page = PAGES[i % len(PAGES)]
        if page:
            out["page"] = page
        out["volume"] = str(10 + i % 7)
        if t == "article-journal":
            out["issue"] = str(1 + i % 4)
    if t in ("book", "chapter", "report", "thesis", "paper-conference", "dataset", "software"):
        out["publisher"] = ["MIT Press", "Springer", "\u6e05\u534e\u5927\u5b66\u51fa\u7248\u793e"][i % 3]
        out["publisher-place"] = ["Cambridge, MA", "Berlin", "\u5317\u4eac"][i % 3]
    if t == "chapter":
        out["editor"] = [{"family": "Editor", "given": "Eve"}]
    if t == "book" and i % 2:
        out["edition"] = "2"
    if t == "report":
        out["number"] = f"TR-{i}"
        out["genre"] = "Technical report"
    if t == "thesis":
        out["genre"] = "PhD thesis"
    if i % 5 == 0:
        out["DOI"] = f"10.1000/example.{i}"
    if t in ("webpage", "post-weblog", "software", "dataset", "document", "article") or i % 4 == 1:
        out["URL"] = f"https://example.org/works/{i}"
        out["accessed"] = {"date-parts": [[2024, 7, 1]]}
    if any(ord(c) > 0x3000 for c in (title or "")):
        out["language"] = "zh-CN"
    return out


Path(__file__).with_name("items.json").write_text(
    json.dumps([item(i) for i in range(120)], ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
