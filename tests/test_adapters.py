"""Site adapters against a local fake of each site's documented JSON answers (refman.fetch.adapters): InfoQ China
(a JavaScript shell whose article comes from POST /public/v1/article/getDetail) and Stack Exchange (the API
behind pages a robot gets a bot wall for). A changed API is an `adapter_failed` snapshot, never a lost page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fallback_helpers import add_source, q, quick_policy
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from refman.fetch.adapters.infoq import InfoQ, render_content
from refman.fetch.adapters.stackexchange import StackExchange
from refman.fetch.fallback import FallbackOptions
from refman.fetch.pipeline import fetch_sources
from refman.store import open_store

SHELL = (b"<!DOCTYPE html><html><head><title>InfoQ</title><script src='/static/main.js'></script></head>"
         b"<body><div id='app'></div><noscript>Please enable JavaScript</noscript></body></html>")
PARAS = "".join(f"<p>第{i}段：大模型推理优化需要显存、带宽与调度策略的协同设计，这是正文内容。</p>" for i in range(5))
PROSEMIRROR = json.dumps({"type": "doc", "content": [
    {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "背景"}]},
    *({"type": "paragraph", "content": [{"type": "text", "text": f"第{i}段 RDMA 网络的拥塞控制 <细节> 与实践。"}]}
      for i in range(5)),
    {"type": "image", "attrs": {"src": "https://static001.infoq.cn/x.png"}},
]}, ensure_ascii=False)


def detail(title: str, content: str | None, **extra: Any) -> dict[str, Any]:
    return {"code": 0, "data": {"uuid": "x", "article_title": title, "article_summary": "摘要",
                                "author": [{"nickname": "张三"}, {"nickname": "李四"}],
                                "publish_time": 1718000000000, "content": content, **extra}}


@pytest.fixture(autouse=True)
def _adapters_point_at_the_local_site(site: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    base = site.url_for("").rstrip("/")
    monkeypatch.setenv("REFMAN_ADAPTER_INFOQ_URL", base)
    monkeypatch.setenv("REFMAN_ADAPTER_STACKEXCHANGE_URL", base)


def test_matching_real_urls() -> None:
    infoq = InfoQ()
    assert infoq.match("https://www.infoq.cn/article/jHoCwyawFa3TdSbbY1Ou") == "jHoCwyawFa3TdSbbY1Ou"
    assert infoq.match("https://infoq.cn/article/abc123XYZ/") == "abc123XYZ"
    assert infoq.match("https://www.infoq.cn/news/abc123XYZ") is None
    assert infoq.match("https://www.infoq.com/articles/abc123XYZ") is None  # the English site is server-rendered
    se = StackExchange()
    assert se.match("https://stackoverflow.com/questions/11227809/why-is-processing-a-sorted-array") == "q11227809"
    assert se.match("https://unix.stackexchange.com/a/12345") == "a12345"
    assert se.match("https://askubuntu.com/q/42") == "q42"
    assert se.match("https://stackoverflow.com/questions/1/title/7#7") == "q1"
    assert se.match("https://stackoverflow.com/users/22656/jon-skeet") is None
    assert se.match("https://api.stackexchange.com/questions/1") is None
    assert se.site("unix.stackexchange.com") == ("unix", "Unix Stack Exchange")


@given(st.text(max_size=80))
def test_match_never_raises(tail: str) -> None:
    for adapter in (InfoQ(), StackExchange()):
        for url in (f"https://www.infoq.cn/{tail}", f"https://stackoverflow.com/{tail}", tail):
            found = adapter.match(url)
            assert found is None or isinstance(found, str)


def test_prosemirror_content_is_rendered_and_escaped() -> None:
    html = render_content(PROSEMIRROR)
    assert html.startswith("<h2>背景</h2><p>第0段") and "&lt;细节&gt;" in html and "<img src=" in html
    assert render_content("<p>already html</p>") == "<p>already html</p>"


def test_infoq_shell_gets_the_article(db_path: Path, site: HTTPServer, pool: Any) -> None:
    seen: list[Request] = []

    def api(request: Request) -> Response:
        seen.append(request)
        uuid = json.loads(request.data)["uuid"]
        if uuid == "htmlArticle01":
            body = detail("大模型推理优化实践", PARAS)
        elif uuid == "pmArticle0002":
            body = detail("RDMA 网络拥塞控制", PROSEMIRROR)
        else:
            body = detail("外部正文", "", content_url=site.url_for("/content/ext.html"))
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")

    for art in ("htmlArticle01", "pmArticle0002", "extArticle003"):
        site.expect_request(f"/article/{art}").respond_with_data(SHELL, content_type="text/html")
    site.expect_request("/public/v1/article/getDetail", method="POST").respond_with_handler(api)
    site.expect_request("/content/ext.html").respond_with_data(PARAS.replace("正文", "外链正文"),
                                                               content_type="text/html")
    names = ("htmlArticle01", "pmArticle0002", "extArticle003")
    ids = [add_source(db_path, site.url_for(f"/article/{a}")) for a in names]
    summary = fetch_sources(db_path, ids, quick_policy(), pool=pool)  # adapters are on by default
    assert summary["fallbacks"]["adapter"] == {"ok": 3}
    src = q(db_path, "SELECT * FROM source WHERE id = ?", ids[0])[0]
    assert src["status"] == "ok" and src["reason"] is None
    assert src["title"] == "大模型推理优化实践" and src["issued"] == "2024-06-10"  # Beijing time
    assert json.loads(src["author"]) == [{"literal": "张三"}, {"literal": "李四"}]
    assert src["container_title"] == "InfoQ" and src["language"] == "zh"
    origins = dict(q(db_path, "SELECT field, origin FROM field_value WHERE source_id = ?", ids[0]))
    assert origins["title"] == "adapter:infoq" and origins["issued"] == "adapter:infoq"
    text = q(db_path, "SELECT text FROM source_text WHERE source_id = ?", ids[0])[0][0]
    assert "大模型推理优化需要显存" in text
    snap = q(db_path, "SELECT * FROM snapshot WHERE source_id = ? AND origin = 'adapter'", ids[0])[0]
    assert snap["outcome"] == "ok" and snap["final_url"].endswith("/public/v1/article/getDetail")
    assert "RDMA 网络的拥塞控制 <细节>" in q(db_path, "SELECT text FROM source_text WHERE source_id = ?", ids[1])[0][0]
    assert "外链正文" in q(db_path, "SELECT text FROM source_text WHERE source_id = ?", ids[2])[0][0]
    assert all(r.headers["Content-Type"] == "application/json" and "/article/" in r.headers["Referer"] for r in seen)
    # the raw shell is archived beside it, as the live snapshot
    assert q(db_path, "SELECT outcome FROM snapshot WHERE source_id = ? AND origin = 'live'", ids[0])[0][0] == "thin"
    # three articles read from one API endpoint are not one page moved three times
    from refman.duplicates import find_duplicates

    store = open_store(db_path)
    conn = store.conn
    try:
        assert find_duplicates(store) == []
    finally:
        conn.close()


@pytest.mark.parametrize("answer", [
    {"code": 0, "data": {"title": "renamed field", "body": "<p>x</p>"}},  # the API changed its field names
    {"code": 4001, "err": {"msg": "article not found"}},
    "<html>maintenance</html>",
])
def test_changed_api_is_adapter_failed_and_the_plain_result_is_kept(db_path: Path, site: HTTPServer, pool: Any,
                                                                    answer: Any) -> None:
    site.expect_request("/article/changedApi01").respond_with_data(SHELL, content_type="text/html")
    body = answer if isinstance(answer, str) else json.dumps(answer)
    site.expect_request("/public/v1/article/getDetail", method="POST").respond_with_data(
        body, content_type="application/json")
    sid = add_source(db_path, site.url_for("/article/changedApi01"))
    summary = fetch_sources(db_path, [sid], quick_policy(), pool=pool)
    assert summary["fallbacks"]["adapter"] == {"failed": 1}
    src = q(db_path, "SELECT status, reason FROM source WHERE id = ?", sid)[0]
    assert src["status"] == "thin" and "JavaScript" in src["reason"]  # the plain fetch's result
    snap = q(db_path, "SELECT outcome, reason, body_hash FROM snapshot WHERE origin = 'adapter'")[0]
    assert snap["outcome"] == "adapter_failed" and snap["reason"].startswith("adapter infoq failed: ")
    assert snap["body_hash"] is None


def test_stack_exchange_behind_a_bot_wall(db_path: Path, site: HTTPServer, pool: Any) -> None:
    site.expect_request("/questions/4242/how-to-x").respond_with_data("<html>Just a moment...</html>", status=403)
    site.expect_request("/2.3/questions/4242").respond_with_json({"items": [{
        "question_id": 4242, "title": "How to &quot;x&quot; in bash?", "owner": {"display_name": "Jane Q. Doe"},
        "creation_date": 1300000000, "body": "<p>I want to x every file in a folder, recursively, safely.</p>" * 3,
    }], "has_more": False, "quota_remaining": 299})
    site.expect_request("/2.3/questions/4242/answers").respond_with_json({"items": [
        {"answer_id": 1, "score": 10, "is_accepted": True, "owner": {"display_name": "Sam"},
         "body": "<p>Use <code>find . -exec x {} +</code>, which batches the files.</p>"}]})
    site.expect_request("/questions/77/fine").respond_with_data(
        "<html><head><title>Fine</title></head><body><article>" + "<p>Readable question text here.</p>" * 10
        + "</article></body></html>", content_type="text/html")
    wall = add_source(db_path, site.url_for("/questions/4242/how-to-x"))
    fine = add_source(db_path, site.url_for("/questions/77/fine"))
    summary = fetch_sources(db_path, [wall, fine], quick_policy(), pool=pool)
    assert summary["fallbacks"]["adapter"] == {"ok": 1}  # the readable page needs no API call
    src = q(db_path, "SELECT * FROM source WHERE id = ?", wall)[0]
    assert src["status"] == "ok" and src["title"] == 'How to "x" in bash?' and src["issued"] == "2011-03-13"
    assert src["container_title"] == "Stack Overflow"
    assert json.loads(src["author"]) == [{"family": "Doe", "given": "Jane Q."}]
    text = q(db_path, "SELECT text FROM source_text WHERE source_id = ?", wall)[0][0]
    assert "find . -exec x" in text and "Answer by Sam (accepted)" in text
    assert not q(db_path, "SELECT 1 FROM snapshot WHERE source_id = ? AND origin = 'adapter'", fine)


def test_adapters_off(db_path: Path, site: HTTPServer, pool: Any) -> None:
    site.expect_request("/article/offArticle01").respond_with_data(SHELL, content_type="text/html")
    sid = add_source(db_path, site.url_for("/article/offArticle01"))
    summary = fetch_sources(db_path, [sid], quick_policy(), pool=pool, fallback=FallbackOptions(adapters=False))
    assert "fallbacks" not in summary
    assert not q(db_path, "SELECT 1 FROM snapshot WHERE origin = 'adapter'")
