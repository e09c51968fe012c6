"""Every string a user or a page provides is printed literally by every renderer: rich markup
(`[/boot/config.txt]`, `[bold]`, a label starting with a lower-case word), emoji codes (`:smile:`) and
brackets are text. The renderers are the CLI's own (refman.cli.render and the report printers)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refman.cli.render import make_console, search_table, show_lines, show_plain, source_table

# Text as a page or a note may hold it, on one line (control characters and separators aside: those are
# folded by design). Markup-looking strings are drawn often.
TRICKY = st.sampled_from(["[/boot/config.txt]", "[bold]x[/bold]", "[oam] notes", ":smile:", "[link=x]y[/link]",
                          "\\[escaped]", "[", "]", "[/]", "a [b] c", "[red]", "http://[::1]/"])
LINE = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn", "Cf", "Mn", "Me", "Mc")),
               min_size=1, max_size=40).filter(lambda s: s.strip() == s and "  " not in s)
TEXT = st.one_of(TRICKY, LINE, st.tuples(TRICKY, LINE).map(" ".join))


def rendered(*renderables: Any) -> str:
    out = io.StringIO()
    console = make_console(file=out, width=100_000)
    for r in renderables:
        console.print(r)
    return out.getvalue()


def source(text: str) -> dict[str, Any]:
    return {"id": 7, "url": f"https://example.com/{text}", "url_as_written": text, "citekey": "key", "type": "webpage",
            "title": text, "issued": "2024", "container_title": text, "publisher": None, "author": [{"literal": text}],
            "DOI": None, "language": None, "abstract": None, "tags": [text], "status": "ok", "reason": text,
            "fetched_at": None, "accessed": None, "note": text, "added_by": "note", "first_cited_at": None,
            "mentions": [{"path": f"{text}.md", "line": 3, "label": text, "kind": "definition", "annotation": text,
                          "flag": None}],
            "provenance": {"title": "label"}, "pinned": [], "evidence": [],
            "snapshots": [{"fetched_at": "2026-01-01T00:00:00Z", "outcome": "ok", "http_status": 200, "size": 10,
                           "reason": text}]}


@given(TEXT)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_list_and_show_print_text_literally(text: str) -> None:
    item = source(text)
    assert text in rendered(source_table([item]))
    shown = rendered(*show_lines(item))
    assert f"[{text}]" in shown  # the mention label, in its brackets
    assert shown.count(text) >= 6  # title, site, tags, note, label, annotation, reason …
    assert f"[{text}]" in "\n".join(show_plain(item))


@given(TEXT)
@settings(max_examples=100, deadline=None)
def test_search_results_print_text_literally(text: str) -> None:
    from refman.search import HL_CLOSE, HL_OPEN, SearchHit

    hit = SearchHit(id=1, url="https://a.example/", title=text, issued="2024", site=text, score=1.0,
                    snippet=f"before {HL_OPEN}{text}{HL_CLOSE} after")
    out = rendered(search_table([hit], HL_OPEN, HL_CLOSE))
    assert out.count(text) >= 3  # title, site, highlighted snippet


@given(TEXT)
@settings(max_examples=100, deadline=None)
def test_reports_and_errors_print_text_literally(text: str) -> None:
    from refman.cli.catalog_cmds import skipped_summary
    from refman.cli.fetch_cmds import _print_report

    report = {"notes": [{"path": f"{text}.md", "sources": [{"id": 1, "url": f"https://a.example/{text}",
                                                          "problem": "failing", "detail": text}]}],
              "counts": {"dead": 0, "failing": 1, "redirected": 0, "changed": 0}}
    captured = io.StringIO()
    saved, sys.stdout = sys.stdout, captured
    try:
        _print_report(report, None)
    finally:
        sys.stdout = saved
    out = captured.getvalue()
    assert f"{text}.md" in out and text in out.split("—", 1)[1]
    assert text in skipped_summary([{"path": "n.md", "line": 1, "url": "x", "reason": text}])


@given(TEXT)
@settings(max_examples=20, deadline=None)
def test_error_lines_print_text_literally(text: str) -> None:
    from refman.cli.common import report_failure
    from refman.errors import NotFoundError

    err = io.StringIO()
    saved, sys.stderr = sys.stderr, err
    try:
        assert report_failure(NotFoundError(f"no source matches {text}")) == 3
    finally:
        sys.stderr = saved
    assert err.getvalue() == f"refman: no source matches {text}\n"


def test_show_of_markup_labels_end_to_end(tmp_path: Path) -> None:
    """The issue's two labels through the real CLI, on a terminal-like console and in a pipe."""
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "note.md").write_text("[oam notes on the boot order]: https://a.example/boot\n\n"
                                   "[/boot/config.txt]: https://a.example/config\n", encoding="utf-8")
    exe = str(Path(sys.executable).parent / "refman")
    db = str(tmp_path / "c.db")
    subprocess.run([exe, "--db", db, "import", str(vault)], check=True, capture_output=True)
    for ref, label in (("1", "[oam notes on the boot order]"), ("2", "[/boot/config.txt]")):
        code = ("import sys; sys.stdout.isatty = lambda: True\n"  # the terminal renderer, into a pipe
                "from refman.cli import main\n"
                f"sys.argv = ['refman', '--db', {db!r}, 'show', {ref!r}]\nmain()\n")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert label in proc.stdout
        piped = subprocess.run([exe, "--db", db, "show", ref], capture_output=True, text=True, check=True)
        assert f"cited\tnote.md:{ref if ref == '1' else '3'}\t{label}" in piped.stdout
