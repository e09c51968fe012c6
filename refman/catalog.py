"""Operations on the catalog: add, tag, set/unset pinned fields, look-ups, listings and statistics.

The rules live here (what a reference means, what a user may set, how a bibliography entry finds its work);
the storage is the store's (refman.store.sources). `refman list` must start fast: nothing heavy is imported at
module level. Every write is one transaction: `with store.transaction(): …`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from refman.errors import NotFoundError, UsageError
from refman.timeutil import utc_now

if TYPE_CHECKING:
    from refman.store.protocol import Store
    from refman.store.sources import SourcesStore

# Fields a user may set by hand (`refman set`), with how their text is read.
SETTABLE_FIELDS = (
    "title", "author", "issued", "container_title", "publisher", "doi", "language", "abstract", "type",
    "volume", "issue", "page", "archive_id", "genre",
)
# `refman set ID url=…` gives a work without URL its URL (see _set_url); it is no evidence field
_ISO_PARTIAL = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")  # calendar: _check_issued
_HIDDEN_EVIDENCE = {"label_note", "flag"}  # label_note: 0002 catalogs



# --- look-ups -------------------------------------------------------------------------------------------


def source_for_url(store: SourcesStore, url: str) -> int | None:
    """The source whose normalised URL is `url`, or into which a source with that URL was merged."""
    return store.source_for_url(url)


# --- add, tag, set ----------------------------------------------------------------------------------------


def add_source(
    store: Store,
    url: str,
    *,
    title: str | None = None,
    tags: Sequence[str] = (),
    note: str | None = None,
) -> tuple[int, bool]:
    """Register one URL. Returns (id, created). An existing URL is not duplicated: its tags and note are
    extended, and a given title is pinned as the user's."""
    from refman.urls import normalise_url

    ident = normalise_url(url)
    now = utc_now()
    with store.transaction():
        known = store.source_for_url(ident.url)
        created = known is None
        if known is None:
            source_id = store.insert_source(ident.url, url.strip(), ident.host, now, added_by="add", user_note=note)
        else:
            source_id = known
            old = store.user_note(source_id)
            if note and note != old:
                store.set_user_note(source_id, f"{old}\n\n{note}" if old else note, now)
        _add_tags(store, source_id, tags)
        if title:
            _set_evidence(store, source_id, "title", title, "user", now)
    return source_id, created


def normalise_tag(tag: str) -> str:
    """A tag as stored: surrounding space and a leading # dropped, inner whitespace folded to one space
    (multi-word tags are fine when quoted). Commas are refused: they separate tags in every export."""
    tag = " ".join(tag.strip().lstrip("#").split())
    if not tag:
        raise UsageError("empty tag")
    if "," in tag:
        raise UsageError(f"invalid tag {tag!r}: a tag cannot contain a comma; give several: --add a --add b")
    return tag



def _add_tags(store: SourcesStore, source_id: int, tags: Iterable[str]) -> None:
    store.add_source_tags(source_id, [normalise_tag(tag) for tag in tags])


def tag_sources(
    store: Store, source_ids: Sequence[int], add: Sequence[str] = (), remove: Sequence[str] = ()
) -> list[tuple[int, str]]:
    """Add and remove tags (case-insensitively). Returns the (source id, tag) removals that found no such
    tag on that source."""
    not_there: list[tuple[int, str]] = []
    with store.transaction():
        for sid in source_ids:
            _add_tags(store, sid, add)
            for tag in remove:
                tag = normalise_tag(tag)
                if not store.remove_source_tag(sid, tag):
                    not_there.append((sid, tag))
    return not_there


def all_tags(store: SourcesStore) -> list[tuple[str, int]]:
    """Every tag with its number of sources; spellings that differ only in case count as one (the first)."""
    return store.tag_counts()


def parse_user_value(field: str, text: str) -> Any:
    """A field's value as the user typed it → the stored evidence value."""
    text = text.strip()
    if field not in SETTABLE_FIELDS:
        raise UsageError(f"unknown field {field!r}; settable: {', '.join(SETTABLE_FIELDS)}, citekey, note, url")
    if not text:
        raise UsageError(f"empty value for {field}; use `refman unset` to release a field")
    if field == "author":
        names = [_parse_name(part) for part in re.split(r"\s*;\s*|\s+and\s+", text) if part.strip()]
        if not names or any(not "".join(n.values()).strip() for n in names):
            raise UsageError(f"author {text!r} has an empty name; write 'Family, Given; Other, Name' or"
                             " '{Organisation}'")
        return names
    if field == "issued":
        return _check_issued(text)
    if field == "language":
        return _check_language(text)
    if field == "doi":
        from refman.citation.fields import clean_doi

        doi = clean_doi(text)
        if not doi:
            raise UsageError(f"not a DOI: {text!r}")
        return doi  # as given: DOIs compare case-insensitively, and the case shown is the user's
    if field == "type":
        from typing import get_args

        from refman.citation.item import CSLType

        if text not in get_args(CSLType):
            raise UsageError(f"unknown type {text!r}; one of: {', '.join(get_args(CSLType))}")
    return text


def _check_issued(text: str) -> str:
    """A real calendar date, possibly partial: 2024, 2024-02, 2024-02-29 (not 2024-02-30, not 0000)."""
    from refman.timeutil import valid_partial_date

    if not _ISO_PARTIAL.match(text):
        raise UsageError(f"issued must be an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD), not {text!r}")
    if not valid_partial_date(text):
        raise UsageError(f"issued {text!r} is not a calendar date")
    return text


def _check_language(text: str) -> str:
    """A BCP 47 tag valid in the IANA registry (via langcodes), in its standard form (en-us → en-US)."""
    import langcodes

    if not langcodes.tag_is_valid(text):
        raise UsageError(f"language {text!r} is not a valid BCP 47 tag (e.g. en, en-US, zh-Hans, de-CH)")
    return str(langcodes.standardize_tag(text))


def _parse_name(text: str) -> dict[str, str]:
    """'Family, Given' or 'Given Family' → CSL name; {braces} or one word → an organisation (literal)."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        return {"literal": text[1:-1].strip()}
    if "," in text:
        family, given = (p.strip() for p in text.split(",", 1))
        return {"family": family, "given": given} if given else {"literal": family}
    parts = text.split()
    if len(parts) == 1 or not text.isascii():
        return {"literal": text}
    return {"family": parts[-1], "given": " ".join(parts[:-1])}



def _set_evidence(store: SourcesStore, source_id: int, field: str, value: Any, origin: str, now: str) -> None:
    from refman.evidence import refresh_sources
    from refman.store.sources import NewEvidence

    store.put_field_evidence([NewEvidence(source_id, field, origin, value, now)])
    store.touch_source(source_id, now)
    refresh_sources(store, [source_id])


def set_fields(store: Store, source_id: int, assignments: Sequence[str]) -> dict[str, Any]:
    """Pin user values (`field=value`); no fetch overwrites them. `citekey` and `note` are special."""
    parsed: list[tuple[str, str]] = []
    for item in assignments:
        if "=" not in item:
            raise UsageError(f"expected field=value, got {item!r}")
        field, value = item.split("=", 1)
        parsed.append((field.strip().replace("-", "_"), value))
    now = utc_now()
    done: dict[str, Any] = {}
    with store.transaction():
        for field, text in parsed:
            if field == "citekey":
                from refman.citation.keys import pin_citekey

                pin_citekey(store, source_id, text.strip())
                done[field] = text.strip()
            elif field == "note":
                store.set_user_note(source_id, text.strip() or None, now)
                store.touch_source(source_id, now)
                done[field] = text.strip()
            elif field == "url":
                done[field], merged = _set_url(store, source_id, text, now)
                if merged is not None:
                    done["merged"] = merged
                    source_id = merged["kept"]
            else:
                value = parse_user_value(field, text)
                if field == "doi":
                    _check_doi_identity(store, source_id, value)
                _set_evidence(store, source_id, field, value, "user", now)
                done[field] = value
    return done


def _set_url(store: Store, source_id: int, text: str, now: str) -> tuple[str, dict[str, Any] | None]:
    """Give a work without URL its URL. When another source has that URL already, the two are one work: they
    are merged (refman.duplicates.merge_sources) into the source with the URL, which is where the work lives;
    the result says which source was kept and which keys no longer exist."""
    from refman.urls import normalise_url

    current = store.source_url(source_id)
    ident = normalise_url(text)
    if current == ident.url:
        return ident.url, None
    if current is not None:
        raise UsageError(f"source {source_id} has a URL already ({current}); a source's URL is its identity: "
                         "add the other URL with `refman add` and merge them with `refman merge`")
    other = store.source_for_url(ident.url)
    if other is not None:
        return ident.url, merge_sources(store, other, [source_id])
    store.set_source_url(source_id, ident.url, text.strip(), ident.host, now)
    return ident.url, None


def _check_doi_identity(store: SourcesStore, source_id: int, doi: str) -> None:
    """Two works without URL cannot share a DOI (it is their identity): say which source has it."""
    other = store.other_urlless_source_with_doi(source_id, doi)
    if other is not None:
        raise UsageError(f"source {other} has the DOI {doi} already: they are one work; merge them with"
                         f" `refman merge {other} {source_id}`")


def unset_fields(store: Store, source_id: int, fields: Sequence[str]) -> tuple[list[str], list[str]]:
    """Release pinned user values: the best other evidence shows again. Returns (fields released, fields
    that were not pinned: nothing to release)."""
    from refman.evidence import refresh_sources

    released: list[str] = []
    not_pinned: list[str] = []
    now = utc_now()
    with store.transaction():
        for raw in fields:
            field = raw.strip().replace("-", "_")
            if field == "note":
                gone = store.set_user_note(source_id, None, now)
            elif field in SETTABLE_FIELDS:
                gone = store.delete_user_pin(source_id, field, now)
            else:
                raise UsageError(f"unknown field {field!r}; settable: {', '.join(SETTABLE_FIELDS)}, note")
            (released if gone else not_pinned).append(field)
        if released:
            store.touch_source(source_id, now)
            refresh_sources(store, [source_id])
    return released, not_pinned


# --- listings ---------------------------------------------------------------------------------------------


def list_sources(
    store: SourcesStore,
    *,
    tag: str | None = None,
    orphans: bool = False,
    status: str | None = None,
    ids: Sequence[int] | None = None,
    limit: int | None = None,
    offset: int = 0,
    filters: Any = None,
    sort: str = "added",
) -> list[dict[str, Any]]:
    """Sources as dicts with the citation item's field names (see README: JSON output). `filters` is a
    refman.search.SearchFilters (the --tag/--since/--until/--site/--cited-in/--status of search and export);
    `sort` one of refman.store.sources.LIST_SORTS."""
    from refman.store.sources import LIST_SORTS

    if sort not in LIST_SORTS:
        raise UsageError(f"unknown sort {sort!r}: one of {', '.join(LIST_SORTS)}")
    return store.list_sources(tag=tag, orphans=orphans, status=status, ids=ids, limit=limit, offset=offset,
                              filters=filters, sort=sort)


def count_sources(store: SourcesStore, *, orphans: bool = False, filters: Any = None) -> int:
    """How many sources list_sources would list without a limit."""
    return store.count_sources(orphans=orphans, filters=filters)


def show_source(store: Store, source_id: int, snapshots: int = 10) -> dict[str, Any]:
    """Everything about one source: merged fields with their origins, evidence, mentions, snapshots."""
    items = store.list_sources(ids=[source_id])
    if not items:
        raise NotFoundError(f"no source with id {source_id}")
    item = items[0]
    from refman.evidence import pick
    from refman.store.sources import Evidence

    rows = [r for r in store.field_evidence_rows(source_id) if r.field not in _HIDDEN_EVIDENCE]
    evidence = [Evidence(r.field, r.origin, r.value) for r in rows]
    merged = pick(evidence)
    item["provenance"] = {f: origin for f, (_v, origin) in sorted(merged.items())}
    item["pinned"] = sorted(e.field for e in evidence if e.origin == "user")
    item["evidence"] = [{"field": r.field, "origin": r.origin, "value": r.value, "by": r.changed_by,
                         "at": r.updated_at} for r in rows]
    # who recorded the value each field shows, and the user values that were replaced or removed (newest first)
    recorded = {(r.field, r.origin): r for r in rows}
    item["set_by"] = {f: {"by": recorded[(f, origin)].changed_by, "at": recorded[(f, origin)].updated_at}
                      for f, origin in item["provenance"].items() if (f, origin) in recorded}
    item["history"] = [{"field": h.field, "origin": h.origin, "value": h.value, "by": h.changed_by,
                        "at": h.changed_at, "replaced_by": h.replaced_by, "replaced_at": h.replaced_at}
                       for h in store.field_history(source_id)]
    people = store.source_people(source_id)
    if people is not None:
        item.update(created_by=people.created_by, created_at=people.created_at, updated_by=people.updated_by,
                    updated_at=people.updated_at, tagged_by=people.tagged_by)
    for extra in ("volume", "issue", "page", "archive_id", "genre"):
        if extra in merged:
            item[extra] = merged[extra][0]
    item["mentions"] = store.mentions_of(source_id)
    from refman.notes.importer import label_report

    roles, item["label_conflicts"] = label_report(store, source_id)
    for m in item["mentions"]:
        m["label_id"] = roles.get((m["path"], m["line"]))  # why the label is a link id; None: a title
    item["snapshots"] = store.recent_snapshots(source_id, snapshots)
    item["archived_chars"] = store.archived_chars(source_id)
    from refman.fetch.fallback import copy_facts

    item.update(copy_facts(store, source_id))
    return item


def catalog_stats(store: SourcesStore) -> dict[str, Any]:
    """The catalog's statistics (`refman stats`): counts, sources by status, the top hosts."""
    return store.catalog_statistics()


# --- bibliographies (BibTeX / CSL-JSON as Zotero and Better BibTeX write them) ----------------------------

_BIB_FIELDS = ("type", "title", "author", "editor", "issued", "accessed", "container_title", "publisher", "doi",
               "language", "abstract", "volume", "issue", "page", "archive_id", "genre")



def import_bibliographies(store: Store, paths: Sequence[Any]) -> dict[str, Any]:
    """Add the entries of bibliography files (.bib, CSL .json, .ris, bookmarks .html) as sources. An entry is
    the same work as a source with its normalised URL (or an alias of it), else with its DOI (case-insensitive),
    else its ISBN-13, else — for an entry with none of these — its citation key. Incoming keys are kept where
    free. Every field is evidence of origin `import` (refman.citation.bibliography_reader lists them); warnings
    carry the file and line. Files are read first: one that cannot be read stops the import before anything is
    written."""
    from refman.citation.bibliography_reader import load_bibliography
    from refman.citation.keys import citekey_is_free
    from refman.evidence import refresh_sources
    from refman.store.sources import NewEvidence
    from refman.urls import normalise_url

    entries: list[tuple[str, dict[str, Any]]] = []
    warnings: list[dict[str, Any]] = []
    for path in paths:
        bib = load_bibliography(path)
        entries.extend((str(path), e) for e in bib.entries)
        warnings.extend({"path": str(path), **w} for w in bib.warnings)
    counts: dict[str, Any] = {"entries": len(entries), "new": 0, "matched": 0, "skipped": 0, "without_url": 0,
                              "ids": []}
    now = utc_now()
    touched: list[int] = []
    with store.transaction():
        for path, entry in entries:
            url, ident = entry.get("url"), None
            if url:
                try:
                    ident = normalise_url(url)
                except UsageError as exc:
                    warnings.append({"path": path, "line": None,
                                     "message": f"{entry.get('citekey') or entry.get('title')}: {exc}; URL left out"})
                    url = None
            doi, isbn, key = entry.get("doi"), entry.get("isbn"), entry.get("citekey")
            if not any(v for k, v in entry.items() if k != "type"):
                counts["skipped"] += 1
                counts["ids"].append(None)
                warnings.append({"path": path, "line": None, "message": "an entry without any field skipped"})
                continue
            source_id = store.match_work(ident.url if ident else None, doi, isbn, key)
            if source_id is None and not (ident or doi or isbn or key):
                # an entry with no identity at all (`@misc{,` with a title only) is the bibliography's work
                # without URL, DOI or ISBN with the same title, type and date: importing a file twice adds nothing
                source_id = store.match_keyless_bibliography_work(entry.get("title"), entry.get("type") or "webpage",
                                                                  entry.get("issued"))
            if source_id is None:
                source_id = store.insert_source(
                    ident.url if ident else None, url if ident else None, ident.host if ident else None, now,
                    added_by="bibliography", user_note=entry.get("note"),
                    fields={"isbn": isbn, "doi": doi, "title": entry.get("title"),
                            "type": entry.get("type") or "webpage", "issued": entry.get("issued")},
                )  # the identity now (later entries match it); refreshed below
                counts["new"] += 1
                counts["without_url"] += ident is None
            else:
                counts["matched"] += 1
                if ident is not None:  # a work known without URL gains the entry's URL
                    store.give_url_if_none(source_id, ident.url, str(url), ident.host)
                if isbn:
                    store.give_isbn_if_none(source_id, isbn)
            if key and store.citekey_of(source_id) is None and citekey_is_free(store, key):
                store.store_citekey(source_id, key)
            # Zotero tags may contain spaces; refman tags are single words. The file's own keywords are kept to be
            # written back while the tags stay those (refman.citation.item: verbatim["keywords"]).
            tags = [t.strip() for t in entry.get("tags") or [] if t.strip()]
            words = ["-".join(t.split()) for t in tags]
            _add_tags(store, source_id, words)
            if words != tags:
                entry["verbatim"] = {**(entry.get("verbatim") or {}), "keywords": [tags, sorted(set(words))]}
            rows = [NewEvidence(source_id, f, "import", entry[f], now) for f in _BIB_FIELDS if entry.get(f)]
            rows += [NewEvidence(source_id, f, "import", entry[k], now)
                     for f, k in (("csl", "more"), ("verbatim", "verbatim")) if entry.get(k)]
            store.put_field_evidence(rows)
            touched.append(source_id)
            counts["ids"].append(source_id)
        refresh_sources(store, touched)
    counts["warnings"] = warnings
    return counts


# --- duplicates -------------------------------------------------------------------------------------------


def find_duplicates(store: SourcesStore) -> list[dict[str, Any]]:
    """Groups of sources that are the same page by evidence (redirects, canonical URL, DOI): see
    refman.duplicates.find_duplicates."""
    from refman.duplicates import find_duplicates as find

    return find(store)


def merge_sources(store: Store, keep_id: int, drop_ids: Sequence[int]) -> dict[str, Any]:
    """Merge `drop_ids` into `keep_id` in one transaction; nothing is lost: see refman.duplicates.merge_sources."""
    from refman.duplicates import merge_sources as merge

    return merge(store, keep_id, drop_ids)
