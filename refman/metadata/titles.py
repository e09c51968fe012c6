"""Titles cleaned of site suffixes and prefixes, with the site's name (or host) as the evidence."""

from __future__ import annotations

import re
from collections.abc import Iterable

from refman.metadata.authors import name_key
from refman.vocabulary import CJK_LETTER

_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|«|/|:)\s+|\s*[|｜：_]\s*|\s+[-–—]\s*$")


def _site_keys(site_names: Iterable[str], host: str | None) -> list[str]:
    keys = [name_key(s) for s in site_names if s]
    if host:
        host = host.lower().removeprefix("www.")
        label = host.split(".")[-2] if host.count(".") >= 1 else host
        keys += [name_key(host), name_key(label)]
    return [k for k in keys if k]


def _is_site(segment: str, keys: list[str]) -> bool:
    seg = name_key(segment)
    if not seg:
        return True
    compact = seg.replace(" ", "")
    for key in keys:
        kc = key.replace(" ", "")
        if seg == key or compact == kc:
            return True
        # "The Verge" vs "Verge", "Le Monde.fr" vs "Le Monde": one contains the other and they are close in size.
        if len(kc) >= 3 and (kc in compact or compact in kc) and abs(len(kc) - len(compact)) <= 6:
            return True
        if len(kc) >= 3 and seg.startswith(key + " ") and len(seg.split()) <= len(key.split()) + 2:
            return True  # "CNN Politics", a section of the site
    return False


def _is_section(segment: str, before: str) -> bool:
    """A section's name: a word or two ('Politics', 'Tech News', '科技'), much shorter than the title before it."""
    segment = segment.strip()
    if not segment or any(c.isdigit() for c in segment) or len(before.strip()) < 3 * len(segment):
        return False
    return len(segment) <= 6 if CJK_LETTER.search(segment) else len(segment) <= 20 and len(segment.split()) <= 2


def clean_title(title: str | None, site_names: Iterable[str] = (), host: str | None = None) -> str | None:
    """'Managing Python Environments | Pluralsight' → 'Managing Python Environments' when the site is known;
    an unknown trailing segment stays (it may be part of the title)."""
    if not title:
        return None
    text = re.sub(r"\s+", " ", title).strip()
    if not text:
        return None
    keys = _site_keys(site_names, host)
    if not keys:
        return text
    for _ in range(3):  # "Title - Section - Site" loses only the parts that are the site
        seps = list(_SEPARATORS.finditer(text))
        if not seps:
            break
        first = seps[0]
        # The first segment after the title that is the site ends the title ("Title | Site | Tagline").
        cut = next((m for i, m in enumerate(seps)
                    if _is_site(text[m.end(): seps[i + 1].start() if i + 1 < len(seps) else len(text)], keys)),
                   None)
        if cut is not None and cut.start() > 0:
            end = cut.start()
            # "Title_Section_Site", "Title | Section | Site": the short segments between the title and the site,
            # set off by the same separator as the site, are the site's sections (a breadcrumb).
            i = seps.index(cut)
            while i > 0 and seps[i - 1].group().strip() == cut.group().strip() and _is_section(
                    text[seps[i - 1].end(): end], text[: seps[i - 1].start()]):
                i -= 1
                end = seps[i].start()
            text = text[:end].strip()
            continue
        if _is_site(text[: first.start()], keys) and first.end() < len(text):
            text = text[first.end():].strip()
            continue
        break
    return text or None
