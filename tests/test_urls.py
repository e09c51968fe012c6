"""URL identity: one source per normalised URL."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refman.errors import InvalidURLError
from refman.urls import classify_destination, normalise_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://WWW.Example.COM:443/a", "https://www.example.com/a"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("https://example.com/a#section", "https://example.com/a"),
        ("https://www.sdnlab.com/15475.html#:~:text=网络虚拟化是一种,实现弹性的网络%E3%80%82",
         "https://www.sdnlab.com/15475.html"),
        ("https://x.org/p?utm_source=a&utm_medium=b&id=7&fbclid=z", "https://x.org/p?id=7"),
        ("https://x.org/p?gclid=1&mc_cid=2&mc_eid=3&spm=4", "https://x.org/p"),
        ("https://www.bilibili.com/video/BV1tz4y197hm/?share_source=copy_web&vd_source=abc",
         "https://www.bilibili.com/video/BV1tz4y197hm/"),
        ("https://mp.weixin.qq.com/s/abc?scene=21", "https://mp.weixin.qq.com/s/abc"),
        ("https://example.com/search?scene=21", "https://example.com/search?scene=21"),  # host-scoped
        ("https://x.org/a%7eb/%e4%b8%ad", "https://x.org/a~b/%E4%B8%AD"),
        ("https://blog.csdn.net/openstack学习-网络管理/",
         "https://blog.csdn.net/openstack%E5%AD%A6%E4%B9%A0-%E7%BD%91%E7%BB%9C%E7%AE%A1%E7%90%86/"),
        ("https://münchen.de/x", "https://xn--mnchen-3ya.de/x"),
        ("https://en.wikipedia.org/wiki/Vagrant_(software)", "https://en.wikipedia.org/wiki/Vagrant_(software)"),
        ("  http://xhslink.com/o/5LVulTlGpuo ", "http://xhslink.com/o/5LVulTlGpuo"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise_url(raw).url == expected


def test_host_drops_www() -> None:
    assert normalise_url("https://www.InfoQ.cn/article/x").host == "infoq.cn"


@pytest.mark.parametrize(
    ("dest", "reason"),
    [
        ("chmod.md", "relative link"),
        ("../notes/a.md", "relative link"),
        ("#anchor", "anchor link"),
        ("mailto:a@b.org", "mailto: link, not a web page"),
        ("javascript:alert(1)", "javascript: link, not a web page"),
        ("data:text/html,x", "data: link, not a web page"),
        ("file:///etc/passwd", "file: link, not a web page"),
        ("http://", "URL has no host"),
        ("", "empty URL"),
    ],
)
def test_non_sources(dest: str, reason: str) -> None:
    assert classify_destination(dest) == reason
    with pytest.raises(InvalidURLError):
        normalise_url(dest)


_url_parts = st.builds(
    lambda scheme, host, path, query, frag: f"{scheme}://{host}/{path}" + (f"?{query}" if query else "")
    + (f"#{frag}" if frag else ""),
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    st.from_regex(r"[A-Za-z0-9]{1,10}(\.[A-Za-z0-9]{1,8}){1,2}", fullmatch=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    st.text(alphabet="abcdefgh=&%_utm01", max_size=30),
    st.text(max_size=10),
)


@settings(max_examples=300, deadline=None)
@given(_url_parts)
def test_normalise_is_idempotent(raw: str) -> None:
    try:
        once = normalise_url(raw).url
    except InvalidURLError:
        return
    assert normalise_url(once).url == once
    assert "#" not in once
    assert once.isascii()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes(raw: str) -> None:
    with contextlib.suppress(InvalidURLError):
        normalise_url(raw)
    assert classify_destination(raw) is None or isinstance(classify_destination(raw), str)


@given(st.text(alphabet=st.sampled_from("aZ09-._~/:@!$&'()*+,;=?%#[] \"<>^`{|}\\éß数\u200b"), max_size=40),
       st.sampled_from(["/:@!$&'()*+,;=", "=&+/:@!$'()*,;?"]))
def test_escape_fast_path_equals_the_general_path(part: str, safe: str) -> None:
    from refman.urls import _escape_fully, _normalise_escapes

    assert _normalise_escapes(part, safe) == _escape_fully(part, safe)


@pytest.mark.parametrize("url", ["https://exa mple.com/", "https://exa%20mple.com/", "https://a..b.com/",
                                 "https://-a.example/", "https://a_b c.example/", "http://[::zz]/",
                                 "https://" + "a" * 64 + ".example/"])
def test_invalid_hosts_are_refused(url: str) -> None:
    from refman.errors import InvalidURLError

    with pytest.raises(InvalidURLError, match=r"invalid host name|invalid URL"):
        normalise_url(url)


@pytest.mark.parametrize("url", ["https://例子.中国/x", "https://a_b.example.com/", "http://[::1]:8080/",
                                 "https://example.com./", "http://127.0.0.1/"])
def test_valid_hosts_are_kept(url: str) -> None:
    assert normalise_url(url).url.startswith("http")


def _both_ways(raw: str) -> tuple[object, object]:
    """normalise_url's answer (an identity or an error's message) with the plain-URL fast split, and with
    urlsplit always."""
    from refman.urls import _normalise_split, _split_general, _split_plain

    def outcome(split: object) -> object:
        try:
            parts = split(raw)  # type: ignore[operator]
            return None if parts is None else _normalise_split(*parts)
        except InvalidURLError as exc:
            return str(exc)

    fast = outcome(_split_plain)
    return (outcome(_split_general) if fast is not None else None), fast


# Host-like and URL-like text built from the characters that decide how a URL splits.
_tricky_urls = st.builds(
    lambda scheme, host, port, rest: f"{scheme}://{host}{port}{rest}",
    st.sampled_from(["http", "https", "HTTP", "hTtPs", "ftp", "http:", ""]),
    st.text(alphabet=st.sampled_from("aZ09-_.:@[]%é数 \t"), min_size=0, max_size=24)
    | st.from_regex(r"(?:[A-Za-z0-9_-]{1,63}\.){0,4}[A-Za-z0-9_-]{1,63}\.?", fullmatch=True),
    st.sampled_from(["", ":", ":80", ":443", ":0", ":65535", ":65536", ":99999", ":8x", ":0080"]),
    st.text(alphabet=st.sampled_from("/?#&=%7eE;:@ab\\é \u0000\u007f"), max_size=20),
)


@settings(max_examples=2000, deadline=None)
@given(_tricky_urls | _url_parts | st.text(max_size=40))
def test_plain_url_fast_split_equals_urlsplit(raw: str) -> None:
    general, fast = _both_ways(raw)
    if fast is not None:  # a URL the fast split declines goes through urlsplit: nothing to compare
        assert fast == general


@pytest.mark.parametrize("raw", [
    "https://WWW.Example.COM:443/a%7eb?utm_source=x&a=1#frag", "http://a.com.", "http://a.com:80", "https://x.y?q",
    "http://1.2.3.4:8080/p?", "HTTPS://a_b.com/#x?y", "https://a.com/p?x=1?y=2", "https://" + "a" * 63 + ".com/",
    "https://" + ".".join(["a" * 50] * 4 + ["a" * 49]) + "/"])
def test_plain_urls_take_the_fast_split(raw: str) -> None:
    general, fast = _both_ways(raw)
    assert fast is not None and fast == general
