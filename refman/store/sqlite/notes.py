"""SQLite implementation of refman.store.notes.NotesStore."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from refman.store.notes import (
    ImportIds,
    LabelledMention,
    NoteMention,
    NoteState,
    NoteSummary,
    ReportedMention,
)
from refman.store.sqlite.base import SqliteBase, transaction

_CHUNK = 500  # ids bound in one IN (…)
# The cached citation columns a label can give (refman.notes.importer composes them in this order).
_LABEL_COLUMNS = ("title", "author", "issued", "container_title")
# A note an import of this user's sees (parameter: the user): its own, or one imported before owners were recorded.
_MINE = "(owner = ? OR owner IS NULL)"


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


class SqliteNotes(SqliteBase):
    # --- reading notes and vault roots

    def vault_roots(self) -> list[str]:
        return [root for (root,) in self.conn.execute(f"SELECT DISTINCT root FROM note WHERE {_MINE} ORDER BY root",
                                                      (self.user,))]

    def notes_in_root(self, root: str) -> list[NoteState]:
        return [NoteState(*row) for row in self.conn.execute(
            f"SELECT id, path, size, mtime_ns, sha256 FROM note WHERE root = ? AND {_MINE}", (root, self.user))]

    def note_size_and_mtime(self, root: str, path: str) -> tuple[int, int] | None:
        row = self.conn.execute(f"SELECT size, mtime_ns FROM note WHERE root = ? AND path = ? AND {_MINE}"
                                " ORDER BY owner IS NULL LIMIT 1", (root, path, self.user)).fetchone()
        return None if row is None else (row[0], row[1])

    def note_summaries(self) -> list[NoteSummary]:
        return [NoteSummary(*row) for row in self.conn.execute(
            "SELECT n.id, n.root, n.path, n.status, n.reason, n.encoding,"
            " (SELECT count(*) FROM mention m WHERE m.note_id = n.id), n.owner FROM note n"
            " ORDER BY n.root, n.path, n.owner")]

    def sources_cited_per_root(self) -> dict[tuple[str | None, str], int]:
        return {(owner, root): n for owner, root, n in self.conn.execute(
            "SELECT n.owner, n.root, count(DISTINCT m.source_id) FROM note n JOIN mention m ON m.note_id = n.id"
            " GROUP BY n.owner, n.root")}

    def catalog_commit_counter(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    # --- what an import reads

    def source_ids_by_url(self) -> dict[str, int]:
        ids: dict[str, int] = dict(self.conn.execute("SELECT url, id FROM source WHERE url IS NOT NULL"))
        # a URL merged into another source (refman merge) keeps leading to it
        for url, sid in self.conn.execute("SELECT url, source_id FROM source_alias"):
            ids.setdefault(url, sid)
        return ids

    def mentions_of_notes(self, note_ids: Sequence[int]) -> list[NoteMention]:
        out: list[NoteMention] = []
        for chunk in _chunks(note_ids):
            out += map(NoteMention._make, self.conn.execute(
                f"SELECT source_id, label, kind FROM mention WHERE note_id IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def _notes_casefold_function(self) -> None:
        # SQLite's lower() is ASCII-only: labels with other letters fold in Python
        self.conn.create_function("casefold", 1, str.casefold, deterministic=True)

    def label_usage(self) -> dict[str, int]:
        self._notes_casefold_function()
        # ASCII labels fold in SQL (lower() is casefold for them): Python is called only for the others
        return dict(self.conn.execute(
            "SELECT CASE WHEN label GLOB '*[^ -~]*' THEN casefold(label) ELSE lower(label) END AS k,"
            " count(DISTINCT source_id) AS n FROM mention WHERE kind = 'definition' GROUP BY k HAVING n > 1"
        ).fetchall())

    def sources_with_definition_labels(self, keys: Sequence[str]) -> set[int]:
        self._notes_casefold_function()
        found: set[int] = set()
        for chunk in _chunks(sorted(keys)):
            found.update(sid for (sid,) in self.conn.execute(
                "SELECT DISTINCT source_id FROM mention WHERE kind = 'definition' AND"
                f" casefold(label) IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def labelled_mentions(self, source_ids: Sequence[int]) -> list[LabelledMention]:
        out: list[LabelledMention] = []
        for chunk in _chunks(source_ids):
            out += map(LabelledMention._make, self.conn.execute(
                "SELECT m.source_id, n.path, m.line, n.root, m.kind, m.label, m.link_text, s.host"
                " FROM mention m JOIN note n ON n.id = m.note_id JOIN source s ON s.id = m.source_id"
                f" WHERE m.source_id IN ({','.join('?' * len(chunk))})"
                " AND (m.kind = 'definition' OR m.title IS NOT NULL)", chunk))
        return out

    def label_evidence(self, source_ids: Sequence[int]) -> dict[int, list[tuple[str, str, str]]]:
        out: dict[int, list[tuple[str, str, str]]] = {}
        for chunk in _chunks(source_ids):
            for sid, name, origin, value in self.conn.execute(
                    "SELECT source_id, field, origin, value FROM field_value WHERE origin IN ('label', 'link-text')"
                    f" AND source_id IN ({','.join('?' * len(chunk))})", chunk):
                out.setdefault(sid, []).append((name, origin, value))
        return out

    def mentions_for_label_report(self, source_id: int) -> list[ReportedMention]:
        return [ReportedMention(*row) for row in self.conn.execute(
            "SELECT n.path, m.line, m.kind, m.label, m.link_text, m.title, s.host FROM mention m"
            " JOIN note n ON n.id = m.note_id JOIN source s ON s.id = m.source_id WHERE m.source_id = ?"
            " ORDER BY n.path, m.line, n.root", (source_id,))]

    # --- the import batch writer

    @contextmanager
    def bulk_import(self) -> Iterator[None]:
        conn = self.conn
        saved = int(conn.execute("PRAGMA cache_size").fetchone()[0])
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: the unique URL index is written in random order
        # Foreign keys are not checked while the writer inserts 200,000 rows whose ids it mapped itself under the
        # lock (a tenth of the SQL time), and it deletes a note's mentions itself, so no cascade is wanted;
        # `refman db check` runs foreign_key_check. A no-op inside a caller's transaction: checks stay on.
        enforced = int(conn.execute("PRAGMA foreign_keys").fetchone()[0])
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            with transaction(conn):
                yield
        finally:
            conn.execute(f"PRAGMA cache_size = {saved}")
            conn.execute(f"PRAGMA foreign_keys = {enforced}")

    def claim_notes(self, roots: Sequence[str]) -> None:
        self.conn.executemany("UPDATE note SET owner = ? WHERE root = ? AND owner IS NULL",
                              [(self.user, root) for root in roots])

    def move_vault_root(self, old_root: str, new_root: str, prefix: str) -> None:
        self.conn.execute(f"UPDATE note SET root = ?, path = ? || path, owner = ? WHERE root = ? AND {_MINE}",
                          (new_root, prefix, self.user, old_root, self.user))

    def _notes_inserted_ids(self, sql: str, keys: list[Any], what: str) -> list[int]:
        """Insert-then-select: the ids of rows just inserted, in the order of `keys` (one JSON array bound)."""
        ids = [i for (i,) in self.conn.execute(sql, (json.dumps(keys, ensure_ascii=False),))]
        if len(ids) != len(keys):
            raise RuntimeError(f"{len(keys)} {what} inserted, {len(ids)} found again")  # pragma: no cover
        return ids

    def write_import_rows(self, ids: ImportIds, notes: list[tuple[Any, ...]], sources: list[tuple[Any, ...]],
                          mentions: list[tuple[Any, ...]], evidence: list[tuple[Any, ...]]) -> None:
        conn, user = self.conn, self.user
        if notes:
            conn.executemany(
                "INSERT INTO note (root, path, size, mtime_ns, sha256, encoding, status, reason, imported_at, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(*r, user) for r in notes])
            ids.notes += self._notes_inserted_ids(
                "SELECT n.id FROM json_each(?) j JOIN note n ON n.root = j.value ->> 0 AND n.path = j.value ->> 1"
                " AND n.owner = j.value ->> 2 ORDER BY j.key", [[r[0], r[1], user] for r in notes], "notes")
        note_ids = ids.notes
        if sources:
            # added_by, type and the other citation columns keep their defaults (note, webpage, NULL): binding
            # fewer columns makes this, the largest insert of an import, a fifth faster.
            conn.executemany(
                "INSERT INTO source (url, url_as_written, host, created_at, updated_at, label_note, first_cited_at,"
                f" {', '.join(_LABEL_COLUMNS)}, created_by, updated_by)"
                f" VALUES ({', '.join('?' * (7 + len(_LABEL_COLUMNS)))}, ?, ?)",
                [(*r, user, user) if r[5] is None or r[5] > 0 else (*r[:5], note_ids[-r[5] - 1], *r[6:], user, user)
                 for r in sources])
            ids.sources += self._notes_inserted_ids(
                "SELECT s.id FROM json_each(?) j JOIN source s ON s.url = j.value ORDER BY j.key",
                [r[0] for r in sources], "sources")
        source_ids = ids.sources
        if mentions:
            conn.executemany(
                "INSERT INTO mention (source_id, note_id, ordinal, line, label, title, annotation, flag, kind,"
                " link_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(s if s > 0 else source_ids[-s - 1], n if n > 0 else note_ids[-n - 1], *rest)
                 for s, n, *rest in mentions])
        if evidence:
            conn.executemany(
                "INSERT INTO field_value (source_id, field, origin, value, updated_at, changed_by)"
                " VALUES (?, ?, 'label', ?, ?, ?)",
                [(s if s > 0 else source_ids[-s - 1], *rest, user) for s, *rest in evidence])

    def update_notes(self, rows: list[tuple[Any, ...]]) -> None:
        self.conn.executemany(
            "UPDATE note SET size = ?, mtime_ns = ?, sha256 = ?, encoding = ?, status = ?, reason = ?,"
            " imported_at = ? WHERE id = ?", rows)

    def touch_notes(self, rows: list[tuple[int, int]]) -> None:
        self.conn.executemany("UPDATE note SET mtime_ns = ? WHERE id = ?", rows)

    def delete_mentions_of_notes(self, note_ids: Sequence[int]) -> None:
        self.conn.executemany("DELETE FROM mention WHERE note_id = ?", [(nid,) for nid in note_ids])

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        self.delete_mentions_of_notes(note_ids)
        self.conn.executemany("DELETE FROM note WHERE id = ?", [(nid,) for nid in note_ids])

    def mark_sources_cited(self, source_ids: Iterable[int], now: str) -> None:
        self.conn.executemany("UPDATE source SET first_cited_at = ? WHERE id = ? AND first_cited_at IS NULL",
                              [(now, sid) for sid in source_ids])

    def mark_sources_updated(self, source_ids: Iterable[int], now: str) -> None:
        self.conn.executemany("UPDATE source SET updated_at = ?, updated_by = ? WHERE id = ?",
                              [(now, self.user, sid) for sid in source_ids])

    def replace_label_evidence(self, source_ids: Sequence[int], rows: list[tuple[Any, ...]]) -> None:
        self.conn.executemany("DELETE FROM field_value WHERE source_id = ? AND origin IN ('label', 'link-text')",
                              [(sid,) for sid in source_ids])
        self.conn.executemany(
            "INSERT INTO field_value (source_id, field, origin, value, updated_at, changed_by)"
            " VALUES (?, ?, ?, ?, ?, ?)", [(*r, self.user) for r in rows])

    def set_label_columns(self, rows: list[tuple[Any, ...]]) -> None:
        assignments = ", ".join(f"{name} = ?" for name in _LABEL_COLUMNS)
        self.conn.executemany(f"UPDATE source SET {assignments} WHERE id = ?", rows)
