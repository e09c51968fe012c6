"""PostgreSQL implementation of refman.store.notes.NotesStore.

Statements are SQLAlchemy Core on refman.models' tables, built once (module constants); plain PostgreSQL where
Core would hide what runs: COPY, the import's table locks, the commit counter's snapshot and lock look-ups.

Sorting: SQLite's BINARY order is code point order, so roots and paths are sorted `COLLATE "C"` here, whatever the
database's default collation is. Casefolding: SQLite folds ASCII labels with lower() and the others with Python's
str.casefold; PostgreSQL has no casefold() (lower() keeps "ß"), so ASCII labels are folded in SQL
(`lower(label COLLATE "C")`, ASCII-only like SQLite's lower()) and the others in Python.

The import batch writer (write_import_rows) takes ids for the notes and sources it creates from their tables' own
sequences (`nextval`, what their SERIAL default would call: never max(id)+1), in one round trip per table, gives
them in creation order to the batch's negative names (as ImportIds records them), and then COPYs the rows with
those ids: no row is looked up again, and the statement-level search-index triggers run once per table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    delete,
    distinct,
    func,
    or_,
    select,
    update,
)

from refman.models import FieldValue, Mention, Note, Source, SourceAlias
from refman.store.notes import (
    ImportIds,
    LabelledMention,
    NoteMention,
    NoteState,
    NoteSummary,
    ReportedMention,
)
from refman.store.postgres.base import PostgresBase
from refman.store.postgres.changes import CHANNEL

_note: Table = Note.__table__  # type: ignore[attr-defined]
_source: Table = Source.__table__  # type: ignore[attr-defined]
_mention: Table = Mention.__table__  # type: ignore[attr-defined]
_field_value: Table = FieldValue.__table__  # type: ignore[attr-defined]
_source_alias: Table = SourceAlias.__table__  # type: ignore[attr-defined]

# The cached citation columns a label can give (refman.notes.importer composes them in this order).
_LABEL_COLUMNS = ("title", "author", "issued", "container_title")
_LABEL_ORIGINS = ("label", "link-text")
# origin IN ('label', 'link-text'), without an expanding IN (its list would be bound per call)
_LABEL_ORIGIN = or_(*(_field_value.c.origin == origin for origin in _LABEL_ORIGINS))
_DEFINITION = "definition"
_XID_MASK = 0xFFFFFFFF  # pg_locks shows 32-bit xids; snapshots show 64-bit ones (epoch << 32 | xid)


def _c(column: Any) -> Any:
    """A text column in code point order (SQLite's BINARY)."""
    return column.collate("C")


def _is_ascii(column: Any) -> Any:
    """True for a pure-ASCII text (every character one byte in UTF-8)."""
    return func.octet_length(column) == func.char_length(column)


def _ascii_lower(column: Any) -> Any:
    """lower() of ASCII letters only, as SQLite's lower() (the "C" collation's lower())."""
    return func.lower(column.collate("C"))


# --- reading notes and vault roots --------------------------------------------------------------------------------

# A note an import of this user's (parameter `user`) sees: its own, or one imported before owners were recorded.
_MINE = or_(_note.c.owner == bindparam("user", type_=String), _note.c.owner.is_(None))
_VAULT_ROOTS = select(_note.c.root).where(_MINE).group_by(_note.c.root).order_by(_c(_note.c.root))
_NOTES_IN_ROOT = (select(_note.c.id, _note.c.path, _note.c.size, _note.c.mtime_ns, _note.c.sha256)
                  .where(_note.c.root == bindparam("root"), _MINE).order_by(_c(_note.c.path)))
_NOTE_SIZE_AND_MTIME = select(_note.c.size, _note.c.mtime_ns).where(
    _note.c.root == bindparam("root"), _note.c.path == bindparam("path"), _MINE).order_by(
    _note.c.owner.is_(None)).limit(1)
_NOTE_SUMMARIES = select(
    _note.c.id, _note.c.root, _note.c.path, _note.c.status, _note.c.reason, _note.c.encoding,
    select(func.count()).select_from(_mention).where(_mention.c.note_id == _note.c.id).scalar_subquery(),
    _note.c.owner,
).order_by(_c(_note.c.root), _c(_note.c.path), _c(_note.c.owner).nulls_first())
_SOURCES_CITED_PER_ROOT = (select(_note.c.owner, _note.c.root, func.count(distinct(_mention.c.source_id)))
                           .select_from(_note.join(_mention, _mention.c.note_id == _note.c.id))
                           .group_by(_note.c.owner, _note.c.root))

# --- what an import reads ----------------------------------------------------------------------------------------

_SOURCE_URLS = select(_source.c.url, _source.c.id).where(_source.c.url.is_not(None))
_ALIAS_URLS = select(_source_alias.c.url, _source_alias.c.source_id)
_MENTIONS_OF_NOTES = (select(_mention.c.source_id, _mention.c.label, _mention.c.kind)
                      .where(_mention.c.note_id == any_(bindparam("ids")))
                      .order_by(_mention.c.note_id, _mention.c.ordinal, _mention.c.id))
# Definition labels that are not pure ASCII, with their sources: folded in Python.
_OTHER_DEFINITION_LABELS = (select(_mention.c.label, _mention.c.source_id)
                            .where(_mention.c.kind == _DEFINITION, ~_is_ascii(_mention.c.label))
                            .group_by(_mention.c.label, _mention.c.source_id))
# ASCII definition labels folded in SQL: the keys used for more than one source, and (with their sources) the
# keys some non-ASCII label folds to as well (bound as `merge`), whose sources are counted together in Python.
# A bound list is looked up as `IN (SELECT unnest(…))`, a hashed subplan (`= ANY(…)` of a parameter would scan it
# for every row).
_ASCII_KEY = _ascii_lower(_mention.c.label)
_TEXTS = ARRAY(String)
_IN_MERGE = _ASCII_KEY.in_(select(func.unnest(bindparam("merge", type_=_TEXTS))))
_ASCII_LABEL_USAGE = (
    select(_ASCII_KEY, func.count(distinct(_mention.c.source_id)),
           func.array_agg(distinct(_mention.c.source_id)).filter(_IN_MERGE))
    .where(_mention.c.kind == _DEFINITION, _is_ascii(_mention.c.label))
    .group_by(_ASCII_KEY)
    .having((func.count(distinct(_mention.c.source_id)) > 1) | func.bool_or(_IN_MERGE))
)
_ASCII_DEFINITION_SOURCES = (select(_mention.c.source_id).distinct()
                             .where(_mention.c.kind == _DEFINITION, _is_ascii(_mention.c.label),
                                    _ASCII_KEY.in_(select(func.unnest(bindparam("keys", type_=_TEXTS))))))
_LABELLED_MENTIONS = (
    select(_mention.c.source_id, _note.c.path, _mention.c.line, _note.c.root, _mention.c.kind, _mention.c.label,
           _mention.c.link_text, _source.c.host)
    .select_from(_mention.join(_note, _note.c.id == _mention.c.note_id)
                 .join(_source, _source.c.id == _mention.c.source_id))
    .where(_mention.c.source_id == any_(bindparam("ids")),
           (_mention.c.kind == _DEFINITION) | _mention.c.title.is_not(None))
    .order_by(_mention.c.source_id, _mention.c.id)
)
_LABEL_EVIDENCE = (
    select(_field_value.c.source_id, _field_value.c.field, _field_value.c.origin, _field_value.c.value)
    .where(_LABEL_ORIGIN, _field_value.c.source_id == any_(bindparam("ids")))
    .order_by(_field_value.c.source_id, _c(_field_value.c.field), _c(_field_value.c.origin))
)
_MENTIONS_FOR_LABEL_REPORT = (
    select(_note.c.path, _mention.c.line, _mention.c.kind, _mention.c.label, _mention.c.link_text, _mention.c.title,
           _source.c.host)
    .select_from(_mention.join(_note, _note.c.id == _mention.c.note_id)
                 .join(_source, _source.c.id == _mention.c.source_id))
    .where(_mention.c.source_id == bindparam("sid"))
    .order_by(_c(_note.c.path), _mention.c.line, _c(_note.c.root))
)

# --- the import batch writer -------------------------------------------------------------------------------------

# The import's write lock, the counterpart of SQLite's BEGIN IMMEDIATE: SHARE ROW EXCLUSIVE conflicts with itself
# and with the ROW EXCLUSIVE lock every INSERT/UPDATE/DELETE takes, and not with readers. Held from the start of
# bulk_import to its commit, it makes the importer's read-then-write safe: once it has it, no other transaction
# writes notes, sources, mentions, evidence or aliases until the import commits, so the importer's check of the
# commit counter (and its second reading of the catalog, when another writer committed) sees the last writes.
# source_tag and source_text are taken too, at once and in this order: the search index's bulk upkeep
# (search_index_batch, inside the import) takes the same lock on them to suspend their triggers, and taking it
# later, behind a writer of tags waiting for `source`, would deadlock.
_IMPORT_LOCK = ("LOCK TABLE note, source, mention, field_value, source_alias, source_tag, source_text"
                " IN SHARE ROW EXCLUSIVE MODE")

_MOVE_VAULT_ROOT = update(_note).values(root=bindparam("new_root"), path=bindparam("prefix") + _note.c.path,
                                        owner=bindparam("user", type_=String)).where(
    _note.c.root == bindparam("old_root"), _MINE)
_CLAIM_NOTES = update(_note).values(owner=bindparam("user", type_=String)).where(
    _note.c.root == any_(bindparam("roots", type_=ARRAY(String))), _note.c.owner.is_(None))


def _next_ids(table: str) -> str:
    # nextval on the table's own sequence (the one its SERIAL id default calls), n times in one statement
    # (one array: n rows would cost more to read than to make)
    return (f"SELECT array_agg(nextval(s)) FROM (SELECT pg_get_serial_sequence('{table}', 'id')::regclass AS s)"
            " AS q, generate_series(1, %(n)s)")


_NEXT_NOTE_IDS = _next_ids("note")
_NEXT_SOURCE_IDS = _next_ids("source")
_COPY_NOTES = ("COPY note (id, root, path, size, mtime_ns, sha256, encoding, status, reason, imported_at, owner)"
               " FROM STDIN")
# added_by, type and the other citation columns keep their server defaults (note, webpage, NULL)
_COPY_SOURCES = ("COPY source (id, url, url_as_written, host, created_at, updated_at, label_note, first_cited_at,"
                 f" {', '.join(_LABEL_COLUMNS)}, created_by, updated_by) FROM STDIN")
_COPY_MENTIONS = ("COPY mention (source_id, note_id, ordinal, line, label, title, annotation, flag, kind, link_text)"
                  " FROM STDIN")
_COPY_LABEL_EVIDENCE = "COPY field_value (source_id, field, origin, value, updated_at, changed_by) FROM STDIN"


def _update_from_arrays(target: Table, key: str, names: Sequence[str]) -> Any:
    """UPDATE target SET name = v.name, … FROM unnest(one array per column, then the ids) AS v(…) WHERE id = v.id:
    a batch of rows in one statement (many updates pipelined cost twice as much). Each id comes once in a batch."""
    # integers bind as bigint: note.mtime_ns is a BIGINT on PostgreSQL (migration 0001), an Integer in the model
    arrays = [bindparam(name, type_=ARRAY(BigInteger if isinstance(target.c[name].type, Integer)
                                          else target.c[name].type)) for name in names]
    rows = func.unnest(*arrays, bindparam(key, type_=ARRAY(Integer))).table_valued(*names, "id").render_derived(
        name="v")
    return update(target).values({name: rows.c[name] for name in names}).where(target.c.id == rows.c.id)


def _columns(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    """Rows as one list per column, named by `names`."""
    return {name: list(values) for name, values in zip(names, zip(*rows, strict=True), strict=True)}


_UPDATE_NOTE_COLUMNS = ("size", "mtime_ns", "sha256", "encoding", "status", "reason", "imported_at")
_UPDATE_NOTES = _update_from_arrays(_note, "ids", _UPDATE_NOTE_COLUMNS)
_TOUCH_NOTES = _update_from_arrays(_note, "ids", ("mtime_ns",))
_DELETE_MENTIONS_OF_NOTES = delete(_mention).where(_mention.c.note_id == any_(bindparam("ids")))
_DELETE_NOTES = delete(_note).where(_note.c.id == any_(bindparam("ids")))
_MARK_CITED = update(_source).values(first_cited_at=bindparam("now")).where(
    _source.c.id == any_(bindparam("ids")), _source.c.first_cited_at.is_(None))
_MARK_UPDATED = update(_source).values(updated_at=bindparam("now"), updated_by=bindparam("by", type_=String)).where(
    _source.c.id == any_(bindparam("ids")))
_DELETE_LABEL_EVIDENCE = delete(_field_value).where(
    _field_value.c.source_id == any_(bindparam("ids")), _LABEL_ORIGIN)
_SET_LABEL_COLUMNS = _update_from_arrays(_source, "ids", _LABEL_COLUMNS)

# --- the commit counter ------------------------------------------------------------------------------------------

_SNAPSHOT = "SELECT pg_current_snapshot()::text"
# The xids of this connection's open transaction and of its open subtransactions (each holds the lock on its own
# xid while it lasts: a released savepoint's xid is no longer listed, so it is read while the writes' savepoint is
# still open).
_OWN_XIDS = ("SELECT coalesce(array_agg(transactionid::text::bigint), '{}') FROM pg_locks"
             " WHERE locktype = 'transactionid' AND pid = pg_backend_pid() AND granted AND mode = 'ExclusiveLock'")
_SNAPSHOT_AND_OWN_XIDS = f"SELECT pg_current_snapshot()::text, ({_OWN_XIDS})"
# Does the catalog notify its commits (migration 0010)? Then listen.
_NOTIFYING = "SELECT to_regproc('refman_notify_change') IS NOT NULL"
_LISTEN = f"LISTEN {CHANNEL}"


def _parse_snapshot(text: str) -> tuple[int, frozenset[int]]:
    """(xmax, xids in progress) of a pg_snapshot's text form `xmin:xmax:xip,…`."""
    _xmin, xmax, xip = text.split(":")
    return int(xmax), frozenset(int(x) for x in xip.split(",") if x)


def _others_finished(before: tuple[int, frozenset[int]], now: tuple[int, frozenset[int]], own: set[int]) -> bool:
    """Did a transaction that is not ours finish between two snapshots? One that had an xid then (in progress:
    in `before`'s list) or got one since (at or above `before`'s xmax) and is no longer in progress now."""
    (old_xmax, old_running), (xmax, running) = before, now
    if any(x < xmax and x not in running and x & _XID_MASK not in own for x in old_running):
        return True
    if xmax <= old_xmax:
        return False
    # xids given out since `before`: finished unless still in progress, or ours
    finished = xmax - old_xmax - sum(1 for x in running if x >= old_xmax)
    for xid in own:
        full = (old_xmax & ~_XID_MASK) | xid
        if full < old_xmax:
            full += _XID_MASK + 1
        if full < xmax and full not in running:
            finished -= 1
    return finished > 0


class PostgresNotes(PostgresBase):
    """refman.store.notes.NotesStore on PostgreSQL."""

    _commit_seen: tuple[int, frozenset[int]] | None = None  # the snapshot of the previous look
    _commit_base: tuple[int, frozenset[int]] | None = None  # the snapshot just before bulk_import's BEGIN
    _commit_moves = 0  # looks that found another transaction finished (see catalog_commit_counter)
    _commit_notified = 0  # notifications of other connections' commits
    _commit_listening: bool | None = None  # None: not asked yet; False: the catalog does not notify
    _own_xids: set[int] | None = None

    # --- reading notes and vault roots ---------------------------------------------------------------------------

    def vault_roots(self) -> list[str]:
        return [root for (root,) in self.execute(_VAULT_ROOTS, {"user": self.user})]

    def notes_in_root(self, root: str) -> list[NoteState]:
        return [NoteState(*row) for row in self.execute(_NOTES_IN_ROOT, {"root": root, "user": self.user})]

    def note_size_and_mtime(self, root: str, path: str) -> tuple[int, int] | None:
        row = self.execute(_NOTE_SIZE_AND_MTIME, {"root": root, "path": path, "user": self.user}).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def note_summaries(self) -> list[NoteSummary]:
        return [NoteSummary(*row) for row in self.execute(_NOTE_SUMMARIES)]

    def sources_cited_per_root(self) -> dict[tuple[str | None, str], int]:
        return {(owner, root): int(n) for owner, root, n in self.execute(_SOURCES_CITED_PER_ROOT)}

    def catalog_commit_counter(self) -> int:
        """A number that changes when another connection commits to the catalog: it never misses such a
        commit, and not one of this store's own commits moves it, save in the rare cases below (the protocol
        allows a counter to over-report: a caller then reads the catalog again).

        PostgreSQL has no per-database data_version, and its statistics (pg_stat_database.xact_commit) reach
        other sessions up to seconds late, so they could miss a commit. Two signals are used instead:
        - notifications: migration 0010 makes every statement that writes the catalog's tables notify
          `refman_catalog_changed`, delivered on commit and only to connections of this database; this
          connection LISTENs, and counts those sent by other backends (a notification names its sender's pid).
          Exact, but delivered only between transactions.
        - inside a transaction, commits since it began are not delivered yet, so a look made there also reads
          the snapshot (pg_current_snapshot(): the next transaction id and the ids in progress, from shared
          memory) and counts a move when a transaction that had an id (any that wrote) when the transaction
          began, or got one since, has finished — unless it is this store's own (the ids its transaction and
          open savepoints hold, read from pg_locks by this group's writers and at the look). bulk_import takes
          the snapshot just before its BEGIN, so the window is the wait for its lock. Transaction ids are
          server-wide: a commit to another database in that window over-reports, as may another session's
          savepoint, or a savepoint of this store's released before any of this group's writes in it.
        A catalog without migration 0010's notifications is followed by snapshots alone, between every two
        looks (never missing a commit, over-reporting every commit of the server)."""
        if self._commit_listening is None and not self.in_transaction:
            self._commit_listen()
        if self.in_transaction:
            text, own_now = self.execute(_SNAPSHOT_AND_OWN_XIDS).fetchone() or ("", [])
        else:  # the round trip also delivers the notifications that arrived meanwhile
            text, own_now = (self.execute(_SNAPSHOT).fetchone() or ("",))[0], []
        now = _parse_snapshot(text)
        own = set(self._own_xids or ()) | {int(x) for x in own_now}
        if self._commit_listening and not self.in_transaction:
            self._commit_base = None
        else:
            base = self._commit_base or self._commit_seen
            if base is not None and _others_finished(base, now, own):
                self._commit_moves += 1
            # our open transaction's ids are not in progress in our own snapshot: they count as finished now
            self._commit_base = now if self._commit_base is not None else None
        self._commit_seen, self._own_xids = now, set()
        return self._commit_notified + self._commit_moves

    def _commit_listen(self) -> None:
        from psycopg import Notify

        def noted(notify: Notify) -> None:
            if notify.pid != self.conn.info.backend_pid:
                self._commit_notified += 1

        row = self.execute(_NOTIFYING).fetchone()
        self._commit_listening = bool(row and row[0])
        if self._commit_listening:
            self.conn.add_notify_handler(noted)
            self.execute(_LISTEN)

    def _remember_own_xids(self) -> None:
        """Note the ids of this connection's open transaction: its commit is not another writer's."""
        row = self.execute(_OWN_XIDS).fetchone()
        if row and row[0]:
            if self._own_xids is None:
                self._own_xids = set()
            self._own_xids.update(int(x) for x in row[0])

    @contextmanager
    def _notes_write(self) -> Iterator[None]:
        """A write of this group: in the caller's transaction, or in one of its own; either way its transaction
        ids are remembered (see catalog_commit_counter)."""
        if self.in_transaction:
            yield
            self._remember_own_xids()
            return
        with self.transaction():
            yield
            self._remember_own_xids()

    # --- what an import reads ------------------------------------------------------------------------------------

    def source_ids_by_url(self) -> dict[str, int]:
        ids: dict[str, int] = {url: int(sid) for url, sid in self.execute(_SOURCE_URLS)}
        # a URL merged into another source (refman merge) keeps leading to it
        for url, sid in self.execute(_ALIAS_URLS):
            ids.setdefault(url, int(sid))
        return ids

    def mentions_of_notes(self, note_ids: Sequence[int]) -> list[NoteMention]:
        if not note_ids:
            return []
        return [NoteMention(*row) for row in self.execute(_MENTIONS_OF_NOTES, {"ids": list(note_ids)})]

    def _other_definition_labels(self) -> dict[str, set[int]]:
        """{casefolded label: its sources} of the definition labels that are not pure ASCII."""
        found: dict[str, set[int]] = {}
        for label, sid in self.execute(_OTHER_DEFINITION_LABELS):
            found.setdefault(label.casefold(), set()).add(int(sid))
        return found

    def label_usage(self) -> dict[str, int]:
        others = self._other_definition_labels()
        usage: dict[str, int] = {}
        merged: dict[str, set[int]] = {}
        for key, n, sids in self.execute(_ASCII_LABEL_USAGE, {"merge": [k for k in others if k.isascii()]}):
            if sids is None:
                usage[key] = int(n)
            else:
                merged[key] = set(sids)
        for key, sids in others.items():
            merged.setdefault(key, set()).update(sids)
        usage.update((key, len(sids)) for key, sids in merged.items() if len(sids) > 1)
        return usage

    def sources_with_definition_labels(self, keys: Sequence[str]) -> set[int]:
        if not keys:
            return set()
        wanted = set(keys)
        found = {int(sid) for (sid,) in self.execute(_ASCII_DEFINITION_SOURCES,
                                                      {"keys": [k for k in wanted if k.isascii()]})}
        for key, sids in self._other_definition_labels().items():
            if key in wanted:
                found |= sids
        return found

    def labelled_mentions(self, source_ids: Sequence[int]) -> list[LabelledMention]:
        if not source_ids:
            return []
        return [LabelledMention(*row) for row in self.execute(_LABELLED_MENTIONS, {"ids": list(source_ids)})]

    def label_evidence(self, source_ids: Sequence[int]) -> dict[int, list[tuple[str, str, str]]]:
        out: dict[int, list[tuple[str, str, str]]] = {}
        if not source_ids:
            return out
        for sid, name, origin, value in self.execute(_LABEL_EVIDENCE, {"ids": list(source_ids)}):
            out.setdefault(int(sid), []).append((name, origin, value))
        return out

    def mentions_for_label_report(self, source_id: int) -> list[ReportedMention]:
        return [ReportedMention(*row) for row in self.execute(_MENTIONS_FOR_LABEL_REPORT, {"sid": source_id})]

    # --- the import batch writer ---------------------------------------------------------------------------------

    @contextmanager
    def bulk_import(self) -> Iterator[None]:
        if self._commit_listening and not self.in_transaction:
            # what finished before BEGIN has been notified by the time BEGIN returns; what finishes after it, the
            # commit counter finds in a snapshot newer than this one
            row = self.execute(_SNAPSHOT).fetchone()
            self._commit_base = None if row is None else _parse_snapshot(row[0])
        try:
            with self.transaction():
                self.execute(_IMPORT_LOCK)
                yield
                self._remember_own_xids()
        finally:
            self._commit_base = None

    def claim_notes(self, roots: Sequence[str]) -> None:
        if roots:
            with self._notes_write():
                self.execute(_CLAIM_NOTES, {"roots": list(roots), "user": self.user})

    def move_vault_root(self, old_root: str, new_root: str, prefix: str) -> None:
        with self._notes_write():
            self.execute(_MOVE_VAULT_ROOT, {"old_root": old_root, "new_root": new_root, "prefix": prefix,
                                            "user": self.user})

    def _new_ids(self, sql: str, n: int) -> list[int]:
        """`n` ids from a table's sequence, ascending (given in creation order to the batch's names)."""
        row = self.execute(sql, {"n": n}).fetchone()
        return sorted(int(i) for i in row[0]) if row and row[0] else []

    def _copy(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur, cur.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write(row)

    def write_import_rows(self, ids: ImportIds, notes: list[tuple[Any, ...]], sources: list[tuple[Any, ...]],
                          mentions: list[tuple[Any, ...]], evidence: list[tuple[Any, ...]]) -> None:
        user = self.user
        with self._notes_write():
            if notes:
                new = self._new_ids(_NEXT_NOTE_IDS, len(notes))
                self._copy(_COPY_NOTES, ((nid, *row, user) for nid, row in zip(new, notes, strict=True)))
                ids.notes += new
            note_ids = ids.notes
            if sources:
                new = self._new_ids(_NEXT_SOURCE_IDS, len(sources))
                self._copy(_COPY_SOURCES, (
                    (sid, *row, user, user) if row[5] is None or row[5] > 0
                    else (sid, *row[:5], note_ids[-row[5] - 1], *row[6:], user, user)
                    for sid, row in zip(new, sources, strict=True)))
                ids.sources += new
            source_ids = ids.sources
            if mentions:
                self._copy(_COPY_MENTIONS, (
                    (s if s > 0 else source_ids[-s - 1], n if n > 0 else note_ids[-n - 1], *rest)
                    for s, n, *rest in mentions))
            if evidence:
                self._copy(_COPY_LABEL_EVIDENCE, ((s if s > 0 else source_ids[-s - 1], name, "label", value, at, user)
                                                  for s, name, value, at in evidence))

    def update_notes(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            with self._notes_write():
                self.execute(_UPDATE_NOTES, _columns((*_UPDATE_NOTE_COLUMNS, "ids"), rows))

    def touch_notes(self, rows: list[tuple[int, int]]) -> None:
        if rows:
            with self._notes_write():
                self.execute(_TOUCH_NOTES, _columns(("mtime_ns", "ids"), rows))

    def delete_mentions_of_notes(self, note_ids: Sequence[int]) -> None:
        if note_ids:
            with self._notes_write():
                self.execute(_DELETE_MENTIONS_OF_NOTES, {"ids": list(note_ids)})

    def delete_notes(self, note_ids: Sequence[int]) -> None:
        if note_ids:
            with self._notes_write():
                self.execute(_DELETE_MENTIONS_OF_NOTES, {"ids": list(note_ids)})
                self.execute(_DELETE_NOTES, {"ids": list(note_ids)})

    def _update_sources(self, statement: Any, source_ids: Iterable[int], now: str) -> None:
        ids = list(source_ids)
        if ids:
            with self._notes_write():
                self.execute(statement, {"ids": ids, "now": now, "by": self.user})

    def mark_sources_cited(self, source_ids: Iterable[int], now: str) -> None:
        self._update_sources(_MARK_CITED, source_ids, now)

    def mark_sources_updated(self, source_ids: Iterable[int], now: str) -> None:
        self._update_sources(_MARK_UPDATED, source_ids, now)

    def replace_label_evidence(self, source_ids: Sequence[int], rows: list[tuple[Any, ...]]) -> None:
        if not source_ids and not rows:
            return
        with self._notes_write():
            if source_ids:
                self.execute(_DELETE_LABEL_EVIDENCE, {"ids": list(source_ids)})
            if rows:
                user = self.user
                self._copy(_COPY_LABEL_EVIDENCE, ((*row, user) for row in rows))

    def set_label_columns(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            with self._notes_write():
                self.execute(_SET_LABEL_COLUMNS, _columns((*_LABEL_COLUMNS, "ids"), rows))

