"""URL normalisation: the identity of a source.

Hand-written on urllib rather than courlan (which trafilatura brings): courlan keeps fragments (so text
fragments `#:~:text=` would split one page into many sources), leaves non-ASCII hosts un-IDNA'd, keeps
lower-case percent escapes, and its tracker pattern also strips meaningful parameters such as `source`,
`ref` or `session`. The rules here are RFC 3986 normalisation plus an explicit list of tracking parameters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, quote, unquote, urlsplit

from refman.errors import InvalidURLError

WEB_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that only say how someone arrived at a page. Exact names, then prefixes.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "igsh",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "spm", "scm", "share_source", "share_medium",
        "share_plat", "share_session_id", "share_tag", "share_from", "vd_source", "from_source",
        "utm", "ref_src", "ref_url", "si", "trk", "trkCampaign", "oly_anon_id", "oly_enc_id", "rb_clickid",
        "s_cid", "wt_mc", "wt.mc_id", "cmpid", "_ga", "_gl", "xtor", "ncid", "sr_share", "feature",
        "from", "isappinstalled", "scene", "srcid", "sharer_sharetime", "sharer_shareid", "clicktime",
        "enterid", "chksm", "mpshare", "timestamp",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "ga_", "__hs", "matomo_")
# A few of the exact names above are meaningful on some sites; only drop them on the hosts that add them.
_HOST_SCOPED = {
    "from": ("weixin.qq.com", "zhihu.com", "bilibili.com", "csdn.net", "toutiao.com"),
    "scene": ("weixin.qq.com",),
    "srcid": ("weixin.qq.com",),
    "sharer_sharetime": ("weixin.qq.com",),
    "sharer_shareid": ("weixin.qq.com",),
    "clicktime": ("weixin.qq.com",),
    "enterid": ("weixin.qq.com",),
    "chksm": ("weixin.qq.com",),
    "mpshare": ("weixin.qq.com",),
    "isappinstalled": ("weixin.qq.com",),
    "timestamp": ("weixin.qq.com",),
    "feature": ("youtube.com", "youtu.be"),
    "si": ("youtube.com", "youtu.be", "spotify.com"),
}

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class NormalisedURL:
    url: str  # the identity of a source
    host: str  # lower-case host (IDNA) without "www."


_PLAIN: dict[str, re.Pattern[str]] = {}


def _normalise_escapes(part: str, safe: str) -> str:
    """Upper-case escapes, decode escaped unreserved characters, encode raw non-ASCII and unsafe bytes."""
    plain = _PLAIN.get(safe)
    if plain is None:
        plain = _PLAIN[safe] = re.compile("[A-Za-z0-9._~" + re.escape(safe) + "-]*")
    if plain.fullmatch(part):  # no escape and nothing to encode: what _escape_fully would return anyway
        return part
    return _escape_fully(part, safe)


def _escape_fully(part: str, safe: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    part = _PCT.sub(fix, part)
    # Encode what is left that is not allowed raw, keeping existing escapes intact.
    return quote(part, safe=safe + "%")


def _is_tracking(name: str, host: str) -> bool:
    lowered = name.lower()
    if lowered.startswith(TRACKING_PREFIXES):
        return True
    if lowered not in TRACKING_PARAMS and name not in TRACKING_PARAMS:
        return False
    hosts = _HOST_SCOPED.get(lowered)
    return hosts is None or any(host == h or host.endswith("." + h) for h in hosts)


def _clean_query(query: str, host: str) -> str:
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote(pair.split("=", 1)[0])
        if not _is_tracking(name, host):
            kept.append(_normalise_escapes(pair, safe="=&+/:@!$'()*,;?"))
    return "&".join(kept)


def _idna_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if host.startswith("[") or host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidURLError(f"invalid host name {host!r}") from exc


def _reject(raw: str, reason: str) -> InvalidURLError:
    exc = InvalidURLError(f"{reason}: {raw!r}")
    exc.reason = reason  # type: ignore[attr-defined]
    return exc


def split_web_url(raw: str) -> SplitResult:
    """Parse an http(s) URL or raise InvalidURLError with a one-line reason."""
    return _split_web_url(raw)[0]


def _split_web_url(raw: str) -> tuple[SplitResult, str, int | None]:
    """(the parts, the host name as urlsplit lowers it, the port): SplitResult computes `hostname` and `port`
    anew on every access, and the importer normalises 100,000 URLs."""
    text = raw.strip()
    if not text:
        raise _reject(raw, "empty URL")
    if _WHITESPACE.search(text):
        text = _WHITESPACE.sub("%20", text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _reject(raw, f"invalid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in WEB_SCHEMES:
        if not scheme:
            raise _reject(raw, "anchor link" if text.startswith("#") else "relative link")
        raise _reject(raw, f"{scheme}: link, not a web page")
    hostname = parts.hostname
    if not hostname:
        raise _reject(raw, "URL has no host")
    if not _valid_host(hostname):
        raise _reject(raw, "invalid host name")
    return parts, hostname, port


_HOST_LABEL = re.compile(r"^(?!-)[\w-]{1,63}$")  # letters (any script), digits, -, _ (real subdomains use _)


def _valid_host(host: str) -> bool:
    """A DNS name (IDNA allowed) or an IP address; no spaces, %, or empty labels."""
    if ":" in host:  # IPv6 (urlsplit strips the brackets)
        import ipaddress

        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return False
        return True
    name = host[:-1] if host.endswith(".") else host
    return 0 < len(name) <= 253 and all(_HOST_LABEL.match(label) for label in name.split("."))


# The shape of most URLs in notes: http(s), an ASCII DNS name or IPv4 address (labels as _valid_host wants
# them), maybe a port, then anything printable. Such a URL is split here, as urlsplit would split it, at a third
# of the cost; anything else (user info, IPv6, non-ASCII, a stray character in the host) goes through urlsplit.
# tests/test_urls.py checks that both ways give the same identity or the same error.
_PLAIN_URL = re.compile(
    r"(https?)://((?:(?!-)[a-z0-9_-]{1,63}\.)*(?!-)[a-z0-9_-]{1,63}\.?)(?::([0-9]{1,5}))?([/][^?#]*)?(?:\?([^#]*))?"
    r"(?:#.*)?", re.ASCII | re.IGNORECASE)


def _split_plain(raw: str) -> tuple[str, str, int | None, str, str] | None:
    """(scheme, host name, port, path, query) of a URL of the common shape (see _PLAIN_URL), as urlsplit and
    _split_web_url give them; None for any other URL."""
    text = raw.strip()
    if not (text.isascii() and text.isprintable()) or " " in text:
        return None
    m = _PLAIN_URL.fullmatch(text)
    if m is None:
        return None
    scheme, hostname, port_text, path, query = m.groups()
    port = None if port_text is None else int(port_text)
    if (port is not None and port > 65535) or len(hostname) - hostname.endswith(".") > 253:
        return None  # urlsplit's error, or _valid_host's verdict, with its message
    return scheme.lower(), hostname.lower(), port, path or "", query or ""


@lru_cache(maxsize=65536)  # vaults cite the same URLs again and again
def normalise_url(raw: str) -> NormalisedURL:
    """The identity of the page at `raw`: see the module docstring for the rules."""
    plain = _split_plain(raw)
    if plain is None:
        return _normalise_split(*_split_general(raw))
    return _normalise_split(*plain)


def _split_general(raw: str) -> tuple[str, str, int | None, str, str]:
    parts, hostname, port = _split_web_url(raw)
    return parts.scheme.lower(), hostname, port, parts.path, parts.query


def _normalise_split(scheme: str, hostname: str, port: int | None, path: str, query: str) -> NormalisedURL:
    host = _idna_host(hostname)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _normalise_escapes(path or "/", safe="/:@!$&'()*+,;=")
    query = _clean_query(query, host)
    # what urlunsplit gives for a URL with a host, whose path therefore starts with "/"
    url = f"{scheme}://{netloc}{path}?{query}" if query else f"{scheme}://{netloc}{path}"
    bare_host = host[4:] if host.startswith("www.") else host
    return NormalisedURL(url=url, host=bare_host)


def classify_destination(dest: str) -> str | None:
    """Why a link destination is not a web source ('relative link', 'mailto: URL', …), or None if it is."""
    try:
        split_web_url(dest)
    except InvalidURLError as exc:
        return getattr(exc, "reason", str(exc))
    return None
