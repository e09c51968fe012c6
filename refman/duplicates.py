"""Duplicate sources: find the sources that are the same page by evidence, and merge them into one.

Detection (`find_duplicates`) looks only at evidence the catalog holds, never at the network:

* **redirect**: the latest good snapshot (ok or thin) of a source was fetched at a final URL, through a chain of
  redirect hops; each of those URLs, normalised (refman.urls), is the same page as the source. Two sources
  whose URLs or final URLs meet are duplicates (a short link and the article; the http and https pages; an old
  slug that moved);
* **canonical**: the page's `<link rel=canonical>` (or og:url), kept in the snapshot's `metadata_json`, equals
  another source's URL or final URL;
* **doi**: two sources whose merged DOI is the same (case-insensitive);
* **content**: the latest good snapshots of two sources have the same body (content hash) and are full pages
  (outcome ok: thin pages are often one JavaScript shell or consent wall shared by many articles): the same
  page served under two URLs (a mirror path, a trailing-slash variant, a printer-friendly alias).

A canonical or final URL is ignored as evidence when it is generic: a site's home page (path `/`, no query)
unless the source itself is a home page; a strict ancestor of the source's own path on the same host (an
article that now redirects to its section); or a URL that more than GENERIC_CLAIMS sources claim (a login page,
a template's fixed canonical); so is a body that more than GENERIC_CLAIMS sources share (an error or login
page). Sources linked by evidence are grouped transitively.

The survivor is where the page lives now: the URL most of the group's latest fetches ended at (a source's
own URL when its fetch was not redirected). The source whose own URL that is, is kept; when no source has it
(a short link and an old slug both redirect to an article the catalog does not know yet), the first imported
source is kept and takes that URL (`url_now`), its old URL becoming an alias like the dropped ones'. Without
fetch evidence (DOI only) or when the landings tie, the first imported source (lowest id) is kept.

Merging (`merge_sources`) is one transaction: mentions, tags, snapshots, notes, pinned values and the
archived text move to the kept source; the dropped sources are deleted. The search index follows by the
catalog's triggers (migration 0002). See merge_sources for the rules. The storage is the store's
(refman.store.sources)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from refman.errors import NotFoundError, UsageError
from refman.timeutil import utc_now
from refman.vocabulary import GOOD_OUTCOMES

if TYPE_CHECKING:
    from refman.store.protocol import Store
    from refman.store.sources import MergeRow, SourcesStore

GENERIC_CLAIMS = 4  # a URL more sources than this point at (canonical or final) is a site's generic page

REDIRECT, CANONICAL, DOI, CONTENT = "redirect", "canonical", "doi", "content"


# --- detection ------------------------------------------------------------------------------------------


def _norm(url: Any) -> str | None:
    from refman.urls import normalise_url

    if not isinstance(url, str) or not url.strip():
        return None
    try:
        return normalise_url(url).url
    except UsageError:
        return None


def _split(url: str) -> tuple[str, list[str], str]:
    """(host without www., non-empty path segments, query) of a normalised URL."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    host = host[4:] if host.startswith("www.") else host
    return host, [s for s in parts.path.split("/") if s], parts.query


def is_generic_for(evidence: str, own: str) -> bool:
    """Is `evidence` (a canonical or final URL, normalised) too generic to say that the page at `own` is the
    page at `evidence`? A home page is, unless `own` is a home page too; so is a strict ancestor path of `own`
    on the same site (an article that now redirects to, or names as canonical, its section)."""
    e_host, e_segs, e_query = _split(evidence)
    o_host, o_segs, _ = _split(own)
    if not e_segs and not e_query:
        return bool(o_segs)
    return (not e_query and e_host == o_host and len(e_segs) < len(o_segs)
            and o_segs[:len(e_segs)] == e_segs)


def _evidence(store: SourcesStore, landing: dict[int, str] | None = None, bodies: dict[int, str] | None = None
              ) -> tuple[dict[int, str | None], dict[int, set[str]], dict[int, set[str]]]:
    """Own URLs by id (None: a work without URL); redirect evidence (final URL and hops) and canonical evidence by
    id, normalised. Fills `landing` ({id: normalised final URL of the latest good fetch}) and `bodies` ({id: its
    body hash})."""
    own = store.source_urls()
    redirect: dict[int, set[str]] = {}
    # live fetches only: an archive capture, a rendering or a site API is not where the page lives now
    for fetch in store.latest_live_fetches(GOOD_OUTCOMES):
        sid, mine = fetch.source_id, own.get(fetch.source_id)
        if mine is None:  # a work without URL has no page to land on
            continue
        if fetch.body_hash and bodies is not None and fetch.outcome == "ok":  # thin pages share shells and walls
            bodies[sid] = fetch.body_hash
        final = _norm(fetch.final_url) or mine
        if landing is not None and not is_generic_for(final, mine):
            landing[sid] = final
        found = {u for u in map(_norm, [fetch.final_url, *fetch.hops])
                 if u and u != mine and not is_generic_for(u, mine)}
        if found:
            redirect[sid] = found
    canonical: dict[int, set[str]] = {}
    for sid, value in store.latest_canonical_urls(GOOD_OUTCOMES):
        url, mine = _norm(value), own.get(sid)
        if mine is not None and url and url != mine and not is_generic_for(url, mine):
            canonical[sid] = {url}
    return own, redirect, canonical


class _Groups:
    """Union-find over source ids, remembering why two ids were joined."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.why: list[tuple[str, str, list[int]]] = []

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, reason: str, value: str, ids: Iterable[int]) -> None:
        ids = sorted(set(ids))
        if len(ids) < 2:
            return
        self.why.append((reason, value, ids))
        root = self.find(ids[0])
        for other in ids[1:]:
            r = self.find(other)
            if r != root:
                lo, hi = min(root, r), max(root, r)
                self.parent[hi] = lo
                root = lo


def find_duplicates(store: SourcesStore) -> list[dict[str, Any]]:
    """Groups of sources that are the same page by evidence (see the module docstring), in order of their
    kept id: `{keep, drop, reason, evidence: [{reason, value, ids}], sources: [{id, url, title, citekey,
    status, mentions}]}`. `reason` names the kinds of evidence, comma-separated (redirect, canonical, doi)."""
    landing: dict[int, str] = {}
    bodies: dict[int, str] = {}
    own, redirect, canonical = _evidence(store, landing, bodies)
    by_url = {url: sid for sid, url in own.items() if url is not None}
    # Who points at each URL: a source by its own URL, by its final URL or hops, by its canonical.
    lands: dict[str, set[int]] = {}
    for sid, urls in redirect.items():
        for url in urls:
            lands.setdefault(url, set()).add(sid)
    names: dict[str, set[int]] = {}
    for sid, urls in canonical.items():
        for url in urls:
            names.setdefault(url, set()).add(sid)
    groups = _Groups()
    for url, sids in sorted(lands.items()):
        if len(sids) + len(names.get(url, ())) > GENERIC_CLAIMS:
            continue
        here = {by_url[url]} if url in by_url else set()
        groups.join(REDIRECT, url, sids | here)
    for url, sids in sorted(names.items()):
        if len(sids) + len(lands.get(url, ())) > GENERIC_CLAIMS:
            continue
        # A canonical must name a page the catalog knows: a source's URL, or where a source's fetch landed.
        here = ({by_url[url]} if url in by_url else set()) | lands.get(url, set())
        if here:
            groups.join(CANONICAL, url, sids | here)
    dois: dict[str, list[int]] = {}
    for sid, doi in store.sources_with_doi():
        dois.setdefault(doi, []).append(sid)
    for doi, with_doi in sorted(dois.items()):
        groups.join(DOI, doi, with_doi)
    same_body: dict[str, list[int]] = {}
    for sid, body_hash in sorted(bodies.items()):
        same_body.setdefault(body_hash, []).append(sid)
    for body_hash, with_body in sorted(same_body.items()):
        if len(with_body) <= GENERIC_CLAIMS:
            groups.join(CONTENT, body_hash, with_body)

    members: dict[int, list[int]] = {}
    for sid in list(groups.parent):
        members.setdefault(groups.find(sid), []).append(sid)
    evidence: dict[int, list[dict[str, Any]]] = {}
    for reason, value, ids in groups.why:
        evidence.setdefault(groups.find(ids[0]), []).append({"reason": reason, "value": value, "ids": ids})
    all_ids = sorted(sid for ids in members.values() if len(ids) > 1 for sid in ids)
    info = store.source_summaries(all_ids)
    out = []
    for root in sorted(members):
        ids = sorted(members[root])
        if len(ids) < 2:
            continue
        kinds = [k for k in (REDIRECT, CANONICAL, DOI, CONTENT) if any(e["reason"] == k for e in evidence[root])]
        keep, url_now = _survivor(ids, own, landing)
        out.append({"keep": keep, "drop": [sid for sid in ids if sid != keep], "url_now": url_now,
                    "reason": ", ".join(kinds), "evidence": evidence[root], "sources": [info[sid] for sid in ids]})
    return out


def _survivor(ids: list[int], own: dict[int, str | None], landing: dict[int, str]) -> tuple[int, str | None]:
    """(kept id, the URL it has after the merge): where the group's latest fetches ended (see the module
    docstring)."""
    from collections import Counter

    votes = Counter(landing[sid] for sid in ids if sid in landing)
    if votes:
        ranked = votes.most_common()
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            now = ranked[0][0]
            for sid in ids:  # in id order: the first imported of the sources at that URL
                if own[sid] == now:
                    return sid, now
            return ids[0], now
    return ids[0], own[ids[0]]


# --- merging --------------------------------------------------------------------------------------------


def merge_sources(store: Store, keep_id: int, drop_ids: Sequence[int],
                  url_now: str | None = None) -> dict[str, Any]:
    """Merge the sources `drop_ids` into `keep_id` in one transaction (joining the caller's, if open), then
    delete them. Nothing is written unless every id exists, and a failure at any point leaves the catalog as it
    was.

    * every mention moves to the kept source (its note, ordinal and line stay: the ordinal is the mention's
      place in its note, whatever source it cites); tags are united;
    * the user's notes are concatenated (the kept one first; an identical note is not repeated);
    * evidence: a dropped source's pinned (user) value is adopted for a field the kept source has no pin for
      (a conflicting pin is reported in `pins_discarded` and kept in the field's history); page and
      bibliography evidence is adopted for the (field, origin) pairs the kept source lacks; label evidence comes
      with its note (`label_note`) only when the kept source has none (a label is never lost: it stays on its
      mention);
    * snapshots move; the archived text is the one from the most recent snapshot; fetch status, reason and
      failure count stay the kept source's (they describe its URL) unless it was never fetched;
    * dates: earliest creation and first citation, latest fetch and last good fetch; `added_by` is the
      earliest-created source's;
    * citation key: the kept source's, else the first dropped source's that has one; every other dropped key
      no longer exists (`dropped_citekeys`: replace them in your documents);
    * `url_now`: the URL where the page lives now, when it is none of the sources' URLs (find_duplicates): the
      kept source takes it and its own old URL becomes an alias too (`moved_from`).

    Returns `{kept, dropped, dropped_urls, mentions_moved, tags_added, snapshots_moved, note_merged,
    pins_adopted, pins_discarded, evidence_adopted, text_from, citekey, dropped_citekeys}`."""
    keep_id = int(keep_id)
    drops: list[int] = []
    for d in drop_ids:
        if int(d) not in drops:
            drops.append(int(d))
    if not drops:
        raise UsageError("nothing to merge: give at least one source to merge into the kept one")
    if keep_id in drops:
        raise UsageError(f"cannot merge source {keep_id} into itself")
    from refman.evidence import refresh_sources

    now = utc_now()
    with store.transaction():
        rows = store.merge_rows([keep_id, *drops])
        missing = [sid for sid in [keep_id, *drops] if sid not in rows]
        if missing:
            raise NotFoundError(f"no source with id {', '.join(map(str, missing))}")
        keep = rows[keep_id]
        dropped = [rows[d] for d in drops]
        result: dict[str, Any] = {"kept": keep_id, "dropped": drops, "dropped_urls": [r.url for r in dropped]}

        # mentions and tags
        result["mentions_moved"] = store.move_mentions(keep_id, drops)
        result["tags_added"] = store.unite_tags(keep_id, drops)

        # the user's notes
        notes: list[str] = []
        for r in [keep, *dropped]:
            text = (r.user_note or "").strip()
            if text and text not in notes:
                notes.append(text)
        note = "\n\n".join(notes) or None
        result["note_merged"] = note != keep.user_note

        # evidence
        result.update(_merge_evidence(store, keep, dropped))

        # snapshots and archived text
        texts = store.archived_text_times([keep_id, *drops])
        result["snapshots_moved"] = store.move_snapshots(keep_id, drops)
        text_from = max(texts, key=lambda sid: (texts[sid], sid == keep_id), default=None)
        store.keep_archived_text(keep_id, text_from, drops)
        result["text_from"] = text_from

        # citation key: free the dropped keys first (keys are unique, case-insensitively)
        keys = [r.citekey for r in dropped if r.citekey]
        store.clear_citekeys(drops)
        citekey = keep.citekey or (keys[0] if keys else None)
        result["citekey"] = citekey
        result["dropped_citekeys"] = [k for k in keys if k != citekey]

        # the source row itself
        everyone = [keep, *dropped]
        fetch = keep
        if keep.fetched_at is None:
            fetched = [r for r in dropped if r.fetched_at]
            if fetched:
                fetch = max(fetched, key=lambda r: r.fetched_at or "")
        earliest = min(everyone, key=lambda r: (r.created_at, r.id))
        cited = [r.first_cited_at for r in everyone if r.first_cited_at]
        fetched_at = [r.fetched_at for r in everyone if r.fetched_at]
        last_ok = [r.last_ok_at for r in everyone if r.last_ok_at]
        store.update_merged_source(keep_id, {
            "citekey": citekey, "user_note": note, "status": fetch.status, "reason": fetch.reason,
            "fail_count": fetch.fail_count, "fetched_at": max(fetched_at, default=None),
            "last_ok_at": max(last_ok, default=None), "created_at": earliest.created_at,
            "added_by": earliest.added_by, "first_cited_at": min(cited, default=None),
            "label_note": result.pop("_label_note"), "updated_at": now})
        refresh_sources(store, [keep_id])
        # the kept source now carries every label: its label hints come from all of them (refman.notes.linkids)
        from refman.notes.importer import relabel_sources

        relabel_sources(store, [keep_id], now)
        # The dropped URLs (and what was merged into them before) become aliases of the kept source: notes that
        # still cite them keep leading here on every later import, and `add`/`show URL` find it.
        store.delete_merged_sources(keep_id, drops, now)
        result["moved_from"] = None
        if url_now and url_now != keep.url:
            _move(store, keep_id, keep.url, url_now, now)
            result["moved_from"] = keep.url
    return result


def _move(store: SourcesStore, sid: int, old: str | None, new: str, now: str) -> None:
    """Give source `sid` the URL `new` (normalised); `old` becomes its alias."""
    from refman.urls import normalise_url

    taken = store.source_with_url(new)
    if taken is not None:
        raise UsageError(f"cannot move source {sid} to {new}: source {taken} has that URL")
    store.move_source_url(sid, old, new, normalise_url(new).host, now)


def _merge_evidence(store: SourcesStore, keep: MergeRow, dropped: list[MergeRow]) -> dict[str, Any]:
    """Adopt the dropped sources' evidence where the kept source has none (see merge_sources)."""
    from refman.store.sources import EvidenceRow

    evidence = {(e.field, e.origin): e.value for e in store.field_evidence_rows(keep.id)}
    label_note = keep.label_note
    take_label = label_note is None and not any(o == "label" for _f, o in evidence)
    adopted: list[EvidenceRow] = []
    pins_adopted: list[str] = []
    pins_discarded: list[dict[str, Any]] = []
    lost: list[EvidenceRow] = []
    others: list[dict[str, Any]] = []
    for r in dropped:
        rows = store.field_evidence_rows(r.id)
        if take_label and (r.label_note is not None or any(row.origin == "label" for row in rows)):
            take_label = False
            label_note = r.label_note
            labels = [row for row in rows if row.origin == "label"]
            adopted += labels
            evidence.update({(row.field, row.origin): row.value for row in labels})
        for row in rows:
            if row.origin == "label":
                continue
            if (row.field, row.origin) not in evidence:
                evidence[(row.field, row.origin)] = row.value
                adopted.append(row)
                if row.origin == "user":
                    pins_adopted.append(row.field)
                else:
                    others.append({"field": row.field, "origin": row.origin})
            elif row.origin == "user" and evidence[(row.field, row.origin)] != row.value:
                pins_discarded.append({"id": r.id, "field": row.field, "value": row.value})
                lost.append(row)
    store.add_field_evidence_rows(keep.id, adopted)
    store.keep_field_history(keep.id, lost, utc_now())  # a discarded pin stays in the field's history
    return {"pins_adopted": pins_adopted, "pins_discarded": pins_discarded, "evidence_adopted": others,
            "_label_note": label_note}


def merge_duplicates(store: Store, groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge every group of `find_duplicates` into its proposed kept source, all in one transaction."""
    with store.transaction():
        return [merge_sources(store, g["keep"], g["drop"], g.get("url_now")) for g in groups]
