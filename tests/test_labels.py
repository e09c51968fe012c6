"""Tests for refman.notes.labels: hints (title, date, site, author, flag) from a reference label."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refman.notes.labels import LabelHints, parse_label

CORPUS_VAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "vault"
ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


# --------------------------------------------------------------------------------------- EXPECTED.md 1-31

# (item, label, host, title, issued, container_title, author, flag)
EXPECTED = [
    (1, "The rise of AI data infrastructure (6/24/2024)", "www.felicis.com",
     "The rise of AI data infrastructure", "2024-06-24", None, None, None),
    (2, "Roadmap: AI Infrastructure (6/11/2024)", "www.bvp.com",
     "Roadmap: AI Infrastructure", "2024-06-11", None, None, None),
    (3, "Demystifying the AI Infrastructure Stack (04/02/2020)", "www.intelcapital.com",
     "Demystifying the AI Infrastructure Stack", "2020-04-02", None, None, None),
    (4, "从 AI 高管到犀利 CEO，贾扬清创业这一年：我们的目标是做 AI 时代的“第一朵云” | InfoQ", "www.infoq.cn",
     "从 AI 高管到犀利 CEO，贾扬清创业这一年：我们的目标是做 AI 时代的“第一朵云”", None, "InfoQ", None, None),
    (5, "The Missing Guide to the H100 GPU Market", "blog.lepton.ai",
     "The Missing Guide to the H100 GPU Market", None, None, None, None),
    (6, "👍 Meta超大规模AI智算基础设施架构设计", "mp.weixin.qq.com",
     "Meta超大规模AI智算基础设施架构设计", None, None, None, "👍"),
    (7, "👍 高性能网络通信架构 RDMA 的设计与实现", "www.infoq.cn",
     "高性能网络通信架构 RDMA 的设计与实现", None, None, None, "👍"),
    (8, "AI算力网络，为什么需要RDMA？", "mp.weixin.qq.com",
     "AI算力网络，为什么需要RDMA？", None, None, None, None),
    (9, "专家系统概述 - 小波律动的文章 - 知乎", "zhuanlan.zhihu.com",
     "专家系统概述", None, "知乎", "小波律动", None),
    (10, "推理引擎 | 机器之心", "www.jiqizhixin.com",
     "推理引擎", None, "机器之心", None, None),
    (11, "【LLM】Distilling Step-by-Step——将大模型的推理能力蒸馏到小模型 - 深林有夕的文章 - 知乎",
     "zhuanlan.zhihu.com",
     "【LLM】Distilling Step-by-Step——将大模型的推理能力蒸馏到小模型", None, "知乎", "深林有夕", None),
    (12, "Overlay 介绍 ｜ 华为数据中心网络设计指南", "support.huawei.com",
     "Overlay 介绍", None, "华为数据中心网络设计指南", None, None),
    (13, "👍 虚拟化 - 网络虚拟化 | cnblogs", "www.cnblogs.com",
     "虚拟化 - 网络虚拟化", None, "cnblogs", None, "👍"),
    (14, "Comparison: VXLAN vs NVGRE vs STT vs LISP - Overlay Network Technologies", "www.routexp.com",
     "Comparison: VXLAN vs NVGRE vs STT vs LISP - Overlay Network Technologies", None, None, None, None),
    (15, "SDN与网络虚拟化 | SDNLAB", "www.sdnlab.com",
     "SDN与网络虚拟化", None, "SDNLAB", None, None),
    (16, "华为云计算（3）——网络虚拟化 - IT小组的文章 - 知乎", "zhuanlan.zhihu.com",
     "华为云计算（3）——网络虚拟化", None, "知乎", "IT小组", None),
    (17, "👍 openstack学习-网络管理(转)", "heitaoq66.github.io",
     "openstack学习-网络管理", None, None, None, "👍"),
    (18, "vLLM: Easily Deploying & Serving LLM", "youtu.be",
     "vLLM: Easily Deploying & Serving LLM", None, None, None, None),
    (19, "读完nanovllm，离vLLM还远吗?", "xhslink.com",
     "读完nanovllm，离vLLM还远吗?", None, None, None, None),
    (20, "1.1 信息摘要算法简介", "www.jianshu.com",
     "1.1 信息摘要算法简介", None, None, None, None),
    (21, "Digest -- MDN Docs", "developer.mozilla.org",
     "Digest", None, "MDN Docs", None, None),
    (22, "Message-Digest Algorithm 5: Overview and How Does it Work?", "www.okta.com",
     "Message-Digest Algorithm 5: Overview and How Does it Work?", None, None, None, None),
    (23, "What is runtime application self-protection (RASP)? | github blog (2024)", "github.com",
     "What is runtime application self-protection (RASP)?", "2024", "github blog", None, None),
    (24, "RASP - Java Web Security | p4d0rn", "p4d0rn.gitbook.io",
     "RASP - Java Web Security", None, "p4d0rn", None, None),
    (25, "👍 全网最全网络基础思维导图（38张) | SDNLAB", "mp.weixin.qq.com",
     "全网最全网络基础思维导图（38张)", None, "SDNLAB", None, "👍"),
    (26, "👍 长文|互联网骨干网全面解析 - kgzhang的文章 - 知乎", "zhuanlan.zhihu.com",
     "长文|互联网骨干网全面解析", None, "知乎", "kgzhang", "👍"),
    (27, "【iOS逆向】4种常用Hook的原理分析及示例 | 看雪学苑", "juejin.cn",
     "【iOS逆向】4种常用Hook的原理分析及示例", None, "看雪学苑", None, None),
    (28, "🤔 无埋点核心技术：iOS Hook 在字节的实践经验 | infoQ", "www.infoq.cn",
     "无埋点核心技术：iOS Hook 在字节的实践经验", None, "InfoQ", None, "🤔"),
    (29, "iOS中几种hook代码的方法 | CSDN", "t.csdnimg.cn",
     "iOS中几种hook代码的方法", None, "CSDN", None, None),
    (30, "Vagrant | Wikipedia", "en.wikipedia.org",
     "Vagrant", None, "Wikipedia", None, None),
    (31, "Vagrant 入门指南（仅学习） - 风来啦的文章 - 知乎", "zhuanlan.zhihu.com",
     "Vagrant 入门指南（仅学习）", None, "知乎", "风来啦", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("item", "label", "host", "title", "issued", "site", "author", "flag"), EXPECTED, ids=[str(e[0]) for e in EXPECTED]
)
def test_expected_md(
    item: int,
    label: str,
    host: str,
    title: str,
    issued: str | None,
    site: str | None,
    author: str | None,
    flag: str | None,
) -> None:
    hints = parse_label(label, host)
    assert hints == LabelHints(label, title, issued, site, author, flag, hints.tags)


def test_expected_md_covers_all_31_items() -> None:
    assert [e[0] for e in EXPECTED] == list(range(1, 32))


def test_repost_marker_is_a_tag() -> None:
    assert parse_label("👍 openstack学习-网络管理(转)").tags == ("repost",)
    assert parse_label("【转】Linux 网络栈 | cnblogs").tags == ("repost",)
    assert parse_label("Linux 网络栈 | cnblogs").tags == ()


# ------------------------------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("label", "issued"),
    [
        ("Title (6/24/2024)", "2024-06-24"),
        ("Title (04/02/2020)", "2020-04-02"),
        ("Title (2024-06-24)", "2024-06-24"),
        ("Title (2024.06.24)", "2024-06-24"),
        ("Title (2024/6/24)", "2024-06-24"),
        ("Title (24 June 2024)", "2024-06-24"),
        ("Title (24th Jun 2024)", "2024-06-24"),
        ("Title (Jun 24, 2024)", "2024-06-24"),
        ("Title (June 24 2024)", "2024-06-24"),
        ("Title (Sept. 3, 2021)", "2021-09-03"),
        ("标题（2024年6月24日）", "2024-06-24"),
        ("标题 (2024 年 6 月 24 号)", "2024-06-24"),
        ("Title (2024)", "2024"),
        ("Title （2024）", "2024"),
        ("Title ( 2024-06-24 )", "2024-06-24"),
        ("Title (Mon, Jun 24, 2024)", "2024-06-24"),
        ("标题（２０２４年６月２４日）", "2024-06-24"),
    ],
)
def test_trailing_date_formats(label: str, issued: str) -> None:
    hints = parse_label(label)
    assert hints.issued == issued
    assert hints.title in ("Title", "标题")


def test_month_day_is_the_convention_and_first_number_over_12_means_day_month() -> None:
    assert parse_label("T (04/02/2020)").issued == "2020-04-02"
    assert parse_label("T (24/6/2024)").issued == "2024-06-24"
    assert parse_label("T (24.06.2024)").issued == "2024-06-24"
    assert parse_label("T (6-24-2024)").issued == "2024-06-24"


@pytest.mark.parametrize(
    ("label", "issued"),
    [
        ("Title (2017)", "2017"),
        ("Title (2024-06)", "2024-06"),
        ("Title (2024/6)", "2024-06"),
        ("Title (2024.06)", "2024-06"),
        ("Title (June 2024)", "2024-06"),
        ("标题（2024年6月）", "2024-06"),
        ("标题（2024年）", "2024"),
    ],
)
def test_partial_dates_stay_partial(label: str, issued: str) -> None:
    assert parse_label(label).issued == issued


def test_leading_date() -> None:
    expected = LabelHints("(2024-06-24) Title", "Title", "2024-06-24", None, None, None)
    assert parse_label("(2024-06-24) Title") == expected
    hints = parse_label("（2024年6月24日）标题")
    assert (hints.title, hints.issued) == ("标题", "2024-06-24")


def test_date_after_or_before_the_publisher() -> None:
    for label in ("Title | InfoQ (2024)", "Title (2024) | InfoQ", "Title | InfoQ | 2024-06-24"):
        hints = parse_label(label)
        assert (hints.title, hints.container_title) == ("Title", "InfoQ"), label
        assert hints.issued in ("2024", "2024-06-24")
    assert parse_label("Title - 2024-06").issued == "2024-06"


@pytest.mark.parametrize(
    "label",
    [
        "The 2026 Guide to AI Agents",
        "2026-07-28 MCP Specification Release Candidate",  # a bare year/date is part of the title
        "Title (13/45/2024)",
        "Title (2/30/2024)",
        "Title (0/0/2024)",
        "Title (2024-13-01)",
        "Title (3000)",
        "Title (0042)",
        "Title (2024.1)",  # a version number, not a month
        "Title (1.1)",
        "Title (RASP)",
        "华为云计算（3）——网络虚拟化",
        "1.1 信息摘要算法简介",
        "Title (Foo 24, 2024)",
        "(2024)",  # nothing left for a title
        "top 14 elk alternatives in 2024",
    ],
)
def test_non_dates(label: str) -> None:
    hints = parse_label(label)
    assert hints.issued is None
    assert hints.title == label


def test_invalid_date_stays_in_title() -> None:
    assert parse_label("Release notes (2/29/2023)").title == "Release notes (2/29/2023)"
    assert parse_label("Release notes (2/29/2024)").issued == "2024-02-29"


# -------------------------------------------------------------------------------------------- separators


@pytest.mark.parametrize(
    "label",
    [
        "Title | InfoQ",
        "Title ｜ InfoQ",
        "Title｜ InfoQ",
        "Title -- InfoQ",
        "Title – InfoQ",
        "Title — InfoQ",
        "Title · InfoQ",
        "Title • InfoQ",
    ],
)
def test_site_separators(label: str) -> None:
    hints = parse_label(label)
    assert (hints.title, hints.container_title) == ("Title", "InfoQ")


def test_last_separator_wins() -> None:
    hints = parse_label("Intro to Logging | Zero to Hero: Loki | Grafana")
    assert (hints.title, hints.container_title) == ("Intro to Logging | Zero to Hero: Loki", "Grafana")


@pytest.mark.parametrize(
    "label",
    [
        "长文|互联网骨干网全面解析",  # `|` without spaces
        "长文｜互联网骨干网全面解析",
        "Distilling Step-by-Step——将大模型的推理能力蒸馏到小模型",  # `——` is punctuation
        "Distilling —— 将大模型的推理能力蒸馏到小模型",
        "Agentic ProbLLMs - The Month of AI Bugs",  # plain ` - ` without evidence
        "Why Snowflake doesn't share static IP address range with the customer - AWS",
        "git config | setup git environment",  # three lowercase words: a subtitle
        "AI Doesn't Reduce Work — It Intensifies It",  # function words: a subtitle
        "radius a new open-source application platform for the cloud | brk402",  # a session code
        "a tcpdump tutorial with examples — 50 ways to isolate traffic",
        "Intro | Zero to Hero: Loki",  # sentence punctuation
        "Title | What is this, really?",
        "C++ -- a tour",  # a function word
        "Title | Part 2",  # a part of a series
        "标题 | 第三篇",
        "Title | #12",
    ],
)
def test_not_a_site(label: str) -> None:
    hints = parse_label(label, "example.com")
    assert hints.container_title is None
    assert hints.title == label


def test_site_names_accepted() -> None:
    for site in ("GitHub", "机器之心", "cnblogs", "MDN Docs", "IBM Technology", "github blog", "Towards Data Science"):
        assert parse_label(f"Title | {site}").container_title == site


def test_site_spelling_is_normalised_when_known() -> None:
    assert parse_label("Title | infoQ").container_title == "InfoQ"
    assert parse_label("Title · github").container_title == "GitHub"
    assert parse_label("Title | github blog").container_title == "github blog"


def test_zhihu_form() -> None:
    hints = parse_label("专家系统概述 - 小波律动的文章 - 知乎")
    assert (hints.title, hints.author, hints.container_title) == ("专家系统概述", "小波律动", "知乎")
    hints = parse_label("虚拟化 - 网络虚拟化 - 某人的回答 - 知乎")
    assert (hints.title, hints.author, hints.container_title) == ("虚拟化 - 网络虚拟化", "某人", "知乎")
    hints = parse_label("网卡混杂模式介绍与设置 - WCH_SoftGroup的文章 - 知乎")
    assert hints.author == "WCH_SoftGroup"


# ------------------------------------------------------------------------------------------------- flags


@pytest.mark.parametrize("flag", ["👍", "🤔", "⭐", "⭐️", "❗", "🔥", "👍🏻", "❤️", "‼️", "⭐⭐"])
def test_leading_flag(flag: str) -> None:
    hints = parse_label(f"{flag} 标题 Title")
    assert (hints.flag, hints.title) == (flag, "标题 Title")


def test_several_flags_are_kept_together() -> None:
    hints = parse_label("👍 🤔 Title")
    assert (hints.flag, hints.title) == ("👍🤔", "Title")


@pytest.mark.parametrize("label", ["👍Title", "© 2024 Foo Corp", "【LLM】Distilling", "* args", "👍"])
def test_not_a_flag(label: str) -> None:
    hints = parse_label(label)
    assert hints.flag is None
    assert hints.title == label


# ------------------------------------------------------------------------------------------------- hosts


def test_host_is_evidence_for_a_plain_dash() -> None:
    label = "Vagrant从使用到放弃 - Jimmy Song"
    assert parse_label(label).container_title is None
    assert parse_label(label, "jimmysong.io").container_title == "Jimmy Song"
    assert parse_label("Some page - t3.gg", "t3.gg").container_title == "t3.gg"
    assert parse_label("Docker - Wikipedia").container_title == "Wikipedia"  # a known site needs no host
    hints = parse_label("Comparison: VXLAN vs NVGRE - Overlay Network Technologies", "www.routexp.com")
    assert hints.container_title is None


def test_host_is_evidence_for_a_long_pipe_segment() -> None:
    label = "Title | setup git environment"
    assert parse_label(label).container_title is None
    assert parse_label(label, "setupgitenvironment.com").container_title == "setup git environment"


def test_leading_site_prefix_needs_evidence() -> None:
    hints = parse_label("Wikipedia / CMA-ES", "en.wikipedia.org")
    assert (hints.title, hints.container_title) == ("CMA-ES", "Wikipedia")
    hints = parse_label("IBM / What is machine learning?", "www.ibm.com")
    assert (hints.title, hints.container_title) == ("What is machine learning?", "IBM")
    assert parse_label("Documentation / Replication", "www.postgresql.org").container_title is None
    assert parse_label("postgresql - disabling constraints", "stackoverflow.com").container_title is None


def test_multi_line_label_reads_as_one_line() -> None:
    assert parse_label("multi\nline label | InfoQ").title == "multi line label"


def test_title_falls_back_to_the_label() -> None:
    assert parse_label("  | InfoQ ").title == "| InfoQ"
    assert parse_label("👍 (2024)").title in ("(2024)", "👍 (2024)")
    assert parse_label("").title == ""


# ------------------------------------------------------------------------------------------- properties

hosts = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(["www.infoq.cn", "zhuanlan.zhihu.com"]))
label_text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(list("()（）|｜-–—·/ 年月日0123456789知乎的文章转👍"))),
    max_size=80,
)


@given(label_text, hosts)
def test_never_raises_and_title_never_empty(label: str, host: str | None) -> None:
    hints = parse_label(label, host)
    assert hints.raw == label
    if label.strip():
        assert hints.title.strip()


@given(label_text)
def test_issued_is_a_real_calendar_date(label: str) -> None:
    issued = parse_label(label).issued
    if issued is not None:
        assert ISO.match(issued)
        parts = [int(p) for p in issued.split("-")] + [1, 1]
        date(parts[0], parts[1], parts[2])


simple_title = st.lists(
    st.text(st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), min_size=1, max_size=8), min_size=1, max_size=6
).map(" ".join)
dates = st.dates(min_value=date(1800, 1, 1), max_value=date(2100, 12, 31))


@given(simple_title, dates, st.booleans(), st.sampled_from(["()", "（）"]))
def test_appended_date_round_trips(title: str, day: date, padded: bool, parens: str) -> None:
    mdy = f"{day.month:02d}/{day.day:02d}/{day.year}" if padded else f"{day.month}/{day.day}/{day.year}"
    hints = parse_label(f"{title} {parens[0]}{mdy}{parens[1]}")
    assert (hints.title, hints.issued) == (title, day.isoformat())


@given(simple_title, dates)
def test_appended_iso_date_and_site_round_trip(title: str, day: date) -> None:
    hints = parse_label(f"{title} | InfoQ ({day.isoformat()})")
    assert (hints.title, hints.issued, hints.container_title) == (title, day.isoformat(), "InfoQ")


# --------------------------------------------------------------------------------------------- corpus

# A rough extraction (the scanner has its own oracle tests); enough to feed every real label to the parser.
_DEFINITION = re.compile(
    r"^ {0,3}(?:>\s*)*(?:[-*+]\s+|\d+[.)]\s+)?\[((?:[^\]\\]|\\.)+)\]:\s*<?https?://([^/\s>:?#]+)", re.M
)


@pytest.mark.skipif(not CORPUS_VAULT.is_dir(), reason="../shared/corpus/vault is absent")
def test_every_corpus_label_parses() -> None:
    count = 0
    for path in CORPUS_VAULT.rglob("*.md"):
        for m in _DEFINITION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            hints = parse_label(m[1], m[2])
            assert hints.title.strip(), m[1]
            assert hints.issued is None or ISO.match(hints.issued)
            count += 1
    assert count > 1000
