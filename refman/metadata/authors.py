"""Author strings → cleaned names → CSL name dicts.

Pages give authors as meta values, JSON-LD objects and bylines scraped from text. The byline text is where junk
comes from ("See full bio", "Follow", a date, the site's name glued on), so every name passes `is_junk_author`.
Splitting keeps "Family, Given" pairs and initials ("Alexander M. Rush") whole."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from refman.metadata.dates import MONTH_WORDS
from refman.vocabulary import CJK_LETTER

# Words that never occur in a person's name but do in bylines and widgets scraped with it (several languages).
_JUNK_WORDS = frozenset(
    [
        "bio", "biography", "follow", "following", "followers", "view", "author", "authors", "archive",
        "archives", "posts", "post", "articles", "article", "profile", "more", "read", "reading", "minute",
        "minutes", "min", "mins", "lesedauer", "lesezeit", "updated", "update", "published", "posted", "share",
        "tweet", "email", "contact", "subscribe", "newsletter", "admin", "administrator", "editor", "editors",
        "editorial", "comments", "comment", "reply", "login", "sign", "photo", "photos", "image", "images",
        "video", "click", "here", "see", "full", "page", "home", "the", "de", "la", "le", "der", "die", "das",
        "lecture", "tiempo", "temps", "leitura", "lettura", "user", "guest", "anonymous", "unknown",
        "webmaster", "datum", "date", "fecha", "data", "dátum"
    ]
)
# Phrases that make a whole string junk even when some words look like names.
_JUNK_PHRASES = re.compile(
    r"see full bio|view (?:all )?(?:posts|author|profile|articles)|author archive|more (?:from|by|articles)|"
    r"read more|min(?:ute)?s? read|lesedauer|lesezeit|follow (?:on|us|me)|all posts|contributor|"
    r"^follow$|^by$|^and$|^admin$|^author$|^staff$|^editor$|^guest$|^anonymous$|^unknown$|^user$",
    re.IGNORECASE,
)
_ORG_WORDS = frozenset(
    [
        "inc", "inc.", "ltd", "ltd.", "llc", "gmbh", "ag", "corp", "corporation", "company", "press", "news",
        "newsroom", "redaktion", "rédaction", "redacción", "redazione", "team", "staff", "editors", "editorial",
        "desk", "agency", "associated", "reuters", "afp", "dpa", "foundation", "institute", "university",
        "society", "association", "group", "media", "magazine", "journal", "times", "post", "daily", "tribune",
        "herald", "network", "radio", "tv", "television", "service", "services", "department", "ministry",
        "office", "council", "committee", "centre", "center", "lab", "labs", "blog", "wire"
    ]
)
_SUFFIXES = frozenset(
    [
        "jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "m.d.", "mph", "msc", "ma", "ba",
        "bsc", "mba", "dphil", "facp", "frcp", "rn", "dds", "do", "esq"
    ]
)
_PARTICLES = frozenset(
    ["van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "la", "le", "ten", "ter",
     "zu", "bin", "binti", "ibn", "al", "el", "des", "dei", "degli"]
)
_PREFIX = re.compile(
    r"^\s*(?:(?:written|posted|reported|words|text|story|photos?|interview|compiled|edited)\s+by|by|from|"
    r"von|por|par|di|door|av|af|przez|автор|著者|作者|文|author|authors|autor|autora|auteur|autore|"
    r"written by|artikel von|text von|text|texto|texte|testo)\s*[:：|\-–—]?\s+",
    re.IGNORECASE,
)
_SPLIT = re.compile(r"\s*(?:;|\||•|·|/|、|，|&|\b(?i:and|und)\b|\s(?:y|et|e|og|och|i|u|и)\s|和|與|与)\s*")
_HOSTLIKE = re.compile(r"[\w.-]+\.(?:com|org|net|[a-z]{2})", re.IGNORECASE)  # "katholisch.at": a site, not a person
_INITIALS = re.compile(r"^(?:[A-Z]\.?\s*){1,3}$")


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def _is_suffix(part: str) -> bool:
    return part.strip().lower().replace(" ", "") in _SUFFIXES


def is_junk_author(name: str, site_names: Iterable[str] = ()) -> bool:
    """True when `name` is not a person or organisation name but byline debris, a date, a URL or the site."""
    text = name.strip()
    if not text or len(text) > 80:
        return True
    if "@" in text or "://" in text or text.lower().startswith("www.") or _HOSTLIKE.fullmatch(text):
        return True
    if _JUNK_PHRASES.search(text) or _is_suffix(text) or text.lower().strip(".") in {"inc", "ltd", "llc", "gmbh"}:
        return True
    if sum(c.isdigit() for c in text) > 0 and not CJK_LETTER.search(text):
        return True
    words = _norm(text).split()
    if not words:
        return True
    lower = [w for w in text.split() if w[:1].islower() and w.lower() not in _PARTICLES]
    if len(lower) >= 2:  # "Hecho en Bolivia con Drupal": a sentence, not a name
        return True
    if len(words) > 7 or (len(words) == 1 and words[0] in MONTH_WORDS):
        return True
    if all(w in _JUNK_WORDS or w in MONTH_WORDS for w in words):
        return True
    norm = " ".join(words)
    return any(norm == _norm(site) for site in site_names if site)


def strip_site_name(name: str, site_names: Iterable[str]) -> str:
    """'Jane Doe - The Verge' / 'Jane Doe | Site' / 'Jane DoeSite' → 'Jane Doe' when the site name is evidence."""
    for site in site_names:
        if not site or len(site) < 3:
            continue
        low, slow = name.lower(), site.lower()
        if low.endswith(slow) and len(name) > len(site) + 2:
            name = name[: -len(site)].rstrip(" -–—|,/·:(")
        elif low.startswith(slow) and len(name) > len(site) + 2:
            rest = name[len(site):]
            if rest[:1] in " -–—|,/·:":
                name = rest.lstrip(" -–—|,/·:")
    return name.strip()


_FOR_OUTLET = re.compile(r"^(\S+(?:\s+\S+){1,3}?)\s+(?i:for)\s+(?:(?i:the)\s+)?[A-Z0-9].*$")
_CUT = re.compile(r"\s*(?:view (?:all )?(?:posts|author|profile|articles)|see full bio|author archive|get author|"
                  r"more (?:from|by)|follow\b|read more|updated\b|published\b|posted\b|tiempo de lectura|"
                  r"lesedauer|lesezeit|\d+\s*min).*$", re.IGNORECASE)


def clean_author(name: str, site_names: Iterable[str] = ()) -> str | None:
    """One cleaned name, or None when it is junk."""
    sites = list(site_names)
    text = re.sub(r"\s+", " ", name).strip().strip("\"'“”‘’«»")
    text = re.sub(r"\s*\((?:[^()]*)\)\s*$", "", text)  # "Jane Doe (Reuters)" → affiliation, not name
    for _ in range(2):
        text = _PREFIX.sub("", text)
    # Widget text glued after the name ("Oli Coleman View author archive …") is cut, not the name rejected.
    cut = _CUT.sub("", text).strip()
    if cut:
        text = cut
    # "Jane Doe for The Mail on Sunday", "John Smith for Reuters": the outlet the person wrote for, not a name.
    outlet = _FOR_OUTLET.match(text)
    if outlet and not is_organisation(outlet.group(1)) and all(
            w[:1].isupper() or w.lower() in _PARTICLES for w in outlet.group(1).split()):
        text = outlet.group(1)
    stripped = strip_site_name(text, sites)
    if stripped != text and len(stripped.split()) < 2:
        return None  # "CBC News" with site "CBC": what is left of a site name is not a person
    text = stripped
    if not CJK_LETTER.search(text):
        words = text.split()
        # Latin-script names start with a capital: leading lower-case words are UI text ("links open … panel").
        while (len(words) > 1 and words[0][:1].islower() and words[0].lower() not in _PARTICLES
               and not _HOSTLIKE.fullmatch(words[0])):
            words.pop(0)
        # A trailing affiliation mark ("Mahir Yazar a") or a month/date word ("Laura E. Adkins December").
        while len(words) > 1 and ((len(words[-1]) == 1 and words[-1].islower())
                                  or words[-1].lower().strip(".,") in MONTH_WORDS):
            words.pop()
        half = len(words) // 2
        if len(words) % 2 == 0 and half and words[:half] == words[half:]:
            words = words[:half]  # "Confreaks Confreaks"
        text = " ".join(words)
    text = text.strip(" ,;:-–—|·•")
    if is_junk_author(text, sites):
        return None
    # ALL-CAPS bylines ("JOHN SMITH") read better in title case; keep short acronyms (organisations).
    if text.isupper() and len(text) > 5 and " " in text:
        text = text.title()
    return text


def split_authors(text: str, site_names: Iterable[str] = (), *, one_person: bool = False) -> list[str]:
    """Cleaned names from an author string: "A, B and C", "A and B", "A; B", "Family, Given" (kept as one name
    when `one_person`, as in a `citation_author` value, or when the comma separates a name from initials)."""
    if not text:
        return []
    sites = list(site_names)
    text = re.sub(r"\s+", " ", str(text)).strip()
    if len(text) > 600 or "://" in text or text.startswith("www."):
        return []
    for _ in range(2):
        text = _PREFIX.sub("", text)
    if one_person:
        pieces = [text]
    else:
        pieces = []
        for chunk in _SPLIT.split(text):
            pieces.extend(_split_commas(chunk))
    out: list[str] = []
    for piece in pieces:
        cleaned = clean_author(piece, sites)
        if cleaned and cleaned not in out:
            out.append(cleaned)
    return out


def _split_commas(chunk: str) -> list[str]:
    """Split on commas unless the commas belong to one name: 'Family, Given', 'Name, Jr.', 'Name, PhD'."""
    parts = [p.strip() for p in chunk.split(",") if p.strip()]
    if len(parts) <= 1:
        return parts
    if len(parts) == 2 and " " not in parts[0] and len(parts[1].split()) <= 3 and not _is_suffix(parts[1]):
        return [f"{parts[0]}, {parts[1]}"]  # "Rush, Alexander" → one person, inverted
    out: list[str] = []
    for part in parts:
        if out and _is_suffix(part):
            out[-1] = f"{out[-1]}, {part}"
        else:
            out.append(part)
    return out


def is_organisation(name: str) -> bool:
    if _HOSTLIKE.search(name):
        return True  # "auto-motor.at Redaktion"
    words = _norm(name).split()
    return any(w in _ORG_WORDS for w in words) or (len(words) == 1 and not CJK_LETTER.search(name))


def to_csl_name(name: str, *, organisation: bool | None = None) -> dict[str, str]:
    """'Alexander M. Rush' → {'family': 'Rush', 'given': 'Alexander M.'}; 'Rush, Alexander M.' likewise;
    CJK names, single words and organisations → {'literal': name}. Degree and generational suffixes go to
    'suffix' ('Michael L. Anderson, PhD')."""
    text = re.sub(r"\s+", " ", name).strip()
    suffix = None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) > 1 and _is_suffix(parts[-1]):
        suffix, parts = parts[-1], parts[:-1]
    if organisation is None:
        organisation = is_organisation(text) and len(parts) == 1
    if organisation or CJK_LETTER.search(text):
        return {"literal": text}
    out: dict[str, str]
    if len(parts) == 2 and parts[0] and parts[1]:
        out = {"family": parts[0], "given": parts[1]}
    else:
        words = ", ".join(parts).split()
        if len(words) == 1:
            return {"literal": text}
        # Particles before the family name belong to it, in either case when the page gives the name as one
        # string ("Ludwig van Beethoven", "Teven Le Scao"); never the first word ("Van Morrison" is given).
        i = len(words) - 1
        while i > 1 and words[i - 1].lower() in _PARTICLES:
            i -= 1
        out = {"family": " ".join(words[i:]), "given": " ".join(words[:i])}
    if suffix:
        out["suffix"] = suffix
    return out


def display_name(name: dict[str, str]) -> str:
    """A CSL name as 'Given Family[, Suffix]' (or its literal)."""
    if name.get("literal"):
        return name["literal"]
    text = " ".join(p for p in (name.get("given"), name.get("family")) if p)
    return f"{text}, {name['suffix']}" if name.get("suffix") else text


def name_key(name: str) -> str:
    """A comparison key for names (case, accents and punctuation folded)."""
    return _norm(name)
