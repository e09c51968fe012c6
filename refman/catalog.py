"""Operations on the catalog: add, tag, set/unset pinned fields, look-ups, listings and statistics.

Everything here runs on the light sqlite3 connection from refman.store (no ORM on these paths: `refman list`
must start fast, and imports of 100,000 definitions must stay within seconds). Every write is one
transaction: `with transaction(conn): …`."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from refman.errors import NotFoundError, UsageError
from refman.timeutil import utc_now

# Fields a user may set by hand (`refman set`), with how their text is read.
SETTABLE_FIELDS = (
    "title", "author", "issued", "container_title", "publisher", "doi", "language", "abstract", "type",
    "volume", "issue", "page", "archive_id", "genre",
)
_ISO_PARTIAL = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_HIDDEN_EVIDENCE = {"label_note", "flag"}  # label_note: 0002 catalogs


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error.

    Inside a transaction that is already open (the caller's), it joins it: no BEGIN and no COMMIT — the owner
    of the outer transaction commits or rolls back. The block still runs under a savepoint, so that an error
    in it undoes its own writes (and propagates) while leaving the caller's earlier writes to the caller."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT refman_joined")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled the whole transaction back
                conn.execute("ROLLBACK TO refman_joined")
                conn.execute("RELEASE refman_joined")
            raise
        conn.execute("RELEASE refman_joined")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled it back (disk full, I/O error)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# --- look-ups -------------------------------------------------------------------------------------------


def resolve_source(conn: sqlite3.Connection, ref: str) -> int:
    """A source id from an id, a citation key or a URL (as written or normalised)."""
    ref = ref.strip()
    if ref.isdigit():
        row = conn.execute("SELECT id FROM source WHERE id = ?", (int(ref),)).fetchone()
        if row:
            return int(row[0])
    row = conn.execute("SELECT id FROM source WHERE citekey = ?", (ref,)).fetchone()
    if row:
        return int(row[0])
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
    tag = tag.strip().lstrip("#").strip()
    if not tag or any(c.isspace() for c in tag):
        raise UsageError(f"invalid tag {tag!r}: tags are single words (use - or / to join words)")
    return tag


def _add_tags(conn: sqlite3.Connection, source_id: int, tags: Iterable[str]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO source_tag (source_id, tag) VALUES (?, ?)",
        [(source_id, normalise_tag(t)) for t in tags],
    )


def tag_sources(
    conn: sqlite3.Connection, source_ids: Sequence[int], add: Sequence[str] = (), remove: Sequence[str] = ()
) -> None:
    with transaction(conn):
        for sid in source_ids:
            _add_tags(conn, sid, add)
            conn.executemany(
                "DELETE FROM source_tag WHERE source_id = ? AND tag = ?",
                [(sid, normalise_tag(t)) for t in remove],
            )


def all_tags(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    return [(r[0], r[1]) for r in conn.execute("SELECT tag, count(*) FROM source_tag GROUP BY tag ORDER BY tag")]


def parse_user_value(field: str, text: str) -> Any:
    """A field's value as the user typed it → the stored evidence value."""
    text = text.strip()
    if field not in SETTABLE_FIELDS:
        raise UsageError(f"unknown field {field!r}; settable: {', '.join(SETTABLE_FIELDS)}, citekey, note")
    if not text:
        raise UsageError(f"empty value for {field}; use `refman unset` to release a field")
    if field == "author":
        return [_parse_name(part) for part in re.split(r"\s*;\s*|\s+and\s+", text) if part.strip()]
    if field == "issued":
        if not _ISO_PARTIAL.match(text):
            raise UsageError(f"issued must be an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD), not {text!r}")
        return text
    if field == "doi":
        match = re.search(r"10\.\d{4,9}/\S+", text)
        if not match:
            raise UsageError(f"not a DOI: {text!r}")
        return match.group(0).lower()
    if field == "type":
        from typing import get_args

        from refman.citation.item import CSLType

        if text not in get_args(CSLType):
            raise UsageError(f"unknown type {text!r}; one of: {', '.join(get_args(CSLType))}")
    return text


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
            else:
                value = parse_user_value(field, text)
                _set_evidence(conn, source_id, field, value, "user", now)
                done[field] = value
    return done


def unset_fields(conn: sqlite3.Connection, source_id: int, fields: Sequence[str]) -> list[str]:
    """Release pinned user values: the best other evidence shows again. Returns the fields released."""
    from refman.merge import refresh_sources

    released: list[str] = []
    with transaction(conn):
        for raw in fields:
            field = raw.strip().replace("-", "_")
            released.append(field)
            if field == "note":
                conn.execute("UPDATE source SET user_note = NULL WHERE id = ?", (source_id,))
                continue
            if field not in SETTABLE_FIELDS:
                raise UsageError(f"unknown field {field!r}")
            conn.execute("DELETE FROM field_value WHERE source_id = ? AND field = ? AND origin = 'user'",
                         (source_id, field))
        conn.execute("UPDATE source SET updated_at = ? WHERE id = ?", (utc_now(), source_id))
        refresh_sources(conn, [source_id])
    return released


# --- listings ---------------------------------------------------------------------------------------------

_LIST_COLUMNS = (
    "id, url, url_as_written, citekey, type, title, issued, container_title, publisher, author, doi,"
    " language, abstract, status, reason, host, fetched_at, last_ok_at, user_note, added_by, first_cited_at"
)
# An orphan: a source that notes cited once (first_cited_at is set on the first mention) and none cites now.
# Sources added by hand or from a bibliography and never cited are not orphans.
_ORPHAN_SQL = ("{s}.first_cited_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mention m WHERE m.source_id = {s}.id)")


def list_sources(
    conn: sqlite3.Connection,
    *,
    tag: str | None = None,
    orphans: bool = False,
    status: str | None = None,
    ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Sources as dicts with the citation item's field names (see README: JSON output)."""
    where: list[str] = []
    params: list[Any] = []
    if tag:
        where.append("id IN (SELECT source_id FROM source_tag WHERE tag = ?)")
        params.append(tag)
    if orphans:
        where.append(_ORPHAN_SQL.format(s="source"))
    if status:
        where.append("status = ?")
        params.append(status)
    if ids is not None:
        where.append(f"id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    sql = f"SELECT {_LIST_COLUMNS} FROM source"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = conn.execute(sql, params).fetchall()
    if not rows:
        return []
    wanted = {r["id"] for r in rows}
    few = len(wanted) <= 500
    id_filter = f" WHERE source_id IN ({','.join(map(str, wanted))})" if few else ""
    tags: dict[int, list[str]] = {}
    for sid, t in conn.execute(f"SELECT source_id, tag FROM source_tag{id_filter} ORDER BY tag"):
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

    item.update(copy_facts(conn, source_id))  # archive, text_origin, thin (refman.fetch.fallback)
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

_BIB_FIELDS = ("type", "title", "author", "issued", "container_title", "publisher", "doi", "language", "abstract",
               "volume", "issue", "page", "archive_id", "genre")


def import_bibliographies(conn: sqlite3.Connection, paths: Sequence[Any]) -> dict[str, int]:
    """Add the entries of bibliography files as sources, matching existing ones by normalised URL or DOI;
    incoming citation keys are kept where free. Their fields are evidence of origin `import`."""
    from refman.citation.importer import read_bibliography
    from refman.citation.keys import citekey_is_free
    from refman.merge import refresh_sources
    from refman.urls import normalise_url

    entries: list[dict[str, Any]] = []
    for path in paths:
        entries.extend(read_bibliography(path))
    counts = {"entries": len(entries), "new": 0, "matched": 0, "skipped": 0}
    now = utc_now()
    touched: list[int] = []
    with transaction(conn):
        for entry in entries:
            doi = (entry.get("doi") or "").lower() or None
            url = entry.get("url") or (f"https://doi.org/{doi}" if doi else None)
            if not url:
                counts["skipped"] += 1
                continue
            try:
                ident = normalise_url(url)
            except UsageError:
                counts["skipped"] += 1
                continue
            known = source_for_url(conn, ident.url)
            row = None if known is None else conn.execute("SELECT id, citekey FROM source WHERE id = ?",
                                                          (known,)).fetchone()
            if row is None and doi:
                row = conn.execute("SELECT id, citekey FROM source WHERE doi = ?", (doi,)).fetchone()
            if row is None:
                cur = conn.execute(
                    "INSERT INTO source (url, url_as_written, host, created_at, updated_at, user_note, added_by)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'bibliography')",
                    (ident.url, url, ident.host, now, now, entry.get("note")),
                )
                source_id, citekey = int(cur.lastrowid or 0), None
                counts["new"] += 1
            else:
                source_id, citekey = int(row["id"]), row["citekey"]
                counts["matched"] += 1
            key = entry.get("citekey")
            if key and citekey is None and citekey_is_free(conn, key):
                conn.execute("UPDATE source SET citekey = ? WHERE id = ?", (key, source_id))
            # Zotero tags may contain spaces; refman tags are single words.
            _add_tags(conn, source_id, ["-".join(t.split()) for t in entry.get("tags") or [] if t.strip()])
            conn.executemany(
                "INSERT OR REPLACE INTO field_value (source_id, field, origin, value, updated_at)"
                " VALUES (?, ?, 'import', ?, ?)",
                [(source_id, f, json.dumps(entry[f], ensure_ascii=False), now)
                 for f in _BIB_FIELDS if entry.get(f)],
            )
            touched.append(source_id)
        refresh_sources(conn, touched)
    return counts


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
