"""Shared helpers for tests/test_citation_*.py (not a test module): a real catalog file with sources and notes
written through the store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from refman.store import connect
from refman.store.fetch import FetchAttempt
from refman.store.notes import ImportIds
from refman.store.sources import NewEvidence
from refman.store.sqlite import SqliteStore

NOW = "2024-01-01T00:00:00Z"


def catalog(path: Path) -> sqlite3.Connection:
    return connect(path)


def add_source(conn: sqlite3.Connection, url: str, **fields: Any) -> int:
    """Add a source with these merged values (`author` a list of CSL name dicts, other keywords `source` field
    columns; `tags`; `extras`: page:citation evidence; `last_ok_at`: when a fetch last went well)."""
    author = fields.pop("author", None)
    tags = fields.pop("tags", [])
    extras = fields.pop("extras", {})
    last_ok_at = fields.pop("last_ok_at", None)
    if author is not None:
        fields["author"] = json.dumps(author, ensure_ascii=False)
    host = url.split("/")[2].removeprefix("www.")
    store = SqliteStore(conn)
    with store.transaction():
        sid = store.insert_source(url, url, host, NOW, added_by="note")
        if fields:
            store.write_cached_fields([(sid, fields)])
        if tags:
            store.add_source_tags(sid, tags)
        if extras:
            store.put_field_evidence([NewEvidence(sid, name, "page:citation", value, NOW)
                                      for name, value in extras.items()])
        if last_ok_at is not None:  # a copy of the page was saved then (the source's live status stays)
            store.record_fetch_attempt(FetchAttempt(
                source_id=sid, fetched_at=last_ok_at, status="ok", reason=None, failed=False, reachable=True,
                definitive=False, snapshot={"outcome": "ok", "http_status": 200}, keep_status=True))
    return sid


def add_note(conn: sqlite3.Connection, path: str, source_ids: list[int], root: str = "/vault") -> int:
    """A note at `root`/`path` that cites `source_ids` in this order (as an import writes it)."""
    store = SqliteStore(conn)
    ids = ImportIds()
    with store.transaction():
        store.write_import_rows(
            ids, notes=[(root, path, 1, 1, "x", None, "ok", None, NOW)], sources=[],
            mentions=[(sid, -1, ordinal, ordinal, "l", None, None, None, "definition", None)
                      for ordinal, sid in enumerate(source_ids, 1)],
            evidence=[])
    return ids.note(-1)


SAMPLE = [
    ("https://www.felicis.com/insight/ai-data-infrastructure", dict(
        type="webpage", title="The Rise of AI Data Infrastructure", issued="2024-06-24", container_title="Felicis",
        author=[{"family": "Myers", "given": "Astasia"}], language="en", last_ok_at="2024-07-01T10:00:00Z",
        tags=["ai"])),
    ("https://www.intelcapital.com/demystifying", dict(
        type="post-weblog", title="Demystifying the AI Infrastructure Stack & 50% of $#_ {x} ~^\\",
        issued="2020-04-02", publisher="Intel Capital", author=[{"literal": "Intel Capital"}],
        last_ok_at="2024-07-01T10:00:00Z")),
    ("https://www.nytimes.com/2024/05/01/technology/gpu.html", dict(
        type="article-newspaper", title="Nvidia’s GPU Market — Café naïve", issued="2024-05",
        container_title="The New York Times",
        author=[{"family": "Müller", "given": "Jürgen"}, {"family": "Gogh", "given": "Vincent",
                                                          "non-dropping-particle": "van"}],
        last_ok_at="2024-07-02T10:00:00Z", tags=["ai", "gpu"])),
    ("https://arxiv.org/abs/2401.12345", dict(
        title="Attention Is All You Need Again", issued="2024-01-15",
        author=[{"family": "Vaswani", "given": "Ashish"}], last_ok_at="2024-07-02T10:00:00Z")),
    ("https://github.com/pandas-dev/pandas", dict(title="pandas: powerful data analysis toolkit", issued="2023")),
    ("https://example.org/state-of-ai.pdf", dict(
        type="report", title="State of AI Report 2024", issued="2024", publisher="Example Research and Markets",
        last_ok_at="2024-07-03T10:00:00Z")),
    ("https://doi.org/10.1000/j1", dict(
        type="article-journal", title="A Journal Article", issued="2022-03-04", container_title="Journal of Things",
        author=[{"family": "García Márquez", "given": "Gabriel"}], doi="10.1000/j1", language="es",
        extras={"volume": "12", "page": "1-10"})),
    ("https://example.com/100%25?q=a#frag", dict(title="Percent URL", issued="2021-02")),
    ("https://blog.example.com/post", dict(
        type="paper-conference", title="Proceedings Paper", issued="2019", container_title="Proc. of Things",
        author=[{"family": "Doe", "given": "Jane"}])),
    ("https://example.net/unicode", dict(
        title="Zero\u200bwidth\u2009thin\u202fnarrow ＡＢＣ Ærøskøbing – “quotes” … -- ``x'' ½",
        issued="2018-12-31", author=[{"family": "O'Brien", "given": "Łukasz", "suffix": "Jr."}],
        publisher="AT&T Research & Development")),
]
CHINESE = ("https://www.36kr.com/p/123", dict(
    title="数据库与数据仓库的区别与联系", issued="2023-11-02", container_title="36氪",
    author=[{"family": "张", "given": "三"}], last_ok_at="2024-07-03T10:00:00Z"))


def sample_catalog(path: Path, chinese: bool = True) -> sqlite3.Connection:
    conn = catalog(path)
    for url, fields in [*SAMPLE, *([CHINESE] if chinese else [])]:
        add_source(conn, url, **dict(fields))
    return conn
