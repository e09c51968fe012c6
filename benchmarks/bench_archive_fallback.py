"""What the fallbacks of `refman fetch` buy on the 295 corpus pages, on loopback: archive coverage, metadata of
archive-taken pages, throughput, rendering cost and the browser's memory.

    .venv/bin/python benchmarks/bench_archive_fallback.py            # needs ../shared/corpus/web
    .venv/bin/python benchmarks/bench_archive_fallback.py --no-render

A vault note cites the 295 pages of ../shared/corpus/web (truth.jsonl) at http://127.0.0.1:PORT/p/N. On the
live server a third of them (N % 3 == 0) are dead (404) and held by a local fake of the Internet Archive
(tests/fakearchive.py: availability API + raw mementos, a capture of 2024-01-15), and a tenth of the others
(N % 10 == 1) are JavaScript shells: an empty `#app` and a script that fetches the page's HTML from `/raw/N`
and writes it into the document (what a client-rendered site does). Three `refman fetch` subprocesses, each
on a fresh catalog (`--per-host 8 --delay 0`):

* **all live**: every page served as is (the reference for metadata accuracy);
* **before**: dead pages and shells, no fallback;
* **after**: the same with `--wayback --render` (REFMAN_WAYBACK_URL pointing at the fake archive; the
  browser's DNS mapped to nothing but 127.0.0.1, so no corpus page's scripts reach the internet).

Reported: share of sources with text (≥ 80 visible characters archived) before/after, and separately for the
dead and the shell pages; metadata accuracy (bench_metadata's scoring: exact title, authors, date, site,
language, …) of the dead pages taken from the archive against the same pages fetched live; pages/s of each run;
render time per page (from the render snapshots); peak memory of the browser (PSS summed over the Chromium
processes under the refman process, sampled every 0.1 s); the `uptime` load beside it."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "web"
REFMAN = Path(sys.executable).with_name("refman")
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from fakearchive import FakeArchive, QuietServer  # noqa: E402  (tests/ is on the path from here on)

CAPTURE_TS = "20240115083000"


def shell(n: int) -> bytes:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Loading</title>"
            f"<script>fetch('/raw/{n}').then(r => r.text()).then(h => {{ document.open(); document.write(h); "
            f"document.close(); }});</script></head><body><div id='app'></div>"
            f"<noscript>Please enable JavaScript</noscript></body></html>").encode()


def load() -> tuple[list[dict[str, Any]], list[bytes]]:
    records = [json.loads(line) for line in (CORPUS / "truth.jsonl").read_text(encoding="utf-8").splitlines() if line]
    bodies = []
    for rec in records:
        body = (CORPUS / rec["file"]).read_bytes()
        bodies.append(gzip.decompress(body) if rec["file"].endswith(".gz") else body)
    return records, bodies


def kind_of(n: int) -> str:
    if n % 3 == 0:
        return "dead"
    return "shell" if n % 10 == 1 else "live"



class Live:
    """The live server: /p/N is page N (or a 404, or a shell, by `mode`), /raw/N its HTML for the shells."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.mode = "all-live"
        live = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                try:
                    prefix, _, num = path.rpartition("/")
                    n = int(num)
                    body = bodies[n]
                except (ValueError, IndexError):
                    self._send(404, b"not found", "text/plain")
                    return
                if prefix == "/raw":
                    self._send(200, body, "text/html")
                elif prefix != "/p":
                    self._send(404, b"not found", "text/plain")
                elif live.mode == "all-live" or kind_of(n) == "live":
                    self._send(200, body, "text/html")
                elif kind_of(n) == "dead":
                    self._send(404, b"<html><body>Not Found</body></html>", "text/html")
                else:
                    self._send(200, shell(n), "text/html; charset=utf-8")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/p/{n}"


# ------------------------------------------------------------------------------------------------ memory


def _children(pid: int) -> list[int]:
    out, stack = [], [pid]
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    while stack:
        for child in parents.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _is_browser(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            name = fh.read().strip()
    except OSError:
        return False
    return "chrom" in name.lower()


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_browser_kb, self.peak_total_kb, self.stop = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            procs = [self.pid, *_children(self.pid)]
            sizes = {p: _pss_kb(p) for p in procs}
            self.peak_total_kb = max(self.peak_total_kb, sum(sizes.values()))
            self.peak_browser_kb = max(self.peak_browser_kb, sum(v for p, v in sizes.items() if _is_browser(p)))
            self.stop.wait(0.1)


# ------------------------------------------------------------------------------------------------ runs


def run_fetch(db: Path, env: dict[str, str], *extra: str) -> tuple[dict[str, Any], Sampler]:
    cmd = [str(REFMAN), "--db", str(db), "fetch", "--per-host", "8", "--delay", "0", "--ignore-robots",
           "--timeout", "30", "--json", *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = Sampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"refman fetch failed ({proc.returncode}): {err.strip()[-500:]}")
    return json.loads(out), sampler


def catalog(db: Path) -> dict[str, dict[str, Any]]:
    """url → {text_chars, fields…, render_ms, text_origin} of each source."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    out = {}
    for r in conn.execute(
        "SELECT s.url, s.title, s.author, s.issued, s.container_title, s.publisher, s.doi, s.language, s.type, "
        "t.text, g.origin AS text_origin FROM source s LEFT JOIN source_text t ON t.source_id = s.id "
        "LEFT JOIN snapshot g ON g.id = t.snapshot_id"
    ):
        text = r["text"] or ""
        out[r["url"]] = {**dict(r), "chars": len(text) - sum(text.count(c) for c in " \n\t\r\u3000\xa0")}
    renders = [json.loads(m)["render_ms"] for (m,) in conn.execute(
        "SELECT metadata_json FROM snapshot WHERE origin = 'render' AND metadata_json IS NOT NULL")]
    conn.close()
    out["__render_ms__"] = renders  # type: ignore[assignment]
    return out


def prediction(row: dict[str, Any]) -> dict[str, Any]:
    from refman.metadata.authors import display_name

    authors = json.loads(row["author"]) if row.get("author") else []
    return {"title": row["title"], "authors": [display_name(a) for a in authors], "issued": row["issued"],
            "site_name": row["container_title"], "container_title": row["container_title"],
            "publisher": row["publisher"], "doi": row["doi"], "language": row["language"]}


def accuracy(records: list[dict[str, Any]], rows: dict[str, Any], urls: list[str]) -> tuple[float, int, dict]:
    from bench_metadata import score

    right = total = 0
    per: dict[str, list[int]] = {}
    for rec, url in zip(records, urls, strict=True):
        row = rows.get(url)
        if row is None:
            continue
        for field, (exact, _lenient) in score(rec, prediction(row)).items():
            right += exact
            total += 1
            per.setdefault(field, [0, 0])
            per[field][0] += exact
            per[field][1] += 1
    return (100 * right / total if total else 0.0), total, per


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-render", action="store_true", help="skip rendering (no browser needed)")
    args = ap.parse_args(argv)
    if not (CORPUS / "truth.jsonl").is_file():
        print(f"skipped: {CORPUS} is absent")
        return 0
    records, bodies = load()
    live = Live(bodies)
    urls = [live.url(n) for n in range(len(records))]
    kinds = [kind_of(n) for n in range(len(records))]
    with FakeArchive() as archive, tempfile.TemporaryDirectory() as tmp:
        for n, url in enumerate(urls):
            if kinds[n] == "dead":
                archive.add(url, CAPTURE_TS, bodies[n], "text/html")
        vault = Path(tmp) / "vault"
        vault.mkdir()
        (vault / "cited.md").write_text("".join(f"[corpus page {n}]: {u}\n" for n, u in enumerate(urls)))
        cfg = Path(tmp) / "config.toml"
        cfg.write_text('[wayback]\ndelay = 0\n[render]\nargs = ["--host-resolver-rules=MAP * ~NOTFOUND , '
                       'EXCLUDE 127.0.0.1"]\n')
        env = os.environ | {"REFMAN_WAYBACK_URL": archive.base, "REFMAN_CONFIG": str(cfg)}
        results: dict[str, tuple[dict[str, Any], Sampler, dict[str, Any]]] = {}
        for name, mode, extra in (("all live", "all-live", ()), ("before", "broken", ()),
                                  ("after", "broken", ("--wayback",) if args.no_render else ("--wayback", "--render"))):
            db = Path(tmp) / f"{name.replace(' ', '-')}.db"
            subprocess.run([str(REFMAN), "--db", str(db), "import", str(vault)], env=env, check=True,
                           capture_output=True)
            live.mode = mode
            summary, sampler = run_fetch(db, env, *extra)
            results[name] = (summary, sampler, catalog(db))
    load_avg = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

    def share(rows: dict[str, Any], which: str | None = None) -> str:
        picked = [u for u, k in zip(urls, kinds, strict=True) if which is None or k == which]
        got = sum(1 for u in picked if rows.get(u, {}).get("chars", 0) >= 80)
        return f"{got}/{len(picked)} ({100 * got / len(picked):.1f}%)"

    print(f"corpus pages: {len(urls)}; dead on the live server (held by the fake archive): {kinds.count('dead')}; "
          f"JavaScript shells: {kinds.count('shell')}")
    for name, (summary, _sampler, rows) in results.items():
        print(f"{name:>9}: text for {share(rows)}  dead {share(rows, 'dead')}  shells {share(rows, 'shell')}  "
              f"{summary['pages_per_s']:.1f} pages/s ({summary['elapsed_s']:.1f} s)  "
              f"fallbacks {json.dumps(summary.get('fallbacks', {}))}")
    dead = [(r, u) for r, u, k in zip(records, urls, kinds, strict=True) if k == "dead"]
    live_acc, n_live, per_live = accuracy([r for r, _ in dead], results["all live"][2], [u for _, u in dead])
    arch_acc, _n_arch, per_arch = accuracy([r for r, _ in dead], results["after"][2], [u for _, u in dead])
    print(f"metadata of the {len(dead)} dead pages (exact, {n_live} field checks): fetched live {live_acc:.1f}%, "
          f"taken from the archive {arch_acc:.1f}% (difference {arch_acc - live_acc:+.1f} points)")
    print("   per field (live → archive): " + ", ".join(
        f"{f} {per_live[f][0]}/{per_live[f][1]} → {per_arch.get(f, [0, 0])[0]}/{per_arch.get(f, [0, 0])[1]}"
        for f in sorted(per_live)))
    renders = results["after"][2]["__render_ms__"]
    if renders:
        print(f"render: {len(renders)} pages, mean {statistics.mean(renders) / 1000:.2f} s, median "
              f"{statistics.median(renders) / 1000:.2f} s, max {max(renders) / 1000:.2f} s per page; browser peak "
              f"PSS {results['after'][1].peak_browser_kb / 1024:.0f} MB (whole refman tree "
              f"{results['after'][1].peak_total_kb / 1024:.0f} MB)")
    print(f"load: {load_avg}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
