"""Copying one catalog into another (`refman db copy`, issue #17 §4): a personal SQLite catalog into a team
PostgreSQL one, or back, or any backend into any backend.

Everything of the copied catalog comes along: sources with every piece of field evidence (labels, pages, imports,
the user's pins), aliases, tags, user notes, citation keys, notes and their mentions (vault roots as they are),
snapshots with their bodies (content-addressed: a body the target has is not copied again), archived texts and
registered exports. The target's ids are its own: nothing keeps a copied id. The whole copy is one transaction
on the target (all of it or none of it) and one consistent read of the copied catalog.

Merging with what the target has already:

* a copied source is a target source with the same identity, as bibliography imports match works
  (`match_work`): its normalised URL or an alias of it, else its DOI, else its ISBN, else (a work with none of
  these) its citation key. Only the target's own sources are matched, never another copied one. The merged source
  keeps every mention, tag, snapshot and archived text of both (the newest text wins), as `refman merge` would:
  the user's notes are joined, dates combined (earliest creation and citation, latest fetch), the fetch status
  is the target's unless it never fetched the source, and a copied URL the target source lacks becomes its URL
  (it had none) or an alias;
* evidence: (field, origin) pairs the target source lacks are adopted; a pin (`user` value) of the target wins over
  a different copied one, which is reported in `pin_conflicts` and kept in the field's history (as are the copied
  sources' own overwritten values: `field_history`, with who set and replaced them); label evidence comes along
  only when the target source has none (the labels themselves stay on their mentions), and a target source whose
  mentions changed has its label hints judged again from all its labels (as `refman merge` and an import do);
* citation keys: a merged source keeps the target's key, else takes the copied one; a copied key that another
  target source holds gets the catalog's clash suffix (refman.citation.keys.unique_key: smith2020 → smith2020a)
  and is reported in `key_clashes`; a copied key dropped because the target source has its own is reported in
  `dropped_keys`;
* notes: the same (owner, vault root, path) is one note (a copied note without owner is the copying user's, as is
  a target note without owner at that root and path). Its mentions are the copied note's when that note was imported
  more recently (`imported_at`) than the target's (the target's mentions of it are replaced: `notes_replaced`),
  else the target's stay and the copied ones are skipped;
* registered exports: one whose name or path the target has already is skipped (`exports_skipped`).

Every kind of row is counted as copied (new in the target), merged (combined with what the target had) or
skipped (the target's own stays)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from refman.errors import UsageError
from refman.store.copy import COPY_COLUMNS, SOURCE_COLUMNS
from refman.timeutil import utc_now

if TYPE_CHECKING:
    from refman.store.protocol import Store
    from refman.store.sources import MergeRow

Progress = Callable[[int, int], None]  # (rows done, rows in all)

KINDS = ("sources", "notes", "mentions", "evidence", "tags", "aliases", "snapshots", "blobs", "texts", "exports",
         "history")
BATCH = 5000
BLOB_BATCH_BYTES = 32 << 20  # bodies read and written at most this many (stored) bytes at a time

_S = {name: i for i, name in enumerate(SOURCE_COLUMNS)}  # a source row without its id
_MERGE_ROW = {"citekey", "user_note", "status", "reason", "fail_count", "fetched_at", "last_ok_at", "created_at",
              "added_by", "first_cited_at"}
_SNAPSHOT = {name: i for i, name in enumerate(COPY_COLUMNS["snapshot"])}


@dataclass
class CopyReport:
    """What a copy did (`refman db copy --json`)."""

    source: str = ""  # the copied catalog, as messages name it
    target: str = ""
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: {"copied": 0, "merged": 0, "skipped": 0} for kind in KINDS})
    key_clashes: list[dict[str, Any]] = field(default_factory=list)  # {source, key, renamed}
    dropped_keys: list[dict[str, Any]] = field(default_factory=list)  # {source, key, kept}
    pin_conflicts: list[dict[str, Any]] = field(default_factory=list)  # {source, field, kept, copied}
    notes_replaced: list[dict[str, str]] = field(default_factory=list)  # {root, path}
    exports_skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, kind: str, how: str, n: int = 1) -> None:
        self.counts[kind][how] += n

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "counts": self.counts, "key_clashes": self.key_clashes,
                "dropped_keys": self.dropped_keys, "pin_conflicts": self.pin_conflicts,
                "notes_replaced": self.notes_replaced, "exports_skipped": self.exports_skipped,
                "seconds": round(self.seconds, 3)}


def copy_catalog(source: Store, target: Store, *, progress: Progress | None = None) -> CopyReport:
    """Copy the catalog of `source` into that of `target`, merging with what the target has (see the module's
    description), in one transaction on the target. Returns what was copied, merged and skipped."""
    from refman.config import describe_catalog
    from refman.search import compose_row

    if source.location is not None and _same_place(source.location, target.location):
        raise UsageError(f"cannot copy a catalog into itself ({describe_catalog(source.location)})")
    started = time.monotonic()
    report = CopyReport(describe_catalog(source.location), describe_catalog(target.location))
    with source.read_snapshot():
        job = _Copy(source, target, report, progress)
        with target.transaction(), target.copy_writer(compose_row) as index:
            job.run()
            index.update(job.touched)
    report.seconds = time.monotonic() - started
    return report


def _same_place(a: object, b: object) -> bool:
    from pathlib import Path

    if isinstance(a, Path) and isinstance(b, Path):
        return a.resolve() == b.resolve()
    return a == b


def _grouped(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[int, list[tuple[Any, ...]]]]:
    """Rows ordered by their first column (a source id), a source's rows at a time."""
    for sid, group in itertools.groupby(rows, key=lambda r: r[0]):
        yield sid, list(group)


class _Copy:
    def __init__(self, source: Store, target: Store, report: CopyReport, progress: Progress | None) -> None:
        self.source, self.target, self.report, self.progress = source, target, report, progress
        self.counts = source.copy_counts()
        self.total = sum(self.counts.values())
        self.done = 0
        self.now = utc_now()
        self.notes: dict[int, int] = {}  # copied note id → target note id
        self.kept_notes: set[int] = set()  # copied notes whose mentions the target's newer note replaces
        self.sources: dict[int, int] = {}  # copied source id → target source id (new or merged)
        self.merged: dict[int, int] = {}  # copied source id → the target source it merged into
        self.snapshots: dict[int, int] = {}  # copied snapshot id → target snapshot id
        self.merged_snapshot_times: dict[int, str] = {}  # copied snapshot id → fetched_at (merged sources only)
        self.touched: set[int] = set()  # target sources whose search rows must be (re)computed
        self.taken: set[str] = set()
        self.label_notes: dict[int, int | None] = {}  # merged target source → its label note
        self.relabel: set[int] = set()  # target sources whose mentions changed
        self.refresh: set[int] = set()  # merged target sources whose evidence changed

    def advance(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)

    def rows(self, table: str, size: int = BATCH) -> Iterator[tuple[Any, ...]]:
        """Every row of a copied table, advancing the progress a chunk at a time."""
        for chunk in self.source.read_copy_rows(table, size):
            yield from chunk
            self.advance(len(chunk))

    def run(self) -> None:
        from refman.evidence import refresh_sources

        target_has_sources = self.target.copy_counts()["source"] > 0
        self.taken = self.target.taken_citekeys()
        self.copy_notes()
        if target_has_sources:
            self.match_sources()
        self.copy_sources()
        self.copy_evidence()
        self.copy_history()
        self.copy_tags()
        self.copy_aliases(check=target_has_sources)
        self.copy_mentions()
        self.copy_blobs()
        self.copy_snapshots()
        self.copy_texts()
        self.copy_exports()
        self.relabel_sources()
        changed = sorted(self.refresh)  # merged sources that adopted evidence: their merged fields again
        for start in range(0, len(changed), BATCH):
            refresh_sources(self.target, changed[start:start + BATCH])

    def relabel_sources(self) -> None:
        """Target sources that gained copied mentions or lost those of a replaced note: their label evidence comes
        from all their labels now, as after `refman merge` or an import (refman.notes.importer.relabel_sources)."""
        from refman.notes.importer import relabel_sources
        from refman.notes.linkids import Judge

        ids = sorted(self.relabel)
        if not ids:
            return
        judge = Judge(self.target.label_usage())
        for start in range(0, len(ids), BATCH):
            relabel_sources(self.target, ids[start:start + BATCH], self.now, judge=judge)
        self.touched.update(ids)

    # --- notes --------------------------------------------------------------------------------------------

    def copy_notes(self) -> None:
        target, report = self.target, self.report
        user = target.user
        for chunk in self.source.read_copy_rows("note", BATCH):
            # vault roots are per user: a note imported before refman recorded owners is the copying user's
            chunk = [(*r[:10], r[10] or user) for r in chunk]
            there = target.notes_at([(r[10], r[1], r[2]) for r in chunk])
            new: list[tuple[Any, ...]] = []
            new_ids: list[int] = []
            updates: list[tuple[Any, ...]] = []
            replaced: list[int] = []
            for row in chunk:
                hit = there.get((row[10], row[1], row[2]))
                if hit is None:
                    new.append(row[1:])
                    new_ids.append(row[0])
                    continue
                tid, imported_at = hit
                self.notes[row[0]] = tid
                if (row[9] or "") > (imported_at or ""):
                    updates.append((*row[3:10], tid))  # size, mtime_ns, sha256, encoding, status, reason, imported_at
                    replaced.append(tid)
                    report.notes_replaced.append({"root": row[1], "path": row[2]})
                    report.count("notes", "merged")
                else:
                    self.kept_notes.add(row[0])
                    report.count("notes", "skipped")
            self.notes.update(zip(new_ids, target.write_copy_rows("note", new), strict=True))
            report.count("notes", "copied", len(new))
            if updates:
                target.update_notes(updates)
                self.relabel.update(m.source_id for m in target.mentions_of_notes(replaced))
                target.delete_mentions_of_notes(replaced)
            self.advance(len(chunk))

    # --- sources ------------------------------------------------------------------------------------------

    def match_sources(self) -> None:
        """Which copied sources are target sources already: all matched before any is copied, so that only the
        target's own sources match."""
        for chunk in self.source.read_copy_rows("source", BATCH):
            for row in chunk:
                found = self.target.match_work(row[1 + _S["url"]], row[1 + _S["doi"]], row[1 + _S["isbn"]],
                                               row[1 + _S["citekey"]])
                if found is not None:
                    self.merged[row[0]] = found

    def copy_sources(self) -> None:
        report = self.report
        for chunk in self.source.read_copy_rows("source", BATCH):
            new: list[list[Any]] = []
            new_ids: list[int] = []
            kept = self.target.merge_rows(sorted({self.merged[r[0]] for r in chunk if r[0] in self.merged}))
            for row in chunk:
                if row[0] in self.merged:
                    kept[self.merged[row[0]]] = self.merge_source(row, kept[self.merged[row[0]]])
                    continue
                values = list(row[1:])
                label_note = values[_S["label_note"]]
                values[_S["label_note"]] = None if label_note is None else self.notes.get(label_note)
                key = values[_S["citekey"]]
                if key:
                    values[_S["citekey"]] = self.free_key(key, row[0])
                new.append(values)
                new_ids.append(row[0])
            ids = self.target.write_copy_rows("source", new)
            self.sources.update(zip(new_ids, ids, strict=True))
            self.touched.update(ids)
            report.count("sources", "copied", len(new))
            for clash in report.key_clashes:  # they name the target's ids
                if clash["source"] is None:
                    clash["source"] = self.sources[clash.pop("copied")]
            self.advance(len(chunk))

    def free_key(self, key: str, copied_id: int, target_id: int | None = None) -> str:
        """`key`, or with the catalog's clash suffix when a target source holds it already (reported)."""
        from refman.citation.keys import unique_key

        if key.lower() not in self.taken:
            self.taken.add(key.lower())
            return key
        renamed = unique_key(key, self.taken)
        clash: dict[str, Any] = {"source": target_id, "key": key, "renamed": renamed}
        if target_id is None:
            clash["copied"] = copied_id
        self.report.key_clashes.append(clash)
        return renamed

    def merge_source(self, row: tuple[Any, ...], kept: MergeRow) -> MergeRow:
        """Combine a copied source's own columns with those of the target source it is (as `refman merge`);
        returns the target source's columns as they are now."""
        target, tid = self.target, self.merged[row[0]]
        self.sources[row[0]] = tid
        self.report.count("sources", "merged")
        if tid not in self.label_notes:
            self.label_notes[tid] = kept.label_note
        mine = {name: row[1 + i] for name, i in _S.items()}
        notes = dict.fromkeys(t for t in ((kept.user_note or "").strip(), (mine["user_note"] or "").strip()) if t)
        values: dict[str, Any] = {"user_note": "\n\n".join(notes) or None, "updated_at": self.now}
        if kept.citekey is None and mine["citekey"]:
            values["citekey"] = self.free_key(mine["citekey"], row[0], tid)
        elif kept.citekey and mine["citekey"] and kept.citekey.lower() != mine["citekey"].lower():
            self.report.dropped_keys.append({"source": tid, "key": mine["citekey"], "kept": kept.citekey})
        if kept.fetched_at is None and mine["fetched_at"]:
            values.update(status=mine["status"], reason=mine["reason"], fail_count=mine["fail_count"])
        fetched = [t for t in (kept.fetched_at, mine["fetched_at"]) if t]
        last_ok = [t for t in (kept.last_ok_at, mine["last_ok_at"]) if t]
        cited = [t for t in (kept.first_cited_at, mine["first_cited_at"]) if t]
        values.update(fetched_at=max(fetched, default=None), last_ok_at=max(last_ok, default=None),
                      first_cited_at=min(cited, default=None))
        if mine["created_at"] < kept.created_at:
            values.update(created_at=mine["created_at"], added_by=mine["added_by"])
        merged = dataclasses.replace(kept, **{k: v for k, v in values.items() if k in _MERGE_ROW})
        if merged != kept:  # (a catalog copied again changes nothing)
            target.update_merged_source(tid, values)
            self.touched.add(tid)
        url = mine["url"]
        if url and url != kept.url:
            self.touched.add(tid)
            if kept.url is None:
                target.give_url_if_none(tid, url, mine["url_as_written"] or url, mine["host"])
                merged = dataclasses.replace(merged, url=target.source_url(tid))
            elif target.source_for_url(url) is None:
                target.write_copy_rows("source_alias", [(url, tid, self.now)])
                self.report.count("aliases", "merged")
        if mine["isbn"]:
            target.give_isbn_if_none(tid, mine["isbn"])
        return merged

    # --- evidence, tags, aliases --------------------------------------------------------------------------

    def copy_evidence(self) -> None:
        batch: list[tuple[Any, ...]] = []
        merging: list[tuple[int, list[tuple[Any, ...]]]] = []
        for sid, rows in _grouped(self.rows("field_value")):
            if sid in self.merged:
                merging.append((sid, rows))
                if len(merging) >= 500:
                    self.merge_evidence(merging)
                continue
            tid = self.sources.get(sid)
            if tid is None:  # pragma: no cover - evidence of a source the read did not see
                self.report.count("evidence", "skipped", len(rows))
                continue
            batch.extend((tid, *r[1:]) for r in rows)
            if len(batch) >= BATCH:
                self.flush("field_value", batch, "evidence")
        self.flush("field_value", batch, "evidence")
        self.merge_evidence(merging)

    def flush(self, table: str, batch: list[tuple[Any, ...]], kind: str) -> None:
        self.target.write_copy_rows(table, batch)
        self.report.count(kind, "copied", len(batch))
        batch.clear()

    def merge_evidence(self, groups: list[tuple[int, list[tuple[Any, ...]]]]) -> None:
        """Adopt the copied evidence the merged target sources lack (see refman.duplicates' merge): their pins
        win. `groups`: (copied source id, its evidence rows), emptied when done."""
        from refman.store.sources import EvidenceRow

        target = self.target
        have: dict[int, dict[tuple[str, str], Any]] = {
            tid: {(e.field, e.origin): e.value for e in evidence}
            for tid, evidence in target.field_evidence_for(sorted({self.merged[sid] for sid, _ in groups})).items()}
        for sid, rows in groups:
            tid = self.merged[sid]
            theirs = have[tid]
            take_label = self.label_notes.get(tid) is None and not any(o == "label" for _f, o in theirs)
            adopted: list[EvidenceRow] = []
            lost: list[EvidenceRow] = []
            for _sid, name, origin, value, updated_at, changed_by in rows:
                decoded = json.loads(value)
                if origin == "label" and not take_label:
                    self.report.count("evidence", "skipped")
                elif (name, origin) not in theirs:
                    adopted.append(EvidenceRow(name, origin, decoded, updated_at, changed_by))
                    theirs[(name, origin)] = decoded
                elif origin == "user" and theirs[(name, origin)] != decoded:
                    self.report.pin_conflicts.append({"source": tid, "field": name, "kept": theirs[(name, origin)],
                                                      "copied": decoded})
                    lost.append(EvidenceRow(name, origin, decoded, updated_at, changed_by))
                    self.report.count("evidence", "skipped")
                else:
                    self.report.count("evidence", "skipped")
            if lost:  # the copied pin that lost stays in the field's history (once: a catalog copied again)
                known = {(h.field, h.origin, json.dumps(h.value), h.changed_by, h.changed_at)
                         for h in target.field_history(tid)}
                target.keep_field_history(tid, [r for r in lost if (r.field, r.origin, json.dumps(r.value),
                                                                    r.changed_by, r.updated_at) not in known], self.now)
            if adopted:
                target.add_field_evidence_rows(tid, adopted)
                self.report.count("evidence", "merged", len(adopted))
                self.refresh.add(tid)
                self.touched.add(tid)
            if take_label and any(r.origin == "label" for r in adopted):
                label_note = self.copied_label_note(sid)
                if label_note is not None:
                    target.update_merged_source(tid, {"label_note": label_note})
                    self.label_notes[tid] = label_note
        groups.clear()

    def copied_label_note(self, sid: int) -> int | None:
        row = self.source.merge_rows([sid]).get(sid)
        return None if row is None or row.label_note is None else self.notes.get(row.label_note)

    def copy_history(self) -> None:
        """The user values that were overwritten come along with who set and who replaced them; a merged source
        does not take twice an entry it has (a catalog copied again)."""
        batch: list[tuple[Any, ...]] = []
        for sid, rows in _grouped(r[1:] for r in self.rows("field_history")):
            tid = self.sources[sid]
            if sid in self.merged:
                have = {(h.field, h.origin, json.dumps(h.value, ensure_ascii=False), h.changed_by, h.changed_at,
                         h.replaced_by, h.replaced_at) for h in self.target.field_history(tid)}
                fresh = [r for r in rows if (*r[1:3], json.dumps(json.loads(r[3]), ensure_ascii=False), *r[4:])
                         not in have]
                self.report.count("history", "skipped", len(rows) - len(fresh))
                self.report.count("history", "merged", len(fresh))
                self.target.write_copy_rows("field_history", [(tid, *r[1:]) for r in fresh])
                continue
            batch.extend((tid, *r[1:]) for r in rows)
            if len(batch) >= BATCH:
                self.flush("field_history", batch, "history")
        self.flush("field_history", batch, "history")

    def copy_tags(self) -> None:
        spelled = {tag.lower(): tag for tag, _n in self.target.tag_counts()}
        batch: list[tuple[Any, ...]] = []
        for sid, rows in _grouped(self.rows("source_tag")):
            if sid in self.merged:
                tags = [tag for _sid, tag, _by in rows]
                self.target.add_source_tags(self.merged[sid], tags)
                self.touched.add(self.merged[sid])
                self.report.count("tags", "merged", len(tags))
                continue
            tid = self.sources[sid]
            batch.extend((tid, spelled.setdefault(tag.lower(), tag), by) for _sid, tag, by in rows)
            if len(batch) >= BATCH:
                self.flush("source_tag", batch, "tags")
        self.flush("source_tag", batch, "tags")

    def copy_aliases(self, *, check: bool) -> None:
        batch: list[tuple[Any, ...]] = []
        for url, sid, created_at in self.rows("source_alias"):
            tid = self.sources[sid]
            owner = self.target.source_for_url(url) if check else None
            if owner is not None:  # the target knows the URL already (as this source's, or another one's)
                self.report.count("aliases", "skipped")
                continue
            batch.append((url, tid, created_at))
            if len(batch) >= BATCH:
                self.flush("source_alias", batch, "aliases")
        self.flush("source_alias", batch, "aliases")

    # --- mentions -----------------------------------------------------------------------------------------

    def copy_mentions(self) -> None:
        batch: list[tuple[Any, ...]] = []
        for row in self.rows("mention"):
            if row[2] in self.kept_notes:
                self.report.count("mentions", "skipped")
                continue
            tid = self.sources[row[1]]
            if row[1] in self.merged:
                self.report.count("mentions", "merged")
                self.relabel.add(tid)
            batch.append((tid, self.notes[row[2]], *row[3:]))
            if len(batch) >= BATCH:
                self.flush("mention", batch, "mentions")
        self.flush("mention", batch, "mentions")
        self.report.counts["mentions"]["copied"] -= self.report.counts["mentions"]["merged"]

    # --- bodies, snapshots, texts -------------------------------------------------------------------------

    def copy_blobs(self) -> None:
        source, target = self.source, self.target
        for chunk in source.read_copy_rows("blob", 1000):
            present = target.blobs_present([r[0] for r in chunk])
            self.report.count("blobs", "skipped", len(present))
            wanted: list[str] = []
            size = 0
            for digest, _codec, _size, stored in ((r[0], r[1], r[2], r[3]) for r in chunk if r[0] not in present):
                if wanted and size + stored > BLOB_BATCH_BYTES:
                    self.write_blobs(wanted)
                    wanted, size = [], 0
                wanted.append(digest)
                size += stored
            self.write_blobs(wanted)
            self.advance(len(chunk))

    def write_blobs(self, hashes: list[str]) -> None:
        if hashes:
            self.target.write_copy_rows("blob", self.source.read_blobs(hashes))
            self.report.count("blobs", "copied", len(hashes))

    def copy_snapshots(self) -> None:
        batch: list[tuple[Any, ...]] = []
        batch_ids: list[int] = []
        seen: dict[int, dict[tuple[Any, ...], int]] = {}  # merged target source → its snapshots by what they are
        at, outcome, body = _SNAPSHOT["fetched_at"], _SNAPSHOT["outcome"], _SNAPSHOT["body_hash"]
        for row in self.rows("snapshot"):
            sid = row[1]
            tid = self.sources[sid]
            if sid in self.merged:
                self.merged_snapshot_times[row[0]] = row[at]
                if tid not in seen:
                    seen[tid] = {(s["fetched_at"], s["outcome"], s["body_hash"]): s["id"]
                                 for s in self.target.snapshot_history(tid)}
                same = seen[tid].get((row[at], row[outcome], row[body]))
                if same is not None:
                    self.snapshots[row[0]] = same
                    self.report.count("snapshots", "skipped")
                    continue
                self.report.count("snapshots", "merged")
            batch.append((tid, *row[2:]))
            batch_ids.append(row[0])
            if len(batch) >= BATCH:
                self.flush_snapshots(batch, batch_ids)
        self.flush_snapshots(batch, batch_ids)
        self.report.counts["snapshots"]["copied"] -= self.report.counts["snapshots"]["merged"]

    def flush_snapshots(self, batch: list[tuple[Any, ...]], batch_ids: list[int]) -> None:
        self.snapshots.update(zip(batch_ids, self.target.write_copy_rows("snapshot", batch), strict=True))
        self.report.count("snapshots", "copied", len(batch))
        batch.clear()
        batch_ids.clear()

    def copy_texts(self) -> None:
        """Texts of new sources are copied; a merged source takes the copied text when its snapshot is newer."""
        batch: list[tuple[Any, ...]] = []
        for chunk in self.source.read_copy_rows("source_text", 1000):
            theirs = self.target.archived_text_times(sorted({self.merged[r[0]] for r in chunk if r[0] in self.merged}))
            newer: list[tuple[Any, ...]] = []
            for sid, snapshot_id, text, markdown_hash in chunk:
                row = (self.sources[sid], self.snapshots[snapshot_id], text, markdown_hash)
                if sid not in self.merged:
                    batch.append(row)
                    continue
                at = self.merged_snapshot_times.get(snapshot_id, "")
                if row[0] in theirs and theirs[row[0]][0] >= at:
                    self.report.count("texts", "skipped")
                    continue
                theirs[row[0]] = (at, row[1])
                newer.append(row)
                self.touched.add(row[0])
            self.target.write_copy_rows("source_text", newer)  # in order: a later (newer) text replaces an earlier
            self.report.count("texts", "merged", len(newer))
            if len(batch) >= 1000:
                self.flush("source_text", batch, "texts")
            self.advance(len(chunk))
        self.flush("source_text", batch, "texts")

    # --- registered exports -------------------------------------------------------------------------------

    def copy_exports(self) -> None:
        source, target = self.source, self.target
        if not source.has_export_registry():
            return
        for record in source.registered_exports():
            if target.registered_export_named(record.name) or target.registered_export_at(record.path):
                self.report.exports_skipped.append(record.name)
                self.report.count("exports", "skipped")
                continue
            target.add_registered_export(record)
            if record.written_hash:
                target.record_export_written(record.name, record.written_hash, record.written_at, record.files)
            self.report.count("exports", "copied")
