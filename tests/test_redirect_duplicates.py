"""Where a page lives now: meta-refresh pages are followed at fetch time, and duplicates keep the URL the page
lives at (redirect target or final URL), merge equal bodies, and alias the rest. Against a real HTTP site."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from pytest_httpserver import HTTPServer
from support import fetch_policy

from refman.fetch.pipeline import fetch_sources
from refman.notes.importer import import_vault
from refman.store import connect
from refman.store.sqlite import SqliteStore

ARTICLE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>{t}</title></head><body><article><h1>{t}</h1>"
           + "<p>Paragraph about {t} with enough words to be the main content of an article page.</p>" * 8
           + "</article></body></html>")


def refresh(target: str, delay: int = 0, quote: str = "'") -> str:
    return (f"<html><head><meta http-equiv={quote}refresh{quote} content={quote}{delay}; url={target}{quote}>"
            "<title>Redirecting…</title></head><body>Redirecting…</body></html>")


def html_response(site: HTTPServer, path: str, body: str) -> None:
    site.expect_request(path).respond_with_data(body, content_type="text/html; charset=utf-8")


def sources(db: Path, vault: Path, notes: dict[str, str]) -> dict[str, int]:
    vault.mkdir(exist_ok=True)
    for rel, text in notes.items():
        (vault / rel).write_text(text, encoding="utf-8")
    conn = connect(db)
    import_vault(SqliteStore(conn), [vault])
    out = {url: sid for sid, url in conn.execute("SELECT id, url FROM source")}
    conn.close()
    return out


def latest(db: Path, sid: int) -> sqlite3.Row:
    conn = connect(db)
    try:
        return conn.execute("SELECT * FROM snapshot WHERE source_id = ? ORDER BY id DESC LIMIT 1", (sid,)).fetchone()
    finally:
        conn.close()


def test_meta_refresh_is_followed_not_archived(tmp_path: Path, site: HTTPServer, db_path: Path) -> None:
    html_response(site, "/old", refresh("/new"))
    html_response(site, "/new", ARTICLE.format(t="The new home"))
    html_response(site, "/reloads", refresh("/reloads", delay=0) .replace("Redirecting…", "Live scores"))
    html_response(site, "/later", ARTICLE.format(t="Ticker").replace("</head>",
                  "<meta http-equiv='refresh' content='300; url=/elsewhere'></head>"))
    html_response(site, "/loop-a", refresh(site.url_for("/loop-b"), quote='"'))
    html_response(site, "/loop-b", refresh("/loop-a"))
    for i in range(4):
        html_response(site, f"/hop{i}", refresh(f"/hop{i + 1}"))
    html_response(site, "/hop4", ARTICLE.format(t="End of the chain"))
    urls = ["/old", "/reloads", "/later", "/loop-a", "/hop0"]
    ids = sources(db_path, tmp_path / "v", {"n.md": "".join(f"[Page {u}]: {site.url_for(u)}\n" for u in urls)})
    fetch_sources(db_path, list(ids.values()), fetch_policy(max_redirects=10, deadline=5.0))
    old = latest(db_path, ids[site.url_for("/old")])
    assert old["outcome"] == "ok" and old["final_url"] == site.url_for("/new")
    assert json.loads(old["redirects"]) == [{"url": site.url_for("/old"), "status": 200, "refresh": True}]
    conn = connect(db_path)
    text = conn.execute("SELECT text FROM source_text WHERE source_id = ?", (ids[site.url_for("/old")],)).fetchone()
    assert "The new home" in text[0] and "Redirecting" not in text[0]
    conn.close()
    # a page refreshing itself, or only after minutes, is the page
    assert latest(db_path, ids[site.url_for("/reloads")])["final_url"] == site.url_for("/reloads")
    later = latest(db_path, ids[site.url_for("/later")])
    assert later["outcome"] == "ok" and later["final_url"] == site.url_for("/later")
    assert latest(db_path, ids[site.url_for("/loop-a")])["outcome"] == "redirect_loop"
    chain = latest(db_path, ids[site.url_for("/hop0")])
    assert chain["final_url"] == site.url_for("/hop4") and len(json.loads(chain["redirects"])) == 4
    # within the redirect limit only
    fetch_sources(db_path, [ids[site.url_for("/hop0")]], fetch_policy(max_redirects=2))
    assert latest(db_path, ids[site.url_for("/hop0")])["outcome"] == "too_many_redirects"


def test_duplicates_keep_where_the_page_lives_now(tmp_path: Path, site: HTTPServer, db_path: Path,
                                                  cli_env: dict[str, str]) -> None:
    html_response(site, "/story", ARTICLE.format(t="The story"))
    site.expect_request("/s/1").respond_with_data("", status=301, headers={"Location": "/story"})
    html_response(site, "/old-slug", refresh("/story"))
    site.expect_request("/short").respond_with_data("", status=301, headers={"Location": "/moved"})
    site.expect_request("/older").respond_with_data("", status=302, headers={"Location": "/moved"})
    html_response(site, "/moved", ARTICLE.format(t="Moved page"))
    html_response(site, "/mirror/a", ARTICLE.format(t="Mirrored"))
    html_response(site, "/mirror/b", ARTICLE.format(t="Mirrored"))
    notes = {"a.md": f"[Short]: {site.url_for('/s/1')}\n[Old slug]: {site.url_for('/old-slug')}\n"
                     f"[The story]: {site.url_for('/story')}\n",
             "b.md": f"[Short two]: {site.url_for('/short')}\n[Older]: {site.url_for('/older')}\n"
                     f"[Mirror A]: {site.url_for('/mirror/a')}\n[Mirror B]: {site.url_for('/mirror/b')}\n"}
    ids = sources(db_path, tmp_path / "v", notes)
    refman = [sys.executable, "-m", "refman"]
    subprocess.run([*refman, "fetch", "--delay", "0", "--ignore-robots"], env=cli_env, check=True,
                   capture_output=True)
    found = json.loads(subprocess.run([*refman, "duplicates", "--json"], env=cli_env, check=True,
                                      capture_output=True, text=True).stdout)
    groups = {g["url_now"]: g for g in found["groups"]}
    story = groups[site.url_for("/story")]
    assert story["keep"] == ids[site.url_for("/story")]
    assert sorted(story["drop"]) == sorted([ids[site.url_for("/s/1")], ids[site.url_for("/old-slug")]])
    moved = groups[site.url_for("/moved")]  # no source has the final URL: the first one takes it
    assert moved["keep"] == ids[site.url_for("/short")] and moved["drop"] == [ids[site.url_for("/older")]]
    mirror = groups[site.url_for("/mirror/a")]  # the same body at two URLs, neither redirecting: the first
    assert mirror["reason"] == "content" and mirror["drop"] == [ids[site.url_for("/mirror/b")]]
    assert mirror["keep"] == ids[site.url_for("/mirror/a")]
    assert len(found["groups"]) == 3
    merged = json.loads(subprocess.run([*refman, "duplicates", "--merge", "--json"], env=cli_env, check=True,
                                       capture_output=True, text=True).stdout)["merged"]
    assert {m["kept"] for m in merged} == {story["keep"], moved["keep"], mirror["keep"]}
    conn = connect(db_path)
    urls = {r[0] for r in conn.execute("SELECT url FROM source")}
    assert urls == {site.url_for("/story"), site.url_for("/moved"), site.url_for("/mirror/a")}
    aliases = dict(conn.execute("SELECT url, source_id FROM source_alias").fetchall())
    assert aliases[site.url_for("/short")] == aliases[site.url_for("/older")] == moved["keep"]
    assert aliases[site.url_for("/s/1")] == story["keep"]
    # a re-import of the notes that still cite the old URLs creates nothing
    (tmp_path / "v" / "a.md").write_text(notes["a.md"] + "\n", encoding="utf-8")
    (tmp_path / "v" / "b.md").write_text(notes["b.md"] + "\n", encoding="utf-8")
    report = import_vault(SqliteStore(conn), [tmp_path / "v"])
    assert report.sources_new == 0
    assert conn.execute("SELECT count(*) FROM mention WHERE source_id = ?", (moved["keep"],)).fetchone()[0] == 2
    conn.close()
