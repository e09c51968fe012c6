"""InfoQ China (`https://www.infoq.cn/article/<id>`): every article page is the same JavaScript shell; the page
loads the article with `POST /public/v1/article/getDetail` and the JSON body `{"uuid": "<id>"}`.

The answer's shape, as the page's own code and RSSHub's InfoQ route (DIYgod/RSSHub, lib/routes/infoq/utils.ts)
read it: `{"code": 0, "data": {"uuid", "article_title", "article_summary", "author": [{"nickname"}, …],
"no_author": "name, name" (when `author` is empty), "publish_time": milliseconds since 1970,
"content": HTML or a ProseMirror document serialised as JSON, "content_url": where the content is when
`content` is empty}}`. A `code` other than 0, a missing `data`, title or content is a changed API:
`AdapterFailed`."""

from __future__ import annotations

import html as htmlmod
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from refman.fetch.adapters import AdapterFailed, ApiCall, Article, Get, decode_json, host_of

_PATH = re.compile(r"^/article/([A-Za-z0-9_-]{6,64})/?$")
_CHINA = timezone(timedelta(hours=8))  # InfoQ China dates its articles in Beijing time


class InfoQ:
    name = "infoq"
    always = True  # the page is always a shell: its text is the site's navigation at best
    BASE = "https://www.infoq.cn"

    def __init__(self, base: str = BASE) -> None:
        self.base = base.rstrip("/")
        self.hosts = {"infoq.cn", "www.infoq.cn", host_of(self.base)}

    def match(self, url: str) -> str | None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        if (parts.hostname or "").lower() not in self.hosts:
            return None
        m = _PATH.match(parts.path)
        return m.group(1) if m else None

    async def fetch(self, article_id: str, url: str, get: Get) -> Article:
        api = f"{self.base}/public/v1/article/getDetail"
        res = await get(ApiCall(api, "POST", json.dumps({"uuid": article_id}).encode(), {
            "Content-Type": "application/json", "Accept": "application/json", "Referer": url,
            "Origin": self.base}))
        answer = decode_json(res, "InfoQ getDetail")
        if not isinstance(answer, dict) or answer.get("code") != 0 or not isinstance(answer.get("data"), dict):
            code = answer.get("code") if isinstance(answer, dict) else None
            raise AdapterFailed(f"InfoQ getDetail answered code {code!r} without data (API changed?)")
        data = answer["data"]
        title = data.get("article_title")
        if not isinstance(title, str) or not title.strip():
            raise AdapterFailed("InfoQ getDetail answer has no article_title (API changed?)")
        content = data.get("content")
        if not content and isinstance(data.get("content_url"), str):
            body = await get(ApiCall(data["content_url"], headers={"Referer": url}))
            if not body.ok:
                raise AdapterFailed(f"InfoQ content_url: {body.reason or body.outcome}")
            content = (body.body or b"").decode("utf-8", "replace")
        if not isinstance(content, str) or not content.strip():
            raise AdapterFailed("InfoQ getDetail answer has no content (API changed?)")
        return Article(
            title=title.strip(), html=render_content(content), authors=_authors(data), issued=_day(data),
            container_title="InfoQ", language="zh", abstract=_text(data.get("article_summary")),
            type="article-magazine", api_url=api,
        )


def render_content(content: str) -> str:
    """HTML of an article's content: HTML as is, a ProseMirror JSON document rendered."""
    stripped = content.lstrip()
    if not stripped.startswith("{"):
        return content
    try:
        doc = json.loads(stripped)
    except ValueError:
        raise AdapterFailed("InfoQ content looks like JSON but is not (API changed?)") from None
    return _node(doc)


_BLOCKS = {"paragraph": "p", "p": "p", "blockquote": "blockquote", "bullet_list": "ul", "ordered_list": "ol",
           "list_item": "li", "table": "table", "table_row": "tr", "table_cell": "td", "table_header": "th"}


def _node(node: Any) -> str:
    if isinstance(node, list):
        return "".join(_node(n) for n in node)
    if isinstance(node, str):
        return htmlmod.escape(node)
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    inner = _node(node.get("content") or [])
    attrs: dict[str, Any] = node["attrs"] if isinstance(node.get("attrs"), dict) else {}
    if kind == "text":
        return htmlmod.escape(str(node.get("text") or ""))
    if kind == "heading":
        level = attrs.get("level") if attrs.get("level") in (1, 2, 3, 4, 5, 6) else 2
        return f"<h{level}>{inner}</h{level}>"
    if kind in ("codeblock", "code_block"):
        return f"<pre><code>{inner}</code></pre>"
    if kind == "image":
        src, alt = (htmlmod.escape(str(attrs.get(k) or "")) for k in ("src", "alt"))
        return f"<img src=\"{src}\" alt=\"{alt}\">"
    if kind == "link":
        return f"<a href=\"{htmlmod.escape(str(attrs.get('href') or ''))}\">{inner}</a>"
    if kind in ("hard_break", "br"):
        return "<br>"
    tag = _BLOCKS.get(str(kind))
    return f"<{tag}>{inner}</{tag}>" if tag else inner


def _authors(data: dict[str, Any]) -> list[str]:
    people = data.get("author")
    if isinstance(people, list):
        nicknames = [p.get("nickname") for p in people if isinstance(p, dict)]
        names = [n.strip() for n in nicknames if isinstance(n, str) and n.strip()]
        if names:
            return names
    if isinstance(data.get("no_author"), str):
        return [n.strip() for n in re.split(r"[,，、;；]", data["no_author"]) if n.strip()]
    return []


def _day(data: dict[str, Any]) -> str | None:
    value = data.get("publish_time")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        return None
    seconds = value / 1000 if value > 10**11 else value  # milliseconds, as the site sends; seconds tolerated
    return datetime.fromtimestamp(seconds, UTC).astimezone(_CHINA).strftime("%Y-%m-%d")


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
