"""Rendering pages built by JavaScript in the system's Chromium (refman.fetch.render), against local pages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fallback_helpers import add_source, q, quick_policy
from pytest_httpserver import HTTPServer

from refman.fetch.fallback import FallbackOptions
from refman.fetch.pipeline import fetch_sources
from refman.fetch.render import find_chromium

try:
    import playwright  # noqa: F401

    _MISSING = None if find_chromium() else "no chromium on PATH (apt-get install chromium)"
except ImportError:
    _MISSING = "playwright is not installed (pip install 'refman[render]')"
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"rendering tests need a browser: {_MISSING}")

REFMAN = Path(sys.executable).with_name("refman")

APP_SHELL = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Loading…</title>
<script src="/app.js"></script></head><body><div id="app">Loading…</div>
<img src="/big.png"><noscript>Please enable JavaScript</noscript></body></html>"""
APP_JS = """
window.open('/popup', '_blank');
fetch('/api/article.json').then(r => r.json()).then(a => {
  document.title = a.title;
  const m = document.createElement('meta'); m.name = 'citation_title'; m.content = a.title;
  document.head.appendChild(m);
  const d = document.createElement('meta'); d.name = 'citation_publication_date'; d.content = a.date;
  document.head.appendChild(d);
  document.getElementById('app').innerHTML = '<article><h1>' + a.title + '</h1>' +
    a.paragraphs.map(p => '<p>' + p + '</p>').join('') + '</article>';
});
"""
ARTICLE = {"title": "Rendered by a script", "date": "2023-04-05",
           "paragraphs": [f"Paragraph {i}: the text that only exists once the script has run in a browser."
                          for i in range(6)]}
EMPTY_SHELL = ("<!DOCTYPE html><html><head><title>App</title><script>document.title = 'Still empty';"
               "</script></head><body><div id='root'></div><script src='/none.js'></script></body></html>")


@pytest.fixture
def pages(site: HTTPServer) -> HTTPServer:
    srv = site
    srv.expect_request("/app").respond_with_data(APP_SHELL, content_type="text/html")
    srv.expect_request("/app.js").respond_with_data(APP_JS, content_type="application/javascript")
    srv.expect_request("/api/article.json").respond_with_json(ARTICLE)
    srv.expect_request("/empty").respond_with_data(EMPTY_SHELL, content_type="text/html")
    srv.expect_request("/popup").respond_with_data("<html>popup</html>", content_type="text/html")
    srv.expect_request("/big.png").respond_with_data(b"\x89PNG....", content_type="image/png")
    return srv


def test_script_shell_is_rendered_and_archived_beside_the_raw_page(db_path: Path, pages: HTTPServer,
                                                                   pool: Any) -> None:
    app, empty = add_source(db_path, pages.url_for("/app")), add_source(db_path, pages.url_for("/empty"))
    summary = fetch_sources(db_path, [app, empty], quick_policy(deadline=20.0), pool=pool,
                            fallback=FallbackOptions(render=True, adapters=False))
    assert summary["fallbacks"]["render"] == {"ok": 1, "thin": 1}
    src = q(db_path, "SELECT * FROM source WHERE id = ?", app)[0]
    assert src["status"] == "ok" and src["title"] == "Rendered by a script" and src["issued"] == "2023-04-05"
    live = q(db_path, "SELECT * FROM snapshot WHERE source_id = ? AND origin = 'live'", app)[0]
    rendered = q(db_path, "SELECT * FROM snapshot WHERE source_id = ? AND origin = 'render'", app)[0]
    assert live["outcome"] == "thin" and rendered["outcome"] == "ok" and rendered["body_hash"] != live["body_hash"]
    assert json.loads(rendered["metadata_json"])["raw_body_hash"] == live["body_hash"]
    text = q(db_path, "SELECT text, snapshot_id FROM source_text WHERE source_id = ?", app)[0]
    assert "only exists once the script has run" in text[0] and text[1] == rendered["id"]
    # a page that still shows nothing stays thin, and says it was rendered
    still = q(db_path, "SELECT status, reason FROM source WHERE id = ?", empty)[0]
    assert still["status"] == "thin" and still["reason"].startswith("rendered in a browser, still only")
    # no pop-up followed, no image loaded
    paths = [req.path for req, _resp in pages.log]
    assert "/popup" not in paths and "/big.png" not in paths and "/api/article.json" in paths


def test_missing_browser_is_recorded_not_raised(db_path: Path, pages: HTTPServer, pool: Any, tmp_path: Path) -> None:
    sid = add_source(db_path, pages.url_for("/app"))
    opts = FallbackOptions(render=True, adapters=False, chromium=str(tmp_path / "no-such-chromium"))
    summary = fetch_sources(db_path, [sid], quick_policy(deadline=20.0), pool=pool, fallback=opts)
    assert summary["fallbacks"]["render"] == {"unavailable": 1}
    snap = q(db_path, "SELECT outcome, reason FROM snapshot WHERE origin = 'render'")[0]
    assert snap["outcome"] == "render_unavailable" and "Chromium" in snap["reason"]
    assert q(db_path, "SELECT status FROM source WHERE id = ?", sid)[0][0] == "thin"


def test_cli_render(pages: HTTPServer, cli_env: dict[str, str]) -> None:
    run = lambda *a: subprocess.run([str(REFMAN), *a], env=cli_env, capture_output=True, text=True)  # noqa: E731
    assert run("add", pages.url_for("/app")).returncode == 0
    out = run("fetch", "--render", "--delay", "0", "--ignore-robots", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["fallbacks"]["render"] == {"ok": 1}
    shown = run("show", "1")
    assert "text from: the page rendered in a browser" in shown.stdout and "render copy" in shown.stdout
