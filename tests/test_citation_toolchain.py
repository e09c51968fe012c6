"""The real consumers: pdflatex + biber (BibLaTeX), pdflatex + bibtex (classic), xelatex + biber (Chinese), and
pandoc --citeproc (CSL-JSON). Skipped when the tools are not installed; any warning in their logs fails."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from citation_helpers import add_source, sample_catalog

from refman.citation.export import render_export, selected_items
from refman.citation.selection import Selection
from refman.store.sqlite import SqliteStore

# The Debian packages: texlive-latex-base texlive-latex-recommended texlive-fonts-recommended
# texlive-bibtex-extra biber lmodern pandoc (+ texlive-xetex texlive-lang-chinese for the CJK test).
needs = {tool: pytest.mark.skipif(shutil.which(tool) is None, reason=f"{tool} not installed")
         for tool in ("pdflatex", "bibtex", "biber", "pandoc", "xelatex")}

BIBLATEX_DOC = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[utf8]{inputenc}
\usepackage[backend=biber,style=authoryear]{biblatex}
\addbibresource{refs.bib}
\begin{document}
\nocite{*}
\printbibliography
\end{document}
"""
BIBTEX_DOC = r"""\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[utf8]{inputenc}
\usepackage{url}
\usepackage{hyperref}
\begin{document}
\nocite{*}
\bibliographystyle{plainurl}
\bibliography{refs}
\end{document}
"""
XELATEX_DOC = r"""\documentclass{article}
\usepackage{xeCJK}
\usepackage[backend=biber,style=authoryear]{biblatex}
\addbibresource{refs.bib}
\begin{document}
\nocite{*}
\printbibliography
\end{document}
"""
def test_missing_tex_files_names_what_a_document_needs() -> None:
    if shutil.which("kpsewhich") is None:
        pytest.skip("kpsewhich not installed")
    doc = "\\documentclass{article}\\usepackage{nosuchpackage-refman,url}\\bibliographystyle{nosuchstyle-refman}"
    assert missing_tex_files(doc)[:1] == ["nosuchpackage-refman.sty"]
    assert "nosuchstyle-refman.bst" in missing_tex_files(doc)


def _run(cmd: list[str], cwd: Path) -> str:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, f"{cmd} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout + res.stderr


def _export(tmp_path: Path, fmt: str, chinese: bool) -> Path:
    conn = sample_catalog(tmp_path / "c.db", chinese=chinese)
    ext = "json" if fmt == "csljson" else "bib"
    path = tmp_path / f"refs.{ext}"
    path.write_text(render_export(selected_items(SqliteStore(conn), Selection()), fmt), encoding="utf-8")
    return path


def missing_tex_files(doc: str) -> list[str]:
    """The class, packages and bibliography style `doc` uses that kpsewhich cannot find: a machine with TeX but
    without, say, lmodern skips the test with that name instead of failing it."""
    files = [f"{c}.cls" for c in re.findall(r"\\documentclass(?:\[[^]]*\])?\{([^}]+)\}", doc)]
    for group in re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]+)\}", doc):
        files += [f"{name.strip()}.sty" for name in group.split(",")]
    files += [f"{s}.bst" for s in re.findall(r"\\bibliographystyle\{([^}]+)\}", doc)]
    if shutil.which("kpsewhich") is None:
        return ["kpsewhich"]
    return [f for f in files
            if subprocess.run(["kpsewhich", f], capture_output=True, check=False).returncode != 0]


def _latex(tmp_path: Path, engine: str, backend: str, doc: str, allowed: tuple[str, ...] = ()) -> None:
    missing = missing_tex_files(doc)
    if missing:
        pytest.skip(f"TeX files not installed: {', '.join(missing)}")
    (tmp_path / "doc.tex").write_text(doc, encoding="utf-8")
    _run([engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], tmp_path)
    out = _run([backend, "doc"], tmp_path)
    problems = [line for line in out.splitlines() if re.search(r"(?i)warn|error", line)]
    if backend == "bibtex":
        problems = [p for p in problems if "(There were" not in p]
    assert not problems, out
    _run([engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], tmp_path)
    _run([engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], tmp_path)
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    bad = [line for line in log.splitlines()
           if re.search(r"Warning|^!", line) and "infwarerr" not in line
           and not any(a in line for a in allowed)]
    assert not bad, "\n".join(bad)
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


@needs["pdflatex"]
@needs["biber"]
def test_biblatex_compiles_with_biber(tmp_path: Path) -> None:
    _export(tmp_path, "biblatex", chinese=False)
    _latex(tmp_path, "pdflatex", "biber", BIBLATEX_DOC)


def _add_undated(conn: sqlite3.Connection) -> None:
    add_source(conn, "https://example.com/undated", title="Undated Page", container_title="Example Site",
               last_ok_at="2024-07-01T10:00:00Z")
    add_source(conn, "https://example.com/undated-never-fetched", title="Undated And Never Fetched")


@needs["biber"]
def test_biber_datamodel_only_misses_what_the_catalog_lacks(tmp_path: Path) -> None:
    """`biber --tool --validate-datamodel` checks the export against biblatex's data model (blx-dm.def). It finds
    nothing wrong with what refman writes; its only complaints are about mandatory fields the catalog does not
    have and that refman never invents: `date`/`year` of undated pages (mandatory for @online, @article,
    @report…; `urldate` does not count), a report's `author` and `type`."""
    conn = sample_catalog(tmp_path / "c.db", chinese=True)
    _add_undated(conn)
    (tmp_path / "refs.bib").write_text(render_export(selected_items(SqliteStore(conn), Selection()), "biblatex"),
                                       encoding="utf-8")
    out = _run(["biber", "--tool", "--validate-datamodel", "refs.bib"], tmp_path)
    problems = [line for line in out.splitlines() if re.search(r"(?i)^(warn|error)", line)]
    missing = re.compile(r"Missing mandatory field (- one of 'date, year' must be defined|'author'|'type')$")
    assert all(missing.search(p) for p in problems), "\n".join(problems)
    assert sorted(re.findall(r"Entry '(\w+)' \(refs.bib\): Missing mandatory field - one of 'date", out)) == [
        "exampleundatedneverfetched", "exampleundatedpage"]


@needs["pdflatex"]
@needs["biber"]
def test_undated_pages_compile_with_biber(tmp_path: Path) -> None:
    """Without --validate-datamodel biber and biblatex accept undated pages silently (the authoryear label
    falls back to the access year, or n.d.)."""
    conn = sample_catalog(tmp_path / "c.db", chinese=False)
    _add_undated(conn)
    (tmp_path / "refs.bib").write_text(render_export(selected_items(SqliteStore(conn), Selection()), "biblatex"),
                                       encoding="utf-8")
    _latex(tmp_path, "pdflatex", "biber", BIBLATEX_DOC)


@needs["pdflatex"]
@needs["bibtex"]
def test_bibtex_compiles_with_bibtex(tmp_path: Path) -> None:
    _export(tmp_path, "bibtex", chinese=False)
    _latex(tmp_path, "pdflatex", "bibtex", BIBTEX_DOC)


@needs["xelatex"]
@needs["biber"]
def test_chinese_compiles_with_xelatex(tmp_path: Path) -> None:
    _export(tmp_path, "biblatex", chinese=True)
    # TeX Live 2022's Fandol fonts lack the OpenType script tag xeCJK asks for: a font-setup warning of the
    # document, not of the bibliography, so it alone is allowed.
    _latex(tmp_path, "xelatex", "biber", XELATEX_DOC,
           allowed=("does not contain requested", "Fandol is being set as the default font"))


@needs["pandoc"]
@pytest.mark.parametrize("fmt", ["csljson", "biblatex"])
def test_pandoc_citeproc(tmp_path: Path, fmt: str) -> None:
    bib = _export(tmp_path, fmt, chinese=True)
    (tmp_path / "doc.md").write_text('---\nnocite: "@*"\n---\n\nText.\n', encoding="utf-8")
    res = subprocess.run(["pandoc", "doc.md", "--citeproc", "--bibliography", bib.name, "-t", "plain",
                          "--verbose"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert "[WARNING]" not in res.stderr, res.stderr
    assert "数据库与数据仓库的区别与联系" in res.stdout and "Myers" in res.stdout
