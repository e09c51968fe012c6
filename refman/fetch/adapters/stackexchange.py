"""Stack Exchange Q&A pages (Stack Overflow, Super User, Server Fault, Ask Ubuntu, *.stackexchange.com): the
most cited pages of the corpus vault (about 195 of its links: stackoverflow.com 128, unix.stackexchange.com 29,
askubuntu.com 14, superuser.com 10, serverfault.com 7, …). Their pages are server-rendered, but a robot often
gets a Cloudflare check (403 or a "Just a moment…" wall) instead; the public Stack Exchange API serves the same
question and answers as JSON. Used only when the plain fetch came back thin or refused.

API (https://api.stackexchange.com/docs, version 2.3; no key needed for a few hundred requests a day):
`GET /2.3/questions/{id}?site={site}&filter=withbody` → `{"items": [{"question_id", "title" (HTML-escaped),
"body" (HTML), "owner": {"display_name"}, "creation_date" (seconds since 1970), "tags", "link"}], "has_more",
"quota_remaining"}`; `GET /2.3/questions/{id}/answers?…&sort=votes` → `{"items": [{"answer_id", "body",
"owner", "score", "is_accepted"}]}`; `GET /2.3/answers/{id}?…` → items with `question_id`. An error is an
HTTP 400 (its `{"error_id", "error_name", "error_message"}` body is not read); an answer without `items` is a
changed API."""

from __future__ import annotations

import html as htmlmod
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from refman.fetch.adapters import AdapterFailed, ApiCall, Article, Get, decode_json, host_of

_SITES = {
    "stackoverflow.com": ("stackoverflow", "Stack Overflow"),
    "superuser.com": ("superuser", "Super User"),
    "serverfault.com": ("serverfault", "Server Fault"),
    "askubuntu.com": ("askubuntu", "Ask Ubuntu"),
    "mathoverflow.net": ("mathoverflow.net", "MathOverflow"),
    "stackapps.com": ("stackapps", "Stack Apps"),
}
_QUESTION = re.compile(r"^/(?:questions|q)/(\d+)(?:/[^/]*)?(?:/(\d+))?/?$")
_ANSWER = re.compile(r"^/a/(\d+)(?:/\d+)?/?$")
MAX_ANSWERS = 5


class StackExchange:
    name = "stackexchange"
    always = False  # the page itself is fine when a robot may read it
    BASE = "https://api.stackexchange.com"

    def __init__(self, base: str = BASE) -> None:
        self.base = base.rstrip("/")
        self.test_host = host_of(self.base) if self.base != self.BASE else None

    def site(self, host: str) -> tuple[str, str] | None:
        host = host.lower().removeprefix("www.")
        if host in _SITES:
            return _SITES[host]
        if host.endswith(".stackexchange.com") and host.count(".") == 2 and not host.startswith(("api.", "meta.")):
            name = host.split(".")[0]
            return name, f"{name.replace('-', ' ').title()} Stack Exchange"
        if self.test_host and host == self.test_host:  # a local fake of the API serves the pages too
            return _SITES["stackoverflow.com"]
        return None

    def match(self, url: str) -> str | None:
        parts = urlsplit(url)
        if self.site(parts.hostname or "") is None:
            return None
        if m := _QUESTION.match(parts.path):
            return f"q{m.group(1)}"
        if m := _ANSWER.match(parts.path):
            return f"a{m.group(1)}"
        return None

    async def fetch(self, article_id: str, url: str, get: Get) -> Article:
        site, site_name = self.site(urlsplit(url).hostname or "") or _SITES["stackoverflow.com"]
        common = f"site={site}&filter=withbody"
        if article_id.startswith("a"):
            items = await self._items(get, f"{self.base}/2.3/answers/{article_id[1:]}?{common}", "answer")
            qid = items[0].get("question_id")
            if not isinstance(qid, int):
                raise AdapterFailed("Stack Exchange answer without question_id (API changed?)")
        else:
            qid = int(article_id[1:])
        api = f"{self.base}/2.3/questions/{qid}?{common}"
        question = (await self._items(get, api, "question"))[0]
        title, body = question.get("title"), question.get("body")
        if not isinstance(title, str) or not isinstance(body, str):
            raise AdapterFailed("Stack Exchange question without title or body (API changed?)")
        answers = await self._items(
            get, f"{self.base}/2.3/questions/{qid}/answers?{common}&sort=votes&order=desc&pagesize={MAX_ANSWERS}",
            "answers", allow_empty=True)
        parts = [body]
        for answer in answers:
            if isinstance(answer.get("body"), str):
                who = _owner(answer) or "an anonymous user"
                mark = " (accepted)" if answer.get("is_accepted") else ""
                parts.append(f"<h2>Answer by {htmlmod.escape(who)}{mark}</h2>{answer['body']}")
        owner = _owner(question)
        return Article(
            title=htmlmod.unescape(title).strip(), html="\n".join(parts), authors=[owner] if owner else [],
            issued=_day(question.get("creation_date")), container_title=site_name, language="en",
            type="post", api_url=api,
        )

    async def _items(self, get: Get, api: str, what: str, *, allow_empty: bool = False) -> list[dict[str, Any]]:
        res = await get(ApiCall(api, headers={"Accept": "application/json"}))
        data = decode_json(res, f"Stack Exchange {what}")  # an error (HTTP 400, throttling) fails here
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise AdapterFailed(f"Stack Exchange {what} answer has no items (API changed?)")
        if not items and not allow_empty:
            raise AdapterFailed(f"Stack Exchange has no such {what} (deleted?)")
        return items


def _owner(item: dict[str, Any]) -> str | None:
    owner = item.get("owner")
    name = owner.get("display_name") if isinstance(owner, dict) else None
    return htmlmod.unescape(name).strip() or None if isinstance(name, str) else None


def _day(value: Any) -> str | None:
    if not isinstance(value, int) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d")
