"""Export benchmark: a 100,000-source catalog in /tmp → BibLaTeX and CSL-JSON (first run assigns the citation
keys, second run reads them), and `refman cite` of 1,000 references in APA. Prints, per refman process, wall and
CPU (user+sys) seconds and peak RSS.

    .venv/bin/python benchmarks/bench_export.py [--sources N] [--cite N]

Targets (issue 6): export < 5 s per format, cite of 1,000 APA references < 10 s."""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refman.store import connect  # noqa: E402

EN_WORDS = [
    "data", "infrastructure", "GPU", "market", "inference", "training", "cluster", "storage", "network",
    "latency", "model", "serving", "vector", "database", "cloud", "cost", "open", "source", "agent",
    "benchmark", "memory", "bandwidth", "compiler", "kernel",
]
ZH_WORDS = ["数据库", "数据仓库", "推理", "优化", "网络", "模型", "训练", "存储", "云计算", "市场", "芯片", "开源"]
FAMILIES = ["Myers", "Müller", "García Márquez", "van Gogh", "O'Brien", "Smith", "Lee", "Nguyễn", "张", "王", "李"]
GIVENS = ["Astasia", "Jürgen", "Gabriel", "Vincent", "Łukasz", "Jane", "Min", "Anh", "三", "伟", "娜"]
SITES = ["Felicis", "The New York Times", "Intel Capital", "36氪", "InfoQ", "Research & Markets", None]
TYPES = ["webpage"] * 6 + ["post-weblog", "article-newspaper", "article-journal", "report"]


def build_catalog(path: Path, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    conn = connect(path)
    now = "2024-01-01T00:00:00Z"
    rows = []
    for i in range(1, n + 1):
        if rnd.random() < 0.4:
            title = "".join(rnd.sample(ZH_WORDS, 3)) + f"的{rnd.choice(ZH_WORDS)}分析 {i}"
        else:
            title = " ".join(rnd.sample(EN_WORDS, 5)).title() + f" & the {i}% Problem"
        authors = None
        if rnd.random() < 0.7:
            authors = json.dumps([{"family": rnd.choice(FAMILIES), "given": rnd.choice(GIVENS)}
                                  for _ in range(rnd.randint(1, 3))], ensure_ascii=False)
        issued = rnd.choice([None, f"{rnd.randint(2005, 2024)}", f"{rnd.randint(2005, 2024)}-{rnd.randint(1, 12):02d}",
                             f"{rnd.randint(2005, 2024)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"])
        url = f"https://site{i % 997}.example.com/articles/{i}?id={i}"
        rows.append((i, url, url, f"site{i % 997}.example.com", now, now, rnd.choice(TYPES), title, issued,
                     rnd.choice(SITES), rnd.choice(SITES), authors, "2024-06-01T12:00:00Z"))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO source (id, url, url_as_written, host, created_at, updated_at, type, title, issued, "
        "container_title, publisher, author, last_ok_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.executemany("INSERT INTO source_tag (source_id, tag) VALUES (?, ?)",
                     [(i, rnd.choice(["ai", "gpu", "db"])) for i in range(1, n + 1, 3)])
    conn.execute("COMMIT")
    conn.close()


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # user + sys seconds of the refman process
    rss_mb: float  # its peak resident set size
    size: int  # bytes written to stdout

    def __str__(self) -> str:
        return f"{self.wall:5.2f} s wall, {self.cpu:5.2f} s cpu, {self.rss_mb:4.0f} MB peak RSS"


def run_cli(db: Path, *args: str) -> Run:
    """Run refman in a child process; wall time, CPU time and peak RSS of that one process (os.wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "refman", "--db", str(db), *args], stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"refman {' '.join(args)} failed: {err.read().decode()[-2000:]}")
        size = out.tell()
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=100_000)
    parser.add_argument("--cite", type=int, default=1_000)
    parser.add_argument("--build-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_only:
        build_catalog(args.build_only, args.sources)
        return
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        # In a child process: a child's peak RSS (ru_maxrss) starts from its parent's high-water mark at
        # fork/exec, so this process must stay small for the figures below to be refman's own.
        subprocess.run([sys.executable, __file__, "--sources", str(args.sources), "--build-only", str(db)],
                       check=True)
        print(f"catalog: {args.sources} sources built in {time.perf_counter() - t0:.1f} s")
        for label, fmt in (("biblatex", "biblatex"), ("csljson", "csljson")):
            for run in ("first", "second"):
                out = Path(tmp) / f"refs.{fmt}"
                res = run_cli(db, "export", "--format", fmt, "-o", str(out))
                note = " (assigns keys)" if run == "first" and label == "biblatex" else ""
                print(f"export {label:8s} {run:6s}: {res}, {out.stat().st_size / 1e6:.1f} MB{note}")
        for fmt in ("bibtex", "ris", "markdown"):
            res = run_cli(db, "export", "--format", fmt)
            print(f"export {fmt:8s}       : {res}, {res.size / 1e6:.1f} MB")
        ids = [str(i) for i in range(1, args.cite + 1)]
        res = run_cli(db, "cite", "--style", "apa", *ids)
        print(f"cite apa {args.cite} refs  : {res}, {res.size / 1e3:.0f} kB")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cpus)")


if __name__ == "__main__":
    main()
