"""`refman search` and `refman db reindex` end to end (the installed command in a subprocess), and the
import graph of the search path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REFMAN = Path(sys.executable).with_name("refman")
HEAVY = {"sqlalchemy", "sqlmodel", "alembic", "trafilatura", "httpx", "lxml", "fastapi", "starlette", "uvicorn",
         "jinja2"}


@pytest.fixture
def catalog(db_path: Path) -> Path:
    from refman.evidence import refresh_sources
    from refman.store import open_store
    from refman.store.fetch import FetchAttempt

    rows = [
        ("https://zhuanlan.zhihu.com/p/1", "zhuanlan.zhihu.com", "数据库与数据仓库", "2024-05",
         "数据库与数据仓库的区别，RDMA 网络。"),
        ("https://example.com/gpu", "example.com", "GPU market report", "2023", "The GPU market grew fast."),
    ]
    with open_store(db_path) as store:
        for url, host, title, issued, text in rows:  # fetched: archived text, title and date from the page
            with store.transaction():
                sid = store.insert_source(url, url, host, "", added_by="note")
            store.record_fetch_attempt(FetchAttempt(
                source_id=sid, fetched_at="", status="ok", reason=None, failed=False, reachable=True,
                definitive=False, snapshot={"outcome": "ok"}, content_changed=True, text=text,
                evidence=[("title", "page:meta", json.dumps(title)), ("issued", "page:meta", json.dumps(issued))]))
            refresh_sources(store, [sid])
        with store.transaction():
            store.add_source_tags(2, ["hardware"])
    return db_path


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REFMAN_DB"}
    return subprocess.run([str(REFMAN), "--db", str(db), *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_search_plain_and_json(catalog: Path) -> None:
    out = run(catalog, "search", "数据")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split("\t")[:4] == ["1", "2024", "zhuanlan.zhihu.com", "数据库与数据仓库"]
    out = run(catalog, "search", "--json", "RDMA", "网络")
    assert out.returncode == 0, out.stderr
    [hit] = json.loads(out.stdout)
    assert set(hit) == {"id", "url", "title", "issued", "site", "score", "snippet", "matched_fields"}
    assert hit["id"] == 1 and hit["matched_fields"] == ["text"] and "**RDMA 网络**" in hit["snippet"]
    out = run(catalog, "search", "--json", "--tag", "hardware")
    assert [h["id"] for h in json.loads(out.stdout)] == [2]
    out = run(catalog, "search", "gpu", "-report")  # a -word is a negation, not an option
    assert out.returncode == 0 and out.stdout == ""


@pytest.mark.parametrize("args", [["search", "OR ("], ["search"], ["search", "x", "--since", "yesterday"]])
def test_bad_queries_exit_2_with_one_line(catalog: Path, args: list[str]) -> None:
    out = run(catalog, *args)
    assert out.returncode == 2
    assert out.stderr.startswith("refman: ") and len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_reindex(catalog: Path) -> None:
    out = run(catalog, "db", "reindex")
    assert out.returncode == 0, out.stderr
    assert "indexed 2 sources" in out.stderr
    out = run(catalog, "db", "reindex", "--json")
    assert json.loads(out.stdout)["sources"] == 2 and out.stderr == ""
    status = json.loads(run(catalog, "db", "upgrade", "--json").stdout)
    assert status["up_to_date"] is True and status["previous_revision"] == status["head"]
    assert json.loads(run(catalog, "search", "--json", "仓库").stdout)[0]["id"] == 1


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nprint(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return {m.split(".")[0] for m in out.stdout.split()}


def test_search_command_imports_nothing_heavy(catalog: Path) -> None:
    loaded = _modules_after(f"""
import sys
from refman.cli import main
sys.argv = ['refman', '--db', {str(catalog)!r}, 'search', '--json', '数据']
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
""")
    assert "refman" in loaded and "sqlite3" in loaded
    assert not loaded & HEAVY


def test_search_library_imports_only_the_standard_library(catalog: Path) -> None:
    """pydantic is excluded too: the CLI only pulls it in through typer's own parameter parsing."""
    loaded = _modules_after(f"""
import sys
from refman.store import open_store
from refman.search import search
assert search(open_store({str(catalog)!r}), '数据')
""")
    assert not loaded & (HEAVY | {"pydantic", "typer", "rich"})
