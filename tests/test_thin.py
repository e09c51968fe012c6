"""Why a page is thin, from the evidence in the page (refman.fetch.thin), through extraction and `refman show`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from refman.fetch.extract import extract
from refman.fetch.thin import KINDS, diagnose

REFMAN = Path(sys.executable).with_name("refman")


def page(head: str, body: str) -> str:
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>{body}</body></html>"


CASES = {
    "script": [
        page("<title>InfoQ</title><script src='/static/app.4f2.js'></script>", "<div id='app'></div>"),
        page("<title>Site</title><script src='/a.js'></script>",
             "<div id=\"root\">Loading…</div><noscript>You need to enable JavaScript to run this app.</noscript>"),
        page("<title>知乎</title><script>window.__INITIAL_STATE__={\"a\":1}</script>", "<main></main>"),
        page("<title>x</title>" + "<script>var a=1;</script>" * 4, "<p>Hi</p>"),
    ],
    "wall": [
        page("<title>Just a moment...</title><script src='/cdn-cgi/challenge-platform/h/b/orchestrate'></script>",
             "<div>Checking your browser</div>"),
        page("<title>Verify</title>", "<div class='g-recaptcha' data-sitekey='x'></div>"),
        page("<title>Before you continue to YouTube</title>", "<form action='https://consent.youtube.com/save'></form>"),
        page("<title>安全验证</title>", "<div>请完成安全验证</div>"),
    ],
    "login": [
        page("<title>Sign in</title>", "<form><input name='u'><input type='password' name='p'></form>"),
        page("<title>Article</title><script type='application/ld+json'>{\"isAccessibleForFree\": false}</script>",
             "<p>Subscribe</p>"),
        page("<title>文章</title>", "<div>登录后查看全文</div>"),
    ],
    "viewer": [
        page("<title>report.pdf</title>", "<embed src='/files/report.pdf' type='application/pdf'>"),
        page("<title>Viewer</title>", "<iframe src='/pdfjs/web/viewer.html?file=/a.pdf'></iframe>"),
        page("<title>Scan</title>", "<img src='/scan-1.png'><img src='/scan-2.png'>"),
    ],
    "short": [page("<title>Moved</title>", "<p>See the new site.</p>")],
}


@pytest.mark.parametrize("kind,html", [(k, h) for k, pages in CASES.items() for h in pages])
def test_diagnose_names_the_evidence(kind: str, html: str) -> None:
    found, reason = diagnose(html, 12)
    assert found == kind, reason
    assert reason.startswith("only 12 characters of text")
    if kind != "short":
        assert KINDS[kind] in reason


@pytest.mark.parametrize("kind,html", [(k, pages[0]) for k, pages in CASES.items()])
def test_extraction_records_the_kind(kind: str, html: str) -> None:
    ext = extract(html.encode(), "https://example.org/p", "text/html", "utf-8")
    assert ext.outcome == "thin" and ext.metadata["thin_kind"] == kind and ext.reason


@given(st.text(max_size=400), st.integers(0, 79))
def test_diagnose_is_total(html: str, chars: int) -> None:
    kind, reason = diagnose(html, chars)
    assert kind in KINDS and reason.startswith(f"only {chars} characters")


def test_show_says_why_and_the_way_out(tmp_path: Path, cli_env: dict[str, str]) -> None:
    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.start()
    try:
        srv.expect_request("/app").respond_with_data(CASES["script"][1], content_type="text/html")
        srv.expect_request("/wall").respond_with_data(CASES["wall"][0], content_type="text/html")
        run = lambda *a: subprocess.run([str(REFMAN), *a], env=cli_env, capture_output=True, text=True)  # noqa: E731
        run("add", srv.url_for("/app"))
        run("add", srv.url_for("/wall"))
        out = run("fetch", "--delay", "0", "--ignore-robots")
        assert out.returncode == 0, out.stderr
    finally:
        srv.stop()
    shown = run("show", "1").stdout
    assert "why thin: built by JavaScript" in shown and "--render" in shown and "refman serve" in shown
    item = json.loads(run("show", "2", "--json").stdout)
    assert item["status"] == "thin" and item["thin"]["kind"] == "wall"
    assert "consent or anti-bot" in item["reason"] and "refman serve" in item["thin"]["advice"]
    assert item["thin"]["why"] == KINDS["wall"]
