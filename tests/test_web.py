"""The web app over HTTP: pages, the JSON API (the CLI's JSON), and the security rules (Host header, token,
CSRF and same-origin writes, the sandboxed snapshot listener). A real `refman serve` subprocess on a free port."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")
import httpx
from web_demo import Demo
from web_server import REFMAN, Served, serve


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base, timeout=20) as c:
        yield c


def cli_json(demo: Demo, *args: str) -> object:
    env = {k: v for k, v in os.environ.items() if k != "REFMAN_DB"}
    out = subprocess.run([str(REFMAN), "--db", str(demo.db), *args, "--json"], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout)


def auth(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.token}"}


# --- pages -------------------------------------------------------------------------------------------------


def test_pages_render(client: httpx.Client, demo: Demo) -> None:
    gpu = demo.ids["/gpu-market"]
    home = client.get("/")
    assert home.status_code == 200 and "Tags" in home.text and "中文/" in home.text
    hits = client.get("/", params={"q": "RDMA"}).text
    assert f'href="/sources/{gpu}"' in hits and "<mark>RDMA</mark>" in hits
    chinese = client.get("/", params={"q": "网络"}).text
    assert f'href="/sources/{demo.ids["/datacenter"]}"' in chinese
    partial = client.get("/", params={"q": "RDMA"}, headers={"HX-Request": "true", "HX-Target": "results"}).text
    assert "<html" not in partial and "<mark>RDMA</mark>" in partial
    filtered = client.get("/", params={"tag": "网络"}).text
    assert f'href="/sources/{demo.ids["/datacenter"]}"' in filtered and f'href="/sources/{gpu}"' not in filtered
    source = client.get(f"/sources/{gpu}").text
    assert "page:citation" in source and "obsidian://open?vault=" in source and "AI/GPU Market.md" in source
    assert "prices, supply and RDMA networks" in source  # the annotation under the definition
    reader = client.get(f"/sources/{gpu}/read").text
    assert reader.count("prices already fell") == 1
    assert reader.count("<h1>") == 1  # the text's own first heading repeats the title: shown once
    assert "Analysts expect" in client.get(f"/sources/{gpu}/read", params={"snapshot": "2"}).text
    diff = client.get(f"/sources/{gpu}/diff", params={"a": "2", "b": "1"}).text
    assert "+Update: prices already fell" in diff
    cites = client.get(f"/sources/{gpu}/citations").text
    assert "Lovelace, A. (2024, June 24). The GPU market in 2024." in cites and "lovelace2024" in cites
    note = client.get("/notes/AI/GPU Market.md").text
    assert note.index("The GPU market in 2024") < note.index("Inference optimisation in practice")
    assert "format=csljson" in note
    health = client.get("/health").text
    assert "dead" in health and "changed" in health and "AI/GPU Market.md" in health
    assert client.get("/notes").status_code == client.get("/capture").status_code == 200
    missing = client.get("/sources/999")
    assert missing.status_code == 404 and "no source with id 999" in missing.text


def test_reader_view_is_sanitised(client: httpx.Client, served: Served) -> None:
    page = ("<html><head><title>Tricky</title></head><body><article><h1>Tricky</h1>"
            "<p>Text that says &lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(2)&gt;.</p>"
            + "<p>More words to make it an article worth extracting for the reader view.</p>" * 5
            + "<p><a href='javascript:alert(3)'>a bad link</a> <a href='https://ok.example/'>a good link</a></p>"
            "</article></body></html>")
    made = client.post("/api/capture", headers=auth(served), files={"file": ("t.html", page, "text/html")},
                       data={"url": "https://tricky.example/page"}).json()
    read = client.get(f"/sources/{made['id']}/read").text
    body = read.split('<div class="text">', 1)[1]
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img" not in body and "javascript:" not in body


def test_markdown_rendering_keeps_only_safe_html() -> None:
    from refman.web.render import markdown_html

    out = markdown_html("# T\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(2)) [ok](https://ok.example/)"
                        " ![img](https://tracker.example/p.gif) <b onclick=x>raw</b>\n\n"
                        "| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<script" not in out and "&lt;script&gt;" in out and "<b" not in out
    assert 'href="https://ok.example/"' in out and 'rel="noopener noreferrer nofollow"' in out
    assert 'href="javascript' not in out and "<img" not in out and "tracker.example" not in out
    assert "<table>" in out and "<td>1</td>" in out


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>\"'=/ ()[]!:#*`&;\nabcjsrptvonlerimg")), max_size=120))
def test_rendered_markdown_never_carries_markup_from_the_page(text: str) -> None:
    import re as _re

    from refman.web.render import markdown_html

    out = markdown_html(text)
    tags = _re.findall(r"<\s*/?\s*([a-zA-Z0-9]+)", out)
    assert set(tags) <= {"p", "h1", "h2", "h3", "h4", "h5", "h6", "a", "em", "strong", "code", "pre", "ul", "ol",
                         "li", "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "del", "s"}
    assert not _re.search(r"<[^>]*\son\w+\s*=", out)
    assert all(h.startswith(("http://", "https://")) for h in _re.findall(r'href="([^"]*)"', out))


# --- the JSON API: the CLI's JSON -------------------------------------------------------------------------


def test_api_mirrors_the_cli_json(client: httpx.Client, demo: Demo) -> None:
    api = client.get("/api/search", params={"q": "RDMA"}).json()
    assert api == cli_json(demo, "search", "RDMA")
    listed = client.get("/api/sources", params={"limit": 10_000}).json()
    cli_listed = cli_json(demo, "list")
    assert [s["id"] for s in listed] == [s["id"] for s in cli_listed]  # type: ignore[union-attr]
    assert set(listed[0]) == set(cli_listed[0])  # type: ignore[index]
    gpu = demo.ids["/gpu-market"]
    shown = client.get(f"/api/sources/{gpu}").json()
    assert set(shown) == set(cli_json(demo, "show", str(gpu)))  # type: ignore[arg-type]
    client.get(f"/sources/{gpu}/citations")  # assigns the citation key when there is none yet
    key = client.get(f"/api/sources/{gpu}").json()["citekey"]
    assert client.get(f"/api/sources/{key}").json()["id"] == gpu
    by_url = client.get("/api/sources", params={"url": demo.base + "/gpu-market#section"}).json()
    assert [s["id"] for s in by_url] == [gpu]
    text = client.get(f"/api/sources/{gpu}/text").json()
    assert text == cli_json(demo, "read", str(gpu))
    notes = client.get("/api/notes").json()
    assert {n["path"]: n["sources"] for n in notes} == {"AI/GPU Market.md": 3, "中文/网络.md": 2}
    export = client.get("/api/export", params={"cited_in": "AI/GPU Market.md", "format": "csljson"})
    cli = subprocess.run([str(REFMAN), "--db", str(demo.db), "export", "--cited-in", "AI/GPU Market.md",
                          "--format", "csljson"], capture_output=True, text=True, check=True).stdout
    assert export.text == cli and export.headers["content-type"].startswith("application/vnd.citationstyles")
    download = client.get("/api/export", params={"cited_in": "AI/GPU Market.md", "download": "true"})
    assert "attachment" in download.headers["content-disposition"] and "GPU%20Market.bib" in \
        download.headers["content-disposition"]
    assert client.get("/openapi.json").json()["paths"]["/api/capture"]["post"]


@pytest.mark.parametrize(("path", "params", "status", "message"), [
    ("/api/sources/999", {}, 404, "no source matches '999'"),
    ("/api/search", {}, 400, "give a query or a filter"),
    ("/api/search", {"q": "x", "since": "yesterday"}, 400, "--since wants an ISO date"),
    ("/api/search", {"q": "x", "limit": "0"}, 400, "limit"),
    ("/api/export", {"format": "docx"}, 400, "unknown export format"),
    ("/api/sources/1/text", {"snapshot": "7"}, 404, "not 7"),
])
def test_bad_input_is_a_4xx_with_one_line(client: httpx.Client, path: str, params: dict[str, str], status: int,
                                          message: str) -> None:
    got = client.get(path, params=params)
    assert got.status_code == status
    error = got.json()["error"]
    assert message in error and "\n" not in error


def test_writes_need_the_token_or_a_same_origin_csrf_token(client: httpx.Client, served: Served,
                                                          demo: Demo) -> None:
    body = {"url": "https://example.org/added", "tags": ["web"]}
    assert client.post("/api/sources", json=body).status_code == 403
    added = client.post("/api/sources", json=body, headers=auth(served))
    assert added.status_code == 200 and added.json()["created"] and added.json()["source"]["tags"] == ["web"]
    sid = added.json()["source"]["id"]
    bad = client.patch(f"/api/sources/{sid}", json={"set": {"issued": "June"}}, headers=auth(served))
    assert bad.status_code == 400 and "issued must be an ISO 8601 date" in bad.json()["error"]
    good = client.patch(f"/api/sources/{sid}", json={"set": {"title": "Mine"}, "add_tags": ["x"]},
                        headers=auth(served)).json()
    assert good["title"] == "Mine" and good["provenance"]["title"] == "user" and good["tags"] == ["web", "x"]
    page = client.get(f"/sources/{sid}").text
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf, "field": "issued", "value": "2023-05"}
    same = {"Origin": served.origin, "Sec-Fetch-Site": "same-origin"}
    assert client.post(f"/sources/{sid}/fields", data=form, headers=same).status_code == 303
    assert client.get(f"/api/sources/{sid}").json()["issued"] == "2023-05"
    assert client.post(f"/sources/{sid}/fields", data={**form, "csrf_token": "0" * 32},
                       headers=same).status_code == 403
    assert client.post(f"/sources/{sid}/fields", data=form, headers={"Origin": "http://evil.example"}
                       ).status_code == 403
    assert client.post(f"/sources/{sid}/fields", data=form, headers={"Sec-Fetch-Site": "cross-site"}
                       ).status_code == 403
    assert client.post(f"/sources/{sid}/fields", data=form, headers={"Origin": "null"}).status_code == 403
    invalid = client.post(f"/sources/{sid}/fields", data={**form, "value": "soon"}, headers=same)
    assert invalid.status_code == 400 and "issued must be an ISO 8601 date" in invalid.text
    tags = client.post(f"/sources/{sid}/tags", data={"csrf_token": csrf, "add": "later", "remove": "x"},
                       headers={**same, "HX-Request": "true"})
    assert tags.status_code == 200 and "later ✕" in tags.text
    assert cli_json(demo, "tag", str(sid)) == [{"id": sid, "tags": ["later", "web"]}]


def test_capture_api(client: httpx.Client, served: Served) -> None:
    page = ("<!DOCTYPE html><html><!--\n Page saved with SingleFile \n url: https://paywall.example/story \n"
            " saved date: Tue Mar 04 2025 09:15:00 GMT+0000 (UTC)\n--><head><title>Behind the wall</title></head>"
            "<body><article><h1>Behind the wall</h1>" + "<p>Words a server's fetch never sees.</p>" * 10 +
            "</article></body></html>")
    files = {"file": ("story.html", page, "text/html")}
    assert client.post("/api/capture", files=files).status_code == 403
    made = client.post("/api/capture", files=files, headers=auth(served))
    assert made.status_code == 200, made.text
    got = made.json()
    assert got["url"] == "https://paywall.example/story" and got["saved_at"] == "2025-03-04T09:15:00Z"
    assert got["outcome"] == "ok" and got["title"] == "Behind the wall"
    text = client.get(f"/api/sources/{got['id']}/text").json()
    assert text["origin"] == "capture" and "never sees" in text["markdown"]
    nameless = client.post("/api/capture", headers=auth(served),
                           files={"file": ("x.html", "<html><body>x</body></html>", "text/html")})
    assert nameless.status_code == 400 and "give it with --url" in nameless.json()["error"]


# --- Host header and the snapshot listener -----------------------------------------------------------------


def test_host_header_must_name_the_server(client: httpx.Client, served: Served) -> None:
    port = urlsplit(served.base).port
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": f"evil.example:{port}"}).status_code == 400
    assert client.get("/", headers={"Host": f"localhost:{port}"}).status_code == 200
    headers = client.get("/").headers
    assert headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_snapshots_only_on_their_own_sandboxed_origin(client: httpx.Client, served: Served, demo: Demo) -> None:
    page = client.get(f"/sources/{demo.ids['/gpu-market']}").text
    link = re.search(r'href="(http://snapshots\.localhost:\d+/\d+/n/[0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    parts = urlsplit(link)
    assert parts.port != urlsplit(served.base).port
    direct = f"http://127.0.0.1:{parts.port}{parts.path}"
    with httpx.Client(timeout=10) as c:
        wrapper = c.get(direct, headers={"Host": parts.netloc})
        assert wrapper.status_code == 200 and f'<iframe src="{parts.path}/raw" sandbox=""' in wrapper.text
        assert "script-src 'none'" in wrapper.headers["content-security-policy"]
        snap = c.get(direct + "/raw", headers={"Host": parts.netloc, "Sec-Fetch-Dest": "iframe"})
        assert snap.status_code == 200 and b"<h1>The GPU market in 2024</h1>" in snap.content
        csp = snap.headers["content-security-policy"]
        assert csp.startswith("sandbox;") and "allow-same-origin" not in csp and "allow-scripts" not in csp
        assert snap.headers["x-content-type-options"] == "nosniff"
        top = c.get(direct + "/raw", headers={"Host": parts.netloc, "Sec-Fetch-Dest": "document"})
        assert "<iframe" in top.text  # a top-level document could navigate itself: it gets the wrapper
        scripts = c.get(direct.replace("/n/", "/s/"), headers={"Host": parts.netloc})
        assert scripts.status_code == 404  # a link for scripts has its own signature
        assert c.get(direct[:-1] + ("0" if direct[-1] != "0" else "1"), headers={"Host": parts.netloc}
                     ).status_code == 404
        assert c.get(direct, headers={"Host": "evil.example"}).status_code == 400
        assert c.post(direct, headers={"Host": parts.netloc}).status_code == 405
        assert c.get(f"http://127.0.0.1:{parts.port}/api/sources", headers={"Host": parts.netloc}
                     ).status_code == 404
    assert client.get(parts.path).status_code == 404  # the app's origin never serves a snapshot


def test_off_loopback_everything_needs_the_token(demo: Demo) -> None:
    srv = serve(demo.db, "--host", "0.0.0.0", token=None)
    try:
        assert srv.proc.stdout is not None
        token_line = srv.proc.stdout.readline()
        token = token_line.split()[1]
        port = urlsplit(srv.base).port
        base = f"http://127.0.0.1:{port}/"
        with httpx.Client(base_url=base, timeout=10) as c:
            refused = c.get("/api/sources")
            assert refused.status_code == 401 and "needs its token" in refused.text
            assert c.get("/api/sources", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            assert c.get("/api/sources", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
            hop = c.get("/", params={"token": token, "q": "RDMA"})
            assert hop.status_code == 303 and hop.headers["location"] == "/?q=RDMA"
            assert "HttpOnly" in hop.headers["set-cookie"] and "SameSite=Strict" in hop.headers["set-cookie"]
            assert c.get("/?q=RDMA").status_code == 200  # the cookie now
    finally:
        srv.stop()


def test_refman_open_prints_the_source_page(demo: Demo) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REFMAN_DB"}
    gpu = demo.ids["/gpu-market"]
    out = subprocess.run([str(REFMAN), "--db", str(demo.db), "open", demo.base + "/gpu-market", "--print",
                          "--port", "9999"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == f"http://127.0.0.1:9999/sources/{gpu}"
    closed = subprocess.run([str(REFMAN), "--db", str(demo.db), "open", str(gpu), "--port", "9"],
                            capture_output=True, text=True, env=env)
    assert closed.returncode == 1 and "start the app with `refman serve` --port 9" in closed.stderr
