"""Operations on the catalog: add, tag, set/unset pinned fields, look-ups, listings and statistics.

Everything here runs on the light sqlite3 connection from refman.store (no ORM on these paths: `refman list`
must start fast, and imports of 100,000 definitions must stay within seconds). Every write is one
transaction: `with transaction(conn): …`."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from refman.errors import NotFoundError, UsageError
from refman.store.sqlite.base import transaction
from refman.timeutil import utc_now

# Fields a user may set by hand (`refman set`), with how their text is read.
SETTABLE_FIELDS = (
    "title", "author", "issued", "container_title", "publisher", "doi", "language", "abstract", "type",
    "volume", "issue", "page", "archive_id", "genre",
)
# `refman set ID url=…` gives a work without URL its URL (see _set_url); it is no evidence field
_ISO_PARTIAL = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")  # calendar: _check_issued
_HIDDEN_EVIDENCE = {"label_note", "flag"}  # label_note: 0002 catalogs


# --- look-ups -------------------------------------------------------------------------------------------


def resolve_source(conn: sqlite3.Connection, ref: str) -> int:
    """A source id from an id, a citation key or a URL (as written or normalised)."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():  # "²" is a digit to str.isdigit, not to int()
        row = conn.execute("SELECT id FROM source WHERE id = ?", (int(ref),)).fetchone()
        if row:
            return int(row[0])
    row = conn.execute("SELECT id FROM source WHERE citekey = ?", (ref,)).fetchone()
    if row:
        return int(row[0])
    if "://" not in ref and _KEY_LIKE.match(ref):
        found = _with_all_keys(conn, ref)
        if found is not None:
            return found
    if "://" in ref:
        from refman.urls import normalise_url

        try:
            url = normalise_url(ref).url
        except UsageError:
            url = ref
        row = conn.execute("SELECT id FROM source WHERE url = ? OR url_as_written = ?", (url, ref)).fetchone()
        if row:
            return int(row[0])
        found = source_for_url(conn, url)
        if found is not None:
            return found
    raise NotFoundError(f"no source matches {ref!r} (give an id, a citation key or a URL)")


_KEY_LIKE = re.compile(r"^[A-Za-z][\w:.+-]*$")


def _with_all_keys(conn: sqlite3.Connection, key: str) -> int | None:
    """The source that has citation key `key` once every source has its key. Keys are stored the first time
    they are needed, so a key read in the docs may name a source whose key this catalog has not written down
    yet: the keys are assigned and kept when one matches, rolled back when none does (a failed look-up changes
    nothing). None on a read-only catalog."""
    if conn.in_transaction or conn.execute("SELECT 1 FROM source WHERE citekey IS NULL LIMIT 1").fetchone() is None:
        return None
    from refman.citation.keys import assign_citekeys

    found = None
    conn.execute("SAVEPOINT refman_keys")
    try:
        assign_citekeys(conn, None)
        row = conn.execute("SELECT id FROM source WHERE citekey = ?", (key,)).fetchone()
        found = None if row is None else int(row[0])
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            raise
    finally:
        if found is None and conn.in_transaction:
            conn.execute("ROLLBACK TO refman_keys")
        if conn.in_transaction:
            conn.execute("RELEASE refman_keys")
    return found


def source_for_url(conn: sqlite3.Connection, url: str) -> int | None:
    """The source whose normalised URL is `url`, or into which a source with that URL was merged."""
    row = conn.execute("SELECT id FROM source WHERE url = ? UNION ALL "
                       "SELECT source_id FROM source_alias WHERE url = ? LIMIT 1", (url, url)).fetchone()
    return None if row is None else int(row[0])


def resolve_sources(conn: sqlite3.Connection, refs: Iterable[str]) -> list[int]:
    return [resolve_source(conn, ref) for ref in refs]


# --- add, tag, set ----------------------------------------------------------------------------------------


def add_source(
    conn: sqlite3.Connection,
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
    with transaction(conn):
        known = source_for_url(conn, ident.url)
        row = None if known is None else conn.execute("SELECT id, user_note FROM source WHERE id = ?",
                                                      (known,)).fetchone()
        created = row is None
        if created:
            cur = conn.execute(
                "INSERT INTO source (url, url_as_written, host, created_at, updated_at, user_note, added_by)"
                " VALUES (?, ?, ?, ?, ?, ?, 'add')",
                (ident.url, url.strip(), ident.host, now, now, note),
            )
            source_id = int(cur.lastrowid or 0)
        else:
            source_id = int(row["id"])
            if note and note != row["user_note"]:
                merged = f"{row['user_note']}\n\n{note}" if row["user_note"] else note
                conn.execute("UPDATE source SET user_note = ?, updated_at = ? WHERE id = ?",
                             (merged, now, source_id))
        _add_tags(conn, source_id, tags)
        if title:
            _set_evidence(conn, source_id, "title", title, "user", now)
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


def _spelled(conn: sqlite3.Connection, tag: str) -> str:
    """Tags are case-insensitive: the catalog's first spelling of `tag` if it has one, else `tag`."""
    row = conn.execute("SELECT tag FROM source_tag WHERE tag = ? COLLATE NOCASE ORDER BY rowid LIMIT 1",
                       (tag,)).fetchone()
    return row[0] if row else tag


def _add_tags(conn: sqlite3.Connection, source_id: int, tags: Iterable[str]) -> None:
    for tag in tags:
        spelled = _spelled(conn, normalise_tag(tag))
        if conn.execute("SELECT 1 FROM source_tag WHERE source_id = ? AND tag = ? COLLATE NOCASE",
                        (source_id, spelled)).fetchone() is None:
            conn.execute("INSERT INTO source_tag (source_id, tag) VALUES (?, ?)", (source_id, spelled))


def tag_sources(
    conn: sqlite3.Connection, source_ids: Sequence[int], add: Sequence[str] = (), remove: Sequence[str] = ()
) -> list[tuple[int, str]]:
    """Add and remove tags (case-insensitively). Returns the (source id, tag) removals that found no such
    tag on that source."""
    not_there: list[tuple[int, str]] = []
    with transaction(conn):
        for sid in source_ids:
            _add_tags(conn, sid, add)
            for tag in remove:
                tag = normalise_tag(tag)
                gone = conn.execute("DELETE FROM source_tag WHERE source_id = ? AND tag = ? COLLATE NOCASE",
                                    (sid, tag)).rowcount
                if not gone:
                    not_there.append((sid, tag))
    return not_there


def all_tags(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """Every tag with its number of sources; spellings that differ only in case count as one (the first)."""
    rows = conn.execute("SELECT tag, count(DISTINCT source_id), min(rowid) FROM source_tag"
                        " GROUP BY tag COLLATE NOCASE ORDER BY tag COLLATE NOCASE").fetchall()
    return [(conn.execute("SELECT tag FROM source_tag WHERE rowid = ?", (r[2],)).fetchone()[0], r[1]) for r in rows]


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


def _set_evidence(conn: sqlite3.Connection, source_id: int, field: str, value: Any, origin: str, now: str) -> None:
    from refman.merge import refresh_sources

    conn.execute(
        "INSERT OR REPLACE INTO field_value (source_id, field, origin, value, updated_at) VALUES (?, ?, ?, ?, ?)",
        (source_id, field, origin, json.dumps(value, ensure_ascii=False), now),
    )
    conn.execute("UPDATE source SET updated_at = ? WHERE id = ?", (now, source_id))
    refresh_sources(conn, [source_id])


def set_fields(conn: sqlite3.Connection, source_id: int, assignments: Sequence[str]) -> dict[str, Any]:
    """Pin user values (`field=value`); no fetch overwrites them. `citekey` and `note` are special."""
    parsed: list[tuple[str, str]] = []
    for item in assignments:
        if "=" not in item:
            raise UsageError(f"expected field=value, got {item!r}")
        field, value = item.split("=", 1)
        parsed.append((field.strip().replace("-", "_"), value))
    now = utc_now()
    done: dict[str, Any] = {}
    with transaction(conn):
        for field, text in parsed:
            if field == "citekey":
                from refman.citation.keys import pin_citekey

                pin_citekey(conn, source_id, text.strip())
                done[field] = text.strip()
            elif field == "note":
                conn.execute("UPDATE source SET user_note = ?, updated_at = ? WHERE id = ?",
                             (text.strip() or None, now, source_id))
                done[field] = text.strip()
            elif field == "url":
                done[field], merged = _set_url(conn, source_id, text, now)
                if merged is not None:
                    done["merged"] = merged
                    source_id = merged["kept"]
            else:
                value = parse_user_value(field, text)
                if field == "doi":
                    _check_doi_identity(conn, source_id, value)
                _set_evidence(conn, source_id, field, value, "user", now)
                done[field] = value
    return done


def _set_url(conn: sqlite3.Connection, source_id: int, text: str, now: str) -> tuple[str, dict[str, Any] | None]:
    """Give a work without URL its URL. When another source has that URL already, the two are one work: they
    are merged (refman.duplicates.merge_sources) into the source with the URL, which is where the work lives;
    the result says which source was kept and which keys no longer exist."""
    from refman.urls import normalise_url

    row = conn.execute("SELECT url FROM source WHERE id = ?", (source_id,)).fetchone()
    ident = normalise_url(text)
    if row["url"] == ident.url:
        return ident.url, None
    if row["url"] is not None:
        raise UsageError(f"source {source_id} has a URL already ({row['url']}); a source's URL is its identity: "
                         "add the other URL with `refman add` and merge them with `refman merge`")
    other = source_for_url(conn, ident.url)
    if other is not None:
        return ident.url, merge_sources(conn, other, [source_id])
    conn.execute("UPDATE source SET url = ?, url_as_written = ?, host = ?, updated_at = ? WHERE id = ?",
                 (ident.url, text.strip(), ident.host, now, source_id))
    return ident.url, None


def _check_doi_identity(conn: sqlite3.Connection, source_id: int, doi: str) -> None:
    """Two works without URL cannot share a DOI (it is their identity): say which source has it."""
    row = conn.execute("SELECT o.id FROM source s JOIN source o ON lower(o.doi) = lower(?) AND o.id != s.id"
                       " AND o.url IS NULL WHERE s.id = ? AND s.url IS NULL", (doi, source_id)).fetchone()
    if row:
        raise UsageError(f"source {row[0]} has the DOI {doi} already: they are one work; merge them with"
                         f" `refman merge {row[0]} {source_id}`")


def unset_fields(conn: sqlite3.Connection, source_id: int, fields: Sequence[str]) -> tuple[list[str], list[str]]:
    """Release pinned user values: the best other evidence shows again. Returns (fields released, fields
    that were not pinned: nothing to release)."""
    from refman.merge import refresh_sources

    released: list[str] = []
    not_pinned: list[str] = []
    with transaction(conn):
        for raw in fields:
            field = raw.strip().replace("-", "_")
            if field == "note":
                gone = conn.execute("UPDATE source SET user_note = NULL WHERE id = ? AND user_note IS NOT NULL",
                                    (source_id,)).rowcount
            elif field in SETTABLE_FIELDS:
                gone = conn.execute("DELETE FROM field_value WHERE source_id = ? AND field = ? AND origin = 'user'",
                                    (source_id, field)).rowcount
            else:
                raise UsageError(f"unknown field {field!r}; settable: {', '.join(SETTABLE_FIELDS)}, note")
            (released if gone else not_pinned).append(field)
        if released:
            conn.execute("UPDATE source SET updated_at = ? WHERE id = ?", (utc_now(), source_id))
            refresh_sources(conn, [source_id])
    return released, not_pinned


# --- listings ---------------------------------------------------------------------------------------------

_LIST_COLUMNS = (
    "id, url, url_as_written, citekey, type, title, issued, container_title, publisher, author, doi,"
    " language, abstract, status, reason, host, fetched_at, last_ok_at, user_note, added_by, first_cited_at"
)
# An orphan: a source that notes cited once (first_cited_at is set on the first mention) and none cites now.
# Sources added by hand or from a bibliography and never cited are not orphans.
_ORPHAN_SQL = ("{s}.first_cited_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mention m WHERE m.source_id = {s}.id)")


LIST_SORTS = {
    "added": "s.id",
    "issued": "s.issued IS NULL, s.issued DESC, s.id",
    "title": "s.title IS NULL, s.title COLLATE NOCASE, s.id",
    "cited": "(SELECT count(*) FROM mention m WHERE m.source_id = s.id) DESC, s.id",
}


def list_sources(
    conn: sqlite3.Connection,
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
    `sort` one of LIST_SORTS."""
    where: list[str] = []
    params: list[Any] = []
    if tag:
        where.append("s.id IN (SELECT source_id FROM source_tag WHERE tag = ? COLLATE NOCASE)")
        params.append(tag)
    if orphans:
        where.append(_ORPHAN_SQL.format(s="s"))
    if status:
        where.append("s.status = ?")
        params.append(status)
    if filters is not None and filters.any:
        from refman.search import _filter_sql

        more, more_params = _filter_sql(filters, conn)
        where += more
        params += more_params
    if ids is not None:
        where.append(f"s.id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    if sort not in LIST_SORTS:
        raise UsageError(f"unknown sort {sort!r}: one of {', '.join(LIST_SORTS)}")
    sql = f"SELECT {_LIST_COLUMNS} FROM source s"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {LIST_SORTS[sort]}"
    if limit or offset:
        sql += f" LIMIT {int(limit) if limit else -1} OFFSET {int(offset)}"
    rows = conn.execute(sql, params).fetchall()
    if not rows:
        return []
    wanted = {r["id"] for r in rows}
    few = len(wanted) <= 500
    id_filter = f" WHERE source_id IN ({','.join(map(str, wanted))})" if few else ""
    tags: dict[int, list[str]] = {}
    for sid, t in conn.execute(f"SELECT source_id, tag FROM source_tag{id_filter} ORDER BY tag COLLATE NOCASE"):
        tags.setdefault(sid, []).append(t)
    mentions: dict[int, list[dict[str, Any]]] = {}
    mention_filter = id_filter.replace("source_id", "m.source_id")
    for sid, path, line, label, kind in conn.execute(
        "SELECT m.source_id, n.path, m.line, m.label, m.kind FROM mention m JOIN note n ON n.id = m.note_id"
        f"{mention_filter} ORDER BY n.path, m.line"
    ):
        if sid in wanted:
            mentions.setdefault(sid, []).append({"path": path, "line": line, "label": label, "kind": kind})
    return [_source_dict(r, tags.get(r["id"], []), mentions.get(r["id"], [])) for r in rows]


def count_sources(conn: sqlite3.Connection, *, orphans: bool = False, filters: Any = None) -> int:
    """How many sources list_sources would list without a limit."""
    where: list[str] = [_ORPHAN_SQL.format(s="s")] if orphans else []
    params: list[Any] = []
    if filters is not None and filters.any:
        from refman.search import _filter_sql

        more, params = _filter_sql(filters, conn)
        where += more
    sql = "SELECT count(*) FROM source s" + (" WHERE " + " AND ".join(where) if where else "")
    return int(conn.execute(sql, params).fetchone()[0])


def _source_dict(row: sqlite3.Row, tags: list[str], mentions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": row["url"],
        "url_as_written": row["url_as_written"],
        "citekey": row["citekey"],
        "type": row["type"],
        "title": row["title"],
        "issued": row["issued"],
        "container_title": row["container_title"],
        "publisher": row["publisher"],
        "author": json.loads(row["author"]) if row["author"] else [],
        "DOI": row["doi"],
        "language": row["language"],
        "abstract": row["abstract"],
        "tags": tags,
        "status": row["status"],
        "reason": row["reason"],
        "fetched_at": row["fetched_at"],
        "accessed": row["last_ok_at"],
        "note": row["user_note"],
        "added_by": row["added_by"],
        "first_cited_at": row["first_cited_at"],
        "mentions": mentions,
    }


def show_source(conn: sqlite3.Connection, source_id: int, snapshots: int = 10) -> dict[str, Any]:
    """Everything about one source: merged fields with their origins, evidence, mentions, snapshots."""
    items = list_sources(conn, ids=[source_id])
    if not items:
        raise NotFoundError(f"no source with id {source_id}")
    item = items[0]
    from refman.merge import pick

    evidence = [
        (f, o, json.loads(v))
        for f, o, v in conn.execute(
            "SELECT field, origin, value FROM field_value WHERE source_id = ? ORDER BY field, origin", (source_id,)
        )
        if f not in _HIDDEN_EVIDENCE
    ]
    merged = pick(evidence)
    item["provenance"] = {f: origin for f, (_v, origin) in sorted(merged.items())}
    item["pinned"] = sorted(f for f, o, _v in evidence if o == "user")
    item["evidence"] = [{"field": f, "origin": o, "value": v} for f, o, v in evidence]
    for extra in ("volume", "issue", "page", "archive_id", "genre"):
        if extra in merged:
            item[extra] = merged[extra][0]
    item["mentions"] = [
        {"path": r[0], "line": r[1], "label": r[2], "kind": r[5], "annotation": r[3], "flag": r[4]}
        for r in conn.execute(
            "SELECT n.path, m.line, m.label, m.annotation, m.flag, m.kind FROM mention m"
            " JOIN note n ON n.id = m.note_id"
            " WHERE m.source_id = ? ORDER BY n.path, m.line",
            (source_id,),
        )
    ]
    from refman.vault import label_report

    roles, item["label_conflicts"] = label_report(conn, source_id)
    for m in item["mentions"]:
        m["label_id"] = roles.get((m["path"], m["line"]))  # why the label is a link id; None: a title
    item["snapshots"] = [
        dict(r)
        for r in conn.execute(
            "SELECT id, fetched_at, outcome, http_status, final_url, content_type, size, unchanged, elapsed_ms,"
            " reason, origin, memento_url, memento_at"
            " FROM snapshot WHERE source_id = ? ORDER BY fetched_at DESC, id DESC LIMIT ?",
            (source_id, snapshots),
        )
    ]
    text = conn.execute("SELECT length(text) FROM source_text WHERE source_id = ?", (source_id,)).fetchone()
    item["archived_chars"] = text[0] if text else 0
    from refman.fetch.fallback import copy_facts
    from refman.store.sqlite import SqliteStore

    item.update(copy_facts(SqliteStore(conn), source_id))  # until catalog takes a store
    return item


def catalog_stats(conn: sqlite3.Connection) -> dict[str, Any]:
    one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "notes": one("SELECT count(*) FROM note"),
        "notes_skipped": one("SELECT count(*) FROM note WHERE status != 'ok'"),
        "sources": one("SELECT count(*) FROM source"),
        "mentions": one("SELECT count(*) FROM mention"),
        "orphans": one(f"SELECT count(*) FROM source s WHERE {_ORPHAN_SQL.format(s='s')}"),
        "tags": one("SELECT count(DISTINCT tag) FROM source_tag"),
        "snapshots": one("SELECT count(*) FROM snapshot"),
        "archived_sources": one("SELECT count(*) FROM source_text"),
        "stored_bytes": one("SELECT coalesce(sum(stored_size), 0) FROM blob"),
        "by_status": dict(conn.execute("SELECT status, count(*) FROM source GROUP BY status ORDER BY 2 DESC")),
        "top_hosts": dict(
            conn.execute("SELECT host, count(*) FROM source GROUP BY host ORDER BY 2 DESC, 1 LIMIT 10")
        ),
    }


# --- bibliographies (BibTeX / CSL-JSON as Zotero and Better BibTeX write them) ----------------------------

_BIB_FIELDS = ("type", "title", "author", "editor", "issued", "accessed", "container_title", "publisher", "doi",
               "language", "abstract", "volume", "issue", "page", "archive_id", "genre")


def import_bibliographies(conn: sqlite3.Connection, paths: Sequence[Any]) -> dict[str, Any]:
    """Add the entries of bibliography files (.bib, CSL .json, .ris, bookmarks .html) as sources. An entry is
    the same work as a source with its normalised URL (or an alias of it), else with its DOI (case-insensitive),
    else its ISBN-13, else — for an entry with none of these — its citation key. Incoming keys are kept where
    free. Every field is evidence of origin `import` (refman.citation.importer lists them); warnings carry the
    file and line. Files are read first: one that cannot be read stops the import before anything is written."""
    from refman.citation.importer import load_bibliography
    from refman.citation.keys import citekey_is_free
    from refman.merge import refresh_sources
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
    with transaction(conn):
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
            source_id = _match_work(conn, ident.url if ident else None, doi, isbn, key)
            if source_id is None and not (ident or doi or isbn or key):
                source_id = _match_keyless(conn, entry)
            if source_id is None:
                cur = conn.execute(
                    "INSERT INTO source (url, url_as_written, host, created_at, updated_at, user_note, added_by,"
                    " isbn, doi, title, type, issued) VALUES (?, ?, ?, ?, ?, ?, 'bibliography', ?, ?, ?, ?, ?)",
                    (ident.url if ident else None, url if ident else None, ident.host if ident else None,
                     now, now, entry.get("note"), isbn, doi, entry.get("title"), entry.get("type") or "webpage",
                     entry.get("issued")),  # the identity now (later entries match it); refreshed below
                )
                source_id = int(cur.lastrowid or 0)
                counts["new"] += 1
                counts["without_url"] += ident is None
            else:
                counts["matched"] += 1
                if ident is not None:  # a work known without URL gains the entry's URL
                    conn.execute("UPDATE source SET url = ?, url_as_written = ?, host = ? WHERE id = ? AND url IS NULL"
                                 " AND NOT EXISTS (SELECT 1 FROM source WHERE url = ?)",
                                 (ident.url, url, ident.host, source_id, ident.url))
                if isbn:
                    conn.execute("UPDATE source SET isbn = ? WHERE id = ? AND isbn IS NULL", (isbn, source_id))
            citekey = conn.execute("SELECT citekey FROM source WHERE id = ?", (source_id,)).fetchone()[0]
            if key and citekey is None and citekey_is_free(conn, key):
                conn.execute("UPDATE source SET citekey = ? WHERE id = ?", (key, source_id))
            # Zotero tags may contain spaces; refman tags are single words. The file's own keywords are kept to be
            # written back while the tags stay those (refman.citation.item: verbatim["keywords"]).
            tags = [t.strip() for t in entry.get("tags") or [] if t.strip()]
            words = ["-".join(t.split()) for t in tags]
            _add_tags(conn, source_id, words)
            if words != tags:
                entry["verbatim"] = {**(entry.get("verbatim") or {}), "keywords": [tags, sorted(set(words))]}
            rows = [(source_id, f, json.dumps(entry[f], ensure_ascii=False), now) for f in _BIB_FIELDS
                    if entry.get(f)]
            rows += [(source_id, f, json.dumps(entry[k], ensure_ascii=False), now)
                     for f, k in (("csl", "more"), ("verbatim", "verbatim")) if entry.get(k)]
            conn.executemany("INSERT OR REPLACE INTO field_value (source_id, field, origin, value, updated_at)"
                             " VALUES (?, ?, 'import', ?, ?)", rows)
            touched.append(source_id)
            counts["ids"].append(source_id)
        refresh_sources(conn, touched)
    counts["warnings"] = warnings
    return counts


def _match_keyless(conn: sqlite3.Connection, entry: dict[str, Any]) -> int | None:
    """An entry with no identity at all (`@misc{,` with a title only) is the work without URL, DOI or ISBN
    that came from a bibliography with the same title, type and date: importing the same file twice adds
    nothing."""
    row = conn.execute(
        "SELECT id FROM source WHERE url IS NULL AND doi IS NULL AND isbn IS NULL AND added_by = 'bibliography'"
        " AND title IS ? AND type = ? AND issued IS ? ORDER BY id LIMIT 1",
        (entry.get("title"), entry.get("type") or "webpage", entry.get("issued"))).fetchone()
    return None if row is None else int(row[0])


def _match_work(conn: sqlite3.Connection, url: str | None, doi: str | None, isbn: str | None,
                key: str | None) -> int | None:
    """The source that is this work: by URL (or alias), else DOI, else ISBN, else (no other identity) key."""
    if url:
        found = source_for_url(conn, url)
        if found is not None:
            return found
    if doi:
        row = conn.execute("SELECT id FROM source WHERE lower(doi) = lower(?) ORDER BY url IS NOT NULL, id LIMIT 1",
                           (doi,)).fetchone()
        if row:
            return int(row[0])
    if isbn:
        row = conn.execute("SELECT id FROM source WHERE isbn = ? ORDER BY id LIMIT 1", (isbn,)).fetchone()
        if row:
            return int(row[0])
    if key and not (url or doi or isbn):
        row = conn.execute("SELECT id FROM source WHERE citekey = ? AND url IS NULL AND doi IS NULL AND isbn IS NULL",
                           (key,)).fetchone()
        if row:
            return int(row[0])
    return None


# --- duplicates -------------------------------------------------------------------------------------------


def find_duplicates(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Groups of sources that are the same page by evidence (redirects, canonical URL, DOI): see
    refman.duplicates.find_duplicates."""
    from refman.duplicates import find_duplicates as find

    return find(conn)


def merge_sources(conn: sqlite3.Connection, keep_id: int, drop_ids: Sequence[int]) -> dict[str, Any]:
    """Merge `drop_ids` into `keep_id` in one transaction; nothing is lost: see refman.duplicates.merge_sources."""
    from refman.duplicates import merge_sources as merge

    return merge(conn, keep_id, drop_ids)
