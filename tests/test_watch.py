"""End to end: `refman watch` as a subprocess on a tmp vault, with other processes writing to the catalog and an
editor-like reader polling a registered export."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refman.watch import is_note_event
from tests.test_cli_catalog import no_traceback, refman_exe, run

TIMEOUT = 20.0


class WatchProcess:
    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen([*refman_exe(), "watch", "--json", *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(lambda: any(e["event"] == "watching" for e in self.events), "start")
        self.wait_for(lambda: self.proc.poll() is not None or len(self.events) >= 1, "first pass")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            assert self.proc.poll() is None, f"watch exited: {self.proc.stderr.read() if self.proc.stderr else ''}"
            time.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; events: {self.events[-5:]}")

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=TIMEOUT)
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()


@pytest.fixture
def watcher(cli_env: dict[str, str], vault: Path) -> Iterator[Callable[..., WatchProcess]]:
    started: list[WatchProcess] = []

    def start(*args: str) -> WatchProcess:
        w = WatchProcess(cli_env, *args)
        started.append(w)
        return w

    yield start
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def cited(path: Path) -> set[str]:
    return {item["URL"] for item in json.loads(path.read_text())}


def append(note: Path, text: str) -> None:
    with note.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_saved_note_reaches_the_export_and_ctrl_c_stops(cli_env: dict[str, str], vault: Path, tmp_path: Path,
                                                       watcher: Callable[..., WatchProcess]) -> None:
    out = tmp_path / "rdma.json"
    run(cli_env, "export", "-f", "csljson", "--cited-in", "Networking/RDMA.md", "-o", str(out), "--keep-updated")
    w = watcher("--delay", "0.3")
    note = vault / "Networking" / "RDMA.md"
    append(note, "\n[RoCE in practice]: https://roce.example.org/practice\n")
    w.wait_for(lambda: "https://roce.example.org/practice" in cited(out), "the new entry in the export")
    w.wait_for(lambda: any(e["event"] == "export" for e in w.events), "the export event")
    kinds = [e["event"] for e in w.events]
    assert kinds[0] == "watching" and "import" in kinds and "export" in kinds
    imp = next(e for e in w.events if e["event"] == "import")
    assert imp["paths"] == ["Networking/RDMA.md"] and imp["notes_scanned"] == 1 and imp["sources_new"] == 1
    exp = next(e for e in w.events if e["event"] == "export")
    assert exp["name"] == "rdma.json" and exp["status"] == "written" and exp["path"] == str(out)
    # an atomic-rename save (temp file, then rename over the note), as many editors do
    tmp = note.parent / ".RDMA.md.tmp123"
    tmp.write_text(note.read_text() + "\n[Atomic save]: https://atomic.example.org/\n", encoding="utf-8")
    os.replace(tmp, note)
    w.wait_for(lambda: "https://atomic.example.org/" in cited(out), "the atomically saved entry")
    # editors' temporary and backup files are not notes: nothing is imported from them
    before = len(w.events)
    for name in ("RDMA.md~", ".RDMA.md.swp", ".#RDMA.md", "4913", "#RDMA.md#"):
        (note.parent / name).write_text("[Not a note]: https://tempfile.example.org/\n")
    time.sleep(1.0)
    assert [e for e in w.events[before:] if e["event"] == "import"] == []
    code, err = w.stop(signal.SIGINT)
    assert code == 130 and "Traceback" not in err
    assert w.events[-1]["event"] == "stopped"
    listed = json.loads(run(cli_env, "list", "--json").stdout)
    assert not any("tempfile.example.org" in s["url"] for s in listed)


def test_other_processes_changes_are_exported_debounced(cli_env: dict[str, str], vault: Path, tmp_path: Path,
                                                       db_path: Path, watcher: Callable[..., WatchProcess]) -> None:
    out = tmp_path / "all.bib"
    run(cli_env, "export", "-o", str(out), "--keep-updated")
    w = watcher("--delay", "1.0")  # long beside the burst below, even on a loaded machine
    # a process that is not refman's CLI (no end-of-command refresh): a plain sqlite3 writer
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE source SET title = 'Changed by another program' WHERE id = 1")
    conn.commit()
    conn.close()
    w.wait_for(lambda: "Changed by another program" in out.read_text(), "the other program's change")
    # the file is renamed into place before the watcher prints its event: wait for the event too
    w.wait_for(lambda: any(e["event"] == "export" for e in w.events), "the export event")
    # a burst of changes is one refresh, once the catalog is quiet
    writes = [e for e in w.events if e["event"] == "export"]
    conn = sqlite3.connect(db_path)
    for i in range(5):
        conn.execute("UPDATE source SET title = ? WHERE id = 2", (f"Burst {i}",))
        conn.commit()
        time.sleep(0.05)
    conn.close()
    w.wait_for(lambda: "Burst 4" in out.read_text(), "the end of the burst")
    time.sleep(1.0)
    assert len([e for e in w.events if e["event"] == "export"]) == len(writes) + 1
    # a second refman that commits: the file ends current, written once by whoever came first
    run(cli_env, "tag", "3", "--add", "from-another-refman")
    w.wait_for(lambda: "from-another-refman" in out.read_text(), "the tag")
    time.sleep(1.0)
    assert out.read_text() == run(cli_env, "export").stdout
    # a folder that vanishes is one error event, and the watcher goes on
    gone = tmp_path / "gone"
    gone.mkdir()
    run(cli_env, "export", "-o", str(gone / "x.bib"), "--keep-updated", "--name", "gone")
    shutil.rmtree(gone)
    run(cli_env, "tag", "1", "--add", "after-gone")
    w.wait_for(lambda: any(e["event"] == "export" and e["status"] == "missing" for e in w.events), "missing")
    w.wait_for(lambda: "after-gone" in out.read_text(), "the other export still written")
    code, err = w.stop(signal.SIGTERM)
    assert code == 0 and "Traceback" not in err


def test_a_vault_imported_later_is_watched_too(cli_env: dict[str, str], vault: Path, tmp_path: Path,
                                              watcher: Callable[..., WatchProcess]) -> None:
    w = watcher("--delay", "0.2")
    second = tmp_path / "second"
    second.mkdir()
    (second / "a.md").write_text("[First]: https://second.example.org/1\n", encoding="utf-8")
    run(cli_env, "import", str(second), "-q")
    out = tmp_path / "second.json"
    run(cli_env, "export", "-f", "csljson", "--cited-in", "a.md", "-o", str(out), "--keep-updated")
    time.sleep(1.0)  # the watcher sees the new vault through the change counter
    append(second / "a.md", "[Second]: https://second.example.org/2\n")
    w.wait_for(lambda: "https://second.example.org/2" in cited(out), "the save in the new vault")
    w.wait_for(lambda: any(e["event"] == "import" and e["vault"] == str(second.resolve()) for e in w.events),
               "the import event of the new vault")


def test_a_vault_that_vanishes_is_one_error_and_the_watch_goes_on(cli_env: dict[str, str], vault: Path,
                                                                  tmp_path: Path,
                                                                  watcher: Callable[..., WatchProcess]) -> None:
    out = tmp_path / "all.bib"
    run(cli_env, "export", "-o", str(out), "--keep-updated")
    w = watcher("--delay", "0.2")
    shutil.rmtree(vault)
    w.wait_for(lambda: any(e["event"] == "error" and "is gone" in e["message"] for e in w.events), "the error")
    conn = sqlite3.connect(cli_env["REFMAN_DB"])
    conn.execute("UPDATE source SET title = 'After the vault went' WHERE id = 1")
    conn.commit()
    conn.close()
    w.wait_for(lambda: "After the vault went" in out.read_text(), "the export still refreshed")
    assert len([e for e in w.events if e["event"] == "error"]) == 1
    code, err = w.stop()
    assert code == 130 and "Traceback" not in err


def test_polling_sees_saves_too(cli_env: dict[str, str], vault: Path, tmp_path: Path,
                                watcher: Callable[..., WatchProcess]) -> None:
    out = tmp_path / "rdma.json"
    run(cli_env, "export", "-f", "csljson", "--cited-in", "Networking/RDMA.md", "-o", str(out), "--keep-updated")
    w = watcher("--poll", "--delay", "0.2")
    assert w.events[0]["polling"] is True
    append(vault / "Networking" / "RDMA.md", "\n[Polled]: https://polled.example.org/\n")
    w.wait_for(lambda: "https://polled.example.org/" in cited(out), "the polled save")


def test_note_read_mid_write_is_read_again(cli_env: dict[str, str], vault: Path, tmp_path: Path,
                                          watcher: Callable[..., WatchProcess]) -> None:
    out = tmp_path / "new.json"
    new_note = vault / "Networking" / "Slow.md"
    new_note.write_text("# Slow\n")
    run(cli_env, "import", str(vault), "-q")
    run(cli_env, "export", "-f", "csljson", "--cited-in", "Networking/Slow.md", "-o", str(out), "--keep-updated")
    w = watcher("--delay", "0.2")
    with new_note.open("a", encoding="utf-8") as handle:
        handle.write("\n[First]: https://first.example.org/\n[Second half of a line]: https://sec")
        handle.flush()
        w.wait_for(lambda: any(e["event"] == "import" for e in w.events), "the half-written note's import")
        time.sleep(0.3)
        handle.write("ond.example.org/full\n[Third]: https://third.example.org/\n")
    want = {"https://first.example.org/", "https://second.example.org/full", "https://third.example.org/"}
    w.wait_for(lambda: cited(out) == want, "the whole note")
    w.wait_for(lambda: len([e for e in w.events if e["event"] == "import"]) >= 2, "a second import")


def test_once_imports_and_refreshes(cli_env: dict[str, str], vault: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.json"
    run(cli_env, "export", "-f", "csljson", "-o", str(out), "--keep-updated")
    append(vault / "Networking" / "RDMA.md", "\n[Cron]: https://cron.example.org/\n")
    proc = run(cli_env, "watch", "--once", "--json")
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["event"] for e in events] == ["import", "export"]
    assert "https://cron.example.org/" in cited(out)
    proc = run(cli_env, "watch", "--once")  # nothing changed: nothing to say, nothing written
    assert proc.stdout == ""
    no_traceback(proc)
    proc = run(cli_env, "watch", str(tmp_path / "absent"), check=False)
    assert proc.returncode == 3 and proc.stderr.startswith("refman: ")


def test_reader_never_sees_a_partial_or_invalid_file(cli_env: dict[str, str], vault: Path, tmp_path: Path,
                                                    watcher: Callable[..., WatchProcess]) -> None:
    """100 changes land (notes saved, and another refman tagging) while an editor-like reader re-reads the
    exports in a loop: every read is a whole, valid file."""
    out_json, out_bib = tmp_path / "refs.json", tmp_path / "refs.bib"
    run(cli_env, "export", "-f", "csljson", "-o", str(out_json), "--keep-updated")
    run(cli_env, "export", "-o", str(out_bib), "--keep-updated")
    w = watcher("--delay", "0.1")
    stop, seen, bad = threading.Event(), set(), []

    def reader() -> None:
        while not stop.is_set():
            text = out_json.read_text(encoding="utf-8")
            try:
                json.loads(text)
            except ValueError as exc:
                bad.append(f"json: {exc}")
            bib = out_bib.read_text(encoding="utf-8")
            if bib.count("{") != bib.count("}") or not bib.endswith("}\n"):
                bad.append("bib: unbalanced or cut")
            seen.add(text)

    thread = threading.Thread(target=reader)
    thread.start()
    notes = sorted(vault.rglob("*.md"))
    tagger = subprocess.Popen(
        ["sh", "-c", " && ".join(f"{' '.join(refman_exe())} tag 1 --add t{i}" for i in range(10))],
        env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for i in range(90):
            append(notes[i % len(notes)], f"\n[Change {i}]: https://change.example.org/{i}\n")
            time.sleep(0.03)
        code = tagger.wait(timeout=120)
        assert code == 0, tagger.stderr.read().decode() if tagger.stderr else code
        wanted = {f"https://change.example.org/{i}" for i in range(90)}
        w.wait_for(lambda: wanted <= cited(out_json) and "t9" in out_bib.read_text(), "all 100 changes", 60)
    finally:
        stop.set()
        thread.join()
    assert bad == []
    assert len(seen) >= 2
    code, err = w.stop()
    assert code == 130 and "Traceback" not in err


def test_event_filter(tmp_path: Path) -> None:
    root = str(tmp_path)
    (tmp_path / "folder").mkdir()
    assert is_note_event(root, f"{root}/a.md") and is_note_event(root, f"{root}/sub/B.Markdown")
    assert is_note_event(root, f"{root}/folder")  # a folder: its notes may have moved
    assert is_note_event(root, f"{root}/renamed-away")  # gone, no suffix: may have been a folder
    for name in ("a.md~", ".a.md.swp", ".#a.md", "#a.md#", "4913", "a.md.tmp", "pic.png", ".obsidian/x.md",
                 "sub/.hidden/x.md", "x.md.crswap"):
        assert not is_note_event(root, f"{root}/{name}"), name
    assert not is_note_event(root, "/elsewhere/a.md")


_PART = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\x00"), min_size=1,
                max_size=12).filter(lambda p: p not in (".", ".."))


@given(parts=st.lists(_PART, min_size=1, max_size=4), suffix=st.sampled_from([".md", ".markdown", ".MD"]))
def test_event_filter_properties(parts: list[str], suffix: str) -> None:
    """A path with a hidden part is never a note event; a non-hidden path ending in a note suffix always is."""
    root = "/vault"
    path = root + "/" + "/".join(parts) + suffix
    hidden = any(p.startswith(".") for p in parts)
    assert is_note_event(root, path) is (not hidden)
    assert not is_note_event(root, path + "~") and not is_note_event(root, path + ".tmp")
