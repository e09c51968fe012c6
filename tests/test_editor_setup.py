"""README's editor set-up, checked with the real consumers: each reads a registered export, and reads the new
content after a change to the catalog (pandoc, pdflatex + biber and Typst run when installed; each test skips
with one line otherwise)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_cli_catalog import run

SCHEMA = json.loads((Path(__file__).parent / "data" / "csl-data.json").read_text(encoding="utf-8"))


def needs_tool(*tools: str) -> pytest.MarkDecorator:
    missing = [t for t in tools if shutil.which(t) is None]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed")


def keys(cli_env: dict[str, str], *args: str) -> list[str]:
    return [item["id"] for item in json.loads(run(cli_env, "export", "-f", "csljson", *args).stdout)]


def test_obsidian_citations_plugin_reads_valid_csl_json(cli_env: dict[str, str], vault: Path) -> None:
    import jsonschema

    refs = vault / "refs.json"
    run(cli_env, "export", "-f", "csljson", "-o", str(refs), "--keep-updated")
    items = json.loads(refs.read_text(encoding="utf-8"))
    jsonschema.validate(items, SCHEMA)
    assert len({i["id"] for i in items}) == len(items) and all(i.get("URL") for i in items)
    run(cli_env, "add", "https://plugin.example.org/new", "--title", "Added while writing")
    items = json.loads(refs.read_text(encoding="utf-8"))
    jsonschema.validate(items, SCHEMA)
    assert any(i["title"] == "Added while writing" for i in items)


def _pandoc(cwd: Path, doc: str, *args: str) -> str:
    (cwd / "doc.md").write_text(doc, encoding="utf-8")
    res = subprocess.run(["pandoc", "doc.md", "--citeproc", "-t", "plain", "--verbose", *args], cwd=cwd,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert "[WARNING]" not in res.stderr, res.stderr
    return res.stdout


@needs_tool("pandoc")
@pytest.mark.parametrize("fmt", ["csljson", "biblatex"])
def test_pandoc_reads_the_registered_bibliography_and_its_updates(cli_env: dict[str, str], vault: Path,
                                                                  tmp_path: Path, fmt: str) -> None:
    refs = tmp_path / ("refs.json" if fmt == "csljson" else "refs.bib")
    run(cli_env, "export", "-f", fmt, "-o", str(refs), "--keep-updated")
    key = keys(cli_env, "--cited-in", "AI Infrastructure/GPU Market.md")[0]
    doc = f"As argued [@{key}].\n"
    before = _pandoc(tmp_path, doc, "--bibliography", refs.name)
    assert "???" not in before
    run(cli_env, "set", key, "title=Freshly retitled page")
    after = _pandoc(tmp_path, doc, "--bibliography", refs.name)
    assert "freshly retitled page" in after.lower() and "freshly retitled page" not in before.lower()


@needs_tool("pandoc")
def test_pandoc_per_note_bibliography_in_front_matter(cli_env: dict[str, str], vault: Path) -> None:
    (vault / "bib").mkdir()
    run(cli_env, "export", "-f", "csljson", "--cited-in", "Networking/", "--per-note", str(vault / "bib"),
        "--keep-updated")
    doc = '---\nbibliography: bib/Networking/RDMA.json\nnocite: "@*"\n---\n\nText.\n'
    out = _pandoc(vault, doc)
    rdma = json.loads((vault / "bib" / "Networking" / "RDMA.json").read_text(encoding="utf-8"))
    assert rdma and all(item["URL"] in out.replace("\n", "") for item in rdma if "URL" in item)
    note = vault / "Networking" / "RDMA.md"
    note.write_text(note.read_text(encoding="utf-8") + "\n[Per-note addition]: https://pn.example.org/a\n",
                    encoding="utf-8")
    run(cli_env, "import", str(vault), "-q")
    assert "https://pn.example.org/a" in _pandoc(vault, doc)


@needs_tool("pdflatex", "biber")
def test_latex_with_biber_reads_the_registered_bibliography(cli_env: dict[str, str], vault: Path,
                                                            tmp_path: Path) -> None:
    ascii_keys = [k for k in keys(cli_env, "--cited-in", "AI Infrastructure/AI Data Infrastructure.md")
                  if k.isascii()][:2]
    run(cli_env, "tag", *ascii_keys[:1], "--add", "paper")
    paper = tmp_path / "paper"
    paper.mkdir()
    run(cli_env, "export", "--tag", "paper", "-o", str(paper / "refs.bib"), "--keep-updated")
    (paper / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage[utf8]{inputenc}\n"
        "\\usepackage[backend=biber]{biblatex}\n\\addbibresource{refs.bib}\n"
        "\\begin{document}\n\\nocite{*}\n\\printbibliography\n\\end{document}\n", encoding="utf-8")

    def compile_keys() -> str:
        for cmd in (["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], ["biber", "doc"]):
            res = subprocess.run(cmd, cwd=paper, capture_output=True, text=True, timeout=180, check=False)
            assert res.returncode == 0, res.stdout[-2000:]
            assert "WARN" not in res.stdout and "ERROR" not in res.stdout, res.stdout
        return (paper / "doc.bbl").read_text(encoding="utf-8")

    assert f"\\entry{{{ascii_keys[0]}}}" in compile_keys()
    run(cli_env, "tag", ascii_keys[1], "--add", "paper")
    bbl = compile_keys()
    assert f"\\entry{{{ascii_keys[0]}}}" in bbl and f"\\entry{{{ascii_keys[1]}}}" in bbl


def test_typst_reads_the_registered_bibliography(cli_env: dict[str, str], vault: Path, tmp_path: Path) -> None:
    typst = pytest.importorskip("typst", reason="the typst package (Typst compiler) is not installed")
    from pypdf import PdfReader

    refs = tmp_path / "refs.bib"
    key = keys(cli_env, "--cited-in", "AI Infrastructure/GPU Market.md")[0]
    run(cli_env, "tag", key, "--add", "typst")
    run(cli_env, "export", "--tag", "typst", "-o", str(refs), "--keep-updated")
    (tmp_path / "doc.typ").write_text(f'#set page(width: 16cm, height: auto)\nAs shown @{key}.\n'
                                      '#bibliography("refs.bib")\n', encoding="utf-8")

    def text() -> str:
        pdf, warnings = typst.compile_with_warnings(str(tmp_path / "doc.typ"))
        assert not [w for w in warnings if "font" not in str(w).lower()], warnings
        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace("\n", " ")

    assert "Bibliography" in text()
    run(cli_env, "set", key, "title=Typst sees the new title")
    assert "Typst sees the new title" in text()
