"""Import benchmark: a generated vault of 10,000 notes with 100,000 definitions, timed from the shell.

    .venv/bin/python benchmarks/bench_import.py [--notes 10000] [--defs-per-note 10]

Prints: full import and unchanged re-import wall time (start-up included), CPU time (user + sys of the refman
process and its parser pool, which is what the machine's other load cannot inflate much), peak RSS of the
refman process, and, when ../shared/corpus/vault exists, the import of the real corpus."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "vault"
REFMAN = str(Path(sys.executable).parent / "refman")

EN_WORDS = [
    "data", "infrastructure", "model", "training", "inference", "cluster", "network", "memory", "storage",
    "vector", "database", "pipeline", "agent", "scheduler", "kernel", "compiler", "benchmark", "latency",
    "throughput", "cache", "protocol",
]
ZH_WORDS = [
    "数据", "网络", "模型", "训练", "推理", "集群", "存储", "向量", "数据库", "调度",
    "内核", "编译", "延迟", "吞吐", "缓存", "协议", "架构", "设计", "实现", "优化",
]
SITES = ("InfoQ", "知乎", "GitHub", "机器之心", "SDNLAB", "cnblogs", "Medium", "MDN Docs")


def label(rng: random.Random) -> str:
    if rng.random() < 0.4:
        title = "".join(rng.choice(ZH_WORDS) for _ in range(rng.randint(3, 8)))
    else:
        title = " ".join(rng.choice(EN_WORDS) for _ in range(rng.randint(3, 9))).capitalize()
    r = rng.random()
    if r < 0.25:
        title += f" ({rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2015, 2025)})"
    elif r < 0.45:
        title += f" | {rng.choice(SITES)}"
    elif r < 0.55:
        title += f" - {rng.choice(['小波律动', 'kgzhang', '风来啦'])}的文章 - 知乎"
    if rng.random() < 0.1:
        title = rng.choice(["👍 ", "🤔 ", "⭐ "]) + title
    return title


def make_vault(root: Path, notes: int, per_note: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    urls: list[str] = []
    total = 0
    for n in range(notes):
        folder = root / f"topic-{n % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"# Note {n}", "", " ".join(rng.choice(EN_WORDS + ZH_WORDS) for _ in range(60)), ""]
        lines += ["```", "[fake]: https://example.com/in-code", "```", "", "![](Assets/pic.png)", "", "## Ref"]
        for _ in range(per_note):
            if urls and rng.random() < 0.3:
                url = rng.choice(urls)
            else:
                url = f"https://site{rng.randint(1, 2000)}.example.com/post/{len(urls)}?utm_source=rss"
                urls.append(url)
            lines.append(f"[{label(rng)}]: {url}")
            if rng.random() < 0.2:
                # a quote under a definition is the user's note; the blank line ends it (else the next
                # definition would be a lazy continuation of the quote, as CommonMark says)
                lines.append("> " + " ".join(rng.choice(EN_WORDS) for _ in range(12)))
                lines.append("")
            total += 1
        (folder / f"note-{n}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return total


def timed(*args: str, db: Path) -> tuple[float, dict, int, float]:
    """(wall seconds, JSON report, peak RSS in KiB of any child so far, CPU seconds of this run)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([REFMAN, "--db", str(db), *args, "--json"], capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, json.loads(proc.stdout), max(after.ru_maxrss, before.ru_maxrss), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--defs-per-note", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="refman-bench-import-"))
    try:
        vault = work / "vault"
        total = make_vault(vault, args.notes, args.defs_per_note)
        size = sum(p.stat().st_size for p in vault.rglob("*.md"))
        # A vault at rest, as a user's is: the 10,000 files just written are flushed to disk first, so that their
        # write-back cannot fall inside the timed import (it made no measurable difference on the 2-core machine).
        os.sync()
        db = work / "catalog.db"
        full, report, rss, cpu = timed("import", str(vault), db=db)
        again, report2, rss2, cpu2 = timed("import", str(vault), db=db)
        print(f"generated vault: {args.notes} notes, {total} definitions, {size / 1e6:.1f} MB")
        print(f"full import:      {full:6.2f} s wall, {cpu:5.2f} s CPU  ({report['definitions']} definitions,"
              f" {report['sources_new']} sources, {report['mentions']} mentions)  peak RSS {rss / 1024:.0f} MB")
        print(f"unchanged import: {again:6.2f} s wall, {cpu2:5.2f} s CPU  ({report2['notes_unchanged']} unchanged)"
              f"  peak RSS {rss2 / 1024:.0f} MB")
        if CORPUS.is_dir():
            cdb = work / "corpus.db"
            t, rep, _, ccpu = timed("import", str(CORPUS), db=cdb)
            reasons: dict[str, int] = {}
            for s in rep["skipped"]:
                reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
            print(f"shared corpus vault: {t:.2f} s wall, {ccpu:.2f} s CPU, {rep['notes_scanned']} notes,"
                  f" {rep['definitions']} web definitions + {rep['bare_references']} bare reference lines →"
                  f" {rep['sources_new']} sources, {rep['mentions']} mentions, {len(rep['warnings'])} warnings;"
                  f" skipped: {dict(sorted(reasons.items(), key=lambda x: -x[1]))}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
