"""The public Python API: `refman.Catalog` used from a script, without the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

import refman

REPO = Path(__file__).resolve().parents[1]


def test_exported_names_are_pinned() -> None:
    assert refman.__all__ == [
        "AddResult", "Catalog", "CatalogError", "FetchSummary", "ImportResult", "NotFoundError", "RefmanError",
        "SearchFilters", "SearchHit", "Source", "UsageError", "__version__",
    ]
    for name in refman.__all__:
        assert getattr(refman, name) is not None
    with pytest.raises(AttributeError):
        refman.nothing_like_this  # noqa: B018


def test_import_refman_is_cheap() -> None:
    code = ("import sys, refman; heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'pydantic', 'httpx',"
            " 'lxml', 'trafilatura', 'refman.api', 'sqlite3') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


PAGE = """<html lang="en"><head><title>Vector databases explained</title>
<meta name="citation_title" content="Vector databases explained">
<meta name="citation_author" content="Ada Lovelace">
<meta name="citation_publication_date" content="2024/06/24">
</head><body><article><h1>Vector databases explained</h1>
<p>{body}</p></article></body></html>"""


def test_a_script_imports_fetches_searches_exports_and_cites(tmp_path: Path, httpserver: HTTPServer) -> None:
    body = " ".join(["A vector database stores embeddings and answers nearest-neighbour queries."] * 20)
    httpserver.expect_request("/vectors").respond_with_data(PAGE.format(body=body), content_type="text/html")
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "Databases.md").write_text(
        "# Databases\n\nSee [the explainer][v].\n\n## Ref\n"
        f"[v]: {httpserver.url_for('/vectors')}\n", encoding="utf-8")
    from refman.fetch.client import FetchPolicy

    with refman.Catalog.open(tmp_path / "cat.db") as cat:
        report = cat.import_paths([vault])
        assert report.notes["sources_new"] == 1 and report.bibliography is None
        [source] = cat.sources()
        assert source.status == "new" and source.mentions[0]["path"] == "Databases.md"
        seen: list[int] = []
        summary = cat.fetch(policy=FetchPolicy(delay=0), progress=lambda done, total, counts: seen.append(done))
        assert (summary.total, summary.ok, summary.interrupted) == (1, 1, False)
        assert seen and seen[-1] == 1
        fetched = cat.get(source.id)
        assert fetched.title == "Vector databases explained"
        assert fetched.author == [{"family": "Lovelace", "given": "Ada"}]
        assert fetched.issued == "2024-06-24"
        assert "snapshots" in fetched.extra and fetched.to_dict()["snapshots"]
        [hit] = cat.search("embeddings")
        assert hit.id == source.id
        cat.tag([source.id], add=["ml"])
        assert cat.get(source.citekey or source.id).tags == ["ml"]
        bib = cat.export("biblatex")
        assert bib is not None and "Vector databases explained" in bib and "Lovelace" in bib
        cat.export("csljson", to=tmp_path / "refs.json")
        [item] = json.loads((tmp_path / "refs.json").read_text(encoding="utf-8"))
        assert item["title"] == "Vector databases explained"
        text = cat.cite([source.id], style="apa")
        assert "Lovelace, A. (2024" in text
        with pytest.raises(refman.NotFoundError):
            cat.get("no-such-key")
        with pytest.raises(refman.NotFoundError):
            cat.export("biblatex", tags=["nothing-tagged-so"], to=tmp_path / "empty.bib")
        assert not (tmp_path / "empty.bib").exists()


def test_import_paths_reads_notes_and_bibliographies_by_what_they_are(tmp_path: Path) -> None:
    (tmp_path / "n.md").write_text("[A page]: https://example.org/a\n", encoding="utf-8")
    (tmp_path / "refs.bib").write_text(
        "@book{knuth1984, title = {The TeXbook}, author = {Knuth, Donald E.}, year = {1984},"
        " isbn = {0-201-13447-0}}\n", encoding="utf-8")
    with refman.Catalog.open(tmp_path / "cat.db") as cat:
        result = cat.import_paths([tmp_path / "n.md", tmp_path / "refs.bib"])
        assert result.notes["sources_new"] == 1
        assert result.bibliography is not None and result.bibliography["new"] == 1
        assert {s.title for s in cat.sources()} == {"A page", "The TeXbook"}
        with pytest.raises(refman.NotFoundError):
            cat.import_paths([tmp_path / "missing.md"])


def test_the_readme_example_runs(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using refman from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert code is not None
    shutil.copytree(REPO / "data" / "sample-vault", tmp_path / "data" / "sample-vault")
    env = os.environ | {"PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-c", code.group(1)], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "new sources" in done.stdout
    assert (tmp_path / "refs.bib").read_text(encoding="utf-8").startswith("@")


def test_storage_errors_arrive_as_refman_errors(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "cat.db"
    with refman.Catalog.open(path) as cat:
        added = cat.add("https://example.org/page")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with refman.Catalog.open(path, wait_s=0.1) as cat:
            assert cat.get(added.id).url == "https://example.org/page"  # reads still work
            with pytest.raises(refman.CatalogError, match="busy"):
                cat.tag([added.id], add=["x"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
