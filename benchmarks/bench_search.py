"""Search benchmark: index build time and size, query latency in-process and from the shell, versus a LIKE scan
and the raw sqlite3 shell.

    .venv/bin/python benchmarks/bench_search.py [--sources 100000] [--compare] [--keep | --db PATH]

Builds a catalog of N sources with ~5 KB of archived text each (slices of ../shared/corpus/web page text, tags
stripped by a regex, plus generated English and Chinese text: a third of the sources are Chinese) under /tmp,
and deletes it afterwards unless --keep. --db PATH builds the catalog there once and reuses it on later runs
(to re-measure latency on a quiet machine without rebuilding). --compare also indexes a 10,000-source sample
three ways (per-character CJK tokens as shipped, trigram, CJK bigrams) and prints size, build time, latency
and recall for CJK words.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refman.search import SearchFilters, rebuild_index, search  # noqa: E402
from refman.search_query import cjk_space  # noqa: E402
from refman.store import connect, open_store  # noqa: E402
from refman.store.sqlite import SqliteStore  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "web" / "pages"
ZH_WORDS = ["数据", "数据库", "数据仓库", "网络", "推理", "优化", "推理优化", "模型", "大模型", "训练", "知乎",
    "显卡", "芯片", "市场", "算力", "集群", "存储", "缓存", "延迟", "带宽", "分布式", "系统", "架构", "设计",
    "性能", "测试", "部署", "服务", "容器", "调度", "内存", "编译器", "语言", "框架", "开源", "社区", "论文",
    "实验", "结果", "方法", "我们", "可以", "这个", "一个", "因为", "所以", "但是", "如果", "已经", "还是", "没有",
    "需要", "问题", "时间", "发展", "技术", "公司", "产品", "用户", "工程师", "图形", "计算", "并行", "向量",
    "索引", "查询", "搜索", "排序", "文本", "中文", "分词", "字符", "标题", "作者", "网站", "笔记", "引用", "文章",
    "页面"]
HAN = [chr(0x4E00 + (i * 7919) % 0x5000) for i in range(2500)]
HAN_CUM = list(__import__("itertools").accumulate(1 / (i + 10) for i in range(2500)))
EN_EXTRA = ["RDMA", "GPU", "NVIDIA", "CUDA", "transformer", "inference", "kubernetes", "latency", "throughput",
    "database", "index"]
QUERIES = [
    "gpu", "market", "database index", "kubernetes latency", '"gpu market"', "transformer inference", "infer*",
    "data*", "nvidia OR amd", "gpu -nvidia", "title:gpu", "author:smith", "site:example.com", "tag:hardware",
    "cuda kernel", "throughput", "the", "research paper", "climate change", "open source", "python",
    "数据", "知乎", "网络", "数据库", "推理优化", "大模型推理优化", "分布式系统", "显卡 市场", "RDMA 网络",
    "GPU 算力", "编译器", "中文分词", "搜索 排序", "我们", "存储 -缓存", "title:数据", "tag:数据",
    "government", "university students", "health care", "music", "football", "economy growth",
    "\"open source\"", "news", "history*", "water", "energy OR power", "software engineering",
]


def strip_html(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    text = re.sub(r"(?is)<(script|style|noscript)[^>]*>.*?</\1>", " ", text)
    text = re.sub(r"(?s)<[^>]+>", " ", text)
    text = re.sub(r"&[a-z#0-9]+;", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def corpus_text() -> str:
    parts = []
    if CORPUS.is_dir():
        for path in sorted(CORPUS.iterdir()):
            raw = path.read_bytes()
            if path.suffix == ".gz":
                raw = gzip.decompress(raw)
            parts.append(strip_html(raw))
    return " ".join(parts)


class TextMaker:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.corpus = corpus_text()
        words = re.findall(r"[A-Za-z]{3,12}", self.corpus[:2_000_000]) or ["alpha", "beta", "gamma", "delta"]
        self.en_words = words + EN_EXTRA * 50

    def english(self, size: int) -> str:
        if self.corpus and self.rng.random() < 0.6:
            start = self.rng.randrange(max(1, len(self.corpus) - size))
            return self.corpus[start:start + size]
        out = " ".join(self.rng.choices(self.en_words, k=size // 6))
        return out[:size]

    def chinese(self, chars: int) -> str:
        # Mostly two-character "words" from 2,500 Han characters with Zipf-like frequencies, some real words:
        # common words then match some documents, not every Chinese one.
        rng = self.rng
        words = [w if rng.random() < 0.08 else "".join(rng.choices(HAN, cum_weights=HAN_CUM, k=2)) for w in
                 rng.choices(ZH_WORDS, k=chars // 2)]
        text = "".join(w + ("，" if self.rng.random() < 0.1 else "") for w in words)
        if self.rng.random() < 0.5:
            text += " " + " ".join(self.rng.choices(EN_EXTRA, k=10))
        return text[:chars]


def db_size(conn: sqlite3.Connection) -> int:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]


def build(path: Path, n: int, maker: TextMaker) -> dict[str, float]:
    conn = connect(path)
    # Bulk load without the per-row triggers, then build the index in one go (that is what reindex does).
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'"
                            ).fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    rng = maker.rng
    hosts = ["example.com", "blog.example.com", "zhuanlan.zhihu.com", "arxiv.org", "news.ycombinator.com",
             "medium.com", "github.com", "www.nature.com"]
    started = time.perf_counter()
    conn.execute("BEGIN")
    for i in range(1, n + 1):
        zh = i % 3 == 0
        title = maker.chinese(16) if zh else " ".join(rng.choices(maker.en_words, k=6))
        text = maker.chinese(1700) if zh else maker.english(5000)  # ~5 KB either way (3 bytes per Han character)
        host = rng.choice(hosts)
        url = f"https://{host}/p/{i}"
        conn.execute("INSERT INTO source(id, url, url_as_written, host, created_at, updated_at, title, issued, "
                     "author, status) VALUES (?, ?, ?, ?, '', '', ?, ?, ?, 'ok')",
                     (i, url, url, host, title, f"{rng.randint(2005, 2025)}-{rng.randint(1, 12):02d}",
                      json.dumps([{"family": rng.choice(["Smith", "Wang", "Li", "Jones"]), "given": "A"}])))
        conn.execute("INSERT INTO snapshot(id, source_id, fetched_at, outcome) VALUES (?, ?, '', 'ok')", (i, i))
        conn.execute("INSERT INTO source_text(source_id, snapshot_id, text) VALUES (?, ?, ?)", (i, i, text))
        if i % 7 == 0:
            conn.execute("INSERT INTO source_tag (source_id, tag) VALUES (?, ?)",
                         (i, rng.choice(["hardware", "数据", "ml", "net"])))
    conn.execute("COMMIT")
    load = time.perf_counter() - started
    for _, sql in triggers:
        conn.execute(sql)
    size_without = db_size(conn)
    started = time.perf_counter()
    rebuild_index(SqliteStore(conn))
    index_time = time.perf_counter() - started
    size_with = db_size(conn)
    conn.close()
    return {"load_s": load, "index_s": index_time, "size_without": size_without, "size_with": size_with}


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def query_latencies(store: Any) -> tuple[list[float], dict[str, int]]:
    """The median of three runs of each query in QUERIES, in ms, after one warming run of each; and the number
    of hits (limit 20) each gave."""
    for q in QUERIES:  # warm the page cache
        search(store, q)
    times, counts = [], {}
    for q in QUERIES:
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            hits = search(store, q)
            runs.append(time.perf_counter() - t)
        times.append(statistics.median(runs) * 1000)
        counts[q] = len(hits)
    return times, counts


def latency(path: Path) -> None:
    store = open_store(path)
    conn = store.conn
    times, _counts = query_latencies(store)
    slow = sorted(zip(times, QUERIES, strict=True), reverse=True)[:5]
    print(f"in-process, {len(QUERIES)} queries (limit 20, snippets included): p50 {pct(times, 50):.1f} ms, "
          f"p95 {pct(times, 95):.1f} ms, max {max(times):.1f} ms")
    print("  slowest: " + ", ".join(f"{q!r} {t:.1f} ms" for t, q in slow))
    t = time.perf_counter()
    search(store, "gpu", SearchFilters(tags=["hardware"], since="2015", site="example.com"))
    print(f"  'gpu' --tag hardware --since 2015 --site example.com: {(time.perf_counter() - t) * 1000:.1f} ms")
    for q in ("gpu", "数据"):
        like = "%" + q + "%"
        t = time.perf_counter()
        conn.execute("SELECT count(*) FROM source s JOIN source_text x ON x.source_id = s.id "
                     "WHERE s.title LIKE ? OR x.text LIKE ?", (like, like)).fetchone()
        print(f"LIKE scan for {q!r} (title or text): {(time.perf_counter() - t) * 1000:.0f} ms")
    store.close()


def shell(path: Path, runs: int = 10) -> None:
    import compileall

    # As `pip install` leaves it: refman's bytecode compiled. An editable install under PYTHONDONTWRITEBYTECODE=1
    # (set on this workplace's machines) would otherwise compile every refman module on every start (+60 ms).
    compileall.compile_dir(ROOT / "refman", quiet=1)
    refman = Path(sys.executable).with_name("refman")
    for q in (["gpu", "market"], ["数据"], ["RDMA", "网络"]):
        walls, cpus = [], []
        for _ in range(runs):
            t = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([str(refman), "--db", str(path), "search", *q], capture_output=True, check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            walls.append(time.perf_counter() - t)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        print(f"`refman search {' '.join(q)}` median of {runs}: CPU (user+sys) {statistics.median(cpus) * 1000:.0f} ms,"
              f" wall {statistics.median(walls) * 1000:.0f} ms")
    sqlite = shutil.which("sqlite3")
    if not sqlite:
        print("sqlite3 shell not installed: skipped")
        return
    for match in ('"gpu" AND "market"', '" 数  据 "'):
        sql = (f"SELECT rowid, snippet(search_fts, 5, '[', ']', '…', 24) FROM search_fts WHERE search_fts MATCH "
               f"'{match}' ORDER BY rank LIMIT 20;")
        walls = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run([sqlite, str(path), sql], capture_output=True, check=True)
            walls.append(time.perf_counter() - t)
        print(f"sqlite3 shell, MATCH {match}: median {statistics.median(walls) * 1000:.0f} ms")


def _bigrams(text: str) -> str:
    """CJK runs as overlapping bigrams (数据库 → 数据 据库), other text as it is."""
    def run(m: re.Match[str]) -> str:
        s = m.group(0)
        return " " + " ".join(s[i:i + 2] for i in range(max(1, len(s) - 1))) + " "
    return re.sub(r"[\u4e00-\u9fff]+", run, text)


def compare(maker: TextMaker, n: int = 10_000) -> None:
    docs = [maker.chinese(1700) if i % 3 == 0 else maker.english(5000) for i in range(n)]
    words = ["数据", "知乎", "网络", "数据库", "推理优化", "仓库"]
    truth = {w: sum(w in d for d in docs) for w in words}
    variants = {
        "per-character (shipped)": ("unicode61", cjk_space, lambda w: '"' + cjk_space(w) + '"'),
        "trigram": ("trigram", lambda s: s, lambda w: '"' + w + '"'),
        "bigram": ("unicode61", _bigrams, lambda w: '"' + _bigrams(w).strip() + '"'),
    }
    print(f"\n--compare: {n} documents, a third Chinese")
    for name, (tok, prep, q) in variants.items():
        c = sqlite3.connect(":memory:")
        c.execute(f"CREATE VIRTUAL TABLE f USING fts5(body, tokenize='{tok}')")
        t = time.perf_counter()
        c.executemany("INSERT INTO f(body) VALUES (?)", ((prep(d),) for d in docs))
        c.execute("INSERT INTO f(f) VALUES ('optimize')")
        build_s = time.perf_counter() - t
        idx = c.execute("SELECT sum(length(block)) FROM f_data").fetchone()[0]
        res = []
        for w in words:
            t = time.perf_counter()
            found = c.execute("SELECT count(*) FROM (SELECT rowid FROM f WHERE f MATCH ? ORDER BY rank)",
                              (q(w),)).fetchone()[0]
            res.append(f"{w} {found}/{truth[w]} {(time.perf_counter() - t) * 1000:.0f}ms")
        print(f"  {name:24} index {idx / 1e6:.1f} MB, build {build_s:.1f} s; found/true, ranked: " + "; ".join(res))
        c.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=100_000)
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the benchmark catalog")
    ap.add_argument("--db", type=Path, help="build the catalog here if missing, reuse it otherwise; never deleted")
    args = ap.parse_args()
    maker = TextMaker()
    tmp = Path(tempfile.mkdtemp(prefix="refman-bench-", dir="/tmp"))
    path = args.db or tmp / "catalog.db"
    try:
        if args.db and path.exists():
            n = connect(path).execute("SELECT count(*) FROM source").fetchone()[0]
            print(f"reusing {path}: {n} sources, {path.stat().st_size / 1e6:.0f} MB")
        else:
            r = build(path, args.sources, maker)
            print(f"{args.sources} sources: catalog load {r['load_s']:.1f} s; index build (refman db reindex) "
                  f"{r['index_s']:.1f} s")
            print(f"size without index {r['size_without'] / 1e6:.0f} MB, with index {r['size_with'] / 1e6:.0f} MB "
                  f"(index {(r['size_with'] - r['size_without']) / 1e6:.0f} MB)")
        latency(path)
        shell(path)
        if args.compare:
            compare(maker)
    finally:
        if args.keep and not args.db:
            print(f"kept {path}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        os.sync()


if __name__ == "__main__":
    main()
