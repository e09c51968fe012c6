"""The built wheel, installed into a fresh virtual environment without extras, reads every bibliography format,
exports every format and cites in every shipped style: whatever a feature needs at run time is a dependency of
the package (a parser that lived in the `dev` extra once made `.bib` imports fail after `pip install .`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from test_bibliography_import import RIS, ZOTERO_BIB

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=900, **kw)  # type: ignore[call-overload]


@pytest.mark.slow
def test_wheel_without_extras_imports_exports_and_cites(tmp_path: Path) -> None:
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)])
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("refman-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    installed = _run([str(py), "-m", "pip", "install", "-q", str(wheel)])
    if installed.returncode != 0 and "No matching distribution" in installed.stderr + installed.stdout:
        pytest.skip("the package index is not reachable: dependencies cannot be installed")
    assert installed.returncode == 0, installed.stderr
    extras = _run([str(py), "-c", "import importlib.util as u; print(u.find_spec('bibtexparser') is None)"])
    assert extras.stdout.strip() == "True"  # truly without the dev extra
    (tmp_path / "refs.bib").write_text(ZOTERO_BIB, encoding="utf-8")
    (tmp_path / "refs.ris").write_text(RIS, encoding="utf-8")
    (tmp_path / "items.json").write_text(json.dumps([{"id": "csl1", "type": "book", "title": "A CSL Book",
                                                      "author": [{"family": "Doe", "given": "Jane"}],
                                                      "issued": {"date-parts": [[2001]]}}]), encoding="utf-8")
    refman = env_dir / "bin" / "refman"
    env = {**os.environ, "REFMAN_DB": str(tmp_path / "c.db"), "HOME": str(tmp_path)}
    for name in ("refs.bib", "items.json", "refs.ris"):
        proc = _run([str(refman), "import", str(tmp_path / name), "--json"], env=env)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    for fmt in ("biblatex", "bibtex", "csljson", "ris", "markdown"):
        proc = _run([str(refman), "export", "--format", fmt], env=env)
        # Markdown reference definitions need a URL: the works without one are in the other formats only
        assert proc.returncode == 0 and ("Something" if fmt == "markdown" else "A CSL Book") in proc.stdout, (
            fmt, proc.stderr)
    from refman.citation.styles import STYLES

    for style in STYLES:
        proc = _run([str(refman), "cite", "knuth", "csl1", "leinaas1977", "--style", style], env=env)
        assert proc.returncode == 0 and "knuth" in proc.stdout.lower(), (style, proc.stderr)
