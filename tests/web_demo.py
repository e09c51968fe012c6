"""A small real catalog for the reader, web and browser tests (and benchmarks/screenshots.py): an Obsidian vault
whose notes cite pages on a local HTTP server, fetched twice (one page changes, one dies), plus a capture.

`build_demo(tmp)` starts the server, imports, fetches and captures, stops the server and returns what it made."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

HOSTILE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Hostile page</title>
<meta property="og:url" content="https://evil.example/hostile">
<script>
window.__stolen = {};
async function attack() {
  const app = "APP_ORIGIN";
  try { window.__stolen.cookie = document.cookie; } catch (e) { window.__stolen.cookie = "blocked: " + e.name; }
  try { localStorage.setItem("x", "1"); window.__stolen.storage = localStorage.getItem("x"); }
  catch (e) { window.__stolen.storage = "blocked: " + e.name; }
  try {
    const r = await fetch(app + "/api/sources", {credentials: "include"});
    window.__stolen.read = await r.text();
  } catch (e) { window.__stolen.read = "blocked: " + e.name; }
  try {
    await fetch(app + "/api/sources", {method: "POST", mode: "no-cors", credentials: "include",
      headers: {"Content-Type": "text/plain"}, body: JSON.stringify({url: "https://evil.example/fetch-post"})});
  } catch (e) {}
  try {
    await fetch(app + "/api/sources/1", {method: "PATCH", credentials: "include",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({add_tags: ["pwned-by-fetch"]})});
  } catch (e) {}
  try {
    const f = document.createElement("form");
    f.method = "POST"; f.action = app + "/sources/1/tags"; f.target = "_blank";
    const i = document.createElement("input"); i.name = "add"; i.value = "pwned-by-form"; f.appendChild(i);
    document.body.appendChild(f); f.submit();
  } catch (e) {}
  try { window.top.location = app + "/?q=pwned-by-navigation"; } catch (e) {}
  try { window.open(app + "/?q=pwned-by-popup"); } catch (e) {}
  document.title = "attack finished";
}
attack();
</script></head>
<body><article><h1>Hostile page</h1><p>This page tries to read the app's cookies and storage, call its API, submit
a form to it and navigate the top window. Archived HTML is data: none of it may work.</p>
<p>It also says &lt;script&gt;alert(1)&lt;/script&gt; in its text, which the reader view must show as text.</p>
</article></body></html>"""


def article(title: str, paragraphs: list[str], author: str = "Ada Lovelace", date: str = "2024-06-24") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<meta name='citation_title' content='{title}'><meta name='citation_author' content='{author}'>"
            f"<meta name='citation_publication_date' content='{date}'>"
            f"<meta property='og:site_name' content='Example Journal'></head>"
            f"<body><article><h1>{title}</h1>{body}</article></body></html>").encode()


PAGES: dict[str, tuple[str, list[str]]] = {
    "/gpu-market": ("The GPU market in 2024", [
        "Demand for accelerators kept growing through 2024, driven by training of large language models.",
        "Cloud providers reserved most of the supply; smaller labs rented capacity by the hour.",
        "RDMA networking and fast interconnects decide how well a cluster scales beyond one rack.",
        "Analysts expect prices to fall once new fabs open, but not before the end of next year."]),
    "/inference": ("Inference optimisation in practice", [
        "Batching, quantisation and speculative decoding cut the cost of serving a model.",
        "Memory bandwidth, not arithmetic, limits the speed of decoding one token at a time.",
        "Careful kernel fusion removes round trips to memory and keeps the accelerator busy.",
        "Measure before optimising: the bottleneck is rarely where one expects it to be."]),
    "/datacenter": ("数据中心的网络设计", [
        "数据中心网络需要高带宽和低延迟，RDMA 网络可以减少处理器的开销。",
        "推理优化依赖于内存带宽，而训练更依赖于网络互连和集群规模。",
        "很多团队在设计集群时，首先考虑供电和散热，然后才是网络拓扑。",
        "本文介绍了几种常见的网络拓扑以及它们在大规模训练中的表现。"]),
}
CHANGED = ("The GPU market in 2024", [
    "Demand for accelerators kept growing through 2024, driven by training of large language models.",
    "Cloud providers reserved most of the supply; smaller labs rented capacity by the hour.",
    "RDMA networking and fast interconnects decide how well a cluster scales beyond one rack.",
    "Update: prices already fell in the autumn, earlier than analysts expected."])


@dataclass
class Demo:
    db: Path
    vault: Path
    base: str  # the local server's URL (stopped after the build)
    ids: dict[str, int] = field(default_factory=dict)  # path on the server → source id
    note: str = "AI/GPU Market.md"


def build_demo(tmp: Path) -> Demo:
    from refman.catalog import tag_sources
    from refman.fetch.client import FetchPolicy
    from refman.fetch.pipeline import fetch_sources
    from refman.notes.importer import import_vault
    from refman.references import resolve_source
    from refman.store import open_store
    from refman.store.sqlite import SqliteStore

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        state = {"changed": False}

        def handler(request: Request) -> Response:
            if request.path == "/gone":
                return Response("gone", status=404)
            title, paras = CHANGED if request.path == "/gpu-market" and state["changed"] else PAGES[request.path]
            return Response(article(title, paras), content_type="text/html; charset=utf-8")

        for path in (*PAGES, "/gone"):
            server.expect_request(path).respond_with_handler(handler)
        vault = tmp / "vault"
        (vault / ".obsidian").mkdir(parents=True)
        (vault / "AI").mkdir()
        (vault / "中文").mkdir()
        (vault / "AI" / "GPU Market.md").write_text(
            "# GPU market\n\nSee [the market][gpu] and [inference][inf].\n\n"
            f"[The GPU market in 2024 (6/24/2024)]: {base}/gpu-market\n> prices, supply and RDMA networks\n\n"
            f"[Inference optimisation]: {base}/inference\n\n"
            f"[A page that died]: {base}/gone\n", encoding="utf-8")
        (vault / "中文" / "网络.md").write_text(
            f"# 网络\n\n[数据中心的网络设计]: {base}/datacenter\n\n"
            f"[The GPU market in 2024]: {base}/gpu-market\n", encoding="utf-8")
        db = tmp / "catalog.db"
        store = open_store(db)
        conn = store.conn
        import_vault(SqliteStore(conn), [vault])
        ids = {p: resolve_source(store, base + p) for p in (*PAGES, "/gone")}
        tag_sources(store, [ids["/gpu-market"], ids["/inference"]], ["ml", "hardware"])
        tag_sources(store, [ids["/datacenter"]], ["网络"])
        policy = FetchPolicy(delay=0.0, connect_timeout=2.0, read_timeout=2.0, deadline=3.0, retries=0,
                             backoff_base=0.01, respect_robots=False)
        with ThreadPoolExecutor(1) as pool:
            fetch_sources(db, list(ids.values()), policy, pool=pool)
            state["changed"] = True
            fetch_sources(db, [ids["/gpu-market"], ids["/gone"]], policy, pool=pool)
        # Its two 404s came seconds apart; `refman check` calls a page dead only when they span a day
        # (--dead-after): date the first one back, as if the checks had been a day apart.
        conn.execute("UPDATE source SET failing_since = strftime('%Y-%m-%dT%H:%M:%SZ', fetched_at, '-2 days')"
                     " WHERE id = ?", (ids["/gone"],))
        conn.close()
    finally:
        server.clear()
        server.stop()
    return Demo(db=db, vault=vault, base=base, ids=ids)


def dump(demo: Demo) -> str:
    return json.dumps({"db": str(demo.db), "ids": demo.ids})
