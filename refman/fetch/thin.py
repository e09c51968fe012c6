"""Why a page is thin: what the page itself shows, and the way out.

An HTML page that yields almost no text is judged from the evidence in its markup, most specific first:

    wall     a consent or anti-bot wall (Cloudflare's "Just a moment…", a CAPTCHA, a cookie-consent gate,
             a Chinese "安全验证" slider)
    login    a login or paywall page (a password field, "sign in to continue", `isAccessibleForFree: false`,
             "登录后查看")
    viewer   only an image or a PDF viewer (an <embed>/<object>/<iframe> of a PDF, pdf.js, or images and no text)
    script   built by JavaScript: scripts and an empty application root (`<div id="app">`, `#root`, `#__next`),
             a "please enable JavaScript" notice, a serialised state (`__NEXT_DATA__`, `__INITIAL_STATE__`),
             or simply scripts that outweigh the text
    short    none of these: the page just has very little text

`advice` names the way out for each: `--render` for script, `--wayback` for all (an older capture may have
been served whole), and a capture in the user's own browser (`refman serve`) for walls and logins, which a
robot should not get past."""

from __future__ import annotations

import re
from typing import Any

KINDS: dict[str, str] = {
    "wall": "a consent or anti-bot wall",
    "login": "a login or paywall page",
    "viewer": "only an image or a PDF viewer",
    "script": "built by JavaScript (the page loads its content with a script)",
    "short": "very little text",
}

_ADVICE = {
    "wall": "try `refman fetch --wayback`, or save the page from your browser through `refman serve`",
    "login": "save the page from your browser (logged in) through `refman serve`, or try `refman fetch --wayback`",
    "viewer": "fetch the document itself if its link is known; `refman fetch --wayback` may hold a copy",
    "script": "try `refman fetch --render ID` (a headless browser), `--wayback`, or save it through `refman serve`",
    "short": "nothing to do if the page is short; else try `refman fetch --render` or `--wayback`",
}

_I = re.I | re.S
_WALL = [
    (re.compile(r"<title>\s*(?:just a moment|attention required|access denied|请稍候|安全验证)", _I),
     "a challenge page"),
    (re.compile(r"cf-browser-verification|challenge-platform|cf_chl_|__cf_chl", _I), "Cloudflare's browser check"),
    (re.compile(r"g-recaptcha|h-captcha|hcaptcha\.com|recaptcha/api|geetest|px-captcha|captcha-delivery", _I),
     "a CAPTCHA"),
    (re.compile(r"_Incapsula_Resource|distil_r_captcha|datadome|perimeterx", _I), "an anti-bot service"),
    (re.compile(r"滑动验证|安全验证|人机验证|验证码", _I), "a verification slider"),
    (re.compile(r"before you continue to|we value your privacy|cookie[- ]?consent|consent\.(?:google|youtube)|"
                r"onetrust|didomi|quantcast\s*choice|cookiebot", _I), "a cookie-consent gate"),
]
_LOGIN = [
    (re.compile(r"<input[^>]+type\s*=\s*['\"]?password", _I), "a password field"),
    (re.compile(r"\"isAccessibleForFree\"\s*:\s*(?:false|\"false\")", _I), "marked not free to read"),
    (re.compile(r"(?:sign|log)\s*in to (?:continue|read|view)|subscribe to (?:continue|read)|subscribers only|"
                r"paywall|premium content", _I), "a sign-in or subscription prompt"),
    (re.compile(r"登录后|请登录|登录查看|扫码登录|会员专享|付费阅读", _I), "a sign-in prompt"),
]
_VIEWER = [
    (re.compile(r"<(?:embed|object|iframe)[^>]+(?:\.pdf\b|application/pdf)", _I), "an embedded PDF"),
    (re.compile(r"pdf\.js|pdfjs|pdf_viewer|viewer\.html\?file=", _I), "a PDF viewer"),
]
_SCRIPT_EVIDENCE = [
    (re.compile(r"<(?:div|main|section)[^>]+id\s*=\s*['\"](?:app|root|__next|__nuxt|main-app|react-root)['\"]"
                r"[^>]*>\s*(?:<[^>]+>\s*)*(?:loading|加载中)?[.…]*\s*(?:</[^>]+>\s*)*</(?:div|main|section)>", _I),
     "an empty application root"),
    (re.compile(r"<noscript[^>]*>[^<]*(?:<[^>]+>[^<]*)*?(?:enable|turn on|需要|启用|开启)\s*javascript", _I),
     "a \"please enable JavaScript\" notice"),
    (re.compile(r"__NEXT_DATA__|__NUXT__|__INITIAL_STATE__|__PRELOADED_STATE__|window\.__APOLLO_STATE__", _I),
     "its content serialised in a script"),
]
_SCRIPT_TAG = re.compile(r"<script\b[^>]*>(.*?)</script>", _I)
_IMG = re.compile(r"<img\b", re.I)


def diagnose(html: str, chars: int) -> tuple[str, str]:
    """(kind, reason) for an HTML page with `chars` non-space characters of text."""
    head = f"only {chars} characters of text"
    for kind, rules in (("wall", _WALL), ("login", _LOGIN), ("viewer", _VIEWER)):
        for pattern, what in rules:
            if pattern.search(html):
                return kind, f"{head}: {KINDS[kind]} ({what})"
    scripts = _SCRIPT_TAG.findall(html)
    if scripts:
        for pattern, what in _SCRIPT_EVIDENCE:
            if pattern.search(html):
                return "script", f"{head}: {KINDS['script']}: {len(scripts)} scripts, {what}"
        script_bytes = sum(len(s) for s in scripts)
        if len(scripts) >= 3 or script_bytes > 20 * max(chars, 1):
            return "script", f"{head}: {KINDS['script']}: {len(scripts)} scripts ({script_bytes} bytes of code)"
    images = len(_IMG.findall(html))
    if images and chars < 40:
        return "viewer", f"{head}: {KINDS['viewer']} ({images} images)"
    if scripts:
        return "script", f"{head}: {KINDS['script']}: {len(scripts)} scripts"
    return "short", head


def advice(kind: str | None) -> str | None:
    return _ADVICE.get(kind or "")


def thin_facts(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """`{"kind", "why", "advice"}` from a thin snapshot's metadata, or None when it was not judged."""
    kind = metadata.get("thin_kind")
    if not kind:
        return None
    return {"kind": kind, "why": KINDS.get(kind, kind), "advice": advice(kind)}
