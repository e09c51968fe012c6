"""Scanner throughput: a generated vault in memory, and ../shared/corpus/vault when present.

Prints MB/s (UTF-8 bytes, 10**6, per CPU second of this process so other load on the machine does not skew
it) of `scan_markdown` on one core, the definition count, agreement with
markdown-it-py (notes giving identical definitions / total) and markdown-it-py's own block-parse MB/s.
Run: .venv/bin/python benchmarks/bench_scan.py
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from refman.notes.scan import prepare_text, scan_markdown  # noqa: E402

VAULT = ROOT.parent / "shared" / "corpus" / "vault"

_EN = [
    "infrastructure",
    "network",
    "kernel",
    "inference",
    "storage",
    "design",
    "guide",
    "GPU",
    "cluster",
    "RDMA",
    "overlay",
    "security",
    "the",
    "of",
    "and",
    "for",
    "with",
    "a",
    "how",
    "why",
    "LLM",
    "serving",
]
_ZH = [
    "高性能",
    "网络",
    "通信",
    "架构",
    "设计",
    "实现",
    "数据",
    "中心",
    "虚拟化",
    "推理",
    "引擎",
    "集群",
    "算力",
    "指南",
]
_SITES = ["InfoQ", "知乎", "CSDN", "SDNLAB", "GitHub", "MDN Docs", "cnblogs", "机器之心"]
_HOSTS = ["www.infoq.cn/article", "mp.weixin.qq.com/s", "zhuanlan.zhihu.com/p", "github.com/org", "blog.example.com"]


def _label(rng: random.Random) -> str:
    if rng.random() < 0.4:
        title = "".join(rng.choices(_ZH, k=rng.randint(2, 6)))
        return f"{title} | {rng.choice(_SITES)}" if rng.random() < 0.6 else f"{title} - 某人的文章 - 知乎"
    title = " ".join(rng.choices(_EN, k=rng.randint(3, 9))).capitalize()
    r = rng.random()
    if r < 0.3:
        return f"{title} ({rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2015, 2025)})"
    if r < 0.5:
        return f"👍 {title} | {rng.choice(_SITES)}"
    return title


def _prose(rng: random.Random, words: int) -> str:
    if rng.random() < 0.5:
        return "".join(rng.choices(_ZH, k=words // 2)) + "。"
    return " ".join(rng.choices(_EN, k=words)).capitalize() + "."


def make_note(rng: random.Random) -> str:
    out = ["---", "tags: [note]", "---", f"# {_prose(rng, 4)}", ""]
    for _ in range(rng.randint(2, 6)):
        out += [f"## {_prose(rng, 3)}", "", _prose(rng, rng.randint(20, 60)), _prose(rng, rng.randint(10, 40)), ""]
        r = rng.random()
        if r < 0.3:
            out += ["```bash", "echo hi", "[not]: https://a.example/in-fence", "ls -la", "```", ""]
        elif r < 0.5:
            out += [f"- {_prose(rng, 8)}", f"- {_prose(rng, 10)}", f"  - {_prose(rng, 6)}", ""]
        elif r < 0.65:
            out += [f"> {_prose(rng, 20)}", f"> {_prose(rng, 15)}", ""]
        elif r < 0.8:
            out += ["![](../Assets/Pics/Pasted%20image%2020241104003456.png)", ""]
    out += ["## Ref"]
    for _ in range(rng.randint(3, 15)):
        out.append(f"[{_label(rng)}]: https://{rng.choice(_HOSTS)}/{rng.randrange(10**8):x}")
        r = rng.random()
        if r < 0.15:
            out.append(f"- {_prose(rng, 10)}")
        elif r < 0.25:
            out.append("![](../Assets/Pics/pic.png)")
        if rng.random() < 0.5:
            out.append("")
    return "\n".join(out) + "\n"


def _mbps(texts: list[str], fn: Callable[[str], object], repeat: int = 3) -> float:
    size = sum(len(t.encode("utf-8")) for t in texts)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for t in texts:
            fn(t)
        best = min(best, time.process_time() - t0)
    return size / 1e6 / best


def main() -> None:
    rng = random.Random(20240624)
    notes = [make_note(rng) for _ in range(3000)]
    size = sum(len(t.encode("utf-8")) for t in notes) / 1e6
    ndefs = sum(len(scan_markdown(t).definitions) for t in notes)
    print(f"synthetic: {len(notes)} notes, {size:.1f} MB, {ndefs} definitions")
    print(f"synthetic: scan_markdown {_mbps(notes, scan_markdown):.1f} MB/s")

    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")

    def oracle(text: str) -> dict:
        env: dict = {}
        md.block.parse(prepare_text(text), md, env, [])
        return env.get("references", {})

    sample = notes[:300]
    print(f"synthetic: markdown-it-py block parser {_mbps(sample, oracle, 1):.1f} MB/s")

    if not VAULT.is_dir():
        print(f"corpus: {VAULT} absent, skipped")
        return
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(VAULT.rglob("*.md"))]
    size = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    agree = ndefs = 0
    for t in texts:
        got = {}
        for d in scan_markdown(t).definitions:
            href = md.normalizeLink(d.destination)
            if md.validateLink(href):
                got[d.key] = (href, d.title or "", d.line - 1)
        ndefs += len(got)
        want = {k: (v["href"], v["title"], v["map"][0]) for k, v in oracle(t).items()}
        agree += got == want
    print(f"corpus: {len(texts)} notes, {size:.1f} MB, {ndefs} definitions")
    print(f"corpus: scan_markdown {_mbps(texts, scan_markdown, 5):.1f} MB/s")
    print(f"corpus: markdown-it-py block parser {_mbps(texts, oracle, 1):.1f} MB/s")
    print(f"corpus: agreement with markdown-it-py {agree}/{len(texts)} notes identical")
    bare = sum(len(scan_markdown(t).bare) for t in texts)
    print(f"corpus: {bare} bare reference lines (🔗 https://…, 【Title】 https://…, a URL alone on its line)")


if __name__ == "__main__":
    main()
