"""The scanner on the real vault in ../shared/corpus/vault (skipped when absent): markdown-it-py agreement and
hand-checked expectations from EXPECTED.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from refman.notes.scan import prepare_text, scan_markdown

VAULT = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "vault"
pytestmark = pytest.mark.skipif(not VAULT.is_dir(), reason="../shared/corpus/vault is absent")
_MD = MarkdownIt("commonmark")


def _read(rel: str) -> str:
    return (VAULT / rel).read_text(encoding="utf-8", errors="replace")


def _find(name: str) -> str:
    hits = sorted(VAULT.rglob(name))
    assert hits, name
    return hits[0].read_text(encoding="utf-8", errors="replace")


def test_every_note_agrees_with_markdown_it() -> None:
    notes = sorted(VAULT.rglob("*.md"))
    assert len(notes) > 600
    differing = []
    for path in notes:
        text = path.read_text(encoding="utf-8", errors="replace")
        env: dict = {}
        _MD.parse(prepare_text(text), env)
        expected = {k: (v["href"], v["title"], v["map"][0] + 1) for k, v in env.get("references", {}).items()}
        got = {}
        for d in scan_markdown(text).definitions:
            href = _MD.normalizeLink(d.destination)
            if _MD.validateLink(href):  # markdown-it drops javascript:/file:/… destinations; CommonMark keeps them
                got[d.key] = (href, d.title or "", d.line)
        if got != expected:
            differing.append(str(path.relative_to(VAULT)))
    assert differing == []


def test_expected_lefthook_escaped_label() -> None:
    by_line = {d.line: d for d in scan_markdown(_read("oam/lefthook.md")).definitions}
    assert by_line[368].label == "Issue #852"
    assert by_line[368].destination == "https://github.com/evilmartians/lefthook/discussions/852"


def test_expected_bash_commented_out_definitions() -> None:
    text = _read("oam/bash.md")
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("<!--") and "FIXME" in ln)
    end = next(i for i in range(start, len(lines)) if "-->" in lines[i])
    assert end - start > 5
    found = {d.line for d in scan_markdown(text).definitions + scan_markdown(text).duplicates}
    assert not any(start < ln - 1 < end for ln in found)


def test_expected_peerdb_ipv6_not_definition() -> None:
    text = _read("oam/peerdb.md")
    assert "[::1]:10000" in text.splitlines()[561]
    assert all(d.line != 562 for d in scan_markdown(text).definitions)


def test_expected_cryptography_no_space_after_colon() -> None:
    r = scan_markdown(_read("docs-notes/_path-unknown/Cryptography.md"))
    d = next(d for d in r.definitions if d.line == 154)
    assert d.label == "1.1 信息摘要算法简介"
    assert d.destination.startswith("https://www.jianshu.com/")


def test_expected_relative_link_is_definition() -> None:
    d = next(d for d in scan_markdown(_read("oam/acl.md")).definitions if d.line == 142)
    assert (d.label, d.destination) == ("chmod", "chmod.md")


def test_expected_annotations() -> None:
    chip = {d.line: d for d in scan_markdown(_find("Chip Cluster Computing.md")).definitions}
    assert chip[28].annotation is not None and "- 两个 GPU 集群" in chip[28].annotation
    vagrant = {d.line: d for d in scan_markdown(_find("Vagrant.md")).definitions}
    assert vagrant[31].destination.endswith("_(software)")
