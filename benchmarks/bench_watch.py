"""Watch benchmark: `refman watch` on the generated 10,000-note vault of bench_import.py.

    .venv/bin/python benchmarks/bench_watch.py [--notes 10000] [--edits 20]

Prints, with the machine's load (`uptime`) beside the figures:
- save → export latency: from appending a new definition to a note to the registered export holding the new
  entry, median and max over N edits (target < 2 s with the default 1 s delay), for a folder's bibliography
  (`--cited-in topic-7/`, BibLaTeX) and for the note's own file of a per-note mirror (CSL-JSON);
- the watcher's CPU while nothing changes (target < 1 % of one core), over 10 s;
- that an export whose content does not change is not rewritten (mtime) when another folder's note is saved and
  when another refman commits an unrelated change;
- the same latency with a whole-catalog export registered as well (every refresh renders it too)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import REFMAN, make_vault

FOLDER = "topic-7"


def refman(db: Path, *args: str) -> str:
    return subprocess.run([REFMAN, "--db", str(db), *args], capture_output=True, text=True, check=True).stdout


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Watch:
    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen([REFMAN, "--db", str(db), "watch", "--json"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.wait(lambda: any(e["event"] == "watching" for e in self.events), 600)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(json.loads(line))

    @staticmethod
    def wait(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit("timed out")
            time.sleep(0.01)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def latencies(vault: Path, targets: list[Path], edits: int, tag: str) -> list[list[float]]:
    """Append a new definition to a note of FOLDER, then time until each target file holds its URL."""
    notes = sorted((vault / FOLDER).glob("*.md"))
    out: list[list[float]] = [[] for _ in targets]
    for i in range(edits):
        note = notes[i % len(notes)]
        url = f"https://bench-{tag}.example.org/edit/{i}"
        start = time.monotonic()
        with note.open("a", encoding="utf-8") as handle:
            handle.write(f"\n[Bench edit {tag} {i}]: {url}\n")
        per_note = targets[-1] / FOLDER / (note.stem + ".json") if targets[-1].is_dir() else None
        for k, target in enumerate(targets):
            path = per_note if target.is_dir() else target
            assert path is not None
            Watch.wait(lambda p=path, u=url: u in p.read_text(encoding="utf-8"), 60)
            out[k].append(time.monotonic() - start)
        time.sleep(0.3)
    return out


def describe(name: str, values: list[float]) -> str:
    return f"{name}: median {statistics.median(values):.2f} s, max {max(values):.2f} s over {len(values)} edits"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="refman-bench-watch-"))
    watch = None
    try:
        vault, db = work / "vault", work / "catalog.db"
        total = make_vault(vault, args.notes, 10)
        t0 = time.monotonic()
        refman(db, "import", str(vault), "-q")
        sources = json.loads(refman(db, "stats", "--json")).get("sources")
        print(f"vault: {args.notes} notes, {total} definitions, {sources} sources;"
              f" import {time.monotonic() - t0:.1f} s")
        folder_bib, other_bib, mirror = work / "folder.bib", work / "other.bib", work / "mirror"
        mirror.mkdir()
        refman(db, "export", "--cited-in", f"{FOLDER}/", "-o", str(folder_bib), "--keep-updated")
        refman(db, "export", "--cited-in", "topic-8/", "-o", str(other_bib), "--keep-updated")
        refman(db, "export", "-f", "csljson", "--cited-in", f"{FOLDER}/", "--per-note", str(mirror), "--keep-updated")
        print(f"registered: {FOLDER}/ as BibLaTeX ({folder_bib.stat().st_size / 1e3:.0f} kB), topic-8/ as BibLaTeX,"
              f" a per-note CSL-JSON mirror of {FOLDER}/ ({len(list(mirror.rglob('*.json')))} files)")
        print(f"load before: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")

        watch = Watch(db)
        time.sleep(2.0)
        before = cpu_seconds(watch.proc.pid)
        time.sleep(10.0)
        idle = (cpu_seconds(watch.proc.pid) - before) / 10.0
        print(f"watcher idle CPU: {idle * 100:.2f} % of a core over 10 s (target < 1 %)")

        before = cpu_seconds(watch.proc.pid)
        folder_lat, note_lat = latencies(vault, [folder_bib, mirror], args.edits, "a")
        per_save = (cpu_seconds(watch.proc.pid) - before) / args.edits
        print(describe(f"save → {FOLDER}/ export", folder_lat) + " (target < 2 s)")
        print(describe("save → the note's per-note file", note_lat) + " (target < 2 s)")
        recent = watch.events[-8 * args.edits:]
        imports = [e["elapsed_s"] for e in recent if e["event"] == "import"]
        refreshes = [e["elapsed_s"] for e in recent if e["event"] == "export"]
        print(f"watcher CPU per save: {per_save:.2f} s; wall per import of the vault: median"
              f" {statistics.median(imports):.2f} s; per export written: median {statistics.median(refreshes):.2f} s"
              " (the 1 s delay counts from the save, so latency ≈ max(1 s, import) + the exports' refresh)")
        print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")

        # an export whose bytes do not change is not rewritten
        stamp = other_bib.stat().st_mtime_ns
        imports = sum(e["event"] == "import" for e in watch.events)
        with (vault / "topic-9" / "note-9.md").open("a", encoding="utf-8") as handle:
            handle.write("\n[Unrelated]: https://unrelated.example.org/x\n")
        Watch.wait(lambda: sum(e["event"] == "import" for e in watch.events) > imports, 60)
        ids = json.loads(refman(db, "export", "-f", "csljson", "--cited-in", "topic-9/note-9.md"))
        refman(db, "tag", ids[0]["id"], "--add", "unrelated")
        time.sleep(3.0)
        print(f"topic-8/ export after a topic-9 note was saved and another refman tagged a topic-9 source: "
              f"{'not rewritten (mtime unchanged)' if other_bib.stat().st_mtime_ns == stamp else 'REWRITTEN'}")

        whole = work / "whole.json"
        t0 = time.monotonic()
        refman(db, "export", "-f", "csljson", "-o", str(whole), "--keep-updated")
        print(f"whole-catalog CSL-JSON export registered ({whole.stat().st_size / 1e6:.1f} MB,"
              f" {time.monotonic() - t0:.1f} s to register and write)")
        time.sleep(3.0)
        folder_lat, whole_lat = latencies(vault, [folder_bib, whole], max(5, args.edits // 4), "b")
        print(describe(f"with it: save → {FOLDER}/ export", folder_lat))
        print(describe("with it: save → whole-catalog export", whole_lat))
        print(f"load after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    finally:
        if watch is not None:
            watch.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
