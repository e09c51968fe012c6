"""Reading the archive: a source's archived text (latest or an older copy), the raw page, diffs between copies,
and the views the web app shows (a note's bibliography, link health, facets).

The archived text of the latest good copy is stored as Markdown (`source_text.markdown_hash`). Older copies keep
only their raw body, so their text is extracted again on demand with the fetch pipeline's own extractor
(`refman.fetch.extract.extract`): the same page always gives the same text, and no schema change is needed.
Functions take a store (refman.store.open_store; its search group, refman.store.search, holds the look-ups) and
only read, except where they say so."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from refman.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from refman.store.protocol import Store
    from refman.store.search import ArchivedCopy, SourceHeading
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}([T ][\d:]+Z?)?)?)?$")


@dataclass
class SnapshotText:
    """One archived copy's text, with what a reader needs to know about it."""

    id: int  # the source
    title: str | None
    url: str
    snapshot_id: int
    fetched_at: str
    origin: str
    memento_at: str | None
    content_type: str | None
    markdown: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def good_snapshots(store: Store, source_id: int) -> list[ArchivedCopy]:
    """The copies with an archived body, newest first (unchanged re-checks point at the same body)."""
    return store.archived_copies(source_id)


def pick_snapshot(store: Store, source_id: int, which: str | int | None = None) -> ArchivedCopy:
    """A good snapshot of the source: the latest (None), the Nth newest (`1` = latest, `2` the one before), or
    the latest made on or before a DATE (`2024`, `2024-06`, `2024-06-30`, or a full timestamp)."""
    snaps = good_snapshots(store, source_id)
    if not snaps:
        raise NotFoundError(f"source #{source_id} has no archived copy yet (run `refman fetch {source_id}`)")
    if which is None or str(which).strip() == "":
        return snaps[0]
    text = str(which).strip()
    if text.isdigit() and len(text) < 4:
        n = int(text)
        if not 1 <= n <= len(snaps):
            raise NotFoundError(f"source #{source_id} has {len(snaps)} archived "
                                f"{'copy' if len(snaps) == 1 else 'copies'}, not {n}")
        return snaps[n - 1]
    if not _DATE.match(text):
        raise UsageError(f"--snapshot wants N (1 = latest) or a date such as 2024-06-30, not {text!r}")
    # fetched_at is ISO 8601 UTC: comparing the prefix of the date's length keeps the whole day/month/year.
    for snap in snaps:
        if snap.fetched_at[: len(text)] <= text:
            return snap
    raise NotFoundError(f"source #{source_id} has no archived copy on or before {text}")


def snapshot_by_id(store: Store, snapshot_id: int) -> ArchivedCopy:
    snap = store.archived_copy(snapshot_id)
    if snap is None:
        raise NotFoundError(f"no archived copy with snapshot id {snapshot_id}")
    return snap


def source_brief(store: Store, source_id: int) -> SourceHeading:
    """A source's id, title and URL; NotFoundError when there is no such source."""
    heading = store.source_heading(source_id)
    if heading is None:
        raise NotFoundError(f"no source with id {source_id}")
    return heading


def _read_blob(store: Store, digest: str) -> bytes:
    from refman.fetch.archive import read_blob

    return read_blob(store, digest)


def snapshot_markdown(store: Store, source_id: int, snap: ArchivedCopy) -> str:
    """The Markdown of one copy: the stored text when it is the current copy's body, else extracted again."""
    current = store.current_text(source_id)
    if current is not None and current.body_hash == snap.body_hash:
        if current.markdown_hash:
            return _read_blob(store, current.markdown_hash).decode("utf-8")
        return current.text or ""
    from refman.fetch.extract import extract

    body = _read_blob(store, snap.body_hash)
    url = snap.final_url or source_brief(store, source_id).url
    ext = extract(body, url, snap.content_type, snap.charset)
    return ext.markdown or ext.text or ""


def read_text(store: Store, source_id: int, which: str | int | None = None) -> SnapshotText:
    """The archived main text (Markdown) of a source's latest good copy, or of the copy `which` names."""
    snap = pick_snapshot(store, source_id, which)
    return _text_of(store, source_id, snap)


def _text_of(store: Store, source_id: int, snap: ArchivedCopy) -> SnapshotText:
    src = source_brief(store, source_id)
    return SnapshotText(id=source_id, title=src.title, url=src.url, snapshot_id=snap.id,
                        fetched_at=snap.fetched_at, origin=snap.origin, memento_at=snap.memento_at,
                        content_type=snap.content_type, markdown=snapshot_markdown(store, source_id, snap))


def raw_page(store: Store, source_id: int, which: str | int | None = None) -> tuple[bytes, str, int]:
    """(body, content type, snapshot id) of a copy as it was archived: data for a browser, never for the app."""
    snap = pick_snapshot(store, source_id, which)
    return _read_blob(store, snap.body_hash), snap.content_type or "application/octet-stream", snap.id


def raw_snapshot(store: Store, snapshot_id: int) -> tuple[bytes, str]:
    snap = snapshot_by_id(store, snapshot_id)
    return _read_blob(store, snap.body_hash), snap.content_type or "application/octet-stream"


@dataclass
class TextDiff:
    source_id: int
    a: dict[str, Any]  # {snapshot_id, fetched_at, origin}
    b: dict[str, Any]
    lines: list[str]  # unified diff lines without trailing newlines; empty when the texts are equal
    added: int
    removed: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def diff_snapshots(store: Store, source_id: int, a: str | int | None, b: str | int | None,
                   context: int = 3) -> TextDiff:
    """What changed in the text between copies `a` (older) and `b` (newer), as a unified diff of lines."""
    snap_a, snap_b = pick_snapshot(store, source_id, a), pick_snapshot(store, source_id, b)
    text_a = snapshot_markdown(store, source_id, snap_a)
    text_b = text_a if snap_b.body_hash == snap_a.body_hash else snapshot_markdown(store, source_id, snap_b)
    name_a, name_b = (f"{s.fetched_at} ({s.origin})" for s in (snap_a, snap_b))
    lines = [line.rstrip("\n") for line in difflib.unified_diff(
        text_a.splitlines(), text_b.splitlines(), name_a, name_b, n=context, lineterm="")]
    added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
    removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))

    def info(s: ArchivedCopy) -> dict[str, Any]:
        return {"snapshot_id": s.id, "fetched_at": s.fetched_at, "origin": s.origin}

    return TextDiff(source_id, info(snap_a), info(snap_b), lines, added, removed)


# --- views over the catalog -------------------------------------------------------------------------------


def list_notes(store: Store) -> list[dict[str, Any]]:
    """Every imported note with how many sources it cites: `[{path, root, sources, mentions}]`, by path."""
    return [{"path": path, "root": root, "sources": sources, "mentions": mentions}
            for path, root, sources, mentions in store.notes_overview()]


def note_bibliography(store: Store, note: str) -> dict[str, Any]:
    """The sources a note cites, in the note's order, each with where in the note (`lines`) it is cited."""
    from refman.catalog import list_sources
    from refman.citation.selection import cited_in
    from refman.references import notes_for

    note_ids = notes_for(store, note)
    ids = cited_in(store, note)
    paths = store.note_paths(note_ids)
    by_id = {item["id"]: item for item in _list_in_chunks(store, ids, list_sources)}
    sources = []
    for sid in ids:
        item = by_id[sid]
        item["lines"] = [m["line"] for m in item["mentions"] if m["path"] in paths]
        sources.append(item)
    return {"note": paths[0] if len(paths) == 1 else note, "notes": paths, "sources": sources}


def _list_in_chunks(store: Any, ids: Sequence[int], list_sources: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        out += list_sources(store, ids=list(ids[start:start + 500]))
    return out


def link_health(store: Store) -> dict[str, Any]:
    """`refman check`'s report over the whole catalog (dead, failing, redirected, changed sources grouped by
    note), each source with its title and the date it was last checked (`fetched_at`)."""
    from refman.fetch.check import check_report

    report = check_report(store, store.checked_source_ids())
    wanted = {s["id"] for note in report["notes"] for s in note["sources"]}
    facts = store.check_dates(sorted(wanted))
    for note in report["notes"]:
        for s in note["sources"]:
            s["title"], s["fetched_at"] = facts.get(s["id"], (None, None))
    return report


def facets(store: Store, top: int = 12) -> dict[str, list[dict[str, Any]]]:
    """What the search page offers as filters, with counts: tags, sites, statuses and vault folders."""
    counts = store.facet_counts(top)
    folders: dict[str, int] = {}
    for path, n in counts.notes:
        folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
        if folder:
            folders[folder] = folders.get(folder, 0) + n
    top_folders = sorted(folders.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {
        "tags": [{"value": t, "count": n} for t, n in counts.tags],
        "sites": [{"value": h, "count": n} for h, n in counts.sites],
        "statuses": [{"value": s, "count": n} for s, n in counts.statuses],
        "folders": [{"value": f, "count": n} for f, n in top_folders],
    }


def catalog_counts(store: Store) -> dict[str, int]:
    """Sources, archived sources and notes: the search page's one-line summary."""
    return store.catalog_counts()


def obsidian_vault(root: str) -> str | None:
    """The Obsidian vault name for a note root (the folder holding `.obsidian/`, at or above it), or None."""
    from pathlib import Path

    here = Path(root)
    for folder in (here, *here.parents):
        if (folder / ".obsidian").is_dir():
            return folder.name
    return None


def note_links(store: Store, source_id: int) -> list[dict[str, Any]]:
    """The notes that cite a source, with line, label, annotation and, in an Obsidian vault, the
    `obsidian://open` link that opens the note there."""
    from pathlib import Path
    from urllib.parse import quote

    out = []
    vaults: dict[str, str | None] = {}
    for path, root, line, label, annotation, kind in store.citing_mentions(source_id):
        if root not in vaults:
            vaults[root] = obsidian_vault(root)
        vault = vaults[root]
        link = None
        if vault is not None:
            vault_dir = next(f for f in (Path(root), *Path(root).parents) if (f / ".obsidian").is_dir())
            rel = (Path(root) / path).relative_to(vault_dir).as_posix()
            link = f"obsidian://open?vault={quote(vault, safe='')}&file={quote(rel.removesuffix('.md'), safe='')}"
        out.append({"path": path, "line": line, "label": label, "annotation": annotation, "kind": kind,
                    "obsidian": link})
    return out


def snapshot_history(store: Store, source_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """Every attempt, newest first, each with `n` (its number for --snapshot, when it is a good copy)."""
    good = {snap.id: i + 1 for i, snap in enumerate(good_snapshots(store, source_id))}
    return [{**row, "n": good.get(row["id"])} for row in store.fetch_attempts(source_id, limit)]


# Styles offered by the copy-citation buttons, when refman ships them (GB/T 7714 comes with the citation work).
CITE_STYLES = (("apa", "APA"), ("chicago-author-date", "Chicago"), ("mla", "MLA"), ("ieee", "IEEE"),
               ("gb-t-7714", "GB/T 7714"))


def citations(store: Store, source_id: int) -> list[dict[str, str]]:
    """One source's formatted references, `[{style, label, text}]`: each shipped style, then the BibLaTeX key
    and entry. Assigns the citation key if the source has none yet (as `refman cite` does)."""
    from refman.citation.export import render_export, selected_items
    from refman.citation.selection import Selection
    from refman.citation.styles import STYLES, format_entries

    items = selected_items(store, Selection(refs=[str(source_id)]),
                           default_all=False)
    out = [{"style": style, "label": label, "text": format_entries(items, style, "text")[0][1]}
           for style, label in CITE_STYLES if style in STYLES]
    key = items[0].id if items else ""
    out.append({"style": "key", "label": "BibLaTeX key", "text": str(key)})
    out.append({"style": "biblatex", "label": "BibLaTeX", "text": render_export(items, "biblatex").strip()})
    return out
