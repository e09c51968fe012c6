"""Hints from a reference label: a clean title, a date, the site, an author and a flag.

A label is the user's own title for a page (`[Title]: url`). It often carries more than the title: a date,
the site that published it, a Zhihu author, a "recommended" emoji. `parse_label` peels those off the ends of
the label and keeps the raw text. The rules are general (checked against the labels of a real vault of English
and Chinese notes) and deliberately conservative: when in doubt a piece stays in the title.

Rules, in the order they are applied:

1. **Flag.** A leading run of emoji / pictographic symbols followed by whitespace (`👍 `, `🤔 `, `⭐️ `, `❗ `,
   `🔥 `; variation selectors, skin tones, ZWJ sequences and keycaps included) is the flag. Symbols below
   U+2000 (`©`, `®`, `°`) are not flags, and a symbol glued to the text (`👍Title`) is not stripped.
   Several flags (`👍 🤔 Title`) are kept together (`👍🤔`).
2. The next three steps are repeated until nothing changes, so they work in any order (`Title (2024) | Site`
   and `Title | Site (2024)` both work):
   - **Date** from a trailing, or else leading, parenthesised text, half- or full-width (`(…)`, `（…）`), that
     is wholly one of:
     `6/24/2024`, `04/02/2020` (month/day/year, the convention of these notes; if the first number is > 12
     it is day/month; `.` and `-` work like `/` in this year-last form), `2024-06-24`, `2024.06.24`,
     `2024/6/24`, `2024-06`, `2024/6`, `2024.06` (two-digit month only: `2024.1` is a version number),
     `24 June 2024`, `Jun 24, 2024`, `June 2024` (an optional weekday first: `Mon, Jun 24, 2024`),
     `2024年6月24日`, `2024年6月`, `2024年`, `2024`; fullwidth digits count as digits.
     Years must be 1800..2100 and the date must exist in the calendar (`13/45/2024` stays in the title).
     Partial dates stay partial (`2024`, `2024-06`). A year that is not in parentheses is part of the title
     (`The 2026 Guide to AI Agents`, `2026-07-28 MCP Specification …`). A last separator segment that is a
     full or year-month date (`Title | 2024-06-24`, `Title - 2024-06`) is also a date.
   - **Repost marker**: a trailing or leading `(转)`, `（转）`, `(转载)`, `【转】`, `[转]` becomes
     tag `repost`.
   - **Site** (only one):
     a. Zhihu: `Title - 某人的文章 - 知乎` (also `的回答`, `的专栏`, `的想法`) gives title,
        author 某人 and site 知乎. The author may not contain ` - `, so `-`/` - ` inside the title
        are kept (`虚拟化 - 网络`).
     b. The last `␣|␣`, `␣--␣`, `␣·␣`, `␣•␣`, `␣–␣`, `␣—␣` (spaces both sides; `——` is Chinese punctuation and
        never a separator), or a fullwidth `｜` with whitespace on at least one side, when the text after it
        looks like a site name (below). `|` without spaces (`长文|互联网骨干网全面解析`) belongs to the title.
     c. The last plain ` - X` only with evidence: X matches the URL's host (`RASP | p4d0rn` style names,
        `Jimmy Song` ~ jimmysong.io, `t3.gg`), or X is a known site (`Wikipedia`, `Stack Overflow`, `知乎`,
        …). In the real notes ` - ` is nearly always a subtitle (`Comparison: … - Overlay Network
        Technologies`, `… - part 1`, `postgresql - disabling constraints`), so a bare look is not enough.
     d. A leading `X / Title` or `X - Title` when X matches the host or is a known site
        (`Wikipedia / CMA-ES`, `GitHub - owner/repo: …`).
   "Looks like a site name": a known site, or 1-40 characters with no sentence punctuation (`?!,;:` and
   their fullwidth forms, quotes, `...`, a trailing `.`); at most 5 words; no function words (`it`, `to`,
   `how`, `you`, …: `It Intensifies It`, `a tour` are subtitles); three or more words must be Capitalised
   (`setup git environment` is a subtitle; `IBM Technology`, `MDN Docs`, `github blog` are sites); not a
   session/product code (`brk402`, `net302`); not a part of a series (`Part 2`, `第三篇`, `#12`); not a
   date. A host match always counts as evidence. On the real notes this also makes YouTube channels
   (`| IBM Technology`, `| Grafana`) the site.
3. **Site spelling.** A site whose case-folded name is a known site gets the usual spelling (`infoQ` ->
   `InfoQ`, `github` -> `GitHub`); other names are kept as written (`github blog`, `cnblog`).
4. **Title** is what remains, stripped. Curly quotes, fullwidth punctuation, `【topic】` prefixes, `——` and
   unbalanced parentheses (`（38张)`) are kept; a label spread over lines is joined with single spaces. If
   nothing remains, the title falls back to the stripped label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

__all__ = ["LabelHints", "parse_label"]


@dataclass(frozen=True, slots=True)
class LabelHints:
    raw: str
    title: str
    issued: str | None
    container_title: str | None
    author: str | None
    flag: str | None
    tags: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------- sites

# Case-folded name -> usual spelling. Used to normalise case and as evidence for a plain ` - X` separator,
# so it lists only names that are unambiguous site names (no "AWS": `… - AWS` is usually a product variant).
# fmt: off
_KNOWN_SITES: dict[str, str] = {
    name.casefold(): name
    for name in (
        "InfoQ", "InfoQ 中文站", "GitHub", "GitLab", "Gitee", "CSDN", "CSDN博客", "cnblogs", "博客园", "SDNLAB",
        "知乎", "知乎专栏", "简书", "掘金", "稀土掘金", "机器之心", "量子位", "36氪", "少数派", "思否",
        "SegmentFault", "SegmentFault 思否", "开源中国", "OSCHINA", "腾讯云", "腾讯云开发者社区", "阿里云",
        "阿里云开发者社区", "华为云", "华为云社区", "看雪学苑", "看雪", "FreeBuf", "微信公众平台", "哔哩哔哩",
        "bilibili", "博客园 - 开发者的网上家园", "Wikipedia", "维基百科", "维基百科，自由的百科全书",
        "百度百科", "Stack Overflow", "Super User", "Server Fault", "Ask Ubuntu", "Stack Exchange",
        "Unix & Linux Stack Exchange", "YouTube", "Medium", "DEV Community", "Hacker News", "Reddit",
        "MDN", "MDN Docs", "MDN Web Docs", "Microsoft Learn", "ArchWiki", "Arch Wiki", "Gentoo Wiki",
        "The GitHub Blog", "A List Apart", "Towards Data Science", "LWN.net", "arXiv", "Substack", "Amazon",
    )
}
# fmt: on

# Host labels that say nothing about the site's name.
_HOST_NOISE = frozenset({"www", "m", "en", "zh", "cn", "blog", "blogs", "docs", "com", "org", "net", "io"})
_NON_WORD = re.compile(r"[\W_]+")
_SENTENCE_PUNCT = re.compile(r"[?!,;:？！，；：。、\"“”‘’「」《》]|\.\.\.|…|\.$")
_CODE_LIKE = re.compile(r"[A-Za-z]{2,5}\d{2,}")  # session / product codes: brk402, net302
_ASCII_WORD = re.compile(r"[A-Za-z0-9][\w.&'+-]*")
# fmt: off
_FUNCTION_WORDS = frozenset(
    {
        "a", "an", "is", "are", "was", "were", "be", "it", "its", "to", "how", "why", "what", "when", "who",
        "with", "you", "your", "we", "our", "i", "my", "me", "can", "not", "do", "does", "in", "into", "from",
        "about", "this", "that", "these", "those", "vs",
    }
)
# fmt: on
# `Part 2`, `Chapter 3`, `第三篇`, `#12`: a part of a series, not a site.
_NUMBERED = re.compile(
    r"(?:part|chapter|ch|episode|ep|vol|volume|lesson|day|step|section|no)\.?\s*(?:\d+|[ivxlc]+)\b"
    r"|第.{1,4}?[章节篇部集期讲课回]|[\d\s.#]+$",
    re.I,
)
_LOWER_OK = frozenset({"of", "and", "the", "for", "on", "de", "&"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def _compact(text: str) -> str:
    return _NON_WORD.sub("", text).casefold()


def _host_matches(name: str, host: str | None) -> bool:
    """Whether `name` is the host's own name: `Jimmy Song` ~ jimmysong.io, `p4d0rn` ~ p4d0rn.gitbook.io."""
    if not host:
        return False
    host = host.casefold().rstrip(".")
    low = name.casefold().strip()
    if "." in low and (host == low or host.endswith("." + low)):
        return True
    key = _compact(name)
    if len(key) < 2:
        return False
    labels = [part for part in host.split(".") if part not in _HOST_NOISE]
    if key in labels:
        return True
    # Two adjacent labels joined: `Stack Overflow` ~ stackoverflow.com, `Jimmy Song` ~ jimmysong.io.
    return any(key == labels[i] + labels[i + 1] for i in range(len(labels) - 1))


def _looks_like_site(name: str) -> bool:
    if name.casefold() in _KNOWN_SITES:
        return True
    if not 0 < len(name) <= 40 or _SENTENCE_PUNCT.search(name) or _CODE_LIKE.fullmatch(name):
        return False
    if _NUMBERED.match(name) or _parse_date(name) is not None:
        return False
    words = _ASCII_WORD.findall(name)
    if len(words) > 5:
        return False
    for word in words:
        low = word.casefold()
        if low in _FUNCTION_WORDS:
            return False
        # Three or more words: a proper name (`Towards Data Science`), not a lower-case subtitle.
        if len(words) >= 3 and not (word[0].isupper() or word[0].isdigit() or "." in word or low in _LOWER_OK):
            return False
    # A CJK site name is a short name, not a clause.
    return not (_CJK.search(name) and len(name) > 20)


def _canonical_site(name: str) -> str:
    return _KNOWN_SITES.get(name.casefold(), name)


# --------------------------------------------------------------------------------------------------- dates

# fmt: off
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")
# fmt: on
_MONTHS: dict[str, int] = {name: i for i, name in enumerate(_MONTH_NAMES, start=1)}
_MONTHS.update({name[:3]: i for name, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9

_YEAR_MIN, _YEAR_MAX = 1800, 2100

_D_YMD = re.compile(r"(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})")
_D_YM = re.compile(r"(\d{4})\s*(?:[-/]\s*(\d{1,2})|\.\s*(\d{2}))")
_D_MDY = re.compile(r"(\d{1,2})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{4})")
_D_CJK = re.compile(r"(\d{4})\s*年(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*[日号])?)?")
_D_WEEKDAY = re.compile(r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.I)
_D_DMY_EN = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})")
_D_MDY_EN = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_D_MY_EN = re.compile(r"([A-Za-z]{3,9})\.?,?\s+(\d{4})")


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    """ISO 8601 text for a real (possibly partial) calendar date, else None."""
    if not _YEAR_MIN <= year <= _YEAR_MAX:
        return None
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        date(year, month, day)
    except ValueError:
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _parse_date(text: str) -> str | None:
    """The ISO date if `text` is wholly a date in one of the supported forms."""
    text = text.strip()
    if not text or not text[0].isalnum():
        return None
    if text[0].isalpha() and (m := _D_WEEKDAY.match(text)):
        text = text[m.end() :]  # `Mon, Jun 24, 2024`
    if text[:4].isdigit():  # year first
        if len(text) == 4:
            return _iso(int(text))
        if m := _D_YMD.fullmatch(text):
            return _iso(int(m[1]), int(m[3]), int(m[4]))
        if m := _D_YM.fullmatch(text):
            return _iso(int(m[1]), int(m[2] or m[3]))
        if m := _D_CJK.fullmatch(text):
            return _iso(int(m[1]), int(m[2]) if m[2] else None, int(m[3]) if m[3] else None)
        return None
    if text[0].isdigit():
        if m := _D_MDY.fullmatch(text):
            first, second = int(m[1]), int(m[3])
            if first > 12:  # month/day is the vault's convention; only an impossible month means day/month
                first, second = second, first
            return _iso(int(m[4]), first, second)
        if m := _D_DMY_EN.fullmatch(text):
            month = _MONTHS.get(m[2].casefold())
            return _iso(int(m[3]), month, int(m[1])) if month else None
        return None
    if m := _D_MDY_EN.fullmatch(text):
        month = _MONTHS.get(m[1].casefold())
        return _iso(int(m[3]), month, int(m[2])) if month else None
    if m := _D_MY_EN.fullmatch(text):
        month = _MONTHS.get(m[1].casefold())
        return _iso(int(m[2]), month) if month else None
    return None


# ------------------------------------------------------------------------------------------- label shapes

# A parenthesised group at the end / start; mixed half/full-width pairs are accepted like the notes do.
_TRAILING_PAREN = re.compile(r"[(（]\s*([^()（）]{1,40}?)\s*[)）]$")
_LEADING_PAREN = re.compile(r"[(（]\s*([^()（）]{1,40}?)\s*[)）]\s*")
_REPOST_TRAILING = re.compile(r"\s*(?:[(（]转载?[)）]|【转载?】|\[转载?\])$")
_REPOST_LEADING = re.compile(r"(?:[(（]转载?[)）]|【转载?】|\[转载?\])\s*")
# Separators are found with finditer and the LAST one wins (`Intro | Zero to Hero: Loki | Grafana`
# -> Grafana); a backtracking `^(.*)SEP(.*)$` costs several times more on long labels.
_SITE_SEP = re.compile(r"\s+(?:\||--|·|•|–|—)\s+|\s+｜\s*|｜\s+")
_SEP_CHARS = ("|", "｜", "·", "•", "–", "—", "--")  # cheap `in` checks before the regex
_DASH_SEP = re.compile(r"\s+-\s+")
_LEADING_SITE = re.compile(r"(\S[^/]{0,39}?)\s+[-/]\s+(?=\S)")
_ZHIHU = re.compile(r"\s+-\s+((?:(?!\s-\s).){1,40}?)的(?:文章|回答|专栏|想法)\s+-\s+(知乎(?:专栏)?)$")
# Cheap gate: labels with none of these characters are plain titles (the common case, kept fast).
_INTERESTING = re.compile(r"[|｜·•–—()（）\-/【\[]")
_LAST_CHARS = ")）]】"


def _flag_end(label: str) -> int:
    """Index just past a leading emoji flag and its whitespace, or 0 when there is none."""
    i, n = 0, len(label)
    while i < n:
        ch = label[i]
        if ord(ch) < 0x2000:
            break
        cat = unicodedata.category(ch)
        if cat in ("So", "Sk") or ch in "\u200d\ufe0f\ufe0e\u20e3‼⁉" or 0xE0020 <= ord(ch) <= 0xE007F:
            i += 1
        else:
            break
    if i == 0 or i >= n or not label[i].isspace():
        return 0
    while i < n and label[i].isspace():
        i += 1
    return i


def parse_label(label: str, host: str | None = None) -> LabelHints:
    """Split a reference label into a clean title and hints; `host` is the URL's host, used as evidence."""
    text = label.strip()
    flag: str | None = None
    while text and ord(text[0]) >= 0x2000 and (end := _flag_end(text)):  # `👍 🤔 Title` has two flags
        flag = (flag or "") + text[:end].strip()
        text = text[end:]

    if not _INTERESTING.search(text):
        return LabelHints(label, text or label.strip(), None, None, None, flag)

    issued: str | None = None
    site: str | None = None
    author: str | None = None
    repost = False
    site_tried = ""  # the text a site search last failed on; not worth a second look
    changed = True
    while changed and text:
        changed = False
        if issued is None and (found_date := _paren_date(text)) is not None:
            issued, text = found_date
            changed = True
        if not repost and "转" in text:
            m = _REPOST_TRAILING.search(text) or _REPOST_LEADING.match(text)
            if m and (rest := (text[: m.start()] + text[m.end() :]).strip()):
                repost, text, changed = True, rest, True
        if site is None and text != site_tried:
            site_tried = text
            found = _split_site(text, host, issued is None)
            if found is not None:
                text, site, author, iso = found
                if iso is not None:
                    issued = iso
                changed = True
    title = text.strip() or label.strip()
    if "\n" in title or "\t" in title or "\r" in title:
        title = " ".join(title.split())  # a label spread over lines reads as one line
    return LabelHints(
        label,
        title,
        issued,
        _canonical_site(site) if site else None,
        author,
        flag,
        ("repost",) if repost else (),
    )


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    m = None
    for m in pattern.finditer(text):  # noqa: B007 - only the last match is wanted
        pass
    return m


def _paren_date(text: str) -> tuple[str, str] | None:
    """(date, rest) for a date in parentheses at the end, or else the start, of `text`."""
    if text[-1] in ")）" and (m := _TRAILING_PAREN.search(text)) and m.start() > 0:
        iso = _parse_date(m[1])
        if iso is not None:
            return iso, text[: m.start()].rstrip()
    if text[0] in "(（" and (m := _LEADING_PAREN.match(text)) and m.end() < len(text):
        iso = _parse_date(m[1])
        if iso is not None:
            return iso, text[m.end() :]
    return None


_SiteSplit = tuple[str, str | None, str | None, str | None]


def _split_site(text: str, host: str | None, want_date: bool) -> _SiteSplit | None:
    """(title, site, author, date) when a site (or a date segment) ends or starts `text`, else None."""
    if text.endswith(("知乎", "知乎专栏")) and (m := _ZHIHU.search(text)) and m.start() > 0:
        return text[: m.start()], m[2], m[1].strip(), None
    m = _last(_SITE_SEP, text) if any(sep in text for sep in _SEP_CHARS) else None
    if m and m.start() > 0 and m.end() < len(text):
        head, tail = text[: m.start()], text[m.end() :].strip()
        if want_date and (iso := _parse_date(tail)) and len(iso) >= 7:
            # `Title | 2024-06-24`: a date segment; the site, if any, is looked for on the next round.
            return head, None, None, iso
        if _host_matches(tail, host) or _looks_like_site(tail):
            return head, tail, None, None
    m = _last(_DASH_SEP, text) if "-" in text else None
    if m and m.start() > 0 and m.end() < len(text):
        head, tail = text[: m.start()], text[m.end() :].strip()
        if want_date and (iso := _parse_date(tail)) and len(iso) >= 7:
            return head, None, None, iso
        if tail.casefold() in _KNOWN_SITES or (_host_matches(tail, host) and len(tail) <= 40):
            return head, tail, None, None
    m = _LEADING_SITE.match(text) if "/" in text or "-" in text else None
    if m and (m[1].casefold() in _KNOWN_SITES or _host_matches(m[1], host)):
        return text[m.end() :], m[1], None, None
    return None
