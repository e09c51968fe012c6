"""Citation metadata from an HTML page: evidence from every embedded source, then judgement per field.

Sources, in order of trust: Highwire `citation_*`, JSON-LD, Dublin Core, OpenGraph/`article:*`, plain `<meta>` /
`<html lang>` / `<title>` / microdata, trafilatura's metadata, then the page's text (the <h1>, a byline, a date
under the headline, author-profile links, a DOI near the title). Reading the page (the lxml tree, the `Page`
evidence object and the helpers that find things in its text) is `refman.metadata.page`'s; this module judges
that evidence, with `extract_html` as its entry point. Values are cleaned and checked (junk authors, site
suffixes on titles, publication vs modification dates) before one is chosen per field; every candidate is kept
with its origin.
Nothing here knows a particular site: the rules use the page's own evidence (its site name, its <title>, its
host) and generic platforms only (code hosts for the software type)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import refman.metadata.jsonld as jsonld
from refman.metadata.authors import display_name, is_organisation, name_key, split_authors, to_csl_name
from refman.metadata.dates import parse_date, supported_precision
from refman.metadata.identifiers import (
    arxiv_from_url,
    arxiv_in_text,
    doi_from_url,
    normalize_arxiv,
    normalize_doi,
)
from refman.metadata.language import normalize_language
from refman.metadata.page import (
    Page,
    author_links,
    bylines,
    date_after_h1,
    doi_near_title,
    parse_tree,
    printed_after_h1,
)
from refman.metadata.sites import is_address, is_host_like, is_section_name
from refman.metadata.titles import clean_title
from refman.metadata.types import PageMetadata
from refman.vocabulary import Origin

CIT, LD, DC, OG, META, TRAF = (Origin.PAGE_CITATION, Origin.PAGE_JSON_LD, Origin.PAGE_DC, Origin.PAGE_OG,
                               Origin.PAGE_META, Origin.PAGE_TRAFILATURA)
TWITTER = Origin.PAGE_TWITTER  # twitter:* cards: social metadata like OpenGraph, but not OpenGraph
# A site name read off the host (the page names no site): a fallback that any named site beats, a label's too.
HOST = Origin.PAGE_HOST
# Evidence read from the page's text rather than its metadata: the <h1>, a byline or a date printed under it,
# author-profile links, a DOI printed near the title (ranked as any page:* origin, refman.vocabulary.PAGE_RANK).
TEXT = Origin.PAGE_TEXT

_NEWS_WORDS = re.compile(r"news|times|post|herald|tribune|journal|gazette|daily|zeitung|presse|press|"
                         r"chronicle|guardian|telegraph|courier|monde|diario|noticias|nachrichten|reuters|bbc",
                         re.IGNORECASE)
_REPO_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org")



def extract_html(html: str, url: str, *, trafilatura_metadata: dict[str, Any] | None = None) -> PageMetadata:
    root = parse_tree(html)
    page = Page(root)
    if trafilatura_metadata is None:
        trafilatura_metadata = _trafilatura_metadata(html, url)
    return _judge(page, url, trafilatura_metadata or {}, html)


def _trafilatura_metadata(html: str, url: str) -> dict[str, Any]:
    """trafilatura's own metadata pass, for callers that did not run trafilatura (adds its date search)."""
    try:
        from trafilatura.metadata import extract_metadata

        doc = extract_metadata(html, default_url=url)
    except Exception:  # trafilatura is a best-effort extra source here, never a reason to fail
        return {}
    return {k: getattr(doc, k, None) for k in ("title", "author", "date", "sitename", "description", "language")}


def _judge(page: Page, url: str, traf: dict[str, Any], html: str) -> PageMetadata:
    out = PageMetadata()
    host = (urlsplit(url).hostname or "").lower() if url else ""
    objects = jsonld.parse_scripts(page.scripts)
    ids = jsonld.index_by_id(objects)
    main = jsonld.main_object(objects)

    def add(name: str, value: Any, origin: str) -> None:
        out.add_candidate(name, value, origin)

    # --- site name and publisher (needed as evidence for titles and authors) ---
    # A journal or proceedings is the container of a paper; the site's name is the container of a web page.
    for key, origin in (("citation_journal_title", CIT), ("citation_conference_title", CIT),
                        ("citation_inbook_title", CIT), ("prism.publicationname", DC)):
        for v in page.get(key):
            add("container_title", v, origin)
    for v in page.get("og:site_name"):
        if not is_section_name(v):  # 'U.S.', 'World': a news site's section, not the site
            add("container_title", _site_name(v, host), OG)
    publishers: list[tuple[str, Origin]] = [(v, CIT) for v in page.get("citation_publisher")]
    publishers += [(v, DC) for v in page.get("dc.publisher", "dcterms.publisher")]
    if main is not None:
        for name, _org in jsonld.person_names(main.get("publisher"), ids):
            publishers.append((name, LD))
        part_of = jsonld.resolve(main.get("isPartOf"), ids)
        part_name = jsonld.text_of(part_of) if isinstance(part_of, dict | list) else None
        if part_name and not (isinstance(part_of, dict) and jsonld.has_type(part_of, jsonld.PAGE_TYPES)):
            add("container_title", part_name, LD)
    for obj in objects:
        if jsonld.has_type(obj, ("WebSite",)):
            website = jsonld.text_of(obj.get("name"))
            if website:
                add("container_title", website, LD)
    # A legal entity ('Wikimedia Foundation, Inc.') is kept as the page's site when the page names no other:
    # refman.merge ranks such a generic site below a label's site.
    for name, origin in publishers:
        add("publisher", name, origin)
        add("container_title", name, origin)
    # Some sites (and trafilatura, falling back) give the page's title as the site's name.
    page_titles = {name_key(t) for t in [*page.get("og:title", "twitter:title"), page.title or "",
                                          str(traf.get("title") or "")]}
    for v in page.get("application-name"):
        if name_key(v) not in page_titles:  # some sites put the page's title there
            add("container_title", _site_name(v, host), META)
    if traf.get("sitename") and name_key(str(traf["sitename"])) not in page_titles:
        sitename = str(traf["sitename"])
        if is_host_like(sitename):  # trafilatura falls back to the host: not evidence of a name
            if not is_address(sitename):  # an IP address or localhost names nothing
                add("container_title", _readable_host(sitename) if re.fullmatch(r"[\w.-]+\.[a-z]{2,}", sitename)
                    else sitename, HOST)
        else:
            add("container_title", _site_name(sitename, host), TRAF)
    sites = [v for v, _ in out.candidates.get("container_title", []) if isinstance(v, str)]
    site_names = [s for s in sites if 2 < len(s) < 80]

    # --- title ---
    raw_titles: list[tuple[str, str]] = [(v, CIT) for v in page.get("citation_title")]
    if main is not None:
        for key in ("headline", "name"):
            got = jsonld.text_of(main.get(key))
            if got:
                raw_titles.append((got, LD))
                break
    raw_titles += [(v, OG) for v in page.get("og:title")]
    raw_titles += [(v, TWITTER) for v in page.get("twitter:title")]
    raw_titles += [(v, DC) for v in page.get("dc.title", "dcterms.title")]
    raw_titles += [(v, META) for v in page.get("title", "sailthru.title", "parsely-title")]
    if page.title:
        raw_titles.append((page.title, META))
    if traf.get("title"):
        raw_titles.append((traf["title"], TRAF))
    if page.h1:
        raw_titles.append((page.h1, TEXT))
    elif page.h2 and any(_agrees(page.h2, v) for v, _ in raw_titles):
        raw_titles.append((page.h2, TEXT))
    _titles(out, raw_titles, page, site_names, host)

    # --- authors ---
    _authors(page, main, ids, traf, site_names, add, host)

    # --- dates: publication first, then creation, then online/modified ---
    dates = _DateEvidence()

    def add_date(raw: str | None, origin: str, *, published: bool = True) -> None:
        day = parse_date(raw)
        dates.note(raw, day, published=published)
        add("issued", day, origin)

    # An issue's cover date ("2017/01/01") is its month with a filler day: a fallback, never a day for a
    # partial publication date.
    for key in ("citation_publication_date", "citation_date", "citation_cover_date", "citation_year"):
        for v in page.get(key):
            add_date(v, CIT, published=key != "citation_cover_date")
    if main is not None:
        for key in ("datePublished", "dateCreated"):
            add_date(jsonld.text_of(main.get(key)), LD)
    for v in page.get("article:published_time", "og:published_time", "article:published",
                      "og:article:published_time"):
        add_date(v, OG)
    for v in page.get("dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date", "dc.date.created",
                      "dcterms.created", "prism.publicationdate"):
        add_date(v, DC)
    # Keys that say "published" before the bare "date" keys, which some platforms fill with the last revision.
    for v in page.get("datepublished", "pubdate", "publishdate", "publish-date", "publish_date", "parsely-pub-date",
                      "article.published", "article_date_original", "original-publish-date", "dc.date.published",
                      "date_published", "publication_date", "published-date", "cxenseparse:recs:publishtime",
                      "date", "sailthru.date"):
        add_date(v, META)
    for v in page.microdata.get("datepublished", []):
        add_date(v, META)
    for v in page.get("citation_online_date"):
        add_date(v, CIT)
    # trafilatura's date search falls back to a year's 1 January (copyright lines); a date printed next to the
    # headline is better evidence then.
    traf_date = parse_date(traf.get("date")) if traf.get("date") else None
    text_date = date_after_h1(page)
    dates.text_day = text_date
    if traf_date and traf_date.endswith("-01-01"):
        add_date(text_date, TEXT)
    # trafilatura fills a missing day or month (a placeholder, or today's day): keep only what the page writes
    add_date(supported_precision(traf_date, f"{url or ''} {html}"), TRAF)
    add_date(text_date, TEXT)
    if main is not None:
        add_date(jsonld.text_of(main.get("dateModified")), LD, published=False)
    for v in page.get("article:modified_time", "og:updated_time", "dcterms.modified", "last-modified"):
        add_date(v, OG, published=False)
    dates.url_day = _url_date(url)
    add("issued", dates.url_day, META)

    # --- language ---
    for key, origin in (("citation_language", CIT), ("dc.language", DC), ("dcterms.language", DC)):
        for v in page.get(key):
            add("language", normalize_language(v), origin)
    add("language", normalize_language(page.lang), META)
    if main is not None:
        add("language", normalize_language(jsonld.text_of(main.get("inLanguage"))), LD)
    for v in page.get("content-language", "language"):
        add("language", normalize_language(v), META)
    for v in page.get("og:locale"):
        add("language", normalize_language(v), OG)
    if traf.get("language"):
        add("language", normalize_language(traf["language"]), TRAF)

    # --- identifiers ---
    for key, origin in (("citation_doi", CIT), ("bepress_citation_doi", CIT), ("prism.doi", DC),
                        ("dc.identifier", DC), ("dcterms.identifier", DC), ("dc.identifier.doi", DC),
                        ("doi", META), ("citation_id", CIT)):
        for v in page.get(key):
            add("doi", normalize_doi(v), origin)
    if main is not None:
        for key in ("identifier", "sameAs", "@id", "url"):
            found = main.get(key)
            for node in found if isinstance(found, list) else [found]:
                identifier = (jsonld.text_of(node) if not isinstance(node, dict)
                              else jsonld.text_of(node.get("value") or node))
                if identifier and "10." in identifier:
                    add("doi", normalize_doi(identifier), LD)
    canonical = next(iter(page.links.get("canonical") or []), None) or page.first("og:url")
    for u, origin in ((url, META), (canonical, META), (page.first("citation_abstract_html_url"), CIT)):
        add("doi", doi_from_url(u), origin)
    # A news article or blog post that prints a DOI reports on that work: the DOI is not its own.
    if not out.candidates.get("doi") and not (main is not None and jsonld.has_type(main, _REPORT_TYPES)):
        add("doi", doi_near_title(page, html, [v for v, _ in out.candidates.get("title", [])]), TEXT)
    for v in page.get("citation_arxiv_id"):
        add("archive_id", normalize_arxiv(v), CIT)
    for u in (url, canonical):
        add("archive_id", arxiv_from_url(u), META)
    for doi, _ in out.candidates.get("doi", []):
        add("archive_id", normalize_arxiv(doi) if doi.startswith("10.48550/") else None, META)
    if not out.candidates.get("archive_id") and (host.endswith("arxiv.org") or page.get("citation_arxiv_id")):
        add("archive_id", arxiv_in_text(" ".join(page.get("citation_pdf_url"))), META)

    # --- abstract, volume/issue/page ---
    for key, origin in (("citation_abstract", CIT), ("dc.description", DC), ("dcterms.abstract", DC),
                        ("og:description", OG), ("description", META), ("twitter:description", TWITTER)):
        for v in page.get(key):
            add("abstract", _unescape(v), origin)
    if main is not None:
        add("abstract", jsonld.text_of(main.get("description")), LD)
    if traf.get("description"):
        add("abstract", traf["description"], TRAF)
    for v in page.get("citation_volume", "prism.volume"):
        add("volume", v, CIT)
    for v in page.get("citation_issue", "prism.number"):
        add("issue", v, CIT)
    first, last = page.first("citation_firstpage", "prism.startingpage"), page.first("citation_lastpage")
    if first:
        add("page", f"{first}-{last}" if last and last != first else first, CIT)

    # --- choose ---
    _choose(out, page, site_names, host, dates)
    out.canonical_url = canonical
    out.pdf_url = page.first("citation_pdf_url")
    _infer_type(out, page, main, objects, url, host)
    return out


def _authors(page: Page, main: dict[str, Any] | None, ids: dict[str, Any], traf: dict[str, Any],
             site_names: list[str], add: Any, host: str = "") -> None:
    """Author candidates, one list of CSL names per source. A name equal to the site's name counts only when
    no source names anyone else (a foundation's own blog post is by the foundation)."""
    raw: list[tuple[list[tuple[str, bool | None, bool]], str]] = []  # ([(text, organisation, one_person)], origin)
    raw.append(([(v, None, True) for v in page.get("citation_author", "bepress_citation_author")], CIT))
    if main is not None:
        raw.append(([(n, True if org else None, org) for n, org in
                     jsonld.person_names(main.get("author") or main.get("creator"), ids)], LD))
    raw.append(([(v, None, False) for v in page.get("dc.creator", "dcterms.creator", "dc.creator.personalname")],
                DC))
    og_names: list[str] = []
    og_urls: list[str] = []
    for v in page.get("article:author", "og:article:author"):
        if "://" in v or v.startswith("www."):
            og_urls.extend(u for u in re.split(r"[\s,]+", v) if u)
        else:
            og_names.append(v)
    raw.append(([(v, None, False) for v in og_names], OG))
    raw.append(([(v, None, False) for v in page.get(
        "author", "byl", "parsely-author", "sailthru.author", "dc.contributor", "twitter:creator:name",
        "citation_authors", "cxenseparse:author")], META))
    # OpenGraph says article:author is a profile URL; its last path segment is often the name as a slug.
    raw.append(([(n, False, True) for n in (_slug_name(u) for u in og_urls) if n], OG))
    raw.append(([(v, None, False) for v in page.microdata.get("author", []) + page.microdata.get("creator", [])],
                META))
    # trafilatura turns a host-like author ('katholisch.at', which is the site) into 'Katholisch At'.
    traf_author = str(traf.get("author") or "")
    if traf_author and name_key(traf_author) != name_key(host.removeprefix("www.")):
        raw.append(([(traf_author, None, False)], TRAF))
    raw.append(([(v, None, True) for v in author_links(page)], TEXT))
    raw.append(([(v, None, False) for v in bylines(page, site_names)], TEXT))

    def lists(sources: list[tuple[list[tuple[str, bool | None, bool]], str]], sites: list[str],
              ) -> list[tuple[list[dict[str, str]], str]]:
        got = []
        for items, origin in sources:
            names: list[dict[str, str]] = []
            for text, org, one in items:
                for n in split_authors(_unescape(text), sites, one_person=one):
                    names.append(to_csl_name(n, organisation=org))
            names = _drop_companies(_dedupe_names(names))
            if names:
                got.append((names, origin))
        return got

    found = lists(raw, site_names)
    if found and {o for _, o in found} == {TRAF} and page.h1_el is not None:
        # Only trafilatura's guess from the text names a person, while the page's own markup (meta, JSON-LD,
        # rel=author, a byline) names the site: the site (its staff account) is the author unless the guess is
        # printed under the headline (a byline the markup missed); elsewhere it is a name from a sidebar or
        # the comments.
        site_authored = lists([r for r in raw if r[1] != TRAF], [])
        if site_authored and not all(printed_after_h1(page, display_name(n)) for n in found[0][0]):
            found = site_authored
    if not found:
        found = lists(raw, [])
    for names, origin in found:
        add("author", names, origin)


_COMPANY = re.compile(r"\b(?:inc|ltd|llc|gmbh|corp|co|plc|s\.?a|ag|k\.?k)\.?$", re.IGNORECASE)


def _drop_companies(names: list[dict[str, str]]) -> list[dict[str, str]]:
    """A company ("mediagene Inc.") or an agency code ("TNN", "PTI") listed with people is a credit line or the
    publisher, not an author."""
    def credit(n: dict[str, str]) -> bool:
        return "literal" in n and bool(_COMPANY.search(n["literal"]) or re.fullmatch(r"[A-Z]{2,5}", n["literal"]))

    people = [n for n in names if not credit(n)]
    return people if people else names


def _slug_name(url: str) -> str | None:
    """'https://www.nytimes.com/by/marc-santora' → 'Marc Santora' (2–4 alphabetic words only)."""
    segment = urlsplit(url.strip()).path.rstrip("/").rsplit("/", 1)[-1]
    words = segment.split("-")
    if 2 <= len(words) <= 4 and all(w.isalpha() for w in words):
        return " ".join(w.capitalize() if len(w) > 1 else w.upper() + "." for w in words)
    return None


_ID_LIKE = re.compile(r"^[\w-]*\d[\w-]*$")
# Navigation words that an <h1> or a <title> holds on pages whose headline is elsewhere.
_SECTION_WORDS = frozenset(
    [
        "news", "blog", "home", "homepage", "article", "articles", "aktuelles", "actualités", "actualites",
        "noticias", "nachrichten", "startseite", "accueil", "inicio", "notizie", "press", "menu", "search",
        "suche"
    ]
)
_SEP = re.compile(r"\s+(?:\||-|–|—|::|·|•|»|/|:)\s+|\s*[|｜：_:]\s*")


def _agrees(heading: str, title: str) -> bool:
    """Is `heading` the title, or its first part before a separator ('Heading (2021/5)', 'Heading | Site')?"""
    head, full = name_key(heading), re.sub(r"\s+", " ", _unescape(title)).casefold()
    if not head or len(heading) < 8:
        return False
    if head == name_key(title):
        return True
    start = heading.casefold()
    return full.startswith(start) and full[len(start):].lstrip()[:1] in "|-–—:·(_｜：[/"


def _titles(out: PageMetadata, raw: list[tuple[str, str]], page: Page, site_names: list[str], host: str) -> None:
    """Title candidates, best first. Social titles (og:title, JSON-LD headline) are sometimes rewritten for
    sharing, and the <h1> is what readers see; so each candidate is ranked by the sources that support it: the
    same title, or a longer one that holds it as a separated part ('Title | Section', 'Kicker: Title'). The
    <h1> weighs 2.5 (more than two copies of a social title), a `citation_title` wins outright (it is written
    for citation); ties keep source order."""
    # An <h1> or trafilatura title that is the short last part of a multi-part <title> is the site's name
    # (a logo in an <h1>): "Long headline_Section_SiteName".
    parts = [p.strip() for p in _SEP.split(page.title or "") if p.strip()]
    if len(parts) >= 2 and len(parts[-1]) < len(parts[0]):
        last = name_key(parts[-1])
        site_names = [*site_names, *(v.strip() for v, o in raw if o in (TEXT, TRAF) and name_key(v) == last)]
    cleaned: list[tuple[str, str]] = []
    for value, origin in raw:
        title = clean_title(_unescape(value), site_names, host)
        if (title and not _is_site_title(title, site_names) and not _ID_LIKE.match(title) and len(title) < 400
                and name_key(title) not in _SECTION_WORDS):
            cleaned.append((title, origin))
    if not cleaned:
        return
    keys = [name_key(t) for t, _ in cleaned]
    weights = [10.0 if o == CIT else 2.5 if o == TEXT else 1.0 for _, o in cleaned]

    folded = [re.sub(r"\s+", " ", t).casefold() for t, _ in cleaned]

    def holds(j: int, i: int) -> bool:
        """Does candidate j support candidate i: the same title, or i as a separated part of j?"""
        if keys[j] == keys[i]:
            return True
        if cleaned[j][1] == TEXT:
            return False  # an <h1> 'Kicker: Headline' is printed whole: it supports itself, not a part of it
        longer, part = folded[j], folded[i]
        if len(part) < 12 or len(part) >= len(longer):
            return False
        if longer.startswith(part):
            return longer[len(part):].lstrip()[:1] in "|-–—:·(_｜：[/"
        if longer.endswith(part):
            return longer[: -len(part)].rstrip()[-1:] in "|-–—:·)_｜：]/"
        return False

    def support(i: int) -> float:
        # Copies of one value in one family of sources (og:title and twitter:title) count once.
        voters = {(keys[j], OG if cleaned[j][1] == TWITTER else cleaned[j][1]): w
                  for j, w in enumerate(weights) if holds(j, i)}
        votes = sum(voters.values())
        return votes - i / 100

    order = sorted(range(len(cleaned)), key=support, reverse=True)
    for i in order:
        out.add_candidate("title", cleaned[i][0], cleaned[i][1])


def _dedupe(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for n in names:
        if name_key(n) not in seen:
            seen.add(name_key(n))
            out.append(n)
    return out


def _dedupe_names(names: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    out = []
    for n in names:
        key = name_key(" ".join(n.values()))
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


def _choose(out: PageMetadata, page: Page, site_names: list[str], host: str, dates: _DateEvidence) -> None:
    cands = out.candidates
    for name in ("title", "issued", "language", "doi", "archive_id", "publisher", "abstract", "volume",
                 "issue", "page", "container_title"):
        if cands.get(name):
            out.fields[name] = cands[name][0]
    authors = cands.get("author", [])
    if authors:
        out.fields["author"] = _pick_authors(authors)
    issued = _pick_date(cands.get("issued", []), dates)
    if issued:
        out.fields["issued"] = issued
    sites = cands.get("container_title", [])
    # the first site the page names, legal entities included (readers' ground truth calls 'Wikimedia
    # Foundation, Inc.' Wikipedia's site: refman.merge ranks it below a label's site); the host's name only when
    # the page names none; a news section never
    named = [c for c in sites if isinstance(c[0], str) and c[1] != HOST and not is_section_name(c[0])]
    fallback = [c for c in sites if isinstance(c[0], str) and not is_section_name(c[0])]
    if named or fallback:
        out.fields["container_title"] = (named or fallback)[0]
    elif host and not is_address(host):
        out.fields["container_title"] = (_readable_host(host), HOST)


def _pick_authors(lists: list[tuple[list[dict[str, str]], str]]) -> tuple[list[dict[str, str]], str]:
    """The first source's list, unless it names only an organisation (often the site) and a later source names
    people."""
    first = lists[0]
    if all("literal" in n and is_organisation(n["literal"]) for n in first[0]):
        for names, origin in lists[1:]:
            if any("family" in n for n in names):
                return names, origin
    return first


class _DateEvidence:
    """What the date candidates alone do not say: which days were read from publication (not modification)
    fields, which came from UTC instants (and at what hour) or from timestamps with a local offset, the day
    printed under the headline and the day in the URL's path."""

    def __init__(self) -> None:
        self.local: dict[str, bool] = {}  # day → written with a local offset (True) or as a UTC instant (False)
        self.utc_hour: dict[str, int] = {}
        self.published: set[str] = set()
        self.text_day: str | None = None
        self.url_day: str | None = None

    def note(self, raw: str | None, day: str | None, *, published: bool) -> None:
        if not raw or not day:
            return
        if published:
            self.published.add(day)
        raw = raw.strip()
        if _UTC.search(raw):
            self.local.setdefault(day, False)
            hour = _HOUR.search(raw)
            if hour and day not in self.utc_hour:
                self.utc_hour[day] = int(hour.group(1))
        elif _OFFSET.search(raw):
            self.local[day] = True


def _pick_date(cands: list[tuple[str, str]], ev: _DateEvidence) -> tuple[str, str] | None:
    """The first date, refined, then checked against the URL:

    - a partial date ('2024-06', an issue's month) takes a day within it from a later publication source (not
      a modification date, not an issue's cover date, not trafilatura's guess); failing that, a day in the same
      year (an online-first article whose issue came out later: Crossref's `issued` is likewise the earliest of
      print and online).
      The year never changes.
    - a UTC instant gives way to the same moment written with the publisher's own offset, or to the day printed
      under the headline when the instant's hour allows that day in some time zone (UTC-12…UTC+14): the
      calendar day the page shows is the publisher's local one.
    - a full date in the URL's path (/2017/07/12/slug) is the day the permalink was made: a metadata date more
      than a day after it is a republication or revision, and the URL's day wins (it also fills a missing date).
    """
    chosen = cands[0] if cands else None
    if chosen is not None and len(chosen[0]) < 10:
        chosen = _refine_partial(chosen, cands[1:], ev)
    elif chosen is not None and ev.local.get(chosen[0]) is False:
        chosen = _local_day(chosen, cands, ev)
    url_day = ev.url_day
    if url_day:
        if chosen is None or (len(chosen[0]) < 10 and url_day.startswith(chosen[0])):
            return url_day, META
        if len(chosen[0]) == 10 and _ordinal(chosen[0]) - _ordinal(url_day) > 1:
            return url_day, META
    return chosen


def _refine_partial(first: tuple[str, str], later: list[tuple[str, str]], ev: _DateEvidence) -> tuple[str, str]:
    days = [(v, o) for v, o in later if len(v) == 10 and v in ev.published and o != TRAF]  # not a guess
    within = [d for d in days if d[0].startswith(first[0])] or [d for d in days if d[0][:4] == first[0][:4]]
    return within[0] if within else first


def _local_day(first: tuple[str, str], cands: list[tuple[str, str]], ev: _DateEvidence) -> tuple[str, str]:
    for value, origin in cands[1:6]:
        if ev.local.get(value) and len(value) == 10 and abs(_ordinal(value) - _ordinal(first[0])) <= 1:
            return value, origin
    text, hour = ev.text_day, ev.utc_hour.get(first[0])
    if text and hour is not None:
        shift = _ordinal(text) - _ordinal(first[0])
        if (shift == -1 and hour < 12) or (shift == 1 and hour >= 10):
            return text, TEXT
    return first


def _ordinal(day: str) -> int:
    from datetime import date

    try:
        return date.fromisoformat(day).toordinal()
    except ValueError:
        return 0


_UTC = re.compile(r"(?:Z|[+-]00:?00|GMT|UTC)$", re.IGNORECASE)
_OFFSET = re.compile(r"T\d.*[+-]\d\d:?\d\d$")
_HOUR = re.compile(r"[T\s](\d{1,2}):\d\d")
_URL_DATE = re.compile(r"/((?:19|20)\d\d)([/-])(\d{1,2})\2(\d{1,2})(?=/|-|_|\.|$)")


def _url_date(url: str | None) -> str | None:
    """The day in a URL's path: '/2017/7/12/slug', '/news/2020-01-10-slug'."""
    if not url:
        return None
    match = _URL_DATE.search(urlsplit(url).path)
    if not match:
        return None
    y, _, m, d = match.groups()
    return parse_date(f"{y}-{int(m):02d}-{int(d):02d}")


def _is_site_title(title: str, site_names: list[str]) -> bool:
    key = name_key(title)
    return any(key == name_key(s) for s in site_names)


_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go"}


def _readable_host(host: str) -> str:
    """'www.pluralsight.com' → 'Pluralsight', 'news.bbc.co.uk' → 'BBC': the registrable name of the host."""
    labels = [x for x in host.lower().split(".") if x]
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        labels = labels[:-1]
    name = labels[-2] if len(labels) >= 2 else (labels[0] if labels else host)
    return name.upper() if len(name) <= 3 else name[:1].upper() + name[1:]


_CORP_SUFFIX = re.compile(r",?\s+(?:Inc|Ltd|LLC|GmbH|Corp|Corporation|Limited|PLC)\.?$", re.IGNORECASE)


def _site_name(value: str, host: str) -> str:
    """A site name without a corporate suffix ('Spiceworks Inc') or a tagline after the name when the name is
    the host's ('Aktuálně.cz - Víte, co se právě děje')."""
    value = _CORP_SUFFIX.sub("", re.sub(r"\s+", " ", value).strip())
    parts = re.split(r"\s+[-–—|:]\s+", value)
    if len(parts) > 1 and host:
        label = name_key(_readable_host(host))
        for part in parts:
            if label and label.replace(" ", "") in name_key(part).replace(" ", ""):
                return part
    return value


_REPORT_TYPES = ("NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "BlogPosting", "LiveBlogPosting",
                 "SocialMediaPosting")
def _unescape(text: str) -> str:
    import html as htmlmod

    return re.sub(r"\s+", " ", htmlmod.unescape(text)).strip()


def _infer_type(out: PageMetadata, page: Page, main: dict[str, Any] | None, objects: list[dict[str, Any]],
                url: str, host: str) -> None:
    """The CSL type from the evidence; its origin is the source that decided it."""
    types = set(jsonld.types_of(main)) if main is not None else set()
    publisher = " ".join(v for v, _ in out.candidates.get("publisher", []))
    path = urlsplit(url).path if url else ""
    if out.fields.get("archive_id") or re.search(r"\b(?:bio|med)rxiv\b", f"{host} {publisher}", re.IGNORECASE):
        out.fields["type"] = ("article", CIT if page.get("citation_title") else META)
        out.fields["genre"] = ("preprint", out.fields["type"][1])
    elif page.get("citation_conference_title", "citation_conference"):
        out.fields["type"] = ("paper-conference", CIT)
    elif page.get("citation_dissertation_institution"):
        out.fields["type"] = ("thesis", CIT)
    elif page.get("citation_technical_report_institution", "citation_technical_report_number"):
        out.fields["type"] = ("report", CIT)
    elif page.get("citation_journal_title"):
        out.fields["type"] = ("article-journal", CIT)
    elif types & {"ScholarlyArticle", "MedicalScholarlyArticle"}:
        out.fields["type"] = ("article-journal", LD)
    elif types & {"NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
                  "BackgroundNewsArticle", "ReviewNewsArticle", "LiveBlogPosting"}:
        out.fields["type"] = ("article-newspaper", LD)
    elif types & {"BlogPosting", "SocialMediaPosting"}:
        out.fields["type"] = ("post-weblog", LD)
    elif types & {"Report"}:
        out.fields["type"] = ("report", LD)
    elif types & {"SoftwareSourceCode"} or (host.removeprefix("www.") in _REPO_HOSTS
                                            and len([p for p in path.split("/") if p]) >= 2):
        out.fields["type"] = ("software", LD if "SoftwareSourceCode" in types else META)
    elif types & {"Book"}:
        out.fields["type"] = ("book", LD)
    elif types & {"Thesis"}:
        out.fields["type"] = ("thesis", LD)
    elif types & {"Dataset"}:
        out.fields["type"] = ("dataset", LD)
    elif page.get("citation_title") and out.fields.get("doi"):
        out.fields["type"] = ("article-journal", CIT)
    elif (page.first("og:type") or "").lower() == "article":
        site = str(out.fields.get("container_title", ("", ""))[0])
        newsy = any(jsonld.has_type(o, ("NewsMediaOrganization",)) for o in objects) \
            or (bool(page.get("news_keywords", "article:section", "original-source")) and bool(
                _NEWS_WORDS.search(f"{site} {host}")))
        if newsy:
            out.fields["type"] = ("article-newspaper", OG)
        elif re.search(r"(?:^|\.)blog\.|/blog/|blog", f"{host}{path}", re.IGNORECASE):
            out.fields["type"] = ("post-weblog", OG)
        elif types & {"Article"} or main is None:
            out.fields["type"] = ("webpage", OG)
    elif re.search(r"(?:^|\.)blog\.|/blogs?/", f"{host}{path}", re.IGNORECASE) and out.fields.get("issued"):
        out.fields["type"] = ("post-weblog", META)
    if "type" not in out.fields:
        out.fields["type"] = ("webpage", META)
