"""The same `refman` command lines on a SQLite catalog and on a PostgreSQL catalog (`--db postgresql://…`) print
the same thing: import, list, show, tags, set/unset, search, export in every format, cite, duplicates, merge,
fetch from a local server, check, read, notes, stats, delete, db status/check/gc. The installed `refman` in
subprocesses, one run per backend, outputs compared after masking the clock."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pg import fresh_catalog_database, skip_unless_postgres

REPO = Path(__file__).resolve().parents[1]
REFMAN = str(Path(sys.executable).parent / "refman")
_CLOCK = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?|\b\d+(?:\.\d+)? ?(?:s|ms)\b|[\d.]+/s")


def _masked(text: str) -> str:
    return _CLOCK.sub("<time>", text)


class Cli:
    def __init__(self, location: str, vault: Path) -> None:
        self.env = dict(os.environ, REFMAN_DB=location, COLUMNS="200")
        self.vault = vault

    def __call__(self, *args: str, code: int = 0) -> str:
        proc = subprocess.run([REFMAN, *args], env=self.env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        return _masked(proc.stdout.replace(str(self.vault), "<vault>"))

    def json(self, *args: str) -> Any:
        return _untimed(json.loads(self(*args, "--json")))


def _untimed(value: Any) -> Any:
    """`value` without its durations and rates (elapsed_s, pages_per_s, …): they differ from run to run."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if not k.endswith(("_s", "_ms"))}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _session(cli: Cli, page_url: str) -> dict[str, Any]:
    """One user's session; every output it printed, by step."""
    out: dict[str, Any] = {}
    out["import"] = cli.json("import", str(cli.vault))
    out["import again"] = cli.json("import", str(cli.vault))
    out["list"] = cli.json("list")
    out["list sorted"] = cli("list", "--sort", "title")
    out["show"] = [cli.json("show", str(source["id"])) for source in out["list"]]
    out["tag"] = cli("tag", "1", "2", "3", "--add", "ML", "--add", "infra")
    out["tag case"] = cli("tag", "4", "--add", "ml")
    out["tags"] = cli.json("tags")
    out["set"] = cli("set", "2", "title=A pinned title", "author=Doe, Jane; Roe, Richard", "issued=2023-05")
    out["unset"] = cli("unset", "2", "issued")
    out["notes"] = cli.json("notes")
    for query in ("rdma", "网络", "gpu market", "tag:ml", "title:infrastructure", "-rdma", '"AI Infrastructure"',
                  "infra*"):
        out[f"search {query}"] = cli.json("search", query)
    out["search filters"] = cli.json("search", "--tag", "infra", "--sort", "title")
    for fmt in ("biblatex", "bibtex", "csljson", "ris", "markdown"):
        out[f"export {fmt}"] = cli("export", "-f", fmt)
    out["cite"] = cli("cite", "1", "2", "4", "--style", "apa")
    out["cite gb"] = cli("cite", "4", "--style", "gb-t-7714-numeric")
    out["add"] = cli("add", page_url, "--tag", "local")
    out["fetch"] = cli.json("fetch", page_url, "--ignore-robots")
    out["show fetched"] = cli.json("show", page_url)
    out["search fetched"] = cli.json("search", "remote direct memory")
    out["read"] = cli("read", page_url)
    out["check"] = cli.json("check", page_url, "--ignore-robots")
    out["duplicates"] = cli.json("duplicates")
    out["add twin"] = cli("add", page_url.replace("/p1", "/p1?utm_source=x"))
    out["merge"] = cli.json("merge", "1", "3")
    out["stats"] = cli.json("stats")
    out["delete"] = cli("delete", page_url, "--yes")
    out["list after"] = cli.json("list")
    out["db status"] = cli.json("db", "status")
    out["db check"] = cli.json("db", "check")
    out["db gc"] = cli.json("db", "gc")
    out["export after"] = cli("export", "-f", "csljson")
    return out


@pytest.fixture
def page(site: Any) -> str:
    text = " ".join(["Remote direct memory access lets one computer read another computer's memory."] * 20)
    html = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Local page</title>"
            f'<meta name="author" content="Jane Doe"></head><body><article><h1>Local page</h1><p>{text}</p>'
            "</article></body></html>")
    site.expect_request("/p1").respond_with_data(html, content_type="text/html; charset=utf-8")
    return str(site.url_for("/p1"))


@pytest.fixture
def postgres_location() -> Iterator[str]:
    skip_unless_postgres()
    with fresh_catalog_database() as url:
        yield url


def test_the_same_session_prints_the_same_on_both_backends(tmp_path: Path, page: str,
                                                          postgres_location: str) -> None:
    vault = tmp_path / "vault"
    shutil.copytree(REPO / "data" / "sample-vault", vault)
    on_sqlite = _session(Cli(str(tmp_path / "catalog.db"), vault), page)
    on_postgres = _session(Cli(postgres_location, vault), page)
    on_postgres["db status"]["path"] = on_sqlite["db status"]["path"]
    for step, printed in on_sqlite.items():
        if step.startswith("search"):  # the same hits; bm25 and ts_rank_cd score and order them differently
            assert _hits(on_postgres[step]) == _hits(printed), step
        else:
            assert on_postgres[step] == printed, step


def _hits(result: Any) -> list[dict[str, Any]]:
    """The hits without their scores, in id order, snippets reduced to what they highlight: FTS5's unicode61
    counts symbols newer than its Unicode tables (🤔) as words, so a snippet's window may end a word apart."""
    hits = result["results"] if isinstance(result, dict) else result
    return sorted(({**{k: v for k, v in hit.items() if k != "score"},
                    "snippet": re.findall(r"\*\*(.+?)\*\*", hit.get("snippet") or "")} for hit in hits),
                  key=lambda hit: hit["id"])


def test_registered_exports_follow_changes_on_postgresql(tmp_path: Path, postgres_location: str) -> None:
    """On PostgreSQL too, a command that changes the catalog re-writes the registered exports it changed (the
    change signal is LISTEN/NOTIFY there), and one that changes nothing leaves them alone."""
    vault = tmp_path / "vault"
    shutil.copytree(REPO / "data" / "sample-vault", vault)
    cli = Cli(postgres_location, vault)
    cli("import", str(vault))
    bib = tmp_path / "refs.bib"
    cli("export", "-o", str(bib), "--keep-updated")
    written = bib.stat().st_mtime_ns
    cli("search", "rdma")
    assert bib.stat().st_mtime_ns == written
    cli("set", "1", "title=A title of my own")
    assert "A title of my own" in bib.read_text(encoding="utf-8")


def test_the_web_app_serves_a_postgresql_catalog(tmp_path: Path, postgres_location: str) -> None:
    """`refman serve --db postgresql://…`: pages and the JSON API answer as on a file, the password nowhere."""
    import httpx
    from web_server import serve

    vault = tmp_path / "vault"
    shutil.copytree(REPO / "data" / "sample-vault", vault)
    cli = Cli(postgres_location, vault)
    cli("import", str(vault))
    expected = cli.json("search", "rdma")
    served = serve(postgres_location)
    try:
        headers = {"Authorization": f"Bearer {served.token}"}
        assert httpx.get(served.base, headers=headers, timeout=30).status_code == 200
        found = httpx.get(f"{served.origin}/api/search", params={"q": "rdma"}, headers=headers, timeout=30).json()
        assert _hits(_untimed(found)) == _hits(expected)
        listed = httpx.get(f"{served.origin}/api/sources", headers=headers, timeout=30).json()
        assert len(listed) == len(cli.json("list"))
    finally:
        served.stop()
