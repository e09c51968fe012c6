"""`refman watch`: keep the catalog current while notes are written, and the registered exports current while
the catalog changes.

Two inputs, one loop:
- file-system events of the watched vaults (watchfiles: inotify / FSEvents / ReadDirectoryChanges, or polling
  with `poll=True` or where events are not available). Changes are grouped until the vault has been quiet for
  50 ms, then the vault is re-imported through refman.notes.importer.import_vault, which reads only the notes whose size
  or mtime changed. A note that changes again while it is read (an editor still writing it) has a new size or
  mtime afterwards and is read again at once. Editors' temporary and backup files (`.note.md.swp`, `note.md~`,
  `.#note.md`, `4913`, `.note.md.tmp…`) are hidden or not notes, and an atomic save (write a temporary file,
  rename it over the note) ends in an event for the note itself.
- the catalog's commit counter (store.catalog_commit_counter(), read every 0.25 s: on SQLite `PRAGMA
  data_version` on the open connection, no disk access when nothing changed) for commits by any other process:
  another refman, the web app.

Registered exports are refreshed (refman.exports_registry.refresh: only files whose bytes change are written)
once the catalog has been quiet for `delay` seconds after a change (at most 5 × delay after the first one), never
on a timer. Imports and refreshes run on one store, whose own commits do not move its commit counter."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from refman.errors import NotFoundError, RefmanError
from refman.notes.importer import NOTE_SUFFIXES
from refman.store import is_storage_error
from refman.timeutil import utc_now

if TYPE_CHECKING:
    from refman.store.notes import NotesStore

EmitFn = Callable[[dict[str, Any]], None]
TICK_S = 0.25  # how often the loop wakes to read the change counter when no file changes
QUIET_MS = 50  # a vault is imported once its files have been quiet this long
POLL_MS = 1000  # with --poll: how often every note is stat'ed (the CPU cost grows with the vault)
MAX_WAIT_FACTOR = 5  # a refresh waits at most this many delays after the first change of a burst
RETRY_S = 5.0  # a failed import or refresh (catalog busy, disk error) is tried again this long after


def known_vaults(store: NotesStore) -> list[str]:
    """The roots of every imported note (the folders given to `refman import`), that still exist."""
    return [root for root in store.vault_roots() if Path(root).is_dir()]


def resolve_vaults(store: NotesStore, given: list[Path]) -> list[str]:
    """The folders to watch: the given ones (a folder inside an imported vault means that vault), else every
    known vault."""
    known = store.vault_roots()
    if not given:
        return known_vaults(store)
    out: dict[str, None] = {}
    for path in given:
        p = Path(path).expanduser()
        if not p.is_dir():
            raise NotFoundError(f"no such folder: {path}")
        resolved = str(p.resolve())
        inside = [root for root in known if resolved == root or resolved.startswith(root.rstrip("/") + "/")]
        out.setdefault(max(inside, key=len) if inside else resolved, None)
    return list(out)


def is_note_event(root: str, path: str) -> bool:
    """Whether a file-system event under `root` can concern a note: a note file, or a folder (a renamed or
    deleted folder of notes), never a hidden file or folder nor another kind of file (temporary, backup)."""
    rel = os.path.relpath(path, root)
    if rel.startswith("..") or any(part.startswith(".") for part in Path(rel).parts):
        return False
    name = os.path.basename(path)
    if name.lower().endswith(NOTE_SUFFIXES):
        return True
    return os.path.isdir(path) or (not os.path.exists(path) and "." not in name and not name.endswith("~")
                                   and not name.isdigit())


@dataclass
class _State:
    pending: dict[str, set[str]] = field(default_factory=dict)  # vault → changed paths
    dirty_since: float | None = None  # first catalog change not yet exported
    last_change: float = 0.0
    retry_at: dict[str, float] = field(default_factory=dict)  # vault → when a failed import may be tried again


class Watcher:
    """Watch `vaults` (folders given to `refman import`; None: every known vault, followed as imports add
    more) and the catalog at `location` (a SQLite file or a PostgreSQL URL). `emit` gets one event dict per
    thing done (see README: refman watch)."""

    def __init__(self, location: Path | str, vaults: list[Path] | None = None, delay: float = 1.0,
                 poll: bool = False, emit: EmitFn | None = None) -> None:
        from refman.store import open_store

        self.location = location
        self.delay = delay
        self.poll = poll
        self.emit: EmitFn = emit or (lambda event: None)
        self.store = open_store(self.location)
        self.given = [Path(v) for v in vaults or []]
        self.vaults = resolve_vaults(self.store, self.given)
        self.stop_event = threading.Event()
        self._state = _State()
        self._version = self._data_version()

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------ one pass

    def run_once(self) -> int:
        """Import every watched vault and refresh every registered export: what a cron job runs. Returns how
        many things failed."""
        failed = sum(not self._import(vault, set(), time.monotonic()) for vault in self.vaults)
        return failed + self._refresh()

    # ------------------------------------------------------------ the loop

    def run(self) -> None:
        """Until `stop_event` is set (or KeyboardInterrupt): catch up once, then follow changes. File events
        come from a thread (watchfiles) through a queue, so that the loop wakes exactly when a refresh is due,
        and every TICK_S to read the change counter."""
        events: queue.Queue[list[tuple[str, str]]] = queue.Queue()
        watching = self._start_file_watch(events)
        # The file watch is in place now: changes made from here on are seen. Catch up with those made before.
        self.run_once()
        self._version = self._data_version()
        self._event("watching", vaults=self.vaults, polling=self.poll, delay=self.delay)
        try:
            while not self.stop_event.is_set():
                try:
                    changes = events.get(timeout=self._timeout())
                except queue.Empty:
                    changes = []
                now = time.monotonic()
                while True:  # everything already queued is one batch
                    for vault, path in changes:
                        self._state.pending.setdefault(vault, set()).add(path)
                    try:
                        changes = events.get_nowait()
                    except queue.Empty:
                        break
                self._import_pending(now)
                if self._data_version() != self._version:
                    self._version = self._data_version()
                    self._changed(now)
                    if not self.given and self._follow_new_vaults():
                        watching.set()  # stop the old file watch
                        watching = self._start_file_watch(events)
                self._maybe_refresh()
        finally:
            watching.set()

    def _timeout(self) -> float:
        """Seconds until the next refresh is due, at most TICK_S."""
        since = self._state.dirty_since
        if since is None:
            return TICK_S
        due = min(self._state.last_change + self.delay, since + MAX_WAIT_FACTOR * self.delay)
        return max(0.0, min(TICK_S, due - time.monotonic()))

    def _start_file_watch(self, out: queue.Queue[list[tuple[str, str]]]) -> threading.Event:
        """Watch the vaults in a thread that puts batches of (vault, path) note events on `out`; returns the event
        that stops it. Returns once the watch is in place."""
        stop = threading.Event()
        vaults = list(self.vaults)
        if not vaults:
            return stop
        import watchfiles

        ready = threading.Event()
        either = _Either(stop, self.stop_event)

        def keep(_change: Any, path: str) -> bool:
            return any(is_note_event(v, path) for v in vaults if path.startswith(v.rstrip("/") + "/"))

        def loop() -> None:
            try:
                for batch in watchfiles.watch(*vaults, watch_filter=keep, step=QUIET_MS, debounce=1600,
                                              rust_timeout=int(TICK_S * 1000), yield_on_timeout=True,
                                              stop_event=either, force_polling=self.poll or None,
                                              poll_delay_ms=POLL_MS):
                    ready.set()
                    changes = []
                    for _change, path in batch:
                        vault = max((v for v in vaults if path.startswith(v.rstrip("/") + "/")), key=len,
                                    default=None)
                        if vault is not None:
                            changes.append((vault, path))
                    if changes:
                        out.put(changes)
            except Exception as exc:  # e.g. too many inotify watches: say it; the change counter still works
                self._event("error", message=f"file watch failed: {exc} (try --poll)")
            finally:
                ready.set()

        threading.Thread(target=loop, name="refman-watch-files", daemon=True).start()
        ready.wait()
        return stop

    def _follow_new_vaults(self) -> bool:
        """Another process imported a new vault: watch it too."""
        current = known_vaults(self.store)
        if set(current) - set(self.vaults):
            self.vaults = current
            return True
        return False

    def _import_pending(self, seen_at: float) -> None:
        """Import each vault with pending changes once; what must be read again (a note that changed while it
        was read, an import that failed) waits for the next batch or tick. The delay before the exports are
        refreshed counts from `seen_at`, when the change was seen, not from the end of the import."""
        pending, self._state.pending = self._state.pending, {}
        now = time.monotonic()
        for vault, paths in pending.items():
            if self._state.retry_at.get(vault, 0.0) > now:  # it failed a moment ago: not again at once
                self._state.pending.setdefault(vault, set()).update(paths)
                continue
            self._import(vault, paths, seen_at)

    def _import(self, vault: str, paths: set[str], seen_at: float) -> bool:
        from refman.notes.importer import import_vault

        if not Path(vault).is_dir():
            self._event("error", vault=vault, message=f"vault {vault} is gone: not watched")
            return False
        start = time.perf_counter()
        try:
            report = import_vault(self.store, [Path(vault)])
        except Exception as exc:
            if not isinstance(exc, RefmanError | OSError) and not is_storage_error(exc):
                raise
            self._event("error", vault=vault, message=f"import of {vault} failed: {exc}")
            self._state.pending.setdefault(vault, set()).update(paths)
            self._state.retry_at[vault] = time.monotonic() + RETRY_S
            return False
        self._state.retry_at.pop(vault, None)
        if report.notes_scanned or report.notes_removed:
            self._event("import", vault=vault, notes_scanned=report.notes_scanned,
                        notes_removed=report.notes_removed, sources_new=report.sources_new,
                        sources_updated=report.sources_updated, mentions=report.mentions,
                        paths=sorted(os.path.relpath(p, vault) for p in paths),
                        warnings=len(report.warnings), skipped=len(report.skipped),
                        elapsed_s=round(time.perf_counter() - start, 3))
            self._changed(seen_at)
        if self._changed_since_import(vault, paths):
            self._state.pending.setdefault(vault, set()).update(paths)  # read it again on the next tick
        return True

    def _changed_since_import(self, vault: str, paths: set[str]) -> bool:
        """A note that changed while it was read (its size or mtime now differ from what the import stored)."""
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                continue
            if not path.lower().endswith(NOTE_SUFFIXES):
                continue
            rel = os.path.relpath(path, vault).replace(os.sep, "/")
            row = self.store.note_size_and_mtime(vault, rel)
            if row is not None and row != (st.st_size, st.st_mtime_ns):
                return True
        return False

    def _changed(self, now: float) -> None:
        if self._state.dirty_since is None:
            self._state.dirty_since = now
        self._state.last_change = max(self._state.last_change, now)

    def _maybe_refresh(self) -> None:
        since = self._state.dirty_since
        if since is None:
            return
        now = time.monotonic()
        if now - self._state.last_change >= self.delay or now - since >= MAX_WAIT_FACTOR * self.delay:
            self._state.dirty_since = None
            self._refresh()

    def _refresh(self) -> int:
        from refman.exports_registry import refresh

        try:
            results = refresh(self.store)
        except Exception as exc:
            if not isinstance(exc, RefmanError) and not is_storage_error(exc):
                raise
            self._event("error", message=f"registered exports not refreshed: {exc}")
            self._changed(time.monotonic() + RETRY_S - self.delay)  # try again in RETRY_S
            return 1
        failed = 0
        for r in results:
            if r.status != "unchanged":
                self._event("export", **r.as_dict())
            failed += r.status in ("missing", "error")
        return failed

    def _data_version(self) -> int:
        try:
            return self.store.catalog_commit_counter()
        except Exception as exc:
            if not is_storage_error(exc):
                raise
            return self._version

    def _event(self, kind: str, **fields: Any) -> None:
        self.emit({"event": kind, "time": utc_now(), **fields})


class _Either:
    """Set when either event is (watchfiles takes one stop event)."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)
